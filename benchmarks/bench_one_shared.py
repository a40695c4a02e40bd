"""Cells that share one parameter with the prior, the other their own: one shared parameter of the same estimator.

    python benchmarks/bench_one_shared.py                      # 6 held-out datasets, 3 cells, 5 seeds
    python benchmarks/bench_one_shared.py --cells logreg --seeds 0

Two-parameter cells as users often write them, where the bundled prior tuned one of the two
and never the other:

- ``hgb``: ``HistGradientBoostingClassifier(learning_rate=lr, max_depth=depth)`` (``...Regressor``
  for regression): the prior tuned ``learning_rate``, never ``max_depth``;
- ``rf``: ``RandomForestClassifier(n_estimators=n, max_depth=depth)``: the prior tuned
  ``n_estimators``, never ``max_depth``;
- ``logreg``: ``make_pipeline(<one-hot and scaling>, LogisticRegression(C=C, solver=solver))``
  with ``solver`` a choice of ``"lbfgs"`` and ``"liblinear"`` (classification datasets only):
  the prior tuned ``C``, never ``solver``;
- ``svm`` (``--cells svm``, its own run): ``make_pipeline(<one-hot and scaling>, SVC(C=C))``
  (``SVR`` for regression), the first SVM cell most people write: one parameter, which the
  prior tuned together with ``gamma``; the cell leaves ``gamma`` at scikit-learn's ``"scale"``,
  which the prior's studies are not read at (a word, not a number: reading them at
  1 / n_features was tried and lost, ``results/user_spaces_findings.md``).

Each scored by ``cross_val_score`` over 3 shuffled folds (balanced accuracy or R^2). Until
this round such a past study was refused ("it shares 1 of your parameters; 2 are needed"),
so these cells started cold; now one shared parameter is enough when the past study built
an estimator of the same family (``meta.compat.ONE_SHARED_EVIDENCE``). Methods, 10 trials on
the six datasets of ``bench_live.py`` (which the prior never saw): ``tune(train, space,
data=(X, y))``, its cold start (``strategy="none"``), and Optuna's TPE on the same space;
``--label`` names the default run's rows when a second checkout (the previous code's) runs
it, ``--merge`` adds such runs, ``--table-only`` writes the table again from the saved runs.
Regret is normalised per (dataset, cell) between the best and the worst score any run found.
"""

from __future__ import annotations

import argparse
import sys
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
    native_categories,
    optuna_values,
    preprocessing,
    recorded_run,
    report_live_runs,
    tuned_values,
)
from benchmarks._loo.user_live import run_cell  # noqa: E402
from benchmarks._problems import optuna_params  # noqa: E402
from benchmarks.bench_live import LIVE_DATASETS, load_live_dataset  # noqa: E402

DATASETS = tuple(LIVE_DATASETS)  # held out of the prior
CELLS = ("hgb", "rf", "logreg", "svm")
DEFAULT_CELLS = ("hgb", "rf", "logreg")
METHODS = ("ours", "ours: cold", "Optuna TPE")

HGB_CELL = '''
from sklearn.ensemble import {model}
from sklearn.model_selection import cross_val_score


def train(lr, depth):
    model = {model}(learning_rate=lr, max_depth=depth, random_state=0)
    return cross_val_score(model, X, y, cv=folds, scoring="{metric}").mean()
'''

RF_CELL = '''
from sklearn.ensemble import {model}
from sklearn.model_selection import cross_val_score


def train(n_estimators, max_depth):
    model = {model}(n_estimators=n_estimators, max_depth=max_depth, random_state=0)
    return cross_val_score(model, X, y, cv=folds, scoring="{metric}").mean()
'''

SVM_CELL = '''
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import {model}


def train(C):
    return cross_val_score(make_pipeline(prepare, {model}(C=C)), X, y, cv=folds, scoring="{metric}").mean()
'''

LOGREG_CELL = '''
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline


def train(C, solver):
    model = make_pipeline(prepare, LogisticRegression(C=C, solver=solver, max_iter=1000))
    return cross_val_score(model, X, y, cv=folds, scoring="{metric}").mean()
'''


def spaces() -> dict[str, dict[str, Any]]:
    from jupyter_metahpo import choice, intrange, loguniform

    return {
        "hgb": {"lr": loguniform(0.01, 0.5), "depth": intrange(2, 12)},
        "rf": {"n_estimators": intrange(20, 300, log=True), "max_depth": intrange(2, 20)},
        "logreg": {"C": loguniform(1e-4, 1e2), "solver": choice("lbfgs", "liblinear")},
        "svm": {"C": loguniform(1e-2, 1e3)},
    }


def cell_objective(cell: str, dataset) -> Any:
    """The cell's ``train``, defined from text registered as a notebook cell's, with its data in the namespace."""
    classification = dataset.task == "classification"
    folds, metric = cv_protocol(dataset)
    namespace: dict[str, Any] = {"__name__": "__main__", "y": dataset.y, "folds": folds}
    if cell in ("logreg", "svm"):
        namespace.update(X=dataset.X, prepare=preprocessing(dataset))
        svm = "SVC" if classification else "SVR"
        text = LOGREG_CELL.format(metric=metric) if cell == "logreg" else SVM_CELL.format(model=svm, metric=metric)
    elif cell == "hgb":
        namespace["X"] = native_categories(dataset)
    else:  # a forest needs numbers: the text columns one-hot encoded
        namespace["X"] = preprocessing(dataset, dense=True).fit_transform(dataset.X)
    if cell in ("hgb", "rf"):
        kind = "Classifier" if classification else "Regressor"
        name = f"HistGradientBoosting{kind}" if cell == "hgb" else f"RandomForest{kind}"
        text = (HGB_CELL if cell == "hgb" else RF_CELL).format(model=name, metric=metric)
    run_cell(text, f"<cell {cell} {dataset.name}>", namespace)
    return namespace["train"]


def run_cells(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every (dataset, cell, method, seed) study: its trials' values, its wall seconds, whether it started warm."""
    from jupyter_metahpo.space import as_search_space

    methods = {args.label: "default"} if args.label else {m: m for m in args.methods}
    runs: list[dict[str, Any]] = []
    for name in args.datasets:
        dataset = load_live_dataset(name)
        for cell in args.cells:
            if cell == "logreg" and dataset.task != "classification":
                continue
            train = cell_objective(cell, dataset)
            space = as_search_space(spaces()[cell])
            for label, method in methods.items():
                for seed in args.seeds:
                    began = time.perf_counter()
                    warm = False
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if method == "Optuna TPE":
                            values = optuna_values(lambda trial: train(**optuna_params(trial, space)), seed,
                                                   args.trials)
                        else:
                            strategy = "none" if method == "ours: cold" else "default"
                            values, warm = tuned_values(train, space, dataset, args.trials, seed, strategy)
                    recorded_run(runs, label, name, cell, seed, values, began, warm)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(DEFAULT_CELLS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    add_run_options(parser, "one_shared", "the default strategy's rows under this name (and no other method)")
    args = parser.parse_args(argv)

    settings = (f"Datasets (held out of the prior) {', '.join(args.datasets)}; cells {', '.join(args.cells)} (logreg "
                f"on the classification datasets); seeds {args.seeds}; {args.trials} trials")
    report_live_runs(args, run_cells, command=command_line(__file__, argv),
                     title="Cells that share one parameter with the prior", settings=settings, reference="ours: cold",
                     pairing="the cold start's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
