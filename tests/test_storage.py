"""The run folder's owner (sparselib.storage), fast and without training: the files, their formats, the states, atomic
writes, checkpoints and provenance."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest
import torch

import sparselib.storage as storage
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
        error = e
    rec = f.read_failure()
    assert rec["error"] == "KeyError: 'missing'" and "raise KeyError(\"missing\")" in rec["traceback"]
    assert rec["traceback"] == "".join(traceback.format_exception(error))  # the whole of it, as Python prints it
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


def test_atomic_write_goes_through_a_hidden_tmp_file_beside_the_target(tmp_path, monkeypatch):
    p = tmp_path / "f.bin"
    seen = []
    real_replace = os.replace

    def replace(src, dst):  # the moment before the rename: what the folder holds
        seen.append((Path(src), sorted(os.listdir(tmp_path)), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    atomic_write_bytes(p, b"data")
    [(tmp, listing, data)] = seen
    assert tmp.parent == tmp_path and listing == [tmp.name] and data == b"data"  # same folder: the rename is atomic
    assert re.fullmatch(r"\.f\.bin\.\w+\.tmp", tmp.name)  # hidden, named after its target, and ignored by git (*.tmp)
    assert os.listdir(tmp_path) == ["f.bin"] and p.read_bytes() == b"data"


def test_a_failed_or_interrupted_atomic_write_leaves_no_temporary_file_and_passes_the_error_on(tmp_path, monkeypatch):
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"old")
    real_replace = os.replace

    def full_disk(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="^disk full$"):
        atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]

    def interrupted_after_the_rename(src, dst):  # the temporary file is already gone
        real_replace(src, dst)
        raise RuntimeError("interrupted")

    monkeypatch.setattr(os, "replace", interrupted_after_the_rename)
    with pytest.raises(RuntimeError, match="^interrupted$"):
        atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new" and os.listdir(tmp_path) == ["f.bin"]


def test_csv_lines_end_in_a_bare_newline_and_false_and_line_breaks_in_text_come_back(tmp_path):
    p = tmp_path / "h.csv"
    write_csv(p, [{"epoch": 1, "ok": False, "note": "two\r\nlines"}, {"epoch": 2, "ok": True, "note": "x"}])
    assert p.read_bytes() == b'epoch,ok,note\n1,False,"two\r\nlines"\n2,True,x\n'
    rows = read_csv(p)
    assert rows == [{"epoch": 1, "ok": False, "note": "two\r\nlines"}, {"epoch": 2, "ok": True, "note": "x"}]
    assert rows[0]["ok"] is False and rows[1]["ok"] is True
    write_csv(p, [{"epoch": 1, "note": "a\rb", "x": None}, {"epoch": 2, "note": "c"}])  # a bare carriage return
    assert p.read_bytes() == b'epoch,note,x\n"1","a\rb",""\n2,c,\n'
    assert read_csv(p) == [{"epoch": 1, "note": "a\rb", "x": None}, {"epoch": 2, "note": "c", "x": None}]
    p.write_text("flag\nfalse\nFALSE\nTrue\n")  # only Python's own spelling is a bool
    assert read_csv(p) == [{"flag": "false"}, {"flag": "FALSE"}, {"flag": True}]


def test_tensor_files_load_where_asked(tmp_path):
    p = tmp_path / "t.pt"
    save_torch(p, {"w": torch.arange(3)})
    assert load_torch(p)["w"].device.type == "cpu"
    w = load_torch(p, map_location="meta")["w"]
    assert w.device.type == "meta" and w.shape == (3,)


def test_tensor_files_refuse_arbitrary_objects_even_where_the_environment_lifts_torchs_default(tmp_path, monkeypatch):
    torch.save({"x": NotATensor()}, tmp_path / "evil.pt")
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # overrides torch.load's default, not an explicit choice
    with pytest.raises(Exception, match="Weights only load failed|Unsupported global"):
        load_torch(tmp_path / "evil.pt")


def test_a_missing_newest_checkpoint_falls_back_to_the_previous_one_silently(tmp_path, recwarn):
    store = CheckpointStore(tmp_path)
    store.save({"epoch": 1})
    store.save({"epoch": 2})
    store.path.unlink()  # e.g. lost between the rename to checkpoint.prev.pt and the next save
    assert store.exists() and store.load() == {"epoch": 1}
    assert len(recwarn) == 0 and sorted(os.listdir(tmp_path)) == ["checkpoint.prev.pt"]


def test_an_unreadable_checkpoint_is_reported_to_the_caller_with_its_error(tmp_path, monkeypatch):
    store = CheckpointStore(tmp_path)
    store.save({"epoch": 1})
    store.save({"epoch": 2})
    real_load = storage.load_torch
    callers = []

    def load_torch(path):
        caller = sys._getframe(2)  # 1 is CheckpointStore.load itself; 2 is whoever called it
        callers.append((caller.f_code.co_filename, caller.f_lineno))
        if path == store.path:
            raise ValueError("bad magic number")
        return real_load(path)

    monkeypatch.setattr(storage, "load_torch", load_torch)
    with pytest.warns(RuntimeWarning) as warned:
        assert store.load() == {"epoch": 1}
    assert len(warned) == 1
    assert str(warned[0].message) == (f"checkpoint {store.path} is unreadable (ValueError: bad magic number); moved it to "
                                      "checkpoint.pt.corrupt and falling back to the previous checkpoint")
    assert (warned[0].filename, warned[0].lineno) == callers[0]  # the warning points at the caller of load()
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.prev.pt", "checkpoint.pt.corrupt"]


def _git(*args):
    """What git itself says about this package's repository (None: no git here)."""
    if shutil.which("git") is None:
        return None
    repo = Path(storage.__file__).resolve().parents[1]
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=30).stdout


def test_provenance_records_the_repository_as_git_sees_it():
    info = storage.provenance(torch.device("cpu"))
    head, status = _git("rev-parse", "HEAD"), _git("status", "--porcelain", "--", "sparselib")
    if head is None:
        assert info["git_sha"] is None and info["git_dirty"] is None
    else:
        assert info["git_sha"] == (head.strip() or None) and info["git_dirty"] is bool(status.strip())
        assert info["git_sha"] is None or re.fullmatch(r"[0-9a-f]{40}", info["git_sha"])
    assert json.loads(json.dumps(info)) == info



@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_provenance_names_the_commit_and_whether_the_package_has_uncommitted_changes(tmp_path, monkeypatch):
    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
                              cwd=tmp_path, capture_output=True, text=True, check=True, timeout=30).stdout

    (tmp_path / "sparselib").mkdir()
    (tmp_path / "sparselib" / "storage.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("a\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    monkeypatch.setattr(storage, "__file__", str(tmp_path / "sparselib" / "storage.py"))  # a package in this repository
    clean = storage.provenance(torch.device("cpu"))
    assert clean["git_sha"] == git("rev-parse", "HEAD").strip() and clean["git_dirty"] is False
    (tmp_path / "notes.txt").write_text("b\n")  # outside the package: still clean
    assert storage.provenance(torch.device("cpu"))["git_dirty"] is False
    (tmp_path / "sparselib" / "storage.py").write_text("x = 2\n")
    dirty = storage.provenance(torch.device("cpu"))
    assert dirty["git_sha"] == clean["git_sha"] and dirty["git_dirty"] is True
    # a new file whose name is not UTF-8, printed by git as raw bytes: the package is dirty, and nothing crashes
    git("checkout", "-q", "--", "sparselib")
    git("config", "core.quotePath", "false")
    (tmp_path / "sparselib" / os.fsdecode(b"\xff.py")).write_text("y = 1\n")
    assert b"\xff" in subprocess.run(["git", "status", "--porcelain", "--", "sparselib"], cwd=tmp_path,
                                     capture_output=True, check=True).stdout
    assert storage.provenance(torch.device("cpu"))["git_dirty"] is True

def test_provenance_gives_up_on_a_git_that_hangs(monkeypatch):
    real_run = subprocess.run

    def git_hanging_on(command):
        def run(args, *a, timeout=None, **k):
            if args[0] != "git":
                return real_run(args, *a, timeout=timeout, **k)
            if args[1] != command:
                return real_run(args, *a, timeout=timeout, **k)
            if timeout is None:
                pytest.fail(f"git {command} runs without a time limit: a hanging git would hang the run")
            raise subprocess.TimeoutExpired(args, timeout)
        return run

    for command in ("rev-parse", "status"):
        monkeypatch.setattr(storage.subprocess, "run", git_hanging_on(command))
        info = storage.provenance(torch.device("cpu"))
        assert info["git_sha"] is None and info["git_dirty"] is None, command


def test_provenance_on_a_gpu_names_the_card_it_ran_on_and_the_cuda_version(monkeypatch):
    cards = {0: "Card Zero", 1: "Card One"}

    def get_device_name(device=None):  # like torch's: no device means the current one, here 0
        return cards[0 if device is None else torch.device(device).index]

    monkeypatch.setattr(torch.cuda, "get_device_name", get_device_name)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    info = storage.provenance(torch.device("cuda", 1))
    assert info["device"] == "cuda:1" and info["gpu"] == "Card One" and info["cuda"] == "12.4"
    assert "GPU" not in info and "CUDA" not in info


def test_the_write_check_probes_with_a_hidden_file_in_the_folder_itself(tmp_path, monkeypatch):
    f = RunFolder(tmp_path / "r")
    seen = []
    real = tempfile.NamedTemporaryFile

    def named_temporary_file(*a, **k):  # the moment the probe exists: what the folder holds
        handle = real(*a, **k)
        seen.append(sorted(os.listdir(f.path)))
        return handle

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", named_temporary_file)
    f.check_writable()
    [listing] = seen
    assert len(listing) == 1 and re.fullmatch(r"\.write-test-\w+", listing[0])
    assert os.listdir(f.path) == []


def test_a_divergence_is_recorded_read_back_and_replaces_the_failure_record(tmp_path):
    f = RunFolder(tmp_path / "r")
    assert f.read_divergence() is None and not f.diverged
    f.record_divergence(FloatingPointError("loss is nan at epoch 3 (lr 0.1)"))  # no failure record to remove: fine
    assert sorted(os.listdir(f.path)) == ["diverged.json"] and f.diverged and f.state == "diverged"
    rec = f.read_divergence()
    assert rec == read_json(f.path / "diverged.json") and sorted(rec) == ["error", "time"]
    assert rec["error"] == "FloatingPointError: loss is nan at epoch 3 (lr 0.1)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", rec["time"])

    g = RunFolder(tmp_path / "g")
    g.record_failure(ValueError("boom"), "trace")
    g.record_divergence(OverflowError("inf"))
    assert g.read_failure() is None and sorted(os.listdir(g.path)) == ["diverged.json"]
    assert g.state == "diverged" and g.read_divergence()["error"] == "OverflowError: inf"
    g.write_metrics({"top1": 0.1})  # finished wins: the divergence no longer counts
    assert g.state == "finished" and not g.diverged and g.read_divergence() is None
