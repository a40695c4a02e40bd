"""Notebook widgets: the live progress view, the comparison of studies, the race's view.

Importing this package is cheap; ipywidgets loads when a widget is first used. The
race itself runs studies, so it lives at the api level: ``from jupyter_metahpo import race``
(``jupyter_metahpo.widgets.race`` still works, with a DeprecationWarning).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

__all__ = ["ProgressWidget", "CompareWidget", "RaceView"]

_WHERE = {
    "ProgressWidget": ".progress",
    "CompareWidget": ".compare",
    "RaceView": ".compare",
}


def __getattr__(name: str) -> Any:
    if name == "race":  # a deprecated alias: the one import here that points up (tests/test_import_layers.py)
        warnings.warn(
            "jupyter_metahpo.widgets.race moved to jupyter_metahpo.racing; use `from jupyter_metahpo import race`.",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module("jupyter_metahpo.racing").race
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
