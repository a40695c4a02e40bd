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
branch's values are the chooser's options that reach any of those places.

Two more forms say the same: an ``if`` whose body always leaves its block (``return``,
``raise``, ``continue``, ``break``) puts the rest of the block under the test's negation, as an
``else`` would (each branch of Optuna's example written with its own ``return``); and ``match``
on a choice, whose ``case "a" | "b":`` tests constants and whose ``case _:`` takes what no
earlier case did (when every earlier case was read whole, with no guard). Anything else (a test
on data, a comparison of numbers, a loop's bound) leaves the parameter unconditional, which is
what the warm start assumed before.
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
    written: int | None = None,
) -> tuple[Branch, ...]:
    """The branches of the parameters of ``function`` (a syntax tree, its helpers inlined), by the rules above.

    ``written``: how many of the function's statements are its own, as written; the rest (inlined helpers'
    bodies, appended one after another) are each read alone. None: all of them.

    ``parameter_at(node)`` is the user's parameter one node is (a name or a local holding it, a lookup, a
    suggest call), else None; ``options`` are the choices' options where known (a ``suggest_categorical``
    call's literal choices, the search space's), needed to read an ``else`` or a truth test.
    """
    sites: dict[str, list[tuple[_Test, ...]]] = {}

    def visit_block(statements: Sequence[ast.stmt], tests: tuple[_Test, ...]) -> None:
        # An ``if`` whose body always leaves the block (``return``, ``raise``, ``continue``, ``break``) puts the
        # rest of the block under the test's negation, as an ``else`` would; one whose ``else`` leaves, under the test.
        for statement in statements:
            if not isinstance(statement, ast.If):
                visit(statement, tests)
                continue
            taken, skipped = visit_if(statement, tests)
            if _always_leaves(statement.body) and not _always_leaves(statement.orelse):
                tests = skipped
            elif _always_leaves(statement.orelse) and not _always_leaves(statement.body):
                tests = taken

    def visit_if(node: ast.If | ast.IfExp, tests: tuple[_Test, ...]) -> tuple[tuple[_Test, ...], tuple[_Test, ...]]:
        """Visit an ``if`` (or a conditional expression); returns the tests that hold where its test is true,
        and where it is false."""
        visit(node.test, tests)
        taken, skipped = _under(node.test, tests)
        if isinstance(node, ast.If):
            visit_block(node.body, taken)
            visit_block(node.orelse, skipped)
        else:
            visit(node.body, taken)
            visit(node.orelse, skipped)
        return taken, skipped

    def visit(node: ast.AST, tests: tuple[_Test, ...]) -> None:
        if isinstance(node, (ast.If, ast.IfExp)):
            visit_if(node, tests)
            return
        if isinstance(node, ast.Match):
            visit_match(node, tests)
            return
        parameter = parameter_at(node)
        if parameter is not None:
            sites.setdefault(parameter, []).append(tests)
        blocks = [getattr(node, field) for field in ("body", "orelse", "finalbody")
                  if isinstance(getattr(node, field, None), list)] if isinstance(node, ast.stmt) else []
        for child in ast.iter_child_nodes(node):
            if not any(child in block for block in blocks):
                visit(child, tests)
        for block in blocks:
            visit_block(block, tests)

    def visit_match(node: ast.Match, tests: tuple[_Test, ...]) -> None:
        # ``case "svc":`` and ``case "svc" | "nusvc":`` test the subject against constants; ``case _:`` takes
        # what no earlier case did, when every earlier case was read whole (no guard, no other pattern).
        visit(node.subject, tests)
        chooser = parameter_at(node.subject)
        earlier: list[Any] | None = []
        for case in node.cases:
            if case.guard is not None:
                visit(case.guard, tests)
            values = _case_values(case.pattern) if chooser is not None else None
            if values is not None:
                here = tests + (_Test(chooser, values),)
            elif _is_wildcard(case.pattern) and chooser is not None and earlier is not None:
                here = tests + (_Test(chooser, tuple(earlier), negated=True),)
            else:
                here = tests
            visit_block(case.body, here)
            if values is None or case.guard is not None:
                earlier = None
            elif earlier is not None:
                earlier.extend(values)

    def _under(test: ast.expr, tests: tuple[_Test, ...]) -> tuple[tuple[_Test, ...], tuple[_Test, ...]]:
        """The tests that hold where ``test`` is true, and where it is false."""
        read = _read_test(test, parameter_at)
        taken = tests + read if read else tests
        skipped = tests + (_negated(read[0]),) if read is not None and len(read) == 1 else tests
        return taken, skipped

    # The helpers inlined after the function's own statements are blocks of their own: an early ``return`` in
    # one leaves that helper, not the function, so the rule above reads the function's own statements only.
    body = function.body if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    if body is None:
        visit(function, ())
    else:
        own = len(body) if written is None else written
        for default in (*function.args.defaults, *function.args.kw_defaults):
            if default is not None:
                visit(default, ())
        visit_block(body[:own], ())
        for statement in body[own:]:
            visit(statement, ())
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


def _always_leaves(statements: Sequence[ast.stmt]) -> bool:
    """Whether running ``statements`` always leaves the block they are in (so what follows it is skipped)."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
        return True
    if isinstance(last, ast.If):
        return _always_leaves(last.body) and _always_leaves(last.orelse)
    if isinstance(last, (ast.With, ast.AsyncWith)):
        return _always_leaves(last.body)
    return False


def _case_values(pattern: ast.pattern) -> tuple[Any, ...] | None:
    """The constants a ``case`` pattern matches (``"a"``, ``"a" | "b"``, ``None``); None for any other pattern."""
    if isinstance(pattern, ast.MatchValue):
        value = _constant(pattern.value)
        return None if value is _NOT_CONSTANT else (value,)
    if isinstance(pattern, ast.MatchSingleton):
        return (pattern.value,)
    if isinstance(pattern, ast.MatchOr):
        parts = [_case_values(p) for p in pattern.patterns]
        return None if any(p is None for p in parts) else tuple(v for p in parts for v in p)  # type: ignore[union-attr]
    return None


def _is_wildcard(pattern: ast.pattern) -> bool:
    """``case _:`` or ``case other:`` (a capture pattern matches anything)."""
    return isinstance(pattern, ast.MatchAs) and pattern.pattern is None


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
