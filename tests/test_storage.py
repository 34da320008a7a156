"""The run folder's owner (sparselib.storage), fast and without training: the files, their formats, the states, atomic
writes, checkpoints and provenance."""
import json
import os
import re

import pytest
import torch

from sparselib.storage import (CheckpointStore, RunFolder, atomic_write_bytes, load_torch, read_csv, read_json,
                               save_torch, write_csv, write_json)


def test_json_round_trip_is_sorted_indented_and_takes_tensors_tuples_and_sets(tmp_path):
    p = tmp_path / "a" / "x.json"  # the folder is made
    write_json(p, {"b": (1, 2), "a": torch.tensor([0.5]), "c": {3}})
    text = p.read_text()
    assert text == '{\n  "a": [\n    0.5\n  ],\n  "b": [\n    1,\n    2\n  ],\n  "c": [\n    3\n  ]\n}\n'
    assert read_json(p) == {"a": [0.5], "b": [1, 2], "c": [3]}
    with pytest.raises(TypeError, match="cannot store object as JSON"):
        write_json(p, {"x": object()})
    assert read_json(p)["b"] == [1, 2]  # the failed write left the file as it was


def test_csv_columns_are_the_union_in_first_seen_order_and_values_parse_back(tmp_path):
    p = tmp_path / "h.csv"
    write_csv(p, [{"epoch": 1, "val": 0.5}, {"epoch": 2, "val": 0.25, "phase": 1, "ok": True, "name": "x"}])
    assert p.read_text().splitlines()[0] == "epoch,val,phase,ok,name"
    assert read_csv(p) == [{"epoch": 1, "val": 0.5, "phase": None, "ok": None, "name": None},
                           {"epoch": 2, "val": 0.25, "phase": 1, "ok": True, "name": "x"}]
    assert isinstance(read_csv(p)[1]["epoch"], int) and isinstance(read_csv(p)[1]["val"], float)


def test_atomic_write_replaces_in_one_step_and_leaves_no_temporary_file(tmp_path):
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"one")
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two" and os.listdir(tmp_path) == ["f.bin"]


class NotATensor:
    """Something a checkpoint must not smuggle in: loading it would run arbitrary code with weights_only=False."""


def test_tensor_files_load_with_weights_only(tmp_path):
    p = tmp_path / "t.pt"
    save_torch(p, {"w": torch.arange(3)})
    assert torch.equal(load_torch(p)["w"], torch.arange(3))
    torch.save({"x": NotATensor()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="Weights only load failed|Unsupported global"):
        load_torch(tmp_path / "evil.pt")


def test_checkpoint_store_states(tmp_path):
    store = CheckpointStore(tmp_path)
    assert not store.exists() and store.load() is None
    store.save({"epoch": 1})
    assert store.exists() and not store.prev.exists()
    store.save({"epoch": 2})
    assert store.load()["epoch"] == 2 and load_torch(store.prev)["epoch"] == 1
    store.path.write_bytes(b"x")
    store.prev.write_bytes(b"y")
    with pytest.warns(RuntimeWarning) as warned:
        assert store.load() is None  # both unreadable: from scratch, and said so twice
    assert len(warned) == 2 and "falling back to scratch" in str(warned[1].message)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.prev.pt.corrupt", "checkpoint.pt.corrupt"]
    store.save({"epoch": 3})
    store.clear()
    assert not store.exists()


def test_run_folder_states_and_record(tmp_path):
    f = RunFolder.of(tmp_path, "s", "abc")
    assert f.path == tmp_path / "s" / "abc" and f.run_id == "abc" and f.state == "missing"
    f.checkpoints.save({"epoch": 1})
    assert f.state == "partial"
    f.record_failure(ValueError("boom"), "trace")
    assert f.state == "failed" and f.read_failure()["error"] == "ValueError: boom"
    assert f.read_failure()["traceback"] == "trace"
    f.write_config({"seed": 0}, "abc")
    f.write_provenance({"git_sha": "x"})
    f.write_history([{"epoch": 1}])
    f.write_lrs([0.1, 0.123456789012345])
    f.write_mask_stats([{"name": "w"}])
    assert f.missing_record() == ["metrics.json"]
    f.write_metrics({"top1": 0.5})
    assert f.state == "finished" and f.finished and f.read_failure() is None  # success removes the failure record
    assert f.read_config() == {"seed": 0, "run_id": "abc"} and f.read_lrs() == [0.1, 0.123456789]
    assert f.read_history() == [{"epoch": 1}] and f.read_metrics() == {"top1": 0.5} and f.missing_record() == []
    assert RunFolder.RECORD == ("config.json", "provenance.json", "history.csv", "lr.json", "mask_stats.json",
                                "metrics.json")
    f.save_final({"w": torch.ones(2)}, {"w": torch.tensor([True, False])})
    assert f.has_final() and torch.equal(f.load_final()["w"], torch.ones(2))
    assert f.load_mask()["w"].tolist() == [True, False]
    assert RunFolder(tmp_path / "s" / "abc") < RunFolder(tmp_path / "s" / "abd")


def test_write_check_and_lock(tmp_path):
    f = RunFolder(tmp_path / "r")
    f.check_writable()
    assert os.listdir(f.path) == []  # the probe is gone
    lock = f.lock()
    lock.acquire(timeout=0)
    other = RunFolder(tmp_path / "r").lock()
    from filelock import Timeout

    with pytest.raises(Timeout):
        other.acquire(timeout=0)
    lock.release()
    other.acquire(timeout=0)
    other.release()


def test_provenance_names_the_code_and_the_machine(monkeypatch):
    import platform
    import socket
    import subprocess
    from pathlib import Path
    from types import SimpleNamespace

    import sparselib.storage as storage

    calls = []
    real_run = subprocess.run

    def fake_git(args, *a, cwd=None, **kwargs):
        if args[0] != "git":  # e.g. platform's own probes
            return real_run(args, *a, cwd=cwd, **kwargs)
        calls.append((args, Path(cwd)))
        out = {"rev-parse": "abc123\n", "status": " M sparselib/train.py\n"}[args[1]]
        return SimpleNamespace(stdout=out)

    monkeypatch.setattr(storage.subprocess, "run", fake_git)
    info = storage.provenance(torch.device("cpu"))
    repo = Path(storage.__file__).resolve().parents[1]
    assert calls == [(["git", "rev-parse", "HEAD"], repo), (["git", "status", "--porcelain", "--", "sparselib"], repo)]
    assert info["git_sha"] == "abc123" and info["git_dirty"] is True
    assert info["python"] == platform.python_version() and info["torch"] == torch.__version__
    assert info["platform"] == platform.platform() and info["host"] == socket.gethostname()
    assert info["device"] == "cpu" and info["cpu_count"] == os.cpu_count()
    assert info["torch_threads"] == torch.get_num_threads() and "gpu" not in info and "cuda" not in info
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", info["started"])
    assert json.loads(json.dumps(info)) == info
    monkeypatch.setattr(storage.subprocess, "run",
                        lambda args, *a, **k: SimpleNamespace(stdout="") if args[0] == "git" else real_run(args, *a, **k))
    clean = storage.provenance(torch.device("cpu"))
    assert clean["git_sha"] is None and clean["git_dirty"] is False  # no output: no SHA, nothing uncommitted

    def no_git(args, *a, **k):
        if args[0] != "git":
            return real_run(args, *a, **k)
        raise subprocess.SubprocessError("no git here")

    monkeypatch.setattr(storage.subprocess, "run", no_git)
    missing = storage.provenance(torch.device("cpu"))
    assert missing["git_sha"] is None and missing["git_dirty"] is None


def test_run_folder_reads_what_it_writes_and_says_what_it_is(tmp_path):
    f = RunFolder(tmp_path / "x")
    assert repr(f) == f"RunFolder({str(tmp_path / 'x')!r})" and f.read_history() == []
    f.write_provenance({"host": "h"})
    f.write_mask_stats([{"name": "w", "kept": 1}])
    f.write_history([{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.75}])
    assert f.read_provenance() == {"host": "h"} and f.read_mask_stats() == [{"name": "w", "kept": 1}]
    frame = f.history_frame()
    assert list(frame.columns) == ["epoch", "val_acc"] and frame["val_acc"].tolist() == [0.5, 0.75]
    assert f.notebook == f.path / "run.ipynb"


def test_a_failure_record_keeps_the_traceback_and_the_time_and_success_works_without_one(tmp_path):
    f = RunFolder(tmp_path / "r")
    f.write_metrics({"top1": 0.5})  # no failure record to remove: fine
    try:
        raise KeyError("missing")
    except KeyError as e:
        f.record_failure(e)
    rec = f.read_failure()
    assert rec["error"] == "KeyError: 'missing'" and "raise KeyError(\"missing\")" in rec["traceback"]
    assert rec["traceback"].startswith("Traceback (most recent call last)")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", rec["time"])
    assert not RunFolder(tmp_path / "a") < RunFolder(tmp_path / "a")  # a strict order


def test_the_write_check_makes_missing_parents_and_cleans_up(tmp_path):
    f = RunFolder(tmp_path / "a" / "b" / "c")
    f.check_writable()
    assert f.path.is_dir() and list(f.path.iterdir()) == []
    f.check_writable()  # again, on an existing folder
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.geteuid() != 0:  # root may write anyway
            with pytest.raises(OSError):
                RunFolder(locked / "x").check_writable()
    finally:
        locked.chmod(0o700)
