"""``python -m sam_core.check CHECKPOINT``: say whether a file is a usable SAM v1 checkpoint.

Prints one line: the variant, the device it would run on, and its fingerprint;
or one line explaining what is wrong (exit status 1).
"""
from __future__ import annotations

import argparse
import sys

from .build import CheckpointError, load_sam


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sam_core.check", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--device", default=None, help="auto (default), cpu, cuda or mps")
    args = parser.parse_args(argv)
    try:
        sam = load_sam(args.checkpoint, device=args.device)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    params = sum(p.numel() for p in sam.parameters())
    print(f"{args.checkpoint}: SAM {sam.config.name}, {params / 1e6:.1f}M parameters, "
          f"device {sam.device.type}, id {sam.checkpoint_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
