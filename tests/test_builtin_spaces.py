"""The built-in spaces: valid defaults, estimators that fit, clear errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from jupyter_metahpo.builtin_spaces import (
    BUILTIN_SPACES,
    FAMILIES,
    builtin_space_names,
    get_builtin_space,
    space_for_estimator,
)


@pytest.fixture(scope="module")
def tiny_data():
    from sklearn.datasets import make_classification, make_regression

    Xc, yc = make_classification(n_samples=80, n_features=6, n_informative=4, n_classes=3, random_state=0)
    Xr, yr = make_regression(n_samples=80, n_features=6, noise=0.1, random_state=0)
    return {"classification": (Xc, yc), "regression": (Xr, (yr - yr.mean()) / yr.std())}


# The torch spaces pay torch's import and first-optimiser cost (seconds): marked slow.
_SPACE_CASES = [
    pytest.param(name, marks=pytest.mark.slow) if name.startswith("torch_") else name for name in sorted(BUILTIN_SPACES)
]


@pytest.mark.parametrize("name", _SPACE_CASES)
def test_every_space_builds_estimators_that_fit_and_predict(name, tiny_data):
    builtin = get_builtin_space(name)
    X, y = tiny_data[builtin.task]
    sampled = builtin.space.sample(np.random.default_rng(1))
    if "max_epochs" in sampled:
        sampled["max_epochs"] = builtin.space["max_epochs"].low  # keep the torch fits quick
    configs = [dict(builtin.default_config), sampled]
    from threadpoolctl import threadpool_limits

    for config in configs:
        # One OpenMP thread: on a shared, busy machine HGB's thread barriers spin for seconds.
        with threadpool_limits(limits=1):
            model = builtin.build(config).fit(X, y)
        predictions = model.predict(X)
        assert predictions.shape == (len(y),)
        if builtin.task == "classification":
            assert set(np.unique(predictions)) <= set(np.unique(y))
        else:
            assert np.all(np.isfinite(predictions))


def test_default_config_lies_in_the_space_and_matches_its_parameters():
    for builtin in BUILTIN_SPACES.values():
        assert builtin.space.validate_config(builtin.default_config) == dict(builtin.default_config)
        assert builtin.description
        assert builtin.task in ("classification", "regression")


def test_params_maps_space_names_to_estimator_arguments():
    mlp = get_builtin_space("mlp_classifier")
    params = mlp.params({**mlp.default_config, "hidden_layer_width": 32, "n_hidden_layers": 3})
    assert params["hidden_layer_sizes"] == (32, 32, 32)
    assert "hidden_layer_width" not in params and params["max_iter"] == 200
    model = mlp.build(mlp.default_config)
    assert model.get_params()["hidden_layer_sizes"] == (100,)


def test_fixed_settings_reach_the_estimator():
    hgb = get_builtin_space("hgb_regressor")
    model = hgb.build(hgb.default_config, random_state=7)
    assert model.early_stopping is True and model.random_state == 7
    assert get_builtin_space("logistic_regression").build({"C": 2.0, "l1_ratio": 0.5, "class_weight": None}).solver == "saga"


def test_a_config_outside_the_space_is_rejected_naming_the_parameter():
    svc = get_builtin_space("svc")
    with pytest.raises(ValueError, match="C=100000.0 is outside"):
        svc.params({"C": 1e5, "gamma": 0.1, "class_weight": None})


def test_unknown_space_name_lists_the_valid_names():
    with pytest.raises(KeyError, match="hgb_classifier"):
        get_builtin_space("xgboost")


def test_families_pair_classifiers_with_regressors():
    assert set(FAMILIES) == {"hgb", "random_forest", "svm", "logistic_regression", "mlp", "torch_mlp"}
    for family, names in FAMILIES.items():
        assert {BUILTIN_SPACES[n].family for n in names} == {family}
    assert builtin_space_names("regression") == [n for n, s in BUILTIN_SPACES.items() if s.task == "regression"]


def test_space_for_estimator_finds_the_space_of_an_estimator():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.svm import SVC

    assert space_for_estimator(SVC()).name == "svc"
    assert space_for_estimator(RandomForestRegressor).name == "random_forest_regressor"
    with pytest.raises(KeyError, match="pass `space=` explicitly"):
        space_for_estimator(object())


def test_importing_the_spaces_does_not_import_torch():
    import subprocess

    code = "import sys, jupyter_metahpo.builtin_spaces, jupyter_metahpo.torch_mlp; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_torch_mlp_is_reproducible_and_leaves_the_global_seed_alone(tiny_data):
    import torch

    from jupyter_metahpo.torch_mlp import TorchMLPClassifier

    X, y = tiny_data["classification"]
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = TorchMLPClassifier(max_epochs=5, dropout=0.2, random_state=3).fit(X, y).predict_proba(X)
    assert torch.equal(torch.rand(1), before)
    b = TorchMLPClassifier(max_epochs=5, dropout=0.2, random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-5)
