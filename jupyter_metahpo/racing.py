"""Race strategies on one objective, live: the same budget and seed for each, for teaching.

:func:`race` runs the same objective under several strategies (by default: what
``tune`` does, warm start off, random search), one trial of each in turn, draws them
live in a :class:`~jupyter_metahpo.widgets.compare.RaceView`, and records every racer's
study in the experience store. The racers are prepared by the study pipeline
(:mod:`jupyter_metahpo.pipeline`): the task is described once, the store opened once and
the past gathered and carried into the space once, before any racer's study opens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from IPython import get_ipython
from IPython.display import display as show

from .meta.declared_space import given_or_declared_space
from .meta.strategies import STRATEGIES, WarmStartStrategy
from .parallel import check_parallel_options, check_picklable, dask_client, optimize_parallel
from .pipeline import Experience, build_sampler, check_past, open_store, plan_task, source_setting, strategy_label
from .result import TuningResult
from .samplers import DefaultSampler, RandomSampler, Sampler, SobolSampler
from .space import SearchSpace
from .study import StopSignal, Study
from .trial import Direction
from .warm_report import WarmStartSummary
from .widgets.compare import RaceView
from .widgets.kernel_pump import comm_pump_for

__all__ = ["race", "RaceInterrupted", "RACE_STRATEGIES", "DEFAULT_RACERS", "WARM_START_STRATEGIES"]

#: The warm-start strategies ``tune`` accepts by name ("default" first).
WARM_START_STRATEGIES: tuple[str, ...] = tuple(STRATEGIES)

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


def race(
    objective: Callable[..., Any],
    space: SearchSpace | Mapping[str, Any] | None = None,
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
    n_jobs: int = 1,
    client: Any = None,
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

    Without ``space``, the space is read from an Optuna-style objective's ``trial.suggest_*``
    calls, as ``tune`` reads it.

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
    n_jobs, client:
        Trials at once *per racer*, on Dask (as in :func:`~jupyter_metahpo.tune`): with
        ``n_jobs=k`` the race starts one ``LocalCluster`` of k workers per racer, which
        they share, and each racer keeps k trials running on it; ``client=`` uses a
        cluster you started instead (each racer still runs ``n_jobs`` trials at once).
        Racers still never see each other's trials.

    Returns each strategy's :class:`TuningResult`, by strategy; its ``name`` is the
    study's name (``"<name>/<strategy>"``), ``study_id`` its id in the store and
    ``info`` what the warm start used (as for ``tune``).
    """
    specs = _race_specs(strategies)
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ValueError(f"`n_trials` must be a positive integer, but got n_trials={n_trials!r}.")
    parallel = None
    if n_jobs != 1 or client is not None:
        slots = check_parallel_options(n_jobs, client, None) or 1  # with client= and n_jobs=1: one trial at a time
        check_picklable(objective)  # before any racer's study opens
        parallel = _Parallel(slots, client)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"`name` must be a non-empty string naming the race, but got name={name!r}.")
    space = given_or_declared_space(space, objective, "race")
    # As in tune(): the task is described (meta-features first) before anything is stored.
    plan = plan_task(name, task, data, "none", objective, space)
    parsed_direction = Direction.parse(direction)
    past = check_past(past)
    opened = open_store(store)
    racers = _build_racers(specs, plan, past, opened, space, seed)
    sessions = _open_race_sessions(
        opened, name, racers, space, parsed_direction, metric, objective, n_trials, seed, source_setting(plan)
    )
    status = "failed"  # what the store records if something unexpected escapes
    try:
        studies = {
            label: Study(
                space, direction=parsed_direction, metric=metric, sampler=racer.sampler, seed=seed, name=label,
                recorder=None if sessions is None else sessions[label], context=racer.context,
            )
            for label, racer in racers.items()
        }
        status = _show_and_run(objective, studies, n_trials, seed, display, min_interval, parallel)
    finally:
        if sessions is not None:
            for session in sessions.values():
                session.finish(status)
    results = {
        label: TuningResult(
            space=space, direction=s.direction, trials=s.trials, status=status, name=f"{name}/{label}", metric=metric,
            study_id=None if sessions is None else sessions[label].study_id, info=dict(s.context),
        )
        for label, s in studies.items()
    }
    if status == "interrupted":  # as tune() does: the script ends, a notebook stops "Run All"
        raise RaceInterrupted(results)
    return results


class RaceInterrupted(KeyboardInterrupt):
    """Raised by :func:`race` after an interrupt ended it; ``results`` holds every racer's finished trials.

    A ``KeyboardInterrupt``, so that a script ends and a notebook stops the cells queued
    after this one; in a notebook it shows as one line, without a traceback.
    """

    def __init__(self, results: Mapping[str, TuningResult]) -> None:
        self.results = dict(results)
        n = sum(len(r.trials) for r in self.results.values())
        super().__init__(f"the race was interrupted; its {n} finished trials are kept (`.results`, and the store).")

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def _show_and_run(objective, studies: Mapping[str, Study], n_trials: int, seed, display: bool, min_interval: float,
                  parallel: _Parallel | None = None):
    """The live view with its Stop button, around the race itself; returns how the race ended."""
    stop = StopSignal()
    at_once = "" if parallel is None else f", {parallel.slots} at once each"
    view = RaceView(list(studies.values()), stop,
                    title=f"Race: {', '.join(studies)} · {n_trials} trials{at_once}, seed {seed}")
    view.show_starts(race_starts(studies))
    pump = handle = None
    status = "failed"  # what the view says if something unexpected escapes the race
    try:
        if display:
            handle = show(view, display_id=True)
            pump = comm_pump_for(get_ipython())
        if parallel is None:
            status = _run_race(objective, studies, n_trials, stop, pump, view, min_interval)
        else:
            status = _run_race_parallel(objective, studies, n_trials, stop, pump, view, min_interval, parallel)
        return status
    finally:
        view.show_studies(studies)
        view.show_ending(status)
        if pump is not None:
            pump.release()
        if handle is not None:
            # Displayed again: the live view stays, and the static copy a notebook saved
            # without widget state shows is now the final one, not the race's first frame.
            handle.update(view)


def race_starts(studies: Mapping[str, Study]) -> dict[str, str]:
    """Where each racer starts from, in words: its warm start's sources, why it is cold, or how it samples."""
    starts = {}
    for label, study in studies.items():
        warm = WarmStartSummary.from_info(study.context)
        starts[label] = warm.headline() if warm is not None else f"warm start off ({type(study.sampler).__name__})"
    return starts


def _run_race(objective, studies: Mapping[str, Study], n_trials: int, stop: StopSignal, pump, view, min_interval):
    """One trial of each racer in turn until the budget is spent; returns how the race ended."""
    last_draw = 0.0
    for _ in range(n_trials):
        if stop.is_set():
            return "stopped"
        for study in studies.values():
            try:
                study.run_trial(objective)
            except KeyboardInterrupt:  # Ctrl-C / interrupt the kernel: end the whole race, keep its trials
                return "interrupted"
        if pump is not None:
            pump.pump()  # lets a Stop click through on front ends without comm subshells
        now = time.monotonic()
        if now - last_draw >= min_interval:
            last_draw = now
            view.show_studies(studies)
    return "stopped" if stop.is_set() else "finished"


@dataclass(frozen=True)
class _Parallel:
    """A race on Dask: ``slots`` trials at once per racer, on ``client`` (``None``: a cluster the race starts)."""

    slots: int
    client: Any


class _TrialsOnly:
    """A racer's store session as its parallel run's recorder: trials are written as they end; the
    race marks every racer's end itself, once, with the race's status."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def record_trial(self, trial) -> None:
        self.session.record_trial(trial)

    def finish(self, status: str) -> None:
        pass


def _run_race_parallel(objective, studies: Mapping[str, Study], n_trials: int, stop: StopSignal, pump, view,
                       min_interval: float, parallel: _Parallel) -> str:
    """Every racer keeps ``parallel.slots`` trials running at once on one cluster, each racer from its own
    thread of the kernel (ask and tell stay in the kernel); the view is redrawn from this thread."""
    errors: dict[str, BaseException] = {}
    with dask_client(parallel.slots * len(studies), parallel.client, None) as connected:

        def run(label: str, study: Study) -> None:
            recorder = study.recorder
            if recorder is not None:
                study.recorder = _TrialsOnly(recorder)
            try:
                optimize_parallel(study, objective, n_trials, stop=stop, n_jobs=parallel.slots, client=connected)
            except BaseException as error:  # noqa: BLE001 - raised again in the kernel's main thread below
                errors[label] = error
                stop.set()  # one racer's failure ends the race, as it does one trial at a time
            finally:
                study.recorder = recorder

        threads = [threading.Thread(target=run, args=item, name=f"race-{item[0]}", daemon=True)
                   for item in studies.items()]
        for thread in threads:
            thread.start()
        try:
            while any(thread.is_alive() for thread in threads):
                for thread in threads:
                    thread.join(timeout=min_interval / len(threads))
                if pump is not None:
                    pump.pump()
                view.show_studies(studies)
        except KeyboardInterrupt:  # Ctrl-C / interrupt the kernel: every racer stops, their trials are kept
            stop.set()
            for thread in threads:
                thread.join()
            return "interrupted"
    if errors:
        raise next(iter(errors.values()))
    return "stopped" if stop.is_set() else "finished"


def _open_race_sessions(store, name, racers, space, direction, metric, objective, n_trials, seed, source):
    """One fresh store study per racer (``None`` without a store); all or none are left open."""
    if store is None:
        return None
    sessions: dict[str, Any] = {}
    try:
        for label, racer in racers.items():
            sessions[label] = store.open_study(
                f"{name}/{label}", space, direction, metric=metric, objective=getattr(objective, "__name__", None),
                settings={"n_trials": n_trials, "timeout": None, "seed": seed, "sampler": racer.sampler,
                          "race": name, "strategy": label, "racer": racer.kind, "racers": list(racers), **source},
                task=racer.store_task, resume=False,
            )
    except BaseException:
        for session in sessions.values():  # the race never started: do not leave them "running"
            session.finish("failed")
        raise
    return sessions


@dataclass
class _Racer:
    """One racer, built before the race: its sampler, its study's context, its task in the store."""

    sampler: Sampler | None
    context: dict[str, Any]
    store_task: Any
    kind: str


def _race_specs(strategies: Any) -> list[tuple[str, Any]]:
    """(label, spec) pairs, each spec checked: a known name, a Sampler, a WarmStartStrategy or a function."""
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


def _is_warm(spec: Any) -> bool:
    return isinstance(spec, WarmStartStrategy) or spec in WARM_START_STRATEGIES


def _build_racers(specs, plan, past, store, space, seed) -> dict[str, _Racer]:
    """Every racer's sampler, from one description of the task and one gathering of the past."""
    store_task = plan.context["task_name"] if plan.store_task is None else plan.store_task
    # Gathered once, before any racer's study exists: racers never learn from each other.
    context = plan.study_context(past)
    experience = Experience.gather(space, past, store, context=context) if any(_is_warm(spec) for _, spec in specs) else None
    return {label: _racer(label, spec, plan, experience, space, seed, store_task) for label, spec in specs}


def _racer(label, spec, plan, experience, space, seed, store_task) -> _Racer:
    context = dict(plan.context)
    if _is_warm(spec):
        context["warm_start_strategy"] = strategy_label(spec)
        sampler = build_sampler(replace(plan, strategy=spec, context=context), space, experience, seed)
        return _Racer(sampler, context, store_task, context["warm_start_strategy"])
    if isinstance(spec, str):
        return _Racer(_PLAIN_RACERS[spec](seed), context, store_task, spec)
    sampler = spec if isinstance(spec, Sampler) else spec(seed)
    if not isinstance(sampler, Sampler):
        raise TypeError(f"strategy {label!r}: the function must return a Sampler, but returned {sampler!r}.")
    context.pop("warm_start_strategy", None)  # the user's own sampler: no warm start of ours
    return _Racer(sampler, context, store_task, type(sampler).__name__)
