"""``python -m sam_core.bench``: speed of sam_core beside the official code, in one run, as JSON.

Parts (``--parts``, default all but the peers and int8; ``--peers`` and ``--int8`` add those):

* ``encoder``: encoder per precision, clicks, ``predict()`` (three masks and one, apart), the
  embedding cache, and how they scale (encoder vs image size, click vs number of points);
* ``generator``: segment everything against Meta's generator (:mod:`.generator`);
* ``helpers``: NMS and connected components against simple and OpenCV versions;
* ``peers``: ONNX Runtime with Meta's exporter (:mod:`.peers`);
* ``int8``: dynamic int8 encoder linears against bf16 (:mod:`.int8`).

Absolute times drift on shared machines; compare the ratios, which come from one run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..config import KNOWN_VARIANTS
from ..families.sam2 import HIERA_VARIANTS
from .families_light import LIGHT_VARIANTS
from ..runtime import configure_threads
from .encoder_and_clicks import load_reference_package, run

PARTS = ("encoder", "generator", "helpers", "peers", "int8")


def _size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.split("x"))
    return h, w


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sam_core.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="*", default=["encoder", "generator", "helpers"], choices=PARTS)
    parser.add_argument("--peers", action="store_true", help="add the onnxruntime comparison")
    parser.add_argument("--int8", action="store_true", help="add the int8 encoder measurement")
    parser.add_argument("--variants", nargs="+", default=["vit_b"], choices=sorted(KNOWN_VARIANTS) + sorted(HIERA_VARIANTS) + sorted(LIGHT_VARIANTS))
    parser.add_argument("--precisions", nargs="+", default=["fp32", "reduced"], choices=["fp32", "reduced"])
    parser.add_argument("--image-size", type=_size, default=(1500, 2250), help="HxW of the synthetic photo")
    parser.add_argument("--encoder-sizes", type=_size, nargs="*", default=[(512, 512), (1500, 2250), (3000, 4000)],
                        help="image sizes for the encoder-vs-size row (empty: skip)")
    parser.add_argument("--clicks", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2, help="encoder runs per configuration (best is reported)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--checkpoint", default=None, help="a real SAM checkpoint of the (single) variant")
    parser.add_argument("--no-reference", action="store_true")
    gen = parser.add_argument_group("generator")
    gen.add_argument("--generator-image", type=_size, default=(768, 1024))
    gen.add_argument("--generator-grids", type=int, nargs="+", default=[16, 32, 64], help="points_per_side, no crops")
    gen.add_argument("--generator-crop-grids", type=int, nargs="*", default=[16, 32],
                     help="points_per_side with crop_n_layers=1")
    gen.add_argument("--generator-reference", type=int, nargs="*", default=[32],
                     help="points_per_side (no crops) also run on the reference generator")
    gen.add_argument("--generator-nms", type=float, default=0.7, help="box_nms_thresh of both generators")
    gen.add_argument("--generator-encoder", choices=["vit_b", "tiny"], default="vit_b",
                     help="the seeded encoder in front of the (same, vit_b-sized) decoder: behind vit_b's "
                          "every mask spans the image (one survives NMS); behind the shallow tiny one the "
                          "masks are small and dozens survive and are matched")
    parser.add_argument("--out", default=None, help="also write the JSON report to this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    parts = list(args.parts) + ["peers"] * args.peers + ["int8"] * args.int8
    started = time.perf_counter()
    threads = configure_threads(args.threads)
    reference = None if args.no_reference else load_reference_package()
    report: dict = {}
    if "encoder" in parts:
        report.update(run(args))
    else:
        report.update(_machine(args))
    if "generator" in parts:
        from .generator import run_generator_bench

        def log(text: str) -> None:
            print(text, file=sys.stderr, flush=True)

        report["generator"] = run_generator_bench(args.generator_image, args.generator_grids, [0],
                                                  [(g, 0) for g in args.generator_reference], args.generator_nms,
                                                  reference=reference, log=log,
                                                  encoder_size=args.generator_encoder)  # fmt: skip
        if args.generator_crop_grids:
            crops = run_generator_bench(args.generator_image, args.generator_crop_grids, [1], [],
                                        args.generator_nms, reference=None, log=log,
                                        encoder_size=args.generator_encoder)  # fmt: skip
            report["generator"]["cases"] += crops["cases"]
    if "helpers" in parts:
        from .generation_helpers import run_helpers_bench

        report["helpers"] = run_helpers_bench([300, 1000, 3000, 10000], [(768, 1024), (1500, 2250), (3000, 4000)])
    if "peers" in parts:
        from .peers import run_peers_bench

        report["peers"] = run_peers_bench(args.image_size, threads)
    if "int8" in parts:
        from .int8 import run_int8_bench

        report["int8"] = run_int8_bench(args.image_size, repeats=args.repeats)
    report["bench_seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def _machine(args) -> dict:
    """The report's header when the encoder part (which writes it) is not run."""
    from .encoder_and_clicks import machine_header

    return machine_header(args)
