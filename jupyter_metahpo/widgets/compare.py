"""Compare studies side by side, and race strategies live for teaching.

:class:`CompareWidget` shows several studies at once: best-so-far curves on one plot
(by trial or by time), the best configurations side by side, and a parallel-coordinates
view of their trials. Studies come from results in hand, or from the experience store
through a selector. :func:`race` runs the same objective under several strategies with
the same budget and seed (by default: what ``tune`` does, warm start off, random
search), one trial of each in turn, draws the comparison live, and records every racer's
study in the experience store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import ipywidgets as W

from ..result import TuningResult
from ..meta.strategies import STRATEGIES as _WARM
from ..samplers import DefaultSampler, RandomSampler, Sampler, SobolSampler
from ..space import SearchSpace, as_search_space
from ..study import StopSignal, Study
from ..trial import Direction, FrozenTrial
from . import _render as R
from .history import find_study

__all__ = ["CompareWidget", "race", "RACE_STRATEGIES", "DEFAULT_RACERS"]

#: The warm-start strategies tune() accepts by name ("default" first).
WARM_START_STRATEGIES: tuple[str, ...] = tuple(_WARM)


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
        ending = f" ({self.ending})" if self.ending else ""
        bundle["text/plain"] = f"Comparison of {names}{ending}"
        bundle["text/html"] = (
            f"<div class='metahpo-static'>{self.heading.value}"
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


# The race ---------------------------------------------------------------------------------

#: Racers that do not learn from the past, by name; each builds a sampler from the race's seed.
#: "none" (alias "cold") is what ``tune(strategy="none")`` runs: our default optimiser, cold.
_PLAIN_RACERS: dict[str, Callable[[int | None], Sampler]] = {
    "none": lambda seed: DefaultSampler(seed=seed),
    "cold": lambda seed: DefaultSampler(seed=seed),
    "random": lambda seed: RandomSampler(seed),
    "sobol": lambda seed: SobolSampler(seed),
}

#: Every strategy a race knows by name: the warm-start strategies ``tune`` accepts
#: (``"default"`` is exactly what ``tune`` does), then ``"none"``/``"cold"``, ``"random"``, ``"sobol"``.
RACE_STRATEGIES: tuple[str, ...] = (*WARM_START_STRATEGIES, *_PLAIN_RACERS)

#: Without ``strategies``: our default, warm start off, random search.
DEFAULT_RACERS = ("default", "none", "random")

#: How a race ended, in words (the Stop button says it once the race is over).
_ENDINGS = {
    "finished": "Race finished",
    "stopped": "Race stopped by the user",
    "interrupted": "Race interrupted",
    "failed": "Race failed",
}


def race(
    objective: Callable[..., Any],
    space: SearchSpace | Mapping[str, Any],
    strategies: Sequence[Any] | Mapping[str, Any] = DEFAULT_RACERS,
    *,
    n_trials: int = 20,
    direction: str = "minimize",
    metric: str | None = None,
    seed: int | None = 0,
    name: str = "race",
    store: Any = None,
    task: Any = None,
    data: Any = None,
    past: Any = None,
    display: bool = True,
    min_interval: float = 0.25,
) -> dict[str, TuningResult]:
    """Run ``objective`` under several strategies with the same budget and seed, drawn live.

    The strategies take turns, one trial each, so the curves grow side by side. By
    default three race: ``"default"`` (what :func:`~jupyter_metahpo.tune` does for this
    task: our default warm start from similar past studies, then refinement that also
    learns from them), ``"none"`` (warm start off: what ``tune(strategy="none")`` does)
    and ``"random"`` (random search).

    Strategies
    ----------
    Each strategy is a name: a warm-start strategy ``tune`` accepts (``"default"``,
    ``"nearest"``, ``"portfolio"``, ``"neural"``), ``"none"`` (or ``"cold"``) for warm
    start off, ``"random"`` or ``"sobol"``. A dict gives the racers display names
    (``{"warm start": "default", "cold": "none"}``), and may also map a name to a
    :class:`Sampler`, a :class:`~jupyter_metahpo.meta.strategies.WarmStartStrategy` or a
    function of the seed that returns a sampler.

    Racers do not learn from each other: the past studies (``past``, the experience
    store, the bundled prior; as in ``tune``) are gathered once, before the race, and
    every sampler is built before the racers' studies open.

    Every racer's trials are experience like any other: each racer is a study in the
    experience store, named ``"<name>/<strategy>"`` (``"race/random"`` by default), with
    ``settings["race"] = name`` and ``settings["strategy"]`` marking it as a race, and
    each finished trial is written before the next one starts. ``%metatune_history``
    lists them, ``%metatune_compare race/default race/random`` draws them again, and
    later warm starts learn from them like from any stored study. A race always starts
    its studies fresh (never resumes an earlier race of the same name), so every racer
    gets the same budget from the same start.

    Parameters
    ----------
    name:
        The race's name: its studies are ``"<name>/<strategy>"``.
    store:
        As in :func:`~jupyter_metahpo.tune`: ``None`` for the user's experience store, a
        folder path, an :class:`~jupyter_metahpo.store.ExperienceStore`, or ``False`` to
        record nothing (and not to learn from the store).
    task, data, past:
        As in :func:`~jupyter_metahpo.tune`: ``data=(X, y)`` describes the task by its
        meta-features, so that warm starts find similar past tasks; ``task`` names or
        describes it instead; ``past`` adds past studies to learn from. All racers share
        the task (they ran the same objective); its name is the race's name unless
        ``task`` names it.

    Returns each strategy's :class:`TuningResult`, by strategy; its ``name`` is the
    study's name (``"<name>/<strategy>"``), ``study_id`` its id in the store and
    ``info`` what the warm start used (as for ``tune``).
    """
    specs = _race_specs(strategies)
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ValueError(f"`n_trials` must be a positive integer, but got n_trials={n_trials!r}.")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"`name` must be a non-empty string naming the race, but got name={name!r}.")
    space = as_search_space(space)
    parsed_direction = Direction.parse(direction)  # before anything is written to the store
    racers = _build_racers(specs, name, task, data, past, store, space, seed)
    sessions = _open_race_sessions(
        store, name, racers, space, parsed_direction, metric, objective, n_trials, seed
    )
    status = "failed"  # what the store records if something unexpected escapes
    try:
        studies = {
            label: Study(
                space, direction=parsed_direction, metric=metric, sampler=racer.sampler, seed=seed, name=label,
                recorder=None if sessions is None else _TrialsOnly(sessions[label]), context=racer.context,
            )
            for label, racer in racers.items()
        }
        status = _show_and_run(objective, studies, n_trials, seed, display, min_interval)
    finally:
        if sessions is not None:
            for session in sessions.values():
                session.finish(status)
    return {
        label: TuningResult(
            space=space, direction=s.direction, trials=s.trials, status=status, name=f"{name}/{label}", metric=metric,
            study_id=None if sessions is None else sessions[label].study_id, info=dict(s.context),
        )
        for label, s in studies.items()
    }


def _show_and_run(objective, studies: Mapping[str, Study], n_trials: int, seed, display: bool, min_interval: float):
    """The live view with its Stop button, around the race itself; returns how the race ended."""
    view = CompareWidget(list(studies.values()), title=f"Race: {', '.join(studies)} · {n_trials} trials, seed {seed}")
    stop = StopSignal()
    view.stop_button = W.Button(description="Stop race", icon="stop", button_style="danger",
                                tooltip="End the race after the running trials; every trial is kept",
                                layout=W.Layout(width="auto", align_self="flex-start"))
    view.stop_button.add_class("metahpo-race-stop")
    view.stop_button.on_click(lambda _b: stop.set())
    view.children = (view.children[0], view.stop_button, *view.children[1:])
    pump = handle = None
    status = "failed"  # what the view says if something unexpected escapes the race
    try:
        if display:
            from IPython import get_ipython
            from IPython.display import display as show

            from .kernel_pump import comm_pump_for

            handle = show(view, display_id=True)
            pump = comm_pump_for(get_ipython())
        status = _run_race(objective, studies, n_trials, stop, pump, view, min_interval)
        return status
    finally:
        _redraw(view, studies)
        show_ending(view, status)
        if pump is not None:
            pump.release()
        if handle is not None:
            # Displayed again: the live view stays, and the static copy a notebook saved
            # without widget state shows is now the final one, not the race's first frame.
            handle.update(view)


def show_ending(view: CompareWidget, status: str) -> None:
    """Nothing to stop any more: the button is disabled, greyed and says how the race ended."""
    button = view.stop_button
    with button.hold_sync():
        button.disabled = True
        button.button_style = ""
        button.icon = "check" if status == "finished" else ""
        button.description = _ENDINGS.get(status, f"Race {status}")
        button.tooltip = "The race is over; every racer's trials are kept"
    view.ending = button.description


def _run_race(objective, studies: Mapping[str, Study], n_trials: int, stop: StopSignal, pump, view, min_interval):
    """One trial of each racer in turn until the budget is spent; returns how the race ended."""
    last_draw = 0.0
    for _ in range(n_trials):
        if stop.is_set():
            return "stopped"
        for study in studies.values():
            ended = study.optimize(objective, len(study.trials) + 1, max_initial_failures=None)
            if ended == "interrupted":  # Ctrl-C / interrupt the kernel: end the whole race, keep its trials
                return "interrupted"
        if pump is not None:
            pump.pump()  # lets a Stop click through on front ends without comm subshells
        now = time.monotonic()
        if now - last_draw >= min_interval:
            last_draw = now
            _redraw(view, studies)
    return "stopped" if stop.is_set() else "finished"


class _TrialsOnly:
    """A racer's recorder: writes each trial; the race marks the study's end once.

    ``Study.optimize`` runs once per trial in a race, and would otherwise mark the study
    finished (an index rewrite and an end line) after every trial.
    """

    def __init__(self, session: Any) -> None:
        self.session = session

    def record_trial(self, trial: FrozenTrial) -> None:
        self.session.record_trial(trial)

    def finish(self, status: str) -> None:
        pass


def _open_race_sessions(store, name, racers, space, direction, metric, objective, n_trials, seed):
    """One fresh store study per racer (``None`` when ``store=False``); all or none are left open."""
    from ..store import open_store

    experience = open_store(store)
    if experience is None:
        return None
    sessions: dict[str, Any] = {}
    try:
        for label, racer in racers.items():
            sessions[label] = experience.open_study(
                f"{name}/{label}", space, direction, metric=metric, objective=getattr(objective, "__name__", None),
                settings={"n_trials": n_trials, "timeout": None, "seed": seed, "sampler": racer.sampler,
                          "race": name, "strategy": label, "racer": racer.kind, "racers": list(racers)},
                task=racer.store_task, resume=False,
            )
    except BaseException:
        for session in sessions.values():  # the race never started: do not leave them "running"
            session.finish("failed")
        raise
    return sessions


def _redraw(view: CompareWidget, studies: Mapping[str, Study]) -> None:
    with view.hold_sync():
        view.set_studies([(name, s.direction, s.trials) for name, s in studies.items()])


class _Racer:
    """One racer, built before the race: its sampler, its study's context, its task in the store."""

    def __init__(self, sampler: Sampler | None, context: dict[str, Any], store_task: Any, kind: str) -> None:
        self.sampler = sampler
        self.context = context
        self.store_task = store_task
        self.kind = kind


def _race_specs(strategies: Any) -> list[tuple[str, Any]]:
    """(label, spec) pairs, each spec checked: a known name, a Sampler, a WarmStartStrategy or a function."""
    from ..meta.strategies import WarmStartStrategy

    if isinstance(strategies, str):
        raise TypeError(
            f"`strategies` must be a list of strategy names or a dict, but got the string {strategies!r}; "
            f"write [{strategies!r}, ...]."
        )
    items = list(strategies.items()) if isinstance(strategies, Mapping) else [(s, s) for s in strategies]
    if len(items) < 2:
        raise ValueError(f"a race needs at least two strategies, but got {[n for n, _ in items]}.")
    for label, spec in items:
        if isinstance(spec, str):
            if spec not in RACE_STRATEGIES:
                raise ValueError(
                    f"unknown race strategy {spec!r}; known: {list(RACE_STRATEGIES)}, or pass a dict "
                    "name -> Sampler (or a function of the seed that returns one)."
                )
        elif not isinstance(spec, (Sampler, WarmStartStrategy)) and not callable(spec):
            raise TypeError(
                f"strategy {label!r} must be a name, a Sampler, a WarmStartStrategy or a function of the seed, "
                f"but got {spec!r}."
            )
    return [(str(label), spec) for label, spec in items]


def _build_racers(specs, name, task, data, past, store, space, seed) -> dict[str, _Racer]:
    """Every racer's sampler, from one description of the task and one gathering of the past."""
    from ..meta.gather import check_past, gather_past_studies
    from ..meta.strategies import WarmStartStrategy
    from ..meta.tuning import meta_sampler, plan_task

    # As in tune(): the task is described (meta-features first) before anything is stored.
    plan = plan_task(name, task, data, "none")
    store_task = name if plan.store_task is None else plan.store_task
    warm = [spec for _, spec in specs if isinstance(spec, WarmStartStrategy) or spec in WARM_START_STRATEGIES]
    # Gathered once, before any racer's study exists: racers never learn from each other.
    studies = gather_past_studies(past=past, store=store) if warm else check_past(past)
    racers: dict[str, _Racer] = {}
    for label, spec in specs:
        context = dict(plan.context)
        if isinstance(spec, WarmStartStrategy) or spec in WARM_START_STRATEGIES:
            racer_plan = replace(plan, strategy=spec, context=context)
            context["warm_start_strategy"] = spec if isinstance(spec, str) else type(spec).__name__
            sampler = meta_sampler(racer_plan, space, studies, seed)
            kind = context["warm_start_strategy"]
        elif isinstance(spec, str):
            sampler, kind = _PLAIN_RACERS[spec](seed), spec
        else:
            sampler = spec if isinstance(spec, Sampler) else spec(seed)
            if not isinstance(sampler, Sampler):
                raise TypeError(f"strategy {label!r}: the function must return a Sampler, but returned {sampler!r}.")
            context.pop("warm_start_strategy", None)  # the user's own sampler: no warm start of ours
            kind = type(sampler).__name__
        racers[label] = _Racer(sampler, context, store_task, kind)
    return racers
