"""The live view of one study in a notebook: the progress widget and its helpers, as callbacks.

:func:`live_callbacks` returns the study callback that shows a
:class:`~jupyter_metahpo.widgets.progress.ProgressWidget` and keeps it live
(:class:`LiveProgress`, with the kernel pump where a Stop click needs it). The magic
only chooses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from IPython.display import display

from ..study import StopSignal, StudySnapshot
from .kernel_pump import comm_pump_for
from .progress import ProgressWidget

__all__ = ["live_callbacks", "LiveProgress"]


def live_callbacks(shell: Any, stop: StopSignal, *, min_interval: float, pump_comms: bool) -> list[Callable]:
    """The callbacks that show a live progress widget for a study in ``shell``'s notebook."""
    return [LiveProgress(stop, min_interval=min_interval, pump=comm_pump_for(shell) if pump_comms else None)]


class LiveProgress:
    """Shows the progress widget when the study starts, and leaves its static copy at the end.

    Shown at the study's first snapshot, not before: the study starts only once the
    experience store accepted it, so a refused study (a name reused with another space)
    leaves its error alone, not a "starting… [Stop]" widget above it.

    ``pump`` (:mod:`~jupyter_metahpo.widgets.kernel_pump`) lets a Stop click through on
    front ends that do not send widget messages to a kernel subshell.

    At the end the live widget is replaced by its static copy: nothing is left to click,
    and a notebook saved without widget state (JupyterLab's default) would otherwise show
    "model not found" where the progress was; HTML and text stay readable in every viewer.
    """

    def __init__(self, stop: StopSignal, *, min_interval: float, pump: Callable | None = None) -> None:
        self.stop = stop
        self.min_interval = min_interval
        self.pump = pump
        self.view: ProgressWidget | None = None
        self.handle: Any = None

    def __call__(self, snap: StudySnapshot) -> None:
        if self.view is None:
            self.view = ProgressWidget(self.stop, min_interval=self.min_interval)
            self.handle = display(self.view, display_id=True)
        self.view(snap)
        if self.pump is not None:  # after the redraw, before the freeze: a queued Stop click still lands
            self.pump(snap)
        if snap.event == "end":
            if self.handle is not None:
                self.handle.update(self.view.static_bundle(), raw=True)
            self.view.close()
