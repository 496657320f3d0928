"""``python -m sam_core.bench --parts generator``: the timing function runs both generators on
the same seeded weights and reports matching masks (a small grid and image, the tiny encoder)."""
from __future__ import annotations

from sam_core.bench.generator import run_generator_bench
from sam_core.bench.reference import load_reference


def test_generator_bench_with_the_tiny_encoder_matches_the_reference():
    report = run_generator_bench((192, 256), [8], [0], [(8, 0)], 0.7, reference=load_reference(), encoder_size="tiny")
    (case,) = report["cases"]
    assert case["prompts"] == 64
    assert case["sam_core_masks"] == case["reference_masks"] > 1  # several masks survive NMS
    assert case["matched_at_0.99"] == 1.0
    assert "tiny" in report["encoder"]
