"""Compare studies side by side; the race's live view.

:class:`CompareWidget` shows several studies at once: best-so-far curves on one plot
(by trial or by time), the best configurations side by side, and a parallel-coordinates
view of their trials. Studies come from results in hand, or from the experience store
through a selector. :class:`RaceView` is the same comparison with a Stop button, which
:func:`jupyter_metahpo.racing.race` draws live; the widgets only render the trials they
are given and never run a study.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as W

from ..result import TuningResult
from ..store import open_store
from ..study import StopSignal, Study
from ..trial import Direction, FrozenTrial
from . import _render as R
from .history import find_study

__all__ = ["CompareWidget", "RaceView"]


def as_series(item: Any, name: str | None = None) -> R.Series:
    """A :class:`Series` from a TuningResult, a Study, a Series or ``(name, direction, trials)``."""
    if isinstance(item, R.Series):
        return item
    if isinstance(item, (TuningResult, Study)):
        return R.Series(name or item.name or "study", item.direction, tuple(item.trials))
    if isinstance(item, tuple) and len(item) == 3:
        label, direction, trials = item
        return R.Series(str(label), Direction.parse(direction), tuple(trials))
    raise TypeError(
        "each study to compare must be a TuningResult, a Study or a (name, direction, trials) tuple, "
        f"but got {type(item).__name__}."
    )


class CompareWidget(W.VBox):
    """Several studies on one screen.

    Parameters
    ----------
    studies:
        TuningResults, Studies or ``(name, direction, trials)`` tuples. Several results
        with the same name are told apart by their position.
    store:
        An experience store (or its path): adds a selector of its studies. Choosing
        studies there replaces the ones shown.
    """

    def __init__(self, studies: Sequence[Any] = (), *, store: Any = None, title: str = "Comparison") -> None:
        self._series: list[R.Series] = []
        self._store = None
        self.ending: str | None = None  # how a race ended, in words, once it has
        self.heading = W.HTML(f"<b>{R.esc(title)}</b>")
        self.note = W.HTML()  # a few words under the heading (a race: where each racer starts from)
        self.by = W.ToggleButtons(options=[("by trial", "trial"), ("by time", "time")], value="trial")
        self.by.observe(lambda _change: self.refresh(), names="value")
        self.curves = W.HTML()
        self.configs = W.HTML()
        self.parcoords = W.HTML()
        self.selector = W.SelectMultiple(options=[], rows=6, description="Studies", layout=W.Layout(display="none"))
        self.selector.observe(self._on_select, names="value")
        super().__init__(
            [
                self.heading,
                self.note,
                self.selector,
                self.by,
                # Side by side when the page is wide enough, the table below the plot otherwise.
                W.HBox([self.curves, self.configs], layout=W.Layout(flex_flow="row wrap", grid_gap="4px 16px")),
                W.HTML("<b>Trials across parameters</b> (one line per trial; bold: each study's best)"),
                self.parcoords,
            ]
        )
        self.add_class("metahpo-compare")
        if store is not None:
            self.attach_store(store)
        self.set_studies(studies)

    # Data -------------------------------------------------------------------------------
    @property
    def series(self) -> tuple[R.Series, ...]:
        return tuple(self._series)

    def set_studies(self, studies: Sequence[Any]) -> None:
        series = [as_series(s) for s in studies]
        self._series = _unique_names(series)
        self.refresh()

    def update_study(self, name: str, direction: Direction, trials: Sequence[FrozenTrial]) -> None:
        """Replace (or add) the study called ``name``: used to draw a race live."""
        updated = R.Series(name, direction, tuple(trials))
        for i, s in enumerate(self._series):
            if s.name == name:
                self._series[i] = updated
                break
        else:
            self._series.append(updated)
        self.refresh()

    # Store ------------------------------------------------------------------------------
    @classmethod
    def from_store(cls, keys: Sequence[str] = (), *, store: Any = None) -> CompareWidget:
        """Studies from the experience store by name (latest run) or id prefix; none: pick in the selector."""
        opened = open_store(store)
        records = [find_study(opened, key) for key in keys]
        widget = cls(store=opened, title="Comparison of stored studies")
        if records:
            widget.selector.value = tuple(r.id for r in records)
        return widget

    def attach_store(self, store: Any) -> None:
        self._store = open_store(store)
        studies = sorted(self._store.studies(), key=lambda r: r.started_at, reverse=True)
        self.selector.options = [(f"{r.name or '(unnamed)'} · {r.id[:8]} · {r.status}", r.id) for r in studies]
        self.selector.layout.display = ""

    def _on_select(self, change: Mapping[str, Any]) -> None:
        if self._store is None:
            return
        series = []
        for study_id in change["new"]:
            record = self._store.study(study_id)
            trials = tuple(t.trial for t in self._store.trials(study_id))
            series.append(R.Series(record.name or study_id[:8], record.direction, trials))
        self._series = _unique_names(series)
        self.refresh()

    # Drawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        series = self._series
        shared = _shared_parameters(series)
        with self.curves.hold_sync(), self.configs.hold_sync(), self.parcoords.hold_sync():
            self.curves.value = R.curves_svg(series, by=self.by.value)
            self.configs.value = R.configs_side_by_side_html(series) if series else ""
            self.parcoords.value = R.parallel_coordinates_svg(series, shared) if series else ""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        bundle = dict(bundle)
        names = ", ".join(s.name for s in self._series) or "nothing selected"
        ending = f" ({self.ending})" if self.ending else ""
        bundle["text/plain"] = f"Comparison of {names}{ending}"
        bundle["text/html"] = (
            f"<div class='metahpo-static'>{self.heading.value}{self.note.value}"
            f"{f'<div>{R.esc(self.ending)}</div>' if self.ending else ''}"
            f"{self.curves.value}{self.configs.value}{self.parcoords.value}</div>"
        )
        return bundle


def _unique_names(series: list[R.Series]) -> list[R.Series]:
    seen: dict[str, int] = {}
    out = []
    for s in series:
        count = seen.get(s.name, 0)
        seen[s.name] = count + 1
        out.append(s if count == 0 else R.Series(f"{s.name} ({count + 1})", s.direction, s.trials))
    return out


def _shared_parameters(series: Sequence[R.Series]) -> list[str]:
    names: list[str] | None = None
    for s in series:
        present = [n for t in s.trials[:1] for n in t.config]
        names = present if names is None else [n for n in names if n in present]
    return names or []


# The race's view ------------------------------------------------------------------------------

#: How a race ended, in words (the Stop button says it once the race is over).
_ENDINGS = {
    "finished": "Race finished",
    "stopped": "Race stopped by the user",
    "interrupted": "Race interrupted",
    "failed": "Race failed",
}


class RaceView(CompareWidget):
    """The comparison of a race's studies, with a Stop button that sets ``stop``."""

    def __init__(self, studies: Sequence[Any], stop: StopSignal, *, title: str) -> None:
        super().__init__(studies, title=title)
        self.stop_button = W.Button(description="Stop race", icon="stop", button_style="danger",
                                    tooltip="End the race after the running trials; every trial is kept",
                                    layout=W.Layout(width="auto", align_self="flex-start"))
        self.stop_button.add_class("metahpo-race-stop")
        self.stop_button.on_click(lambda _b: stop.set())
        self.children = (self.children[0], self.children[1], self.stop_button, *self.children[2:])

    def show_starts(self, starts: Mapping[str, str]) -> None:
        """One line per racer: where it starts from (its warm start's sources, or why it is cold)."""
        rows = "".join(f"<li><b>{R.esc(label)}</b>: {R.esc(text)}</li>" for label, text in starts.items())
        self.note.value = f"<ul class='metahpo-starts' style='font-size:90%;margin:2px 0'>{rows}</ul>" if rows else ""

    def show_studies(self, studies: Mapping[str, Study]) -> None:
        """Draw the racers' trials as they are now."""
        with self.hold_sync():
            self.set_studies([(name, s.direction, s.trials) for name, s in studies.items()])

    def show_ending(self, status: str) -> None:
        """Nothing to stop any more: the button is disabled, greyed and says how the race ended."""
        button = self.stop_button
        with button.hold_sync():
            button.disabled = True
            button.button_style = ""
            button.icon = "check" if status == "finished" else ""
            button.description = _ENDINGS.get(status, f"Race {status}")
            button.tooltip = "The race is over; every racer's trials are kept"
        self.ending = button.description
