"""Read an objective's source: what it builds, what each parameter sets, how alike two objectives are.

A ``%%metatune`` cell or a ``tune()`` call hands over the user's own training
function. Its source is positive evidence for the warm start: two studies whose
objectives are the same code (up to names, formatting and comments) are related,
and ``RandomForestClassifier(max_depth=depth)`` says that the user's ``depth`` is a
random forest's ``max_depth`` whatever it is called.

:func:`describe_objective` returns an :class:`ObjectiveSource`:

- ``fingerprint``: a hash of the *normalised* source. Normalising parses the code,
  drops docstrings and comments, renames the function, its parameters and its local
  variables to placeholders numbered by first use, and replaces number and string
  literals by their kind. Global names and attribute names stay: they carry the
  meaning (``RandomForestClassifier``, ``cross_val_score``, ``nn.Linear``,
  ``optim.Adam``).
- ``shingles``: hashed token 3-grams of the normalised source, kept as a bottom-k
  sketch (the ``MAX_SHINGLES`` smallest hashes), so that :func:`source_similarity`
  estimates the Jaccard similarity of any two objectives from a few kB of JSON.
- ``estimators`` and ``families``: the known estimator classes the objective builds
  and the built-in families they belong to; ``"torch_mlp"`` for a PyTorch loop that
  builds linear layers and a ``torch.optim`` optimiser, and for a Keras MLP
  (:mod:`.keras_models`).
- ``roles``: one :class:`ParameterRole` per (parameter, what it sets), read from the
  keyword arguments of known calls, the layer loops and the epoch loop.
- ``branches``: one :class:`.branches.Branch` per parameter the objective uses only when a
  choice takes some of its values (``svc_c`` under ``if classifier == "SVC":``), read by
  :func:`.branches.parameter_branches`.
- ``chosen_options``: one :class:`.torch_choices.OptionRuns` per option of a choice of
  the ``torch.optim`` optimiser or the activation that the objective runs through a table
  (``{"adam": optim.Adam, ...}[name]``), in a branch (``if name == "adam":
  optim.Adam(...)``) or by a function's name (``getattr(F, name)``), with the class it runs
  (:mod:`.torch_choices`); an option of ``getattr(optim, name)`` is the class's own name
  and needs none.
- ``torch_classes``: the torch optimisers and activations the objective names
  (``torch.optim.AdamW``, ``torch.nn.ReLU``), and a Keras model's (``keras.optimizers.Adam``,
  ``keras.activations.ReLU``): what a study that never chose them ran.
- ``settings``: one :class:`FixedSetting` per role the objective fixes rather than
  tunes: a literal in the same places (``SVC(class_weight=None)``, ``range(20)``
  epochs), or the library's own default of a built-in estimator's argument the call
  leaves out. A past study that varied that role is carried over through its trials
  near the fixed value only (:mod:`.compat`).

The helpers the objective calls by name are read with it (:mod:`.inlining`): the
functions and classes of the same cell, of the objective's own module or of the user's
other files, with their arguments bound to what the call passes. A library's functions
are not read.

>>> src = describe_objective("def f(depth): return RandomForestClassifier(max_depth=depth)", ["depth"])
>>> src.estimators, src.families, [(r.parameter, r.role) for r in src.roles]
(('RandomForestClassifier',), ('random_forest',), [('depth', 'max_depth')])
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import heapq
import inspect
import io
import math
import sys
import textwrap
import tokenize
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..builtin_spaces import BUILTIN_SPACES
from ..suggest_calls import categorical_options, fixed_value, loop_names, suggest_method
from ._syntax import NOT_LITERAL as _NOT_LITERAL
from ._syntax import argument as _argument
from ._syntax import assignments as _assignments
from ._syntax import calls_in as _calls_in
from ._syntax import dotted as _dotted
from ._syntax import insert_after_calls
from ._syntax import is_scalar as _is_scalar
from ._syntax import literal as _literal
from .branches import Branch, parameter_branches
from .estimator_text import configured_estimators
from .inlining import (
    Finder,
    argument_list,
    bound_names,
    function_namespace,
    function_node,
    inline_helpers,
    module_finder,
    namespace_finder,
    parse,
)
from .keras_models import (
    KerasArgument,
    is_keras_layer,
    is_keras_mlp,
    keras_arguments,
    keras_chosen,
    keras_named_classes,
    uses_keras,
)
from .native_boosting import ROUNDS, what_native_boosting_runs
from .powers import power_text
from .scikeras_wrappers import what_scikeras_runs
from .skorch_nets import SKORCH_ROLES, is_skorch_net, what_skorch_runs
from .torch_choices import (
    ACTIVATION,
    ANY_OPTIMIZER,
    KERAS_ACTIVATION,
    KERAS_OPTIMIZER,
    OPTIMIZER_TARGET,
    TORCH_OPTIMIZERS,
    ChoiceKind,
    OptionRuns,
    branch_chosen,
    name_chosen,
    named_classes,
)

__all__ = [
    "MAX_SHINGLES",
    "SHINGLE_SIZE",
    "FixedSetting",
    "NO_DEFAULT",
    "ObjectiveSource",
    "SOURCE_ATTRIBUTE",
    "ParameterRole",
    "argument_default",
    "describe_objective",
    "estimator_kind",
    "family_kind",
    "model_variant",
    "objective_with_helpers",
    "source_similarity",
]

#: Tokens per shingle.
SHINGLE_SIZE = 3
#: The number of shingle hashes kept per objective (the smallest ones: a bottom-k sketch).
MAX_SHINGLES = 400
#: The normalisation's version; a change to the normalisation bumps it, since fingerprints and
#: shingles of different versions cannot be compared.
SOURCE_FORMAT = 1

#: An objective that stands for code the user did not write as a function (``MetaSearchCV``'s, which fits the
#: user's estimator object) carries that code as text in this attribute; it is read instead of the function.
SOURCE_ATTRIBUTE = "__metahpo_source__"

_FUNCTION = "_f"
_NUMBER, _STRING, _BYTES = "_num", "_str", "_bytes"


@dataclass(frozen=True)
class ParameterRole:
    """What one of the user's parameters sets, as read from the objective's source.

    ``parameter`` is the user's name (``"depth"``), ``target`` what it is passed to
    (``"RandomForestClassifier"``, ``"torch.optim.AdamW"``, ``"training loop"``),
    ``argument`` the argument it sets there (``"max_depth"``, ``"lr"``, ``"range"``) and
    ``role`` its canonical name: the built-in spaces' parameter name where one exists
    (``"max_depth"``, ``"learning_rate"``, ``"max_epochs"``). ``direct`` is False when
    the value passed is a transform of the parameter (``10 ** log_lr``, ``2 * width``),
    so that its range is not the argument's range. ``base`` is set when that transform is a
    power, the argument being ``base ** parameter`` (``10 ** log_c``, ``2 ** k``,
    ``math.exp(log_lr)``): the parameter is the argument on a log scale, and the warm start
    reads it so (:mod:`.powers`).
    """

    parameter: str
    target: str
    argument: str
    role: str
    direct: bool = True
    base: float | None = None

    @property
    def transform(self) -> str:
        """How the argument is computed from the parameter, for a person: ``"10 ** log_c"``; "" when passed as
        it is (or by a transform other than a power)."""
        return "" if self.base is None else power_text(self.base, self.parameter)

    @property
    def sets(self) -> str:
        """What the parameter sets, for a person: ``"torch.optim.Adam's lr"``, ``"the epochs of your training
        loop"``."""
        if self.target == f"torch.optim.{ANY_OPTIMIZER}":
            return f"the {self.argument} of the torch.optim optimiser your objective chooses"
        if self.target == f"{KERAS_OPTIMIZER.module}.{ANY_OPTIMIZER}":
            return f"the {self.argument} of the Keras optimiser your objective chooses"
        if self.target == OPTIMIZER_TARGET:
            return "the torch.optim optimiser your objective runs"
        if self.target == KERAS_OPTIMIZER.target:
            return "the Keras optimiser your objective runs"
        if self.target in (ACTIVATION.target, KERAS_ACTIVATION.target):
            return "the activation function your objective runs"
        return _LOOP_SETTINGS.get((self.target, self.argument), f"{self.target}'s {self.argument}")


#: The roles that a loop of the objective gives (no call's argument), as :attr:`ParameterRole.sets` says them.
_LOOP_SETTINGS = {
    ("training loop", "range"): "the epochs of your training loop",
    ("training loop", "range step"): "the batch size your training loop steps by",
    ("layer loop", "range"): "the number of layers your loop builds",
    ("layer loop", "*"): "the number of layers your objective repeats",
}


@dataclass(frozen=True)
class FixedSetting:
    """A role the objective fixes instead of tuning: ``SVC(class_weight=None)``.

    ``target``, ``argument`` and ``role`` are as in :class:`ParameterRole`; ``value`` is
    the literal (a number, a string, a bool or ``None``); ``default`` is True when the
    call leaves the argument out and the value is the library's own default.
    """

    target: str
    argument: str
    role: str
    value: Any
    default: bool = False

    def describe(self) -> str:
        """``class_weight=None`` (with ``(the default)`` when the objective leaves it out)."""
        text = f"{self.argument}={self.value!r}"
        return f"{text} (the default)" if self.default else text


@dataclass(frozen=True)
class ObjectiveSource:
    """The evidence read from an objective's source; see the module docstring for each field."""

    fingerprint: str
    shingles: frozenset[str]
    estimators: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    roles: tuple[ParameterRole, ...] = ()
    settings: tuple[FixedSetting, ...] = ()
    branches: tuple[Branch, ...] = ()
    chosen_options: tuple[OptionRuns, ...] = ()
    torch_classes: tuple[str, ...] = ()

    def roles_of(self, parameter: str) -> tuple[str, ...]:
        """The distinct roles read for ``parameter``, in the order they were found."""
        return tuple(dict.fromkeys(r.role for r in self.roles if r.parameter == parameter))

    def fixed(self) -> dict[str, FixedSetting]:
        """The fixed settings by role."""
        return {setting.role: setting for setting in self.settings}

    def kinds(self) -> frozenset[str]:
        """The kinds of estimator the objective builds (:func:`estimator_kind`; a PyTorch MLP loop's family)."""
        found = {estimator_kind(name, self.settings) for name in self.estimators}
        built = {_ESTIMATORS[name].family for name in self.estimators if name in _ESTIMATORS}
        found |= {family_kind(f) for f in self.families if f not in built}  # a PyTorch loop's family
        return frozenset(kind for kind in found if kind is not None)

    def to_json(self) -> dict[str, Any]:
        """A compact JSON-safe form (a few kB at most: the shingles are 8-character hashes)."""
        return {
            "format": SOURCE_FORMAT,
            "fingerprint": self.fingerprint,
            "shingles": sorted(self.shingles),
            "estimators": list(self.estimators),
            "families": list(self.families),
            "roles": [[r.parameter, r.target, r.argument, r.role, r.direct, *([r.base] if r.base else [])]
                      for r in self.roles],
            "settings": [[f.target, f.argument, f.role, f.value, f.default] for f in self.settings],
            "branches": [[b.parameter, b.chooser, list(b.values)] for b in self.branches],
            "chosen_options": [[o.parameter, o.option, o.runs] for o in self.chosen_options],
            "torch_classes": list(self.torch_classes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectiveSource:
        """The inverse of :meth:`to_json`; a form of another version or shape is a ``ValueError``."""
        if not isinstance(data, Mapping):
            raise TypeError(f"an objective source's JSON must be a mapping, got {type(data).__name__}.")
        if data.get("format") != SOURCE_FORMAT:
            raise ValueError(
                f"objective source of format {data.get('format')!r}, this version reads format {SOURCE_FORMAT}: "
                "describe the objective again with describe_objective()."
            )
        try:
            # Sources recorded before powers were read have five entries a role: no base.
            roles = tuple(
                ParameterRole(str(p), str(t), str(a), str(r), bool(d), float(base[0]) if base else None)
                for p, t, a, r, d, *base in data["roles"]
            )
            # Sources recorded before settings were read have none: nothing was known fixed.
            settings = tuple(
                FixedSetting(str(t), str(a), str(r), v, bool(d)) for t, a, r, v, d in data.get("settings", ())
                if _is_scalar(v)
            )
            # Sources recorded before branches were read have none: every parameter counted in every trial.
            branches = tuple(
                Branch(str(p), str(c), tuple(tuple(v) if isinstance(v, list) else v for v in values))
                for p, c, values in data.get("branches", ())
            )
            # Sources recorded before tables and branches of torch classes were read: each option is its name.
            chosen_options = tuple(
                OptionRuns(str(p), option, str(name)) for p, option, name in data.get("chosen_options", ())
                if _is_scalar(option)
            )
            return cls(
                fingerprint=str(data["fingerprint"]),
                shingles=frozenset(str(s) for s in data["shingles"]),
                estimators=tuple(str(e) for e in data["estimators"]),
                families=tuple(str(f) for f in data["families"]),
                roles=roles,
                settings=settings,
                branches=branches,
                chosen_options=chosen_options,
                torch_classes=tuple(str(c) for c in data.get("torch_classes", ())),
            )
        except (KeyError, TypeError, ValueError) as problem:
            raise ValueError(
                f"not an objective source's JSON ({problem!r}); it needs the keys format, fingerprint, "
                "shingles, estimators, families and roles (each role a [parameter, target, argument, role, "
                "direct] list, and the base of a power), as ObjectiveSource.to_json() writes them."
            ) from None


def describe_objective(objective: Callable[..., Any] | str, parameter_names: Iterable[str]) -> ObjectiveSource | None:
    """Read ``objective``'s source; ``None`` when there is none to read.

    ``objective`` is a function (its source comes from ``inspect.getsource``, which
    also finds functions defined in IPython cells through ``linecache``) or source
    text (a function's, or a whole cell's: then the top-level function taking most
    of ``parameter_names`` is the objective, and code without any function is read
    as the objective's body). ``parameter_names`` are the search space's names (a
    ``SearchSpace`` or a dict of parameters will do; their choices' options then help read
    the branches an ``else`` takes).

    A function that carries its code as text in :data:`SOURCE_ATTRIBUTE` is read
    from that text.

    The helpers the objective calls by name (functions and classes of the same cell
    text, of the objective's own module or of the user's other files) are read with it
    (:mod:`.inlining`):
    ``Net(hidden)`` gives ``hidden`` the role of the ``nn.Linear`` width in ``Net``'s
    ``__init__``. Their normalised code is part of the fingerprint, so two objectives
    that call different helpers are not the same code. A function's objects are read
    too: a name holding a known estimator class (``Model = SVR``) is that class, and an
    estimator object configured by ``set_params`` is the code that builds it so
    (:func:`.estimator_text.configured_estimators`).

    Builtins, and functions or lambdas whose source is not available (defined by
    ``exec`` of a string that ``linecache`` does not hold), give ``None``, as does
    text that does not parse.
    """
    names = _checked_names(parameter_names)
    options = _choice_options(parameter_names)
    found = _objective_node(objective, names)
    if found is None:
        return None
    node, find, namespace = found
    reading, helpers, written = _with_helpers(node, find, names, desugar=True)
    reading.body.extend(ast.Expr(value=e) for e in configured_estimators(reading, namespace, names))
    _name_estimator_classes(reading, namespace)
    classes = tuple(sorted({*named_classes(reading, namespace), *keras_named_classes(reading)}))
    chosen = [*name_chosen(reading, namespace), *keras_chosen(reading)]
    _name_loop_suggestions(reading, namespace)
    _iterate_built_lists(reading, names)
    _configure_locals(reading, names)
    normalised = "\n".join([_normalised_text(node, names), *(_normalised_helper(h) for h in helpers)])
    reader = _RoleReader(reading, names)
    estimators, families, roles = reader.read()
    options = {**categorical_options(reading, namespace), **options}
    in_branches = branch_chosen(reading, reader.parameter_at, options, written=written)
    choice_roles, option_runs = _chosen_class_roles(chosen, in_branches, reader, roles, options)
    roles = (*roles, *choice_roles)
    return ObjectiveSource(
        fingerprint=hashlib.sha256(f"{SOURCE_FORMAT}\n{normalised}".encode()).hexdigest()[:16],
        shingles=_shingles(normalised),
        estimators=estimators,
        families=families,
        roles=roles,
        settings=reader.settings(),
        branches=parameter_branches(reading, reader.parameter_at, options, written=written),
        chosen_options=option_runs,
        torch_classes=classes,
    )


def _choice_options(parameters: Iterable[str]) -> dict[str, tuple[Any, ...]]:
    """The options of each choice of a search space (or dict of parameters) given as ``parameter_names``."""
    if not isinstance(parameters, Mapping):
        return {}
    return {name: tuple(p.options) for name, p in parameters.items() if isinstance(getattr(p, "options", None), tuple)}


def objective_with_helpers(objective: Callable[..., Any]) -> tuple[_Function, dict[str, Any]] | None:
    """A copy of ``objective``'s definition with the helpers it calls inlined (as :func:`describe_objective`
    reads it), and the objects it can name; ``None`` when its source cannot be read."""
    found = _objective_node(objective, ())
    if found is None:
        return None
    node, find, namespace = found
    return _with_helpers(node, find, ())[0], namespace


def _with_helpers(
    node: _Objective, find: Finder, names: Sequence[str], desugar: bool = False
) -> tuple[_Function, list, int]:
    """The objective as a function with its helpers' bodies appended, the helpers, and how many statements
    of the body are the objective's own (the helpers' follow them). ``desugar``: with what a skorch net runs
    (:mod:`.skorch_nets`; its module's class inlined too) and the estimator LightGBM's or XGBoost's own
    training call amounts to (:mod:`.native_boosting`) written out as the objective's own statements."""
    reading = _as_function(node, names)
    if desugar:
        insert_after_calls(reading, lambda call: [*what_skorch_runs(call), *what_scikeras_runs(call),
                                                  *what_native_boosting_runs(call, reading)])
    written = len(reading.body)
    return reading, inline_helpers(reading, _without_estimators(find)), written


def source_similarity(a: ObjectiveSource, b: ObjectiveSource) -> float:
    """How alike two objectives' normalised sources are, in ``[0, 1]``; 1 for the same code.

    The Jaccard similarity of their token 3-gram sets, estimated from the bottom-k
    sketches (exact when both objectives have fewer than ``MAX_SHINGLES`` shingles).
    """
    if a.fingerprint == b.fingerprint:
        return 1.0
    if not a.shingles or not b.shingles:
        return 0.0
    if len(a.shingles) < MAX_SHINGLES and len(b.shingles) < MAX_SHINGLES:
        return len(a.shingles & b.shingles) / len(a.shingles | b.shingles)
    # The k smallest hashes of the union are a uniform sample of it; each one's
    # membership in both sketches is known, since it is also among the k smallest of each.
    sample = heapq.nsmallest(MAX_SHINGLES, a.shingles | b.shingles)
    return sum(1 for h in sample if h in a.shingles and h in b.shingles) / len(sample)


# Finding the objective's syntax tree ------------------------------------------------

_Objective = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.Module
_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _checked_names(parameter_names: Iterable[str]) -> tuple[str, ...]:
    if isinstance(parameter_names, str) or not isinstance(parameter_names, Iterable):
        raise TypeError(
            f"parameter_names must be the search space's names (a list of strings, a dict or a SearchSpace), "
            f"got {parameter_names!r}."
        )
    names = tuple(parameter_names)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"parameter_names must be strings; got {bad!r}.")
    return names


def _objective_node(
    objective: Callable[..., Any] | str, names: Sequence[str]
) -> tuple[_Objective, Finder, dict[str, Any]] | None:
    """The objective's syntax tree, where the helpers it calls are found, and the objects it can name
    (none for source text)."""
    carried = getattr(objective, SOURCE_ATTRIBUTE, None)
    if isinstance(carried, str):
        objective = carried
    if isinstance(objective, str):
        module = _parse_cell(objective)
        return None if module is None else (_choose_function(module, names), module_finder(module), {})
    if not callable(objective):
        raise TypeError(
            f"objective must be a function or its source text, got {type(objective).__name__}: {objective!r}."
        )
    function = _plain_function(objective)
    if function is None:
        return None
    node = _lambda_node(function) if function.__name__ == "<lambda>" else function_node(function)
    if node is None:
        return None
    namespace = function_namespace(function)
    return node, namespace_finder(function, namespace), namespace


def _plain_function(objective: Callable[..., Any]) -> Any:
    """The Python function behind a partial, a bound method or a callable object, or None."""
    while isinstance(objective, functools.partial):
        objective = objective.func
    if inspect.ismethod(objective):
        objective = objective.__func__
    if not inspect.isfunction(objective):
        call = getattr(type(objective), "__call__", None)
        objective = call if inspect.isfunction(call) else None
    return None if objective is None else inspect.unwrap(objective)


def _lambda_node(function: Any) -> ast.Lambda | None:
    """The lambda's node, found in its whole file (its own lines may not parse alone)."""
    try:
        lines, start = inspect.findsource(function)
    except (OSError, TypeError, IndexError):
        return None
    module = parse("".join(lines))
    if module is None:
        return None
    code = function.__code__
    arguments = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    found = [
        node
        for node in ast.walk(module)
        if isinstance(node, ast.Lambda)
        and node.lineno == start + 1
        and [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)] == arguments
    ]
    return found[0] if len(found) == 1 else None


def _parse_cell(text: str) -> ast.Module | None:
    """Parse source text; a cell's IPython lines (``%magic``, ``!shell``) are dropped if they stop it."""
    text = textwrap.dedent(text)
    module = parse(text)
    if module is None:
        python = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
        module = parse("\n".join(python))
    return module


def _choose_function(module: ast.Module, names: Sequence[str]) -> _Objective:
    """The top-level function taking most of the space's names (``objective`` first, then the last)."""
    functions = [n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        return module
    wanted = set(names)

    def rank(item: tuple[int, ast.FunctionDef | ast.AsyncFunctionDef]) -> tuple[int, bool, int]:
        index, function = item
        taken = {a.arg for a in argument_list(function.args)} & wanted
        return len(taken), function.name == "objective", index

    return max(enumerate(functions), key=rank)[1]


# Normalisation ---------------------------------------------------------------------


def _normalised_text(node: _Objective, names: Sequence[str]) -> str:
    """The objective as canonical code: placeholders for its own names and for literals."""
    function = _as_function(node, names)
    renamer = _Renamer(
        parameters=[a.arg for a in argument_list(function.args)],
        local_names=bound_names(function.body),
        function_name=function.name,
    )
    body = [renamer.visit(statement) for statement in function.body]
    function.body = [s for s in body if s is not None] or [ast.Pass()]
    function.args = renamer.signature(function.args)
    function.name, function.decorator_list, function.returns = _FUNCTION, [], None
    _fill_empty_bodies(function)
    return ast.unparse(ast.fix_missing_locations(function))


def _without_estimators(find: Finder) -> Finder:
    """``find``, except for the known estimators' names (a user's class named ``SVC`` is read as the SVC)."""
    def found(name: str) -> Any:
        if name in _ESTIMATORS:
            return None
        helper = find(name)
        return None if helper is None else (helper[0], _without_estimators(helper[1]))

    return found


def _name_estimator_classes(function: ast.AST, namespace: Mapping[str, Any]) -> None:
    """Calls of a name that holds a known estimator class (``Model = SVC``, in the notebook) call the class."""
    for call in _calls_in([function]):
        if isinstance(call.func, ast.Name) and call.func.id not in _ESTIMATORS:
            value = namespace.get(call.func.id)
            if inspect.isclass(value) and value.__name__ in _ESTIMATORS:
                call.func = ast.copy_location(ast.Name(id=value.__name__, ctx=ast.Load()), call.func)


def _chosen_class_roles(
    chosen: Sequence[tuple[ChoiceKind, ast.expr, Mapping[Any, str]]],
    in_branches: Sequence[tuple[ChoiceKind, OptionRuns]], reader: _RoleReader, roles: Sequence[ParameterRole],
    options: Mapping[str, Sequence[Any]],
) -> tuple[list[ParameterRole], tuple[OptionRuns, ...]]:
    """The parameters that choose the ``torch.optim`` optimiser or the activation the objective runs
    (:mod:`.torch_choices`): their role is ``"optimizer"`` or ``"activation"`` (a past study that ran AdamW then
    runs in your ``"Adam"``: :mod:`.as_it_ran`); and what each of their options runs, where the objective
    says it (a table's keys, the branches, a function's name). Where the options are known, some must run a
    class of that kind: ``getattr(nn, norm)`` of ``"BatchNorm1d"`` and ``"LayerNorm"`` chooses no activation."""
    others = {r.parameter for r in roles}  # a parameter that sets something else does not choose a class
    choosers: dict[tuple[str, ChoiceKind], None] = {}
    runs: list[OptionRuns] = []
    tables = [(kind, reader.parameter_at(chooser), table) for kind, chooser, table in chosen]
    tables += [(kind, one.parameter, {one.option: one.runs}) for kind, one in in_branches]
    for kind, parameter, table in tables:
        if parameter is None or parameter in others:
            continue
        known = [o for o in options.get(parameter, table) if _is_scalar(o)]
        ran = {o: table.get(o, o) for o in known}
        if parameter in options and not any(name in kind.classes for name in ran.values()):
            continue
        choosers[parameter, kind] = None
        runs.extend(OptionRuns(parameter, option, table[option]) for option in known if option in table)
    found = [ParameterRole(parameter, kind.target, "class", kind.role) for parameter, kind in choosers]
    return found, tuple(dict.fromkeys(runs))


def _name_loop_suggestions(function: ast.AST, namespace: Mapping[str, Any]) -> None:
    """A suggest call whose name a loop computes (``trial.suggest_int(f"n_units_l{i}", 4, 128)``) is read as its
    first name's (``n_units_l0``): the first layer's width is what it sets in the layer it builds."""
    computed = loop_names(function, namespace)
    for call in _calls_in([function]):
        # ``for name in ("C", "gamma"): trial.suggest_float(name, ...)`` names other parameters, not layers.
        if id(call) in computed and not isinstance(call.args[0], ast.Name):
            call.args[0] = ast.copy_location(ast.Constant(computed[id(call)][0]), call.args[0])


def _iterate_built_lists(function: ast.AST, names: Sequence[str]) -> None:
    """A loop over a list that a comprehension over a range built, ``for w in widths:`` with ``widths =
    [trial.suggest_int(f"n_units_l{i}", ...) for i in range(n_layers)]`` (Optuna's PyTorch Lightning example,
    the list handed to a model's class), is read as the loop over that range with each element assigned
    (``for i in range(n_layers): w = trial.suggest_int("n_units_l0", ...)``): the layers it builds are
    ``n_layers`` deep and ``n_units_l0`` wide. Only lists of what the user tunes (an element that reads a
    parameter or suggests one): a loop over folds or batches built so is no loop over layers or epochs."""
    assigned = _assignments(function)
    loops = []
    for node in ast.walk(function):
        if not isinstance(node, ast.For) or not isinstance(node.target, ast.Name):
            continue
        built, hops = node.iter, 0
        while isinstance(built, ast.Name) and len(assigned.get(built.id, ())) == 1 and hops < _MAX_HOPS:
            built, hops = assigned[built.id][0], hops + 1  # through the helpers' bound arguments
        if (isinstance(built, ast.ListComp) and len(built.generators) == 1 and not built.generators[0].ifs
                and _range_call(built.generators[0].iter) and isinstance(built.generators[0].target, ast.Name)
                and _reads_parameters(built.elt, names)):
            loops.append((node, built))
    for loop, built in loops:
        element = ast.Assign(targets=[ast.Name(id=loop.target.id, ctx=ast.Store())], value=copy.deepcopy(built.elt))
        loop.target = copy.deepcopy(built.generators[0].target)
        loop.iter = copy.deepcopy(built.generators[0].iter)
        loop.body.insert(0, ast.fix_missing_locations(ast.copy_location(element, loop)))


def _reads_parameters(expression: ast.expr, names: Sequence[str]) -> bool:
    """Whether ``expression`` names one of the parameters or suggests one (``trial.suggest_int(...)``)."""
    return any(
        (isinstance(n, ast.Name) and n.id in names)
        or (isinstance(n, ast.Call) and suggest_method(n) is not None)
        for n in ast.walk(expression)
    )


#: How many assignments :func:`_iterate_built_lists` follows back from a loop's list (a helper's argument bound to
#: the caller's, bound to a local).
_MAX_HOPS = 8


def _configure_locals(function: ast.AST, names: Sequence[str]) -> None:
    """``model.set_params(svc__C=C)`` or ``model.set_params(**config)`` on an estimator or pipeline the objective
    builds (``model = make_pipeline(StandardScaler(), SVC())``): each step's call gets the keywords it is set
    (``SVC(C=config["svc__C"])``), in ``function``, a copy of the objective read for roles."""
    assignments = _assignments(function)
    for call in _calls_in([function]):
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "set_params" and isinstance(func.value, ast.Name)):
            continue
        built = assignments.get(func.value.id, [])
        steps = _estimator_steps(built[0]) if len(built) == 1 else {}
        given: dict[int, tuple[ast.Call, dict[str, ast.expr]]] = {}
        for keyword in call.keywords:
            if keyword.arg is None:  # **config: each of the space's names, looked up in it
                pairs = [(n, ast.Subscript(value=keyword.value, slice=ast.Constant(n), ctx=ast.Load())) for n in names]
            else:
                pairs = [(keyword.arg, keyword.value)]
            for path, value in pairs:
                prefix, _, argument = path.rpartition("__")
                if prefix in steps:
                    given.setdefault(id(steps[prefix]), (steps[prefix], {}))[1][argument] = value
        for step, arguments in given.values():
            step.keywords = [k for k in step.keywords if k.arg not in arguments]
            step.keywords += [ast.keyword(arg=a, value=copy.deepcopy(v)) for a, v in arguments.items()]


def _estimator_steps(expression: ast.expr) -> dict[str, ast.Call]:
    """The known estimators an expression builds, by their parameters' prefix: ``""`` for ``SVC(...)`` itself,
    ``"svc"`` in ``make_pipeline(..., SVC(...))`` (scikit-learn names the step by the class), ``"clf"`` in
    ``Pipeline([("clf", SVC(...))])``."""
    def estimator_name(node: ast.expr) -> str | None:
        name = (_dotted(node.func) or "").rpartition(".")[2] if isinstance(node, ast.Call) else None
        return name if name in _ESTIMATORS else None

    if not isinstance(expression, ast.Call):
        return {}
    if estimator_name(expression):
        return {"": expression}
    built = (_dotted(expression.func) or "").rpartition(".")[2]
    if built == "make_pipeline":
        return {name.lower(): step for step in expression.args if (name := estimator_name(step))}
    steps = _argument(expression, "steps", 0) if built == "Pipeline" else None
    found = {}
    for element in steps.elts if isinstance(steps, (ast.List, ast.Tuple)) else ():
        if isinstance(element, ast.Tuple) and len(element.elts) == 2 and estimator_name(element.elts[1]):
            label = _literal(element.elts[0])
            if isinstance(label, str):
                found[label] = element.elts[1]
    return found


def _normalised_helper(helper: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """A helper's normalised code: a class's methods one after another, each with its own placeholders."""
    methods = helper.body if isinstance(helper, ast.ClassDef) else [helper]
    functions = [m for m in methods if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return "\n".join(_normalised_text(f, [a.arg for a in argument_list(f.args)]) for f in functions)


def _as_function(node: _Objective, names: Sequence[str]) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """A copy of the objective as a function definition (lambdas and cell bodies are wrapped)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return copy.deepcopy(node)
    function: ast.FunctionDef = ast.parse(f"def {_FUNCTION}():\n    pass").body[0]  # type: ignore[assignment]
    if isinstance(node, ast.Lambda):
        function.args = copy.deepcopy(node.args)
        function.body = [ast.Return(value=copy.deepcopy(node.body))]
    else:
        # Code without a function: the space's names it reads are the objective's parameters.
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        function.args.args = [ast.arg(arg=name) for name in names if name in used]
        function.body = copy.deepcopy(node.body)
    return function


class _Renamer(ast.NodeTransformer):
    """Renames the objective's own names to numbered placeholders and literals to their kind.

    Placeholders are numbered by first use in the body, so the same code with other
    names, or with its parameters listed in another order, reads the same.
    """

    def __init__(self, parameters: list[str], local_names: set[str], function_name: str) -> None:
        self._parameters = parameters
        self._locals = local_names - set(parameters)
        self._function_name = function_name
        self._placeholders: dict[str, str] = {}
        self._counts = {"p": 0, "v": 0}

    def placeholder(self, name: str) -> str:
        if name in self._placeholders:
            return self._placeholders[name]
        if name in self._parameters:
            prefix = "p"
        elif name in self._locals:
            prefix = "v"
        else:
            return _FUNCTION if name == self._function_name else name
        self._placeholders[name] = f"_{prefix}{self._counts[prefix]}"
        self._counts[prefix] += 1
        return self._placeholders[name]

    def signature(self, arguments: ast.arguments) -> ast.arguments:
        """The parameters as placeholders, ordered by first use, without defaults or annotations."""
        plain = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
        for name in plain:  # parameters the body never reads get the next numbers
            self.placeholder(name)
        ordered = sorted((self.placeholder(n) for n in plain), key=lambda p: int(p[2:]))

        def star(arg: ast.arg | None) -> ast.arg | None:
            return None if arg is None else ast.arg(arg=self.placeholder(arg.arg))

        return ast.arguments(
            posonlyargs=[], args=[ast.arg(arg=p) for p in ordered], vararg=star(arguments.vararg),
            kwonlyargs=[], kw_defaults=[], kwarg=star(arguments.kwarg), defaults=[],
        )

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.placeholder(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg, node.annotation = self.placeholder(node.arg), None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name, node.returns = self.placeholder(node.name), None
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.name = self.placeholder(node.name)
        self.generic_visit(node)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.ExceptHandler:
        if node.name:
            node.name = self.placeholder(node.name)
        self.generic_visit(node)
        return node

    def visit_Global(self, node: ast.Global) -> ast.Global:
        node.names = [self.placeholder(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global  # type: ignore[assignment]

    def visit_Expr(self, node: ast.Expr) -> ast.Expr | None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None  # a docstring, or a string used as a comment
        self.generic_visit(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        value = node.value
        if value is None or value is Ellipsis or isinstance(value, bool):
            return node  # a flag or a sentinel is part of the code, not a setting
        kind = _STRING if isinstance(value, str) else _BYTES if isinstance(value, bytes) else _NUMBER
        return ast.copy_location(ast.Name(id=kind, ctx=ast.Load()), node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        operand = node.operand
        signed = isinstance(node.op, (ast.USub, ast.UAdd))
        if signed and isinstance(operand, ast.Constant) and _is_number(operand.value):
            return ast.copy_location(ast.Name(id=_NUMBER, ctx=ast.Load()), node)  # -1 is a literal too
        self.generic_visit(node)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.expr:
        return ast.copy_location(ast.Name(id=_STRING, ctx=ast.Load()), node)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, complex)) and not isinstance(value, bool)


def _fill_empty_bodies(tree: ast.AST) -> None:
    """Give ``pass`` to blocks left empty by removing their docstrings, so the code still unparses."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and not body:
            node.body = [ast.Pass()]


# Shingles ---------------------------------------------------------------------------

_LAYOUT = {tokenize.INDENT: "{", tokenize.DEDENT: "}", tokenize.NEWLINE: ";"}
_SKIPPED = {tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER}


def _tokens(text: str) -> list[str]:
    """The normalised function's tokens, its header reduced to the number of parameters.

    Every signature reads ``def _f(_p0, _p1, ...)`` after normalisation; left as
    tokens, those shingles would make any two functions with several parameters look
    alike.
    """
    tokens = [
        _LAYOUT.get(t.type, t.string)
        for t in tokenize.generate_tokens(io.StringIO(text).readline)
        if t.type not in _SKIPPED
    ]
    end = tokens.index(";") if ";" in tokens else len(tokens)
    header = tokens[:end]
    return ["def", f"{_FUNCTION}/{sum(1 for t in header if t.startswith('_p'))}", *tokens[end:]]


def _shingles(text: str) -> frozenset[str]:
    """The bottom-k sketch of the hashed token 3-grams (8 hex digits each: fixed width, so they sort as numbers)."""
    tokens = _tokens(text)
    grams = {" ".join(tokens[i : i + SHINGLE_SIZE]) for i in range(max(1, len(tokens) - SHINGLE_SIZE + 1))}
    hashes = {hashlib.blake2b(gram.encode(), digest_size=4).hexdigest() for gram in grams}
    return frozenset(heapq.nsmallest(MAX_SHINGLES, hashes))


# Roles ----------------------------------------------------------------------------

#: Constructor arguments of the built-in spaces' estimators beyond the spaces' own parameters,
#: for ``Estimator(**config)``: scikit-learn is not imported to read them.
_EXTRA_ARGUMENTS = {
    "hgb": ("max_depth", "max_bins", "loss", "early_stopping", "validation_fraction", "n_iter_no_change",
            "tol", "class_weight", "interaction_cst", "monotonic_cst", "scoring"),
    "random_forest": ("max_depth", "min_samples_split", "criterion", "max_leaf_nodes", "min_impurity_decrease",
                      "max_samples", "class_weight", "ccp_alpha", "oob_score", "min_weight_fraction_leaf"),
    "svm": ("kernel", "degree", "coef0", "shrinking", "probability", "tol", "max_iter", "decision_function_shape"),
    "logistic_regression": ("penalty", "solver", "max_iter", "tol", "fit_intercept", "dual", "intercept_scaling"),
    "mlp": ("hidden_layer_sizes", "solver", "learning_rate", "power_t", "max_iter", "momentum", "early_stopping",
            "validation_fraction", "beta_1", "beta_2", "epsilon", "n_iter_no_change", "tol", "shuffle"),
    "torch_mlp": ("patience", "validation_fraction"),
}
#: Built-in space parameters that are not constructor arguments (``params()`` maps them).
_NOT_ARGUMENTS = {"mlp": ("hidden_layer_width", "n_hidden_layers")}
_MLP_LAYERS = "hidden_layer_sizes"

#: Estimators outside the built-in spaces: their class names and known constructor arguments.
_OTHER_ESTIMATORS = {
    **dict.fromkeys(
        ("XGBClassifier", "XGBRegressor", "XGBRFClassifier", "XGBRFRegressor"),
        ("n_estimators", "learning_rate", "eta", "max_depth", "min_child_weight", "subsample", "colsample_bytree",
         "colsample_bylevel", "reg_lambda", "reg_alpha", "gamma", "max_leaves", "max_bin", "tree_method"),
    ),
    **dict.fromkeys(
        ("LGBMClassifier", "LGBMRegressor"),
        ("n_estimators", "learning_rate", "num_leaves", "max_depth", "min_child_samples", "min_child_weight",
         "subsample", "subsample_freq", "colsample_bytree", "reg_lambda", "reg_alpha", "min_split_gain"),
    ),
    **dict.fromkeys(
        ("CatBoostClassifier", "CatBoostRegressor"),
        ("iterations", "learning_rate", "depth", "l2_leaf_reg", "border_count", "random_strength"),
    ),
    **dict.fromkeys(
        ("GradientBoostingClassifier", "GradientBoostingRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
         "DecisionTreeClassifier", "DecisionTreeRegressor", "AdaBoostClassifier", "AdaBoostRegressor",
         "KNeighborsClassifier", "KNeighborsRegressor", "Ridge", "RidgeClassifier", "Lasso", "ElasticNet",
         "SGDClassifier", "SGDRegressor", "LinearSVC", "LinearSVR"),
        (),
    ),
}
#: Arguments of other libraries that mean a built-in space's parameter (or would be confused with one).
_ARGUMENT_ROLES = {
    "eta": "learning_rate",
    # The libraries' own parameter names (lgb.train, xgb.train: :mod:`.native_boosting`).
    "lambda_l2": "l2_regularization",
    "lambda": "l2_regularization",
    "min_data_in_leaf": "min_samples_leaf",
    "feature_fraction_bynode": "max_features",  # a share of the features for each split, as HGB's max_features
    "colsample_bynode": "max_features",
    **dict.fromkeys(ROUNDS - {"n_estimators"}, "max_iter"),  # boosting rounds (n_estimators: by kind, below)
    "num_leaves": "max_leaf_nodes",
    "max_leaves": "max_leaf_nodes",
    "min_child_samples": "min_samples_leaf",
    "iterations": "max_iter",  # CatBoost's boosting rounds
    "l2_leaf_reg": "l2_regularization",  # CatBoost's L2 term on the leaf values, as HGB's
    "depth": "max_depth",
    "reg_lambda": "l2_regularization",
    "gamma": "min_split_loss",  # XGBoost's gamma is a split threshold, not an RBF kernel's width
    "min_split_gain": "min_split_loss",
}
#: Built-in estimators' arguments whose name would be confused with another meaning.
_CLASS_ARGUMENT_ROLES = {("mlp", "learning_rate"): "learning_rate_schedule"}
#: A tuned argument whose values another argument of the built-in space says (matching converts them): a logistic
#: regression's ``penalty`` choice is the prior's ``l1_ratio`` at 1 (``"l1"``) or 0 (``"l2"``). A fixed ``penalty``
#: keeps its own role: a fixed ``"l2"`` is not a fixed ``l1_ratio`` of ``"l2"``.
_TUNED_ARGUMENT_ROLES = {("logistic_regression", "penalty"): "l1_ratio"}
#: Arguments whose meaning depends on the kind of estimator (:func:`estimator_kind`): a boosting library's
#: ``n_estimators`` counts boosting rounds, a histogram gradient boosting's ``max_iter``; a forest's counts trees.
_KIND_ARGUMENT_ROLES = {("gradient boosting", "n_estimators"): "max_iter"}

_OPTIMIZER_ROLES = {"lr": "learning_rate", "learning_rate": "learning_rate", "weight_decay": "weight_decay",
                    "momentum": "momentum"}
_DROPOUT_LAYERS = frozenset(("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"))
_NOT_MLP_LAYERS = frozenset(
    ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "RNN", "LSTM",
     "GRU", "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
     "MultiheadAttention", "Embedding")
)
_CASTS = frozenset(("int", "float", "round", "bool"))
#: Functions that raise e to their argument, and those that raise their first argument to their second.
_EXP_FUNCTIONS = frozenset(("exp", "math.exp", "np.exp", "numpy.exp", "torch.exp"))
_POWER_FUNCTIONS = frozenset(("pow", "math.pow", "np.power", "numpy.power", "np.float_power", "numpy.float_power"))


def _power_parts(expression: ast.expr) -> tuple[float | None, ast.expr | None]:
    """``(base, exponent)`` of ``base ** exponent``, ``exp(exponent)`` or ``np.power(base, exponent)`` with a
    literal base above 1; ``(None, None)`` for anything else."""
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.Pow):
        left = expression.left
        base = math.e if _dotted(left) in ("math.e", "np.e", "numpy.e") else _literal(left)
        exponent = expression.right
    elif isinstance(expression, ast.Call) and not expression.keywords:
        function = _dotted(expression.func)
        if function in _EXP_FUNCTIONS and len(expression.args) == 1:
            base, exponent = math.e, expression.args[0]
        elif function in _POWER_FUNCTIONS and len(expression.args) == 2:
            base, exponent = _literal(expression.args[0]), expression.args[1]
        else:
            return None, None
    else:
        return None, None
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not 1 < base < math.inf:
        return None, None
    return float(base), exponent


#: Names of objects that hold a study's settings as attributes (``args.lr``, ``wandb.config.lr``).
_CONFIG_NAMES = frozenset(("config", "cfg", "conf", "params", "hparams", "hp", "args", "settings"))


@dataclass(frozen=True)
class _Estimator:
    family: str | None  # the built-in family, None for other libraries
    arguments: frozenset[str]  # known constructor arguments, for Estimator(**config)
    kind: str  # what its hyperparameters belong to (estimator_kind)


def _known_estimators() -> dict[str, _Estimator]:
    known = {name: _Estimator(None, frozenset(args), _kind_of(name, None)) for name, args in _OTHER_ESTIMATORS.items()}
    for space in BUILTIN_SPACES.values():
        class_name = space.estimator_path.partition(":")[2]
        own = set(space.space) - set(_NOT_ARGUMENTS.get(space.family, ()))
        arguments = frozenset(own | set(_EXTRA_ARGUMENTS.get(space.family, ())))
        known[class_name] = _Estimator(space.family, arguments, _kind_of(class_name, space.family))
    return known


#: Estimators whose same-named hyperparameters mean the same thing, grouped under one kind (by built-in family
#: or class name without ``Classifier`` / ``Regressor``): the boosted-tree libraries share learning rate, depth
#: and leaf counts (``_ARGUMENT_ROLES`` maps their names), extremely randomised trees a forest's arguments.
_KIND_GROUPS = {
    "hgb": "gradient boosting", "GradientBoosting": "gradient boosting", "XGB": "gradient boosting",
    "LGBM": "gradient boosting", "CatBoost": "gradient boosting",
    "random_forest": "random forest", "ExtraTrees": "random forest", "XGBRF": "random forest",
}


#: Estimators of other libraries that run a built-in family's algorithm, and that family: scikit-learn's
#: histogram gradient boosting follows LightGBM (histograms of the features, trees grown leaf by leaf, the same
#: leaf count, leaf size, L2 penalty, learning rate and rounds), and XGBoost's default ``tree_method="hist"`` and
#: CatBoost's borders bin the features the same way (their trees grow depth-wise, CatBoost's symmetric). Their
#: arguments keep their own names (``_ARGUMENT_ROLES`` maps them); the family is evidence that the HGB prior is
#: about the same model. Measured on the six held-out datasets (``bench_optuna_style.py --cells lightgbm`` /
#: ``xgboost`` / ``catboost``, 60 runs each): warm from the HGB prior, Optuna's LightGBM example 0.191 / 0.072 at
#: trials 1 / 10 against its cold start's 0.395 / 0.108, an XGBoost cell 0.089 / 0.027 against 0.136 / 0.052, a
#: CatBoost cell 0.225 / 0.076 against 0.359 / 0.118. scikit-learn's ``GradientBoostingClassifier`` (exact splits,
#: no histograms) lost to its own cold start by trial 5 when warmed so, and is not listed. Extremely randomised
#: trees are a random forest drawn with random thresholds and no bootstrap sample, tuned by the same arguments:
#: warm from the forest's prior, an ``ExtraTreesClassifier`` cell (``--cells extra_trees``) 0.203 / 0.067 / 0.032 at
#: trials 1 / 5 / 10 against its cold start's 0.261 / 0.068 / 0.038 (a gain at trial 1 only, p 2e-4; p 0.2 after).
_SAME_ALGORITHM = {"LGBMClassifier": "hgb", "LGBMRegressor": "hgb", "XGBClassifier": "hgb", "XGBRegressor": "hgb",
                   "CatBoostClassifier": "hgb", "CatBoostRegressor": "hgb",
                   "ExtraTreesClassifier": "random_forest", "ExtraTreesRegressor": "random_forest"}


def family_kind(family: str) -> str:
    """The kind (:func:`estimator_kind`) of a built-in family's estimators: the family, joined by ``_KIND_GROUPS``."""
    return _KIND_GROUPS.get(family, family)


def _kind_of(class_name: str, family: str | None) -> str:
    """The built-in family, or the class name without ``Classifier`` / ``Regressor``, joined by :data:`_KIND_GROUPS`."""
    if family is not None:
        return family_kind(family)
    stem = class_name
    for suffix in ("Classifier", "Regressor"):
        if class_name.endswith(suffix) and len(class_name) > len(suffix):
            stem = class_name[: -len(suffix)]
            break
    return _KIND_GROUPS.get(stem, stem)


_ESTIMATORS = _known_estimators()


def _range_call(node: ast.expr) -> ast.Call | None:
    return node if isinstance(node, ast.Call) and _dotted(node.func) == "range" else None


def _is_torch_layer(path: str) -> bool:
    """Whether ``path`` names a torch layer class (``nn.Linear``, ``torch.nn.Dropout``; not a loss or a function)."""
    parts = path.split(".")
    name = parts[-1]
    if "functional" in parts or not name[:1].isupper() or name.endswith("Loss"):
        return False
    imported = ("Linear", "LazyLinear", *_DROPOUT_LAYERS, *_NOT_MLP_LAYERS)  # from torch.nn import Linear
    return "nn" in parts[:-1] or (len(parts) == 1 and name in imported)


class _RoleReader:
    """Reads which known calls the objective makes and what the user's parameters set in them."""

    def __init__(self, node: ast.FunctionDef | ast.AsyncFunctionDef, names: Sequence[str]) -> None:
        self._node = node
        self._names = set(names)
        # The objective's arguments that are not parameters: ``config`` in ``def f(config)``.
        self._holders = {a.arg for a in argument_list(node.args)} - self._names
        self._calls = sorted(_calls_in([node]), key=lambda c: (c.lineno, c.col_offset))
        self._paths = [_dotted(c.func) or "" for c in self._calls]
        self._keras = uses_keras(self._paths)  # a Keras model: its calls are read by :mod:`.keras_models`
        self._assignments = _assignments(node)
        self._changed = _changed_names(node)
        self._holders |= self._holder_aliases()
        self._aliases = self._local_aliases()
        self._dicts = self._local_dicts()
        self._roles: dict[ParameterRole, None] = {}  # ordered and without repeats
        self._settings: dict[str, list[FixedSetting]] = {}  # role -> every literal found for it
        self._gated = self._gated_nodes()
        self._gated_roles: set[str] = set()  # roles given a literal only under a parameter's switch

    def _gated_nodes(self) -> set[int]:
        """The ids of the nodes under ``if <parameter>:`` (or ``if not ...``): KerasTuner's ``if hp.Boolean("dropout"):
        model.add(layers.Dropout(0.25))`` runs the layer in some trials only, so its literal is no fixed setting."""
        gated: set[int] = set()
        for statement in ast.walk(self._node):
            if not isinstance(statement, ast.If):
                continue
            test = statement.test
            while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                test = test.operand
            if self.parameter_at(test) is None:
                continue
            for child in (*statement.body, *statement.orelse):
                gated.update(id(n) for n in ast.walk(child))
        return gated

    def _holder_aliases(self) -> set[str]:
        """Locals that are the objective's ``config`` under another name (``cfg = config``; a helper's ``args``
        bound to it)."""
        aliases: set[str] = set()
        for _ in range(len(self._assignments) + 1):
            found = {
                target for target, values in self._assignments.items()
                if len(values) == 1 and isinstance(values[0], ast.Name)
                and values[0].id in self._holders | aliases and target not in self._names
            }
            if found == aliases:
                break
            aliases = found
        return aliases

    # Which parameters an expression uses -------------------------------------------

    def _local_aliases(self) -> dict[str, str]:
        """Locals computed from one parameter (``depth = int(max_depth)``), to their parameter.

        Only arithmetic, casts, ``math``/``numpy`` functions and lookups count: a model
        built from one parameter is not that parameter. Repeated until stable, so chains
        (``a = lr; b = a * 2``) resolve; a local assigned from different parameters is
        ambiguous and left out.
        """
        aliases: dict[str, str] = {}
        candidates = {
            target: values for target, values in self._assignments.items()
            if target not in self._names and all(_is_arithmetic(v) for v in values)
        }
        for _ in range(len(candidates) + 1):
            found = {t: set().union(*(self._parameters_in(v, aliases) for v in vs)) for t, vs in candidates.items()}
            updated = {t: next(iter(ps)) for t, ps in found.items() if len(ps) == 1}
            if updated == aliases:
                break
            aliases = updated
        return aliases

    def _local_dicts(self) -> dict[str, list[tuple[str, ast.expr]]]:
        """Locals holding keyword arguments: ``dict(max_depth=d)``, ``{"max_depth": d}``, ``params["k"] = v``."""
        dicts: dict[str, list[tuple[str, ast.expr]]] = {}
        for node in ast.walk(self._node):
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target = node.targets[0]
            entries = _dict_entries(node.value)
            if isinstance(target, ast.Name) and entries is not None:
                dicts.setdefault(target.id, []).extend(entries)
            elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                key = target.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    dicts.setdefault(target.value.id, []).append((key.value, node.value))
        return dicts

    def _parameters_in(self, expression: ast.AST, aliases: Mapping[str, str] | None = None) -> set[str]:
        """The user's parameters an expression reads: by name, through a local, or as ``config["name"]``."""
        aliases = self._aliases if aliases is None else aliases
        used = set()
        for node in ast.walk(expression):
            if isinstance(node, ast.Name):
                if node.id in self._names:
                    used.add(node.id)
                elif node.id in aliases:
                    used.add(aliases[node.id])
            key = self._looked_up_key(node)
            if key is not None:
                used.add(key)
        return used

    def _looked_up_key(self, node: ast.AST) -> str | None:
        """``name`` for ``config["name"]``, ``config.get("name")``, ``args.name`` or Optuna's
        ``trial.suggest_float("name", ...)`` when it is a parameter.

        Attribute reads count only on the objective's own arguments or on a ``config``-like
        name (``wandb.config.lr``), so that ``X.T`` is not the parameter ``T``.
        """
        key: ast.AST | None = None
        if isinstance(node, ast.Subscript):
            key = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                node.func.attr == "get" or suggest_method(node) is not None):
            key = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "name"), None)
        elif isinstance(node, ast.Attribute) and node.attr in self._names:
            holder = (_dotted(node.value) or "").rpartition(".")[2]
            return node.attr if holder in self._holders or holder in _CONFIG_NAMES else None
        if isinstance(key, ast.Constant) and key.value in self._names:
            return key.value
        return None

    def parameter_at(self, node: ast.AST) -> str | None:
        """The parameter one node is, not looking inside it: a name being read (or a local holding the
        parameter) or a lookup (``config["name"]``, a suggest call); else None."""
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                return None
            return node.id if node.id in self._names else self._aliases.get(node.id)
        return self._looked_up_key(node)

    def _single_parameter(self, expression: ast.AST | None) -> str | None:
        used = set() if expression is None else self._parameters_in(expression)
        return next(iter(used)) if len(used) == 1 else None

    def _is_direct(self, expression: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        """Whether the value is the parameter itself (possibly cast), so its range is the argument's."""
        if isinstance(expression, ast.Call) and _dotted(expression.func) in _CASTS and len(expression.args) == 1:
            return self._is_direct(expression.args[0], seen)
        if isinstance(expression, ast.Name):
            name = expression.id
            if name in self._names and (name in seen or name not in self._assignments):
                return True  # the argument as passed (also inside its own rebinding: depth = int(depth))
            if name in seen or not (name in self._names or name in self._aliases):
                return False
            # A local, or a parameter rebound in the body, is direct when its one value is.
            values = self._assignments[name] if name in self._assignments else []
            return len(values) == 1 and self._is_direct(values[0], seen | {name})
        return self._looked_up_key(expression) is not None

    def _power_base(self, expression: ast.expr, seen: frozenset[str] = frozenset()) -> float | None:
        """The base ``b`` when the value is ``b ** parameter`` with the parameter as it is (:meth:`_is_direct`):
        ``10 ** log_c``, ``2 ** k``, ``math.exp(log_lr)``, ``np.power(10, x)``, cast or held by a local; else None.

        Only bases above 1, so that a larger parameter is a larger argument, as on a log scale."""
        if isinstance(expression, ast.Call) and _dotted(expression.func) in _CASTS and len(expression.args) == 1:
            return self._power_base(expression.args[0], seen)
        if isinstance(expression, ast.Name):
            name = expression.id
            if name in seen or not (name in self._names or name in self._aliases) or name not in self._assignments:
                return None
            values = self._assignments[name]
            return self._power_base(values[0], seen | {name}) if len(values) == 1 else None
        base, exponent = _power_parts(expression)
        if base is None or exponent is None:
            return None
        if isinstance(exponent, ast.Name) and exponent.id in seen:
            return base  # the parameter inside its own rebinding: C = 10 ** C
        return base if self._is_direct(exponent, seen) else None

    def _add(self, expression: ast.expr | None, target: str, argument: str, role: str) -> None:
        parameter = self._single_parameter(expression)
        family = _ESTIMATORS[target].family if target in _ESTIMATORS else None
        if parameter is not None and expression is not None:
            role = _TUNED_ARGUMENT_ROLES.get((family, argument), role)
            direct = self._is_direct(expression)
            base = None if direct else self._power_base(expression)
            self._roles[ParameterRole(parameter, target, argument, role, direct, base)] = None
        elif expression is not None and not self._parameters_in(expression):
            value = self._literal_value(expression)
            if value is not _NOT_LITERAL and id(expression) in self._gated:
                self._gated_roles.add(role)
            elif value is not _NOT_LITERAL:
                self._fix(FixedSetting(target, argument, role, _number_it_runs(family, argument, value)))

    def _literal_value(self, expression: ast.expr) -> Any:
        """A literal's value, also through a local assigned one literal and never changed (``kernel = "rbf"``, a
        helper's default; not a loop's variable or one that ``+=`` changes), or KerasTuner's ``hp.Fixed(name,
        value)``."""
        fixed = fixed_value(expression)
        if fixed is not None:
            return self._literal_value(fixed)
        if isinstance(expression, ast.Name) and len(self._assignments.get(expression.id, ())) == 1:
            if expression.id in self._changed:
                return _NOT_LITERAL
            expression = self._assignments[expression.id][0]
        return _literal(expression)

    def _fix(self, setting: FixedSetting) -> None:
        """Record one literal the objective gives a role (:meth:`settings` keeps the roles given one value)."""
        self._settings.setdefault(setting.role, []).append(setting)

    def settings(self) -> tuple[FixedSetting, ...]:
        """The roles fixed to one value: none that a parameter also sets, none given two values."""
        tuned = {role.role for role in self._roles} | self._gated_roles
        fixed = []
        for role, found in self._settings.items():
            values = {_literal_key(setting.value) for setting in found}
            if role not in tuned and len(values) == 1:
                fixed.append(found[0])
        return tuple(fixed)

    # Reading -----------------------------------------------------------------------

    def read(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[ParameterRole, ...]]:
        estimators: dict[str, None] = {}
        families: dict[str, None] = {}
        for call in self._calls:
            path = _dotted(call.func)
            if path is None:
                continue
            name = path.rpartition(".")[2]
            if name in _ESTIMATORS:
                estimators[name] = None
                family = _ESTIMATORS[name].family or _SAME_ALGORITHM.get(name)
                if family is not None:
                    families[family] = None
                self._read_estimator(call, name)
            elif not (self._keras and self._read_keras_call(call, path)):
                self._read_torch_call(call, path, name)
        self._read_loops()
        if self._is_torch_mlp() or self._keras and is_keras_mlp(self._paths):
            families["torch_mlp"] = None  # a Keras MLP is the model of the prior's torch MLP studies
        return tuple(estimators), tuple(families), tuple(self._roles)

    def _read_estimator(self, call: ast.Call, name: str) -> None:
        estimator = _ESTIMATORS[name]
        for kw in call.keywords:
            if kw.arg is None:
                self._read_unpacked(kw.value, name, estimator)
            elif kw.arg == _MLP_LAYERS and estimator.family == "mlp":
                self._read_mlp_layers(kw.value, name)
            else:
                self._add(kw.value, name, kw.arg, self._estimator_role(estimator, kw.arg))
        if not call.args and all(kw.arg is not None for kw in call.keywords):
            self._add_left_out_defaults(call, name, estimator)

    def _add_left_out_defaults(self, call: ast.Call, name: str, estimator: _Estimator) -> None:
        """The library defaults of the built-in space's arguments that the call leaves out.

        Read from the class's signature only when its module is already imported (the
        user's cell imported it to build the estimator): reading a source never imports
        scikit-learn.
        """
        given = {kw.arg for kw in call.keywords}
        defaults = _library_defaults(name)
        for argument in sorted(_SPACE_ARGUMENTS.get(name, ())):
            if argument not in given and argument in defaults:
                role = self._estimator_role(estimator, argument)
                value = _number_it_runs(estimator.family, argument, defaults[argument])
                self._fix(FixedSetting(name, argument, role, value, default=True))
        layers = _library_default_layers(name) if estimator.family == "mlp" and _MLP_LAYERS not in given else None
        if layers is not None:  # scikit-learn's (100,): the prior's width 100 and one layer
            for role, setting in zip(("hidden_layer_width", "n_hidden_layers"), layers):
                self._fix(FixedSetting(name, role, role, setting, default=True))

    @staticmethod
    def _estimator_role(estimator: _Estimator, argument: str) -> str:
        if estimator.family is None:
            return _KIND_ARGUMENT_ROLES.get((estimator.kind, argument)) or _ARGUMENT_ROLES.get(argument, argument)
        return _CLASS_ARGUMENT_ROLES.get((estimator.family, argument), argument)

    def _read_unpacked(self, value: ast.expr, name: str, estimator: _Estimator) -> None:
        """``Estimator(**params)``: the keys of a dict built in the objective.

        For the objective's own ``config`` argument, every parameter named as one of the
        estimator's arguments; a global dict of fixed settings tells nothing.
        """
        entries = self._unpacked_entries(value)
        for key, expression in entries or []:
            self._add(expression, name, key, self._estimator_role(estimator, key))
        if entries is None and isinstance(value, ast.Name) and value.id in self._holders:
            for parameter in sorted(self._names & estimator.arguments):
                role = self._estimator_role(estimator, parameter)
                self._roles[ParameterRole(parameter, name, parameter, role)] = None

    def _unpacked_entries(self, value: ast.expr) -> list[tuple[str, ast.expr]] | None:
        """The entries of the dict ``**value`` unpacks, when known: written there, or built in the objective."""
        entries = _dict_entries(value)
        if entries is None and isinstance(value, ast.Name):
            entries = self._dicts.get(value.id)
        return entries

    def _read_mlp_layers(self, value: ast.expr, name: str) -> None:
        """``hidden_layer_sizes=(width,) * n_layers`` (or ``[width] * n``, ``(width, width)``; literal widths such
        as ``(64, 64)`` or ``(128, 32)`` are fixed), or one parameter tuned as a choice of layer sizes
        (``hidden_layer_sizes=layers``: matching reads width and depth from it)."""
        if isinstance(value, ast.Call) and _dotted(value.func) in ("tuple", "list") and len(value.args) == 1:
            value = value.args[0]
        repeated = _repeated_sequence(value)
        if repeated is None:
            if not _is_product(value):  # a product without a literal sequence tells nothing
                self._add(value, name, _MLP_LAYERS, _MLP_LAYERS)
            return
        sequence, count = repeated
        width_read = self._add_layer_width(sequence, name)
        times = 1 if count is None else _literal(count)
        if type(times) is int:  # (w,), (w, w), (w,) * 2, (64, 64): the prior's n_hidden_layers, fixed
            if width_read and times >= 1:
                layers = len(sequence.elts) * times
                self._fix(FixedSetting(name, "n_hidden_layers", "n_hidden_layers", layers))
        elif len(sequence.elts) == 1:  # (width,) * n_layers
            self._add(count, name, _MLP_LAYERS, "n_hidden_layers")

    def _add_layer_width(self, sequence: ast.Tuple | ast.List, name: str) -> bool:
        """The width of the layers: a parameter's role when they all have it, or a literal fixed (``[64] * n``;
        literal layers of several widths, ``(128, 64)``, at their geometric mean width, as matching reads a
        choice of such layer sizes). False when no width can be read."""
        widths = {self._single_parameter(e) for e in sequence.elts}
        if len(widths) == 1 and None not in widths:
            self._add(sequence.elts[0], name, _MLP_LAYERS, "hidden_layer_width")
            return True
        literals = [_literal(e) for e in sequence.elts]
        if literals and all(type(w) is int and w >= 1 for w in literals):
            width = round(math.exp(sum(math.log(w) for w in literals) / len(literals)))
            self._fix(FixedSetting(name, "hidden_layer_width", "hidden_layer_width", width))
            return True
        return False

    def _read_keras_call(self, call: ast.Call, path: str) -> bool:
        """What a call of a Keras objective sets (:mod:`.keras_models`), or what Keras runs where it leaves the
        argument out; False when the call is none of Keras's read there. Keyword arguments unpacked from a dict the
        objective builds (``layers.Dense(**layer)`` with ``layer = {"units": units}``) are read as written out."""
        found: list[KerasArgument] | None = keras_arguments(self._unpacked(call), path)
        for target, argument, role, expression, default in found or ():
            if expression is not None:
                self._add(expression, target, argument, role)
            elif default is not None:
                self._fix(FixedSetting(target, argument, role, default, default=True))
        return found is not None

    def _unpacked(self, call: ast.Call) -> ast.Call:
        """``call`` with each ``**d`` whose entries are known (a dict written there or built in the objective) written
        out as keyword arguments; ``call`` itself when it unpacks none."""
        if all(kw.arg is not None for kw in call.keywords):
            return call
        keywords: list[ast.keyword] = []
        for kw in call.keywords:
            entries = self._unpacked_entries(kw.value) if kw.arg is None else None
            if entries is None:
                keywords.append(kw)
            else:
                keywords.extend(ast.keyword(arg=key, value=value) for key, value in entries)
        return ast.Call(func=call.func, args=call.args, keywords=keywords)

    def _read_torch_call(self, call: ast.Call, path: str, name: str) -> None:
        parts = path.split(".")
        if name == "Trainer" and {"pl", "lightning", "pytorch_lightning"} & set(parts[:-1]):
            self._add(_argument(call, "max_epochs"), path, "max_epochs", "max_epochs")
        elif is_skorch_net(path):  # the module and the optimiser it runs are read from :func:`what_skorch_runs`
            for kw in call.keywords:
                if kw.arg in SKORCH_ROLES:
                    self._add(kw.value, f"skorch.{name}", kw.arg, SKORCH_ROLES[kw.arg])
        elif name in TORCH_OPTIMIZERS and (len(parts) == 1 or "optim" in parts):
            target = f"torch.optim.{name}"
            self._add(_argument(call, "lr", 1), target, "lr", "learning_rate")
            for kw in call.keywords:
                if kw.arg in _OPTIMIZER_ROLES and kw.arg != "lr":
                    self._add(kw.value, target, kw.arg, _OPTIMIZER_ROLES[kw.arg])
        elif name == "DataLoader":
            self._add(_argument(call, "batch_size", 1), "torch.utils.data.DataLoader", "batch_size", "batch_size")
        elif name in _DROPOUT_LAYERS:
            self._add(_argument(call, "p", 0), f"torch.nn.{name}", "p", "dropout")
        elif name == "dropout":
            self._add(_argument(call, "p", 1), "torch.nn.functional.dropout", "p", "dropout")
        elif name == "Linear" and _is_torch_layer(path):
            self._add(_argument(call, "out_features", 1), "torch.nn.Linear", "out_features", "hidden_width")
        elif name == "LazyLinear" and _is_torch_layer(path):
            self._add(_argument(call, "out_features", 0), "torch.nn.LazyLinear", "out_features", "hidden_width")

    def _read_loops(self) -> None:
        """``for _ in range(n)`` around layers (n_hidden_layers) or around training steps (max_epochs)."""
        for node in ast.walk(self._node):
            if isinstance(node, (ast.For, ast.AsyncFor)) and (loop := _range_call(node.iter)):
                self._read_loop(loop, node.body, _loop_variable(node.target))
            elif isinstance(node, (ast.ListComp, ast.GeneratorExp)) and (loop := _range_call(node.generators[0].iter)):
                self._read_loop(loop, [node.elt], _loop_variable(node.generators[0].target))
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
                self._read_repeated_layers(node)

    def _read_loop(self, loop: ast.Call, body: list[Any], variable: str) -> None:
        stop = loop.args[1] if len(loop.args) > 1 else loop.args[0] if loop.args else None
        step = loop.args[2] if len(loop.args) > 2 else None
        calls = [_dotted(c.func) or "" for c in _calls_in(body)]
        # A loop that steps an optimiser trains; one that only builds layers stacks them.
        if any(path.rpartition(".")[2] in ("backward", "step") for path in calls) or "epoch" in variable:
            self._add(stop, "training loop", "range", "max_epochs")
            self._add(step, "training loop", "range step", "batch_size")
        elif any(self._is_layer(path) for path in calls):
            self._add(stop, "layer loop", "range", "n_hidden_layers")

    def _read_repeated_layers(self, node: ast.BinOp) -> None:
        """``[nn.Linear(h, h), nn.ReLU()] * n_layers``."""
        for sequence, count in ((node.left, node.right), (node.right, node.left)):
            layers = isinstance(sequence, ast.List) and any(
                self._is_layer(_dotted(c.func) or "") for c in _calls_in([sequence])
            )
            if layers:
                self._add(count, "layer loop", "*", "n_hidden_layers")

    def _is_layer(self, path: str) -> bool:
        """Whether ``path`` names a torch layer, or in a Keras objective a Keras one."""
        return _is_torch_layer(path) or self._keras and is_keras_layer(path)

    def _is_torch_mlp(self) -> bool:
        paths = self._paths
        layers = [p.rpartition(".")[2] for p in paths if _is_torch_layer(p)]
        optimiser = any(
            p.rpartition(".")[2] in TORCH_OPTIMIZERS and ("optim" in p.split(".") or "." not in p) for p in paths
        )
        linear = {"Linear", "LazyLinear"} & set(layers)
        return optimiser and bool(linear) and not set(layers) & _NOT_MLP_LAYERS


def _changed_names(node: ast.AST) -> set[str]:
    """Names bound other than by a plain assignment: ``+=``, a loop's or a ``with``'s variable, ``:=``."""
    changed: set[str] = set()
    for n in ast.walk(node):
        targets = (
            [n.target] if isinstance(n, (ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr, ast.comprehension))
            else [item.optional_vars for item in n.items] if isinstance(n, (ast.With, ast.AsyncWith)) else []
        )
        for target in (t for t in targets if t is not None):
            changed.update(name.id for name in ast.walk(target) if isinstance(name, ast.Name))
    return changed


def _dict_entries(expression: ast.expr) -> list[tuple[str, ast.expr]] | None:
    """The string keys and values of a ``{...}`` or ``dict(...)`` expression; None for anything else."""
    if isinstance(expression, ast.Dict):
        pairs = zip(expression.keys, expression.values)
        return [(k.value, v) for k, v in pairs if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    if isinstance(expression, ast.Call) and _dotted(expression.func) == "dict":
        return [(kw.arg, kw.value) for kw in expression.keywords if kw.arg]
    return None


def _is_arithmetic(expression: ast.expr) -> bool:
    """Whether the only calls in ``expression`` are casts, ``math``/``numpy`` functions, ``.get`` lookups or
    Optuna's ``trial.suggest_*`` or KerasTuner's ``hp.Int`` (each a lookup of the configuration here)."""
    for call in _calls_in([expression]):
        path = _dotted(call.func) or ""
        if not (path in _CASTS or path.split(".")[0] in ("math", "np", "numpy") or path.endswith(".get")
                or suggest_method(call) is not None):
            return False
    return True


def _loop_variable(target: ast.expr) -> str:
    return target.id if isinstance(target, ast.Name) else ""


def _is_product(expression: ast.expr) -> bool:
    return isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.Mult)


def _repeated_sequence(expression: ast.expr) -> tuple[ast.Tuple | ast.List, ast.expr | None] | None:
    """``(sequence, count)`` of ``(a, b) * n`` or ``n * [a]`` (either order), ``(sequence, None)`` of a plain
    tuple or list, ``None`` for anything else."""
    if isinstance(expression, (ast.Tuple, ast.List)):
        return expression, None
    if _is_product(expression):
        for sequence, count in ((expression.left, expression.right), (expression.right, expression.left)):
            if isinstance(sequence, (ast.Tuple, ast.List)):
                return sequence, count
    return None


#: Words a built-in estimator's argument takes for a number the prior's range holds, by (family, argument).
#: scikit-learn's MLP runs ``batch_size="auto"`` as min(200, n_samples); the prior's batch sizes above a
#: dataset's size ran clipped to it the same way, so 200 is what "auto" ran in every past study.
_WORDS_FOR_NUMBERS = {("mlp", "batch_size"): {"auto": 200}}


def _number_it_runs(family: str | None, argument: str, value: Any) -> Any:
    """The number a word such as ``"auto"`` stands for (:data:`_WORDS_FOR_NUMBERS`); ``value`` otherwise."""
    words = _WORDS_FOR_NUMBERS.get((family, argument))
    return words.get(value, value) if words and isinstance(value, str) else value


def _literal_key(value: Any) -> tuple[bool, Any]:
    """Equal for ``1`` and ``1.0``, different for ``True`` and ``1`` (Python's ``==`` says they are equal)."""
    return isinstance(value, bool), value


#: Built-in estimator class name -> the constructor arguments its built-in space tunes.
_SPACE_ARGUMENTS = {
    space.estimator_path.partition(":")[2]: frozenset(space.space) - set(_NOT_ARGUMENTS.get(space.family, ()))
    for space in BUILTIN_SPACES.values()
}
_MODULES = {space.estimator_path.partition(":")[2]: space.estimator_path.partition(":")[0]
            for space in BUILTIN_SPACES.values()}
#: Classes of a built-in estimator's module that take its space's arguments under the same names, and that estimator:
#: the defaults of those arguments a call leaves out are read from their own signature (an ``ExtraTreesClassifier``
#: runs ``bootstrap=False``, a random forest ``True``).
_SAME_ARGUMENTS = {"ExtraTreesClassifier": "RandomForestClassifier", "ExtraTreesRegressor": "RandomForestRegressor"}
_SPACE_ARGUMENTS.update({name: _SPACE_ARGUMENTS[like] for name, like in _SAME_ARGUMENTS.items()})
_MODULES.update({name: _MODULES[like] for name, like in _SAME_ARGUMENTS.items()})


@functools.lru_cache(maxsize=None)
def _signature_defaults(module_name: str, class_name: str) -> dict[str, Any]:
    module = sys.modules.get(module_name)
    cls = getattr(module, class_name, None)
    try:
        parameters = inspect.signature(cls).parameters.values() if cls is not None else ()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


@functools.lru_cache(maxsize=None)
def _library_defaults_cached(module_name: str, class_name: str) -> dict[str, Any]:
    return {name: value for name, value in _signature_defaults(module_name, class_name).items() if _is_scalar(value)}


def _imported_module(class_name: str) -> str | None:
    """The module of a built-in estimator class when the user's code imported it (reading never imports it)."""
    module_name = _MODULES.get(class_name)
    return module_name if module_name is not None and module_name in sys.modules else None


def _library_defaults(class_name: str) -> dict[str, Any]:
    """The scalar constructor defaults of a built-in estimator, when its module is imported ({} otherwise)."""
    module_name = _imported_module(class_name)
    return {} if module_name is None else _library_defaults_cached(module_name, class_name)


def _library_default_layers(class_name: str) -> tuple[int, int] | None:
    """``(width, n_layers)`` of a built-in MLP class's default ``hidden_layer_sizes`` (scikit-learn's ``(100,)``),
    when its module is imported and the default is layers of one width; ``None`` otherwise."""
    module_name = _imported_module(class_name)
    if module_name is None:
        return None
    sizes = _signature_defaults(module_name, class_name).get(_MLP_LAYERS)
    if not isinstance(sizes, tuple) or not sizes or any(type(w) is not int or w < 1 for w in sizes):
        return None
    return (sizes[0], len(sizes)) if len(set(sizes)) == 1 else None


#: :func:`argument_default` found no default.
NO_DEFAULT = _NOT_LITERAL


#: Constructor arguments that make another model of the same estimator class, by built-in family: an SVM with a
#: polynomial kernel is not the RBF SVM the prior ran (its C and gamma weigh other functions). Measured
#: (benchmarks/kernel_transfer_check.py in a checkout from before the rule): a poly-kernel SVR cell warmed from the
#: RBF prior reached R^2 0.72 in 10 trials on rd_ggplot2_diamonds, its own cold start 0.96 (4 seeds each; -0.01
#: against 0.09 on wd_wage1).
_MODEL_SETTINGS = {"svm": ("kernel",)}


def estimator_kind(target: str, settings: Iterable[FixedSetting] = ()) -> str | None:
    """What the hyperparameters of ``target`` (an estimator class the objective calls) belong to.

    Same-named arguments of two estimators of one kind mean the same hyperparameter; of two
    kinds they need not (``max_depth`` of a random forest lets each tree grow until pure,
    of gradient boosting it bounds a shallow tree; ``C`` of a support vector machine and of a
    logistic regression weigh different losses). The kind is the built-in family for a
    built-in space's classes (a classifier and its regressor agree), another known
    estimator's class name without ``Classifier`` / ``Regressor``, either joined by
    :data:`_KIND_GROUPS`; ``None`` for any other call (a torch optimiser, a training loop),
    which is not told apart. Where the objective's ``settings`` fix an argument that makes
    another model (:data:`_MODEL_SETTINGS`) at a value other than the one the bundled prior
    ran, the kind names it: ``"svm (kernel='poly')"``.
    """
    estimator = _ESTIMATORS.get(target)
    if estimator is None:
        return None
    variant = model_variant(target, settings)
    return f"{estimator.kind} ({variant})" if variant else estimator.kind


def model_variant(target: str, settings: Iterable[FixedSetting]) -> str:
    """``"kernel='poly'"`` when ``settings`` fix one of ``target``'s model-making arguments at a value other than
    the prior's; ``""`` otherwise."""
    estimator = _ESTIMATORS.get(target)
    arguments = _MODEL_SETTINGS.get(estimator.family, ()) if estimator is not None else ()
    for setting in settings:
        if setting.target == target and setting.argument in arguments:
            if _literal_key(setting.value) != _literal_key(argument_default(target, setting.argument)):
                return f"{setting.argument}={setting.value!r}"
    return ""


def argument_default(target: str, argument: str) -> Any:
    """The value a built-in estimator class gets for ``argument`` when a call leaves it out.

    The built-in space's fixed settings first (the bundled prior ran every trial with
    them), then the library's own default, read when its module is already imported.
    :data:`NO_DEFAULT` for another class, an unknown argument or a default that is not
    a plain value.
    """
    for space in BUILTIN_SPACES.values():
        if space.estimator_path.partition(":")[2] == target and argument in space.fixed:
            value = space.fixed[argument]
            return value if _is_scalar(value) else NO_DEFAULT
    return _library_defaults(target).get(argument, NO_DEFAULT)
