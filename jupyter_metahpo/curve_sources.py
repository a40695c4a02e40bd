"""Where the meta-learned pruner's past learning curves come from when ``tune`` runs it.

The pipeline has already decided which past studies are related to the new one (the
compatibility pass, ``Experience.usable``: the same task, similar objective code, the
same estimator family, ...). Their curves are the pruner's past:

- a related study of the experience store: the curves of its complete trials, when it
  was optimised in the same direction (a loss and an accuracy do not share a scale);
- a related study of the bundled prior (``prior/<space>/<dataset>``) whose space has
  packed learning curves (the torch MLP spaces): every pool configuration's curve on
  that dataset, when the new study maximises (the prior's scores are higher-is-better).

The study's own finished curves join them as it runs (the pruner adds them). Without
a gathered past (``strategy="none"``, a sampler of one's own) only those count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from .prior.curves import available_curve_spaces, load_prior_curves
from .pruners import LearningCurve, MetaLearnedPruner, Pruner
from .trial import Direction, TrialState

__all__ = ["past_learning_curves", "with_past_curves", "MAX_STORE_STUDIES"]

#: The most related store studies whose logs are read for curves (the most recent ones).
MAX_STORE_STUDIES = 100


def with_past_curves(pruner: Pruner, experience: Any, store: Any, direction: Direction) -> Pruner:
    """``pruner`` with the past curves of the related studies added, when it learns from them."""
    if not isinstance(pruner, MetaLearnedPruner) or experience is None:
        return pruner
    return pruner.with_past(past_learning_curves(experience.usable, store, direction))


def past_learning_curves(usable: Iterable[Any], store: Any, direction: Direction) -> list[LearningCurve]:
    """The learning curves of the related past studies (``Experience.usable`` records)."""
    studies = [u.study for u in usable]
    curves = _store_curves([s for s in studies if s.source == "store" and s.direction is direction], store)
    if direction is Direction.MAXIMIZE:
        curves += _prior_curves([s for s in studies if s.source == "prior"])
    return curves


def _store_curves(studies: list[Any], store: Any) -> list[LearningCurve]:
    if store is None:
        return []
    curves = []
    for study in studies[-MAX_STORE_STUDIES:]:
        for record in store.trials(study.study_id):
            trial = record.trial
            if trial.state is TrialState.COMPLETE and trial.intermediate_values:
                curves.append(LearningCurve.from_mapping(trial.intermediate_values, trial.value, study.direction,
                                                         task=study.task_name))
    return curves


def _prior_curves(studies: list[Any]) -> list[LearningCurve]:
    """The prior's curves of the datasets whose studies are related (``prior/<space>/<dataset>``)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for study in studies:
        parts = study.study_id.split("/")
        if len(parts) == 3 and parts[0] == "prior":
            wanted[parts[1]].add(parts[2])
    packed = set(available_curve_spaces())
    curves = []
    for space, tasks in wanted.items():
        if space not in packed:
            continue
        for task in load_prior_curves(space, tasks=tasks):
            curves += [
                LearningCurve(tuple(range(len(c))), tuple(float(v) for v in c), final, Direction.MAXIMIZE, task.task)
                for c, final in zip(task.curves, task.finals)
            ]
    return curves
