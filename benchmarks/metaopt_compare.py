"""Paired comparisons of the meta-optimiser against other methods, from saved leave-one-out results.

    python benchmarks/metaopt_compare.py benchmarks/results/metaopt_loo.json
    python benchmarks/metaopt_compare.py RESULTS.json --exclude-tasks-of benchmarks/results/metaopt_choice_48b.json

For each other method: the mean paired difference in regret (meta-optimiser minus it,
negative = the meta-optimiser lower) at trials 5, 10 and 25, with its standard error over
the held-out tasks, overall and per family. ``--exclude-tasks-of`` leaves out the tasks of
another results file (the ones its choices were made on), for an out-of-sample check.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

OURS = "ours: meta-optimizer"
TRIALS = (5, 10, 25)


def paired(rows, other, trials=TRIALS):
    """(n, {trial: (mean difference, standard error)}) of OURS minus ``other`` over shared (task, seed)."""
    mine = {(r["task"], r["seed"]): r["curve"] for r in rows if r["method"] == OURS}
    theirs = {(r["task"], r["seed"]): r["curve"] for r in rows if r["method"] == other}
    keys = sorted(set(mine) & set(theirs))
    out = {}
    for t in trials:
        d = np.array([mine[k][t - 1] - theirs[k][t - 1] for k in keys])
        out[t] = (float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan"))
    return len(keys), out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="results JSON files (merged)")
    parser.add_argument("--exclude-tasks-of", type=Path, help="leave out the tasks of this results file")
    args = parser.parse_args(argv)
    rows = [r for path in args.results for r in json.loads(path.read_text())]
    if args.exclude_tasks_of:
        excluded = {r["task"] for r in json.loads(args.exclude_tasks_of.read_text())}
        rows = [r for r in rows if r["task"] not in excluded]
    others = sorted({r["method"] for r in rows} - {OURS})
    families = sorted({r["family"] for r in rows})
    header = "| versus | family | tasks | " + " | ".join(f"difference @{t} (se)" for t in TRIALS) + " |"
    print(header)
    print("|" + "---|" * (3 + len(TRIALS)))
    for other in others:
        for family in [None, *families]:
            subset = [r for r in rows if family is None or r["family"] == family]
            n, diffs = paired(subset, other)
            if n == 0:
                continue
            cells = " | ".join(f"{m:+.4f} ({se:.4f})" for m, se in (diffs[t] for t in TRIALS))
            print(f"| {other} | {family or '**all**'} | {n} | {cells} |")
    means = defaultdict(list)
    for r in rows:
        means[r["method"]].append(r["curve"])
    print()
    print("| method | tasks | " + " | ".join(f"regret@{t}" for t in (1, *TRIALS)) + " |")
    print("|" + "---|" * (2 + len(TRIALS) + 1))
    for method, curves in sorted(means.items(), key=lambda kv: np.mean([c[9] for c in kv[1]])):
        c = np.array(curves)
        print(f"| {method} | {len(c)} | " + " | ".join(f"{c[:, t - 1].mean():.4f}" for t in (1, *TRIALS)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
