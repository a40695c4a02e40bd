"""MetaSearchCV on a scikit-learn Pipeline, as users write it, against RandomizedSearchCV and Optuna TPE.

    python benchmarks/bench_search_cv.py                       # 6 held-out datasets, 2 pipelines, 5 seeds
    python benchmarks/bench_search_cv.py --datasets sk_wine --seeds 0 --estimators svm

A user of scikit-learn tunes a pipeline: ``make_pipeline(preprocessing, SVC())`` with a
space in the pipeline's parameter names (``{"svc__C": ..., "svc__gamma": ...}``), and
swaps ``RandomizedSearchCV`` for ``MetaSearchCV``. Each method here searches that space
on the same cross-validation splits, candidate by candidate:

- ``MetaSearchCV``: the warm start from the bundled prior (``store=False``), then refinement;
- ``MetaSearchCV, strategy=None``: the same search without the past (its cold start);
- ``RandomizedSearchCV``: scikit-learn's, candidates drawn from the same space;
- ``Optuna TPE``: ask/tell on ``cross_val_score`` of the same pipeline.

Pipelines: ``svm`` (one-hot encoding of the categorical columns and scaling of the others,
then ``SVC`` / ``SVR`` tuning ``C`` and ``gamma``) and ``random_forest`` (the same
preprocessing, then a forest tuning ``n_estimators``, ``min_samples_leaf`` and
``max_features`` as a fraction); and (``--estimators scikeras``, classification datasets only) the
same preprocessing, then SciKeras's ``KerasClassifier`` of a one-hidden-layer Keras MLP
(:func:`get_model`, Keras 3 on its torch backend) tuning the width and dropout routed to the model
function (``kerasclassifier__model__hidden``, ``..._model__dropout``), Adam's learning rate
(``..._optimizer__learning_rate``) and the epochs. The datasets are those of ``bench_live.py``, which the
prior never saw. Regret is normalised per (dataset, pipeline) between the best and the
worst mean cross-validation score any run found there (relative, as in ``bench_live.py``).

``--methods`` and ``--label`` let a second checkout run one method under another name
(the previous code's MetaSearchCV), and ``--merge`` adds those runs to the table;
``--table-only`` writes the table again from the saved runs (``results/<out>.json``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from benchmarks._live_runs import (  # noqa: E402
    RESULTS,
    cv_protocol,
    preprocessing,
    regret_curves,
    saved_or_new_runs,
    with_merged_runs,
    write_tables,
)
from benchmarks.bench_live import LIVE_DATASETS, load_live_dataset  # noqa: E402

ESTIMATORS = ("svm", "random_forest", "scikeras")
DEFAULT_ESTIMATORS = ("svm", "random_forest")


def get_model(hidden, dropout, meta):
    """SciKeras's model function: one hidden layer of ``hidden`` units, its dropout, a softmax over the classes."""
    import keras

    keras.utils.set_random_seed(0)  # the same initial weights and batches for a configuration, whichever method
    model = keras.Sequential([keras.Input((meta["n_features_in_"],))])
    model.add(keras.layers.Dense(hidden, activation="relu"))
    model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
    return model
CHECKPOINTS = (1, 3, 5, 10, 15)


def user_pipeline(family: str, dataset) -> tuple[Any, dict[str, Any]]:
    """The pipeline and space a user writes for ``family`` on ``dataset`` (scikit-learn's own names)."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC, SVR

    from jupyter_metahpo import intrange, loguniform, uniform

    classification = dataset.task == "classification"
    if family == "scikeras":
        import os

        os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow
        from scikeras.wrappers import KerasClassifier

        if not classification:
            raise ValueError(f"--estimators scikeras runs on classification datasets; {dataset.name} is regression.")
        model = KerasClassifier(model=get_model, hidden=64, dropout=0.0, optimizer="adam",
                                loss="sparse_categorical_crossentropy", epochs=10, verbose=0)
        space = {"kerasclassifier__model__hidden": intrange(16, 256, log=True),
                 "kerasclassifier__model__dropout": uniform(0.0, 0.5),
                 "kerasclassifier__optimizer__learning_rate": loguniform(1e-4, 1e-1),
                 "kerasclassifier__epochs": intrange(5, 30)}
        return make_pipeline(preprocessing(dataset, dense=True), model), space
    if family == "svm":
        model = SVC() if classification else SVR()
        step = type(model).__name__.lower()
        space = {f"{step}__C": loguniform(1e-2, 1e3), f"{step}__gamma": loguniform(1e-4, 1e1)}
    else:
        model = RandomForestClassifier(n_jobs=1) if classification else RandomForestRegressor(n_jobs=1)
        step = type(model).__name__.lower()
        space = {f"{step}__n_estimators": intrange(10, 300, log=True), f"{step}__min_samples_leaf": intrange(1, 20),
                 f"{step}__max_features": uniform(0.05, 1.0)}
    return make_pipeline(preprocessing(dataset), model), space


def run_meta_search(pipeline, space, dataset, budget: int, seed: int, strategy: Any = "default") -> list[float]:
    from jupyter_metahpo import MetaSearchCV

    cv, scoring = cv_protocol(dataset)
    search = MetaSearchCV(pipeline, space, n_iter=budget, cv=cv, scoring=scoring, random_state=seed, store=False,
                          strategy=strategy, refit=False)
    search.fit(dataset.X, dataset.y)
    return [float(v) for v in search.cv_results_["mean_test_score"]]


def run_meta_search_cold(pipeline, space, dataset, budget: int, seed: int) -> list[float]:
    return run_meta_search(pipeline, space, dataset, budget, seed, strategy=None)


class _FromSpace:
    """One parameter of our space as a scipy-style distribution, for RandomizedSearchCV."""

    def __init__(self, name: str, space) -> None:
        self.name, self.space = name, space

    def rvs(self, random_state=None):
        rng = np.random.default_rng(random_state.randint(2**31 - 1))
        return self.space.sample(rng)[self.name]


def run_randomized_search(pipeline, space, dataset, budget: int, seed: int) -> list[float]:
    from sklearn.model_selection import RandomizedSearchCV

    from jupyter_metahpo.space import as_search_space

    searched = as_search_space(space)
    cv, scoring = cv_protocol(dataset)
    distributions = {name: _FromSpace(name, searched) for name in searched.names}
    search = RandomizedSearchCV(pipeline, distributions, n_iter=budget, cv=cv, scoring=scoring, random_state=seed,
                                refit=False)
    search.fit(dataset.X, dataset.y)
    return [float(v) for v in search.cv_results_["mean_test_score"]]


def run_tpe(pipeline, space, dataset, budget: int, seed: int) -> list[float]:
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    from benchmarks._loo.methods import tpe_maximise
    from jupyter_metahpo.space import as_search_space

    cv, scoring = cv_protocol(dataset)

    def score(config):
        model = clone(pipeline).set_params(**config)
        return float(cross_val_score(model, dataset.X, dataset.y, cv=cv, scoring=scoring).mean())

    values, _ = tpe_maximise(score, as_search_space(space), budget, seed, (ValueError,))
    return [float("nan") if v is None else v for v in values]


METHODS = {
    "MetaSearchCV": run_meta_search,
    "MetaSearchCV, strategy=None (cold)": run_meta_search_cold,
    "RandomizedSearchCV": run_randomized_search,
    "Optuna TPE": run_tpe,
}


def run_searches(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every (dataset, pipeline, method, seed) search: its candidates' mean CV scores and its wall seconds."""
    runs: list[dict[str, Any]] = []
    for name in args.datasets:
        dataset = load_live_dataset(name)
        for family in args.estimators:
            pipeline, space = user_pipeline(family, dataset)
            for method in args.methods:
                for seed in args.seeds:
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        values = METHODS[method](pipeline, space, dataset, args.budget, seed)
                    label = args.label or method
                    runs.append({"method": label, "dataset": name, "estimator": family, "seed": seed,
                                 "values": values, "seconds": time.perf_counter() - t0})
                    print(f"{name} ({dataset.n_rows} rows) {family} {label} seed {seed}: best {np.nanmax(values):.4f} "
                          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=sorted(LIVE_DATASETS), default=sorted(LIVE_DATASETS))
    parser.add_argument("--estimators", nargs="+", choices=ESTIMATORS, default=list(DEFAULT_ESTIMATORS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=int, default=15)
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=list(METHODS))
    parser.add_argument("--label", help="the name the (single) method's runs get in the table")
    parser.add_argument("--merge", nargs="*", default=[], help="JSON files of other runs to add to the table")
    parser.add_argument("--out", default="search_cv", help="results/<out>.md and .json")
    parser.add_argument("--table-only", action="store_true", help="write the table from results/<out>.json's runs")
    args = parser.parse_args(argv)
    if args.label and len(args.methods) != 1:
        parser.error("--label names one method's runs: give one --methods")

    runs = saved_or_new_runs(RESULTS / f"{args.out}.json", args.table_only, lambda: run_searches(args))
    runs, provenance = with_merged_runs(runs, args.merge)
    curves = regret_curves(runs, args.budget)
    checkpoints = [c for c in CHECKPOINTS if c <= args.budget]
    header = [
        "# MetaSearchCV on a Pipeline, as users write it", "",
        f"Command: `{command_line(__file__, argv)}`  ",
        f"Datasets (held out of the prior) {', '.join(args.datasets)}; pipelines {', '.join(args.estimators)}; "
        f"seeds {args.seeds}; {args.budget} candidates; 3-fold CV (balanced accuracy, R^2); "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {sum(r.get('seconds', 0.0) for r in runs):.0f} s of "
        "searches.  ",
        *provenance,
        "Regret (mean ± standard error over runs) is normalised per (dataset, pipeline) between the best and worst "
        "score any run found there; the lower / higher columns pair runs of the same dataset, pipeline and seed.",
    ]
    write_tables(RESULTS / f"{args.out}.md", header, runs, curves, checkpoints, "RandomizedSearchCV")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
