"""The study pipeline: everything that happens before a study's first trial, once.

``tune()``, ``race()``, ``suggest()`` and, through ``tune()``, ``MetaSearchCV`` and the
``%%metatune`` magic all prepare a study here, in this order:

1. :func:`plan_task` describes the task (its meta-features when ``data=(X, y)``) and
   checks the strategy, so bad data fails before anything is written;
2. :func:`open_store` opens the experience store, once; everything after reads this
   one object;
3. :meth:`Experience.gather` collects the past studies (given ones, the store's, the
   bundled prior's) and carries the related ones into the new space through the
   parameters they share (:func:`jupyter_metahpo.meta.carry.carry_over`: matching by
   name, estimator argument and alias; relatedness; kind conversion): the
   compatibility pass runs here and nowhere else (the samplers receive studies
   already carried over);
4. :func:`build_sampler` builds the warm start and the refinement from that experience.

What describes the task is kept in the study's context under these keys:
``task_name``, ``meta_features``, ``meta_feature_set``, ``data_fingerprint``,
``task_type``, ``meta_feature_seconds`` (when data was given), and
``warm_start_strategy``, ``n_past_studies``, ``transfer_report`` (what was used), and
``warm_start`` (which past studies informed the study, on which parameters and why; or
why it started cold).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .experience import PastStudy
from .meta.carry import carry_over, explain_cold
from .meta.compat import TransferReport, TransferredStudy
from .meta.features import MetaFeatures, compute_meta_features
from .meta.relatedness import StudyContext
from .meta.source import ObjectiveSource, describe_objective
from .meta.strategies import STRATEGIES, TaskDescription, WarmStartStrategy
from .past_selection import STORE_STUDY_LIMIT, select_store_studies
from .prior.load import load_prior
from .samplers.base import Sampler
from .samplers.default import DefaultSampler, default_n_initial
from .samplers._past_models import PastModelCache, default_cache_dir
from .samplers.metaopt import meta_optimizer_refiner
from .samplers.transfer import TransferSampler
from .samplers.warm_start import WarmStartSampler
from .space import SearchSpace
from .store import ExperienceStore, StoreError, StudySession, open_store  # open_store: step 2, re-exported
from .trial import Direction

__all__ = [
    "STRATEGY_CHOICES",
    "TaskPlan",
    "plan_task",
    "describe_task",
    "open_store",
    "open_session",
    "StudyNameTakenError",
    "check_name_is_free",
    "check_past",
    "gather_past_studies",
    "gather_relevant_past",
    "Experience",
    "warm_start_size",
    "build_sampler",
    "PreparedStudy",
    "prepare_study",
]

#: What ``strategy=`` accepts by name: the warm-start strategies, and "none" for a cold start.
STRATEGY_CHOICES = (*STRATEGIES, "none")


# 1. The task ---------------------------------------------------------------------------


@dataclass
class TaskPlan:
    """What is known about the task before the first trial."""

    description: TaskDescription
    features: MetaFeatures | None
    store_task: Any
    strategy: str | WarmStartStrategy
    context: dict[str, Any] = field(default_factory=dict)
    source: ObjectiveSource | None = None

    def study_context(self, past: Iterable[PastStudy] = ()) -> StudyContext:
        """What relatedness and matching know of this study; ``past`` are the studies the user gave."""
        return StudyContext(
            task=self.description,
            source=self.source,
            task_type=self.context.get("task_type"),
            explicit=frozenset(p.study_id for p in past),
        )


def describe_task(name: str | None, data: Any = None) -> tuple[TaskDescription, MetaFeatures | None]:
    """The task's description: its meta-features when ``data=(X, y)`` is given, else its name only."""
    if data is None:
        return TaskDescription(name=name), None
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(
            f"`data` must be a pair (X, y) of features and targets, but got {type(data).__name__}"
            + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
            + "."
        )
    features = compute_meta_features(data[0], data[1])
    return TaskDescription.from_meta_features(name, features), features


def check_strategy(strategy: Any) -> None:
    if not isinstance(strategy, WarmStartStrategy) and strategy not in STRATEGY_CHOICES:
        raise ValueError(
            f"`strategy` must be one of {list(STRATEGY_CHOICES)} or a WarmStartStrategy, but got strategy={strategy!r}."
        )


def plan_task(
    name: str | None,
    task: Any,
    data: Any,
    strategy: str | WarmStartStrategy,
    objective: Any = None,
    space: SearchSpace | None = None,
) -> TaskPlan:
    """Describe the task (meta-features when ``data=(X, y)``; the objective's source when it can be read)
    and check ``strategy``."""
    check_strategy(strategy)
    task_name = _task_name(task) or name
    description, features = describe_task(task_name, data)
    store_task = task
    context: dict[str, Any] = {"task_name": task_name}
    if features is not None:
        if task is not None and not isinstance(task, str):
            raise ValueError(
                "give either `data=(X, y)` (meta-features are computed from it) or a `task` with its own "
                "meta-features, not both."
            )
        store_task = {
            "name": task_name or f"data-{features.fingerprint}",
            "meta_features": dict(features.values),
            "meta_feature_set": features.feature_set,
            "data_fingerprint": features.fingerprint,
        }
        context.update(
            meta_features=dict(features.values),
            meta_feature_set=features.feature_set,
            data_fingerprint=features.fingerprint,
            task_type=features.task_type,
            meta_feature_seconds=round(features.seconds, 4),
        )
    elif _field(task, "meta_features") is not None:  # a task dict or TaskInfo that brings its own
        description = TaskDescription(
            task_name, _field(task, "meta_features"), _field(task, "meta_feature_set"), _field(task, "data_fingerprint")
        )
    context["warm_start_strategy"] = strategy_label(strategy)
    source = describe_objective(objective, space.names) if callable(objective) and space is not None else None
    return TaskPlan(description, features, store_task, strategy, context, source)


def strategy_label(strategy: str | WarmStartStrategy) -> str:
    return strategy if isinstance(strategy, str) else type(strategy).__name__


def _task_name(task: Any) -> str | None:
    return task if isinstance(task, str) else _field(task, "name")


def _field(task: Any, key: str) -> Any:
    """A field of a task given as a dict or as a record (TaskInfo); None for a name or nothing."""
    if task is None or isinstance(task, str):
        return None
    if isinstance(task, Mapping):
        return task.get(key)
    return getattr(task, key, None)


# 2. The store ----------------------------------------------------------------------------


def open_session(
    store: ExperienceStore | None,
    name: str | None,
    space: SearchSpace,
    direction: Direction,
    *,
    metric: str | None,
    objective: Any,
    task: Any,
    resume: bool,
    settings: Mapping[str, Any],
) -> StudySession | None:
    """The store's recorder for this study (it resumes a study of the same name), or None without a store."""
    if store is None:
        return None
    return store.open_study(
        name, space, direction, metric=metric, objective=getattr(objective, "__name__", None),
        settings=settings, task=task, resume=resume,
    )


class StudyNameTakenError(StoreError, ValueError):
    """A fresh study was asked for under a name the store already holds."""


def check_name_is_free(store: Any, name: str) -> None:
    """Refuse to start a fresh study under a name the store already holds (``--fresh``).

    Two studies of one name would make every later reference to the name ambiguous
    (resuming, ``metahpo show NAME``). The old study is not renamed or removed behind
    the user's back: the error names the three ways on.
    """
    opened = open_store(store)
    if opened is None:
        return
    taken = opened.studies(name)
    if not taken:
        return
    latest = taken[-1]
    n = len(opened.trials(latest.id))
    raise StudyNameTakenError(
        f"the experience store {opened.path} already has a study named {name!r} (id {latest.id}, {n} trial"
        f"{'s' * (n != 1)}, {latest.status}), and --fresh does not start a second one under the same name. "
        f"Choose another --name; or run the cell without --fresh to go on with that study (same space and "
        f"direction); or remove it first with `metahpo forget {latest.id}`."
    )


# 3. The past -----------------------------------------------------------------------------


def check_past(past: Iterable[PastStudy] | None) -> list[PastStudy]:
    """``past`` as a list, or a clear error naming the item that is not a PastStudy."""
    if past is None:
        return []
    if isinstance(past, PastStudy):
        return [past]
    out = list(past)
    for i, item in enumerate(out):
        if not isinstance(item, PastStudy):
            raise TypeError(
                f"`past` must be a list of jupyter_metahpo.experience.PastStudy records (as returned by "
                f"ExperienceStore.past_studies() or jupyter_metahpo.prior.load_prior()), but item {i} is "
                f"{type(item).__name__}."
            )
    return out


def gather_past_studies(
    past: Iterable[PastStudy] | None = None,
    store: ExperienceStore | None = None,
    *,
    prior: bool = True,
    exclude: Sequence[str] = (),
) -> list[PastStudy]:
    """Every past study a new study may learn from: ``past`` first, then the store's, then the prior's.

    ``store`` is an opened store (or None to skip it); ``exclude`` drops study ids (the
    study being run, when it resumes). Duplicates (same study id) are kept once, first
    seen wins. Whether a study fits the new space is judged by :meth:`Experience.gather`,
    which reads only the most relevant stored studies of a large store (:func:`gather_relevant_past`).
    """
    stored = None if store is None else store.past_studies(exclude=tuple(exclude))
    return _unique([*check_past(past), *(stored or ()), *(load_prior() if prior else ())], exclude)


def gather_relevant_past(
    space: SearchSpace,
    past: Iterable[PastStudy] | None = None,
    store: ExperienceStore | None = None,
    *,
    context: StudyContext | None = None,
    prior: bool = True,
    exclude: Sequence[str] = (),
    store_limit: int | None = STORE_STUDY_LIMIT,
) -> tuple[list[PastStudy], int]:
    """:func:`gather_past_studies` reading at most ``store_limit`` stored studies, the most relevant to
    ``space`` and ``context`` (:mod:`jupyter_metahpo.past_selection`); and how many it left unread.

    A store with at most ``store_limit`` candidates is read whole, as
    :func:`gather_past_studies` reads it; ``store_limit=None`` always reads it whole.
    """
    given = check_past(past)
    stored: list[PastStudy] = []
    n_unread = 0
    if store is not None:
        context = context if context is not None else StudyContext(explicit=frozenset(p.study_id for p in given))
        selection = select_store_studies(store.summaries(), space, context, exclude=exclude, limit=store_limit)
        stored, n_unread = store.load_past_studies(selection.chosen), selection.n_unread
    return _unique([*given, *stored, *(load_prior() if prior else ())], exclude), n_unread


def _unique(studies: Iterable[PastStudy], exclude: Sequence[str]) -> list[PastStudy]:
    """``studies`` without those in ``exclude`` and without repeats (same study id: the first seen wins)."""
    seen: set[str] = set(exclude)
    unique = []
    for study in studies:
        if study.study_id not in seen:
            seen.add(study.study_id)
            unique.append(study)
    return unique


@dataclass(frozen=True)
class Experience:
    """The past, gathered once and carried into the new space once.

    ``studies`` are every past study read; ``usable`` those that fit ``space``,
    expressed in it (what the strategies and samplers consume); ``report`` what the
    compatibility pass skipped, clipped or dropped, and why; ``n_unread`` the stored
    studies left unread as less relevant than those read (a store past
    :data:`~jupyter_metahpo.past_selection.STORE_STUDY_LIMIT` candidates); ``defaults``
    the value a parameter the past never saw takes in a warm-start configuration, where
    the objective passes it to a built-in estimator (its default, as the past ran it).
    """

    space: SearchSpace
    studies: tuple[PastStudy, ...]
    usable: tuple[TransferredStudy, ...]
    report: TransferReport
    n_unread: int = 0
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_past(self) -> int:
        """Every past study found: those read and those left unread."""
        return len(self.studies) + self.n_unread

    @classmethod
    def gather(
        cls,
        space: SearchSpace,
        past: Iterable[PastStudy] | None = None,
        store: ExperienceStore | None = None,
        *,
        context: StudyContext | None = None,
        prior: bool = True,
        exclude: Sequence[str] = (),
        store_limit: int | None = STORE_STUDY_LIMIT,
    ) -> Experience:
        """Every past study found, the related ones carried into ``space``.

        ``context`` describes the new study (its task, objective source, and the
        studies the user gave); without it every study counts as given by the user.
        Of a store with more than ``store_limit`` candidate studies, only the most
        relevant ``store_limit`` are read (:func:`gather_relevant_past`).
        """
        studies, n_unread = gather_relevant_past(
            space, past, store, context=context, prior=prior, exclude=exclude, store_limit=store_limit
        )
        return cls.of(space, studies, context, n_unread=n_unread)

    @classmethod
    def of(
        cls, space: SearchSpace, studies: Iterable[PastStudy], context: StudyContext | None = None, *, n_unread: int = 0
    ) -> Experience:
        """The experience of the given past studies, carried into ``space`` (the compatibility pass)."""
        studies = tuple(studies)
        if context is None:  # studies handed over directly: the caller vouches for them
            context = StudyContext(explicit=frozenset(s.study_id for s in studies))
        usable, report = carry_over(studies, space, context)
        unseen = {name for study in usable for name in study.filled}
        defaults = {name: value for name, value in context.filler_defaults(space).items() if name in unseen}
        return cls(space, studies, tuple(usable), report, n_unread, defaults)

    def summary(self) -> dict[str, Any]:
        """What the warm start will use, for people: sources and their parameters, or why it is cold."""
        out = {
            "n_past": self.n_past,
            "n_sources": len(self.usable),
            "sources": {key: dict(value) for key, value in self.report.sources.items()},
            "n_unrelated": len(self.report.unrelated),
            "unrelated_reason": _most_common(self.report.unrelated.values()),
            "defaults": {name: value for name, value in self.defaults.items()},
            "cold": None if self.usable else explain_cold(self.report, self.n_past),
        }
        if self.n_unread:
            out["n_unread"] = self.n_unread  # stored studies less relevant than the ones read
        return out


def _most_common(reasons: Iterable[str]) -> list[Any] | None:
    """The reason most studies were left out for, and how many (``None`` when none was)."""
    counted = Counter(reasons).most_common(1)
    return [counted[0][0], counted[0][1]] if counted else None


# 4. The sampler --------------------------------------------------------------------------


def warm_start_size(space: SearchSpace) -> int:
    """Warm-start trials: about half the initial design (at least 3).

    With a transfer surrogate the refinement starts right after them (see
    :func:`build_sampler`); without one, the rest of the initial design is a Sobol
    design, so that the plain GP sees spread-out points.
    """
    return max(3, (default_n_initial(len(space)) + 1) // 2)


def build_sampler(
    plan: TaskPlan,
    space: SearchSpace,
    experience: Experience | None,
    seed: int | None,
    k: int | None = None,
    model_cache: PastModelCache | None = None,
) -> Sampler | None:
    """A ``DefaultSampler`` whose warm start and refinement learn from ``experience``; None for "none".

    ``model_cache`` keeps the transfer refinement's past GPs between studies (``None``:
    they are fitted at each study's start, to the same proposals).

    The warm-start stage serves the strategy's proposals; refinement uses the RGPE
    transfer surrogate when some past study is usable with enough trials to fit a GP,
    and the plain GP sampler otherwise. With the transfer surrogate the refinement
    follows the warm start directly: its past-task models already say where the new
    task is likely good, and when they do not apply its ranking weights move to the
    new task's own GP (the leave-one-task-out benchmark chose this over a Sobol design
    in between: README, "How the default was chosen").
    """
    if plan.strategy == "none":
        return None
    if experience is None or experience.space != space:
        raise ValueError("build_sampler needs the experience gathered for this study's space (Experience.gather).")
    usable = list(experience.usable)
    plan.context["n_past_studies"] = len(usable)
    plan.context["transfer_report"] = experience.report.to_dict()
    plan.context["warm_start"] = experience.summary()
    # strategy="meta-optimizer": its learned steps refine from the warm start on (an error without past tasks)
    learned = meta_optimizer_refiner(plan.strategy, usable, plan.description, seed)
    if not usable:
        return DefaultSampler(seed=seed)
    k = k or warm_start_size(space)
    warm = WarmStartSampler(plan.strategy if learned is None else learned.strategy, usable, plan.description, k,
                            seed, report=experience.report, defaults=experience.defaults)
    if learned is not None:
        return DefaultSampler(seed=seed, n_initial=max(k, 2), warm_start=warm, refiner=learned)
    if not any(len(t.scores) >= 3 for t in usable):
        return DefaultSampler(seed=seed, warm_start=warm)
    refiner = TransferSampler(usable, plan.description, seed=seed, model_cache=model_cache)
    # At least 2 points for the new task's GP: a Sobol point fills in when the warm start has fewer.
    return DefaultSampler(seed=seed, n_initial=max(k, 2), warm_start=warm, refiner=refiner)


# All four steps, for one study -------------------------------------------------------------


@dataclass
class PreparedStudy:
    """A study ready for its first trial: its space, task, store session and sampler."""

    space: SearchSpace
    direction: Direction
    plan: TaskPlan
    store: ExperienceStore | None
    session: StudySession | None
    sampler: Sampler | None
    experience: Experience | None = None  # the related past, when it was gathered (for the meta-learned pruner)

    @property
    def resumed_trials(self) -> tuple:
        return () if self.session is None else tuple(self.session.trials)

    @property
    def study_id(self) -> str | None:
        return None if self.session is None else self.session.study_id


def prepare_study(
    space: SearchSpace,
    *,
    objective: Any,
    direction: str | Direction,
    metric: str | None,
    name: str | None,
    seed: int | None,
    sampler: Sampler | None,
    store: Any,
    resume: bool,
    task: Any,
    data: Any,
    strategy: str | WarmStartStrategy,
    past: Iterable[PastStudy] | None,
    settings: Mapping[str, Any],
    warm_start_k: int | None = None,
) -> PreparedStudy:
    """Steps 1-4 for one study: what ``tune`` runs before its first trial.

    ``warm_start_k`` asks the warm start for at least that many proposals (trials that
    start together in parallel); by default :func:`warm_start_size`."""
    # meta-features first: bad data fails before anything is stored
    plan = plan_task(name, task, data, strategy, objective, space)
    parsed = Direction.parse(direction)  # and a bad direction too
    past = check_past(past)
    opened = open_store(store)
    session = open_session(
        opened, name, space, parsed, metric=metric, objective=objective, task=plan.store_task, resume=resume,
        settings={**settings, "sampler": sampler, **source_setting(plan)},
    )
    experience = None
    if sampler is None and plan.strategy != "none":
        exclude = () if session is None else (session.study_id,)
        experience = Experience.gather(space, past, opened, context=plan.study_context(past), exclude=exclude)
        k = None if warm_start_k is None else max(warm_start_size(space), warm_start_k)
        # the past GPs' hyperparameters: in the store's model states, the prior's in the user cache
        model_cache = PastModelCache(opened, default_cache_dir())
        sampler = build_sampler(plan, space, experience, seed, k=k, model_cache=model_cache)
    return PreparedStudy(space, parsed, plan, opened, session, sampler, experience)


def source_setting(plan: TaskPlan) -> dict[str, Any]:
    """The objective's source description, kept with the study so that later studies can compare theirs."""
    return {} if plan.source is None else {"objective_source": plan.source.to_json()}
