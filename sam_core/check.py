"""``python -m sam_core.check CHECKPOINT``: say whether a file is a usable SAM checkpoint.

Prints one line: the family and variant, the parameter count, the device it would
run on and its fingerprint; or, exit status 1, the one line ``load_sam`` gives for
what is wrong.
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
    except Exception as exc:  # load_sam should have said CheckpointError; still one line, naming the file
        text = str(exc).strip().splitlines()
        print(f"error: {args.checkpoint}: {type(exc).__name__}: {text[0] if text else ''}", file=sys.stderr)
        return 1
    config = sam.config
    params = sum(p.numel() for p in sam.parameters())
    print(f"{args.checkpoint}: {config.title} (family {config.family}, variant {config.variant}), "
          f"{params / 1e6:.1f}M parameters, device {sam.device.type}, id {sam.checkpoint_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
