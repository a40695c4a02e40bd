"""How similar past tasks are to a new one: by meta-features, else by name and search space.

Shared by the strategies (:mod:`.nearest`, :mod:`.strategies`, :mod:`.neural`) and by
the transfer surrogate, which weights past studies by the same similarity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..space import SearchSpace
from .base import TaskDescription
from .compat import TransferredStudy
from .matching import SpaceMatch
from .features import META_FEATURE_NAMES, META_FEATURE_SET

__all__ = [
    "task_similarities",
    "comparable_studies",
    "described_by_meta_features",
    "standardise",
    "feature_names",
    "feature_value",
    "space_overlap",
    "name_and_space_similarities",
]


def task_similarities(task: TaskDescription, studies: Sequence[TransferredStudy]) -> np.ndarray | None:
    """Similarity in (0, 1] of each past study's task to ``task`` by standardised meta-features.

    Returns ``None`` when ``task`` has no meta-features; studies described by another
    feature set (or none) get similarity 0. Features are standardised over the new
    task and the past tasks together, so no single feature's scale dominates;
    similarity is ``exp(-rms distance)``.
    """
    if not task.has_meta_features:
        return None
    usable = comparable_studies(task, studies)
    out = np.zeros(len(studies))
    if not usable:
        return out
    names = feature_names(task)
    matrix = np.array([[feature_value(studies[i].study.meta_features, n) for n in names] for i in usable])
    target = np.array([feature_value(task.meta_features, n) for n in names])
    z_past, z_target = standardise(matrix, target)
    distance = np.sqrt(np.mean((z_past - z_target) ** 2, axis=1))
    out[usable] = np.exp(-distance)
    return out


def comparable_studies(task: TaskDescription, studies: Sequence[TransferredStudy]) -> list[int]:
    """Indices of the past studies described by the same meta-feature set as ``task``."""
    if not task.has_meta_features:
        return []
    return [
        i
        for i, t in enumerate(studies)
        if t.study.meta_features is not None and t.study.meta_feature_set == task.meta_feature_set
    ]


def described_by_meta_features(similarity: np.ndarray | None) -> bool:
    """Whether :func:`task_similarities` compared the new task with at least one past task."""
    return similarity is not None and bool(np.any(similarity > 0))


def standardise(matrix: np.ndarray, target: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Z-score the columns over the past rows (and the target, when given); constant columns become 0."""
    pool = matrix if target is None else np.vstack([matrix, target[None, :]])
    mean = pool.mean(axis=0)
    std = pool.std(axis=0)
    std = np.where(std > 1e-9, std, 1.0)
    return (matrix - mean) / std, None if target is None else (target - mean) / std


def feature_names(task: TaskDescription) -> list[str]:
    if task.meta_feature_set == META_FEATURE_SET:
        return list(META_FEATURE_NAMES)
    return sorted(task.meta_features or {})


def feature_value(features: Mapping[str, float] | None, name: str) -> float:
    value = (features or {}).get(name, 0.0)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def space_overlap(past_space: SearchSpace, space: SearchSpace, match: SpaceMatch | None = None) -> float:
    """How much of the new space the past space covered, averaged over parameters (0..1).

    ``match`` says which past parameter informs which new one (a partial match:
    :mod:`.matching`); without it, the same names. A new parameter the past never saw
    covers nothing; one converted from another kind counts half (its values map, but
    not one to one).
    """
    shares = []
    for name, parameter in space.items():
        past_name, converted = _counterpart(name, past_space, match)
        if past_name is None:
            shares.append(0.0)
            continue
        old = past_space[past_name]
        if converted or old.kind != parameter.kind:
            shares.append(0.5)
        elif parameter.kind == "categorical":
            shared = set(map(repr, old.options)) & set(map(repr, parameter.options))  # type: ignore[attr-defined]
            shares.append(len(shared) / len(parameter.options))  # type: ignore[attr-defined]
        else:
            low = max(parameter.to_unit(old.low), 0.0)  # type: ignore[attr-defined]
            high = min(parameter.to_unit(old.high), 1.0)  # type: ignore[attr-defined]
            shares.append(max(high - low, 0.0))
    return float(np.mean(shares)) if shares else 0.0


def _counterpart(name: str, past_space: SearchSpace, match: SpaceMatch | None) -> tuple[str | None, bool]:
    """The past parameter that informs ``name`` and whether its kind is converted."""
    if match is None:
        return (name, False) if name in past_space else (None, False)
    link = match.link(name)
    return (None, False) if link is None else (link.past, link.conversion is not None)


def name_and_space_similarities(task: TaskDescription, studies: Sequence[TransferredStudy]) -> np.ndarray:
    """Without meta-features: 1 for a past study of the same task name, else half its space overlap."""
    out = np.empty(len(studies))
    for i, t in enumerate(studies):
        if task.name is not None and t.study.task_name == task.name:
            out[i] = 1.0
        else:
            out[i] = 0.5 * space_overlap(t.study.space, t.space, t.match)
    return out
