"""How ``tune`` uses meta-learning: describe the task, gather the past, build the warm start.

Kept apart from :mod:`jupyter_metahpo.api` so that ``tune`` stays a short sequence
of steps. What describes the task is handed to the experience store (``store_task``)
and kept in the study's context under these keys:

``task_name``, ``meta_features``, ``meta_feature_set``, ``data_fingerprint``,
``task_type``, ``meta_feature_seconds`` (when data was given), and
``warm_start_strategy``, ``n_past_studies``, ``transfer_report`` (what was used).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..experience import PastStudy
from ..samplers.base import Sampler
from ..space import SearchSpace
from .compat import transfer_studies
from .features import MetaFeatures
from .strategies import STRATEGIES, TaskDescription, WarmStartStrategy
from .suggest import describe_task

__all__ = ["TaskPlan", "plan_task", "meta_sampler", "STRATEGY_CHOICES", "warm_start_size"]

STRATEGY_CHOICES = (*STRATEGIES, "none")


@dataclass
class TaskPlan:
    """What ``tune`` knows about the task before the first trial."""

    description: TaskDescription
    features: MetaFeatures | None
    store_task: Any
    strategy: str | WarmStartStrategy
    context: dict[str, Any] = field(default_factory=dict)


def plan_task(name: str | None, task: Any, data: Any, strategy: str | WarmStartStrategy) -> TaskPlan:
    """Describe the task (meta-features when ``data=(X, y)``) and check ``strategy``."""
    if not isinstance(strategy, WarmStartStrategy) and strategy not in STRATEGY_CHOICES:
        raise ValueError(
            f"`strategy` must be one of {list(STRATEGY_CHOICES)} or a WarmStartStrategy, but got strategy={strategy!r}."
        )
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
    context["warm_start_strategy"] = strategy if isinstance(strategy, str) else type(strategy).__name__
    return TaskPlan(description, features, store_task, strategy, context)


def _task_name(task: Any) -> str | None:
    return task if isinstance(task, str) else _field(task, "name")


def _field(task: Any, key: str) -> Any:
    """A field of a task given as a dict or as a record (TaskInfo); None for a name or nothing."""
    if task is None or isinstance(task, str):
        return None
    if isinstance(task, Mapping):
        return task.get(key)
    return getattr(task, key, None)


def warm_start_size(space: SearchSpace) -> int:
    """Warm-start trials: about half the initial design (at least 3).

    With a transfer surrogate the refinement starts right after them (see
    :func:`meta_sampler`); without one, the rest of the initial design is a Sobol
    design, so that the plain GP sees spread-out points.
    """
    from ..samplers.default import default_n_initial

    return max(3, (default_n_initial(len(space)) + 1) // 2)


def meta_sampler(
    plan: TaskPlan,
    space: SearchSpace,
    past: Iterable[PastStudy],
    seed: int | None,
    k: int | None = None,
) -> Sampler | None:
    """A ``DefaultSampler`` whose warm start and refinement learn from ``past``, or None for strategy "none".

    The warm-start stage serves the strategy's proposals; refinement uses the RGPE
    transfer surrogate when some past study is compatible with enough trials to fit
    a GP, and the plain BoTorch sampler otherwise. With the transfer surrogate the
    refinement follows the warm start directly: its past-task models already say
    where the new task is likely good, and when they do not apply its ranking
    weights move to the new task's own GP. Spending the rest of a Sobol design
    there cost regret in the leave-one-task-out benchmark on the bundled prior (24
    held-out pools, 3 seeds: 0.036 against 0.033 at trial 5, 0.022 against 0.019 at
    trial 10, the same at trial 25; README, "How the default was chosen").
    """
    from ..samplers.default import DefaultSampler
    from ..samplers.transfer import TransferSampler
    from ..samplers.warm_start import WarmStartSampler

    if plan.strategy == "none":
        return None
    past = list(past)
    usable, report = transfer_studies(past, space)
    plan.context["n_past_studies"] = len(usable)
    plan.context["transfer_report"] = report.to_dict()
    if not usable:
        return DefaultSampler(seed=seed)
    k = k or warm_start_size(space)
    warm = WarmStartSampler(plan.strategy, usable_past(usable), plan.description, k, seed)
    if not any(len(t.scores) >= 3 for t in usable):
        return DefaultSampler(seed=seed, warm_start=warm)
    refiner = TransferSampler(usable_past(usable), plan.description, seed=seed)
    # At least 2 points for the new task's GP: a Sobol point fills in when the warm start has fewer.
    return DefaultSampler(seed=seed, n_initial=max(k, 2), warm_start=warm, refiner=refiner)


def usable_past(usable: Iterable[Any]) -> list[PastStudy]:
    return [t.study for t in usable]
