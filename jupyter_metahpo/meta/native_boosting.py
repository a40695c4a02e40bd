"""LightGBM's and XGBoost's own training calls read as the estimators they amount to.

Optuna's LightGBM and XGBoost examples, and many notebooks, train with the libraries' own
API rather than their scikit-learn classes: ``lgb.train(param, dtrain)`` or
``xgb.train(param, dtrain, num_boost_round=n)``, the parameters in a dict. The source
reader knows ``LGBMClassifier`` and ``XGBClassifier``; :func:`what_native_boosting_runs`
writes each such call out (after the statement that makes it, under the same branches) as the
class called with that dict, its boosting rounds and, when
the dict is written out and sets none, the library's own learning rate
(``LGBMClassifier(**param, n_estimators=100, learning_rate=0.1)``; ``...Regressor`` when the
dict's ``objective`` is a regression one), so that the dict's keys take their roles
(``num_leaves`` is the built-in ``max_leaf_nodes``, ``lambda_l2`` its ``l2_regularization``,
``min_child_samples`` its ``min_samples_leaf``) and the past is read at the rounds and the
rate that run.
"""

from __future__ import annotations

import ast
import copy

from ._syntax import argument, assignments, dotted, literal

__all__ = ["NATIVE_ROUNDS", "ROUNDS", "what_native_boosting_runs"]

#: The modules' training functions, the scikit-learn classes they amount to, their default boosting rounds and
#: their default learning rate (LightGBM's ``learning_rate``, XGBoost's ``eta``).
NATIVE_ROUNDS = {
    "lightgbm": ("LGBMClassifier", "LGBMRegressor", 100, 0.1),
    "xgboost": ("XGBClassifier", "XGBRegressor", 10, 0.3),
}
#: The names the libraries take for the learning rate, and for the boosting rounds (which a dict's key overrides).
_RATES = frozenset(("learning_rate", "eta", "shrinkage_rate", "shrinkage"))
ROUNDS = frozenset(("num_iterations", "num_iteration", "n_iter", "num_tree", "num_trees", "num_round", "num_rounds",
                    "num_boost_round", "n_estimators", "nrounds"))
_ALIASES = {"lgb": "lightgbm", "lightgbm": "lightgbm", "xgb": "xgboost", "xgboost": "xgboost"}
_TRAINING = ("train", "cv")


def what_native_boosting_runs(call: ast.Call, function: ast.AST) -> list[ast.stmt]:
    """When ``call`` (of ``function``, where its dict may be assigned) is ``lgb.train`` / ``lgb.cv`` /
    ``xgb.train`` / ``xgb.cv``, the estimator it amounts to, as a statement (see the module's docstring); else
    none."""
    parts = (dotted(call.func) or "").split(".")
    library = _ALIASES.get(parts[0]) if len(parts) == 2 and parts[1] in _TRAINING else None
    params = argument(call, "params", 0)
    if library is None or params is None:
        return []
    classifier, regressor, default_rounds, default_rate = NATIVE_ROUNDS[library]
    rounds = argument(call, "num_boost_round", 2)
    written = _written_dict(params, function)
    keys = {literal(k) for k in written.keys} if written is not None and None not in written.keys else None
    keywords = [ast.keyword(arg=None, value=copy.deepcopy(params))]
    if not (keys and keys & ROUNDS):  # a key for the rounds overrides the argument
        keywords.append(ast.keyword(arg="n_estimators", value=copy.deepcopy(rounds) if rounds is not None
                                    else ast.Constant(default_rounds)))
    if keys is not None and not keys & _RATES:
        keywords.append(ast.keyword(arg="learning_rate", value=ast.Constant(default_rate)))  # the library's own
    estimator = regressor if _regression(written) else classifier
    statement = ast.Expr(value=ast.Call(func=ast.Name(id=estimator, ctx=ast.Load()), args=[], keywords=keywords))
    return [ast.fix_missing_locations(statement)]


def _written_dict(params: ast.expr, function: ast.AST) -> ast.Dict | None:
    """The dict literal ``params`` is: written there, or the one dict a local of that name is assigned."""
    if isinstance(params, ast.Name):
        assigned = assignments(function).get(params.id, [])
        params = assigned[0] if len(assigned) == 1 else params
    return params if isinstance(params, ast.Dict) else None


def _regression(params: ast.Dict | None) -> bool:
    """Whether the dict's ``objective`` is a regression one (``"regression"``, ``"reg:squarederror"``)."""
    for key, value in zip(params.keys, params.values) if params is not None else ():
        if key is not None and literal(key) == "objective":
            objective = literal(value)
            return isinstance(objective, str) and objective.startswith(("reg", "huber", "fair", "quantile"))
    return False
