"""Pieces the benchmark scripts share (imported as ``_common``: each script runs from this folder)."""
from __future__ import annotations

import torch

from sparselib.data import DATASETS, DataBundle, Split


def sync(device: torch.device) -> None:
    """Wait for the device, so that a timer read afterwards covers the work queued before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthetic_cifar(n: int, classes: int = 10) -> DataBundle:
    """CIFAR-shaped random uint8 images (3 x 32 x 32) and labels, from a fixed seed: ``n`` for training, 64 each for
    validation and test; CIFAR-10's or CIFAR-100's augmentation and normalisation."""
    g = torch.Generator().manual_seed(0)

    def split(m):
        return Split(torch.randint(0, 256, (m, 3, 32, 32), dtype=torch.uint8, generator=g),
                     torch.randint(0, classes, (m,), generator=g))

    return DataBundle(DATASETS["cifar10" if classes == 10 else "cifar100"], split(n), split(64), split(64))


def synthetic_like(info, n: int) -> DataBundle:
    """Random uint8 images and labels shaped like dataset ``info`` (a fixed seed): ``n`` for training, 64 each for
    validation and test; the dataset's own augmentation and normalisation."""
    g = torch.Generator().manual_seed(0)

    def split(m):
        return Split(torch.randint(0, 256, (m, info.in_channels, info.image_size, info.image_size), dtype=torch.uint8,
                                   generator=g), torch.randint(0, info.num_classes, (m,), generator=g))

    return DataBundle(info, split(n), split(64), split(64))
