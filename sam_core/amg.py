"""``python -m sam_core.amg``: segment everything in images, one after another, and write SA-1B JSON.

The input is an image file, a folder (with its subfolders) or a list file
(:mod:`sam_core.batch_inputs`). Each image gets a JSON file at its relative place
under ``--out`` (:mod:`sam_core.sa1b_files` has the format, the names and the ids);
``python -m sam_core.engine`` writes the same files on a Ray cluster.

An image whose JSON already exists for the same checkpoint and generator settings
is skipped, so an interrupted run picks up where it stopped. A failed image prints
one ``error: <file>: <reason>`` line on stderr (no traceback) and the run goes on.
On a terminal a progress bar redraws in place; a redirected log gets one line per
image. Exit code: 0 when every image was written or skipped, 1 when some image
failed, 2 when nothing could start (bad arguments, input or checkpoint), 130 on Ctrl+C.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

from .batch_inputs import list_local, local_path
from .generator_flags import add_generator_arguments, generator_kwargs, settings_hash
from .image_files import ImageReadError, read_image
from .sa1b_files import failure_reason, finished_output, image_ids, output_names, sa1b_document, write_json_atomic


class ProgressBar:
    """One image's progress: on a terminal, a bar redrawn in place with ``\\r``; elsewhere
    (a log file, a pipe) nothing until :meth:`finish` writes the image's one line."""

    def __init__(self, label: str, stream: TextIO, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream, width
        isatty = getattr(stream, "isatty", None)
        self.redraws = bool(isatty and isatty())
        self._last: Optional[tuple] = None
        self._drawn = 0  # length of the line currently shown

    def __call__(self, done: int, total: int) -> None:
        if not self.redraws:
            return
        filled = self.width if total == 0 else self.width * done // total
        state = (filled, done == total)
        if state == self._last:
            return
        self._last = state
        bar = "#" * filled + "." * (self.width - filled)
        self._show(f"{self.label} [{bar}] {done}/{total} batches")

    def finish(self, message: str) -> None:
        self._show(f"{self.label} {message}")
        self.stream.write("\n")
        self.stream.flush()
        self._drawn = 0

    def _show(self, line: str) -> None:
        self.stream.write("\r" + line.ljust(self._drawn) if self.redraws else line)
        self.stream.flush()
        self._drawn = len(line)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """INPUT, --checkpoint, --out, --device and the generator flags, shared with the engine."""
    parser.add_argument("input", help="an image file, a folder of images (subfolders too) or a list file (.txt)")
    parser.add_argument("--checkpoint", type=Path, required=True, help="a Meta SAM v1 .pth checkpoint")
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSON files (created)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    add_generator_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sam_core.amg",
        description="Generate SAM masks for every object in images; write SA-1B-style JSON.",
    )
    add_common_arguments(parser)
    return parser


def run(args: argparse.Namespace, stderr: TextIO) -> int:
    from .automatic_mask_generator import SamAutomaticMaskGenerator
    from .build import CheckpointError, load_sam

    def fail(message: str) -> None:
        stderr.write(f"error: {message}\n")

    try:
        images = list_local(args.input)
    except (OSError, UnicodeError) as exc:
        fail(str(exc) if isinstance(exc, FileNotFoundError) else f"{args.input}: {failure_reason(exc)}")
        return 2
    if not images:
        fail(f"{args.input}: no image files found")
        return 2
    try:
        sam = load_sam(args.checkpoint, device=args.device)
        kwargs = generator_kwargs(args)
        generator = SamAutomaticMaskGenerator(sam, output_mode="coco_rle", **kwargs)
        args.out.mkdir(parents=True, exist_ok=True)
    except (CheckpointError, ValueError, RuntimeError, OSError) as exc:
        fail(failure_reason(exc))
        return 2
    checkpoint, settings = sam.checkpoint_id, settings_hash(kwargs)

    names = [image.name for image in images]
    failed = 0
    for index, (image, out_name, image_id) in enumerate(zip(images, output_names(names), image_ids(names)), 1):
        target = args.out / out_name
        bar = ProgressBar(f"[{index}/{len(images)}] {image.name}:", stderr)
        done_masks = finished_output(target, image_id, checkpoint, settings)
        if done_masks is not None:
            bar.finish(f"skipped: {target} has its {done_masks} masks for this checkpoint and these settings")
            continue
        try:
            path = local_path(image.source)
            if path is None:
                raise ImageReadError(image.source, "a URI: python -m sam_core.engine reads those")
            pixels = read_image(path)
            records = generator.generate(pixels, progress=bar)
            document = sa1b_document(image_id, image.name, pixels.shape[:2], records, checkpoint, settings)
            write_json_atomic(target, document)
        except Exception as exc:  # one image's failure, whatever it is, must not stop the batch
            bar.finish("failed")
            where = exc.path if isinstance(exc, ImageReadError) else image.source
            fail(f"{where}: {failure_reason(exc)}")
            failed += 1
            continue
        bar.finish(f"{len(records)} masks -> {target}")
    return 1 if failed else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted: the images written so far are kept; run again to resume\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
