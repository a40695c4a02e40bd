"""The warm-start strategy interface: what a strategy is given and what it returns.

A strategy answers one question, ``propose(task, space, past, k) -> list[Proposal]``:
``task`` (:class:`TaskDescription`) describes the new task, ``space`` is its search
space, ``past`` the past studies and ``k`` how many configurations are wanted. It
implements ``propose_from``, the same question asked with the past studies already
carried into ``space`` (:func:`prepare`). The strategies themselves are in
:mod:`.strategies`, :mod:`.nearest` and :mod:`.neural`; the helpers at the end of this
module are the pieces of a :class:`Proposal` that they all build alike.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..experience import PastStudy
from ..space import SearchSpace
from .compat import TransferredStudy, transfer_studies
from .features import MetaFeatures

__all__ = [
    "TaskDescription",
    "Proposal",
    "WarmStartStrategy",
    "prepare",
    "is_new_point",
    "source_details",
]


@dataclass(frozen=True)
class TaskDescription:
    """What is known about the new task: its name, and its meta-features when data was given."""

    name: str | None = None
    meta_features: Mapping[str, float] | None = None
    meta_feature_set: str | None = None
    data_fingerprint: str | None = None

    def __post_init__(self) -> None:
        if self.meta_features is not None:
            object.__setattr__(self, "meta_features", MappingProxyType(dict(self.meta_features)))

    @classmethod
    def from_meta_features(cls, name: str | None, features: MetaFeatures) -> TaskDescription:
        return cls(name, features.values, features.feature_set, features.fingerprint)

    @property
    def has_meta_features(self) -> bool:
        return self.meta_features is not None and self.meta_feature_set is not None


@dataclass(frozen=True)
class Proposal:
    """A configuration to try first, with the reason and its provenance."""

    config: Mapping[str, Any]
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", MappingProxyType(dict(self.config)))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


class WarmStartStrategy(abc.ABC):
    """Answers "which configurations first, and why" for a new task.

    ``propose`` is called once per study, before its first trial, with everything it
    may use; a strategy keeps no state about a study between calls (models it fits
    may be cached, keyed by the past studies they were fitted on).
    """

    name: str = "strategy"

    def propose(
        self, task: TaskDescription, space: SearchSpace, past: Sequence[PastStudy], k: int
    ) -> list[Proposal]:
        """Up to ``k`` configurations of ``space``, best first, each with its reason."""
        if k < 1:
            return []
        return self.propose_from(task, space, prepare(space, past), k)

    @abc.abstractmethod
    def propose_from(
        self, task: TaskDescription, space: SearchSpace, studies: Sequence[TransferredStudy], k: int
    ) -> list[Proposal]:
        """The same, from past studies already carried into ``space`` (see :func:`prepare`).

        Strategies implement this one; combining strategies call it to share the
        (for a large store, costly) compatibility pass.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def prepare(space: SearchSpace, past: Sequence[PastStudy]) -> list[TransferredStudy]:
    """The past studies usable in ``space`` (see :mod:`.compat`)."""
    studies, _ = transfer_studies(past, space)
    return studies


def is_new_point(unit_rows: list[np.ndarray], candidate: np.ndarray, tolerance: float = 1e-6) -> bool:
    """Whether ``candidate`` is a new point (not within ``tolerance`` of one already chosen)."""
    return all(np.max(np.abs(row - candidate)) > tolerance for row in unit_rows)


def source_details(t: TransferredStudy, index: int) -> dict[str, Any]:
    return {
        "source_task": t.study.task_name,
        "source_study": t.study.study_id,
        "source_kind": t.study.source,
        "predicted": float(t.values[index]),
    }

