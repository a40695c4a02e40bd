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

Learning curves (``evaluate_config(..., record_curves=True)``, for the spaces whose
estimator trains by epochs: :func:`records_curves`): after every epoch of every fold,
the fold's held-out score of the weights as they are, computed by the same
``predict`` and metric as the fold's final score, and the estimator's own validation
loss (the 10% split its early stopping watches). Recording changes no final score:
the callback only predicts, in evaluation mode, which draws no random numbers.
"""

from __future__ import annotations

import inspect
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

__all__ = ["CURVE_FORMAT", "PROTOCOL", "POOL_SIZES", "config_pool", "evaluate_config", "make_pipeline", "records_curves"]

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


#: What a learning curve holds; stored in the curve files' headers, so curves recorded
#: another way are never mixed with these.
CURVE_FORMAT: dict[str, Any] = {
    "version": 1,
    "per_epoch": {
        "score": "the held-out fold's metric after the epoch (the weights as they are then)",
        "val_loss": "the estimator's loss on its internal validation split (what early stopping watches)",
    },
    "best_epoch": "the epoch (from 0) whose weights the fold's final score uses",
    "decimals": 4,
}

#: The fit parameter, routed through the Pipeline (and TransformedTargetRegressor) to the model step.
_CALLBACK_PARAM = "model__epoch_callback"


def records_curves(space_name: str) -> bool:
    """Whether the estimator of ``space_name`` reports per-epoch curves (its ``fit`` takes ``epoch_callback``)."""
    builtin = get_builtin_space(space_name)
    estimator = builtin.build(dict(builtin.default_config))
    return "epoch_callback" in inspect.signature(estimator.fit).parameters


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


def evaluate_config(space_name: str, dataset: Any, config: dict[str, Any], *, record_curves: bool = False) -> dict[str, Any]:
    """Cross-validate one configuration on one loaded dataset.

    Returns ``score`` (mean over folds, ``None`` when it failed), ``fold_scores``,
    ``fit_time`` (wall seconds, all folds), ``cpu_time`` and ``error`` (the failure's
    last lines, or ``None``). A fold that raises or scores NaN fails the evaluation.
    With ``record_curves``, also ``curves``: one :class:`_EpochRecorder` summary per
    finished fold (see ``CURVE_FORMAT``).
    """
    builtin = get_builtin_space(space_name)
    if builtin.task != dataset.task:
        raise ValueError(f"space {space_name!r} is for {builtin.task}, but dataset {dataset.name!r} is {dataset.task}.")
    if record_curves and not records_curves(space_name):
        raise ValueError(f"space {space_name!r} does not train by epochs, so it has no learning curves; record them for the torch MLP spaces.")
    splitter_cls = model_selection.StratifiedKFold if dataset.task == "classification" else model_selection.KFold
    splitter = splitter_cls(n_splits=PROTOCOL["cv_folds"], shuffle=True, random_state=PROTOCOL["cv_seed"])
    scorer = metrics.balanced_accuracy_score if dataset.task == "classification" else metrics.r2_score

    wall, cpu = time.perf_counter(), time.process_time()
    fold_scores: list[float] = []
    curves: list[dict[str, Any]] = []
    error = None
    try:
        template = make_pipeline(builtin, config, dataset.numeric_columns, dataset.categorical_columns)
        X, y = dataset.X, dataset.y
        for train, test in splitter.split(X, y):
            model = sklearn_base.clone(template)
            recorder = _EpochRecorder(model, X.iloc[test], y[test], scorer) if record_curves else None
            fit_params = {_CALLBACK_PARAM: recorder} if recorder else {}
            with warnings.catch_warnings():
                # Convergence warnings are expected at capped iterations; the score says enough.
                warnings.simplefilter("ignore")
                model.fit(X.iloc[train], y[train], **fit_params)
                score = float(scorer(y[test], model.predict(X.iloc[test])))
            if not np.isfinite(score):
                raise FloatingPointError(f"fold score is {score}")
            fold_scores.append(score)
            if recorder:
                curves.append(recorder.summary())
    except Exception as exc:  # recorded per evaluation; one bad config must not stop a build
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-500:]
    result = {
        "score": None if error else float(np.mean(fold_scores)),
        "fold_scores": fold_scores,
        "fit_time": round(time.perf_counter() - wall, 4),
        "cpu_time": round(time.process_time() - cpu, 4),
        "error": error,
    }
    if record_curves:
        result["curves"] = curves
    return result


class _EpochRecorder:
    """The epoch callback of one fold: the held-out score after every epoch.

    ``model`` is the fold's pipeline (or the ``TransformedTargetRegressor`` around it)
    being fitted; its preprocessing and target scaler are fitted before the network
    trains. Running ``model.predict`` every epoch would redo the preprocessing of the
    same held-out rows each time (most of an epoch's cost on small data), so the rows
    are preprocessed once and each epoch repeats only what ``predict`` does after that:
    the network's predict, then the target scaler's inverse. The score is the fold's
    final score's computation, step for step (a test compares them).
    """

    def __init__(self, model: Any, X_test: Any, y_test: np.ndarray, scorer: Any) -> None:
        self.model, self.X_test, self.y_test, self.scorer = model, X_test, y_test, scorer
        self.scores: list[float | None] = []
        self.network: Any = None
        self._network_input: Any = None

    def __call__(self, network: Any, epoch: int) -> None:
        self.network = network
        self.scores.append(self._score(self._predict()))

    def _predict(self) -> np.ndarray:
        wrapped = isinstance(self.model, compose.TransformedTargetRegressor)
        steps = self.model.regressor_ if wrapped else self.model
        if self._network_input is None:
            self._network_input = steps[:-1].transform(self.X_test)  # Pipeline.predict's transforms
        prediction = self.network.predict(self._network_input)
        if wrapped:  # TransformedTargetRegressor.predict: the scaler's inverse, back to one column
            prediction = self.model.transformer_.inverse_transform(prediction.reshape(-1, 1)).squeeze(axis=1)
        return np.asarray(prediction)

    def _score(self, prediction: np.ndarray) -> float | None:
        """The held-out score; ``None`` when the network diverged (non-finite output)."""
        if prediction.dtype.kind == "f" and not np.isfinite(prediction).all():
            return None
        score = float(self.scorer(self.y_test, prediction))
        return score if np.isfinite(score) else None

    def summary(self) -> dict[str, Any]:
        """The fold's curves, rounded to ``CURVE_FORMAT["decimals"]`` (JSON-safe: NaN -> None)."""
        losses = list(getattr(self.network, "validation_loss_curve_", []))
        return {
            "score": [_rounded(v) for v in self.scores],
            "val_loss": [_rounded(v) for v in losses],
            "best_epoch": getattr(self.network, "best_epoch_", None),
        }


def _rounded(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), CURVE_FORMAT["decimals"])
