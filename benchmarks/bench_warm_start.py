"""The warm start alone: each strategy's first proposals on every held-out pool of the prior.

    python benchmarks/bench_warm_start.py                          # every finished pool
    python benchmarks/bench_warm_start.py --families svm hgb --k 5
    python benchmarks/bench_warm_start.py --powers 0 2 4 8 16 auto # the similarity weighting swept

The leave-one-task-out split of ``bench_prior_loo.py`` (the held-out dataset, and
any copy of it, is hidden from every strategy), but no refinement: each strategy is
asked once for its first ``k`` proposals, each is snapped to the held-out pool, and
the exact normalised regret of the best so far is reported after each of them.
This is the part of a study the meta-learning decides on its own, it is
deterministic (no seeds), and it takes minutes instead of hours, so it is how the
default strategy and its similarity weighting were chosen (ARCHITECTURE.md).
Strategies: ``nearest``, ``portfolio`` (unweighted), ``neural``, ``default``, and
the portfolio weighted by similarity to each power in ``--powers``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._loo.methods import task_description  # noqa: E402
from benchmarks._loo.pool import PoolSnapper, extend_curve, normalised_regret_curve  # noqa: E402
from benchmarks._loo.runner import leave_one_out_jobs  # noqa: E402
from benchmarks.bench_prior_loo import META_FEATURE_CACHE, load_tasks, pick_tasks  # noqa: E402


def strategies(powers):
    from jupyter_metahpo.meta.strategies import GreedyPortfolio, make_strategy

    out = {name: (lambda name=name: make_strategy(name, seed=0)) for name in ("nearest", "portfolio", "neural", "default")}
    for power in powers:
        label = power if power == "auto" else f"{power:g}"
        out[f"portfolio, similarity^{label}"] = lambda power=power: GreedyPortfolio(similarity_power=power)
    return out


def power_argument(text: str) -> float | str:
    """A similarity power: a number, or 'auto' (chosen by leave-one-out over the past tasks)."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a power is a number >= 0 or 'auto', not {text!r}") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", help="prior families (default: all with enough finished pools)")
    parser.add_argument("--k", type=int, default=5, help="proposals per strategy (default 5)")
    parser.add_argument("--powers", nargs="*", type=power_argument, default=[0, 4],
                        help="similarity powers of extra portfolio rows (numbers, or 'auto'; default: 0 4)")
    parser.add_argument("--min-datasets", type=int, default=10)
    parser.add_argument("--min-share", type=float, default=1.0)
    parser.add_argument("--tasks-per-family", type=int, help="held-out pools per family (default: all)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "results" / "warm_start.md", help="the file to write (default: benchmarks/results/warm_start.md)"
    )
    parser.add_argument("--meta-cache", type=Path, default=META_FEATURE_CACHE,
                        help="meta-features of the prior's datasets, computed once and reused (default: %(default)s)")
    args = parser.parse_args(argv)
    load_args = argparse.Namespace(source="prior", families=args.families, min_share=args.min_share,
                                   min_datasets=args.min_datasets, meta_cache=args.meta_cache)
    studies, tasks, _ = load_tasks(load_args)
    if not tasks:
        print("No finished pools yet: run `python -m jupyter_metahpo.prior build` (see `... status`).")
        return 1
    tasks = pick_tasks(tasks, args.tasks_per_family)
    makers = strategies(args.powers)
    curves: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    began = time.perf_counter()
    for task, past in leave_one_out_jobs(tasks, studies):
        for name, make in makers.items():
            proposals = make().propose(task_description(task), task.space, past, args.k)
            snapper = PoolSnapper(task.space, task.configs)
            chosen = [snapper.snap(p.config) for p in proposals]
            curve = extend_curve(normalised_regret_curve(task.scores, chosen), args.k) if chosen else np.ones(args.k)
            curves[(task.family, name)].append(curve)
            curves[("all", name)].append(curve)
    elapsed = time.perf_counter() - began
    families = sorted({t.family for t in tasks})
    lines = [
        "# The warm start alone: first proposals on held-out prior pools",
        "",
        f"Command: `{command_line(__file__, argv)}`  ",
        f"{len(tasks)} held-out pools ({', '.join(families)}); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{elapsed:.0f} s.  ",
        "Mean exact normalised regret of the best of the first n proposals; bold marks the lowest.",
    ]
    for family in ["all", *families]:
        rows = {name: np.mean(curves[(family, name)], axis=0) for name in makers if curves[(family, name)]}
        n_tasks = len(next(iter(curves[(family, name)] for name in makers)))
        best = np.min(np.array(list(rows.values())), axis=0)
        lines += ["", f"## {'All held-out pools' if family == 'all' else family} ({n_tasks})", ""]
        lines.append("| strategy | " + " | ".join(f"n={n}" for n in range(1, args.k + 1)) + " |")
        lines.append("|---|" + "---|" * args.k)
        for name, mean in rows.items():
            cells = [f"**{v:.3f}**" if v <= b + 1e-12 else f"{v:.3f}" for v, b in zip(mean, best)]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
