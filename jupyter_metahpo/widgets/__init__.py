"""Notebook widgets: the live progress view, the comparison of studies, the race's view.

Importing this package is cheap: ipywidgets loads when a widget is first built. The
race itself runs studies, so it lives at the api level (``from jupyter_metahpo import
race``); ``jupyter_metahpo.widgets.race`` still works, with a DeprecationWarning.
"""

from __future__ import annotations

import warnings
from typing import Any

from .._imports import LazyImport
from .progress import ProgressWidget

# The comparison subclasses an ipywidgets box, so importing it imports ipywidgets.
_compare = LazyImport("jupyter_metahpo.widgets.compare")
# The deprecated alias below: the one import of this package that points up, allowed
# by name in tests/test_import_layers.py (DEPRECATED_ALIASES).
_racing = LazyImport("jupyter_metahpo.racing")

__all__ = ["ProgressWidget", "CompareWidget", "RaceView"]


def __getattr__(name: str) -> Any:
    if name == "race":
        warnings.warn(
            "jupyter_metahpo.widgets.race moved to jupyter_metahpo.racing; use `from jupyter_metahpo import race`.",
            DeprecationWarning,
            stacklevel=2,
        )
        return _racing.race
    if name in ("CompareWidget", "RaceView"):
        return getattr(_compare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
