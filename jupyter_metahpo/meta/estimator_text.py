"""Write a scikit-learn estimator object as the code that would build it.

The source reader (:mod:`.source`) learns what a study tunes from code:
``SVC(C=C, gamma=gamma)`` says the parameter ``C`` is a support vector machine's ``C``.
Some studies have an estimator *object* instead of such code: ``MetaSearchCV(pipe,
{"svc__C": ...})`` builds no estimator in an objective of its own, and a cell may tune a
pipeline made in an earlier cell through ``pipe.set_params(svc__C=C)``. Writing the object
as code, with the tuned parameters in their places, lets the one reader read both:

>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from sklearn.svm import SVC
>>> estimator_code(make_pipeline(StandardScaler(), SVC(kernel="poly")), {"svc__C": "C"})  # doctest: +SKIP
"Pipeline(steps=[('standardscaler', StandardScaler()), ('svc', SVC(C=C, kernel='poly'))])"

Only what the user chose is written: a constructor argument that differs from its class's
default as a literal, a nested estimator as its own code; arguments left at their
defaults are left out, as a user's call leaves them out, so the reader reads the
library's defaults for them as it does for written code. Nothing here imports
scikit-learn: estimators are read through ``get_params``, as scikit-learn's own
``clone`` reads them.
"""

from __future__ import annotations

import ast
import copy
import inspect
import keyword
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .inlining import class_node, function_node, in_users_file

__all__ = ["configured_estimators", "estimator_code", "is_estimator", "objective_code", "user_set_parameters"]

#: Constructor arguments holding ``(name, estimator, ...)`` tuples whose parameters scikit-learn names
#: ``name__param`` (Pipeline, FeatureUnion, ColumnTransformer, the voting and stacking ensembles).
_STEP_LISTS = ("steps", "transformer_list", "transformers", "estimators")


def is_estimator(value: Any) -> bool:
    """Whether ``value`` is an estimator object (it has ``get_params``), not a class."""
    try:
        return not isinstance(value, type) and callable(getattr(value, "get_params", None))
    except Exception:  # noqa: BLE001 - a notebook object whose attributes raise is no estimator to read
        return False


def user_set_parameters(estimator: Any) -> set[str]:
    """Constructor arguments of ``estimator`` that differ from their defaults: the user chose them.

    A default is the class's, or a base class's where the constructor passes its ``**kwargs`` on (skorch's
    ``NeuralNetClassifier`` to ``NeuralNet``'s ``lr`` and ``max_epochs``). A parameter that ``get_params`` lists and
    no constructor names (SciKeras's ``hidden``, passed to the model function; skorch's ``module__hidden``) was
    given by the user."""
    defaults: dict[str, Any] = {}
    for cls in type(estimator).__mro__:
        try:
            parameters = inspect.signature(cls.__init__).parameters.values()
        except (TypeError, ValueError):
            continue
        for parameter in parameters:
            if parameter.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
                defaults.setdefault(parameter.name, parameter.default)
    current = estimator.get_params(deep=False)
    chosen = set()
    for name, value in current.items():
        if name.startswith("_"):  # a library's own bookkeeping (skorch's _params_to_validate), no argument
            continue
        default = defaults.get(name, inspect.Parameter.empty)
        if default is inspect.Parameter.empty:  # required, or named by no constructor: the user passed it
            chosen.add(name)
            continue
        try:
            same = bool(value == default)
        except (TypeError, ValueError):  # arrays and other values without a plain ==
            same = value is default
        if not same:
            chosen.add(name)
    return chosen


def estimator_code(estimator: Any, tuned: Mapping[str, str]) -> str:
    """``estimator`` as the expression that builds it, each of ``tuned``'s parameters set to its code.

    ``tuned`` maps scikit-learn parameter names (``"C"``, ``"svc__C"`` in a Pipeline) to the
    code that sets them (the user's parameter name). A tuned name that is not one of the
    estimator's parameters is left out.
    """
    return _code(estimator, "", dict(tuned), {})


def objective_code(
    estimator: Any, names: list[str] | tuple[str, ...], paths: Mapping[str, str] | None = None
) -> str | None:
    """The source of an objective that fits ``estimator`` with each of ``names`` (its parameters) tuned.

    ``paths`` maps a name to the estimator parameter it sets when they differ (``{"C": "svc__C"}``; by default
    each name is one). ``None`` when a name is not a Python identifier (it could not be a function's argument).
    """
    if not all(name.isidentifier() and not keyword.iskeyword(name) for name in names):
        return None
    arguments = ", ".join(names)
    paths = paths or {}
    helpers: dict[str, str] = {}
    code = _code(estimator, "", {paths.get(name, name): name for name in names}, helpers)
    # The user's functions and classes the estimator is given (SciKeras's model function, skorch's module) are
    # written before it, so that the reader follows them as helpers of the same text.
    return "".join(f"{source}\n\n" for source in helpers.values()) + (
        f"def objective({arguments}):\n    return cross_val_score({code}, X, y).mean()\n")


def configured_estimators(function: ast.AST, namespace: Mapping[str, Any], names: Iterable[str]) -> list[ast.expr]:
    """The estimator objects ``function`` configures with ``set_params``, each as the expression that builds it so.

    ``pipe.set_params(svc__C=C)`` or ``clone(pipe).set_params(**config)``, where ``pipe`` names an
    estimator object in ``namespace`` (the objective's globals and closure), reads as
    ``Pipeline(steps=[..., ('svc', SVC(C=C))])``: each keyword in its step, and ``**config`` as
    ``config["svc__C"]`` for each of ``names`` (the space's) that is one of the estimator's parameters.
    """
    wanted = tuple(names)
    found = []
    for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "set_params"):
            continue
        estimator = _named_estimator(call.func.value, namespace)
        try:
            parameters = set(estimator.get_params(deep=True)) if estimator is not None else set()
        except Exception:  # noqa: BLE001 - a third-party get_params may fail; then nothing is known about it
            continue
        values: dict[str, ast.expr] = {}
        for keyword_ in call.keywords:
            if keyword_.arg is None:  # **config
                for name in (n for n in wanted if n in parameters):
                    values[name] = ast.Subscript(value=copy.deepcopy(keyword_.value), slice=ast.Constant(name),
                                                 ctx=ast.Load())
            elif keyword_.arg in parameters:
                values[keyword_.arg] = keyword_.value
        if values:
            try:
                found.append(_built_with(estimator, values))
            except SyntaxError:  # a class whose name is not Python code (made by type() at run time)
                continue
    return found


#: Calls that return a copy of the estimator they are given: ``clone(pipe)``, ``copy.deepcopy(pipe)``.
_COPIES = frozenset(("clone", "deepcopy"))


def _named_estimator(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        node = node.args[0] if callee in _COPIES else node
    value = namespace.get(node.id) if isinstance(node, ast.Name) else None
    return value if is_estimator(value) else None


def _built_with(estimator: Any, values: Mapping[str, ast.expr]) -> ast.expr:
    """The expression that builds ``estimator`` with each parameter path of ``values`` set to its expression."""
    placeholders = {path: f"_set_params_{index}" for index, path in enumerate(values)}
    expression = ast.parse(estimator_code(estimator, placeholders), mode="eval").body
    by_placeholder = {placeholders[path]: value for path, value in values.items()}

    class _Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return copy.deepcopy(by_placeholder[node.id]) if node.id in by_placeholder else node

    return _Substitute().visit(expression)


def _code(estimator: Any, prefix: str, tuned: dict[str, str], helpers: dict[str, str]) -> str:
    """The code that builds ``estimator``; the definition of each function or class of the user's that it is given
    goes into ``helpers``."""
    try:
        params = estimator.get_params(deep=False)
    except Exception:  # noqa: BLE001 - a third-party get_params may fail; then nothing is known about it
        return f"{type(estimator).__name__}()"
    chosen = user_set_parameters(estimator)
    arguments, consumed = [], set()
    for name, value in params.items():
        path = prefix + name
        if path in tuned:
            arguments.append(f"{name}={tuned[path]}")
        elif name in _STEP_LISTS and _is_step_list(value):
            arguments.append(f"{name}={_steps_code(value, prefix, tuned, helpers)}")
            consumed |= {step[0] for step in value}
        elif is_estimator(value):
            arguments.append(f"{name}={_code(value, path + '__', tuned, helpers)}")
            consumed.add(name)
        elif name in chosen and (literal := _literal_code(value)) is not None:
            arguments.append(f"{name}={literal}")
        elif name in chosen and (reference := _reference(value, helpers)) is not None:
            arguments.append(f"{name}={reference}")
    # A parameter routed through a name get_params does not list (SciKeras's model__hidden, set_params takes it).
    for path, code in tuned.items():
        name = path[len(prefix):] if path.startswith(prefix) else None
        if name and "__" in name and name not in params and name.partition("__")[0] not in consumed:
            arguments.append(f"{name}={code}")
    return f"{type(estimator).__name__}({', '.join(arguments)})"


def _reference(value: Any, helpers: dict[str, str]) -> str | None:
    """A function or class the estimator is given, as code: one of the user's by its name, its definition kept in
    ``helpers`` (SciKeras's ``model=get_model``, skorch's ``module=MLP``); a library's by its dotted path
    (``torch.optim.adam.Adam``). None for anything else, or a definition that cannot be read."""
    if not (inspect.isfunction(value) or inspect.isclass(value)) or "<" in value.__qualname__:
        return None
    if value.__module__ != "__main__" and not in_users_file(value):
        return f"{value.__module__}.{value.__qualname__}"
    if value.__name__ != value.__qualname__:
        return None
    node = function_node(inspect.unwrap(value)) if inspect.isfunction(value) else class_node(value)
    if node is None:
        return None
    helpers.setdefault(value.__name__, ast.unparse(node))
    return value.__name__


def _is_step_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(step, tuple) and len(step) >= 2 and isinstance(step[0], str) for step in value
    )


def _steps_code(steps: Any, prefix: str, tuned: dict[str, str], helpers: dict[str, str]) -> str:
    written = []
    for name, step, *_ in steps:
        if is_estimator(step):
            code = _code(step, f"{prefix}{name}__", tuned, helpers)
        else:  # "drop", "passthrough" or None: no estimator to read
            code = repr(step) if isinstance(step, str) or step is None else "None"
        written.append(f"({name!r}, {code})")
    return f"[{', '.join(written)}]"


def _literal_code(value: Any) -> str | None:
    """Python code for a plain value (a number, a string, a bool, ``None``, a tuple of them); None for others."""
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        value = value.item()  # a NumPy scalar
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, tuple):
        items = [_literal_code(item) for item in value]
        if None in items:
            return None
        return f"({', '.join(items)},)" if len(items) == 1 else f"({', '.join(items)})"
    return None
