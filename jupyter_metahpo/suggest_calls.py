"""The search space an Optuna-style objective declares with its ``trial.suggest_*`` calls.

Users coming from Optuna write their space inside the objective, one call per parameter::

    def objective(trial):
        C = trial.suggest_float("C", 1e-2, 1e3, log=True)
        kernel = trial.suggest_categorical("kernel", ["rbf", "poly"])
        ...

Such an objective runs here as it is. Its space is read from the calls *before* any
trial runs (:func:`declared_space`, on the objective's syntax tree with its helpers inlined:
:func:`jupyter_metahpo.meta.declared_space.space_from_suggest_calls`), so that the warm start
can ask the past about it, which Optuna's define-by-run cannot: the code is read, never
run. The objective's ``trial`` handle then answers each call with the configuration being
tried (:meth:`jupyter_metahpo.reporting.Trial.suggest_float` and the others), after checking
that the value is one the call allows (:func:`declared_parameter`).

What is read: calls of ``suggest_float``, ``suggest_int``, ``suggest_categorical`` and
Optuna's older ``suggest_uniform``, ``suggest_loguniform`` and ``suggest_discrete_uniform``
on any name, in the objective and in the helpers it calls (:mod:`.meta.inlining`), whose
name and bounds are constants (literals, or names of the notebook holding a number, a
string or a list of them). A call inside an ``if`` is read like any other: the parameter
is in the space, and a trial whose branch skips the call leaves it unused (the warm start
reads which branch uses it, :mod:`.meta.branches`, and runs a past study's configurations
there: Optuna's ``if classifier == "SVC": svc_c = ...``). A name computed
from the variable of a loop over a known range (Optuna's PyTorch example:
``for i in range(n_layers): trial.suggest_int(f"n_units_l{i}", 4, 128)`` with ``n_layers``
suggested between 1 and 3) is every name the loop can make, ``n_units_l0`` to
``n_units_l2`` (:func:`loop_names`); a trial that builds fewer layers leaves the others
unused. A loop over a constant list of names (``for name in ("C", "gamma"):
trial.suggest_float(name, 1e-3, 1e3, log=True)``) declares each. Any other computed name, or a
bound read from data, cannot be known before the trial runs: the error names the call and says to
pass the space instead.

Users coming from KerasTuner bring a ``build_model(hp)`` that declares its space with
``hp.Int``, ``hp.Float``, ``hp.Choice`` and ``hp.Boolean`` (:data:`KERAS_TUNER_METHODS`), read
the same way and answered by the same handle (``hp.Fixed`` declares nothing: it is its value).
Their meaning here (:func:`declared_parameter`): ``Int(name, min_value, max_value)`` is
``intrange`` (``sampling="log"``: ``log=True``), ``Float`` ``uniform`` (``loguniform``);
with a ``step``, the choice of the grid's values, whose step multiplies under
``sampling="log"`` as in KerasTuner (``hp.Int("units", 32, 512, step=2, sampling="log")`` is
32, 64, ..., 512); ``"reverse_log"`` keeps the range (its values with a step), searched as
this package searches any range. ``Choice(name, values)`` is ``choice(*values)``,
``Boolean(name)`` ``choice(False, True)``. A parameter under ``parent_name`` /
``parent_values`` (or in ``with hp.conditional_scope(...)``) is in the space like one in an
``if``. These are read on a handle called ``hp`` or ``trial`` (also once a helper's
argument: ``build_model(hp)``), so that another library's ``Int`` or ``Float`` is not.
"""

from __future__ import annotations

import ast
import copy
import itertools
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .space import MAX_GRID, Parameter, SearchSpace, choice, intrange, loguniform, uniform

__all__ = [
    "SUGGEST_METHODS", "KERAS_TUNER_METHODS", "HANDLE_PARAMETERS", "MAX_GRID", "SuggestCallError",
    "categorical_options", "declared_parameter", "declared_space", "fixed_value", "is_handle_name", "loop_names",
    "suggest_method",
]

#: Optuna's ``Trial.suggest_*`` methods and their positional arguments after the name.
SUGGEST_METHODS: Mapping[str, tuple[str, ...]] = {
    "suggest_float": ("low", "high"),
    "suggest_int": ("low", "high"),
    "suggest_categorical": ("choices",),
    "suggest_uniform": ("low", "high"),
    "suggest_loguniform": ("low", "high"),
    "suggest_discrete_uniform": ("low", "high", "q"),
}
#: Keyword-only arguments each method takes (Optuna's).
_KEYWORD_ONLY = {"suggest_float": ("step", "log"), "suggest_int": ("step", "log")}
#: KerasTuner's ``HyperParameters`` methods that declare a parameter, their arguments after the name in order, and
#: how many of those a call must give.
KERAS_TUNER_METHODS: Mapping[str, tuple[str, ...]] = {
    "Int": ("min_value", "max_value", "step", "sampling", "default"),
    "Float": ("min_value", "max_value", "step", "sampling", "default"),
    "Choice": ("values", "ordered", "default"),
    "Boolean": ("default",),
}
_KERAS_TUNER_REQUIRED = {"Int": 2, "Float": 2, "Choice": 1, "Boolean": 0}
#: KerasTuner's keyword arguments for a parameter active only under another's values: the parameter is in the space
#: regardless (a trial that does not use it leaves it unused), as one suggested inside an ``if``.
_KERAS_TUNER_CONDITIONS = ("parent_name", "parent_values")
_SAMPLINGS = ("linear", "log", "reverse_log")
#: The names of an objective's parameter that receives the trial's handle: Optuna's ``trial``, KerasTuner's ``hp``.
HANDLE_PARAMETERS = ("trial", "hp")
#: A handle's name, as written or once a helper's argument is inlined (``_h1_hp``: :mod:`.meta.inlining`).
_HANDLE_NAME = re.compile(r"(?:_h\d+_)*(?:hp|trial)")


class SuggestCallError(ValueError):
    """A ``trial.suggest_*`` call whose parameter cannot be known before the trial runs, or that is malformed."""


def declared_parameter(method: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[str, Parameter]:
    """The parameter a ``trial.<method>(*args, **kwargs)`` call declares: its name and distribution.

    Optuna's meaning, in this package's distributions: ``suggest_float(name, low, high)``
    is ``uniform(low, high)``, with ``log=True`` ``loguniform``; ``suggest_int`` is
    ``intrange`` (``log`` kept); ``suggest_categorical(name, choices)`` is ``choice(*choices)``;
    a ``step`` (``q`` of ``suggest_discrete_uniform``) makes the choice of the grid's values
    ``low, low + step, ...`` (at most :data:`MAX_GRID` of them), since these ranges have no step.
    """
    if method in KERAS_TUNER_METHODS:
        names = ("name", *KERAS_TUNER_METHODS[method])
        required = names[: 1 + _KERAS_TUNER_REQUIRED[method]]
        given = _given("hp", method, args, kwargs, names, required, _KERAS_TUNER_CONDITIONS)
        return _declared("hp", method, given, _keras_tuner_distribution)
    if method not in SUGGEST_METHODS:
        known = ", ".join(SUGGEST_METHODS)
        raise SuggestCallError(f"trial.{method}() is not one of Optuna's suggest methods ({known}).")
    names = ("name", *SUGGEST_METHODS[method])
    given = _given("trial", method, args, kwargs, names, names, _KEYWORD_ONLY.get(method, ()))
    return _declared("trial", method, given, _distribution)


def _given(handle: str, method: str, args: Sequence[Any], kwargs: Mapping[str, Any], names: tuple[str, ...],
           required: tuple[str, ...], keyword_only: tuple[str, ...]) -> dict[str, Any]:
    """The call's arguments by name (``names`` in order, then ``keyword_only``), or the error that names the call."""
    shown = f"{handle}.{method}()"
    if len(args) > len(names):
        raise SuggestCallError(f"{shown} takes {len(names)} positional arguments ({', '.join(names)}), "
                               f"but {len(args)} were given.")
    given = dict(zip(names, args))
    allowed = set(names) | set(keyword_only)
    for key, value in kwargs.items():
        if key not in allowed:
            takes = ", ".join(sorted(allowed))
            raise SuggestCallError(f"{shown} got an unexpected argument {key!r}; it takes {takes}.")
        if key in given:
            raise SuggestCallError(f"{shown} got {key!r} twice.")
        given[key] = value
    missing = [n for n in required if n not in given]
    if missing:
        raise SuggestCallError(f"{shown} is missing {', '.join(missing)}.")
    name = given["name"]
    if not isinstance(name, str) or not name:
        raise SuggestCallError(f"{shown} needs the parameter's name as a non-empty string first, got {name!r}.")
    return given


def _declared(handle: str, method: str, given: Mapping[str, Any],
              distribution: Callable[[str, Mapping[str, Any]], Parameter]) -> tuple[str, Parameter]:
    """``(name, parameter)`` of a call's arguments, a bad value an error that names the call."""
    name = given["name"]
    try:
        return name, distribution(method, given)
    except (TypeError, ValueError) as problem:
        raise SuggestCallError(f"{handle}.{method}({name!r}, ...): {problem}") from None


def _distribution(method: str, given: Mapping[str, Any]) -> Parameter:
    if method == "suggest_categorical":
        choices = given["choices"]
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence) or not choices:
            raise ValueError(f"`choices` must be a non-empty list or tuple of options, got {choices!r}.")
        return choice(*choices)
    low, high = given["low"], given["high"]
    log = given.get("log", method == "suggest_loguniform")
    if not isinstance(log, bool):
        raise TypeError(f"`log` must be True or False, got {log!r}.")
    step = given.get("q" if method == "suggest_discrete_uniform" else "step")
    if method == "suggest_int":
        step = 1 if step is None else step
        if step == 1:
            return intrange(low, high, log=log)
    if step is None:
        return loguniform(low, high) if log else uniform(low, high)
    if log:
        raise ValueError("`step` and `log=True` cannot be given together (as in Optuna).")
    return _grid(low, high, step, integer=method == "suggest_int")


def _grid(low: Any, high: Any, step: Any, integer: bool, multiply: bool = False) -> Parameter:
    """The choice of ``low, low + step, ...`` up to ``high`` (``multiply``: ``low, low * step, ...``)."""
    for label, value in (("low", low), ("high", high), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise TypeError(f"`{label}` must be a finite number, got {value!r}.")
    if step <= (1 if multiply else 0):
        raise ValueError(f"`step` must be > {1 if multiply else 0}, got {step!r}.")
    if multiply:
        count = math.floor(math.log(high / low) / math.log(step) + 1e-9) + 1
        values = [low * step**i for i in range(min(count, MAX_GRID + 1))]
    else:
        count = math.floor((high - low) / step + 1e-9) + 1
        values = [low + i * step for i in range(min(count, MAX_GRID + 1))]
    by = f"times {step!r}" if multiply else f"by {step!r}"
    if count < 2:
        raise ValueError(f"the grid from {low!r} to {high!r} {by} has fewer than 2 values.")
    if count > MAX_GRID:
        raise ValueError(
            f"the grid from {low!r} to {high!r} {by} has {count} values, more than {MAX_GRID}: "
            f"leave the step out (a range) or pass a space with a choice of the values you want."
        )
    if integer:
        return choice(*(int(round(v)) for v in values))
    return choice(*(round(v, 12) for v in values))


def _keras_tuner_distribution(method: str, given: Mapping[str, Any]) -> Parameter:
    if method == "Boolean":
        return choice(False, True)
    if method == "Choice":
        values = given["values"]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"`values` must be a non-empty list of options, got {values!r}.")
        return choice(*values)
    low, high, step = given["min_value"], given["max_value"], given.get("step")
    sampling = given.get("sampling") or "linear"
    if not isinstance(sampling, str) or sampling.lower() not in _SAMPLINGS:
        raise ValueError(f"`sampling` must be one of {', '.join(map(repr, _SAMPLINGS))}, got {sampling!r}.")
    sampling = sampling.lower()
    integer = method == "Int"
    for label, value in (("min_value", low), ("max_value", high)):
        if integer and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise TypeError(f"`{label}` must be an integer, got {value!r}.")
    if sampling != "linear" and not (isinstance(low, numbers.Real) and low > 0):
        raise ValueError(f"sampling={sampling!r} needs min_value > 0, got {low!r}.")
    if step is None or (integer and sampling == "linear" and step == 1):
        if integer:
            return intrange(low, high, log=sampling == "log")
        return loguniform(low, high) if sampling == "log" else uniform(low, high)
    if sampling == "reverse_log":  # KerasTuner's grid mirrored: max + min - min * step ** i
        mirrored = _grid(low, high, step, integer, multiply=True)
        return choice(*sorted(high + low - v for v in mirrored.options))  # type: ignore[attr-defined]
    return _grid(low, high, step, integer, multiply=sampling == "log")


def declared_space(function: ast.FunctionDef | ast.AsyncFunctionDef,
                   namespace: Mapping[str, Any]) -> SearchSpace | None:
    """The space the ``suggest_*`` calls in a function's syntax tree declare (the objective with its helpers
    inlined, ``namespace`` its globals): the function's own statements in the order written, then the inlined
    helpers'. ``None`` without such calls. A call whose name or bounds are not constants, calls that give one
    name two different distributions, or a malformed call raise :class:`SuggestCallError` naming the call.
    """
    in_loops = loop_names(function, namespace)
    declared: dict[str, tuple[Parameter, str]] = {}
    for call in _suggest_calls(function):
        text = ast.unparse(call)
        method = suggest_method(call)
        computed = in_loops.get(id(call))
        try:
            args = [None if computed and i == 0 else _constant(a, namespace) for i, a in enumerate(call.args)]
            kwargs = {k.arg: _constant(k.value, namespace) for k in call.keywords}
        except _NotConstant as problem:
            raise SuggestCallError(
                f"{text}: {problem} is not a constant, so the parameter cannot be known before a trial runs. "
                "Write it as a literal, or pass the search space to tune() (or define `space` in the cell)."
            ) from None
        if any(k.arg is None for k in call.keywords):
            raise SuggestCallError(f"{text}: arguments given as **mapping cannot be read; write them out.")
        for each in computed or [args[0] if args else kwargs.get("name")]:
            given = [each, *args[1:]] if args else args
            name, parameter = declared_parameter(method, given, kwargs)  # type: ignore[arg-type]
            if name in declared and declared[name][0] != parameter:
                raise SuggestCallError(
                    f"{declared[name][1]} and {text} give {name!r} two different distributions "
                    f"({declared[name][0]!r} and {parameter!r}): one parameter needs one; give the other another name."
                )
            declared.setdefault(name, (parameter, text))
    if not declared:
        return None
    return SearchSpace({name: parameter for name, (parameter, _) in declared.items()})


#: The methods that declare a choice of options.
_CATEGORICAL = ("suggest_categorical", "Choice", "Boolean")


def categorical_options(function: ast.FunctionDef | ast.AsyncFunctionDef,
                        namespace: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The options of each ``trial.suggest_categorical(name, choices)`` in a function's syntax tree whose name and
    choices are constants (as :func:`declared_space` reads them); any other call is left out, not an error (the
    source reader asks, to read the branches an ``else`` takes)."""
    found: dict[str, tuple[Any, ...]] = {}
    for call in _suggest_calls(function):
        declared = _constant_parameter(call, namespace) if suggest_method(call) in _CATEGORICAL else None
        if declared is not None:
            found.setdefault(declared[0], tuple(declared[1].options))  # type: ignore[attr-defined]
    return found


def _constant_parameter(call: ast.Call, namespace: Mapping[str, Any]) -> tuple[str, Parameter] | None:
    """``(name, parameter)`` a suggest call declares when all its arguments are constants; None for any other call
    (not an error: the callers only ask)."""
    method = suggest_method(call)
    if method is None or any(k.arg is None for k in call.keywords):
        return None
    try:
        args = [_constant(a, namespace) for a in call.args]
        kwargs = {k.arg: _constant(k.value, namespace) for k in call.keywords}
        return declared_parameter(method, args, kwargs)  # type: ignore[arg-type]
    except (_NotConstant, SuggestCallError):
        return None


def loop_names(function: ast.AST, namespace: Mapping[str, Any]) -> dict[int, list[str]]:
    """The names of the suggest calls whose name is computed from the variables of ``for`` loops over a
    ``range`` around them (Optuna's ``trial.suggest_int(f"n_units_l{i}", 4, 128)`` in ``for i in
    range(n_layers)``, or in a list comprehension ``[... for i in range(n_layers)]``) or over a constant list
    (``for name in ("C", "gamma")``, a literal or a notebook constant), by the call's ``id``: every name it
    can take, for every value the loops can run.

    A loop's range is known when its bounds are constants or a local suggested by ``suggest_int`` with
    constant bounds (``n_layers = trial.suggest_int("n_layers", 1, 3)`` runs ``i`` up to 2). A name that
    needs anything else stays unknown (the call is then an error of :func:`declared_space`).
    """
    assignments: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assignments.setdefault(node.targets[0].id, []).append(node.value)
    found: dict[int, list[str]] = {}

    def visit(node: ast.AST, loops: dict[str, list[int]]) -> None:
        if isinstance(node, (ast.For, ast.AsyncFor)):
            values = _range_values(node.iter, assignments, namespace) or _constant_values(node.iter, namespace)
            inner = {**loops, node.target.id: values} if values and isinstance(node.target, ast.Name) else loops
            for child in node.body:
                visit(child, inner)
            for child in node.orelse:
                visit(child, loops)
            return
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)) and len(node.generators) == 1:
            # [trial.suggest_int(f"n_units_l{i}", 4, 128) for i in range(n_layers)]: Optuna's Lightning example
            generator = node.generators[0]
            values = (_range_values(generator.iter, assignments, namespace)
                      or _constant_values(generator.iter, namespace))
            known = values and isinstance(generator.target, ast.Name) and not generator.ifs
            inner = {**loops, generator.target.id: values} if known else loops
            visit(generator.iter, loops)
            visit(node.elt, inner)
            return
        if isinstance(node, ast.Call) and suggest_method(node) is not None and node.args and loops:
            names = _names_for_loops(node.args[0], loops)
            if names:
                found[id(node)] = names
        for child in ast.iter_child_nodes(node):
            visit(child, loops)

    visit(function, {})
    return found


def _range_values(iterated: ast.expr, assignments: Mapping[str, list[ast.expr]],
                  namespace: Mapping[str, Any]) -> list[int] | None:
    """Every value ``for ... in range(...)`` can take, as far as the code says (the largest range for a bound
    suggested by ``suggest_int``); None when the range is not known."""
    if not (isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Name) and iterated.func.id == "range"
            and 1 <= len(iterated.args) <= 2 and not iterated.keywords):
        return None

    def bound(node: ast.expr, largest: bool) -> int | None:
        try:
            value = _constant(node, namespace)
        except _NotConstant:
            values = assignments.get(node.id, []) if isinstance(node, ast.Name) else [node]
            call = values[0] if len(values) == 1 and isinstance(values[0], ast.Call) else None
            value = _integer_bound(call, namespace, largest) if call is not None else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    start = bound(iterated.args[0], largest=False) if len(iterated.args) == 2 else 0
    stop = bound(iterated.args[-1], largest=True)
    if start is None or stop is None or not 0 < stop - start <= MAX_GRID:
        return None
    return list(range(start, stop))


_INTEGER_OR_CHOICE = ("suggest_int", "Int", "suggest_categorical", "Choice")


def _integer_bound(call: ast.Call, namespace: Mapping[str, Any], largest: bool) -> int | None:
    """The largest (smallest) integer an integer parameter's suggest call can give (``trial.suggest_int("n", 1, 3)``,
    ``hp.Int("n", 1, 3)``, or a choice of integers), when its arguments are constants; else None."""
    declared = _constant_parameter(call, namespace) if suggest_method(call) in _INTEGER_OR_CHOICE else None
    if declared is None:
        return None
    parameter = declared[1]
    options = getattr(parameter, "options", None)
    values = list(options) if options is not None else [parameter.low, parameter.high]  # type: ignore[attr-defined]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    return max(values) if largest else min(values)


def _constant_values(iterated: ast.expr, namespace: Mapping[str, Any]) -> list[Any] | None:
    """The values of ``for name in ("C", "gamma")`` or of a notebook constant holding such a list or tuple of
    strings and numbers (at most :data:`MAX_GRID`); None for anything else."""
    try:
        values = _constant(iterated, namespace)
    except _NotConstant:
        return None
    if not isinstance(values, (list, tuple)) or not 0 < len(values) <= MAX_GRID:
        return None
    plain = all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values)
    return list(values) if plain else None


#: What a computed name may call: ``str(i)``, ``"n_units_l{}".format(i)``.
_NAME_BUILTINS = {"str": str, "int": int}


def _names_for_loops(expression: ast.expr, loops: Mapping[str, list[int]]) -> list[str] | None:
    """The names ``expression`` gives for every value of the loop variables it reads; None unless it reads only
    loop variables (and ``str``, ``int``, a constant's ``.format``)."""
    read = {n.id for n in ast.walk(expression) if isinstance(n, ast.Name)}
    variables = sorted(read & set(loops))
    if not variables or read - set(loops) - set(_NAME_BUILTINS):
        return None
    for node in ast.walk(expression):
        if isinstance(node, ast.Attribute) and not (node.attr == "format" and isinstance(node.value, ast.Constant)):
            return None
    code = compile(ast.fix_missing_locations(ast.Expression(body=copy.deepcopy(expression))), "<name>", "eval")
    names = []
    for values in itertools.product(*(loops[v] for v in variables)):
        try:
            name = eval(code, {"__builtins__": _NAME_BUILTINS}, dict(zip(variables, values)))  # noqa: S307 - checked
        except Exception:  # noqa: BLE001 - a name that does not compute is left to the caller's error
            return None
        if not isinstance(name, str):
            return None
        if name not in names:
            names.append(name)
    return names


def _suggest_calls(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
    """The suggest calls statement by statement (the objective's own, then each inlined helper's), each statement's
    in the order written."""
    calls = []
    for statement in function.body:
        found = [n for n in ast.walk(statement) if isinstance(n, ast.Call) and suggest_method(n) is not None]
        calls += sorted(found, key=lambda c: (getattr(c, "lineno", 0), getattr(c, "col_offset", 0)))
    return calls


def suggest_method(call: ast.Call) -> str | None:
    """The method of a call that declares a parameter: Optuna's ``<any name>.suggest_*``, or KerasTuner's
    ``hp.Int`` (and :data:`KERAS_TUNER_METHODS`) on a handle's name (:func:`is_handle_name`); else None."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    if func.attr in SUGGEST_METHODS or func.attr in KERAS_TUNER_METHODS and is_handle_name(func.value.id):
        return func.attr
    return None


def fixed_value(node: ast.AST) -> ast.expr | None:
    """The value expression of KerasTuner's ``hp.Fixed(name, value)`` on a handle (it declares no parameter: it is
    its value); None for any other node."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Fixed"
            and isinstance(node.func.value, ast.Name) and is_handle_name(node.func.value.id)):
        return None
    by_name = {kw.arg: kw.value for kw in node.keywords}
    return node.args[1] if len(node.args) >= 2 else by_name.get("value")


def is_handle_name(name: str) -> bool:
    """Whether ``name`` is a trial handle's, as KerasTuner's methods are read on: ``hp`` or ``trial``, or either once
    inlined from a helper's arguments (``_h1_hp``)."""
    return _HANDLE_NAME.fullmatch(name) is not None


class _NotConstant(Exception):
    pass


#: What a notebook name may hold to be read as a constant argument.
_PLAIN = (str, int, float, bool, type(None))


def _constant(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """A call argument's value: a literal, or a name of the objective's globals holding a plain value."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, ast.Name) and node.id in namespace and _is_plain(namespace[node.id]):
        return namespace[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _constant(node.operand, namespace)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return -value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_constant(e, namespace) for e in node.elts]
    raise _NotConstant(ast.unparse(node))


def _is_plain(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return isinstance(value, _PLAIN)
