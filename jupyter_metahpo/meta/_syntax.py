"""Small readers of Python syntax trees shared by the modules that read an objective's source."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "NOT_LITERAL", "argument", "assignments", "call_statement", "calls_in", "dotted", "insert_after_calls", "is_scalar",
    "literal",
]

#: What :func:`literal` returns for an expression that is not a literal scalar.
NOT_LITERAL = object()


def dotted(node: ast.expr) -> str | None:
    """``torch.optim.Adam`` for the callee ``torch.optim.Adam``; None for a computed callee."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def argument(call: ast.Call, keyword: str, position: int | None = None) -> ast.expr | None:
    """The expression ``call`` passes as ``keyword``, or at ``position`` (none after a ``*args``); None if neither."""
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if position is not None and position < len(call.args) and not any(
        isinstance(a, ast.Starred) for a in call.args[: position + 1]
    ):
        return call.args[position]
    return None


def calls_in(nodes: Iterable[ast.AST]) -> list[ast.Call]:
    """Every call in ``nodes`` and below them."""
    return [n for node in nodes for n in ast.walk(node) if isinstance(n, ast.Call)]


def assignments(node: ast.AST) -> dict[str, list[ast.expr]]:
    """Every value assigned to each plain name (``name = value``, ``a, b = x, y``) in the objective."""
    values: dict[str, list[ast.expr]] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            values.setdefault(n.targets[0].id, []).append(n.value)
        elif isinstance(n, ast.Assign) and len(n.targets) == 1 and _same_length_tuples(n.targets[0], n.value):
            for target, value in zip(n.targets[0].elts, n.value.elts):  # a, b = x, y
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(value)
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.value is not None:
            values.setdefault(n.target.id, []).append(n.value)
    return values


def _same_length_tuples(target: ast.expr, value: ast.expr) -> bool:
    return (
        isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
        and len(target.elts) == len(value.elts) and not any(isinstance(e, ast.Starred) for e in target.elts)
    )


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def literal(expression: ast.expr) -> Any:
    """The value of a literal number, string, bool or ``None`` (``-1`` too); :data:`NOT_LITERAL` otherwise."""
    try:
        value = ast.literal_eval(expression)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL
    return value if is_scalar(value) else NOT_LITERAL


def call_statement(callee: ast.expr, keywords: dict[str, ast.expr], first: ast.expr | None = None) -> ast.stmt:
    """``callee(first, name=value, ...)`` as a statement, each part a copy: a call a library makes, written out for
    the reader (:func:`insert_after_calls`)."""
    call = ast.Call(
        func=copy.deepcopy(callee), args=[first] if first is not None else [],
        keywords=[ast.keyword(arg=name, value=copy.deepcopy(value)) for name, value in keywords.items()],
    )
    return ast.fix_missing_locations(ast.Expr(value=call))


def insert_after_calls(function: ast.AST, statements_for: Callable[[ast.Call], list[ast.stmt]]) -> None:
    """After each statement of ``function``, in whatever block it stands (an ``if``'s branch, a loop), the
    statements ``statements_for`` gives for the calls it makes itself (not those of the statements nested in
    its own blocks): what a library call runs, written out where the call is, so that it is read under the same
    branches."""
    for node in ast.walk(function):  # a node's children are queued before it is changed: no inserted one is read
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                continue
            written: list[ast.stmt] = []
            for statement in block:
                written.append(statement)
                for call in _own_calls(statement):
                    written.extend(statements_for(call))
            setattr(node, field, written)


def _own_calls(statement: ast.stmt) -> list[ast.Call]:
    """The calls in ``statement`` outside the blocks of statements it holds."""
    own = []
    for _, value in ast.iter_fields(statement):
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, (ast.stmt, ast.excepthandler, ast.match_case)) for v in values):
            continue  # a block: its statements are visited as statements
        own.extend(calls_in(v for v in values if isinstance(v, ast.AST)))
    return own
