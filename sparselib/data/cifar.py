"""CIFAR-10 and CIFAR-100 (SPEC §3), read from their python-pickle folders ``cifar-10-batches-py`` and
``cifar-100-python``.

Default root: ``$SPARSELIB_DATA`` if set (a folder holding the pickle folder, directly or in a ``cifar10`` /
``cifar100`` sub-folder), else ``~/data/<name>``. With ``download=True``, missing files are fetched by torchvision.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .cifar_pickle import read_batches
from .files import locate_files
from .registry import DatasetInfo, register_dataset
from .splits import Split

DATA_ENV_VAR = "SPARSELIB_DATA"

# SPEC §3: RandomCrop(32, padding=4) + horizontal flip.
CIFAR10 = DatasetInfo(
    name="cifar10",
    num_classes=10,
    in_channels=3,
    image_size=32,
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2023, 0.1994, 0.2010),
    crop_padding=4,
    hflip=True,
    rotation=0.0,
)

# SPEC §3: as CIFAR-10, plus RandomRotation(15).
CIFAR100 = DatasetInfo(
    name="cifar100",
    num_classes=100,
    in_channels=3,
    image_size=32,
    mean=(0.5071, 0.4867, 0.4408),
    std=(0.2675, 0.2565, 0.2761),
    crop_padding=4,
    hflip=True,
    rotation=15.0,
)


@dataclass
class _Files:
    """One CIFAR dataset's pickle folder: where it is looked for, and the batches it holds."""

    info: DatasetInfo
    folder: str
    train_files: list[str]
    test_files: list[str]
    label_key: str
    torchvision_class: str

    def default_root(self) -> str:
        env = os.environ.get(DATA_ENV_VAR)
        if env:
            return os.path.expanduser(env)
        return os.path.expanduser(os.path.join("~", "data", self.info.name))

    def locate(self, root: Path, download: bool) -> Path:
        name, files = self.info.name, self.train_files + self.test_files
        return locate_files(
            root,
            download,
            name=name,
            candidates=[root, root / self.folder, root / name / self.folder],
            holds=lambda folder: all((folder / f).is_file() for f in files),
            torchvision_class=self.torchvision_class,
            missing=f"no '{self.folder}' folder with {files} found",
            fix=f"pass --data DIR (the folder holding '{self.folder}'), or set {DATA_ENV_VAR}=DIR, "
            "or allow download (download=True) on a machine with a network connection.",
        )

    def read(self, folder: Path) -> tuple[Split, Split]:
        return (read_batches(folder, self.train_files, self.label_key),
                read_batches(folder, self.test_files, self.label_key))

    def register(self) -> None:
        register_dataset(self.info, self.read, locate=self.locate, default_root=self.default_root)


# dataset, pickle folder, train batches, test batches, label key, torchvision class
_Files(CIFAR10, "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "labels",
       "CIFAR10").register()
_Files(CIFAR100, "cifar-100-python", ["train"], ["test"], "fine_labels", "CIFAR100").register()
