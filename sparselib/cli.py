"""Command line: ``python -m sparselib {info,run,sweep,methods,presets}``."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from .config import BASELINE, PRECISIONS, ConfigError, Runtime


def _value(text: str) -> Any:
    """Parse KEY=VALUE values as JSON where possible (numbers, booleans, lists), else keep the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str], flag: str) -> dict[str, Any]:
    out = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"error: {flag} expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = _value(v)
    return out


def _runtime(a: argparse.Namespace) -> Runtime:
    return Runtime(results=a.results or "results", device=a.device, data_root=a.data, download=a.download,
                   progress=not a.no_progress, num_threads=a.threads, precision=a.precision,
                   channels_last=a.channels_last, compile=a.compile)


def cmd_info(a: argparse.Namespace) -> None:
    from .data import dataset_info
    from .flops import model_info

    d = dataset_info(a.dataset)
    info = model_info(a.model, d.in_channels, d.num_classes, d.image_size, width=a.width)
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
        cfg = preset.config(a.method, a.sparsity, a.seed, _pairs(a.arg, "--arg"), **_pairs(a.set, "--set"))
    except (ConfigError, ValueError, TypeError) as e:
        raise SystemExit(f"error: {e}") from None
    from .runner import RunError
    from .train import TrainingDiverged

    try:
        run(cfg, _runtime(a))
    except (RunError, FileNotFoundError, TrainingDiverged) as e:
        raise SystemExit(f"error: {e}") from None


def cmd_sweep(a: argparse.Namespace) -> None:
    from .presets import get_preset
    from .sweep import SweepError, default_workers, estimate_seconds, format_seconds, plan, sweep

    try:
        preset = get_preset(a.preset)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    runtime = _runtime(a)
    configs = preset.configs()
    if a.methods:
        wanted = {m.strip() for m in a.methods.split(",") if m.strip()}
        unknown = wanted - {c.method for c in configs}
        if unknown:
            raise SystemExit(f"error: --methods: {', '.join(sorted(unknown))} not in preset {preset.name}; its "
                             f"methods: {', '.join(dict.fromkeys(c.method for c in configs))}")
        configs = [c for c in configs if c.method in wanted | {BASELINE}]  # dense: the baseline of relative time
    p = plan(configs, runtime)
    extra = sum(r.extra for r in p.runs)
    counts = {s: p.count(s) for s in ("finished", "failed", "partial", "missing")}
    print(f"preset {preset.name}: {len(p.runs) - extra} runs" + (f" (+{extra} dense runs they start from)" if extra
          else "") + ": " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {len(p.todo)} to run")
    workers = 1 if a.workers == 0 else (a.workers or (None if a.scheduler else default_workers()))
    if p.todo:
        left, source = estimate_seconds(p, runtime, workers or 1, preset.epoch_seconds)
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
                       resources={k: float(v) for k, v in _pairs(a.resources, "--resources").items()} or None,
                       progress=not a.no_progress, connect_timeout=a.connect_timeout, name=f"sweep {preset.name}")
    except SweepError as e:
        raise SystemExit(f"error: {e}") from None
    if report.outcomes:
        print(report.summary())
    if not report.ok:
        raise SystemExit(1)


def cmd_methods(a: argparse.Namespace) -> None:
    import pandas as pd

    from .methods import ordered_methods

    table = pd.DataFrame([cls.overview() for cls in ordered_methods()]).set_index("method")
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(table.to_string())


def cmd_presets(a: argparse.Namespace) -> None:
    from .presets import PRESETS

    for p in PRESETS.values():
        print(f"{p.name:11s} {len(p.configs()):5d} runs  {p.description}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sparselib", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("info", help="parameters, prunable weights and multiply-adds of a model")
    s.add_argument("model", help="resnet<6n+2> (resnet20, resnet56, ...) or wrn<6n+4>_<k> (wrn28_10, ...)")
    s.add_argument("--dataset", default="cifar10", help="sets input shape and classes (default cifar10)")
    s.add_argument("--width", type=int, default=None, help="base width of a CIFAR ResNet (default 16)")
    s.set_defaults(func=cmd_info)

    def runtime_args(s: argparse.ArgumentParser) -> None:
        s.add_argument("--results", default=None, help="results root (default: results); runs go to ROOT/SETTING/ID")
        s.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
        s.add_argument("--data", default=None, help="dataset folder (default: the dataset's standard place)")
        s.add_argument("--download", action="store_true", help="allow downloading CIFAR (needs torchvision+network)")
        s.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        s.add_argument("--no-progress", action="store_true", help="no progress bar")
        s.add_argument("--precision", choices=PRECISIONS, default="fp32",
                       help="bf16: autocast the forward passes (GPU speed option; weights stay fp32)")
        s.add_argument("--channels-last", action="store_true", help="NHWC memory layout (GPU speed option)")
        s.add_argument("--compile", nargs="?", const="inductor", default=None, metavar="BACKEND",
                       help="torch.compile the training forward pass (default backend: inductor)")

    s = sub.add_parser("run", help="run one experiment (skipped if finished, resumed if interrupted)")
    s.add_argument("--preset", default="mini")
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
    s.add_argument("preset")
    s.add_argument("--dry-run", action="store_true", help="list the runs that would start and estimate the time left")
    s.add_argument("--workers", type=int, default=None,
                   help="workers of the local Dask cluster (default: one per GPU, else one per CPU core); 0: run in "
                        "this process, one after another")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use a running Dask cluster, e.g. tcp://10.0.0.5:8786 (see the book's Reproduce page)")
    s.add_argument("--resources", action="append", default=[], metavar="NAME=AMOUNT",
                   help="Dask worker resources each run needs, e.g. GPU=1 (workers started with --resources GPU=1)")
    s.add_argument("--via-notebook", action="store_true",
                   help="execute each run through notebooks/train.ipynb (papermill); keeps run.ipynb in its folder")
    s.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for --scheduler")
    s.add_argument("--methods", default=None, metavar="M1,M2",
                   help="only these methods of the study (and the dense runs), e.g. --methods imp,gmp")
    runtime_args(s)
    s.set_defaults(func=cmd_sweep)

    sub.add_parser("methods", help="overview of the registered methods (Table 3)").set_defaults(func=cmd_methods)
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
