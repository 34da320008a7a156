"""Fashion-MNIST, read from its four IDX files (gzipped or plain).

Default root: ``/usr/share/datasets/fashion-mnist``, where Debian's ``dataset-fashion-mnist`` package installs them.
With ``download=True``, missing files are fetched by torchvision.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .files import locate_files
from .idx import idx_file, read_idx
from .registry import DatasetInfo, register_dataset
from .splits import Split

FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"

# Mean/std of x/255 over all 60000 x 28 x 28 pixels of the official training set, computed in float64
# from /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz (population std):
# 0.28604059..., 0.35302424...; rounded to 4 decimals like the CIFAR constants.
# (tests/test_data.py recomputes them when the files are installed.)
# Augmentation: crop + flip, as in the ENVIRONMENT calibration (88 % with ResNet-20/w8). Padding 4 is kept
# from the CIFAR recipe (the calibration does not state its padding); it is the common FMNIST choice.
FASHION_MNIST = DatasetInfo(
    name="fashion_mnist",
    num_classes=10,
    in_channels=1,
    image_size=28,
    mean=(0.2860,),
    std=(0.3530,),
    crop_padding=4,
    hflip=True,
    rotation=0.0,
)

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _locate(root: Path, download: bool) -> Path:
    stems = [s for pair in _FILES.values() for s in pair]
    return locate_files(
        root,
        download,
        name="fashion_mnist",
        # the folder itself, a 'fashion-mnist' sub-folder, or torchvision's layout
        candidates=[root, root / "fashion-mnist", root / "FashionMNIST" / "raw"],
        holds=lambda folder: all(idx_file(folder, s) is not None for s in stems),
        torchvision_class="FashionMNIST",
        missing="IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) not found",
        fix=f"`apt-get install dataset-fashion-mnist` (installs them in {FASHION_MNIST_SYSTEM_DIR}), "
        "or pass the folder holding them (--data DIR).",
    )


def _read(folder: Path) -> tuple[Split, Split]:
    return _read_part(folder, "train"), _read_part(folder, "test")


def _read_part(folder: Path, part: str) -> Split:
    img_stem, lbl_stem = _FILES[part]
    img_path, lbl_path = idx_file(folder, img_stem), idx_file(folder, lbl_stem)
    x, y = read_idx(img_path), read_idx(lbl_path)
    if x.dim() != 3:
        raise ValueError(f"{img_path}: expected 3 IDX dimensions (N, H, W), got {list(x.shape)}")
    if y.dim() != 1:
        raise ValueError(f"{lbl_path}: expected 1 IDX dimension (N), got {list(y.shape)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"fashion_mnist {part}: {x.shape[0]} images but {y.shape[0]} labels")
    return Split(x.unsqueeze(1).contiguous(), y.to(torch.int64))


register_dataset(FASHION_MNIST, _read, locate=_locate, default_root=lambda: FASHION_MNIST_SYSTEM_DIR)
