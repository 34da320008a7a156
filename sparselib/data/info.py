"""What the rest of the package knows of a dataset without loading it: :class:`DatasetInfo`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    """Static description of a dataset and of its train-time augmentation."""

    name: str
    num_classes: int
    in_channels: int
    image_size: int  # images are image_size x image_size
    mean: tuple[float, ...]  # per-channel mean of x/255, used for normalisation
    std: tuple[float, ...]  # per-channel std of x/255
    crop_padding: int  # random crop of image_size from the zero-padded image; 0 = no crop
    hflip: bool  # random horizontal flip with p = 0.5
    rotation: float  # random rotation in [-rotation, +rotation] degrees; 0 = none
