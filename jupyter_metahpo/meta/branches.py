"""Which parameters an objective uses only in some branch of a choice, read from its source.

Optuna's own first example chooses a model, then suggests that model's parameters in its
branch::

    classifier = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
    if classifier == "SVC":
        svc_c = trial.suggest_float("svc_c", 1e-10, 1e10, log=True)
        model = SVC(C=svc_c, gamma="auto")
    else:
        rf_max_depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)
        model = RandomForestClassifier(max_depth=rf_max_depth)

Here ``svc_c`` is used only when ``classifier`` is ``"SVC"`` (a :class:`Branch`). The space
stays flat (every trial has a value for every parameter, and the branch not taken leaves
its own unused); what the branches change is the warm start: a past study that informs
``svc_c`` ran SVMs, so its configurations are tried in the branch that uses ``svc_c``,
never in one that ignores it (:func:`branch_values`).

What is read (:func:`parameter_branches`): every place a parameter is read (its suggest
call, a local holding it, ``config["name"]``), with the tests of the ``if`` statements and
conditional expressions around it. A test counts when it compares one parameter (the
*chooser*) with constants: ``==``, ``!=``, ``in``, ``not in``, ``is``, ``is not``, the
parameter alone (truthy) or ``not`` it, and ``and`` / ``or`` of such tests on one chooser; an
``else`` (or ``elif``) counts the negation of a test it can read whole. A parameter belongs
to a branch of a chooser when every place it is read lies under a test of that chooser; the
branch's values are the chooser's options that reach any of those places. Anything else
(a test on data, an early ``return``, a loop's bound) leaves the parameter unconditional,
which is what the warm start assumed before.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Branch", "branch_values", "parameter_branches"]


@dataclass(frozen=True)
class Branch:
    """``parameter`` is used only when the choice ``chooser`` takes one of ``values`` (in the options' order)."""

    parameter: str
    chooser: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class _Test:
    """A test read as "``chooser`` takes one of ``values``" (``negated``: none of them), or as its truth."""

    chooser: str
    values: tuple[Any, ...]
    negated: bool = False
    truthy: bool = False  # ``if flag:``: the options that are true (``negated``: false)

    def allowed(self, options: Sequence[Any] | None) -> set[Any] | None:
        """The chooser's values this test lets through; None when that needs the options and they are not known."""
        if not self.negated and not self.truthy:
            return set(_hashable(self.values))
        if options is None:
            return None
        if self.truthy:
            return {o for o in _hashable(options) if bool(o) != self.negated}
        return set(_hashable(options)) - set(_hashable(self.values))


def parameter_branches(
    function: ast.AST,
    parameter_at: Callable[[ast.AST], str | None],
    options: Mapping[str, Sequence[Any]],
) -> tuple[Branch, ...]:
    """The branches of the parameters of ``function`` (a syntax tree, its helpers inlined), by the rules above.

    ``parameter_at(node)`` is the user's parameter one node is (a name or a local holding it, a lookup, a
    suggest call), else None; ``options`` are the choices' options where known (a ``suggest_categorical``
    call's literal choices, the search space's), needed to read an ``else`` or a truth test.
    """
    sites: dict[str, list[tuple[_Test, ...]]] = {}

    def visit(node: ast.AST, tests: tuple[_Test, ...]) -> None:
        if isinstance(node, (ast.If, ast.IfExp)):
            visit(node.test, tests)
            read = _read_test(node.test, parameter_at)
            taken = tests + read if read else tests
            skipped = tests + (_negated(read[0]),) if read is not None and len(read) == 1 else tests
            for child in node.body if isinstance(node.body, list) else [node.body]:
                visit(child, taken)
            for child in node.orelse if isinstance(node.orelse, list) else [node.orelse]:
                visit(child, skipped)
            return
        parameter = parameter_at(node)
        if parameter is not None:
            sites.setdefault(parameter, []).append(tests)
        for child in ast.iter_child_nodes(node):
            visit(child, tests)

    visit(function, ())
    found = []
    for parameter, where in sites.items():
        for chooser in _choosers(where):
            if chooser == parameter:
                continue
            known = options.get(chooser)
            values = _values_reaching(where, chooser, known)
            if values is None or (known is not None and set(_hashable(known)) <= values):
                continue
            ordered = ([o for o in known if _hashable_one(o) in values] if known is not None
                       else sorted(values, key=repr))
            found.append(Branch(parameter, chooser, tuple(ordered)))
    return tuple(found)


def branch_values(
    informed: Iterable[str], branches: Mapping[str, Sequence[Branch]], free: Iterable[str],
    options: Mapping[str, Sequence[Any]],
) -> dict[str, Any]:
    """The value each chooser in ``free`` takes so that every parameter in ``informed`` that it conditions is used.

    ``branches`` are each parameter's branches; a chooser none of ``informed`` depends on, or whose branches
    of them have no value in common, is left out (its value then comes from elsewhere). Of several values
    allowed, the first in the chooser's options.
    """
    free = set(free)
    allowed: dict[str, set[Any]] = {}
    for parameter in informed:
        for branch in branches.get(parameter, ()):
            if branch.chooser in free:
                values = set(_hashable(branch.values))
                allowed[branch.chooser] = allowed[branch.chooser] & values if branch.chooser in allowed else values
    out = {}
    for chooser, values in allowed.items():
        first = next((o for o in options.get(chooser, ()) if _hashable_one(o) in values), None)
        if values and first is not None:
            out[chooser] = first
    return out


def _read_test(test: ast.expr, parameter_at: Callable[[ast.AST], str | None]) -> tuple[_Test, ...] | None:
    """The tests on one chooser each that ``test`` makes (all of them hold); None when it reads none."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        parts = [_read_test(value, parameter_at) for value in test.values]
        read = tuple(t for part in parts if part for t in part)
        if not read:
            return None
        # A part not read (a test on data) only narrows the branch further: the parts read still hold,
        # but the test's ``else`` is no longer their negation.
        return read if all(p is not None for p in parts) and len(read) == 1 else read + (_UNREAD,)
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        parts = [_read_test(value, parameter_at) for value in test.values]
        if not all(p is not None and len(p) == 1 and not p[0].negated and not p[0].truthy for p in parts):
            return None
        choosers = {p[0].chooser for p in parts}  # type: ignore[index]
        if len(choosers) != 1:
            return None
        values = tuple(v for p in parts for v in p[0].values)  # type: ignore[index]
        return (_Test(choosers.pop(), values),)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _read_test(test.operand, parameter_at)
        return (_negated(inner[0]),) if inner is not None and len(inner) == 1 else None
    chooser = parameter_at(test)
    if chooser is not None:
        return (_Test(chooser, (), truthy=True),)
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    chooser, constant = parameter_at(left), _constant(right)
    if chooser is None or constant is _NOT_CONSTANT:
        if not isinstance(op, (ast.Eq, ast.NotEq)):
            return None
        chooser, constant = parameter_at(right), _constant(left)
        if chooser is None or constant is _NOT_CONSTANT:
            return None
    if isinstance(op, (ast.Eq, ast.Is)):
        return (_Test(chooser, (constant,)),)
    if isinstance(op, (ast.NotEq, ast.IsNot)):
        return (_Test(chooser, (constant,), negated=True),)
    if isinstance(op, (ast.In, ast.NotIn)) and isinstance(constant, (tuple, list, set, frozenset)):
        return (_Test(chooser, tuple(constant), negated=isinstance(op, ast.NotIn)),)
    return None


#: Stands for a part of an ``and`` that was not read: it makes the test unfit for negation.
_UNREAD = _Test("", ())


def _negated(test: _Test) -> _Test:
    return _Test(test.chooser, test.values, negated=not test.negated, truthy=test.truthy)


_NOT_CONSTANT = object()


def _constant(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_CONSTANT


def _choosers(where: Sequence[tuple[_Test, ...]]) -> list[str]:
    """The choosers that some test at every one of the places constrains."""
    if not where:
        return []
    common = None
    for tests in where:
        here = {t.chooser for t in tests if t is not _UNREAD}
        common = here if common is None else common & here
    return sorted(common or ())


def _values_reaching(where: Sequence[tuple[_Test, ...]], chooser: str, options: Sequence[Any] | None) -> set | None:
    """The chooser's values under which any of the places runs; None when some place's cannot be known."""
    reaching: set[Any] = set()
    for tests in where:
        here: set[Any] | None = None
        for test in tests:
            if test.chooser != chooser:
                continue
            allowed = test.allowed(options)
            if allowed is None:
                continue  # this test needs the options: it constrains nothing known
            here = allowed if here is None else here & allowed
        if here is None:
            return None
        reaching |= here
    return reaching


def _hashable(values: Iterable[Any]) -> list[Any]:
    return [_hashable_one(v) for v in values]


def _hashable_one(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
