"""Notebook widgets: the live progress view, the comparison of studies, the race.

Importing this package is cheap: ipywidgets loads when a widget is first built.
"""

from __future__ import annotations

from typing import Any

from .progress import ProgressWidget

__all__ = ["ProgressWidget", "CompareWidget", "race"]


def __getattr__(name: str) -> Any:
    # compare.py still imports ipywidgets at module top, and the race moves out of it to
    # jupyter_metahpo/race.py (issue 17): until then its names load on first use, so that
    # importing the progress view does not import ipywidgets.
    if name in ("CompareWidget", "race"):
        from . import compare

        return getattr(compare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
