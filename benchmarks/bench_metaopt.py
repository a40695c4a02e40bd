"""The meta-optimiser's cost: a fit on the whole bundled prior, and one proposal.

    python benchmarks/bench_metaopt.py                      # both parts, every built-in space
    python benchmarks/bench_metaopt.py --part propose --spaces svc hgb_classifier

``--part fit``: for every built-in space, the update rule is fitted on every prior study
usable in it (what ``tune(strategy="meta-optimizer")`` fits before its first learned
step, the encoder included), and the wall and CPU seconds are printed side by side
(the machine is shared: CPU time is what the fit itself cost, wall time what a user
waited). The fit runs torch on one thread; the goal is under 5 minutes on 2 cores.

``--part propose``: the seconds ``MetaOptimizerSampler.suggest`` takes for one
configuration once the rule is fitted, over histories of 3 to 25 trials (random
configurations of the space with made-up values), median and 90th percentile;
the goal is a median under 50 ms.

Results: ``benchmarks/results/metaopt_timing.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from jupyter_metahpo.builtin_spaces import BUILTIN_SPACES  # noqa: E402
from jupyter_metahpo.meta.base import TaskDescription, prepare  # noqa: E402
from jupyter_metahpo.meta.metaopt import MetaOptimizer  # noqa: E402
from jupyter_metahpo.prior import load_prior  # noqa: E402
from jupyter_metahpo.samplers.base import History  # noqa: E402
from jupyter_metahpo.samplers.metaopt import MetaOptimizerSampler  # noqa: E402
from jupyter_metahpo.trial import Direction, FrozenTrial, Origin, TrialState  # noqa: E402


def described(studies):
    """A new task described as the first past study with meta-features is (timing only)."""
    first = next((t.study for t in studies if t.study.meta_features), None)
    if first is None:
        return TaskDescription()
    return TaskDescription(None, first.meta_features, first.meta_feature_set)


def fit_rows(spaces, prior):
    rows = []
    for name in spaces:
        space = BUILTIN_SPACES[name].space
        studies = prepare(space, prior)
        if len(studies) < 2:
            continue
        wall, cpu = time.perf_counter(), time.process_time()
        model = MetaOptimizer(seed=0).fit_from(described(studies), space, studies)
        rows.append((name, len(space), model.n_tasks, model.n_states,
                     time.perf_counter() - wall, time.process_time() - cpu))
        print(f"fit {name}: {rows[-1][2]} tasks, {rows[-1][4]:.1f} s wall, {rows[-1][5]:.1f} s CPU", flush=True)
    return rows


def propose_rows(spaces, prior, repeats):
    rows = []
    for name in spaces:
        space = BUILTIN_SPACES[name].space
        studies = prepare(space, prior)
        if len(studies) < 2:
            continue
        sampler = MetaOptimizerSampler(MetaOptimizer(seed=0), studies, described(studies), seed=0)
        sampler.fitted(space)  # the fit is the other part's figure
        rng = np.random.default_rng(0)
        seconds = []
        for r in range(repeats):
            n = 3 + r % 23
            trials = tuple(
                FrozenTrial(number=i, config=c, state=TrialState.COMPLETE, origin=Origin("random"), value=float(v))
                for i, (c, v) in enumerate(zip(space.sample(rng, n), rng.random(n)))
            )
            history = History(space, Direction.MAXIMIZE, trials)
            began = time.perf_counter()
            sampler.suggest(history, 1)
            seconds.append(time.perf_counter() - began)
        rows.append((name, len(space), float(np.median(seconds)) * 1e3, float(np.percentile(seconds, 90)) * 1e3))
        print(f"propose {name}: median {rows[-1][2]:.1f} ms", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["fit", "propose", "both"], default="both")
    parser.add_argument("--spaces", nargs="+", default=sorted(BUILTIN_SPACES))
    parser.add_argument("--repeats", type=int, default=69, help="proposals timed per space")
    parser.add_argument("--out", default="metaopt_timing")
    args = parser.parse_args(argv)
    prior = load_prior()
    lines = ["# The meta-optimiser's cost", "", f"Command: `{command_line(__file__, argv)}`  ",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
             "2 cores shared with other jobs (torch on one thread).", ""]
    if args.part in ("fit", "both"):
        rows = fit_rows(args.spaces, prior)
        lines += ["## A fit on the whole bundled prior, per space", "",
                  "| space | parameters | past tasks | training states | wall s | CPU s |", "|---|---|---|---|---|---|"]
        lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | {r[5]:.1f} |" for r in rows]
        lines += [f"| **all {len(rows)} spaces** | | {sum(r[2] for r in rows)} | {sum(r[3] for r in rows)} | "
                  f"**{sum(r[4] for r in rows):.1f}** | **{sum(r[5] for r in rows):.1f}** |", ""]
    if args.part in ("propose", "both"):
        rows = propose_rows(args.spaces, prior, args.repeats)
        lines += [f"## One proposal after the fit ({args.repeats} per space, histories of 3-25 trials)", "",
                  "| space | parameters | median ms | 90th percentile ms |", "|---|---|---|---|"]
        lines += [f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1f} |" for r in rows]
        lines += [f"| **median over spaces** | | **{np.median([r[2] for r in rows]):.1f}** | |", ""]
    text = "\n".join(lines)
    print(text)
    (ROOT / "results" / f"{args.out}.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
