"""Where the engine's images come from: local paths and URIs, listed and read.

URIs are opened with pyarrow's file systems (``s3://``, ``gs://``, ``hdfs://``,
``file://``, ...) and, for other schemes, with fsspec when it is installed. A URI
folder is listed recursively like a local one (image suffixes, no dot-names, sorted
by relative name); sources made from a listing are percent-encoded URIs. Local
paths (and list files holding them) go through :func:`sam_core.batch_inputs.list_local`,
so the engine names every image exactly as ``python -m sam_core.amg`` does.
"""
from __future__ import annotations

import functools
from typing import List, Tuple
from urllib.parse import quote, unquote, urlsplit

from ..batch_inputs import (
    BatchImage,
    is_list_file,
    is_uri,
    join_location,
    list_entries,
    list_local,
    relative_names,
)
from ..image_files import is_image_name


def list_input(target: str) -> List[BatchImage]:
    """The images of ``target``: a local or URI image file, folder or list file.

    Raises FileNotFoundError when it does not exist, OSError when it cannot be listed.
    """
    if not is_uri(target):
        return list_local(target)
    from pyarrow import fs as pafs

    filesystem, path = _open(target)
    info = filesystem.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{target}: no such file or folder")
    if info.type == pafs.FileType.Directory:
        return _list_folder(target, filesystem, path)
    if is_list_file(path):
        folder = target.split("?", 1)[0].rsplit("/", 1)[0]
        text = read_source(target).decode("utf-8", "surrogateescape")
        sources = [join_location(folder, entry) for entry in list_entries(text)]
        return [BatchImage(s, n) for s, n in zip(sources, relative_names(sources, base=folder))]
    return [BatchImage(target, unquote(urlsplit(target).path.rsplit("/", 1)[-1]))]


def read_source(source: str) -> bytes:
    """The bytes of a local file or a URI."""
    if not is_uri(source):
        with open(source, "rb") as handle:
            return handle.read()
    filesystem, path = _open(source)
    with filesystem.open_input_stream(path) as stream:
        return stream.read()


def _list_folder(uri: str, filesystem, root: str) -> List[BatchImage]:
    from pyarrow import fs as pafs

    base, _, query = uri.partition("?")
    base = base.rstrip("/")
    found = []
    for info in filesystem.get_file_info(pafs.FileSelector(root, recursive=True)):
        relative = info.path[len(root.rstrip("/")) :].lstrip("/")
        if info.type != pafs.FileType.File or not is_image_name(relative):
            continue
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        found.append(relative)
    found.sort(key=lambda name: (name.lower(), name))
    suffix = f"?{query}" if query else ""
    return [BatchImage(f"{base}/{quote(name)}{suffix}", name) for name in found]


def _open(uri: str) -> Tuple[object, str]:
    """(file system, path inside it) for ``uri``; one client per bucket or host and process."""
    parts = urlsplit(uri)
    filesystem, root = _filesystem(f"{parts.scheme}://{parts.netloc}/", parts.query)
    return filesystem, root.rstrip("/") + "/" + unquote(parts.path).lstrip("/")


@functools.lru_cache(maxsize=16)
def _filesystem(root: str, query: str) -> Tuple[object, str]:
    from pyarrow import ArrowInvalid
    from pyarrow import fs as pafs

    uri = f"{root}?{query}" if query else root
    try:
        return pafs.FileSystem.from_uri(uri)
    except ArrowInvalid as exc:
        if "Unrecognized filesystem type" not in str(exc):
            raise OSError(f"{uri}: {exc}") from None
    try:
        import fsspec
    except ImportError:
        raise OSError(f"{uri}: pyarrow cannot open this kind of URI, and fsspec is not installed") from None
    filesystem, path = fsspec.core.url_to_fs(uri)
    return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem)), path


__all__ = ["list_input", "read_source"]
