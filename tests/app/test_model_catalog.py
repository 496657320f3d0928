"""The model catalogue of every family, and the check for files whose project publishes no
SHA-256: the size, then that the file loads as the entry's network (download, adopt, and a
file found in the models folder), against a loopback server and real seeded checkpoints."""
from __future__ import annotations

import math

import pytest
import torch

from app.services.checkpoints import verified
from app.services.checkpoints.adopt import adopt
from app.services.checkpoints.catalog import CATALOG, CheckpointEntry, by_size, sized_like
from app.services.checkpoints.download import DownloadError, download, installed
from sam_core.config import KNOWN_VARIANTS
from sam_core.families.hq_sam import HQSamConfig
from sam_core.families.sam2 import HIERA_VARIANTS, Sam2Config
from sam_core.modeling.efficientvit.config import EFFICIENTVIT_SAM_VARIANTS
from sam_core.modeling.tiny_vit_config import MOBILE_SAM_TINY_VIT
from sam_core.testing import (
    HQ_TINY_TEST_CONFIG,
    MOBILE_SAM_CONFIG,
    MOBILE_SAM_TEST_CONFIG,
    build_network,
    sam2_video_tensor_shapes,
    write_random_family_checkpoint,
)
from tests.app.loopback_http import LoopbackServer

pytestmark = pytest.mark.usefixtures("no_proxy")

SAM2_FILES = {"hiera_t": "tiny", "hiera_s": "small", "hiera_b+": "base_plus", "hiera_l": "large"}


def published_configs():
    """(file name, config) of every published file the catalogue should offer besides SAM v1."""
    for variant, shape in HIERA_VARIANTS.items():
        yield f"sam2.1_hiera_{SAM2_FILES[variant]}.pt", Sam2Config("sam2.1", variant, shape)
    yield "mobile_sam.pt", MOBILE_SAM_CONFIG
    yield from ((f"efficientvit_sam_{v}.pt", config) for v, config in EFFICIENTVIT_SAM_VARIANTS.items())
    yield "sam_hq_vit_tiny.pth", HQSamConfig(MOBILE_SAM_TINY_VIT)
    yield from ((f"sam_hq_{v}.pth", HQSamConfig(KNOWN_VARIANTS[v])) for v in ("vit_b", "vit_l", "vit_h"))


def tensor_bytes(config) -> int:
    """The fp32 bytes of every tensor of the official file of ``config`` (SAM 2's video ones too)."""
    with torch.device("meta"):
        state = build_network(config).state_dict()
    total = sum(t.numel() * t.element_size() for t in state.values())
    if isinstance(config, Sam2Config):
        total += sum(4 * math.prod(shape) for shape in sam2_video_tensor_shapes(config.family).values())
    return total


def test_the_catalogue_offers_every_family_with_its_official_source_and_no_invented_hash():
    by_name = {entry.file_name: entry for entry in CATALOG}
    assert {e.family for e in CATALOG} == {"SAM", "SAM 2.1", "MobileSAM", "EfficientViT-SAM", "HQ-SAM"}
    assert all(e.licence == "Apache-2.0" and e.note for e in CATALOG)
    assert [e.file_name for e in CATALOG if e.sha256] == ["sam_vit_b_01ec64.pth", "sam_vit_l_0b3195.pth",
                                                          "sam_vit_h_4b8939.pth"]  # only SAM v1's are known
    for file_name, config in published_configs():
        entry = by_name.pop(file_name)
        assert entry.sha256 is None and entry.loads_as == f"{config.family} {config.variant}"
        assert entry.size == tensor_bytes(config), file_name  # the tensors' size, not a guess
        assert entry.size_text.startswith("~") and "no SHA-256 is published" in entry.check
    assert sorted(by_name) == ["sam_vit_b_01ec64.pth", "sam_vit_h_4b8939.pth", "sam_vit_l_0b3195.pth"]
    urls = {e.file_name: e.url() for e in CATALOG}
    assert urls["sam2.1_hiera_tiny.pt"] == \
        "https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_tiny.pt"
    assert urls["mobile_sam.pt"] == \
        "https://raw.githubusercontent.com/ChaoningZhang/MobileSAM/master/weights/mobile_sam.pt"
    assert urls["sam_hq_vit_h.pth"] == "https://huggingface.co/lkeab/hq-sam/resolve/main/sam_hq_vit_h.pth"
    assert urls["efficientvit_sam_xl1.pt"] == \
        "https://huggingface.co/mit-han-lab/efficientvit-sam/resolve/main/efficientvit_sam_xl1.pt"
    mirror = "https://mirror.example/models/"
    assert {e.url(mirror) for e in CATALOG} == {mirror + e.file_name for e in CATALOG}
    fast = [e.title for e in CATALOG if "fastest on a CPU" in e.note]
    assert fast == ["MobileSAM vit_t"]
    assert [e.title for e in CATALOG if e.note.startswith("best masks")] == ["SAM 2.1 hiera_l"]


def test_a_size_near_the_tensors_is_a_candidate_and_only_loading_tells_which():
    mobile = next(e for e in CATALOG if e.file_name == "mobile_sam.pt")
    hq_tiny = next(e for e in CATALOG if e.file_name == "sam_hq_vit_tiny.pth")
    assert mobile.size_matches(mobile.size + 300_000) and not mobile.size_matches(2 * mobile.size)
    assert set(sized_like(41_000_000)) == {mobile, hq_tiny}  # 41 MB could be either
    assert by_size(41_000_000) is None and by_size(375_042_383).variant == "vit_b"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A MobileSAM and an HQ-SAM (TinyViT) test-size checkpoint in their official layouts, as bytes."""
    folder = tmp_path_factory.mktemp("families")
    mobile = write_random_family_checkpoint(folder / "m.pt", MOBILE_SAM_TEST_CONFIG, seed=1).read_bytes()
    hq = write_random_family_checkpoint(folder / "h.pth", HQ_TINY_TEST_CONFIG, seed=1).read_bytes()
    return {"mobile": mobile, "hq": hq}


def entry_for(config, file_name: str, size: int) -> CheckpointEntry:
    """A catalogue entry without a SHA-256, as the real ones are, for a test-size network."""
    return CheckpointEntry("test", file_name, size, None, "for tests", "Test family",
                           loads_as=f"{config.family} {config.variant}")


def test_a_download_without_a_published_hash_is_kept_only_when_it_loads_as_its_entry(tmp_path, checkpoints):
    mobile = entry_for(MOBILE_SAM_TEST_CONFIG, "mobile_sam.pt", int(len(checkpoints["mobile"]) * 1.04))
    models = tmp_path / "models"
    with LoopbackServer({"mobile_sam.pt": checkpoints["mobile"]}) as server:
        path = download(mobile, models, server.base_url)
    assert path.read_bytes() == checkpoints["mobile"] and installed(mobile, models) == path
    record = verified._read_record(models)["mobile_sam.pt"]
    assert record["loads_as"] == mobile.loads_as and "sha256" not in record  # no hash of our own is passed off

    other = tmp_path / "other"
    with LoopbackServer({"mobile_sam.pt": checkpoints["hq"]}) as server:  # another network, of about that size
        with pytest.raises(DownloadError) as wrong:
            download(mobile, other, server.base_url)
    assert wrong.value.kind == "load" and "loads as hq_sam" in str(wrong.value) and "deleted" in str(wrong.value)
    assert list(other.iterdir()) == []

    garbage = bytes(len(checkpoints["mobile"]))  # the right size, not a checkpoint
    with LoopbackServer({"mobile_sam.pt": garbage}) as server:
        with pytest.raises(DownloadError) as broken:
            download(mobile, other, server.base_url)
    assert broken.value.kind == "load" and "does not load" in str(broken.value) and list(other.iterdir()) == []

    with LoopbackServer({"mobile_sam.pt": b"<html>captive portal</html>"}) as server:
        with pytest.raises(DownloadError) as page:
            download(mobile, other, server.base_url)
    assert page.value.kind == "size" and list(other.iterdir()) == []


def test_adopting_a_file_picks_the_entry_it_loads_as(tmp_path, checkpoints):
    size = len(checkpoints["mobile"])
    mobile = entry_for(MOBILE_SAM_TEST_CONFIG, "mobile_sam.pt", size)
    hq = entry_for(HQ_TINY_TEST_CONFIG, "sam_hq_vit_tiny.pth", size)  # both near both files' sizes
    entries, models = (mobile, hq), tmp_path / "models"
    for key, entry in (("hq", hq), ("mobile", mobile)):
        source = tmp_path / f"download_{key}.bin"
        source.write_bytes(checkpoints[key])
        assert adopt(source, models, entries) == models / entry.file_name
        assert installed(entry, models) is not None
    assert sorted(p.name for p in models.iterdir()) == ["mobile_sam.pt", "sam_hq_vit_tiny.pth", "verified.json"]
    assert adopt(models / "mobile_sam.pt", models, entries) == models / "mobile_sam.pt"  # in place: checked there

    stranger = tmp_path / "other.pt"
    stranger.write_bytes(checkpoints["hq"])
    with pytest.raises(DownloadError) as refused:
        adopt(stranger, tmp_path / "elsewhere", (mobile,))
    assert refused.value.kind == "not_official" and "it loads as hq_sam" in str(refused.value)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_file_found_in_the_models_folder_is_loaded_once_then_trusted_until_it_changes(tmp_path, checkpoints):
    models = tmp_path / "models"
    models.mkdir()
    entry = entry_for(MOBILE_SAM_TEST_CONFIG, "mobile_sam.pt", len(checkpoints["mobile"]))
    path = models / entry.file_name
    path.write_bytes(checkpoints["mobile"])
    assert verified.present(entry, models) == path and not verified.is_verified(entry, models)
    assert verified.verify(entry, models) == path and verified.is_verified(entry, models)
    path.write_bytes(bytes(len(checkpoints["mobile"])))  # replaced: same size, not a checkpoint
    assert not verified.is_verified(entry, models)
    with pytest.raises(DownloadError) as failed:
        verified.verify(entry, models)
    assert failed.value.kind == "load" and not path.exists()
