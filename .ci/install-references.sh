#!/usr/bin/env sh
# Reference packages for the parity tests and the bench that pip cannot install plainly.
# Run after torch and the dev extra are installed (the bench extra brings hydra-core and iopath).
set -eu
# The sam2 sdist would build a CUDA extension and pull a CUDA torch: build neither
# (the extension only serves video post-processing, which the image predictor skips).
SAM2_BUILD_CUDA=0 python -m pip install -q --no-deps --no-build-isolation sam2==1.1.0
