"""Pruners: stop unpromising trials early, from the learning curves they report.

An objective reports its curve (``trial.report(value, step)``) and asks
``trial.should_prune()``; the study hands the question to its pruner:

- :class:`NopPruner` (``"none"``, the default): never prunes;
- :class:`MedianPruner` (``"median"``): worse than the median of the complete trials
  at the same step (Optuna's rule);
- :class:`SuccessiveHalvingPruner` (``"halving"``): asynchronous successive halving (ASHA);
- :class:`MetaLearnedPruner` (``"meta"``): past learning curves of related tasks teach
  a classifier (:class:`BeatsBestClassifier`) the chance that a curve like the running
  one ends above the best trial; it stops when that chance is ``1 - p`` or less.
"""

from __future__ import annotations

from .base import KEEP, NopPruner, PruneDecision, Pruner
from .beats import BeatsBestClassifier
from .curves import CurveLibrary, LearningCurve
from .halving import SuccessiveHalvingPruner
from .median import MedianPruner
from .meta import MetaLearnedPruner

__all__ = [
    "Pruner",
    "PruneDecision",
    "KEEP",
    "NopPruner",
    "MedianPruner",
    "SuccessiveHalvingPruner",
    "MetaLearnedPruner",
    "BeatsBestClassifier",
    "LearningCurve",
    "CurveLibrary",
    "PRUNERS",
    "PRUNER_NAMES",
    "resolve_name",
    "as_pruner",
]

#: The pruners by the names ``tune(pruner=...)`` and ``%%metatune --pruner`` accept.
PRUNERS: dict[str, type[Pruner]] = {
    "none": NopPruner,
    "median": MedianPruner,
    "halving": SuccessiveHalvingPruner,
    "meta": MetaLearnedPruner,
}
_ALIASES = {"meta-learned": "meta", "metalearned": "meta", "nop": "none", "successive-halving": "halving", "successive_halving": "halving", "asha": "halving"}
#: The pruners' names, as error messages list them (``as_pruner`` also takes a few aliases: ``"asha"``).
PRUNER_NAMES = tuple(PRUNERS)


def resolve_name(name: str) -> str | None:
    """The pruner name ``name`` stands for (an alias resolved, any case), or ``None`` when it names none."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in PRUNERS else None


def as_pruner(pruner: Pruner | str | None) -> Pruner:
    """The pruner ``pruner`` names (a fresh one with its defaults), itself when it is one, or
    :class:`NopPruner` for ``None``."""
    if pruner is None:
        return NopPruner()
    if isinstance(pruner, Pruner):
        return pruner
    if isinstance(pruner, str):
        key = resolve_name(pruner)
        if key is not None:
            return PRUNERS[key]()
        raise ValueError(f"unknown pruner {pruner!r}; choose one of {list(PRUNERS)} or pass a Pruner object.")
    raise TypeError(f"`pruner` must be a pruner's name ({', '.join(sorted(PRUNERS))}), a Pruner or None, but got {pruner!r}.")
