"""Which of an objective's parameters chooses a torch class it runs (its optimiser, its activation), and what each
option runs.

A training loop chooses its optimiser or its activation function in one of three ways, each read here:

- by name, Optuna's PyTorch example: ``getattr(optim, optimizer_name)(model.parameters(), lr=lr)``, where
  each option is the class's own name (``"Adam"``); ``getattr(nn, activation)()`` the same, and
  ``getattr(F, activation)(x)`` with the functions' names (``"relu"``);
- through a table: ``{"adam": optim.Adam, "sgd": optim.SGD}[name](model.parameters(), lr=lr)`` or
  ``{"relu": nn.ReLU(), "tanh": nn.Tanh()}[activation]``, the table written where it is looked up, held
  by a local, or a constant of the notebook; an optimiser's lookup called where it is made or through a
  local (``optimizer_class = OPTIMIZERS[name]``); each key runs its value;
- in branches: ``if name == "adam": optimizer = optim.Adam(...)`` and ``else: optimizer = optim.SGD(...)``,
  ``nn.ReLU() if activation == "relu" else nn.Tanh()`` (``elif``, conditional expressions and ``match`` as
  :mod:`.branches` reads them); each option runs the one class named under it.

:func:`name_chosen` finds the first two kinds (and rewrites an optimiser's call as a call of
``torch.optim.Optimizer``, one chosen when the trial runs), :func:`branch_chosen` the third;
:func:`named_classes` lists the classes an objective names, so that a past study that never
chose says what it ran. With them the warm start runs a past study's configurations in the
option that runs the optimiser and the activation it ran (:mod:`.as_it_ran`). A Keras model's choices
(:data:`KERAS_OPTIMIZER`, :data:`KERAS_ACTIVATION`) are read by :mod:`.keras_models`, and
``getattr(keras.optimizers, name)`` here.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._syntax import NOT_LITERAL, assignments, calls_in, dotted, literal
from .branches import parameter_branches

__all__ = [
    "ACTIVATION", "ACTIVATION_NAMES", "ANY_OPTIMIZER", "KERAS_ACTIVATION", "KERAS_OPTIMIZER", "KINDS", "OPTIMIZER",
    "OPTIMIZER_TARGET", "TORCH_OPTIMIZERS", "ChoiceKind", "OptionRuns", "branch_chosen", "name_chosen", "named_classes",
]

TORCH_OPTIMIZERS = frozenset(
    ("Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop",
     "LBFGS", "SparseAdam", "Adafactor", "Optimizer")
)
#: The optimiser a call chooses when the trial runs: :func:`name_chosen` calls it so.
ANY_OPTIMIZER = "Optimizer"
#: The target of the role of a parameter that chooses the torch.optim optimiser to run.
OPTIMIZER_TARGET = "torch.optim"
#: ``torch.nn``'s activation modules, by the name of their function in ``torch.nn.functional`` (and ``torch``).
_ACTIVATIONS = {
    "relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "prelu": "PReLU", "rrelu": "RReLU", "elu": "ELU",
    "selu": "SELU", "celu": "CELU", "gelu": "GELU", "silu": "SiLU", "mish": "Mish", "tanh": "Tanh",
    "sigmoid": "Sigmoid", "softplus": "Softplus", "softsign": "Softsign", "hardtanh": "Hardtanh",
    "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid", "logsigmoid": "LogSigmoid", "tanhshrink": "Tanhshrink",
}
#: An activation's name (torch's function or Keras's string, ``"relu"``, ``"swish"``) to the ``torch.nn`` class of
#: that function: what an option of that name runs.
ACTIVATION_NAMES = {**_ACTIVATIONS, "swish": "SiLU", "hard_sigmoid": "Hardsigmoid", "hard_silu": "Hardswish",
                    "hard_swish": "Hardswish"}


@dataclass(frozen=True)
class ChoiceKind:
    """A kind of torch class a parameter can choose: its role, the target of that role, the module whose
    classes these are, and their names."""

    role: str
    target: str
    module: str
    classes: frozenset[str]


OPTIMIZER = ChoiceKind("optimizer", OPTIMIZER_TARGET, "torch.optim", TORCH_OPTIMIZERS - {ANY_OPTIMIZER})
ACTIVATION = ChoiceKind("activation", "torch.nn activation", "torch.nn", frozenset(_ACTIVATIONS.values()))
#: A Keras model's optimiser and activation chosen by name (:mod:`.keras_models`): options run the class of the same
#: name (an activation's, as torch names it: ``"relu"`` runs ``ReLU``).
KERAS_OPTIMIZER = ChoiceKind("optimizer", "keras.optimizers", "keras.optimizers", frozenset(
    ("Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion", "Lamb", "Adafactor",
     "Muon")))
KERAS_ACTIVATION = ChoiceKind("activation", "keras activation", "keras.activations", ACTIVATION.classes)
_TORCH_KINDS = (OPTIMIZER, ACTIVATION)
KINDS = (*_TORCH_KINDS, KERAS_OPTIMIZER, KERAS_ACTIVATION)
#: What a place naming a class is, for the branch reader: this prefix, the kind's role, ``"\0"`` and the class's
#: name (no parameter's name holds ``"\0"``).
_NAMED = "\0"


@dataclass(frozen=True)
class OptionRuns:
    """The option ``option`` of the choice ``parameter`` runs the torch class ``runs`` (``"Adam"``, ``"ReLU"``)."""

    parameter: str
    option: Any
    runs: str


def class_named(node: ast.AST, namespace: Mapping[str, Any] | None = None) -> tuple[ChoiceKind, str] | None:
    """The kind and name of the torch class ``node`` names: ``optim.Adam``, ``torch.optim.SGD``, an imported
    ``AdamW``, ``nn.ReLU``, ``nn.ReLU()`` (an instance), ``F.relu`` or ``torch.tanh`` (a function of one);
    None for anything else (the placeholder :data:`ANY_OPTIMIZER` too)."""
    if isinstance(node, ast.Call):
        node = node.func  # nn.ReLU(), optim.Adam(params, lr=lr): an instance of the class
    path = dotted(node)
    if path is None:
        return None
    parts = path.split(".")
    name = parts[-1]
    if name in OPTIMIZER.classes:
        kind = OPTIMIZER
        known = "optim" in parts[:-1] or len(parts) == 1
    elif name in ACTIVATION.classes:
        kind = ACTIVATION
        known = "nn" in parts[:-1] or len(parts) == 1
    elif name in _ACTIVATIONS and len(parts) > 1:
        kind, name = ACTIVATION, _ACTIVATIONS[name]
        known = "functional" in parts[:-1] or parts[:-1] in (["F"], ["torch"])
    else:
        return None
    if len(parts) == 1 and namespace is not None and name in namespace:
        known = class_of(namespace[name]) == (kind, name)  # a bare name: the imported class, not another
    return (kind, name) if known else None


def class_of(value: Any) -> tuple[ChoiceKind, str] | None:
    """The kind and name of a torch class, an instance of one or one of ``torch.nn.functional``'s activations
    (checked without importing torch); None for anything else."""
    if not inspect.isclass(value) and not inspect.isroutine(value):
        value = type(value)
    module = str(getattr(value, "__module__", "") or "")
    name = getattr(value, "__name__", "")
    if module.startswith("torch.optim") and name in OPTIMIZER.classes:
        return OPTIMIZER, name
    if module.startswith("torch.nn") and name in ACTIVATION.classes:
        return ACTIVATION, name
    if inspect.isroutine(value) and module.startswith("torch") and name in _ACTIVATIONS:
        return ACTIVATION, _ACTIVATIONS[name]
    return None


def named_classes(function: ast.AST, namespace: Mapping[str, Any]) -> tuple[str, ...]:
    """The torch optimisers and activations ``function`` names, as ``torch.optim.AdamW`` and ``torch.nn.ReLU``,
    sorted."""
    found = set()
    for node in ast.walk(function):
        named = class_named(node, namespace) if isinstance(node, (ast.Attribute, ast.Name)) else None
        if named is not None:
            found.add(f"{named[0].module}.{named[1]}")
    return tuple(sorted(found))


def name_chosen(
    function: ast.AST, namespace: Mapping[str, Any]
) -> list[tuple[ChoiceKind, ast.expr, dict[Any, str]]]:
    """Each class chosen by name or through a table: its kind, the expression that chooses (``optimizer_name``)
    and what each option runs (empty for a class's own name; a function's name, ``"relu"``, runs its class).
    A call of an optimiser so chosen becomes a call of ``torch.optim.Optimizer`` (a literal name,
    ``getattr(optim, "Adam")``, a call of ``torch.optim.Adam``), whose arguments are read as any optimiser's;
    ``getattr(keras.optimizers, name)`` the same, as ``keras.optimizers.Optimizer``."""
    assigned = assignments(function)
    found = []
    for call in calls_in([function]):
        callee = call.func
        if isinstance(callee, ast.Name) and len(assigned.get(callee.id, ())) == 1:
            callee = assigned[callee.id][0]  # optimizer_class = OPTIMIZERS[name]; optimizer_class(...)
        chosen = _chosen_by(callee, assigned, namespace)
        if chosen is None or chosen[0].role != OPTIMIZER.role:
            continue
        kind, chooser, runs = chosen
        if isinstance(chooser, str):
            optimizer = chooser
        else:
            optimizer = ANY_OPTIMIZER
            found.append((kind, chooser, runs))
        call.func = ast.copy_location(ast.parse(f"{kind.module}.{optimizer}", mode="eval").body, call.func)
    # A lookup need not be called: {"relu": nn.ReLU()}[name], a table of optimisers built for the trial.
    seen = {id(chooser) for _, chooser, _ in found}
    for node in ast.walk(function):
        chosen = _chosen_by(node, assigned, namespace) if isinstance(node, (ast.Subscript, ast.Call)) else None
        if chosen is not None and not isinstance(chosen[1], str) and id(chosen[1]) not in seen:
            if chosen[0] is ACTIVATION or isinstance(node, ast.Subscript):
                seen.add(id(chosen[1]))
                found.append(chosen)
    return found


def branch_chosen(
    function: ast.AST, parameter_at: Callable[[ast.AST], str | None], options: Mapping[str, Sequence[Any]],
    written: int | None = None,
) -> list[tuple[ChoiceKind, OptionRuns]]:
    """Each option of a choice under which the objective names one class of a kind, and that class
    (``if name == "adam": optim.Adam(...)``, ``nn.ReLU() if activation == "relu" else nn.Tanh()``), read as
    :func:`.branches.parameter_branches` reads a parameter's branches (its arguments are that function's);
    only for a choice whose options name two classes or more."""
    named = {}
    for node in ast.walk(function):
        found = class_named(node) if isinstance(node, (ast.Attribute, ast.Name)) else None
        if found is not None:
            named[id(node)] = found
    if not named:
        return []

    def at(node: ast.AST) -> str | None:
        if id(node) in named:
            kind, name = named[id(node)]
            return f"{_NAMED}{kind.role}\0{name}"
        return parameter_at(node)

    runs: dict[tuple[str, str, Any], set[str]] = {}
    for branch in parameter_branches(function, at, options, written=written):
        if branch.parameter.startswith(_NAMED) and not branch.chooser.startswith(_NAMED):
            role, _, name = branch.parameter[len(_NAMED):].partition("\0")
            for value in branch.values:
                runs.setdefault((role, branch.chooser, value), set()).add(name)
    # A choice chooses between classes: one class under a flag (``if residual: nn.ReLU()``) is not a choice of it.
    alone = {key: next(iter(names)) for key, names in runs.items() if len(names) == 1}
    classes: dict[tuple[str, str], set[str]] = {}
    for (role, chooser, _), name in alone.items():
        classes.setdefault((role, chooser), set()).add(name)
    kinds = {kind.role: kind for kind in _TORCH_KINDS}
    return [(kinds[role], OptionRuns(chooser, option, name)) for (role, chooser, option), name in alone.items()
            if len(classes[role, chooser]) > 1]


def _chosen_by(
    node: ast.expr, assigned: Mapping[str, list[ast.expr]], namespace: Mapping[str, Any]
) -> tuple[ChoiceKind, ast.expr | str, dict[Any, str]] | None:
    return _by_name(node) or _by_table(node, assigned, namespace)


def _by_name(node: ast.expr) -> tuple[ChoiceKind, ast.expr | str, dict[Any, str]] | None:
    """``getattr(optim, name)``, ``getattr(nn, name)``, ``getattr(F, name)``, ``getattr(keras.optimizers, name)``:
    the kind and the name's expression, or the class's name for a literal name."""
    if not (isinstance(node, ast.Call) and dotted(node.func) == "getattr" and len(node.args) == 2):
        return None
    module = (dotted(node.args[0]) or "").split(".")
    if module[-1] in ("optim", "nn"):
        kind, runs = (OPTIMIZER if module[-1] == "optim" else ACTIVATION), {}
    elif module[-1] == "optimizers":  # keras.optimizers
        kind, runs = KERAS_OPTIMIZER, {}
    elif module[-1] in ("F", "functional") or module == ["torch"]:
        kind, runs = ACTIVATION, dict(_ACTIVATIONS)  # an option is a function's name: it runs that function's class
    else:
        return None
    named = literal(node.args[1])
    if kind.role == OPTIMIZER.role and named in kind.classes | {ANY_OPTIMIZER}:
        return kind, named, {}
    return kind, node.args[1], runs


def _by_table(
    node: ast.expr, assigned: Mapping[str, list[ast.expr]], namespace: Mapping[str, Any]
) -> tuple[ChoiceKind, ast.expr, dict[Any, str]] | None:
    """``TABLE[name]`` whose every value is a class of one kind (or an instance, or a function of one): the
    kind, ``name`` and what each key runs."""
    if not isinstance(node, ast.Subscript) or isinstance(node.slice, ast.Slice):
        return None
    table = node.value
    if isinstance(table, ast.Name) and len(assigned.get(table.id, ())) == 1:
        table = assigned[table.id][0]
    if isinstance(table, ast.Dict):
        if any(key is None for key in table.keys):
            return None
        keys = [literal(key) for key in table.keys]
        values = [class_named(value, namespace) for value in table.values]
    elif isinstance(table, ast.Name) and isinstance(namespace.get(table.id), Mapping):
        held = namespace[table.id]
        keys = [key if isinstance(key, (str, int, bool)) else NOT_LITERAL for key in held]
        values = [class_of(value) for value in held.values()]
    else:
        return None
    if not keys or NOT_LITERAL in keys or None in values or len({kind for kind, _ in values}) != 1:
        return None
    return values[0][0], node.slice, {key: name for key, (_, name) in zip(keys, values)}
