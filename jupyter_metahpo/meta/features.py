"""Task meta-features: a fixed, named and versioned description of a data set ``(X, y)``.

The set is ``META_FEATURE_SET`` (``"mhpo-v1"``). Every name in
:data:`META_FEATURE_NAMES` is always present and always a finite float, so vectors of
different tasks can be compared column by column. Changing what a feature means, or
adding one, needs a new set name: past studies described by another set are then
matched by name and space only.

Why our own code rather than pymfe: ``benchmarks/bench_metafeatures.py`` measures
this set against pymfe's general + statistical + info-theory + landmarking groups;
ours is computed on row subsamples where that keeps the estimate stable (summaries
of columns, mutual information, landmarkers), which keeps it well under one second at
10,000 x 100, while pymfe's comparable groups take many seconds and fail on missing
values and text columns unless the caller encodes them first.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .._imports import LazyImport
from .._threads import limit_threads

# Loaded when meta-features are first computed, not when the meta-learning layer is imported.
pd = LazyImport("pandas")
linear_model = LazyImport("sklearn.linear_model", install="pip install scikit-learn")
model_selection = LazyImport("sklearn.model_selection", install="pip install scikit-learn")
neighbors = LazyImport("sklearn.neighbors", install="pip install scikit-learn")
tree = LazyImport("sklearn.tree", install="pip install scikit-learn")

__all__ = [
    "META_FEATURE_SET",
    "META_FEATURE_NAMES",
    "MetaFeatures",
    "compute_meta_features",
    "data_fingerprint",
]

META_FEATURE_SET = "mhpo-v1"

META_FEATURE_NAMES: tuple[str, ...] = (
    # size and shape
    "log_n_rows",
    "log_n_columns",
    "log_columns_per_row",
    # feature types and missing values
    "frac_categorical",
    "frac_missing_cells",
    "frac_rows_with_missing",
    "log_mean_cardinality",
    # target
    "is_classification",
    "log_n_classes",
    "class_entropy_normalised",
    "minority_to_majority",
    "majority_fraction",
    "target_skew",
    "target_kurtosis",
    # statistical summaries of numeric columns
    "mean_abs_skew",
    "mean_kurtosis",
    "mean_abs_correlation",
    "frac_outlier_columns",
    "frac_zero_cells",
    # information-theoretic summaries
    "mean_attribute_entropy",
    "mean_mutual_information",
    "max_mutual_information",
    "log_noise_to_signal",
    # landmarkers: 3-fold scores of fast models on a subsample
    "landmark_stump",
    "landmark_linear",
    "landmark_nearest_neighbour",
)

#: Rows used for the subsampled summaries (mutual information, correlations, landmarkers).
_SUMMARY_ROWS = 4000
_LANDMARK_ROWS = 1500
_BINS = 10
_MAX_CLASSES_FOR_INTEGER_TARGET = 30


@dataclass(frozen=True)
class MetaFeatures:
    """The meta-features of one task, with the set they belong to and the data's fingerprint."""

    values: Mapping[str, float]
    feature_set: str = META_FEATURE_SET
    fingerprint: str | None = None
    task_type: str = "classification"
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def vector(self, names: tuple[str, ...] = META_FEATURE_NAMES) -> np.ndarray:
        return np.array([self.values.get(name, 0.0) for name in names], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta_features": dict(self.values),
            "meta_feature_set": self.feature_set,
            "data_fingerprint": self.fingerprint,
            "task_type": self.task_type,
        }


# --------------------------------------------------------------------------- input


@dataclass
class _Table:
    numeric: np.ndarray  # (n, p) float with NaN for missing
    categorical: np.ndarray  # (n, q) int codes, -1 for missing
    cardinalities: list[int]


def _to_table(X: Any) -> _Table:
    """Split ``X`` into numeric columns (float, NaN = missing) and categorical codes (-1 = missing)."""
    numeric_cols: list[np.ndarray] = []
    categorical_cols: list[np.ndarray] = []
    if hasattr(X, "columns") and hasattr(X, "dtypes"):  # a pandas DataFrame
        columns = [X[c] for c in X.columns]
        for column in columns:
            _split_column(column.to_numpy(), numeric_cols, categorical_cols, dtype=column.dtype)
    else:
        array = np.asarray(X)
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2:
            raise ValueError(f"`X` must be a 2-d table (rows x columns), but got an array of shape {array.shape}.")
        if array.dtype.kind in "biuf":
            numeric_cols.append(array.astype(float))
        else:
            for j in range(array.shape[1]):
                _split_column(array[:, j], numeric_cols, categorical_cols, dtype=array.dtype)
    n = _n_rows(X)
    numeric = np.column_stack(numeric_cols) if numeric_cols else np.empty((n, 0))
    numeric = numeric.reshape(n, -1)
    categorical = np.column_stack(categorical_cols) if categorical_cols else np.empty((n, 0), dtype=int)
    cardinalities = [int(col.max()) + 1 if col.size and col.max() >= 0 else 0 for col in categorical.T]
    return _Table(numeric, categorical.astype(int), cardinalities)


def _n_rows(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def _split_column(values: np.ndarray, numeric_cols: list, categorical_cols: list, dtype: Any) -> None:
    kind = getattr(np.dtype(dtype), "kind", "O") if not _is_pandas_extension(dtype) else "O"
    if kind in "iuf":
        numeric_cols.append(values.astype(float).reshape(-1, 1))
        return
    if kind == "b":
        categorical_cols.append(values.astype(int).reshape(-1, 1))
        return
    if _is_pandas_extension(dtype) and str(dtype).lower().startswith(("int", "uint", "float")):
        numeric_cols.append(np.asarray(values, dtype=float).reshape(-1, 1))
        return
    # Object, string or category: numbers stored as objects stay numeric, anything else is a category.
    try:
        as_float = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        as_float = None
    if as_float is not None:
        numeric_cols.append(as_float.reshape(-1, 1))
        return
    categorical_cols.append(_codes(values).reshape(-1, 1))


def _is_pandas_extension(dtype: Any) -> bool:
    return not isinstance(dtype, np.dtype)


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of a categorical column, -1 for missing (None, NaN, pd.NA, NaT)."""
    codes, _ = pd.factorize(pd.Series(values, dtype=object).astype(object), use_na_sentinel=True)
    return np.asarray(codes, dtype=int)


def _target(y: Any, n: int) -> tuple[np.ndarray, bool]:
    """Return the target as class codes (classification) or floats (regression)."""
    values = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"`y` must be one column of targets, but got shape {values.shape}.")
    if len(values) != n:
        raise ValueError(f"`X` has {n} rows but `y` has {len(values)}; they must match row for row.")
    if values.dtype.kind in "iub":
        if len(np.unique(values)) <= _MAX_CLASSES_FOR_INTEGER_TARGET or values.dtype.kind == "b":
            return np.unique(values, return_inverse=True)[1], True
        return values.astype(float), False
    if values.dtype.kind == "f":
        finite = values[np.isfinite(values)]
        if finite.size and np.all(finite == np.round(finite)) and len(np.unique(finite)) <= 10:
            codes = np.full(len(values), -1)
            codes[np.isfinite(values)] = np.unique(finite, return_inverse=True)[1]
            return codes, True
        return values.astype(float), False
    return _codes(values), True


# ------------------------------------------------------------------------ features


def compute_meta_features(X: Any, y: Any, *, seed: int = 0) -> MetaFeatures:
    """Describe the task ``(X, y)`` by the :data:`META_FEATURE_SET` meta-features.

    ``X`` is a numpy array or a pandas DataFrame with numeric and/or categorical
    (object, string, category, bool) columns; missing values are allowed. ``y`` is a
    class label per row (classification) or a number per row (regression: a float
    target with more than 10 distinct values, or an integer one with more than 30).
    """
    began = time.perf_counter()
    n = _n_rows(X)
    if n < 2:
        raise ValueError(f"`X` needs at least 2 rows to describe a task, but has {n}.")
    # Every step works on a few thousand rows: BLAS/OpenMP thread pools cost more in
    # start-up and contention than they save (3 s instead of 0.3 s on a busy 2-core box).
    with limit_threads(1, native="all"):
        return _compute(X, y, n, seed, began)


def _compute(X: Any, y: Any, n: int, seed: int, began: float) -> MetaFeatures:
    table = _to_table(X)
    target, is_classification = _target(y, n)
    rng = np.random.default_rng(seed)
    values: dict[str, float] = {}
    notes: list[str] = []
    _shape_features(values, table, n)
    _target_features(values, target, is_classification)
    summary_rows = _subsample(n, _SUMMARY_ROWS, rng)
    _statistical_features(values, table.numeric, summary_rows)
    _information_features(values, table, target, is_classification, summary_rows)
    _landmark_features(values, table, target, is_classification, _subsample(n, _LANDMARK_ROWS, rng), notes)
    clean = {name: _finite(values.get(name, 0.0)) for name in META_FEATURE_NAMES}
    return MetaFeatures(
        values=clean,
        fingerprint=data_fingerprint(X, y),
        task_type="classification" if is_classification else "regression",
        seconds=time.perf_counter() - began,
        notes=tuple(notes),
    )


def _finite(value: float) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


def _subsample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size, replace=False)) if n > size else np.arange(n)


def _shape_features(values: dict[str, float], table: _Table, n: int) -> None:
    p, q = table.numeric.shape[1], table.categorical.shape[1]
    d = max(p + q, 1)
    missing = np.isnan(table.numeric).sum() + (table.categorical < 0).sum()
    rows_with_missing = np.isnan(table.numeric).any(axis=1) | (table.categorical < 0).any(axis=1)
    values["log_n_rows"] = math.log(n)
    values["log_n_columns"] = math.log(d)
    values["log_columns_per_row"] = math.log(d / n)
    values["frac_categorical"] = q / d
    values["frac_missing_cells"] = missing / (n * d)
    values["frac_rows_with_missing"] = float(rows_with_missing.mean()) if rows_with_missing.size else 0.0
    values["log_mean_cardinality"] = math.log(np.mean(table.cardinalities)) if table.cardinalities else 0.0


def _target_features(values: dict[str, float], target: np.ndarray, is_classification: bool) -> None:
    values["is_classification"] = float(is_classification)
    if is_classification:
        counts = np.bincount(target[target >= 0])
        counts = counts[counts > 0]
        k = len(counts)
        freq = counts / counts.sum()
        values["log_n_classes"] = math.log(k)
        values["class_entropy_normalised"] = _entropy(freq) / math.log(k) if k > 1 else 0.0
        values["minority_to_majority"] = counts.min() / counts.max()
        values["majority_fraction"] = float(freq.max())
    else:
        finite = target[np.isfinite(target)]
        skew, kurt = _skew_kurtosis(finite[:, None])
        values["target_skew"] = float(np.clip(skew[0], -50, 50))
        values["target_kurtosis"] = float(np.clip(kurt[0], -3, 100))


def _entropy(freq: np.ndarray) -> float:
    freq = freq[freq > 0]
    return float(-(freq * np.log(freq)).sum())


def _skew_kurtosis(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column skewness and excess kurtosis, ignoring NaN; constant columns give 0."""
    mean = np.nanmean(columns, axis=0)
    centred = columns - mean
    var = np.nanmean(centred**2, axis=0)
    safe = np.where(var > 1e-12, var, 1.0)
    skew = np.nanmean(centred**3, axis=0) / safe**1.5
    kurt = np.nanmean(centred**4, axis=0) / safe**2 - 3.0
    constant = var <= 1e-12
    skew[constant] = 0.0
    kurt[constant] = 0.0
    return skew, kurt


def _statistical_features(values: dict[str, float], numeric: np.ndarray, rows: np.ndarray) -> None:
    if numeric.shape[1] == 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are summarised as 0
        sample = numeric[rows]
        skew, kurt = _skew_kurtosis(sample)
        values["mean_abs_skew"] = float(np.nanmean(np.clip(np.abs(skew), 0, 50)))
        values["mean_kurtosis"] = float(np.nanmean(np.clip(kurt, -3, 100)))
        # Outlier columns: a value further than 5 robust spreads from the median.
        median = np.nanmedian(sample, axis=0)
        spread = np.nanmedian(np.abs(sample - median), axis=0) * 1.4826
        far = np.abs(sample - median) > 5 * np.where(spread > 0, spread, np.inf)
        values["frac_outlier_columns"] = float(far.any(axis=0).mean())
        values["frac_zero_cells"] = float(np.nanmean(sample == 0))
        columns = sample[:, :60]  # correlation summaries stabilise well before all pairs are seen
        filled = np.where(np.isnan(columns), np.nanmean(columns, axis=0), columns)
        filled = np.nan_to_num(filled)
        std = filled.std(axis=0)
        keep = std > 1e-12
        if keep.sum() >= 2:
            corr = np.corrcoef(filled[:, keep], rowvar=False)
            upper = corr[np.triu_indices_from(corr, k=1)]
            values["mean_abs_correlation"] = float(np.mean(np.abs(upper)))


def _discretise(table: _Table, rows: np.ndarray) -> np.ndarray:
    """All columns of the sampled rows as small integer codes (equal-frequency bins), -1 = missing."""
    parts = []
    if table.numeric.shape[1]:
        sample = table.numeric[rows]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            edges = np.nanquantile(sample, np.linspace(0, 1, _BINS + 1)[1:-1], axis=0)
        codes = np.full(sample.shape, -1, dtype=int)
        for j in range(sample.shape[1]):
            col = sample[:, j]
            ok = ~np.isnan(col)
            codes[ok, j] = np.searchsorted(edges[:, j], col[ok], side="right")
        parts.append(codes)
    if table.categorical.shape[1]:
        cats = table.categorical[rows]
        parts.append(np.where(cats >= _BINS * 5, _BINS * 5, cats))  # cap very high cardinality
    return np.column_stack(parts) if parts else np.empty((len(rows), 0), dtype=int)


def _information_features(
    values: dict[str, float], table: _Table, target: np.ndarray, is_classification: bool, rows: np.ndarray
) -> None:
    codes = _discretise(table, rows)
    if codes.shape[1] == 0:
        return
    t = target[rows]
    if is_classification:
        t_codes = t
    else:
        ok = np.isfinite(t)
        edges = np.quantile(t[ok], np.linspace(0, 1, _BINS + 1)[1:-1]) if ok.any() else np.zeros(_BINS - 1)
        t_codes = np.where(ok, np.searchsorted(edges, np.nan_to_num(t), side="right"), -1)
    entropies, informations = [], []
    for j in range(codes.shape[1]):
        col = codes[:, j]
        ok = (col >= 0) & (t_codes >= 0)
        if ok.sum() < 2:
            continue
        h_x, h_y, mi = _mutual_information(col[ok], t_codes[ok])
        k = len(np.unique(col[ok]))
        entropies.append(h_x / math.log(k) if k > 1 else 0.0)
        informations.append(mi)
    if not entropies:
        return
    mean_h = float(np.mean(entropies))
    mean_mi = float(np.mean(informations))
    values["mean_attribute_entropy"] = mean_h
    values["mean_mutual_information"] = mean_mi
    values["max_mutual_information"] = float(np.max(informations))
    # On a log scale: the raw ratio spans decades between informative and noisy data.
    values["log_noise_to_signal"] = math.log1p(float(np.clip((mean_h - mean_mi) / max(mean_mi, 1e-3), 0, 1000)))


def _mutual_information(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    h_a, h_b = _entropy(pa), _entropy(pb)
    return h_a, h_b, max(h_a + h_b - _entropy(joint.ravel()), 0.0)


def _landmark_features(
    values: dict[str, float],
    table: _Table,
    target: np.ndarray,
    is_classification: bool,
    rows: np.ndarray,
    notes: list[str],
) -> None:
    """Cross-validated scores of three fast models: a decision stump, a linear model, 1-NN.

    Classification scores are balanced accuracy, regression scores R^2 (clipped at -1),
    all on at most ``_LANDMARK_ROWS`` rows with 3 folds.
    """
    X = _landmark_matrix(table, rows)
    y = target[rows]
    ok = y >= 0 if is_classification else np.isfinite(y)
    X, y = X[ok], y[ok]
    if X.shape[1] == 0 or len(y) < 6:
        notes.append("landmarkers skipped: too few rows or no usable column")
        return
    if is_classification:
        counts = np.bincount(y)
        if (counts[counts > 0] < 3).any() or (counts > 0).sum() < 2:
            notes.append("landmarkers skipped: a class has fewer than 3 rows")
            return
        folds = model_selection.StratifiedKFold(3, shuffle=True, random_state=0).split(X, y)
    else:
        folds = model_selection.KFold(3, shuffle=True, random_state=0).split(X)
    scores: dict[str, list[float]] = {"stump": [], "linear": [], "nn": []}
    for train, test in folds:
        for name, model in _landmark_models(is_classification).items():
            model.fit(X[train], y[train])
            scores[name].append(_score(model.predict(X[test]), y[test], is_classification))
    values["landmark_stump"] = float(np.mean(scores["stump"]))
    values["landmark_linear"] = float(np.mean(scores["linear"]))
    values["landmark_nearest_neighbour"] = float(np.mean(scores["nn"]))


def _landmark_models(is_classification: bool) -> dict[str, Any]:
    if is_classification:
        return {
            "stump": tree.DecisionTreeClassifier(max_depth=1, random_state=0),
            "linear": linear_model.RidgeClassifier(alpha=1.0),
            "nn": neighbors.KNeighborsClassifier(n_neighbors=1),
        }
    return {
        "stump": tree.DecisionTreeRegressor(max_depth=1, random_state=0),
        "linear": linear_model.Ridge(alpha=1.0),
        "nn": neighbors.KNeighborsRegressor(n_neighbors=1),
    }


def _score(predicted: np.ndarray, truth: np.ndarray, is_classification: bool) -> float:
    if is_classification:
        recalls = [np.mean(predicted[truth == c] == c) for c in np.unique(truth)]
        return float(np.mean(recalls))
    residual = np.sum((truth - predicted) ** 2)
    total = np.sum((truth - truth.mean()) ** 2)
    return float(max(1.0 - residual / total, -1.0)) if total > 0 else 0.0


def _landmark_matrix(table: _Table, rows: np.ndarray) -> np.ndarray:
    """Numeric columns median-imputed and standardised, categorical codes scaled to [0, 1]."""
    parts = []
    if table.numeric.shape[1]:
        sample = table.numeric[rows]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nan_to_num(np.nanmedian(sample, axis=0))
        sample = np.where(np.isnan(sample), median, sample)
        std = sample.std(axis=0)
        parts.append((sample - sample.mean(axis=0)) / np.where(std > 1e-12, std, 1.0))
    if table.categorical.shape[1]:
        cats = table.categorical[rows].astype(float)
        card = np.maximum(np.array(table.cardinalities, dtype=float) - 1, 1.0)
        parts.append(np.where(cats < 0, -1.0, cats / card))
    return np.column_stack(parts) if parts else np.empty((len(rows), 0))


# --------------------------------------------------------------------- fingerprint


def data_fingerprint(X: Any, y: Any) -> str:
    """A short, stable hash of the data's shape, column names and contents.

    The same data gives the same fingerprint across sessions (it hashes values, not
    object ids), so the store can tell that a new study runs on a task it has seen.
    Large data is hashed on a fixed, evenly spaced set of rows to stay fast.
    """
    h = hashlib.sha256()
    n = _n_rows(X)
    step = max(1, n // 2000)
    rows = np.arange(0, n, step)
    h.update(f"rows={n};".encode())
    if hasattr(X, "columns"):
        h.update(("cols=" + "|".join(map(str, X.columns)) + ";").encode())
        sample = X.iloc[rows]
        for column in sample.columns:
            h.update(_column_bytes(sample[column].to_numpy()))
    else:
        array = np.asarray(X)
        array = array.reshape(n, -1)
        h.update(f"cols={array.shape[1]};".encode())
        for j in range(array.shape[1]):
            h.update(_column_bytes(array[rows, j]))
    target = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y).reshape(n, -1)[rows]
    h.update(_column_bytes(target.ravel()))
    return h.hexdigest()[:16]


def _column_bytes(column: np.ndarray) -> bytes:
    if column.dtype.kind in "biuf":
        return np.ascontiguousarray(column.astype(float)).tobytes()
    return "\x1f".join(map(str, column)).encode()
