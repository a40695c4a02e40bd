"""Named search spaces for common estimators, each with the function that builds it.

A :class:`BuiltinSpace` ties together a search space whose parameter names are
meaningful, the estimator's defaults projected into that space, the settings it
fixes (to bound cost, or because they are not worth tuning) and ``params(config)``,
which turns a configuration into the estimator's keyword arguments.
``build(config)`` returns a fresh, unfitted scikit-learn estimator.

>>> from jupyter_metahpo.builtin_spaces import get_builtin_space
>>> hgb = get_builtin_space("hgb_classifier")
>>> model = hgb.build(hgb.default_config)   # HistGradientBoostingClassifier(...)

The spaces are shared by the bundled prior (``jupyter_metahpo.prior``), so changing a
space here invalidates the prior's runs for it: the prior records the space's JSON
and refuses to mix runs of different spaces.

Where an estimator's default cannot be a point of the space (``max_features="sqrt"``,
``gamma="scale"``, a penalty of exactly 0 on a log scale) ``default_config`` holds the
nearest sensible stand-in and the entry's docstring says so.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .space import SearchSpace, choice, intrange, loguniform, uniform

__all__ = ["BuiltinSpace", "BUILTIN_SPACES", "FAMILIES", "get_builtin_space", "builtin_space_names", "space_for_estimator"]

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True)
class BuiltinSpace:
    """A documented search space for one estimator.

    ``name`` identifies it (``"hgb_classifier"``), ``family`` groups the classifier
    and regressor of one model (``"hgb"``), ``task`` is ``"classification"`` or
    ``"regression"``. ``fixed`` holds settings passed to every estimator built, and
    ``needs_scaling`` says whether features should be standardised first. ``optimizer``
    names the gradient update the estimator runs as ``torch.optim`` names it (``"AdamW"``),
    and ``activation`` the activation it fixes as ``torch.nn`` names it (``"ReLU"``), for a
    training loop that chooses them (:mod:`.meta.as_it_ran`).
    """

    name: str
    family: str
    task: str
    estimator_path: str  # "module:ClassName", imported only when building
    space: SearchSpace
    default_config: Mapping[str, Any]
    description: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    needs_scaling: bool = False
    to_params: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    optimizer: str | None = None
    activation: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "default_config", MappingProxyType(self.space.validate_config(self.default_config)))
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))

    def params(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The estimator's keyword arguments for ``config`` (validated), fixed settings included."""
        config = self.space.validate_config(config)
        tuned = self.to_params(config) if self.to_params is not None else dict(config)
        return {**self.fixed, **tuned}

    def estimator_class(self) -> type:
        # By its path, so that the spaces are importable without scikit-learn or torch loaded.
        module, _, name = self.estimator_path.partition(":")
        return getattr(importlib.import_module(module), name)

    def build(self, config: Mapping[str, Any], random_state: int | None = 0) -> Any:
        """A fresh, unfitted estimator for ``config``."""
        params = self.params(config)
        cls = self.estimator_class()
        if random_state is not None and "random_state" in _init_parameters(cls):
            params.setdefault("random_state", random_state)
        return cls(**params)


def _init_parameters(cls: type) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters)


# Parameter mappings for spaces whose names differ from the estimator's --------------


def _mlp_params(config: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(config)
    width, layers = params.pop("hidden_layer_width"), params.pop("n_hidden_layers")
    params["hidden_layer_sizes"] = (width,) * layers
    return params


# The spaces ----------------------------------------------------------------------


def _hgb_space() -> SearchSpace:
    return SearchSpace(
        {
            "learning_rate": loguniform(0.01, 0.5),
            "max_iter": intrange(20, 200, log=True),
            "max_leaf_nodes": intrange(4, 128, log=True),
            "min_samples_leaf": intrange(2, 100, log=True),
            "l2_regularization": loguniform(1e-6, 10.0),
            "max_features": uniform(0.2, 1.0),
        }
    )


_HGB_DEFAULTS = {
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 1e-6,  # scikit-learn's default is 0, which a log scale cannot hold
    "max_features": 1.0,
}
# Early stopping on a 10% validation split bounds the cost of large max_iter; without
# it scikit-learn only stops early above 10,000 rows.
_HGB_FIXED = {"early_stopping": True, "validation_fraction": 0.1, "n_iter_no_change": 10}


def _rf_space() -> SearchSpace:
    return SearchSpace(
        {
            "n_estimators": intrange(20, 200, log=True),
            "max_features": uniform(0.05, 1.0),
            "min_samples_leaf": intrange(1, 32, log=True),
            "bootstrap": choice(True, False),
        }
    )


def _svm_space(regression: bool) -> SearchSpace:
    params = {"C": loguniform(1e-3, 1e4), "gamma": loguniform(1e-5, 10.0)}
    if regression:
        params["epsilon"] = loguniform(1e-3, 1.0)
    else:
        params["class_weight"] = choice(None, "balanced")
    return SearchSpace(params)


def _mlp_space() -> SearchSpace:
    return SearchSpace(
        {
            "hidden_layer_width": intrange(16, 256, log=True),
            "n_hidden_layers": intrange(1, 3),
            "activation": choice("relu", "tanh"),
            "alpha": loguniform(1e-6, 1e-1),
            "learning_rate_init": loguniform(1e-4, 1e-1),
            "batch_size": intrange(16, 256, log=True),
        }
    )


_MLP_DEFAULTS = {
    "hidden_layer_width": 100,
    "n_hidden_layers": 1,
    "activation": "relu",
    "alpha": 1e-4,
    "learning_rate_init": 1e-3,
    "batch_size": 200,
}
# max_iter bounds the epochs; early stopping (off in scikit-learn by default) ends
# runs that stopped improving, which keeps the cost of the prior's build bounded.
_MLP_FIXED = {"max_iter": 200, "early_stopping": True, "n_iter_no_change": 10}


def _torch_mlp_space() -> SearchSpace:
    return SearchSpace(
        {
            "hidden_width": intrange(16, 256, log=True),
            "n_hidden_layers": intrange(1, 3),
            "dropout": uniform(0.0, 0.5),
            "learning_rate": loguniform(1e-4, 3e-2),
            "weight_decay": loguniform(1e-6, 1e-2),
            "batch_size": intrange(16, 256, log=True),
            "max_epochs": intrange(10, 60, log=True),
        }
    )


_TORCH_MLP_DEFAULTS = {
    "hidden_width": 64,
    "n_hidden_layers": 2,
    "dropout": 0.0,
    "learning_rate": 1e-3,
    "weight_decay": 1e-6,
    "batch_size": 64,
    "max_epochs": 30,
}


def _make_spaces() -> dict[str, BuiltinSpace]:
    spaces = [
        BuiltinSpace(
            "hgb_classifier", "hgb", CLASSIFICATION,
            "sklearn.ensemble:HistGradientBoostingClassifier", _hgb_space(), _HGB_DEFAULTS,
            "Histogram gradient boosting: learning rate, boosting rounds (early stopping on), "
            "tree size, leaf size, L2 penalty and the share of features per split.",
            fixed=_HGB_FIXED,
        ),
        BuiltinSpace(
            "hgb_regressor", "hgb", REGRESSION,
            "sklearn.ensemble:HistGradientBoostingRegressor", _hgb_space(), _HGB_DEFAULTS,
            "Histogram gradient boosting for regression; the same space as hgb_classifier.",
            fixed=_HGB_FIXED,
        ),
        BuiltinSpace(
            "random_forest_classifier", "random_forest", CLASSIFICATION,
            "sklearn.ensemble:RandomForestClassifier", _rf_space(),
            # scikit-learn's max_features="sqrt" depends on the data; 0.3 is its value
            # for about 10 features and a fair middle ground across the prior's datasets.
            {"n_estimators": 100, "max_features": 0.3, "min_samples_leaf": 1, "bootstrap": True},
            "Random forest: number of trees (at most 200), share of features per split, "
            "leaf size and bootstrapping.",
            fixed={"n_jobs": 1},
        ),
        BuiltinSpace(
            "random_forest_regressor", "random_forest", REGRESSION,
            "sklearn.ensemble:RandomForestRegressor", _rf_space(),
            {"n_estimators": 100, "max_features": 1.0, "min_samples_leaf": 1, "bootstrap": True},
            "Random forest for regression; the same space as random_forest_classifier.",
            fixed={"n_jobs": 1},
        ),
        BuiltinSpace(
            "svc", "svm", CLASSIFICATION, "sklearn.svm:SVC", _svm_space(regression=False),
            # gamma="scale" is 1 / (n_features * var(X)); on standardised features with
            # about 20 columns that is 0.05.
            {"C": 1.0, "gamma": 0.05, "class_weight": None},
            "RBF support vector classifier on standardised features: C, the kernel width "
            "gamma and class weighting.",
            fixed={"kernel": "rbf", "cache_size": 500, "max_iter": 1_000_000},
            needs_scaling=True,
        ),
        BuiltinSpace(
            "svr", "svm", REGRESSION, "sklearn.svm:SVR", _svm_space(regression=True),
            {"C": 1.0, "gamma": 0.05, "epsilon": 0.1},
            "RBF support vector regression on standardised features (and target): C, gamma "
            "and the width epsilon of the insensitive tube.",
            fixed={"kernel": "rbf", "cache_size": 500, "max_iter": 1_000_000},
            needs_scaling=True,
        ),
        BuiltinSpace(
            "logistic_regression", "logistic_regression", CLASSIFICATION,
            "sklearn.linear_model:LogisticRegression",
            SearchSpace({"C": loguniform(1e-4, 1e3), "l1_ratio": uniform(0.0, 1.0), "class_weight": choice(None, "balanced")}),
            {"C": 1.0, "l1_ratio": 0.0, "class_weight": None},
            "Elastic-net logistic regression (saga solver) on standardised features: inverse "
            "penalty C, the L1 share of the penalty and class weighting.",
            fixed={"solver": "saga", "max_iter": 500},
            needs_scaling=True,
        ),
        BuiltinSpace(
            "mlp_classifier", "mlp", CLASSIFICATION, "sklearn.neural_network:MLPClassifier",
            _mlp_space(), _MLP_DEFAULTS,
            "scikit-learn multi-layer perceptron: width and depth of equal hidden layers, "
            "activation, L2 penalty alpha, Adam's step size and the batch size.",
            fixed=_MLP_FIXED, needs_scaling=True, to_params=_mlp_params, optimizer="Adam",  # its default solver, "adam"
        ),
        BuiltinSpace(
            "mlp_regressor", "mlp", REGRESSION, "sklearn.neural_network:MLPRegressor",
            _mlp_space(), _MLP_DEFAULTS,
            "scikit-learn multi-layer perceptron for regression; the same space as mlp_classifier.",
            fixed=_MLP_FIXED, needs_scaling=True, to_params=_mlp_params, optimizer="Adam",  # its default solver, "adam"
        ),
        BuiltinSpace(
            "torch_mlp_classifier", "torch_mlp", CLASSIFICATION,
            "jupyter_metahpo.torch_mlp:TorchMLPClassifier", _torch_mlp_space(), _TORCH_MLP_DEFAULTS,
            "A small PyTorch MLP (ReLU, dropout, AdamW): width, depth, dropout, step size, "
            "weight decay, batch size and epochs (early stopping on a 10% split).",
            needs_scaling=True, optimizer="AdamW", activation="ReLU",
        ),
        BuiltinSpace(
            "torch_mlp_regressor", "torch_mlp", REGRESSION,
            "jupyter_metahpo.torch_mlp:TorchMLPRegressor", _torch_mlp_space(), _TORCH_MLP_DEFAULTS,
            "The small PyTorch MLP for regression; the same space as torch_mlp_classifier.",
            needs_scaling=True, optimizer="AdamW", activation="ReLU",
        ),
    ]
    return {space.name: space for space in spaces}


#: Every built-in space by name.
BUILTIN_SPACES: dict[str, BuiltinSpace] = _make_spaces()

#: Family name -> the names of its spaces (classifier first).
FAMILIES: dict[str, tuple[str, ...]] = {}
for _space in BUILTIN_SPACES.values():
    FAMILIES[_space.family] = FAMILIES.get(_space.family, ()) + (_space.name,)
del _space


def builtin_space_names(task: str | None = None) -> list[str]:
    """Names of the built-in spaces, optionally only those for ``task``."""
    return [name for name, s in BUILTIN_SPACES.items() if task is None or s.task == task]


def get_builtin_space(name: str) -> BuiltinSpace:
    """The built-in space called ``name``; the error lists the valid names."""
    try:
        return BUILTIN_SPACES[name]
    except KeyError:
        raise KeyError(f"no built-in space named {name!r}; choose one of {sorted(BUILTIN_SPACES)}.") from None


def space_for_estimator(estimator: Any) -> BuiltinSpace:
    """The built-in space for an estimator instance or class (for ``MetaSearchCV(space=None)``)."""
    cls = estimator if isinstance(estimator, type) else type(estimator)
    path = f"{cls.__module__}:{cls.__name__}"
    for space in BUILTIN_SPACES.values():
        module, _, name = space.estimator_path.partition(":")
        if name == cls.__name__ and (path == space.estimator_path or cls.__module__.startswith(module.split(".")[0])):
            return space
    raise KeyError(
        f"there is no built-in search space for {cls.__name__}; pass `space=` explicitly. Built-in spaces "
        f"cover: {sorted({s.estimator_path.partition(':')[2] for s in BUILTIN_SPACES.values()})}."
    )
