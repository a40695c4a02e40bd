"""Search spaces as users write them, for the built-in families, each with the user's cell.

Issue 18 asks whether the warm start carries over to the spaces people write for
their own training code. Each :class:`UserCase` is one way a user departs from a
built-in space (:data:`CASES`):

- ``a``: the parameters renamed (``n_trees``, ``eta``, ``lr``, ``hidden``, ...);
- ``b``: other ranges, narrower, wider and shifted;
- ``c``: a subset of the built-in parameters, the others fixed at the defaults;
- ``d``: a superset, with parameters the prior never saw;
- ``e``: a kind that differs (an integer range as a log-uniform float, a share of
  the features as ``choice("sqrt", "log2", None)``, a batch size as a choice);
- ``f``: a toy function of its own over two of the family's parameter names, so that
  the prior shares names with it and nothing else.

A case holds the user's space, the user's cell as *text* (what ``%%metatune`` reads)
and the transform that maps a user configuration back into the built-in space, where
the prior's pool scores it: renames, kind conversions (with the task's number of
features, for ``"sqrt"``/``"log2"``), the built-in defaults for the parameters the user
left out, the user's extra parameters ignored (on a pool they cannot change the score),
and values beyond the built-in ranges clipped to them (the pool holds nothing beyond).
Case ``f`` is scored by its own function on a pool of its own (:func:`toy_pool`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jupyter_metahpo.builtin_spaces import get_builtin_space
from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.matching import PENALTY_L1_RATIOS
from jupyter_metahpo.space import Choice, SearchSpace, choice, intrange, loguniform, uniform

from .pool import PoolTask

__all__ = [
    "CASES",
    "CASE_TITLES",
    "FAMILIES",
    "POOL_FAMILIES",
    "CASES_VERSION",
    "Link",
    "UserCase",
    "family_cases",
    "feature_share",
    "toy_pool",
]

#: The families measured, each by its classifier space (the space whose pools are held out).
FAMILIES: dict[str, str] = {
    "random_forest": "random_forest_classifier",
    "hgb": "hgb_classifier",
    "svm": "svc",
    "torch_mlp": "torch_mlp_classifier",
    "logistic_regression": "logistic_regression",
    "mlp": "mlp_classifier",
}
#: The families of the pool part by default (the logistic regression has only the penalty cell, case e, trained live;
#: scikit-learn's MLP a cell leaving its layer sizes out, case c, and its layer sizes as a choice of tuples, case e,
#: run on the pools with ``--families mlp``).
POOL_FAMILIES: tuple[str, ...] = ("hgb", "random_forest", "svm", "torch_mlp")

CASE_TITLES: dict[str, str] = {
    "a": "renamed (aliases, estimator arguments)",
    "b": "other ranges (narrower, wider, shifted)",
    "c": "a subset (the others at their defaults)",
    "d": "a superset (1-2 parameters the prior never saw)",
    "e": "a kind that differs",
    "f": "an unrelated toy function sharing two names",
}
CASES: tuple[str, ...] = tuple(CASE_TITLES)

#: Bumped whenever a case's space, cell or transform changes, so that stored runs are not reused.
CASES_VERSION = 1


def feature_share(option: Any, n_features: float) -> float:
    """The share of ``n_features`` features that scikit-learn's ``max_features=option`` draws per split.

    ``"sqrt"`` and ``"log2"`` are counts (``max(1, int(sqrt(n)))``, ``max(1, int(log2(n)))``),
    ``None`` means every feature, and a float is already a share.
    """
    n = max(float(n_features), 1.0)
    if option is None:
        return 1.0
    if option == "sqrt":
        return max(1, int(math.sqrt(n))) / n
    if option == "log2":
        return max(1, int(math.log2(n))) / n
    if isinstance(option, (int, float)) and not isinstance(option, bool) and 0.0 < float(option) <= 1.0:
        return float(option)
    raise ValueError(f"max_features={option!r} is not 'sqrt', 'log2', None or a share in (0, 1].")


def _same(value: Any, n_features: float) -> Any:
    return value


def _as_share(value: Any, n_features: float) -> float:
    return feature_share(value, n_features)


@dataclass(frozen=True)
class Link:
    """Where one built-in parameter's value comes from: the user's parameter ``user``, through ``convert``."""

    user: str
    convert: Callable[[Any, float], Any] = _same
    note: str = ""


@dataclass(frozen=True)
class UserCase:
    """One user-written space of one family, its cell, and how its configurations map to the built-in space.

    ``links`` maps each built-in parameter to the user's parameter that sets it; a
    built-in parameter without a link keeps the built-in default. ``synthetic`` marks
    case ``f``, whose configurations are scored by ``cell`` itself on a pool of its own
    (``links`` is then empty and :meth:`to_builtin` is not used).
    """

    case: str
    family: str
    space: SearchSpace
    cell: str
    links: Mapping[str, Link] = field(default_factory=dict)
    notes: str = ""
    synthetic: bool = False

    @property
    def builtin(self):
        return get_builtin_space(FAMILIES[self.family])

    @property
    def key(self) -> str:
        return f"{self.case}:{self.family}"

    @property
    def extra_parameters(self) -> tuple[str, ...]:
        """The user's parameters no built-in parameter comes from (the prior never saw them)."""
        used = {link.user for link in self.links.values()}
        return tuple(name for name in self.space.names if name not in used)

    def to_builtin(self, config: Mapping[str, Any], n_features: float) -> dict[str, Any]:
        """The built-in configuration the user's ``config`` trains, clipped into the built-in ranges."""
        if self.synthetic:
            raise ValueError(f"case {self.case!r} is scored by its own function, not in the built-in space.")
        config = self.space.validate_config(config)
        builtin = self.builtin
        out = dict(builtin.default_config)
        for name, link in self.links.items():
            out[name] = _into(builtin.space[name], link.convert(config[link.user], n_features), name)
        return builtin.space.validate_config(out)

    def objective(self) -> Callable[..., float]:
        """The toy objective of case ``f``, compiled from its cell (the score is what the cell computes)."""
        if not self.synthetic:
            raise ValueError(f"case {self.case!r} trains the built-in estimator; only case 'f' has its own objective.")
        namespace: dict[str, Any] = {}
        exec(compile(self.cell, f"<case {self.key}>", "exec"), namespace)  # noqa: S102 - our own case text
        return namespace["objective"]


def _into(parameter: Any, value: Any, name: str) -> Any:
    if isinstance(parameter, Choice):
        if not parameter.contains(value):
            raise ValueError(f"{name}={value!r} is not an option of the built-in {parameter!r}.")
        return value
    return parameter.clip(float(value))


# The user's cells -----------------------------------------------------------------------

_SKLEARN_HEADER = '''from sklearn.model_selection import cross_val_score
{imports}

def train({signature}):
    """Cross-validated balanced accuracy of the model on (X, y), loaded in an earlier cell."""
{body}    return cross_val_score(model, X, y, cv=5, scoring="balanced_accuracy").mean()
'''


def _sklearn_cell(imports: str, signature: Sequence[str], body: str) -> str:
    return _SKLEARN_HEADER.format(imports=imports, signature=", ".join(signature), body=body)


def _rf_cell(signature: Sequence[str], args: Mapping[str, str], extra: str = "") -> str:
    body = (
        "    model = RandomForestClassifier(\n"
        f"        n_estimators={args['n_estimators']},\n"
        f"        max_features={args['max_features']},\n"
        f"        min_samples_leaf={args['min_samples_leaf']},\n"
        f"        bootstrap={args['bootstrap']},\n"
        f"{extra}"
        "        n_jobs=-1,\n"
        "        random_state=0,\n"
        "    )\n"
    )
    return _sklearn_cell("from sklearn.ensemble import RandomForestClassifier", signature, body)


def _hgb_cell(signature: Sequence[str], args: Mapping[str, str], extra: str = "") -> str:
    body = (
        "    model = HistGradientBoostingClassifier(\n"
        f"        learning_rate={args['learning_rate']},\n"
        f"        max_iter={args['max_iter']},\n"
        f"        max_leaf_nodes={args['max_leaf_nodes']},\n"
        f"        min_samples_leaf={args['min_samples_leaf']},\n"
        f"        l2_regularization={args['l2_regularization']},\n"
        f"        max_features={args['max_features']},\n"
        f"{extra}"
        "        early_stopping=True,\n"
        "        random_state=0,\n"
        "    )\n"
    )
    return _sklearn_cell("from sklearn.ensemble import HistGradientBoostingClassifier", signature, body)


def _logistic_cell(signature: Sequence[str], args: Mapping[str, str]) -> str:
    # The prior's fixed solver and iterations (builtin_spaces.logistic_regression); the cell scales as the prior did.
    mixing = f"penalty={args['penalty']}" if "penalty" in args else f"l1_ratio={args['l1_ratio']}"
    body = (
        "    model = make_pipeline(\n"
        "        SimpleImputer(),\n"
        "        StandardScaler(),\n"
        f"        LogisticRegression(C={args['C']}, {mixing}, class_weight={args['class_weight']}, solver=\"saga\", "
        "max_iter=500),\n"
        "    )\n"
    )
    imports = (
        "from sklearn.impute import SimpleImputer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler"
    )
    return _sklearn_cell(imports, signature, body)


def _svm_cell(signature: Sequence[str], args: Mapping[str, str], extra: str = "") -> str:
    body = (
        "    model = make_pipeline(\n"
        "        StandardScaler(),\n"
        f"        SVC(kernel=\"rbf\", C={args['C']}, gamma={args['gamma']}, class_weight={args['class_weight']},"
        f"{extra} cache_size=500),\n"
        "    )\n"
    )
    imports = (
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "from sklearn.svm import SVC"
    )
    return _sklearn_cell(imports, signature, body)


_TORCH_CELL = '''import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.metrics import balanced_accuracy_score


def train({signature}):
    """A small MLP on tensors prepared in an earlier cell; balanced accuracy on the validation split."""
    torch.manual_seed(0)
    layers, width_in = [], X_train.shape[1]
    for _ in range({n_hidden_layers}):
        layers += [nn.Linear(width_in, {hidden_width}), {activation}, nn.Dropout({dropout})]
        width_in = {hidden_width}
    model = nn.Sequential(*layers, nn.Linear(width_in, n_classes))
    optimiser = torch.optim.AdamW(model.parameters(), lr={learning_rate}, weight_decay={weight_decay})
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size={batch_size}, shuffle=True)
    for epoch in range({max_epochs}):
        model.train()
        for xb, yb in loader:
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward(){clip}
            optimiser.step()
    model.eval()
    with torch.no_grad():
        predicted = model(X_valid).argmax(dim=1)
    return balanced_accuracy_score(y_valid, predicted)
'''


def _torch_cell(
    signature: Sequence[str], args: Mapping[str, str], activation: str = "nn.ReLU()", clip: str = ""
) -> str:
    return _TORCH_CELL.format(signature=", ".join(signature), activation=activation, clip=clip, **args)


_TOY_CELL = '''import math


def objective({p}, {q}):
    # A toy surface to try the tuner on before the real training code is ready.
    u = (math.log({p}) {shift_p}) / {scale_p:.4f}
    v = (math.log({q}) {shift_q}) / {scale_q:.4f}
    return -(u * u + v * v) + 0.3 * math.sin(3.0 * u) * math.cos(2.0 * v)
'''


def _toy_cell(space: SearchSpace, centre: Sequence[float]) -> str:
    """The toy objective over ``space``'s two log-scale parameters, its optimum near ``centre`` (unit cube)."""
    (p, q), parameters = space.names, list(space.values())
    logs = [(math.log(parameter.low), math.log(parameter.high)) for parameter in parameters]
    centres = [low + c * (high - low) for (low, high), c in zip(logs, centre)]
    scales = [(high - low) / 2.0 for low, high in logs]
    shifts = [f"- {c:.4f}" if c >= 0 else f"+ {-c:.4f}" for c in centres]
    return _TOY_CELL.format(p=p, q=q, shift_p=shifts[0], shift_q=shifts[1], scale_p=scales[0], scale_q=scales[1])


def toy_centre(key: str) -> tuple[float, float]:
    """Where the toy objective of held-out task ``key`` peaks, in its unit square (a fixed draw per key)."""
    import hashlib

    seed = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)
    low_high = np.random.default_rng(seed).uniform(0.1, 0.9, size=2)
    return float(low_high[0]), float(low_high[1])


# The cases of each family ----------------------------------------------------------------


def _identity_links(names: Sequence[str]) -> dict[str, Link]:
    return {name: Link(name) for name in names}


def _random_forest(n_features_note: str) -> dict[str, UserCase]:
    family = "random_forest"
    builtin = get_builtin_space(FAMILIES[family])
    names = builtin.space.names
    plain = {n: n for n in names}
    cases = {
        "a": UserCase(
            "a", family,
            SearchSpace({"n_trees": intrange(20, 200, log=True), "feature_fraction": uniform(0.05, 1.0),
                         "min_leaf": intrange(1, 32, log=True), "bootstrap": choice(True, False)}),
            _rf_cell(["n_trees", "feature_fraction", "min_leaf", "bootstrap"],
                     {"n_estimators": "n_trees", "max_features": "feature_fraction", "min_samples_leaf": "min_leaf",
                      "bootstrap": "bootstrap"}),
            {"n_estimators": Link("n_trees"), "max_features": Link("feature_fraction"),
             "min_samples_leaf": Link("min_leaf"), "bootstrap": Link("bootstrap")},
        ),
        "b": UserCase(
            "b", family,
            SearchSpace({"n_estimators": intrange(50, 500, log=True), "max_features": uniform(0.1, 0.5),
                         "min_samples_leaf": intrange(1, 100, log=True), "bootstrap": choice(True, False)}),
            _rf_cell(names, plain),
            _identity_links(names),
            "n_estimators shifted (50-500), max_features narrower (0.1-0.5), min_samples_leaf wider (1-100)",
        ),
        "c": UserCase(
            "c", family,
            SearchSpace({"max_features": uniform(0.05, 1.0), "min_samples_leaf": intrange(1, 32, log=True)}),
            _rf_cell(["max_features", "min_samples_leaf"],
                     {**plain, "n_estimators": "100", "bootstrap": "True"}),
            _identity_links(["max_features", "min_samples_leaf"]),
            "n_estimators=100, bootstrap=True fixed",
        ),
        "d": UserCase(
            "d", family,
            SearchSpace({**builtin.space, "max_depth": intrange(2, 32, log=True),
                         "criterion": choice("gini", "entropy")}),
            _rf_cell([*names, "max_depth", "criterion"], plain,
                     extra="        max_depth=max_depth,\n        criterion=criterion,\n"),
            _identity_links(names),
            "max_depth and criterion added",
        ),
        "e": UserCase(
            "e", family,
            SearchSpace({"n_estimators": loguniform(20, 200), "max_features": choice("sqrt", "log2", None),
                         "min_samples_leaf": intrange(1, 32, log=True), "bootstrap": choice(True, False)}),
            _rf_cell(names, {**plain, "n_estimators": "int(n_estimators)"}),
            {**_identity_links(names), "max_features": Link("max_features", _as_share, n_features_note)},
            "n_estimators a log-uniform float; max_features a choice of 'sqrt', 'log2', None",
        ),
    }
    toy = SearchSpace({"n_estimators": intrange(10, 1000, log=True), "min_samples_leaf": intrange(1, 64, log=True)})
    return {**cases, "f": _toy_case(family, toy)}


def _hgb() -> dict[str, UserCase]:
    family = "hgb"
    builtin = get_builtin_space(FAMILIES[family])
    names = builtin.space.names
    plain = {n: n for n in names}
    renamed = {"learning_rate": "eta", "max_iter": "n_iter", "max_leaf_nodes": "max_leaves",
               "min_samples_leaf": "min_leaf", "l2_regularization": "reg_lambda", "max_features": "feature_fraction"}
    subset = ["learning_rate", "max_leaf_nodes", "min_samples_leaf"]
    defaults = builtin.default_config
    cases = {
        "a": UserCase(
            "a", family,
            SearchSpace({renamed[n]: p for n, p in builtin.space.items()}),
            _hgb_cell([renamed[n] for n in names], renamed),
            {n: Link(renamed[n]) for n in names},
        ),
        "b": UserCase(
            "b", family,
            SearchSpace({"learning_rate": loguniform(1e-3, 1.0), "max_iter": intrange(50, 500, log=True),
                         "max_leaf_nodes": intrange(8, 64, log=True), "min_samples_leaf": intrange(1, 200, log=True),
                         "l2_regularization": loguniform(1e-4, 1.0), "max_features": uniform(0.5, 1.0)}),
            _hgb_cell(names, plain),
            _identity_links(names),
            "learning_rate wider (1e-3-1), max_iter shifted (50-500), max_leaf_nodes narrower (8-64), "
            "min_samples_leaf wider (1-200), l2_regularization narrower (1e-4-1), max_features narrower (0.5-1)",
        ),
        "c": UserCase(
            "c", family,
            SearchSpace({n: builtin.space[n] for n in subset}),
            _hgb_cell(subset, {**{n: repr(defaults[n]) for n in names}, **{n: n for n in subset}}),
            _identity_links(subset),
            "max_iter, l2_regularization, max_features fixed at the defaults",
        ),
        "d": UserCase(
            "d", family,
            SearchSpace({**builtin.space, "max_depth": intrange(2, 16), "max_bins": intrange(32, 255, log=True)}),
            _hgb_cell([*names, "max_depth", "max_bins"], plain,
                      extra="        max_depth=max_depth,\n        max_bins=max_bins,\n"),
            _identity_links(names),
            "max_depth and max_bins added",
        ),
        "e": UserCase(
            "e", family,
            SearchSpace({**builtin.space, "max_iter": loguniform(20, 200),
                         "max_leaf_nodes": choice(7, 15, 31, 63, 127)}),
            _hgb_cell(names, {**plain, "max_iter": "int(max_iter)"}),
            _identity_links(names),
            "max_iter a log-uniform float; max_leaf_nodes a choice of 7, 15, 31, 63, 127",
        ),
    }
    toy = SearchSpace({"learning_rate": loguniform(1e-3, 1.0), "max_leaf_nodes": intrange(2, 256, log=True)})
    return {**cases, "f": _toy_case(family, toy)}


def _svm() -> dict[str, UserCase]:
    family = "svm"
    builtin = get_builtin_space(FAMILIES[family])
    names = builtin.space.names
    plain = {n: n for n in names}
    renamed = {"C": "svm_c", "gamma": "kernel_gamma", "class_weight": "weighting"}
    cases = {
        "a": UserCase(
            "a", family,
            SearchSpace({renamed[n]: p for n, p in builtin.space.items()}),
            _svm_cell([renamed[n] for n in names], renamed),
            {n: Link(renamed[n]) for n in names},
            "no alias exists for C and gamma: only the SVC(...) arguments tie the names",
        ),
        "b": UserCase(
            "b", family,
            SearchSpace({"C": loguniform(1e-5, 1e6), "gamma": loguniform(1e-3, 1e2),
                         "class_weight": choice(None, "balanced")}),
            _svm_cell(names, plain),
            _identity_links(names),
            "C wider (1e-5-1e6), gamma shifted (1e-3-1e2)",
        ),
        "c": UserCase(
            "c", family,
            SearchSpace({"C": builtin.space["C"], "gamma": builtin.space["gamma"]}),
            _svm_cell(["C", "gamma"], {**plain, "class_weight": "None"}),
            _identity_links(["C", "gamma"]),
            "class_weight=None fixed",
        ),
        "d": UserCase(
            "d", family,
            SearchSpace({**builtin.space, "tol": loguniform(1e-5, 1e-1), "shrinking": choice(True, False)}),
            _svm_cell([*names, "tol", "shrinking"], plain, extra=" tol=tol, shrinking=shrinking,"),
            _identity_links(names),
            "tol and shrinking added",
        ),
        "e": UserCase(
            "e", family,
            SearchSpace({"C": choice(0.01, 0.1, 1.0, 10.0, 100.0, 1000.0), "gamma": choice(1e-4, 1e-3, 1e-2, 0.1, 1.0),
                         "class_weight": choice(None, "balanced")}),
            _svm_cell(names, plain),
            _identity_links(names),
            "C and gamma as choices of numbers (a grid search's values)",
        ),
    }
    toy = SearchSpace({"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0)})
    return {**cases, "f": _toy_case(family, toy)}


def _logistic_regression() -> dict[str, UserCase]:
    family = "logistic_regression"
    builtin = get_builtin_space(FAMILIES[family])
    space = SearchSpace({"C": builtin.space["C"], "penalty": choice("l1", "l2"),
                         "class_weight": builtin.space["class_weight"]})
    names = space.names
    return {
        "e": UserCase(
            "e", family, space,
            _logistic_cell(names, {n: n for n in names}),
            {"C": Link("C"), "l1_ratio": Link("penalty", lambda penalty, n_features: PENALTY_L1_RATIOS[penalty]),
             "class_weight": Link("class_weight")},
            "penalty a choice of 'l1' / 'l2' (the prior's l1_ratio 1 / 0; scikit-learn 1.8 deprecates penalty for "
            "l1_ratio, but cells written before still use it)",
        ),
    }


#: The arguments of the MLP cells, in the order they are written; a cell leaves out those ``args`` lacks.
_MLP_ARGUMENTS = ("hidden_layer_sizes", "activation", "alpha", "learning_rate_init", "batch_size")


def _mlp_cell(signature: Sequence[str], args: Mapping[str, str]) -> str:
    # The prior's fixed settings (builtin_spaces.mlp_classifier); the cell imputes and scales as the prior did
    # (prior/protocol.py: numeric columns median-imputed; some datasets have missing values).
    given = "".join(f"{name}={args[name]}, " for name in _MLP_ARGUMENTS if name in args)
    body = (
        "    model = make_pipeline(\n"
        "        SimpleImputer(strategy=\"median\"),\n"
        "        StandardScaler(),\n"
        f"        MLPClassifier({given}max_iter=200, early_stopping=True, n_iter_no_change=10),\n"
        "    )\n"
    )
    imports = (
        "from sklearn.impute import SimpleImputer\n"
        "from sklearn.neural_network import MLPClassifier\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler"
    )
    return _sklearn_cell(imports, signature, body)


def _exact_mlp_cell(signature: Sequence[str], args: Mapping[str, str]) -> str:
    """The built-in space as a cell: equal layers of ``hidden_layer_width``, as the prior's ``to_params`` builds."""
    return _mlp_cell(signature, {**args, "hidden_layer_sizes": "(hidden_layer_width,) * n_hidden_layers"})


#: Case e's layer sizes, as scikit-learn users write them for ``hidden_layer_sizes``.
MLP_LAYER_SIZES = ((32,), (64,), (128,), (256,), (64, 64), (128, 128), (128, 64), (64, 64, 64))


def _mean_width(sizes: Sequence[int], n_features: float) -> float:
    return math.exp(sum(math.log(w) for w in sizes) / len(sizes))


def _mlp() -> dict[str, UserCase]:
    family = "mlp"
    builtin = get_builtin_space(FAMILIES[family])
    layers = ("hidden_layer_width", "n_hidden_layers")
    space = SearchSpace({"hidden_layer_sizes": choice(*MLP_LAYER_SIZES),
                         **{n: p for n, p in builtin.space.items() if n not in layers}})
    names = space.names
    links = {"hidden_layer_width": Link("hidden_layer_sizes", _mean_width),
             "n_hidden_layers": Link("hidden_layer_sizes", lambda sizes, n_features: len(sizes)),
             **_identity_links([n for n in names if n != "hidden_layer_sizes"])}
    subset = ["activation", "alpha", "learning_rate_init"]
    return {
        "c": UserCase(
            "c", family, SearchSpace({n: builtin.space[n] for n in subset}),
            _mlp_cell(subset, {n: n for n in subset}), _identity_links(subset),
            "hidden_layer_sizes and batch_size left out (scikit-learn's (100,) and 'auto', the built-in defaults: "
            "width 100, one layer, batch 200)",
        ),
        "e": UserCase(
            "e", family, space, _mlp_cell(names, {n: n for n in names}), links,
            "hidden_layer_sizes a choice of tuples (" + ", ".join(map(repr, MLP_LAYER_SIZES)) + ") for the prior's "
            "width and number of equal layers (scored at the tuple's geometric mean width)",
        ),
    }


def _torch_mlp() -> dict[str, UserCase]:
    family = "torch_mlp"
    builtin = get_builtin_space(FAMILIES[family])
    names = builtin.space.names
    plain = {n: n for n in names}
    renamed = {"hidden_width": "hidden", "n_hidden_layers": "n_layers", "dropout": "dropout",
               "learning_rate": "lr", "weight_decay": "wd", "batch_size": "bs", "max_epochs": "epochs"}
    subset = ["learning_rate", "hidden_width", "weight_decay"]
    defaults = builtin.default_config
    cases = {
        "a": UserCase(
            "a", family,
            SearchSpace({renamed[n]: p for n, p in builtin.space.items()}),
            _torch_cell([renamed[n] for n in names], renamed),
            {n: Link(renamed[n]) for n in names},
        ),
        "b": UserCase(
            "b", family,
            SearchSpace({"hidden_width": intrange(32, 512, log=True), "n_hidden_layers": intrange(1, 4),
                         "dropout": uniform(0.0, 0.3), "learning_rate": loguniform(1e-5, 1e-1),
                         "weight_decay": loguniform(1e-5, 1e-1), "batch_size": intrange(32, 128, log=True),
                         "max_epochs": intrange(5, 100, log=True)}),
            _torch_cell(names, plain),
            _identity_links(names),
            "hidden_width shifted (32-512), n_hidden_layers wider (1-4), dropout narrower (0-0.3), learning_rate "
            "wider (1e-5-0.1), weight_decay shifted (1e-5-0.1), batch_size narrower (32-128), max_epochs wider (5-100)",
        ),
        "c": UserCase(
            "c", family,
            SearchSpace({n: builtin.space[n] for n in subset}),
            _torch_cell(subset, {**{n: repr(defaults[n]) for n in names}, **{n: n for n in subset}}),
            _identity_links(subset),
            "n_hidden_layers, dropout, batch_size, max_epochs fixed at the defaults",
        ),
        "d": UserCase(
            "d", family,
            SearchSpace({**builtin.space, "activation": choice("relu", "gelu", "tanh"),
                         "grad_clip": loguniform(0.1, 10.0)}),
            _torch_cell([*names, "activation", "grad_clip"], plain,
                        activation="{\"relu\": nn.ReLU(), \"gelu\": nn.GELU(), \"tanh\": nn.Tanh()}[activation]",
                        clip="\n            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)"),
            _identity_links(names),
            "activation and grad_clip added",
        ),
        "e": UserCase(
            "e", family,
            SearchSpace({**builtin.space, "hidden_width": choice(32, 64, 128, 256),
                         "batch_size": choice(16, 32, 64, 128), "max_epochs": loguniform(10, 60)}),
            _torch_cell(names, {**plain, "max_epochs": "int(max_epochs)"}),
            _identity_links(names),
            "hidden_width and batch_size choices of numbers; max_epochs a log-uniform float",
        ),
    }
    toy = SearchSpace({"learning_rate": loguniform(1e-5, 1e-1), "weight_decay": loguniform(1e-7, 1e-1)})
    return {**cases, "f": _toy_case(family, toy)}


def _toy_case(family: str, space: SearchSpace, centre: Sequence[float] = (0.5, 0.5)) -> UserCase:
    names = ", ".join(space.names)
    return UserCase("f", family, space, _toy_cell(space, centre), notes=f"toy function of {names}", synthetic=True)


def toy_case_for(case: UserCase, key: str) -> UserCase:
    """Case ``f`` for held-out task ``key``: the same toy function, its optimum placed by the key."""
    import dataclasses

    return dataclasses.replace(case, cell=_toy_cell(case.space, toy_centre(key)))


_N_FEATURES_NOTE = "'sqrt'/'log2' as scikit-learn counts them on the dataset's columns"
_BUILDERS: dict[str, Callable[[], dict[str, UserCase]]] = {
    "random_forest": lambda: _random_forest(_N_FEATURES_NOTE),
    "hgb": _hgb,
    "svm": _svm,
    "torch_mlp": _torch_mlp,
    "logistic_regression": _logistic_regression,
    "mlp": _mlp,
}


def family_cases(family: str) -> dict[str, UserCase]:
    """Every case of one family, by case letter."""
    if family not in _BUILDERS:
        raise KeyError(f"no user-space cases for family {family!r}; choose one of {sorted(_BUILDERS)}.")
    return _BUILDERS[family]()


# Case f's own pool ----------------------------------------------------------------------

#: Configurations in case f's pool (a scrambled Sobol sample of the toy space).
TOY_POOL_SIZE = 128


def toy_pool(case: UserCase, held_out: PoolTask, size: int = TOY_POOL_SIZE) -> PoolTask:
    """Case ``f``'s task for one held-out prior task: the toy objective (optimum placed by the task's key)
    evaluated on a Sobol pool of the toy space; regret is exact on it as on the prior's pools."""
    from scipy.stats import qmc

    case = toy_case_for(case, held_out.key)
    unit = qmc.Sobol(d=len(case.space), scramble=True, seed=0).random_base2(math.ceil(math.log2(size)))[:size]
    configs = case.space.decode(unit)
    objective = case.objective()
    values = [float(objective(**config)) for config in configs]
    study = PastStudy.from_arrays(
        f"toy:{held_out.key}", f"toy-{held_out.dataset}", case.space, "maximize", configs, values,
        source="toy", extra={"cell": case.cell},
    )
    return PoolTask(f"toy/{held_out.key}", held_out.family, held_out.dataset, study, held_out.group,
                    {"cell": case.cell})


def exact_case(family: str) -> UserCase:
    """The built-in space written as a cell (the built-in names and ranges): the live reference.

    Only the scikit-learn families: the torch loop's cell needs tensors prepared for it.
    """
    builders = {"random_forest": _rf_cell, "hgb": _hgb_cell, "svm": _svm_cell, "logistic_regression": _logistic_cell,
                "mlp": _exact_mlp_cell}
    if family not in builders:
        raise KeyError(f"no live cell for family {family!r}; choose one of {sorted(builders)}.")
    builtin = get_builtin_space(FAMILIES[family])
    names = builtin.space.names
    cell = builders[family](names, {n: n for n in names})
    return UserCase("exact", family, builtin.space, cell, _identity_links(names), "the built-in space")
