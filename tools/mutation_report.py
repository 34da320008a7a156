"""The mutation score per module, from mutmut's results (`make mutation` runs this after `mutmut run`).

Score = killed / (killed + survived), where a mutant whose tests time out counts as killed (the change made the code
loop) and the mutants listed in tests/mutation_equivalent.txt — changes that cannot alter behaviour, each with the
reason — are left out.  Prints one row per module and every surviving mutant by name (`mutmut show NAME` shows it).
"""
from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EQUIVALENT = REPO / "tests" / "mutation_equivalent.txt"


def equivalent() -> dict[str, str]:
    """``{mutant name: why it cannot change behaviour}`` from the equivalents file (``name  # reason`` lines)."""
    out = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text().splitlines():
            name, _, why = line.partition("#")
            if name.strip():
                out[name.strip()] = why.strip()
    return out


def main() -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    lines = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    eq = equivalent()
    counts: dict[str, Counter] = defaultdict(Counter)
    survivors = []
    for line in lines:
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = name.rsplit(".", 1)[0]
        if name in eq:
            counts[module]["equivalent"] += 1
            continue
        status = "killed" if status in ("killed", "timeout") else status
        counts[module][status] += 1
        if status != "killed":
            survivors.append((name, status))
    print(f"{'module':28s} {'mutants':>8s} {'killed':>7s} {'survived':>9s} {'equivalent':>11s} {'other':>6s} "
          f"{'score':>7s}")
    total = Counter()
    for module in sorted(counts):
        c = counts[module]
        total.update(c)
        other = sum(v for k, v in c.items() if k not in ("killed", "survived", "equivalent"))
        scored = c["killed"] + c["survived"] + other
        print(f"{module:28s} {sum(c.values()):8d} {c['killed']:7d} {c['survived']:9d} {c['equivalent']:11d} "
              f"{other:6d} {100 * c['killed'] / max(scored, 1):6.1f}%")
    other = sum(v for k, v in total.items() if k not in ("killed", "survived", "equivalent"))
    print(f"{'all':28s} {sum(total.values()):8d} {total['killed']:7d} {total['survived']:9d} "
          f"{total['equivalent']:11d} {other:6d} "
          f"{100 * total['killed'] / max(total['killed'] + total['survived'] + other, 1):6.1f}%")
    if survivors:
        print("\nnot killed (mutmut show NAME):")
        for name, status in survivors:
            print(f"  {name}: {status}")


if __name__ == "__main__":
    main()
