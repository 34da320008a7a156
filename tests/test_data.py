"""Tests for sparselib.data: file formats, splits, and the batched TensorLoader."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import math
import os
import pickle
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from sparselib.data import (
    DATASETS,
    FASHION_MNIST_SYSTEM_DIR,
    DataBundle,
    DatasetInfo,
    Split,
    TensorLoader,
    check_available,
    crop_flip,
    dataset_info,
    default_root,
    load_dataset,
    read_idx,
    register_dataset,
    registry,
    rotate,
)

FMNIST_INSTALLED = os.path.isfile(os.path.join(FASHION_MNIST_SYSTEM_DIR, "train-images-idx3-ubyte.gz"))
needs_fmnist = pytest.mark.skipif(not FMNIST_INSTALLED, reason=f"Fashion-MNIST not installed in {FASHION_MNIST_SYSTEM_DIR}")


# ----------------------------------------------------------------------------------------------------------
# helpers writing the real on-disk formats
# ----------------------------------------------------------------------------------------------------------


def _images(n: int, c: int, s: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, c, s, s), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _write_pickle(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _write_cifar10(folder: Path, per_batch: int = 3, n_test: int = 4):
    """cifar-10-batches-py with 5 train batches + test batch; returns (train x, train y, test x, test y)."""
    d = folder / "cifar-10-batches-py"
    d.mkdir(parents=True)
    xs, ys = [], []
    for i in range(1, 6):
        x = _images(per_batch, 3, 32, seed=i)
        y = [(i * 7 + j) % 10 for j in range(per_batch)]
        _write_pickle(d / f"data_batch_{i}", {"batch_label": f"training batch {i} of 5",
                                              "labels": y, "data": x.reshape(per_batch, -1).numpy(),
                                              "filenames": [f"img{j}.png" for j in range(per_batch)]})
        xs.append(x)
        ys += y
    xt = _images(n_test, 3, 32, seed=99)
    yt = [j % 10 for j in range(n_test)]
    _write_pickle(d / "test_batch", {"batch_label": "testing batch 1 of 1", "labels": yt,
                                     "data": xt.reshape(n_test, -1).numpy()})
    return torch.cat(xs), torch.tensor(ys), xt, torch.tensor(yt)


def _write_idx(path: Path, t: torch.Tensor, gz: bool, magic_type: int = 0x08) -> None:
    header = bytes([0, 0, magic_type, t.dim()]) + b"".join(int(d).to_bytes(4, "big") for d in t.shape)
    raw = header + t.contiguous().numpy().tobytes()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def _write_fmnist(folder: Path, n_train: int, n_test: int, gz_train=True, gz_test=False):
    """Fake Fashion-MNIST whose image i carries its index in pixels (0,0)/(0,1): an id to track examples."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for prefix, n, gz, off in (("train", n_train, gz_train, 0), ("t10k", n_test, gz_test, 10000)):
        x = _images(n, 1, 28, seed=n + off)[:, 0]
        ids = torch.arange(n) + off
        x[:, 0, 0] = (ids // 256).to(torch.uint8)
        x[:, 0, 1] = (ids % 256).to(torch.uint8)
        y = (torch.arange(n) % 10).to(torch.uint8)
        ext = ".gz" if gz else ""
        _write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x, gz)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y, gz)
        out += [x, y]
    return out


def _ids(split: Split) -> torch.Tensor:
    return split.x[:, 0, 0, 0].long() * 256 + split.x[:, 0, 0, 1].long()


def _plain(info: DatasetInfo, **kw) -> DatasetInfo:
    """``info`` with mean 0 / std 1 so loader outputs are x/255, and given augmentation settings."""
    c = info.in_channels
    return dataclasses.replace(info, mean=(0.0,) * c, std=(1.0,) * c, **kw)


def _to_uint8(xb: torch.Tensor) -> torch.Tensor:
    return (xb * 255).round().to(torch.uint8)


# ----------------------------------------------------------------------------------------------------------
# dataset descriptions
# ----------------------------------------------------------------------------------------------------------


def test_dataset_info_names_and_errors():
    assert set(DATASETS) == {"cifar10", "cifar100", "fashion_mnist", "synthetic"}
    for name, info in DATASETS.items():
        assert dataset_info(name) is info and info.name == name
        assert len(info.mean) == len(info.std) == info.in_channels
    with pytest.raises(ValueError) as e:
        dataset_info("imagenet")
    assert "'imagenet'" in str(e.value) and "cifar10" in str(e.value) and "fashion_mnist" in str(e.value)


def test_cifar_constants_match_spec():
    c10, c100 = DATASETS["cifar10"], DATASETS["cifar100"]
    assert c10.mean == (0.4914, 0.4822, 0.4465) and c10.std == (0.2023, 0.1994, 0.2010)
    assert c100.mean == (0.5071, 0.4867, 0.4408) and c100.std == (0.2675, 0.2565, 0.2761)
    assert (c10.num_classes, c10.in_channels, c10.image_size) == (10, 3, 32)
    assert (c100.num_classes, c100.in_channels, c100.image_size) == (100, 3, 32)
    assert (c10.crop_padding, c10.hflip, c10.rotation) == (4, True, 0.0)
    assert (c100.crop_padding, c100.hflip, c100.rotation) == (4, True, 15.0)
    assert DATASETS["fashion_mnist"].rotation == 0.0 and DATASETS["fashion_mnist"].image_size == 28


def test_default_root(monkeypatch):
    assert default_root("fashion_mnist") == "/usr/share/datasets/fashion-mnist"
    assert default_root("synthetic") is None
    monkeypatch.delenv("SPARSELIB_DATA", raising=False)
    assert default_root("cifar10") == os.path.expanduser("~/data/cifar10")
    assert default_root("cifar100") == os.path.expanduser("~/data/cifar100")
    monkeypatch.setenv("SPARSELIB_DATA", "/somewhere/data")
    assert default_root("cifar10") == "/somewhere/data"
    with pytest.raises(ValueError):
        default_root("mnist")


# ----------------------------------------------------------------------------------------------------------
# the registry: a new dataset is one module with one register_dataset call
# ----------------------------------------------------------------------------------------------------------

TOY_MODULE = '''
"""toy: 3 classes of 1 x 4 x 4 images, its official splits in one file, toy.pt."""
from pathlib import Path

import torch

from sparselib.data import DatasetInfo, Split, register_dataset

TOY = DatasetInfo(name="toy", num_classes=3, in_channels=1, image_size=4, mean=(0.5,), std=(0.25,),
                  crop_padding=1, hflip=True, rotation=0.0)


def locate(root: Path, download: bool) -> Path:
    if not (root / "toy.pt").is_file():
        raise FileNotFoundError(f"toy: no toy.pt in {root}")
    return root


def read(folder: Path) -> tuple[Split, Split]:
    splits = torch.load(folder / "toy.pt", weights_only=True)
    return Split(*splits["train"]), Split(*splits["test"])


register_dataset(TOY, read, locate=locate, default_root=lambda: "/nonexistent/toy")
'''


@pytest.fixture
def scratch_registry():
    """The registry as it was before the test: what a test registers is removed after it."""
    saved = [(d, dict(d)) for d in (DATASETS, registry._SOURCES)]
    yield
    for d, before in saved:
        d.clear()
        d.update(before)


def test_new_dataset_is_one_module_and_one_registration(tmp_path, scratch_registry):
    (tmp_path / "toy_dataset.py").write_text(TOY_MODULE)
    spec = importlib.util.spec_from_file_location("toy_dataset", tmp_path / "toy_dataset.py")
    toy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toy)  # what importing it does
    assert dataset_info("toy") is toy.TOY and default_root("toy") == "/nonexistent/toy"
    with pytest.raises(FileNotFoundError, match="no toy.pt in /nonexistent/toy"):
        check_available("toy")
    x, y = _images(40, 1, 4, seed=5), torch.arange(40) % 3
    torch.save({"train": (x[:30], y[:30]), "test": (x[30:], y[30:])}, tmp_path / "toy.pt")
    check_available("toy", str(tmp_path))
    b = load_dataset("toy", str(tmp_path), train_subset=24, val_fraction=0.25)
    assert b.info is toy.TOY and (len(b.train), len(b.val), len(b.test)) == (18, 6, 10)
    assert torch.bincount(b.train.y).tolist() == [6, 6, 6] and torch.bincount(b.val.y).tolist() == [2, 2, 2]
    batches = list(TensorLoader(b.train, b.info, 6, train=True, seed=1))
    assert len(batches) == 3 and all(xb.shape == (6, 1, 4, 4) for xb, _ in batches)
    assert sorted(torch.cat([yb for _, yb in batches]).tolist()) == sorted(b.train.y.tolist())
    with pytest.raises(ValueError, match="registered twice"):
        register_dataset(toy.TOY, toy.read, locate=toy.locate, default_root=lambda: "/elsewhere")
    with pytest.raises(ValueError, match="both locate and default_root"):
        register_dataset(dataclasses.replace(toy.TOY, name="toy2"), toy.read, locate=toy.locate)


# ----------------------------------------------------------------------------------------------------------
# CIFAR pickles
# ----------------------------------------------------------------------------------------------------------


def test_cifar10_pickle_round_trip(tmp_path):
    x, y, xt, yt = _write_cifar10(tmp_path)
    for root in (tmp_path, tmp_path / "cifar-10-batches-py"):  # parent folder or the folder itself
        b = load_dataset("cifar10", str(root), val_fraction=0.0)
        assert isinstance(b, DataBundle) and b.info is DATASETS["cifar10"]
        assert b.train.x.dtype == torch.uint8 and b.train.y.dtype == torch.int64
        assert b.train.x.shape == (15, 3, 32, 32) and b.test.x.shape == (4, 3, 32, 32)
        assert torch.equal(b.train.x, x) and torch.equal(b.train.y, y)  # batches 1..5 in order
        assert torch.equal(b.test.x, xt) and torch.equal(b.test.y, yt)
        assert b.val.x.shape == (0, 3, 32, 32) and b.val.y.shape == (0,)
    # CHW layout: a row is the 1024 red values (row-major), then green, then blue.
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        row = pickle.load(f, encoding="latin1")["data"][1]
    b = load_dataset("cifar10", str(tmp_path), val_fraction=0.0)
    img = b.train.x[1]
    assert int(img[0, 0, 1]) == int(row[1])
    assert int(img[0, 1, 0]) == int(row[32])
    assert int(img[1, 0, 0]) == int(row[1024])
    assert int(img[2, 31, 31]) == int(row[3071])


def test_cifar100_pickle_round_trip_with_bytes_keys(tmp_path):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    x, xt = _images(6, 3, 32, seed=1), _images(3, 3, 32, seed=2)
    y, yt = [0, 99, 5, 42, 7, 63], [99, 0, 50]
    _write_pickle(d / "train", {"filenames": ["a"] * 6, "fine_labels": y, "coarse_labels": [v // 5 for v in y],
                                "data": x.reshape(6, -1).numpy()})
    # a file pickled with bytes keys (as some Python-3 re-dumps are) is read as well
    _write_pickle(d / "test", {b"fine_labels": yt, b"coarse_labels": [0, 0, 0], b"data": xt.reshape(3, -1).numpy()})
    b = load_dataset("cifar100", str(tmp_path), val_fraction=0.0)
    assert torch.equal(b.train.x, x) and b.train.y.tolist() == y
    assert torch.equal(b.test.x, xt) and b.test.y.tolist() == yt
    assert b.info.num_classes == 100


def test_cifar_bad_labels_rejected(tmp_path):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    x = _images(2, 3, 32, seed=1).reshape(2, -1).numpy()
    _write_pickle(d / "train", {"fine_labels": [0, 100], "data": x})
    _write_pickle(d / "test", {"fine_labels": [0, 1], "data": x})
    with pytest.raises(ValueError, match="labels outside"):
        load_dataset("cifar100", str(tmp_path))


def test_cifar_missing_folder_message(tmp_path, monkeypatch):
    root = tmp_path / "nothing_here"
    with pytest.raises(FileNotFoundError) as e:
        load_dataset("cifar10", str(root))
    msg = str(e.value)
    assert str(root / "cifar-10-batches-py") in msg
    assert "--data" in msg and "SPARSELIB_DATA" in msg and "download" in msg
    # the default root comes from SPARSELIB_DATA
    monkeypatch.setenv("SPARSELIB_DATA", str(tmp_path / "env_dir"))
    with pytest.raises(FileNotFoundError, match="env_dir"):
        load_dataset("cifar100")
    # SPARSELIB_DATA may also hold a cifar10/ sub-folder
    _write_cifar10(tmp_path / "env_dir" / "cifar10")
    assert len(load_dataset("cifar10", val_fraction=0.0).train) == 15


def test_download_without_torchvision_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision...` fail
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(RuntimeError, match="torchvision"):
        load_dataset("cifar10", str(tmp_path), download=True)


# ----------------------------------------------------------------------------------------------------------
# IDX files
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    t = _images(5, 1, 7, seed=3)[:, 0, :, :6]  # 5 x 7 x 6: non-square to check the dimension order
    p = tmp_path / ("a.idx" + (".gz" if gz else ""))
    _write_idx(p, t, gz)
    r = read_idx(p)
    assert r.dtype == torch.uint8 and r.shape == (5, 7, 6) and torch.equal(r, t)
    lab = torch.tensor([3, 1, 4, 1, 5], dtype=torch.uint8)
    _write_idx(tmp_path / "l", lab, False)
    assert read_idx(tmp_path / "l").tolist() == [3, 1, 4, 1, 5]


def test_idx_bad_header(tmp_path):
    t = torch.zeros(2, 3, 3, dtype=torch.uint8)
    p = tmp_path / "bad"
    _write_idx(p, t, False)
    raw = bytearray(p.read_bytes())
    raw[0] = 0x08
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="magic"):
        read_idx(p)
    _write_idx(p, t, False, magic_type=0x0D)  # float32 type code: not supported
    with pytest.raises(ValueError, match="magic"):
        read_idx(p)
    _write_idx(p, t, False)
    p.write_bytes(p.read_bytes()[:-1])  # truncated payload
    with pytest.raises(ValueError, match="need 18 bytes"):
        read_idx(p)


def test_fashion_mnist_from_idx_files(tmp_path):
    x, y, xt, yt = _write_fmnist(tmp_path / "fm", 30, 12, gz_train=True, gz_test=False)
    b = load_dataset("fashion_mnist", str(tmp_path / "fm"), val_fraction=0.0)
    assert b.train.x.shape == (30, 1, 28, 28) and b.test.x.shape == (12, 1, 28, 28)
    assert torch.equal(b.train.x[:, 0], x) and torch.equal(b.train.y, y.long())
    assert torch.equal(b.test.x[:, 0], xt) and torch.equal(b.test.y, yt.long())


def test_fashion_mnist_parent_folder(tmp_path):
    _write_fmnist(tmp_path / "fashion-mnist", 20, 10)
    b = load_dataset("fashion_mnist", str(tmp_path), val_fraction=0.0)
    assert len(b.train) == 20 and len(b.test) == 10


def test_fashion_mnist_missing_message(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_dataset("fashion_mnist", str(tmp_path / "none"))
    assert "apt-get install dataset-fashion-mnist" in str(e.value) and str(tmp_path / "none") in str(e.value)


# ----------------------------------------------------------------------------------------------------------
# subsets and splits
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def fm_root(tmp_path):
    _write_fmnist(tmp_path / "fm", 300, 50)
    return str(tmp_path / "fm")


def test_split_sizes_disjoint_and_ordered(fm_root):
    b = load_dataset("fashion_mnist", fm_root)  # val_fraction 0.1
    assert (len(b.train), len(b.val), len(b.test)) == (270, 30, 50)
    tr, va = _ids(b.train), _ids(b.val)
    assert set(tr.tolist()).isdisjoint(va.tolist())
    assert sorted(tr.tolist() + va.tolist()) == list(range(300))
    assert torch.equal(tr, tr.sort().values) and torch.equal(va, va.sort().values)  # original order kept
    assert torch.bincount(b.val.y, minlength=10).tolist() == [3] * 10  # class-balanced
    assert torch.equal(b.val.y, va % 10) and torch.equal(b.train.y, tr % 10)  # labels travel with images


def test_split_determinism_and_seed(fm_root):
    a = load_dataset("fashion_mnist", fm_root, split_seed=0)
    b = load_dataset("fashion_mnist", fm_root, split_seed=0)
    c = load_dataset("fashion_mnist", fm_root, split_seed=1)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.val.x, b.val.x) and torch.equal(a.val.y, b.val.y)
    assert not torch.equal(_ids(a.val), _ids(c.val))


def test_subset_before_split(fm_root):
    full = load_dataset("fashion_mnist", fm_root, train_subset=100, val_fraction=0.0)
    b = load_dataset("fashion_mnist", fm_root, train_subset=100, val_fraction=0.2)
    assert len(full.train) == 100 and (len(b.train), len(b.val)) == (80, 20)
    assert torch.bincount(full.train.y, minlength=10).tolist() == [10] * 10
    assert sorted(_ids(b.train).tolist() + _ids(b.val).tolist()) == _ids(full.train).tolist()
    assert torch.bincount(b.val.y, minlength=10).tolist() == [2] * 10
    # the subset does not depend on val_fraction, and changes with split_seed
    other = load_dataset("fashion_mnist", fm_root, train_subset=100, val_fraction=0.0, split_seed=5)
    assert not torch.equal(_ids(other.train), _ids(full.train))


def test_test_subset_and_bad_arguments(fm_root):
    b = load_dataset("fashion_mnist", fm_root, test_subset=20)
    assert len(b.test) == 20 and torch.bincount(b.test.y, minlength=10).tolist() == [2] * 10
    ids = _ids(b.test)
    assert torch.equal(ids, ids.sort().values) and set(ids.tolist()) <= set(range(10000, 10050))
    assert torch.equal(load_dataset("fashion_mnist", fm_root, test_subset=20).test.x, b.test.x)
    assert len(load_dataset("fashion_mnist", fm_root).test) == 50
    with pytest.raises(ValueError, match="train_subset"):
        load_dataset("fashion_mnist", fm_root, train_subset=301)
    with pytest.raises(ValueError, match="val_fraction"):
        load_dataset("fashion_mnist", fm_root, val_fraction=1.0)


def test_synthetic_dataset():
    t0 = time.perf_counter()
    b = load_dataset("synthetic")
    dt = time.perf_counter() - t0
    print(f"synthetic load: {dt * 1e3:.1f} ms")
    info = b.info
    assert (len(b.train), len(b.val), len(b.test)) == (461, 51, 256)
    assert b.train.x.shape[1:] == (info.in_channels, info.image_size, info.image_size)
    again = load_dataset("synthetic")
    assert torch.equal(again.train.x, b.train.x) and torch.equal(again.test.y, b.test.y)
    # hard-coded mean/std are those of the 512 official training images
    allx = torch.cat([b.train.x, b.val.x]).double() / 255
    assert torch.allclose(allx.mean((0, 2, 3)), torch.tensor(info.mean, dtype=torch.float64), atol=5e-5)
    assert torch.allclose(allx.std((0, 2, 3), unbiased=False), torch.tensor(info.std, dtype=torch.float64), atol=5e-5)
    # learnable: even a nearest-class-mean classifier is far above chance (10 %)
    means = torch.stack([b.train.x[b.train.y == k].float().mean(0) for k in range(info.num_classes)])
    d = torch.cdist(b.test.x.float().flatten(1), means.flatten(1))
    acc = (d.argmin(1) == b.test.y).float().mean().item()
    assert acc > 0.6
    sub = load_dataset("synthetic", train_subset=100, test_subset=50, val_fraction=0.0)
    assert (len(sub.train), len(sub.val), len(sub.test)) == (100, 0, 50)


# ----------------------------------------------------------------------------------------------------------
# TensorLoader
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synth() -> DataBundle:
    return load_dataset("synthetic")


def test_loader_shapes_and_len(synth):
    info = synth.info
    tl = TensorLoader(synth.train, info, 64, train=True, seed=0)
    batches = list(tl)
    assert len(tl) == len(batches) == 461 // 64
    for xb, yb in batches:
        assert xb.dtype == torch.float32 and xb.shape == (64, 3, 16, 16)
        assert yb.dtype == torch.int64 and yb.shape == (64,)
    assert len(TensorLoader(synth.train, info, 64, train=True, drop_last=False)) == 8
    ev = TensorLoader(synth.test, info, 100, train=False)
    sizes = [len(yb) for _, yb in ev]
    assert len(ev) == 3 and sizes == [100, 100, 56]
    assert len(TensorLoader(synth.test, info, 100, train=False, drop_last=True)) == 2
    empty = TensorLoader(synth.val.index(torch.zeros(0, dtype=torch.long)), info, 8, train=True)
    assert len(empty) == 0 and list(empty) == []
    with pytest.raises(ValueError):
        TensorLoader(synth.train, info, 0, train=True)


def test_eval_is_exact_normalisation(synth):
    info = synth.info
    ev = TensorLoader(synth.test, info, 100, train=False)
    xs, ys = zip(*ev)
    x = torch.cat(xs)
    mean = torch.tensor(info.mean).view(1, 3, 1, 1)
    std = torch.tensor(info.std).view(1, 3, 1, 1)
    assert torch.equal(x, (synth.test.x.float() / 255 - mean) / std)
    assert torch.equal(torch.cat(ys), synth.test.y)
    assert torch.equal(torch.cat(list(zip(*ev))[0]), x)  # eval ignores epochs: the same every time


def test_train_is_shuffled_permutation_without_augmentation(synth):
    info = _plain(synth.info, crop_padding=0, hflip=False)
    n = len(synth.train)
    split = Split(synth.train.x, torch.arange(n))  # labels as ids
    tl = TensorLoader(split, info, 50, train=True, drop_last=False)
    xs, ys = zip(*tl)
    ids = torch.cat(ys)
    assert sorted(ids.tolist()) == list(range(n)) and ids.tolist() != list(range(n))
    assert torch.equal(_to_uint8(torch.cat(xs)), synth.train.x[ids])


def _epoch(tl: TensorLoader, epoch: int):
    tl.set_epoch(epoch)
    xs, ys = zip(*tl)
    return torch.cat(xs), torch.cat(ys)


def test_loader_determinism_and_resume(synth):
    info = dataclasses.replace(synth.info, rotation=10.0)  # exercise every random draw
    a = TensorLoader(synth.train, info, 32, train=True, seed=3)
    b = TensorLoader(synth.train, info, 32, train=True, seed=3)
    xa0, ya0 = _epoch(a, 0)
    xa1, ya1 = _epoch(a, 1)
    xa2, _ = _epoch(a, 2)
    xb2, _ = _epoch(b, 2)  # a fresh loader jumping straight to epoch 2 (resume) gives the same batches
    assert torch.equal(xa2, xb2)
    xb0, yb0 = _epoch(b, 0)
    assert torch.equal(xa0, xb0) and torch.equal(ya0, yb0)
    assert not torch.equal(ya0, ya1) and not torch.equal(xa0, xa1)
    xc0, yc0 = _epoch(TensorLoader(synth.train, info, 32, train=True, seed=4), 0)
    assert not torch.equal(ya0, yc0)
    # iterating twice without set_epoch repeats the epoch
    assert torch.equal(_epoch(a, 1)[0], xa1) and torch.equal(torch.cat(list(zip(*a))[0]), xa1)


def test_flips_really_flip(synth):
    info = _plain(synth.info, crop_padding=0, hflip=True)
    n = len(synth.train)
    tl = TensorLoader(Split(synth.train.x, torch.arange(n)), info, 64, train=True, drop_last=False, seed=1)
    x, ids = _epoch(tl, 0)
    out, orig = _to_uint8(x), synth.train.x[ids]
    same = (out == orig).flatten(1).all(1)
    flipped = (out == torch.flip(orig, dims=[-1])).flatten(1).all(1)
    assert bool((same | flipped).all())
    assert 0.35 < flipped.float().mean().item() < 0.65


def test_crop_flip_hand_built_reference():
    img = torch.arange(1, 17, dtype=torch.uint8).view(1, 1, 4, 4)
    # padded with 1: rows/cols -1..4; offset (oy, ox) = (0, 2) takes padded rows 0..3, cols 2..5
    out = crop_flip(img, 1, torch.tensor([0]), torch.tensor([2]), torch.tensor([False]))
    expected = torch.tensor([[0, 0, 0, 0],
                             [2, 3, 4, 0],
                             [6, 7, 8, 0],
                             [10, 11, 12, 0]], dtype=torch.uint8)
    assert torch.equal(out[0, 0], expected)
    out = crop_flip(img, 1, torch.tensor([2]), torch.tensor([1]), torch.tensor([True]))
    expected = torch.tensor([[8, 7, 6, 5],
                             [12, 11, 10, 9],
                             [16, 15, 14, 13],
                             [0, 0, 0, 0]], dtype=torch.uint8)
    assert torch.equal(out[0, 0], expected)
    out = crop_flip(img, 1, torch.tensor([1]), torch.tensor([1]), torch.tensor([False]))  # centre: identity
    assert torch.equal(out, img)


def test_loader_crop_is_shifted_view_of_padded_image(synth):
    p = 2
    info = _plain(synth.info, crop_padding=p, hflip=False)
    n = len(synth.train)
    tl = TensorLoader(Split(synth.train.x, torch.arange(n)), info, 64, train=True, drop_last=False, seed=2)
    x, ids = _epoch(tl, 0)
    out = _to_uint8(x)
    padded = F.pad(synth.train.x[ids], (p, p, p, p))
    s = info.image_size
    seen = set()
    for i in range(0, n, 7):
        hits = [(oy, ox) for oy in range(2 * p + 1) for ox in range(2 * p + 1)
                if torch.equal(out[i], padded[i, :, oy:oy + s, ox:ox + s])]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) >= 15  # offsets vary over the 25 possibilities


def test_rotation():
    x = torch.arange(2 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    r = rotate(x, torch.tensor([90.0, 0.0]))
    assert torch.equal(r[0], torch.rot90(x[0], 1, dims=[-2, -1]))  # counter-clockwise, as torchvision
    assert torch.equal(r[1], x[1])
    # a CIFAR-100-like loader rotates: outputs differ from crop/flip alone but stay in range, corners filled 0
    b = load_dataset("synthetic", train_subset=64, val_fraction=0.0)
    info = _plain(b.info, crop_padding=0, hflip=False, rotation=15.0)
    xb, _ = next(iter(TensorLoader(b.train, info, 64, train=True)))
    assert xb.shape == (64, 3, 16, 16) and float(xb.min()) >= 0.0 and float(xb.max()) <= 1.0
    none = _plain(b.info, crop_padding=0, hflip=False)
    xn, _ = next(iter(TensorLoader(b.train, none, 64, train=True)))
    assert not torch.equal(xb, xn)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_loader_same_batches_on_cuda(synth):
    info = synth.info
    xc, yc = _epoch(TensorLoader(synth.train, info, 32, train=True, seed=5), 1)
    xg, yg = _epoch(TensorLoader(synth.train, info, 32, train=True, seed=5, device="cuda"), 1)
    assert torch.equal(yc, yg.cpu()) and torch.allclose(xc, xg.cpu(), atol=1e-6)


# ----------------------------------------------------------------------------------------------------------
# the real Fashion-MNIST (Debian's dataset-fashion-mnist), when installed
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_fmnist() -> DataBundle:
    return load_dataset("fashion_mnist", val_fraction=0.0)


@needs_fmnist
def test_real_fashion_mnist(real_fmnist):
    b = real_fmnist
    assert len(b.train) == 60000 and len(b.test) == 10000
    assert b.train.x.shape == (60000, 1, 28, 28) and b.test.x.shape == (10000, 1, 28, 28)
    assert torch.bincount(b.train.y).tolist() == [6000] * 10 and torch.bincount(b.test.y).tolist() == [1000] * 10
    # the hard-coded normalisation constants are the training set's pixel mean / std
    x = b.train.x.double() / 255
    assert math.isclose(x.mean().item(), b.info.mean[0], abs_tol=5e-5)
    assert math.isclose(x.std(unbiased=False).item(), b.info.std[0], abs_tol=5e-5)


@needs_fmnist
def test_real_fashion_mnist_loader_speed(real_fmnist):
    b = real_fmnist
    tl = TensorLoader(b.train, b.info, 128, train=True, seed=0)
    assert len(tl) == 60000 // 128
    it = iter(tl)
    next(it)  # includes the per-epoch draws
    n, t0 = 0, time.perf_counter()
    for _ in range(40):
        xb, _ = next(it)
        n += 1
    dt = time.perf_counter() - t0
    print(f"Fashion-MNIST train TensorLoader, batch 128, CPU: {n / dt:.0f} batches/s ({128 * n / dt:.0f} img/s)")
    assert xb.shape == (128, 1, 28, 28)
