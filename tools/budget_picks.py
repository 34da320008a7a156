"""Print what the budget study should re-run, read off the committed full study (results/fmnist), as the literal
that `_FMNIST_PICKS` in sparselib/presets.py freezes; with --recal, the other pruning-stable methods' picks that
`_RECAL_PICKS` freezes (the beyond study's recalibrated runs).

    python tools/budget_picks.py [--recal] [RESULTS_DIR]"""
import sys
from pathlib import Path

from sparselib.budget import own_picks, picks_literal, study_picks
from sparselib.presets import _RECAL_ONLY, BUDGET_FIXED, get_preset
from sparselib.results import REPO, collect_runs

args = sys.argv[1:]
recal = "--recal" in args
args = [a for a in args if a != "--recal"]
preset = get_preset("fmnist")
folder = Path(args[0]) if args else REPO / "results" / preset.name
runs = collect_runs(folder)
print(picks_literal(own_picks(runs, preset, _RECAL_ONLY) if recal else study_picks(runs, preset, BUDGET_FIXED)))
