"""Print what the budget study should re-run, read off the committed full study (results/fmnist), as the literal
that `_FMNIST_PICKS` in sparselib/presets.py freezes.  Usage: python tools/budget_picks.py [RESULTS_DIR]"""
import sys
from pathlib import Path

from sparselib.budget import picks_literal, study_picks
from sparselib.presets import BUDGET_FIXED, get_preset
from sparselib.results import REPO, collect_runs

preset = get_preset("fmnist")
folder = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "results" / preset.name
print(picks_literal(study_picks(collect_runs(folder), preset, BUDGET_FIXED)))
