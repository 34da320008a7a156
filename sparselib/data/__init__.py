"""Datasets as in-memory uint8 tensors plus a batched, device-resident loader (SPEC §3).

Every dataset is loaded whole into memory as ``uint8`` tensors of shape ``N x C x H x W`` (CIFAR-10 is
150 MB, Fashion-MNIST 47 MB). :class:`TensorLoader` keeps a split on the training device and performs the
train-time augmentation (random crop with zero padding, horizontal flip, optional rotation) as batched tensor
operations, so small models are not bound by a per-image CPU pipeline.

Supported datasets (see :data:`DATASETS`):

* ``cifar10`` / ``cifar100``: the standard python-pickle folders (``cifar-10-batches-py``,
  ``cifar-100-python``). Optionally downloaded through torchvision on a machine with a network.
* ``fashion_mnist``: the IDX files (gzipped or plain), by default from Debian's ``dataset-fashion-mnist``
  package (``/usr/share/datasets/fashion-mnist``).
* ``synthetic``: a small, deterministic, learnable data set generated from a fixed seed, for tests.

All randomness (subset, validation split, shuffling, augmentation) comes from explicitly seeded CPU
``torch.Generator`` objects, so results do not depend on the device or on global RNG state.

The package's modules:

* :mod:`.registry`: :class:`DatasetInfo`, the registry (:data:`DATASETS`, :func:`register_dataset`) and the entry
  point :func:`load_dataset`, which reads a dataset and splits it;
* one reader per file format: :mod:`.cifar_pickle`, :mod:`.idx`; :mod:`.files` finds a dataset's files under a
  root folder and downloads missing ones;
* one module per dataset (or family): :mod:`.cifar`, :mod:`.fashion_mnist`, :mod:`.synthetic`;
* :mod:`.splits`: :class:`Split`, :class:`DataBundle`, class-balanced subsets and the validation hold-out;
* :mod:`.augment`: batched crop, flip, rotation and normalisation; :mod:`.loader`: :class:`TensorLoader`.

A new dataset is one new module here: its :class:`DatasetInfo`, a function reading its official train and test
splits, and one :func:`register_dataset` call. Every module of this package is imported below, which registers its
datasets (as :mod:`sparselib.methods` registers methods); code outside the package registers a dataset the same way.
"""

import importlib
import pkgutil

from .augment import crop_flip, normalize, rotate
from .cifar import DATA_ENV_VAR
from .fashion_mnist import FASHION_MNIST_SYSTEM_DIR
from .idx import read_idx
from .loader import TensorLoader
from .registry import DATASETS, DatasetInfo, check_available, dataset_info, default_root, load_dataset, register_dataset
from .splits import DataBundle, Split

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "DatasetInfo",
    "DATASETS",
    "Split",
    "DataBundle",
    "dataset_info",
    "default_root",
    "check_available",
    "register_dataset",
    "load_dataset",
    "read_idx",
    "crop_flip",
    "rotate",
    "normalize",
    "TensorLoader",
    "DATA_ENV_VAR",
    "FASHION_MNIST_SYSTEM_DIR",
]
