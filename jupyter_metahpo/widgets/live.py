"""The live view of one study in a notebook: the progress widget and its helpers, as callbacks.

:func:`live_callbacks` shows a :class:`~jupyter_metahpo.widgets.progress.ProgressWidget`
and returns the study callbacks that keep it live: the widget itself, the kernel pump
(where a Stop click needs it) and :class:`FreezeAtEnd`. The magic only chooses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from IPython.display import display

from ..study import StopSignal, StudySnapshot
from .kernel_pump import comm_pump_for
from .progress import ProgressWidget

__all__ = ["live_callbacks", "FreezeAtEnd"]


def live_callbacks(shell: Any, stop: StopSignal, *, min_interval: float, pump_comms: bool) -> list[Callable]:
    """Display a live progress widget for a study in ``shell``'s notebook; its callbacks, in order."""
    view = ProgressWidget(stop, min_interval=min_interval)
    handle = display(view, display_id=True)
    callbacks: list[Callable] = [view]
    pump = comm_pump_for(shell) if pump_comms else None
    if pump is not None:
        callbacks.append(pump)
    if handle is not None:
        callbacks.append(FreezeAtEnd(handle, view))
    return callbacks


class FreezeAtEnd:
    """At the end of the study, replace the live widget by its static copy.

    Nothing is left to click once the study ended, and a notebook saved without
    widget state (JupyterLab's default) would otherwise show "model not found" where
    the progress was; HTML and text stay readable in every viewer.
    """

    def __init__(self, handle: Any, view: ProgressWidget) -> None:
        self.handle = handle
        self.view = view

    def __call__(self, snap: StudySnapshot) -> None:
        if snap.event == "end":
            self.handle.update(self.view.static_bundle(), raw=True)
            self.view.close()
