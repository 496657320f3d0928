"""A lean PyInstaller hook for torch, used instead of pyinstaller-hooks-contrib's.

The contributed hook lists *every* torch submodule as a hidden import, which drags
in torch._inductor, torch._dynamo, sympy, networkx and jinja2 (tens of MB) and
adds minutes to the build. Maskwright only runs eager inference, so we rely on
the import graph of ``import torch`` and on ``--self-test`` of the frozen build to
prove nothing is missing.
"""
import os
from pathlib import Path

from PyInstaller import compat
from PyInstaller.utils.hooks import PY_DYLIB_PATTERNS, collect_data_files, collect_dynamic_libs

# torch.jit and some decorators read their own source with inspect: keep the .py files.
module_collection_mode = "pyz+py"
warn_on_missing_hiddenimports = False

# Headers, CMake files and C++ test programs (torch/bin, torch/test: 130 MB) are for building
# against torch; of torch/bin only torch_shm_manager is needed (``import torch`` checks it exists).
datas = [
    (source, target)
    for source, target in collect_data_files(
        "torch",
        excludes=["**/*.h", "**/*.hpp", "**/*.cuh", "**/*.lib", "**/*.cpp", "**/*.pyi", "**/*.cmake",
                  "include/**", "share/**", "test/**"],
    )
    if Path(target).parts[-1:] != ("bin",) or os.path.basename(source).startswith("torch_shm_manager")
]
_TEST_LIBRARIES = ("test", "backend_with_compiler", "aoti_custom_ops")  # torch's own C++ test fixtures
binaries = [
    (source, target)
    for source, target in collect_dynamic_libs("torch", search_patterns=PY_DYLIB_PATTERNS + ["*.so.*"])
    if not any(word in os.path.basename(source) for word in _TEST_LIBRARIES)
    and Path(target).parts[-1:] not in (("bin",), ("test",))
]

if compat.is_linux:
    # As in the contributed hook: symlinks from torch/lib to the top level confuse torch's library lookup.
    bindepend_symlink_suppression = ["**/torch/lib/*.so*"]
