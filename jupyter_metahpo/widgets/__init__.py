"""Notebook widgets: the live progress view, the comparison of studies, the race.

Importing this package is cheap; ipywidgets loads when a widget is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ProgressWidget", "CompareWidget", "race"]

_WHERE = {
    "ProgressWidget": ".progress",
    "CompareWidget": ".compare",
    "race": ".compare",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
