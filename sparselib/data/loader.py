"""The batched, device-resident loader: a whole split lives on the training device, and each epoch's shuffling and
augmentation are drawn up front from a seeded CPU generator and applied batch by batch as tensor operations."""

from __future__ import annotations

from typing import Iterator

import torch

from .augment import crop_flip, normalize, rotate
from .info import DatasetInfo
from .splits import Split, mix_seed


class TensorLoader:
    """Iterate over a :class:`Split` held on ``device`` in batches of normalised float images.

    ``train=True``: each epoch shuffles and augments (random crop with zero padding ``info.crop_padding``,
    horizontal flip with p=0.5 if ``info.hflip``, rotation in ±``info.rotation`` degrees if > 0); all of it
    is drawn at the start of ``__iter__`` from a CPU generator seeded by ``(seed, epoch)``, so a given
    ``(seed, epoch)`` yields the same batches on any device and after a resume. Call :meth:`set_epoch` before
    each epoch (as with ``DistributedSampler``): the epoch does not advance by itself.

    ``train=False``: original order, no augmentation, only normalisation.

    ``drop_last`` defaults to ``train``. Yields ``(x, y)``: float32 ``B x C x H x W`` and int64 ``B``.
    """

    def __init__(
        self,
        split: Split,
        info: DatasetInfo,
        batch_size: int,
        *,
        train: bool,
        device: str | torch.device = "cpu",
        seed: int = 0,
        drop_last: bool | None = None,
    ) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1")
        if split.x.shape[1] != info.in_channels:
            raise ValueError(f"split has {split.x.shape[1]} channels, {info.name} expects {info.in_channels}")
        self.info = info
        self.batch_size = int(batch_size)
        self.train = bool(train)
        self.device = torch.device(device)
        self.seed = int(seed)
        self.drop_last = self.train if drop_last is None else bool(drop_last)
        self.epoch = 0
        self.x = split.x.to(self.device)
        self.y = split.y.to(self.device)
        self._mean = torch.tensor(info.mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self._std = torch.tensor(info.std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)

    @property
    def num_examples(self) -> int:
        return int(self.y.shape[0])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n, b = self.num_examples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        yield from self._train_batches() if self.train else self._eval_batches()

    def _slices(self) -> Iterator[slice]:
        n, b = self.num_examples, self.batch_size
        for i in range(len(self)):
            yield slice(i * b, min((i + 1) * b, n))

    def _eval_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for sl in self._slices():
            yield normalize(self.x[sl], self._mean, self._std), self.y[sl]

    def _train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        r = self._draw()
        for sel in self._slices():
            idx = r["perm"][sel]
            yield self._augment(self.x[idx], r, sel), self.y[idx]

    def _draw(self) -> dict[str, torch.Tensor]:
        """Per-epoch randomness, drawn on CPU in a fixed order, then moved to the device."""
        n, info = self.num_examples, self.info
        gen = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
        out = {"perm": torch.randperm(n, generator=gen)}
        p = info.crop_padding
        if p > 0:
            out["oy"] = torch.randint(0, 2 * p + 1, (n,), generator=gen)
            out["ox"] = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        else:
            out["oy"] = out["ox"] = torch.zeros(n, dtype=torch.int64)
        if info.hflip:
            out["flip"] = torch.rand(n, generator=gen) < 0.5
        else:
            out["flip"] = torch.zeros(n, dtype=torch.bool)
        if info.rotation > 0:
            angle = (torch.rand(n, generator=gen, dtype=torch.float64) * 2.0 - 1.0) * info.rotation
            out["angle"] = angle.to(torch.float32)  # some devices (MPS) lack float64
        return {k: v.to(self.device) for k, v in out.items()}

    def _augment(self, xb: torch.Tensor, r: dict[str, torch.Tensor], sel: slice) -> torch.Tensor:
        """The uint8 batch ``xb`` cropped, flipped and rotated as drawn in ``r`` for positions ``sel``, normalised."""
        if self.info.crop_padding > 0 or self.info.hflip:
            xb = crop_flip(xb, self.info.crop_padding, r["oy"][sel], r["ox"][sel], r["flip"][sel])
        if "angle" in r:
            xf = rotate(xb.to(torch.float32) / 255.0, r["angle"][sel])
            return (xf - self._mean) / self._std
        return normalize(xb, self._mean, self._std)
