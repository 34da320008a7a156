"""Runs of two studies that are the same run but for a few named fields: a run of ``fmnist-fp32`` and the ``fmnist``
run it repeats in bf16, a recalibrated run and the one without, an allocation and the global one.

A run's configuration is its row of the run table (:func:`sparselib.results.collect_runs` has every
:class:`~sparselib.config.RunConfig` field as a column); two rows are counterparts when every field but the ignored
ones is equal (``method_args`` compared as parsed JSON, so key order does not matter, and with the ignored
hyper-parameters, written ``method_args.<name>``, left out: a run without a key and one with its default value are
different run ids but the same configuration only if the caller says so)."""
from __future__ import annotations

import dataclasses
import json
from typing import Iterable

import pandas as pd

from .config import RunConfig

_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))


def same_but(runs: pd.DataFrame, ignore: Iterable[str]) -> pd.Series:
    """Per run, a key equal for runs whose configurations differ only in ``ignore`` (setting fields, or a method
    hyper-parameter as ``method_args.<name>``)."""
    ignore = set(ignore)
    hp_ignored = {i.split(".", 1)[1] for i in ignore if i.startswith("method_args.")}
    unknown = {i for i in ignore if not i.startswith("method_args.")} - set(_FIELDS)
    if unknown:
        raise ValueError(f"unknown setting field(s) {', '.join(sorted(unknown))}; the fields: {', '.join(_FIELDS)}")
    fields = [f for f in _FIELDS if f not in ignore]

    def key(row) -> str:
        d = {f: row[f] for f in fields}
        if "method_args" in d:
            args = json.loads(d["method_args"]) if isinstance(d["method_args"], str) else dict(d["method_args"])
            d["method_args"] = {k: v for k, v in args.items() if k not in hp_ignored}
        return json.dumps(d, sort_keys=True, default=_plain)

    return pd.Series([key(r) for _, r in runs.iterrows()], index=runs.index, dtype=object)


def _plain(v):
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return str(v)


def paired(a: pd.DataFrame, b: pd.DataFrame, ignore: Iterable[str], suffixes: tuple[str, str] = ("_a", "_b")
           ) -> pd.DataFrame:
    """One row per run of ``a`` that has a counterpart in ``b`` (the same run but for ``ignore``): ``a``'s columns
    and ``b``'s, suffixed, plus the shared ``key``.  Runs without a counterpart are left out; a run with two
    counterparts is a ValueError (the ignored fields do not tell them apart)."""
    ignore = list(ignore)
    a = a.assign(key=same_but(a, ignore)) if len(a) else a.assign(key=pd.Series(dtype=object))
    b = b.assign(key=same_but(b, ignore)) if len(b) else b.assign(key=pd.Series(dtype=object))
    for name, df in (("first", a), ("second", b)):
        dup = df["key"].duplicated()
        if dup.any():
            raise ValueError(f"{int(dup.sum())} run(s) of the {name} table have the same configuration but for "
                             f"{', '.join(ignore)}: {', '.join(df.loc[dup, 'run_id'].astype(str))}")
    return a.merge(b, on="key", suffixes=suffixes)
