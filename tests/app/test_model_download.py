"""Checkpoint downloads against a loopback HTTP server: full, interrupted and resumed,
wrong checksum, offline, HTTP errors, cancel, and adopting a file already on disk."""
from __future__ import annotations

import hashlib
import os
import socket
import ssl
import threading
import time
import urllib.error

import numpy as np
import pytest

from app.services.checkpoints.catalog import CATALOG, OFFICIAL_BASE_URL, CheckpointEntry, by_size, format_bytes
from app.services.checkpoints import verified
from app.services.checkpoints.adopt import adopt
from app.services.checkpoints.download import (
    DownloadError,
    Progress,
    download,
    installed,
    network_message,
)
from tests.app.loopback_http import LoopbackServer, refused_url

SIZE = 3_000_000 + 12345  # a few MB, not a multiple of the 1 MiB chunk


pytestmark = pytest.mark.usefixtures("no_proxy")  # a proxy in the environment must not capture loopback requests


@pytest.fixture(scope="module")
def blob() -> bytes:
    return np.random.default_rng(7).integers(0, 256, SIZE, dtype=np.uint8).tobytes()


@pytest.fixture
def entry(blob) -> CheckpointEntry:
    return CheckpointEntry("test", "sam_test_blob.pth", len(blob), hashlib.sha256(blob).hexdigest())


@pytest.fixture
def server(blob):
    with LoopbackServer({"sam_test_blob.pth": blob}) as server:
        yield server


def test_the_catalogue_lists_meta_s_sam_v1_checkpoints_first_with_their_sha256():
    assert [(e.variant, e.file_name, e.size) for e in CATALOG[:3]] == [
        ("vit_b", "sam_vit_b_01ec64.pth", 375_042_383),
        ("vit_l", "sam_vit_l_0b3195.pth", 1_249_524_607),
        ("vit_h", "sam_vit_h_4b8939.pth", 2_564_550_879),
    ]
    assert CATALOG[0].sha256 == "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912"
    assert CATALOG[1].sha256 == "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622"
    assert CATALOG[2].sha256 == "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e"
    assert CATALOG[0].url() == "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth"
    assert OFFICIAL_BASE_URL.startswith("https://")
    assert by_size(1_249_524_607) is CATALOG[1] and by_size(5) is None
    assert CATALOG[0].label.startswith("SAM vit_b · 375 MB · Apache-2.0") and format_bytes(2_564_550_879) == "2.6 GB"


def test_a_full_download_is_verified_then_renamed(tmp_path, server, entry, blob):
    reports: list[Progress] = []
    path = download(entry, tmp_path / "models", server.base_url, on_progress=reports.append)
    assert path == tmp_path / "models" / entry.file_name
    assert path.read_bytes() == blob
    assert not (tmp_path / "models" / (entry.file_name + ".part")).exists()
    assert installed(entry, tmp_path / "models") == path
    assert server.ranges == [None]
    assert reports[-1].done == reports[-1].total == SIZE
    assert [r.done for r in reports] == sorted(r.done for r in reports)
    assert "MB of" in reports[-1].text
    # already there: nothing is fetched again
    assert download(entry, tmp_path / "models", server.base_url) == path and len(server.requests) == 1


def test_an_interrupted_transfer_keeps_its_part_and_resumes_with_range(tmp_path, server, entry, blob):
    server.cut_after, server.cuts = 1_300_000, 1
    models = tmp_path / "models"
    with pytest.raises(DownloadError) as failure:
        download(entry, models, server.base_url, attempts=1)
    assert failure.value.kind == "interrupted"
    assert "stopped at 1.3 MB of 3.0 MB" in str(failure.value) and "resumes" in str(failure.value)
    part = models / (entry.file_name + ".part")
    assert part.stat().st_size == 1_300_000 and not (models / entry.file_name).exists()
    assert installed(entry, models) is None  # a half file is never offered for use

    path = download(entry, models, server.base_url, attempts=1)
    assert server.ranges == [None, "bytes=1300000-"]
    assert path.read_bytes() == blob and not part.exists()


def test_a_dropped_connection_is_resumed_automatically(tmp_path, server, entry, blob):
    server.cut_after, server.cuts = 700_000, 2
    path = download(entry, tmp_path, server.base_url, attempts=3, retry_delay=0.01)
    assert server.ranges == [None, "bytes=700000-", "bytes=1400000-"]
    assert path.read_bytes() == blob


def test_automatic_resumes_read_the_part_file_only_once(tmp_path, server, entry, blob, monkeypatch):
    from app.services.checkpoints import download as model_download

    reads = []
    real = model_download.sha256_file
    monkeypatch.setattr(model_download, "sha256_file", lambda path, *args: reads.append(path) or real(path, *args))
    (tmp_path / (entry.file_name + ".part")).write_bytes(blob[:1000])  # left by an earlier session
    server.cut_after, server.cuts = 700_000, 2
    path = download(entry, tmp_path, server.base_url, attempts=3, retry_delay=0.01)
    assert server.ranges == ["bytes=1000-", "bytes=701000-", "bytes=1401000-"]
    assert path.read_bytes() == blob and len(reads) == 1  # not once per attempt


def test_cancel_during_the_pause_before_a_retry_returns_at_once(tmp_path, server, entry):
    server.cut_after, server.cuts = 0, 1  # the first answer breaks off at once
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(DownloadError) as failure:
        download(entry, tmp_path, server.base_url, cancel=cancel, retry_delay=30)
    assert failure.value.kind == "cancelled" and time.monotonic() - started < 10
    assert len(server.requests) == 1  # it was waiting to retry, not downloading


def test_a_server_that_ignores_range_restarts_from_zero(tmp_path, server, entry, blob):
    (tmp_path / (entry.file_name + ".part")).write_bytes(blob[:1000])
    server.ignore_range = True
    path = download(entry, tmp_path, server.base_url)
    assert server.ranges == ["bytes=1000-"]
    assert path.read_bytes() == blob


def test_a_wrong_checksum_deletes_the_file_and_says_so(tmp_path, server, entry):
    wrong = CheckpointEntry(entry.variant, entry.file_name, entry.size, "0" * 64)
    with pytest.raises(DownloadError) as failure:
        download(wrong, tmp_path, server.base_url)
    assert failure.value.kind == "checksum"
    assert "failed its SHA-256 check" in str(failure.value) and "deleted" in str(failure.value)
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_partial_file_fails_the_check_after_resuming(tmp_path, server, entry, blob):
    (tmp_path / (entry.file_name + ".part")).write_bytes(bytes(1000))  # not the file's first 1000 bytes
    with pytest.raises(DownloadError) as failure:
        download(entry, tmp_path, server.base_url)
    assert failure.value.kind == "checksum" and list(tmp_path.iterdir()) == []
    assert download(entry, tmp_path, server.base_url).read_bytes() == blob  # the next try starts clean


def test_offline_gives_one_clear_line(tmp_path, entry):
    url = refused_url()
    host = url.split("/")[2]
    with pytest.raises(DownloadError) as failure:
        download(entry, tmp_path, url)
    assert failure.value.kind == "network"
    assert str(failure.value) == f"{host} (or your proxy) refused the connection; are you offline or behind a firewall?"
    assert not list(tmp_path.glob("*.pth"))


@pytest.mark.parametrize("status, words", [(404, "has no such file (HTTP 404"), (407, "needs a login (HTTP 407)"),
                                           (403, "refused the download (HTTP 403)"), (503, "answered HTTP 503")])
def test_http_errors_are_named(tmp_path, server, entry, status, words):
    server.status = status
    with pytest.raises(DownloadError) as failure:
        download(entry, tmp_path, server.base_url)
    assert failure.value.kind == "http" and words in str(failure.value)


def test_a_proxy_page_instead_of_the_file_is_recognised(tmp_path, server, entry):
    server.files[entry.file_name] = b"<html>Please log in to the hotel Wi-Fi</html>"
    with pytest.raises(DownloadError) as failure:
        download(entry, tmp_path, server.base_url)
    assert failure.value.kind == "size" and "captive portal" in str(failure.value)
    assert not (tmp_path / entry.file_name).exists()


def test_cancel_keeps_the_part_for_later(tmp_path, server, entry, blob):
    cancel = threading.Event()
    server.delay = 0.005

    def on_progress(progress: Progress) -> None:
        if progress.done >= 1 << 20:
            cancel.set()

    with pytest.raises(DownloadError) as failure:
        download(entry, tmp_path, server.base_url, on_progress=on_progress, cancel=cancel)
    assert failure.value.kind == "cancelled"
    kept = (tmp_path / (entry.file_name + ".part")).stat().st_size
    assert 1 << 20 <= kept < SIZE
    server.delay = 0
    assert download(entry, tmp_path, server.base_url).read_bytes() == blob
    assert server.ranges[-1] == f"bytes={kept}-"


def test_adopting_a_file_checks_it_and_copies_it(tmp_path, entry, blob):
    source = tmp_path / "Downloads" / "my copy.pth"
    source.parent.mkdir()
    source.write_bytes(blob)
    path = adopt(source, tmp_path / "models", (entry,))
    assert path == tmp_path / "models" / entry.file_name and path.read_bytes() == blob
    assert not os.path.samefile(path, source)  # a copy: later changes to the user's file never reach it
    assert installed(entry, tmp_path / "models") == path
    assert adopt(path, tmp_path / "models", (entry,)) == path  # the file already in place


def test_adopting_copies_the_file_with_progress(tmp_path, entry, blob, monkeypatch):
    def no_link(*_args, **_kwargs):
        raise AssertionError("an adopted file is copied, never linked")

    monkeypatch.setattr(os, "link", no_link)
    source = tmp_path / "other drive.pth"
    source.write_bytes(blob)
    reports: list[Progress] = []
    path = adopt(source, tmp_path / "models", (entry,), on_progress=reports.append)
    assert path.read_bytes() == blob and not os.path.samefile(path, source)
    assert sorted(os.listdir(tmp_path / "models")) == [entry.file_name, "verified.json"]  # no .part left behind
    assert reports[-1].stage == "copy" and reports[-1].done == SIZE


def test_a_proxy_from_the_environment_is_used(tmp_path, server, entry, blob, monkeypatch):
    """urllib takes proxies from HTTP_PROXY / HTTPS_PROXY; the loopback server plays an HTTP
    proxy here (an HTTPS proxy would need CONNECT), for a host that does not exist."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base_url.split("/models/")[0])
    path = download(entry, tmp_path, "http://models.invalid/models/")
    assert path.read_bytes() == blob
    assert server.requests == [("http://models.invalid/models/sam_test_blob.pth", None)]


def test_progress_says_speed_and_time_left():
    assert Progress(12_000_000, 375_042_383, 8_100_000, 45).text == "12 MB of 375 MB · 8.1 MB/s · 45 s left"
    assert Progress(12_000_000, 375_042_383).text == "12 MB of 375 MB"  # the first half second
    from app.services.checkpoints.download import _Meter

    reports: list[Progress] = []
    meter = _Meter(100_000_000, 0, reports.append, "download")
    meter._mark = (meter._mark[0] - 1.0, 0)  # as if a second had passed
    meter.add(10_000_000, force=True)
    assert "/s" in reports[-1].text and reports[-1].text.endswith(" left")
    assert reports[-1].text.startswith("10 MB of 100 MB · ")


def test_adopting_a_wrong_file_copies_nothing(tmp_path, entry, blob):
    other = tmp_path / "other.pth"
    other.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))  # right size, wrong content
    with pytest.raises(DownloadError) as failure:
        adopt(other, tmp_path / "models", (entry,))
    assert failure.value.kind == "checksum" and "Nothing was copied" in str(failure.value)
    small = tmp_path / "small.pth"
    small.write_bytes(b"123")
    with pytest.raises(DownloadError) as failure:
        adopt(small, tmp_path / "models", (entry,))
    assert failure.value.kind == "not_official" and "File > Open checkpoint" in str(failure.value)
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_network_failures_become_one_line_each():
    host = "dl.fbaipublicfiles.com"
    cases = {
        urllib.error.URLError(socket.gaierror(-2, "Name or service not known")): "are you offline?",
        urllib.error.URLError(TimeoutError("timed out")): "did not answer in time",
        urllib.error.URLError(ssl.SSLCertVerificationError(1, "certificate verify failed")): "inspects HTTPS",
        ConnectionResetError(104, "reset"): "reset the connection",
        urllib.error.URLError(OSError(101, "Network is unreachable")): "Network is unreachable",
    }
    for error, words in cases.items():
        text = network_message(error, host)
        assert host in text and words in text and "\n" not in text


def test_partial_files_larger_than_the_checkpoint_are_discarded(tmp_path, server, entry, blob):
    (tmp_path / (entry.file_name + ".part")).write_bytes(blob + b"extra")
    assert download(entry, tmp_path, server.base_url).read_bytes() == blob
    assert server.ranges == [None]
    assert sorted(os.listdir(tmp_path)) == [entry.file_name, "verified.json"]


def test_the_download_and_device_code_imports_no_qt():
    import subprocess
    import sys
    from pathlib import Path

    probe = ("import sys, app.services.checkpoints.download, app.services.checkpoints.catalog, app.services.checkpoints.device_check, "
             "app.bootstrap.self_test; print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[2])
    assert result.stdout.strip() == "[]"


def test_a_part_file_that_is_a_link_is_refused_and_nothing_is_written_through_it(tmp_path, server, entry):
    models = tmp_path / "models"
    models.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"the user's own file")
    part = models / (entry.file_name + ".part")
    part.symlink_to(victim)
    with pytest.raises(DownloadError) as failure:
        download(entry, models, server.base_url)
    assert failure.value.kind == "disk" and "is a symbolic link" in str(failure.value)
    assert victim.read_bytes() == b"the user's own file" and server.requests == []
    part.unlink()
    os.link(victim, part)  # a hard link: writing it would change the user's file too
    with pytest.raises(DownloadError, match="not a file Maskwright made"):
        download(entry, models, server.base_url)
    assert victim.read_bytes() == b"the user's own file"


def test_a_file_of_the_right_name_and_size_is_checked_before_its_first_use(tmp_path, server, entry, blob,
                                                                          monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    final = models / entry.file_name
    final.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))  # right name and size, wrong content
    assert installed(entry, models) is None  # never offered on its name and size alone
    path = download(entry, models, server.base_url)  # found wrong, deleted, downloaded
    assert path.read_bytes() == blob and installed(entry, models) == path and len(server.requests) == 1

    # A right file nobody checked yet (copied in by hand): hashed once, no download, then remembered.
    (models / "verified.json").unlink()
    assert installed(entry, models) is None
    calls = []
    real = verified.sha256_file
    monkeypatch.setattr(verified, "sha256_file", lambda *args, **kwargs: calls.append(args) or real(*args, **kwargs))
    assert download(entry, models, server.base_url) == path and len(server.requests) == 1
    assert installed(entry, models) == path
    assert download(entry, models, server.base_url) == path and len(calls) == 1  # not hashed again
    # Changed since it was checked (same size): no longer trusted until checked again.
    with open(path, "r+b") as handle:
        handle.write(b"X")
    os.utime(path, ns=(1, 1))
    assert installed(entry, models) is None


def test_an_adopted_file_is_a_copy_so_later_changes_to_the_users_file_do_not_reach_it(tmp_path, entry, blob):
    source = tmp_path / "mine.pth"
    source.write_bytes(blob)
    path = adopt(source, tmp_path / "models", (entry,))
    with open(source, "r+b") as handle:
        handle.write(b"changed")
    assert path.read_bytes() == blob and installed(entry, tmp_path / "models") == path
