"""How the prior evaluates one configuration on one dataset.

The protocol is fixed so that every evaluation of every family is comparable:

- the shared pool of a space: the estimator's defaults (index 0) followed by a
  scrambled Sobol sample of the space with a fixed seed (:func:`config_pool`);
- preprocessing in a Pipeline: numeric columns median-imputed (and standardised for
  the families that need it), categorical columns imputed with a "missing" level
  and one-hot encoded with at most 20 levels each; regression targets standardised
  (so SVR's epsilon and the MLPs' step sizes mean the same on every dataset);
- 3-fold cross-validation with a fixed seed, stratified for classification;
- the metric, higher is better: balanced accuracy for classification (robust to the
  imbalanced datasets, defined for every estimator and any number of classes) and
  R^2 for regression.
"""

from __future__ import annotations

import time
import traceback
import warnings
from typing import Any

import numpy as np

from .._imports import LazyImport
from ..builtin_spaces import BuiltinSpace, get_builtin_space

qmc = LazyImport("scipy.stats.qmc", install="pip install scipy")
sklearn_base = LazyImport("sklearn.base", install="pip install scikit-learn")
compose = LazyImport("sklearn.compose", install="pip install scikit-learn")
impute = LazyImport("sklearn.impute", install="pip install scikit-learn")
metrics = LazyImport("sklearn.metrics", install="pip install scikit-learn")
model_selection = LazyImport("sklearn.model_selection", install="pip install scikit-learn")
pipeline = LazyImport("sklearn.pipeline", install="pip install scikit-learn")
preprocessing = LazyImport("sklearn.preprocessing", install="pip install scikit-learn")

__all__ = ["PROTOCOL", "POOL_SIZES", "config_pool", "make_pipeline", "evaluate_config"]

#: Everything that defines the numbers in a run file; a run is only resumed or
#: assembled with runs of the same protocol.
PROTOCOL: dict[str, Any] = {
    "version": 1,
    "cv_folds": 3,
    "cv_seed": 0,
    "estimator_seed": 0,
    "pool_seed": 20261129,
    "max_rows": 2000,
    "subsample_seed": 0,
    "max_onehot_categories": 20,
    "metrics": {"classification": "balanced_accuracy", "regression": "r2"},
}

#: Pool size per family: the fast, low-dimensional families get larger pools.
POOL_SIZES: dict[str, int] = {
    "hgb": 64,
    "random_forest": 64,
    "svm": 128,
    "logistic_regression": 128,
    "mlp": 64,
    "torch_mlp": 64,
}


def config_pool(space_name: str, size: int | None = None) -> list[dict[str, Any]]:
    """The shared pool of configurations of a built-in space.

    Index 0 is the estimator's defaults; the rest is a scrambled Sobol sequence
    (``PROTOCOL["pool_seed"]``) decoded through the space, so the same call gives the
    same pool on every machine.
    """
    builtin = get_builtin_space(space_name)
    size = POOL_SIZES[builtin.family] if size is None else int(size)
    if size < 1:
        raise ValueError(f"`size` must be >= 1, but got size={size}.")
    n_sobol = size - 1
    pool = [dict(builtin.default_config)]
    if n_sobol:
        engine = qmc.Sobol(d=len(builtin.space), scramble=True, seed=PROTOCOL["pool_seed"])
        # Sobol points come in powers of two; draw the next one up and keep the first ones.
        points = engine.random_base2(int(np.ceil(np.log2(n_sobol))))[:n_sobol]
        pool += builtin.space.decode(points)
    return pool


def make_pipeline(builtin: BuiltinSpace, config: dict[str, Any], numeric: list[str], categorical: list[str]) -> Any:
    """Preprocessing + estimator for ``config``, as described in the module docstring."""
    numeric_steps: list[tuple[str, Any]] = [("impute", impute.SimpleImputer(strategy="median"))]
    if builtin.needs_scaling:
        numeric_steps.append(("scale", preprocessing.StandardScaler()))
    categorical_steps = [
        ("impute", impute.SimpleImputer(strategy="constant", fill_value="missing")),
        (
            "onehot",
            preprocessing.OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=PROTOCOL["max_onehot_categories"],
                sparse_output=False,
            ),
        ),
    ]
    transformers = []
    if numeric:
        transformers.append(("numeric", pipeline.Pipeline(numeric_steps), numeric))
    if categorical:
        transformers.append(("categorical", pipeline.Pipeline(categorical_steps), categorical))
    model = pipeline.Pipeline(
        [
            ("preprocess", compose.ColumnTransformer(transformers)),
            ("model", builtin.build(config, random_state=PROTOCOL["estimator_seed"])),
        ]
    )
    if builtin.task == "regression":
        model = compose.TransformedTargetRegressor(regressor=model, transformer=preprocessing.StandardScaler())
    return model


def evaluate_config(space_name: str, dataset: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Cross-validate one configuration on one loaded dataset.

    Returns ``score`` (mean over folds, ``None`` when it failed), ``fold_scores``,
    ``fit_time`` (wall seconds, all folds), ``cpu_time`` and ``error`` (the failure's
    last lines, or ``None``). A fold that raises or scores NaN fails the evaluation.
    """
    builtin = get_builtin_space(space_name)
    if builtin.task != dataset.task:
        raise ValueError(f"space {space_name!r} is for {builtin.task}, but dataset {dataset.name!r} is {dataset.task}.")
    splitter_cls = model_selection.StratifiedKFold if dataset.task == "classification" else model_selection.KFold
    splitter = splitter_cls(n_splits=PROTOCOL["cv_folds"], shuffle=True, random_state=PROTOCOL["cv_seed"])
    scorer = metrics.balanced_accuracy_score if dataset.task == "classification" else metrics.r2_score

    wall, cpu = time.perf_counter(), time.process_time()
    fold_scores: list[float] = []
    error = None
    try:
        template = make_pipeline(builtin, config, dataset.numeric_columns, dataset.categorical_columns)
        X, y = dataset.X, dataset.y
        for train, test in splitter.split(X, y):
            model = sklearn_base.clone(template)
            with warnings.catch_warnings():
                # Convergence warnings are expected at capped iterations; the score says enough.
                warnings.simplefilter("ignore")
                model.fit(X.iloc[train], y[train])
                score = float(scorer(y[test], model.predict(X.iloc[test])))
            if not np.isfinite(score):
                raise FloatingPointError(f"fold score is {score}")
            fold_scores.append(score)
    except Exception as exc:  # recorded per evaluation; one bad config must not stop a build
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-500:]
    return {
        "score": None if error else float(np.mean(fold_scores)),
        "fold_scores": fold_scores,
        "fit_time": round(time.perf_counter() - wall, 4),
        "cpu_time": round(time.process_time() - cpu, 4),
        "error": error,
    }
