"""The parts the batch CLI and the data engine share: inputs and relative names, SA-1B files, ids."""
from __future__ import annotations

import json
import os

import pytest

from sam_core.batch_inputs import join_location, list_local, local_path, relative_names
from sam_core.generator_flags import settings_hash
from sam_core.sa1b_files import (
    finished_output,
    image_ids,
    output_names,
    sa1b_document,
    sweep_partial_files,
    write_json_atomic,
)


def test_output_names_keep_folders_and_tell_same_stems_apart() -> None:
    names = ["a.jpg", "a.PNG", "b.png", "sub/a.jpg", "sub/c.png", "a.jpg.png", "x/B.png", "x/b.jpg"]
    assert output_names(names) == [
        "a.jpg.json", "a.PNG.json", "b.json", "sub/a.json", "sub/c.json",
        # a.jpg.png's stem is a.jpg, whose JSON a.jpg.json is taken: the full name again.
        "a.jpg.png.json",
        "x/B.png.json", "x/b.jpg.json",  # stems differing in case only clash on macOS and Windows
    ]  # fmt: skip


def test_image_ids_are_stable_unique_and_independent_of_order() -> None:
    names = [f"folder {i // 100}/img_{i}.jpg" for i in range(3000)]
    ids = image_ids(names)
    assert len(set(ids)) == len(ids) and all(1 <= i < 2**33 for i in ids)
    assert image_ids(names[::-1]) == ids[::-1]
    assert image_ids(["folder 7/img_700.jpg"]) == [ids[700]]  # a name's id does not depend on the others
    assert max(ids) * 1_000_000 + 999_999 < 2**53  # annotation ids stay exact in JavaScript


def test_image_id_clashes_move_the_later_name(monkeypatch) -> None:
    import sam_core.sa1b_files as sa1b

    monkeypatch.setattr(sa1b, "ID_BITS", 6)  # 40 names in 63 ids: clashes are certain
    ids = image_ids([f"{i}.png" for i in range(40)])
    assert len(set(ids)) == 40 and all(1 <= i < 64 for i in ids)


def test_relative_names_of_lists_folders_and_uris(tmp_path) -> None:
    base = str(tmp_path / "set")
    inside = [join_location(base, e) for e in ("a/1.png", "b/2.png")]
    assert relative_names(inside, base=base) == ["a/1.png", "b/2.png"]
    elsewhere = [str(tmp_path / "x" / "p" / "1.png"), str(tmp_path / "x" / "q" / "1.png")]
    assert relative_names(elsewhere, base=base) == ["p/1.png", "q/1.png"]  # below what they share
    uris = ["s3://bucket/photos/a%20b.jpg", "s3://bucket/photos/day/c.jpg"]
    assert relative_names(uris) == ["a b.jpg", "day/c.jpg"]
    mixed = [f"file://{tmp_path}/x/1.png", str(tmp_path / "x" / "sub" / "2.png")]
    assert relative_names(mixed) == ["1.png", "sub/2.png"]  # file:// is a local path
    assert relative_names([str(tmp_path / "one.png")]) == ["one.png"]
    assert join_location("s3://bucket/list", "a b.jpg") == "s3://bucket/list/a%20b.jpg"
    assert local_path("file:///tmp/a%20b.png") == "/tmp/a b.png" and local_path("gs://b/x.png") is None


def test_list_local_reads_folders_recursively_and_list_files(tmp_path) -> None:
    (tmp_path / "in" / "deep" / ".cache").mkdir(parents=True)
    for name in ("z.png", "deep/a.jpg", "deep/.cache/x.png", "deep/notes.md"):
        (tmp_path / "in" / name).write_bytes(b"")
    assert [(os.path.relpath(i.source, tmp_path), i.name) for i in list_local(tmp_path / "in")] == [
        ("in/deep/a.jpg", "deep/a.jpg"), ("in/z.png", "z.png")]  # fmt: skip
    listing = tmp_path / "in" / "todo.list"
    listing.write_text("# a comment\n\ndeep/a.jpg\n  z.png  \ndeep/a.jpg\ns3://bucket/far.png\n")
    images = list_local(listing)
    assert [i.source for i in images] == [str(tmp_path / "in/deep/a.jpg"), str(tmp_path / "in/z.png"),
                                          "s3://bucket/far.png"]  # fmt: skip
    assert len({i.name for i in images}) == 3
    with pytest.raises(FileNotFoundError):
        list_local(tmp_path / "missing")


def test_finished_output_reads_the_header_of_an_atomic_write(tmp_path) -> None:
    records = [{"segmentation": {"size": [4, 5], "counts": "52"}, "bbox": [0, 0, 1, 1], "area": 2,
                "predicted_iou": 0.9, "point_coords": [[1.0, 2.0]], "crop_box": [0, 0, 5, 4],
                "stability_score": 0.95}]  # fmt: skip
    settings = settings_hash({"points_per_side": 32})
    document = sa1b_document(77, "a/é.png", (4, 5), records, "ckpt", settings)
    assert document["annotations"][0]["id"] == 77_000_001
    path = tmp_path / "out" / "a" / "é.json"
    write_json_atomic(path, document)
    assert json.loads(path.read_text(encoding="utf-8")) == document
    assert finished_output(path, 77, "ckpt", settings) == 1
    assert finished_output(path, 78, "ckpt", settings) is None  # another image's id
    assert finished_output(path, 77, "other", settings) is None
    assert finished_output(path, 77, "ckpt", settings_hash({"points_per_side": 16})) is None
    assert finished_output(tmp_path / "none.json", 77, "ckpt", settings) is None
    path.write_text('{"image": {"image_id": 77}, "annotations": []}')  # an SA-1B file from elsewhere
    assert finished_output(path, 77, "ckpt", settings) is None
    assert [p.name for p in path.parent.iterdir()] == ["é.json"]  # no temporary file left

    stale = path.parent / ".é.json.abc.part"
    stale.write_text("{")
    os.utime(stale, (0, 0))
    fresh = path.parent / ".é.json.def.part"
    fresh.write_text("{")
    assert sweep_partial_files(tmp_path / "out", older_than=1000.0) == 1
    assert fresh.exists() and not stale.exists()
