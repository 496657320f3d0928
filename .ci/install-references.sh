#!/usr/bin/env sh
# Reference packages for the parity tests and the bench that pip cannot install plainly.
# Run after torch and the dev extra are installed (the bench extra brings hydra-core and iopath).
set -eu
# The sam2 sdist would build a CUDA extension and pull a CUDA torch: build neither
# (the extension only serves video post-processing, which the image predictor skips).
SAM2_BUILD_CUDA=0 python -m pip install -q --no-deps --no-build-isolation sam2==1.1.0
# HQ-SAM (with the TinyViT that MobileSAM's reference uses) and EfficientViT-SAM: both declare
# torch and torchvision, which pip would replace with CUDA builds; their own imports need only
# torch and numpy here (sam_core.bench.references_light stands in for timm and torchvision).
python -m pip install -q --no-deps segment-anything-hq==0.3 efficientsam==1.0.0
# The foreign-file tests read COCO files written by supervision and datumaro. supervision's own
# dependencies are pure additions; datumaro's declared pins would downgrade opencv-python-headless,
# pandas and pyarrow, and writing a COCO file needs only these.
python -m pip install -q supervision==0.31.2
python -m pip install -q --no-deps datumaro==1.13.12 json-stream==2.5.1 json-stream-rs-tokenizer==0.5.4 \
  imagesize==2.0.1 lxml==6.1.3
