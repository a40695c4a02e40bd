"""The MetaSearchCV benchmark's pieces (benchmarks/bench_search_cv.py): the pipelines it searches are written in
scikit-learn's own parameter names, and its regret curves and table read runs as its docstring says."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _live_runs, bench_search_cv as bench  # noqa: E402
from helpers.keras_backend import keras_on_torch  # noqa: E402


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("family", bench.DEFAULT_ESTIMATORS)
def test_the_space_names_parameters_of_the_users_pipeline(task, family):
    dataset = SimpleNamespace(task=task, categorical_columns=["colour"], numeric_columns=["size", "weight"])
    pipeline, space = bench.user_pipeline(family, dataset)
    assert set(space) <= set(pipeline.get_params(deep=True))
    assert all("__" in name for name in space)


def test_the_scikeras_pipeline_routes_its_space_to_the_model_function_and_the_optimiser(monkeypatch):
    keras_on_torch(monkeypatch)
    pytest.importorskip("scikeras")
    from sklearn.base import clone

    dataset = SimpleNamespace(name="toy", task="classification", categorical_columns=["colour"],
                              numeric_columns=["size", "weight"])
    pipeline, space = bench.user_pipeline("scikeras", dataset)
    # Routed names: not in get_params, taken by set_params (as scikit-learn's searches take them).
    assert {"kerasclassifier__model__hidden", "kerasclassifier__optimizer__learning_rate"} <= set(space)
    clone(pipeline).set_params(**{name: 1 for name in space})
    with pytest.raises(ValueError, match="classification datasets; toy is regression"):
        bench.user_pipeline("scikeras", SimpleNamespace(**{**vars(dataset), "task": "regression"}))


def test_regret_is_normalised_per_dataset_and_pipeline_and_follows_the_incumbent():
    runs = [
        {"method": "a", "dataset": "d", "estimator": "svm", "seed": 0, "values": [0.5, float("nan"), 0.9]},
        {"method": "b", "dataset": "d", "estimator": "svm", "seed": 0, "values": [float("nan"), 0.7, 0.6]},
        {"method": "a", "dataset": "d", "estimator": "random_forest", "seed": 0, "values": [0.1, 0.2]},
    ]
    curves = _live_runs.regret_curves(runs, 3)
    assert np.allclose(curves[0], [1.0, 1.0, 0.0])  # between the worst (0.5) and the best (0.9) of svm on d
    assert np.allclose(curves[1], [1.0, 0.5, 0.5])  # a failed first candidate counts as the worst
    assert np.allclose(curves[2], [1.0, 0.0, 0.0])  # a shorter run keeps its last regret
    table = _live_runs.regret_table(runs[:2], curves[:2], [1, 3], reference="b")
    row = next(line for line in table.splitlines() if line.startswith("| a |"))
    assert "| 1 / 0 |" in row  # at trial 3, a (0.0) is below b (0.5) on the one shared run
