"""The data engine's parts that need no running Ray: worker plans, candidates between stages,
the manifest, URI listing (pyarrow, which the engine extra brings)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sam_core.engine.manifest import Manifest, summary
from sam_core.engine.pipeline import PlanError, parse_workers, plan_workers, rows_per_block
from sam_core.engine.stages import pack_records, unpack_records


def test_plan_shares_cores_among_cpu_workers_and_gives_each_gpu_worker_a_gpu() -> None:
    two_cores = {"CPU": 2.0}
    one = plan_workers(two_cores, [2.0], None, None, None)
    assert (one.min_workers, one.max_workers, one.threads, one.cpus, one.gpus) == (1, 1, 2, 2.0, 0.0)
    two = plan_workers(two_cores, [2.0], "cpu", parse_workers("2"), None)
    assert (two.max_workers, two.threads, two.cpus) == (2, 1, 1.0)  # 2 actors x 1 thread = 2 cores
    cluster = plan_workers({"CPU": 64.0, "GPU": 8.0}, [32.0, 32.0], None, None, None)
    assert (cluster.max_workers, cluster.device, cluster.gpus, cluster.cpus) == (8, "cuda", 1.0, 1.0)
    scaling = plan_workers({"CPU": 64.0}, [16.0] * 4, None, parse_workers("2-8"), None)
    assert (scaling.min_workers, scaling.max_workers, scaling.threads) == (2, 8, 8)
    assert "2-8 sam worker(s) (cpu, 8 threads each)" == scaling.describe()
    with pytest.raises(PlanError, match="no GPU"):
        plan_workers(two_cores, [2.0], "cuda", None, None)
    with pytest.raises(PlanError, match="smallest Ray node has 2 CPUs"):
        plan_workers(two_cores, [2.0], None, None, 4)
    for bad in ("0", "3-2", "many"):
        with pytest.raises(PlanError):
            parse_workers(bad)


def test_blocks_hold_one_image_while_few_and_up_to_16_for_big_runs() -> None:
    assert rows_per_block(6, 2) == 1
    assert rows_per_block(1_000_000, 8) == 16


def test_candidates_cross_the_stages_unchanged() -> None:
    records = [
        {"segmentation": {"size": [3, 4], "counts": [1, 5, 6]}, "area": 5, "bbox": [0, 1, 2, 3],
         "predicted_iou": 0.912345678901234, "point_coords": [[1.5, 2.25]], "stability_score": 0.97,
         "crop_box": [0, 0, 4, 3]},
        {"segmentation": {"size": [3, 4], "counts": [0, 12]}, "area": 12, "bbox": [0, 0, 3, 2],
         "predicted_iou": 1.0, "point_coords": [[0.0, 0.0]], "stability_score": 1.0, "crop_box": [0, 0, 4, 3]},
    ]  # fmt: skip
    back = unpack_records(pack_records(records))
    assert back == records
    assert all(type(v) is int for v in back[0]["bbox"]) and type(back[0]["predicted_iou"]) is float
    assert unpack_records(pack_records([])) == []


def test_manifest_lines_counts_and_summary(tmp_path) -> None:
    manifest = Manifest(tmp_path, "ckpt", "settings")
    manifest.add("a.png", "a.json", "ok", 3, 1.23456, "")
    manifest.add("b.png", "b.json", "skipped", 4, None, None)
    manifest.add("c.png", "c.json", "failed", 0, 0.1, "not a readable image")
    assert not (tmp_path / "manifest.jsonl").exists()  # still being written: a .part file
    path = manifest.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"file": "a.png", "json": "a.json", "status": "ok", "masks": 3, "seconds": 1.235,
                        "error": None, "checkpoint": "ckpt", "settings": "settings"}  # fmt: skip
    assert [line["status"] for line in lines] == ["ok", "skipped", "failed"]
    assert lines[2]["error"] == "not a readable image"
    text = summary(manifest.counts, minutes=0.5, manifest=path, interrupted=False)
    assert text[0] == "failed: c.png: not a readable image"
    assert text[1].startswith("done: 3 images: 1 segmented, 1 skipped (already done), 1 failed; 7 masks (3 new); "
                              "2.0 images/minute; manifest: ")  # fmt: skip
    assert "run the same command again" in summary(manifest.counts, 0.5, path, interrupted=True)[-1]


def test_uri_folders_and_lists_are_named_as_local_ones(tmp_path) -> None:
    pytest.importorskip("pyarrow")
    from sam_core.batch_inputs import list_local
    from sam_core.engine.sources import list_input, read_source

    folder = tmp_path / "photo set"
    (folder / "sub dir").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    for name, data in (("b.png", b"B"), ("sub dir/a é.jpg", b"A"), (".hidden/x.png", b"X"), ("sub dir/n.txt", b"")):
        (folder / name).write_bytes(data)
    uri = folder.as_uri()  # file:///.../photo%20set
    listed = list_input(uri)
    assert [(i.name, read_source(i.source)) for i in listed] == [("b.png", b"B"), ("sub dir/a é.jpg", b"A")]
    assert [i.name for i in listed] == [i.name for i in list_local(folder)]
    (folder / "todo.txt").write_text("sub dir/a é.jpg\nb.png\n")
    from_list = list_input(f"{uri}/todo.txt")
    assert [(i.name, read_source(i.source)) for i in from_list] == [("sub dir/a é.jpg", b"A"), ("b.png", b"B")]
    assert [i.name for i in list_input(f"{uri}/b.png")] == ["b.png"]
    with pytest.raises(FileNotFoundError):
        list_input(f"{uri}/missing")
    assert np.frombuffer(read_source(str(folder / "b.png")), np.uint8).tolist() == [66]
