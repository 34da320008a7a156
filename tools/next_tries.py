"""The next value to try of an implicit method's sparsity knob, per band its runs missed (sparselib.calibrate).

    python tools/next_tries.py results/fmnist cs penalty        # knob: a method hyper-parameter
    python tools/next_tries.py results/fmnist str weight_decay  # knob: a setting field

Runs are grouped by everything but the knob and the seed (e.g. CS per weight decay and beta_final); for each group
it prints its tries (knob, mean sparsity over seeds, seeds) and, for each goal no try's mean lies within ±0.25 pp
of, the knob value that log-log interpolation aims at it."""
import json
import sys

from sparselib.calibrate import next_knob
from sparselib.results import collect_runs
from sparselib.selection import BAND

folder, method, knob = sys.argv[1:4]
goals = [float(g) for g in sys.argv[4:]] or [0.9, 0.95, 0.98]
runs = collect_runs(folder)
runs = runs.loc[runs["method"] == method].copy()
args = [json.loads(a) for a in runs["method_args"]]
if knob in runs.columns and knob not in args[0]:
    runs["_knob"] = runs[knob]
    runs["_group"] = [json.dumps(a, sort_keys=True) for a in args]
else:
    runs["_knob"] = [a[knob] for a in args]
    runs["_group"] = [json.dumps({**{k: v for k, v in a.items() if k != knob}, "weight_decay": w}, sort_keys=True)
                      for a, w in zip(args, runs["weight_decay"])]
for group, g in runs.groupby("_group"):
    tries = g.groupby("_knob").agg(sparsity=("sparsity_prunable", "mean"), seeds=("seed", "nunique"))
    print(f"{method} {group}:")
    for k, r in tries.iterrows():
        print(f"  {knob}={k:g}: {r.sparsity * 100:.2f} % over {int(r.seeds)} seeds")
    for goal in goals:
        if ((tries["sparsity"] - goal).abs() <= BAND + 1e-12).any():
            continue
        try:
            print(f"  -> {goal * 100:g} %: try {knob}={next_knob(list(tries['sparsity'].items()), goal):g}")
        except ValueError as e:
            print(f"  -> {goal * 100:g} %: {e}")
