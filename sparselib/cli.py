"""Command line: ``python -m sparselib {info,run,sweep,methods,presets}``.

Every bad input ends with one line on stderr, ``error: ...``, and a non-zero exit status (2 for a malformed command
line, 1 for a value the library rejects); never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from .config import BASELINE, PRECISIONS, ConfigError, Runtime
from .presets import DEFAULT_STUDY


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (the usage text is what ``--help`` is for)."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _error(e: BaseException | str) -> SystemExit:
    """The one line a command ends with (exit status 1)."""
    return SystemExit("error: " + " ".join(str(e).split()))


def _number(kind: Callable[[str], Any], low: float, what: str) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)``, at least ``low``."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not math.isfinite(value) or value < low:
            raise argparse.ArgumentTypeError(f"{text} is invalid: must be {what}")
        return value
    return parse


_POSITIVE_INT = _number(int, 1, "a positive integer")
_COUNT = _number(int, 0, "an integer >= 0")
_SECONDS = _number(float, 1e-3, "a positive number of seconds")


def _value(text: str) -> Any:
    """Parse KEY=VALUE values as JSON where possible (numbers, booleans, lists), else keep the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str], flag: str) -> dict[str, Any]:
    out = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not eq or not k.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[k.strip()] = _value(v)
    return out


def _resources(items: list[str]) -> dict[str, float] | None:
    out = {}
    for name, amount in _pairs(items, "--resources").items():
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 < amount < math.inf:
            raise ConfigError(f"--resources {name}={amount!r}: the amount must be a positive number, e.g. GPU=1")
        out[name] = float(amount)
    return out or None


def _runtime(a: argparse.Namespace, *, local: bool = True) -> Runtime:
    """The runtime of ``run``/``sweep``; ``local``: runs execute on this machine, so its devices and folders are
    checked here (not for ``--scheduler``, whose workers may see other GPUs and file systems)."""
    results = Path(a.results or "results")
    if results.exists() and not results.is_dir():
        raise ConfigError(f"--results {results} is a file; pass a folder (it is created if missing)")
    if local and a.data is not None and not a.download and not Path(a.data).expanduser().is_dir():
        raise ConfigError(f"--data {a.data}: no such folder")
    runtime = Runtime(results=str(results), device=a.device, data_root=a.data, download=a.download,
                      progress=not a.no_progress, num_threads=a.threads, compile=a.compile)
    if local:
        runtime.resolved_device()  # ConfigError for a device this machine does not have
    return runtime


def _arithmetic(a: argparse.Namespace) -> dict[str, Any]:
    """``--precision`` and ``--channels-last``: overrides of the setting's fields of the same names (part of a run's
    identity: they change the numbers it produces)."""
    return {k: v for k, v in (("precision", a.precision), ("channels_last", a.channels_last)) if v is not None}


def cmd_info(a: argparse.Namespace) -> None:
    from .data import dataset_info
    from .flops import model_info

    try:
        d = dataset_info(a.dataset)
        info = model_info(a.model, d.in_channels, d.num_classes, d.image_size, width=a.width)
    except ValueError as e:
        raise _error(e) from None
    print(f"model             {a.model}" + (f" (width {a.width})" if a.width else ""))
    print(f"input             {d.in_channels}x{d.image_size}x{d.image_size} ({a.dataset}, {d.num_classes} classes)")
    print(f"parameters        {info['parameters']:,}")
    print(f"prunable weights  {info['prunable']:,} (all Conv2d and Linear weights)")
    print(f"multiply-adds     {info['macs_per_image']:,} per image (Conv2d + Linear)")


def cmd_run(a: argparse.Namespace) -> None:
    from .presets import get_preset
    from .runner import run

    try:
        preset = get_preset(a.preset)
        cfg = preset.config(a.method, a.sparsity, a.seed, _pairs(a.arg, "--arg"),
                            **{**_pairs(a.set, "--set"), **_arithmetic(a)})
        runtime = _runtime(a)
    except (ConfigError, ValueError, TypeError) as e:
        raise _error(e) from None
    from .runner import RunError
    from .train import TrainingDiverged

    try:
        run(cfg, runtime)
    except (RunError, ConfigError, OSError, TrainingDiverged) as e:
        raise _error(e) from None


def cmd_sweep(a: argparse.Namespace) -> None:
    from .presets import get_preset
    from .sweep import SweepError, default_workers, estimate_seconds, format_seconds, plan, sweep

    try:
        presets = [get_preset(n) for n in dict.fromkeys(a.preset)]
        runtime = _runtime(a, local=not a.scheduler)
        resources = _resources(a.resources)
    except ValueError as e:
        raise _error(e) from None
    name = "+".join(p.name for p in presets)
    configs = [c for p in presets for c in p.configs()]
    if _arithmetic(a):
        configs = [c.replace(**_arithmetic(a)) for c in configs]
    if a.methods is not None:
        wanted = {m.strip() for m in a.methods.split(",") if m.strip()}
        unknown = wanted - {c.method for c in configs}
        if unknown or not wanted:
            raise _error(f"--methods: {', '.join(sorted(unknown)) or 'no method named'}"
                         f"{' not in preset ' + name if unknown else ''}; its methods: "
                         f"{', '.join(dict.fromkeys(c.method for c in configs))}")
        configs = [c for c in configs if c.method in wanted | {BASELINE}]  # dense: the baseline of relative time
    p = plan(configs, runtime)
    extra = sum(r.extra for r in p.runs)
    counts = {s: p.count(s) for s in ("finished", "diverged", "failed", "partial", "missing")}
    print(f"preset {name}: {len(p.runs) - extra} runs" + (f" (+{extra} dense runs they start from)" if extra
          else "") + ": " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {len(p.todo)} to run")
    workers = 1 if a.workers == 0 else (a.workers or (None if a.scheduler else default_workers()))
    if p.todo:
        left, source = estimate_seconds(p, runtime, workers or 1, presets[0].epoch_seconds)
        on = f"with {workers} worker{'s' if workers != 1 else ''}" if workers else "(one worker; divide by yours)"
        print(f"estimated time left: {format_seconds(left)} {on} ({source})")
    if a.dry_run:
        for r in p.todo:
            c = r.cfg
            print(f"  {c.run_id}  {r.status:8s} {c.method:8s} sparsity {c.goal_sparsity:<6g} seed {c.seed}  "
                  f"{r.epochs:3d} epochs  {json.dumps(c.method_args) if c.method_args else ''}"
                  + ("  (dense run others start from)" if r.extra else ""))
        return
    try:
        report = sweep(configs, runtime, workers=a.workers, scheduler=a.scheduler, via_notebook=a.via_notebook,
                       resources=resources,
                       progress=not a.no_progress, connect_timeout=a.connect_timeout, name=f"sweep {name}")
    except SweepError as e:
        raise _error(e) from None
    if report.outcomes:
        print(report.summary())
    if not report.ok:
        raise SystemExit(1)


def cmd_methods(a: argparse.Namespace) -> None:
    from .method_info import method_details, methods_table

    if a.name is None:
        print(methods_table())
        return
    try:
        print(method_details(a.name))
    except ValueError as e:
        raise _error(e) from None


def cmd_presets(a: argparse.Namespace) -> None:
    from .presets import PRESETS

    for p in PRESETS.values():
        print(f"{p.name:11s} {len(p.configs()):5d} runs  {p.description}")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m sparselib", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("info", help="parameters, prunable weights and multiply-adds of a model")
    s.add_argument("model", help="resnet<6n+2> (resnet20, resnet56, ...) or wrn<6n+4>_<k> (wrn28_10, ...)")
    s.add_argument("--dataset", default="cifar10", help="sets input shape and classes (default cifar10)")
    s.add_argument("--width", type=_POSITIVE_INT, default=None, help="base width of a CIFAR ResNet (default 16)")
    s.set_defaults(func=cmd_info)

    def runtime_args(s: argparse.ArgumentParser) -> None:
        s.add_argument("--results", default=None, help="results root (default: results); runs go to ROOT/SETTING/ID")
        s.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
        s.add_argument("--data", default=None, help="dataset folder (default: the dataset's standard place)")
        s.add_argument("--download", action="store_true", help="allow downloading CIFAR (needs torchvision+network)")
        s.add_argument("--threads", type=_POSITIVE_INT, default=None, help="torch CPU threads")
        s.add_argument("--no-progress", action="store_true", help="no progress bar")
        s.add_argument("--precision", choices=PRECISIONS, default=None,
                       help="override the setting's precision; bf16 autocasts the forward passes (weights stay fp32)")
        s.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                       help="override the setting's memory layout: NHWC (--channels-last) or not")
        s.add_argument("--compile", nargs="?", const="inductor", default=None, metavar="BACKEND",
                       help="torch.compile the training forward pass (default backend: inductor; a speed option, "
                            "not part of a run's identity)")

    s = sub.add_parser("run", help="run one experiment (skipped if finished, resumed if interrupted)")
    s.add_argument("--preset", default=DEFAULT_STUDY[0], help=f"default: {DEFAULT_STUDY[0]}, the book's study")
    s.add_argument("--method", default=BASELINE)
    s.add_argument("--sparsity", type=float, default=0.0, help="goal sparsity in [0, 1), e.g. 0.9")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a method hyper-parameter, e.g. --arg schedule=clr --arg n_phases=3")
    s.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a setting field, e.g. --set epochs=10")
    runtime_args(s)
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("sweep", help="run every missing run of a preset's study (on Dask)",
                       description="Run every missing run of a preset's study: finished runs are skipped, interrupted "
                                   "ones resume, failed ones are retried.  By default on a local Dask cluster sized "
                                   "to the machine (one worker per GPU, else one per CPU core).")
    s.add_argument("preset", nargs="*", default=list(DEFAULT_STUDY),
                   help="one or more presets, e.g. fmnist (their runs make one sweep); default: the book's study, "
                        + " ".join(DEFAULT_STUDY))
    s.add_argument("--dry-run", action="store_true", help="list the runs that would start and estimate the time left")
    s.add_argument("--workers", type=_COUNT, default=None,
                   help="workers of the local Dask cluster (default: one per GPU, else one per CPU core); 0: run in "
                        "this process, one after another")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use a running Dask cluster, e.g. tcp://10.0.0.5:8786 (see the book's Reproduce page)")
    s.add_argument("--resources", action="append", default=[], metavar="NAME=AMOUNT",
                   help="Dask worker resources each run needs, e.g. GPU=1 (workers started with --resources GPU=1)")
    s.add_argument("--via-notebook", action="store_true",
                   help="execute each run through notebooks/train.ipynb (papermill); keeps run.ipynb in its folder")
    s.add_argument("--connect-timeout", type=_SECONDS, default=10.0, help="seconds to wait for --scheduler")
    s.add_argument("--methods", default=None, metavar="M1,M2",
                   help="only these methods of the study (and the dense runs), e.g. --methods imp,gmp")
    runtime_args(s)
    s.set_defaults(func=cmd_sweep)

    s = sub.add_parser("methods", help="the registered methods; with a NAME, that method in detail")
    s.add_argument("name", nargs="?", default=None, help="one method, e.g. gsm")
    s.set_defaults(func=cmd_methods)
    sub.add_parser("presets", help="list the presets").set_defaults(func=cmd_presets)
    return p


def _terminate(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt  # SIGTERM (kill, SLURM's time limit) stops like Ctrl-C: workers closed, runs resumable


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        args.func(args)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        raise SystemExit(0) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
