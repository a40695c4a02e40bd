"""Why FLAML CFO looked weak in the leave-one-out benchmark, measured.

    python benchmarks/bench_cfo_check.py                     # the prior's finished svm pools, 12 seeds
    python benchmarks/bench_cfo_check.py --families svm random_forest --seeds 0 1 2

Runs CFO on every finished pool of the bundled prior four ways: started at a
random point (what the harness did) or at the task's default configuration (what
FLAML's AutoML does: each learner starts at its ``init_value`` defaults), and with a
proposal whose nearest pool point is already used sent to the nearest unused point
(the harness's rule for every method) or looked up for free and asked again (up to
10 free look-ups per trial). Also prints each seed's random starting point, which
is the same on every task. Writes ``benchmarks/results/cfo_check.md``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._loo.methods import _from_flaml, default_start_points, flaml_space  # noqa: E402
from benchmarks._loo.pool import PoolSnapper, extend_curve, normalised_regret_curve  # noqa: E402
from benchmarks._loo.prior_tasks import read_prior_studies, tasks_from_studies  # noqa: E402


def cfo_run(task, seed: int, from_default: bool, free_lookup: bool, budget: int) -> tuple[np.ndarray, int, int]:
    """A CFO run on a pool: its regret curve, how many asks it made, and how many snapped onto a used point."""
    from flaml.tune.searcher.blendsearch import CFO

    points = default_start_points(task) if from_default else None
    searcher = CFO(metric="score", mode="max", space=flaml_space(task.space), seed=seed, points_to_evaluate=points or None)
    snapper = PoolSnapper(task.space, task.configs)
    scores = task.scores
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    asks = used = lookups = 0
    while len(chosen) < min(budget, task.size):
        asks += 1
        trial_id = f"t{asks}"
        config = searcher.suggest(trial_id)
        if config is None:
            chosen.append(snapper.random_unused(rng))
            continue
        ours = _from_flaml(task.space, config)
        distance = np.sqrt(((snapper.unit - task.space.encode([ours])[0]) ** 2).sum(axis=1))
        nearest = int(np.argmin(distance))
        if snapper.used[nearest]:
            used += 1
            if free_lookup and lookups < 10 * budget:
                lookups += 1
                searcher.on_trial_complete(trial_id, {"score": float(scores[nearest]), "config": config})
                continue
        index = snapper.snap(ours)
        chosen.append(index)
        searcher.on_trial_complete(trial_id, {"score": float(scores[index]), "config": config})
    return extend_curve(normalised_regret_curve(scores, chosen), budget), asks, used


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["svm"])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(12)))
    parser.add_argument("--budget", type=int, default=25)
    args = parser.parse_args(argv)
    logging.getLogger("flaml").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    began = time.perf_counter()
    studies, _ = read_prior_studies(args.families)
    tasks = tasks_from_studies(studies)
    if not tasks:
        print("No finished pools of these families yet.")
        return 1
    at = [1, 5, 10, 25]
    at = [c for c in at if c <= args.budget]

    def row(name, curves, extra=""):
        m = np.mean(curves, axis=0)
        return f"| {name} | " + " | ".join(f"{m[c - 1]:.3f}" for c in at) + f" | {extra} |"

    head = "| method | " + " | ".join(f"regret@{c}" for c in at) + " | proposals whose nearest pool point was used |"
    lines = [head, "|" + "---|" * (len(at) + 2)]
    for from_default in (False, True):
        for free in (False, True):
            curves, asks, used = [], 0, 0
            for task in tasks:
                for seed in args.seeds:
                    curve, a, u = cfo_run(task, seed, from_default, free, args.budget)
                    curves.append(curve)
                    asks, used = asks + a, used + u
            name = f"CFO from {'the default' if from_default else 'a random point'}, used point {'looked up free' if free else '-> nearest unused'}"
            lines.append(row(name, curves, f"{used} of {asks} asks"))
    randoms = [normalised_regret_curve(t.scores, np.random.default_rng(s).permutation(t.size)[: args.budget]) for t in tasks for s in args.seeds]
    lines.append(row("random search", randoms, "-"))

    from flaml.tune.searcher.blendsearch import CFO

    seed_lines = ["| seed | CFO's random start (same on every task) | regret@1 | regret@10 | regret@25 |", "|---|---|---|---|---|"]
    for seed in args.seeds:
        curves = [cfo_run(t, seed, False, False, args.budget)[0] for t in tasks]
        m = np.mean(curves, axis=0)
        start = CFO(metric="score", mode="max", space=flaml_space(tasks[0].space), seed=seed).suggest("first")
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in start.items())
        seed_lines.append(f"| {seed} | {shown} (on {tasks[0].info['space_name']}) | "
                          f"{m[0]:.3f} | {m[min(9, len(m) - 1)]:.3f} | {m[-1]:.3f} |")
    text = "\n".join([
        "# FLAML CFO on the prior's pools: where it starts, and what snapping does to it", "",
        f"Command: `{command_line(__file__, argv)}`  ",
        f"{len(tasks)} finished pools ({', '.join(args.families)}), seeds {args.seeds}, budget {args.budget}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {time.perf_counter() - began:.0f} s.  ",
        "Mean normalised regret over pools and seeds.", "", *lines, "",
        "Per seed, CFO from a random point (the first pool's space shown):", "", *seed_lines, "",
    ])
    print(text)
    out = ROOT / "results" / "cfo_check.md"
    out.write_text(text)
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
