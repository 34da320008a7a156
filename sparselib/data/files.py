"""Finding a dataset's files under a root folder, and fetching missing ones with torchvision.

torchvision is imported only when a download is asked for: it is optional and heavy, and on some machines it fails
to import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable


def locate_files(
    root: Path,
    download: bool,
    *,
    name: str,
    candidates: list[Path],
    holds: Callable[[Path], bool],
    torchvision_class: str,
    missing: str,
    fix: str,
) -> Path:
    """The first of ``candidates`` (folders under ``root``) that ``holds`` the dataset's files.

    Where none does and ``download`` is true, torchvision's ``datasets.<torchvision_class>`` downloads the dataset
    into ``root`` and the candidates are searched again. Where none does still, raises ``FileNotFoundError``:
    ``"<name>: <missing>; looked in: <candidates>. Fix: <fix>"``.
    """
    found = _first(candidates, holds)
    if found is None and download:
        _torchvision_download(name, torchvision_class, root)
        found = _first(candidates, holds)
    if found is None:
        looked = ", ".join(str(c) for c in candidates)
        raise FileNotFoundError(f"{name}: {missing}; looked in: {looked}. Fix: {fix}")
    return found


def _first(candidates: list[Path], holds: Callable[[Path], bool]) -> Path | None:
    return next((c for c in candidates if holds(c)), None)


def _torchvision_download(name: str, torchvision_class: str, root: Path) -> None:
    """Download both splits of ``name`` into ``root`` with torchvision (imported only here; it is optional)."""
    try:
        import torchvision.datasets as tvd  # noqa: PLC0415 - optional, heavy, may be broken
    except Exception as exc:  # ImportError, or a broken install raising something else
        raise RuntimeError(
            f"download=True for {name} needs torchvision, which could not be imported ({exc!r}). "
            f"Install torchvision matching your torch, or download the dataset elsewhere and pass its folder."
        ) from exc
    root.mkdir(parents=True, exist_ok=True)
    try:
        for train in (True, False):
            getattr(tvd, torchvision_class)(str(root), train=train, download=True)
    except Exception as exc:
        raise RuntimeError(f"downloading {name} into {root} with torchvision failed: {exc!r}") from exc
