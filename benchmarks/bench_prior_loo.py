"""Leave-one-task-out benchmark on the bundled prior's pools, against every peer.

    python benchmarks/bench_prior_loo.py --quick                 # a few minutes
    python benchmarks/bench_prior_loo.py --jobs 2                # the full run: every finished pool, seed 0
    python benchmarks/bench_prior_loo.py --families svm random_forest --seeds 0 1 2
    python benchmarks/bench_prior_loo.py --source synthetic      # harness check without the prior

The full run takes hours on 2 cores, so every finished run is kept in
``benchmarks/results/cache/prior_loo_runs.jsonl`` and the same command resumes where
a stopped one ended (see ``benchmarks/_loo/cache.py`` for when a stored run is reused).

For every held-out (space, dataset) pool, the meta-models see only the prior's other
datasets (never the held-out data under another name or fingerprint), and every
method chooses from the held-out pool, so regret is exact. Methods, budgets and
seeds are the same for all. Tables (markdown) are printed and saved under
``benchmarks/results/``; the regret-vs-trials plot goes to ``docs/images/``.

The full run holds out every pool (458 over six families) with one seed; the goals
table gives the trial-10 goal's paired standard error. Each further seed costs as
much again, for a smaller error of the means: on the 166 HGB pools run with seeds 0-2,
three seeds instead of one shrink it by 2-30% (random search at trial 10: 0.0047 ->
0.0039; cold GP 0.0068 -> 0.0048), since the tasks differ about as much as the
seeds do. ``--seeds 0 1 2`` adds seeds; the cache keeps the runs of each.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._loo import report  # noqa: E402
from benchmarks._loo.methods import (  # noqa: E402
    ColdGP,
    FlamlCFO,
    OptunaMethod,
    OursWarm,
    ProposalList,
    RandomSearch,
    flaml_start_points,
    greedy_portfolio_list,
)
from benchmarks._loo.cache import RENAMED_METHODS, RunCache  # noqa: E402
from benchmarks._loo.metaopt import metaopt_methods  # noqa: E402
from benchmarks._loo.runner import run_benchmark  # noqa: E402

STRATEGIES = ("default", "nearest", "portfolio", "neural")
#: Meta-features of the prior's datasets, computed on first use and reused (not in git).
META_FEATURE_CACHE = ROOT / "results" / "cache" / "prior_meta_features.json"
#: Behaviour versions of code that changed after runs were stored (see _loo/cache.py). 2: the
#: transfer refinement follows the warm start directly, the portfolio scores configurations a
#: past task evaluated exactly, and the default strategy is the similarity-weighted portfolio.
#: 3 (default only): the similarity power is chosen per task by leave-one-out over the past tasks.
#: 4 / 3: the transfer refinement's ensemble holds the 16 most similar past tasks, not 8.
#: 5 / 4: the current study is modelled on the residuals of the past models' mean (stacking).
STRATEGY_VERSIONS = {"default": 5, "nearest": 4, "portfolio": 4, "neural": 4}
PORTFOLIO_LIST_VERSION = 2
#: Behaviour versions of the meta-optimiser's methods (benchmarks/_loo/metaopt.py).
METAOPT_VERSIONS: dict[str, int] = {}


def ours_sampler(strategy, task, past, seed, k=None):
    """The sampler ``tune`` builds for a task described by meta-features: warm start + transfer refinement.

    ``k``: warm-start trials (default: ``tune``'s, about half the initial design).
    """
    from benchmarks._loo.methods import task_description
    from jupyter_metahpo.pipeline import Experience, TaskPlan, build_sampler

    plan = TaskPlan(task_description(task), None, None, strategy, {})
    return build_sampler(plan, task.space, Experience.of(task.space, past, user_context(task)), seed, k=k)


def user_context(task):
    """What ``tune`` knows of the held-out task when a user tunes it from a notebook cell.

    Its data's meta-features, and the estimator family the cell builds (the objective's
    source names it): as a user who writes the built-in space's estimator in a cell has.
    The past studies then qualify as ``tune`` would let them (meta.relatedness), not as
    studies handed over with ``past=``.
    """
    from benchmarks._loo.methods import task_description
    from jupyter_metahpo.meta.relatedness import StudyContext
    from jupyter_metahpo.meta.source import ObjectiveSource

    builds = ObjectiveSource(fingerprint="", shingles=frozenset(), families=(task.family,))
    return StudyContext(task=task_description(task), source=builds, task_type=task.study.extra.get("task_type"))


def ours_sampler_sobol_first(strategy, task, past, seed):
    """Ablation: the Sobol design's remaining points between the warm start and the transfer refinement."""
    from jupyter_metahpo.samplers.default import default_n_initial

    sampler = ours_sampler(strategy, task, past, seed)
    sampler.n_initial = default_n_initial(len(task.space))
    return sampler


def ours_sampler_refiner(strategy, task, past, seed, **settings):
    """Ablation: the default with other settings of its transfer refinement (``TransferSampler``)."""
    from jupyter_metahpo.samplers.transfer import TransferSampler

    sampler = ours_sampler(strategy, task, past, seed)
    if isinstance(sampler.refiner, TransferSampler):
        for name, value in settings.items():
            setattr(sampler.refiner, name, value)
    return sampler


#: Variants run only when named in ``--methods`` (they answer a design question, not the benchmark's).
ABLATIONS = {
    "ours: default, Sobol design first": (ours_sampler_sobol_first, "default"),
    "ours: default, past bests among candidates": (
        functools.partial(ours_sampler_refiner, past_best_points=3), "default"),
    "ours: default, 8 past GPs": (functools.partial(ours_sampler_refiner, max_past=8), "default"),  # the former default
    "ours: default, 32 past GPs": (functools.partial(ours_sampler_refiner, max_past=32), "default"),
    "ours: default, warm start of 10": (functools.partial(ours_sampler, k=10), "default"),
    "ours: default, past models kept until 10 results": (
        functools.partial(ours_sampler_refiner, drop_worse_from=10), "default"),
    "ours: default, past models never dropped": (
        functools.partial(ours_sampler_refiner, drop_worse_from=10**6), "default"),
    "ours: default, without residual stacking": (functools.partial(ours_sampler_refiner, stacking=False), "default"),
    "ours: default, past configurations among candidates": (
        functools.partial(ours_sampler_refiner, past_best_points=10**6), "default"),
}


def make_methods(strategies=STRATEGIES, include=None):
    methods = [
        RandomSearch(),
        OptunaMethod("tpe"),
        OptunaMethod("gp"),
        FlamlCFO(),  # from the task's default configuration, as FLAML's AutoML starts it
        FlamlCFO("FLAML CFO (random start)", start_points=None),
        FlamlCFO("FLAML zero-shot + CFO", start_points=flaml_start_points, only_with_start=True),
        ProposalList("greedy portfolio (list)", greedy_portfolio_list, version=PORTFOLIO_LIST_VERSION),
        ColdGP(),
    ]
    methods += [OursWarm(f"ours: {s}", ours_sampler, s, version=STRATEGY_VERSIONS.get(s, 1)) for s in strategies]
    # The learned update rule, trained on grouped folds of the other datasets (_loo/metaopt.py says why).
    methods += metaopt_methods(set(include) if include else None, user_context, METAOPT_VERSIONS)
    if include:
        # A former name still selects its method, so the commands in older results files still run.
        current = {old: new for new, old in RENAMED_METHODS.items()}
        include = {current.get(name, name) for name in include}
        methods = [m for m in methods if m.name in include]
        methods += [OursWarm(name, make, strategy, version=STRATEGY_VERSIONS.get(strategy, 1))
                    for name, (make, strategy) in ABLATIONS.items() if name in include]
    return methods


def load_tasks(args):
    from benchmarks._loo.prior_tasks import read_prior_studies, tasks_from_studies, with_meta_features

    if args.source == "synthetic":
        from benchmarks._loo.synthetic_tasks import synthetic_pool_studies

        studies = []
        for kind in args.families or ["related", "shared", "unrelated"]:
            studies += synthetic_pool_studies(kind, n_tasks=12, pool_size=64, seed=0)
        return studies, tasks_from_studies(studies), {}
    studies, coverage = read_prior_studies(args.families, min_share=args.min_share)
    by_family: dict[str, set[str]] = {}
    for s in studies:
        by_family.setdefault(s.extra["family"], set()).add(s.task_name)
    keep = {f for f, names in by_family.items() if len(names) >= args.min_datasets}
    studies = [s for s in studies if s.extra["family"] in keep]
    studies = with_meta_features(studies, args.meta_cache)
    return studies, tasks_from_studies(studies), coverage


def pick_tasks(tasks, per_family: int | None):
    """Up to ``per_family`` held-out tasks per family, spread evenly over the sorted list."""
    if per_family is None:
        return list(tasks)
    out = []
    for family in sorted({t.family for t in tasks}):
        mine = sorted((t for t in tasks if t.family == family), key=lambda t: t.key)
        step = max(len(mine) / per_family, 1.0)
        out += [mine[int(i * step)] for i in range(min(per_family, len(mine)))]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 held-out tasks per family, 1 seed")
    parser.add_argument("--families", nargs="+", help="prior families (default: all with enough datasets)")
    parser.add_argument("--source", choices=["prior", "synthetic"], default="prior")
    parser.add_argument("--seeds", nargs="+", type=int, help="default 0 (see above)")
    parser.add_argument("--budget", type=int, default=25)
    parser.add_argument("--tasks-per-family", type=int, help="held-out tasks per family (default: all; quick: 3)")
    parser.add_argument("--min-datasets", type=int, default=10, help="a family needs this many finished pools")
    parser.add_argument("--min-share", type=float, default=1.0, help="share of a pool evaluated to count as finished")
    parser.add_argument("--methods", nargs="+", help="only these methods (by name)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (one held-out task each)")
    parser.add_argument("--out", default=None, help="name of the results files (default: prior_loo[_quick])")
    parser.add_argument("--cache", type=Path, default=ROOT / "results" / "cache" / "prior_loo_runs.jsonl",
                        help="finished runs, reused by a rerun (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="run everything again and store nothing")
    parser.add_argument("--meta-cache", type=Path, default=META_FEATURE_CACHE,
                        help="meta-features of the prior's datasets, computed once and reused (default: %(default)s)")
    args = parser.parse_args(argv)
    seeds = args.seeds or [0]
    per_family = args.tasks_per_family or (3 if args.quick else None)

    studies, tasks, coverage = load_tasks(args)
    if not tasks:
        print("No finished pools yet: run `python -m jupyter_metahpo.prior build` (see `... status`).")
        return 1
    held_out = pick_tasks(tasks, per_family)
    families = sorted({t.family for t in held_out})
    print(f"{len(studies)} pools from {len({s.task_name for s in studies})} datasets; holding out {len(held_out)} "
          f"tasks of {families}; seeds {seeds}; budget {args.budget}")
    began = time.perf_counter()
    factory = functools.partial(make_methods, include=args.methods)
    # Quick and synthetic runs are checks of the moment: they neither read nor grow the store of runs.
    cache = None if args.no_cache or args.quick or args.source == "synthetic" else RunCache(args.cache)
    if cache is not None:
        print(f"{len(cache)} finished runs in {args.cache}")
    results = run_benchmark(held_out, studies, factory, seeds, args.budget, jobs=args.jobs, cache=cache)
    elapsed = time.perf_counter() - began

    name = args.out or ("prior_loo_quick" if args.quick else "prior_loo")
    if args.source == "synthetic":
        name = f"synthetic_{name}"
    lines = [f"# Leave-one-task-out on {'the bundled prior' if args.source == 'prior' else 'synthetic pools (harness check)'}", ""]
    lines.append(f"Command: `{command_line(__file__, argv)}`  ")
    lines.append(f"Held out: {len(held_out)} tasks ({', '.join(families)}); seeds {seeds}; budget {args.budget}; "
                 f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {elapsed:.0f} s on {platform.machine()}.  ")
    if cache is not None:
        where = args.cache.relative_to(ROOT.parent) if args.cache.is_relative_to(ROOT.parent) else args.cache
        lines.append(f"Runs measured at commit(s) {', '.join(cache.revisions())}, stored in `{where}`.  ")
    lines.append("Regret is (best - incumbent)/(best - worst) of the held-out pool; rank 1 is best; bold marks the lowest regret.")
    lines.append("")
    lines.append("## All held-out tasks")
    lines.append("")
    lines.append(report.regret_table(results))
    goals = report.goals_table(results)
    if goals:
        lines += ["", "## Goals for our default (issue 5), as measured in this run", "", goals]
    for family in families:
        mine = [r for r in results if r.family == family]
        lines += ["", f"## {family} ({len({r.task for r in mine})} tasks)", "", report.regret_table(mine)]
    errors = report.errors_table(results)
    if errors:
        lines += ["", "## Errors (a failed run counts as regret 1)", "", errors]
    if coverage:
        lines += ["", "## Prior coverage when run (finished / started pools per space)", ""]
        lines += [f"- {space}: {c['finished']} / {c['started']}" for space, c in coverage.items()]
    lines += ["", "## Held-out tasks", "", ", ".join(t.key for t in held_out)]
    text = "\n".join(lines) + "\n"
    print(text)
    out_dir = ROOT / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.md").write_text(text)
    (out_dir / f"{name}.json").write_text(json.dumps([r.__dict__ for r in results]))
    plot = report.plot_regret(results, ROOT.parent / "docs" / "images" / f"{name}.png",
                              f"{len(held_out)} held-out tasks ({', '.join(families)}), {len(seeds)} seed(s)")
    print(f"saved {out_dir / (name + '.md')} and {plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
