"""The warm start on search spaces written as users write them (issue 18), leave one task out.

    python benchmarks/bench_user_spaces.py --quick              # 2 pools per family, 1 seed: a few minutes
    python benchmarks/bench_user_spaces.py --pools-per-family 10 --jobs 2
    python benchmarks/bench_user_spaces.py --families svm --cases a f
    python benchmarks/bench_user_spaces.py --live                # the SVM cells trained live (about 15 min)
    python benchmarks/bench_user_spaces.py --live-loo --live-family hgb --cases c e --seeds 0 1 2

For four families (random forest, HGB, SVM, the PyTorch MLP; their classifier pools are
held out) each case of ``benchmarks/_loo/user_spaces.py`` writes the family's space as a
user would, with the user's cell as text: (a) renamed, (b) other ranges, (c) a subset,
(d) a superset, (e) a kind that differs, (f) a toy function of its own that shares two
parameter names with the prior. Our warm start gets what ``tune`` gets for that cell
(the held-out data's meta-features and task type, the cell's source, nothing handed
over) and the prior's other datasets as its past; every proposal is mapped back into
the built-in space by the case's transform and scored by the held-out pool
(``benchmarks/_loo/user_runner.py``). Methods: ours (default strategy), ours cold,
random search and Optuna TPE in the user's space; the exact-space warm start, cold
start and random search on the built-in space as the reference.

``--live`` runs the user's cells themselves instead, trained on datasets the prior
never saw (``benchmarks/_loo/user_live.py``; tables in ``results/user_spaces_live.md``).
``--live-loo`` trains them on the prior's own datasets instead, each held out from the
past in turn (the pool part's samplers and leave-one-task-out past, scored by real fits;
``results/user_spaces_live_loo_<family>.md``; fits cached in
``results/cache/user_live_loo_fits.jsonl``): the measure for a subset cell (c), whose
fixed columns decide which pool point a proposal is scored by.

Finished runs are kept in ``benchmarks/results/cache/user_spaces_runs.jsonl`` and the
same command resumes where a stopped one ended; ``--quick`` neither reads nor grows it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._loo import user_report  # noqa: E402
from benchmarks._loo.cache import RunCache  # noqa: E402
from benchmarks._loo.user_runner import run_user_benchmark  # noqa: E402
from benchmarks._loo.user_spaces import CASE_TITLES, CASES, FAMILIES, POOL_FAMILIES, family_cases  # noqa: E402

META_FEATURE_CACHE = ROOT / "results" / "cache" / "prior_meta_features.json"
RUN_CACHE = ROOT / "results" / "cache" / "user_spaces_runs.jsonl"

NOTES = """\
- Regret is (best - incumbent)/(best - worst) of the held-out pool, as in `prior_loo.md`; means are over
  held-out pools (seeds averaged first), ± their standard error over pools.
- Every configuration is scored on the held-out pool: mapped into the built-in space by the case's transform
  (renames; kind conversions, `"sqrt"`/`"log2"` counted on the dataset's columns; the built-in defaults for the
  parameters a subset leaves out; values beyond the built-in ranges clipped to them, since the pool holds
  nothing beyond) and snapped to the nearest unused pool point in the built-in space's unit cube.
- Case (d)'s added parameters cannot change the score on a pool (the prior never varied them): they are
  ignored when scored. The case measures whether unseen parameters hurt the warm start, not their effect.
- Case (f) is a toy function of two of the family's parameter names (its optimum placed per held-out task),
  scored exactly on a Sobol pool of 128 of its own configurations; its past is the prior, it has no data
  (no meta-features). The exact-space reference does not apply to it.
- The past studies carry their task type (as the bundled prior's do): a partial match takes the family's
  regressor pools only when they inform every parameter of the user's space, an exact match always
  (`is_source`).
- Gain = cold regret − warm regret: the user's gain is `ours: cold` − `ours: default` in the user's space,
  the exact gain the same on the built-in space (`exact space: ...`, what `bench_prior_loo.py` runs).
  Kept = user gain / exact gain (goal ≥ 75%); met when the paired margin user − 0.75·exact is ≥ 0.
- Room = the user's cold start's regret minus the lowest regret any run in the user's space reached on that
  pool (any method, seed or trial): the most any method could have gained there. Where it is below 0.75·exact
  gain the goal is out of reach on these runs.
- A subset (case c) is the case this pool measurement serves worst: with 2-4 parameters fixed, their columns
  decide which pool point is nearest (on the HGB pools, the first proposals of every method land on one of
  2-3 points whatever the tuned values). `--live-loo` measures it by training the cells
  (`user_spaces_live_loo_<family>.md`).
"""


def load_studies(families, meta_cache):
    """Every finished pool of the prior (all families: the past ``tune`` would see), with meta-features and task
    type, and the classifier pools of ``families`` to hold out."""
    from benchmarks._loo.prior_tasks import read_prior_studies, tasks_from_studies, with_meta_features

    studies, _ = read_prior_studies(None)
    studies = [with_task_type(s) for s in with_meta_features(studies, meta_cache)]
    held_out = [t for t in tasks_from_studies(studies)
                if t.family in families and t.study.extra["space_name"] == FAMILIES[t.family]]
    return studies, held_out


def with_task_type(study):
    """The study with ``extra["task_type"]`` (the run files say ``task``; the bundled prior says ``task_type``)."""
    extra = dict(study.extra or {})
    extra.setdefault("task_type", extra.get("task"))
    return dataclasses.replace(study, extra=extra)


def describe_cases(families, cases) -> list[str]:
    lines = ["| case | family | user's space | notes |", "|---|---|---|---|"]
    for family in families:
        for letter, case in family_cases(family).items():
            if letter in cases:
                space = ", ".join(f"{name}: {p!r}" for name, p in case.space.items())
                lines.append(f"| {letter} | {family} | {space} | {case.notes or '-'} |")
    return lines


def main(argv=None) -> int:
    from benchmarks.bench_prior_loo import pick_tasks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 held-out pools per family, 1 seed, no run cache")
    parser.add_argument("--families", nargs="+", choices=sorted(FAMILIES), default=sorted(POOL_FAMILIES))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--pools-per-family", type=int, help="held-out pools per family (default: all; quick: 2)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--budget", type=int, default=25)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (one held-out pool each)")
    parser.add_argument("--out", default=None, help="name of the results files (default: user_spaces[_quick])")
    parser.add_argument("--cache", type=Path, default=RUN_CACHE,
                        help="finished runs, reused by a rerun (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="run everything again and store nothing")
    parser.add_argument("--meta-cache", type=Path, default=META_FEATURE_CACHE,
                        help="meta-features of the prior's datasets, computed once and reused (default: %(default)s)")
    parser.add_argument("--live", action="store_true",
                        help="train the user's cells on held-out data instead of scoring pools")
    parser.add_argument("--live-loo", action="store_true",
                        help="train the user's cells live on the prior's own datasets, each held out in turn")
    parser.add_argument("--live-family", default="svm",
                        choices=("svm", "random_forest", "hgb", "logistic_regression", "mlp"),
                        help="logistic_regression has only case e (a penalty choice); mlp cases c and e (layer sizes "
                             "left out; layer sizes as tuples)")
    parser.add_argument("--live-datasets", nargs="+", default=None,
                        help="held-out datasets (--live: bench_live.py's names; --live-loo: the prior's, to hold out)")
    args = parser.parse_args(argv)
    if args.live_loo:
        return main_live_loo(args, argv)
    if args.live:
        return main_live(args, argv)
    seeds = args.seeds[:1] if args.quick else args.seeds
    per_family = args.pools_per_family or (2 if args.quick else None)

    studies, held_out = load_studies(args.families, args.meta_cache)
    held_out = pick_tasks(held_out, per_family)
    print(f"{len(studies)} past pools; holding out {len(held_out)} classifier pools of {args.families}; "
          f"cases {args.cases}; seeds {seeds}; budget {args.budget}")
    cache = None if args.no_cache or args.quick else RunCache(args.cache)
    if cache is not None:
        print(f"{len(cache)} finished runs in {args.cache}")
    began = time.perf_counter()

    def cases_of(family):
        return {k: c for k, c in family_cases(family).items() if k in args.cases}

    results, diagnostics = run_user_benchmark(held_out, studies, cases_of, seeds, args.budget, jobs=args.jobs,
                                              cache=cache)
    elapsed = time.perf_counter() - began
    text = render(args, argv, held_out, seeds, results, diagnostics, elapsed, cache)
    print(text)
    name = args.out or ("user_spaces_quick" if args.quick else "user_spaces")
    out_dir = ROOT / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.md").write_text(text)
    dump = {"runs": [r.__dict__ for r in results], "diagnostics": diagnostics}
    (out_dir / f"{name}.json").write_text(json.dumps(dump))
    print(f"saved {out_dir / (name + '.md')}")
    return 0


def main_live(args, argv) -> int:
    """The live part: the cells of ``--live-family`` trained on held-out datasets."""
    from benchmarks._loo.user_live import LIVE_CASES, LIVE_USER_DATASETS, run_live

    datasets = args.live_datasets or (LIVE_USER_DATASETS[:1] if args.quick else LIVE_USER_DATASETS)
    cases = [c for c in args.cases if c in LIVE_CASES]
    seeds = args.seeds[:1] if args.quick else args.seeds
    budget = 10 if args.budget == 25 else args.budget  # live fits: 10 trials unless told otherwise
    began = time.perf_counter()
    results = run_live(args.live_family, datasets, cases, seeds, budget)
    elapsed = time.perf_counter() - began
    intro = [f"# The warm start on user-written spaces, trained live ({args.live_family})", "",
             f"Command: `{command_line(__file__, argv)}`  ",
             f"Datasets (never in the prior): {', '.join(datasets)}; cases {', '.join(cases)}; seeds {seeds}; "
             f"budget {budget}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {elapsed:.0f} s on "
             f"{platform.machine()}.", "",
             "Each method calls the user's cell itself (`cross_val_score(..., cv=5)`, balanced accuracy) on the "
             "dataset; regret is normalised per dataset between the best and worst score any run found there. "
             "`ours: default` is `tune(train, space, data=(X, y))` with the bundled prior, which never saw these "
             "datasets; `exact space` runs the same cell written with the built-in names and ranges. Means are "
             "over datasets (seeds averaged first)."]
    return write_live_report(intro, results, cases, args.live_family, args.out or live_table_name(args, cases))


def live_table_name(args, cases) -> str:
    """Where ``--live`` writes: the SVM cells of every case to ``user_spaces_live``, another family or a few
    cases to their own table (``user_spaces_live_random_forest_c``), so that no run overwrites another's."""
    from benchmarks._loo.user_live import LIVE_CASES

    if args.quick:
        return "user_spaces_live_quick"
    if args.live_family == "svm" and set(cases) == set(LIVE_CASES):
        return "user_spaces_live"
    return f"user_spaces_live_{args.live_family}_{''.join(cases)}"


def live_loo_table_name(args, cases) -> str:
    """Where ``--live-loo`` writes: a family's subset and kind cells (c, e) to ``user_spaces_live_loo_<family>``,
    other cases to their own table (``user_spaces_live_loo_logistic_regression_e``)."""
    if args.quick:
        return "user_spaces_live_loo_quick"
    suffix = "" if set(cases) == {"c", "e"} else "_" + "".join(cases)
    return f"user_spaces_live_loo_{args.live_family}{suffix}"


def main_live_loo(args, argv) -> int:
    """The cells of ``--live-family`` trained live on the prior's own datasets, each held out from the past."""
    from benchmarks._loo.runner import leave_one_out_jobs
    from benchmarks._loo.user_live import LIVE_CASES, LOO_FIT_CACHE_NAME, run_live_loo
    from benchmarks.bench_prior_loo import pick_tasks

    family = args.live_family
    studies, held_out = load_studies([family], args.meta_cache)
    if args.live_datasets:  # e.g. the two-class datasets only, where a slow estimator's fits stay affordable
        unknown = sorted(set(args.live_datasets) - {t.dataset for t in held_out})
        if unknown:
            raise SystemExit(f"--live-datasets {unknown}: not classifier pools of {family} in the prior.")
        held_out = [t for t in held_out if t.dataset in args.live_datasets]
    held_out = pick_tasks(held_out, args.pools_per_family or (2 if args.quick else 8))
    cases = [c for c in args.cases if c in LIVE_CASES]
    seeds = args.seeds[:1] if args.quick else args.seeds
    budget = 10 if args.budget == 25 else args.budget  # live fits: 10 trials unless told otherwise
    fits = RunCache(args.cache.parent / LOO_FIT_CACHE_NAME)
    print(f"{len(held_out)} held-out datasets of {family}; cases {cases}; seeds {seeds}; budget {budget}; "
          f"{len(fits)} fits cached")
    began = time.perf_counter()
    results = run_live_loo(family, leave_one_out_jobs(held_out, studies), cases, seeds, budget, fits)
    elapsed = time.perf_counter() - began
    datasets = [t.dataset for t in held_out]
    intro = [f"# The warm start on user-written spaces, trained live on the prior's datasets, each held out "
             f"({family})", "",
             f"Command: `{command_line(__file__, argv)}`  ",
             f"Held out in turn: {', '.join(datasets)}; cases {', '.join(cases)}; seeds {seeds}; budget {budget}; "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {elapsed:.0f} s on {platform.machine()} "
             f"(fits are cached in `benchmarks/results/cache/{LOO_FIT_CACHE_NAME}`, so a rerun reads them).", "",
             "Why this part: on a pool, a subset cell (case c) is scored by the pool point nearest to the proposal "
             "with the fixed parameters set, and with 2-4 parameters fixed those columns decide the nearest point "
             "(on the HGB pools every proposal of the first trials lands on one of 2-3 points, whatever the "
             "tuned values). Here each method's sampler is the one the pool part drives, built from the same "
             "leave-one-task-out past (the held-out dataset's own studies removed), but every configuration is "
             "scored by training the user's cell on the held-out dataset (the prior's cleaned and capped copy, "
             "categorical columns one-hot encoded; `cross_val_score(..., cv=5)`, balanced accuracy). Regret is "
             "normalised per dataset between the best and worst score any run found there. Means are over "
             "datasets (seeds averaged first)."]
    name = args.out or live_loo_table_name(args, cases)
    return write_live_report(intro, results, cases, family, name)


def write_live_report(intro: list[str], results, cases, family: str, name: str) -> int:
    """The goals and regret tables of a live part after ``intro``, printed and saved as ``results/<name>.md|json``."""
    lines = [*intro, "", "## Goals", "", *user_report.goal_summary(results, cases), "",
             user_report.goals_table(results, cases)]
    for case in cases:
        lines += ["", f"## ({case}) {CASE_TITLES[case]}", "", user_report.regret_table(results, case)]
    lines += ["", "## The user's spaces", "", *describe_cases([family], cases)]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "results" / f"{name}.md").write_text(text)
    (ROOT / "results" / f"{name}.json").write_text(json.dumps({"runs": [r.__dict__ for r in results]}))
    print(f"saved {ROOT / 'results' / (name + '.md')}")
    return 0


def render(args, argv, held_out, seeds, results, diagnostics, elapsed, cache) -> str:
    import numpy as np

    families = sorted({t.family for t in held_out})
    seconds = [d["seconds"] for d in diagnostics]
    lines = ["# The warm start on user-written spaces (leave one task out on the prior's pools)", ""]
    lines.append(f"Command: `{command_line(__file__, argv)}`  ")
    lines.append(f"Held out: {len(held_out)} classifier pools ({', '.join(families)}); cases {', '.join(args.cases)}; "
                 f"seeds {seeds}; budget {args.budget}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
                 f"{elapsed:.0f} s on {platform.machine()}.  ")
    if cache is not None:
        where = args.cache.relative_to(ROOT.parent) if args.cache.is_relative_to(ROOT.parent) else args.cache
        lines.append(f"Runs measured at commit(s) {', '.join(cache.revisions())}, stored in `{where}`.  ")
    if seconds:
        n_past = [d["n_past"] for d in diagnostics]
        lines.append(f"`Experience.of` (the compatibility pass) per new study: median {np.median(seconds):.3f} s, "
                     f"max {np.max(seconds):.3f} s, over {min(n_past)}-{max(n_past)} past studies.")
    lines += ["", "## Goals", "", *user_report.goal_summary(results, args.cases), "",
              user_report.goals_table(results, args.cases), "", "## Notes", "", NOTES]
    for case in args.cases:
        lines += ["", f"## ({case}) {CASE_TITLES[case]}: all families", "", user_report.regret_table(results, case)]
    for family in families:
        for case in args.cases:
            table = user_report.regret_table(results, case, family)
            lines += ["", f"### {family}, ({case}) {CASE_TITLES[case]}", "", table]
    lines += ["", "## What the compatibility pass did", "", user_report.diagnostics_table(diagnostics)]
    colds = sorted({d["cold"] for d in diagnostics if d["cold"]})
    if colds:
        lines += ["", "Cold starts said:", ""] + [f"- {c}" for c in colds]
    examples = sorted({(d["case"], d["family"], d["unrelated_example"]) for d in diagnostics if d["unrelated_example"]})
    if examples:
        lines += ["", "Why past studies were left out (one example per case and family):", ""]
        lines += [f"- ({c}, {f}) {e}" for c, f, e in examples]
    errors = [r for r in results if r.error]
    if errors:
        lines += ["", "## Errors (a failed run counts as regret 1)", ""]
        lines += sorted({f"- {r.method} on {r.task}: {r.error[:200]}" for r in errors})
    lines += ["", "## The user's spaces", "", *describe_cases(families, args.cases)]
    lines += ["", "## Held-out pools", "", ", ".join(t.key for t in held_out)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
