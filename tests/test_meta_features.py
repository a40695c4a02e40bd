"""Task meta-features: every input shape a user has, a fixed named set, a stable fingerprint."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from jupyter_metahpo.meta.features import (
    META_FEATURE_NAMES,
    META_FEATURE_SET,
    compute_meta_features,
    data_fingerprint,
)


def _classification(n=600, d=8, seed=0, separable=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] > 0).astype(int) if separable else rng.integers(0, 2, n)
    return X, y


def test_numpy_classification_gives_every_named_feature_as_finite_float():
    X, y = _classification()
    mf = compute_meta_features(X, y)
    assert mf.feature_set == META_FEATURE_SET == "mhpo-v1"
    assert tuple(mf.values) == META_FEATURE_NAMES
    assert all(isinstance(v, float) and math.isfinite(v) for v in mf.values.values())
    assert mf.task_type == "classification"
    assert mf.values["log_n_rows"] == pytest.approx(math.log(600))
    assert mf.values["log_n_columns"] == pytest.approx(math.log(8))
    assert mf.values["frac_categorical"] == 0.0
    assert mf.vector().shape == (len(META_FEATURE_NAMES),)


def test_pandas_with_categorical_text_bool_and_missing_values():
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["paris", "rome", "oslo"], n).astype(object),
            "member": rng.random(n) > 0.5,
            "plan": pd.Categorical(rng.choice(["a", "b"], n)),
        }
    )
    frame.loc[:39, "age"] = np.nan  # 40 missing numeric cells
    frame.loc[:19, "city"] = None  # 20 missing categorical cells (rows 0..19 overlap rows 0..39)
    y = pd.Series(rng.choice(["yes", "no"], n))
    mf = compute_meta_features(frame, y)
    assert mf.values["frac_categorical"] == pytest.approx(3 / 5)
    assert mf.values["frac_missing_cells"] == pytest.approx(60 / (n * 5))
    assert mf.values["frac_rows_with_missing"] == pytest.approx(40 / n)
    assert mf.values["log_mean_cardinality"] == pytest.approx(math.log((3 + 2 + 2) / 3))
    assert all(math.isfinite(v) for v in mf.values.values())


def test_class_balance_and_entropy_of_an_imbalanced_target():
    X, _ = _classification(n=1000)
    y = np.array([0] * 900 + [1] * 100)
    mf = compute_meta_features(X, y)
    assert mf.values["minority_to_majority"] == pytest.approx(100 / 900)
    assert mf.values["majority_fraction"] == pytest.approx(0.9)
    p = np.array([0.9, 0.1])
    assert mf.values["class_entropy_normalised"] == pytest.approx(-(p * np.log(p)).sum() / math.log(2))


def test_float_target_with_many_values_is_regression():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(0, 0.1, 300)
    mf = compute_meta_features(X, y)
    assert mf.task_type == "regression"
    assert mf.values["is_classification"] == 0.0
    assert mf.values["landmark_linear"] > 0.9  # a linear target: the linear landmarker nearly explains it


def test_landmarkers_separate_an_easy_task_from_a_noisy_one():
    easy = compute_meta_features(*_classification(separable=True))
    noisy = compute_meta_features(*_classification(separable=False))
    assert easy.values["landmark_stump"] > 0.9
    assert noisy.values["landmark_stump"] < 0.65
    assert easy.values["max_mutual_information"] > noisy.values["max_mutual_information"]


def test_fingerprint_is_stable_and_sensitive_to_content():
    X, y = _classification()
    assert data_fingerprint(X, y) == data_fingerprint(X.copy(), y.copy())
    changed = X.copy()
    changed[0, 0] += 1.0
    assert data_fingerprint(changed, y) != data_fingerprint(X, y)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    assert data_fingerprint(frame, pd.Series(y)) == data_fingerprint(frame.copy(), pd.Series(y))
    assert compute_meta_features(X, y).fingerprint == data_fingerprint(X, y)


def test_mismatched_rows_are_reported_clearly():
    X, y = _classification()
    with pytest.raises(ValueError, match="`X` has 600 rows but `y` has 599"):
        compute_meta_features(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 rows"):
        compute_meta_features(X[:1], y[:1])


def test_importing_the_package_and_meta_does_not_import_torch():
    code = "import sys, jupyter_metahpo, jupyter_metahpo.meta; print('torch' in sys.modules, 'botorch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
