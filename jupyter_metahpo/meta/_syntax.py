"""Small readers of Python syntax trees shared by the modules that read an objective's source."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

__all__ = ["NOT_LITERAL", "assignments", "calls_in", "dotted", "is_scalar", "literal"]

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
