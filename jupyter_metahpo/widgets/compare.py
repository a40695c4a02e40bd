"""Compare studies side by side, and race strategies live for teaching.

:class:`CompareWidget` shows several studies at once: best-so-far curves on one plot
(by trial or by time), the best configurations side by side, and a parallel-coordinates
view of their trials. Studies come from results in hand, or from the experience store
through a selector. :func:`race` runs the same objective under several strategies with
the same budget and seed, one trial of each in turn, and draws the comparison live.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as W

from ..result import TuningResult
from ..samplers import DefaultSampler, RandomSampler, Sampler, SobolSampler
from ..space import SearchSpace, as_search_space
from ..study import StopSignal, Study
from ..trial import Direction, FrozenTrial
from . import _render as R
from .history import find_study

__all__ = ["CompareWidget", "race", "RACE_STRATEGIES"]


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
        self.heading = W.HTML(f"<b>{R.esc(title)}</b>")
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
                self.selector,
                self.by,
                W.HBox([self.curves, self.configs]),
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
        from ..store import open_store

        opened = open_store(store)
        records = [find_study(opened, key) for key in keys]
        widget = cls(store=opened, title="Comparison of stored studies")
        if records:
            widget.selector.value = tuple(r.id for r in records)
        return widget

    def attach_store(self, store: Any) -> None:
        from ..store import open_store

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
        bundle["text/plain"] = f"Comparison of {names}"
        bundle["text/html"] = (
            f"<div class='metahpo-static'>{self.curves.value}{self.configs.value}{self.parcoords.value}</div>"
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


# The race ---------------------------------------------------------------------------------

#: Strategies a race knows by name; each builds a sampler from the race's seed.
RACE_STRATEGIES: dict[str, Callable[[int | None], Sampler]] = {
    "default": lambda seed: DefaultSampler(seed=seed),
    "random": lambda seed: RandomSampler(seed),
    "sobol": lambda seed: SobolSampler(seed),
}


def race(
    objective: Callable[..., Any],
    space: SearchSpace | Mapping[str, Any],
    strategies: Sequence[str] | Mapping[str, Sampler | Callable[[int | None], Sampler]] = ("default", "random"),
    *,
    n_trials: int = 20,
    direction: str = "minimize",
    metric: str | None = None,
    seed: int | None = 0,
    display: bool = True,
    min_interval: float = 0.25,
) -> dict[str, TuningResult]:
    """Run ``objective`` under several strategies with the same budget and seed, drawn live.

    The strategies take turns, one trial each, so the curves grow side by side. Each is a
    name of :data:`RACE_STRATEGIES` or, in a dict, a :class:`Sampler` or a function of the
    seed that returns one (for example a warm-started sampler). Race studies are not
    written to the experience store: a race is a demonstration, not experience.
    Returns each strategy's :class:`TuningResult`.
    """
    samplers = _race_samplers(strategies, seed)
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ValueError(f"`n_trials` must be a positive integer, but got n_trials={n_trials!r}.")
    space = as_search_space(space)
    studies = {
        name: Study(space, direction=direction, metric=metric, sampler=sampler, seed=seed, name=name)
        for name, sampler in samplers.items()
    }
    view = CompareWidget(list(studies.values()), title=f"Race: {', '.join(studies)} · {n_trials} trials, seed {seed}")
    stop = StopSignal()
    view.stop_button = W.Button(description="Stop race", icon="stop", button_style="danger")
    view.stop_button.add_class("metahpo-race-stop")
    view.stop_button.on_click(lambda _b: stop.set())
    view.children = (view.children[0], view.stop_button, *view.children[1:])
    pump = None
    if display:
        from IPython import get_ipython
        from IPython.display import display as show

        from .kernel_pump import comm_pump_for

        show(view)
        pump = comm_pump_for(get_ipython())
    last_draw = 0.0
    for _ in range(n_trials):
        if stop.is_set():
            break
        for study in studies.values():
            study.optimize(objective, len(study.trials) + 1, max_initial_failures=None)
        if pump is not None:
            pump.pump()  # lets a Stop click through on front ends without comm subshells
        now = time.monotonic()
        if now - last_draw >= min_interval:
            last_draw = now
            _redraw(view, studies)
    _redraw(view, studies)
    view.stop_button.disabled = True
    if pump is not None:
        pump.release()
    status = "stopped" if stop.is_set() else "finished"
    return {
        name: TuningResult(space=space, direction=s.direction, trials=s.trials, status=status, name=name, metric=metric)
        for name, s in studies.items()
    }


def _redraw(view: CompareWidget, studies: Mapping[str, Study]) -> None:
    with view.hold_sync():
        view.set_studies([(name, s.direction, s.trials) for name, s in studies.items()])


def _race_samplers(strategies: Any, seed: int | None) -> dict[str, Sampler]:
    if isinstance(strategies, Mapping):
        items = list(strategies.items())
    else:
        items = [(name, name) for name in strategies]
    if len(items) < 2:
        raise ValueError(f"a race needs at least two strategies, but got {[n for n, _ in items]}.")
    samplers: dict[str, Sampler] = {}
    for name, spec in items:
        if isinstance(spec, Sampler):
            samplers[str(name)] = spec
        elif isinstance(spec, str):
            if spec not in RACE_STRATEGIES:
                raise ValueError(
                    f"unknown race strategy {spec!r}; known: {sorted(RACE_STRATEGIES)}, or pass a dict "
                    "name -> Sampler (for example a warm-started sampler)."
                )
            samplers[str(name)] = RACE_STRATEGIES[spec](seed)
        elif callable(spec):
            samplers[str(name)] = spec(seed)
        else:
            raise TypeError(f"strategy {name!r} must be a name, a Sampler or a function of the seed, but got {spec!r}.")
    return samplers
