"""A study of your store informs a later cell that names its parameters otherwise.

    python benchmarks/bench_renamed_store.py                      # 6 held-out datasets, 5 seeds
    python benchmarks/bench_renamed_store.py --seeds 0 --datasets sk_wine

On each of the six datasets the prior never saw (``bench_live.py``), and for each seed, a first
cell tunes an SVM pipeline for 10 trials into a fresh experience store::

    def first(reg, width):
        return cross_val_score(make_pipeline(prepare, SVC(C=reg, gamma=width)), X, y, cv=folds, ...).mean()

Then a second cell, the same model with other names (``c_value``, ``g_value``; the same ranges),
is tuned for 10 trials on the same data, and its regret is measured. Methods (the second study):

- ``ours``: with the store that holds the first study (and the bundled prior);
- ``ours: no store``: the prior alone (``store=False``), what a study that reads nothing of the
  first would get;
- ``ours: same names``: the second cell written with the first's names (``reg``, ``width``), with
  the store: what matching by name gave before;
- ``--label NAME``: ``ours`` run by a second checkout (the previous code).

Regret is normalised per dataset between the best and the worst score any second study found
there. ``--table-only`` writes the table again from the saved runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._live_runs import (  # noqa: E402
    add_run_options,
    cv_protocol,
    preprocessing,
    recorded_run,
    report_live_runs,
    study_values,
)
from benchmarks._loo.user_live import run_cell  # noqa: E402
from benchmarks.bench_live import LIVE_DATASETS, load_live_dataset  # noqa: E402

DATASETS = tuple(LIVE_DATASETS)
METHODS = ("ours", "ours: no store", "ours: same names")
TRIALS_FIRST = 10

CELL = '''
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import {model}


def {name}({c}, {gamma}):
    return cross_val_score(make_pipeline(prepare, {model}(C={c}, gamma={gamma})), X, y, cv=folds,
                           scoring="{metric}").mean()
'''


def cell(dataset, name: str, c: str, gamma: str) -> tuple[Any, dict[str, Any]]:
    """The cell's function, defined as a notebook defines it, and its space (the SVM cells' ranges)."""
    from jupyter_metahpo import loguniform

    folds, metric = cv_protocol(dataset)
    model = "SVC" if dataset.task == "classification" else "SVR"
    namespace = {"__name__": "__main__", "X": dataset.X, "y": dataset.y, "folds": folds,
                 "prepare": preprocessing(dataset)}
    text = CELL.format(model=model, name=name, c=c, gamma=gamma, metric=metric)
    run_cell(text, f"<renamed-store {name} {dataset.name}>", namespace)
    return namespace[name], {c: loguniform(1e-2, 1e3), gamma: loguniform(1e-4, 1.0)}


def second_study(dataset, seed: int, method: str, trials: int) -> Any:
    """The first cell tuned into a fresh store, then the second cell as ``method`` says: its ``TuningResult``."""
    from jupyter_metahpo import tune

    data = (dataset.X, dataset.y)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store.json"
        first, space = cell(dataset, "first", "reg", "width")
        tune(first, space, n_trials=TRIALS_FIRST, direction="maximize", seed=seed, store=store, data=data,
             name="first", progress=False)
        names = ("reg", "width") if method == "ours: same names" else ("c_value", "g_value")
        second, space = cell(dataset, "second", *names)
        result = tune(second, space, n_trials=trials, direction="maximize", seed=seed, data=data, name="second",
                      store=False if method == "ours: no store" else store, progress=False)
    return result


def run_studies(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    methods = {args.label: "ours"} if args.label else {m: m for m in args.methods}
    for name in args.datasets:
        dataset = load_live_dataset(name)
        for label, method in methods.items():
            for seed in args.seeds:
                began = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = second_study(dataset, seed, method, args.trials)
                warm = result.warm_start is not None and not result.warm_start.is_cold
                recorded_run(runs, label, name, "svm", seed, study_values(result.trials), began, warm)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    add_run_options(parser, "renamed_store", "the rows of the second study with the store under this name")
    args = parser.parse_args(argv)
    settings = (f"Datasets (held out of the prior) {', '.join(args.datasets)}; seeds {args.seeds}; a first study of "
                f"{TRIALS_FIRST} trials, then the second of {args.trials}")
    report_live_runs(args, run_studies, command=command_line(__file__, argv),
                     title="A stored study and a later cell of other names", settings=settings,
                     reference="ours: no store", pairing="the prior alone's (the same dataset and seed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
