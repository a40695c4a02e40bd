"""The shape in which past studies reach the meta-learning layer.

The experience store (``jupyter_metahpo.store``), the bundled prior and importers
all produce :class:`PastStudy` records; the meta-models (``jupyter_metahpo.meta``)
only consume them. Keeping this small type apart lets both sides be built and
tested independently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .space import SearchSpace
from .trial import Direction

__all__ = ["PastStudy"]


@dataclass(frozen=True)
class PastStudy:
    """The finished, complete trials of one past study, with what describes its task.

    ``configs[i]`` scored ``values[i]``. ``meta_features`` is ``None`` when the task
    was described by name and space alone. ``source`` says where the record came
    from (``"store"``, ``"prior"``, ``"import"``).
    """

    study_id: str
    task_name: str
    space: SearchSpace
    direction: Direction
    configs: tuple[Mapping[str, Any], ...]
    values: tuple[float, ...]
    meta_features: Mapping[str, float] | None = None
    meta_feature_set: str | None = None
    data_fingerprint: str | None = None
    source: str = "store"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.configs) != len(self.values):
            raise ValueError(
                f"study {self.study_id!r}: {len(self.configs)} configs but {len(self.values)} values."
            )
        object.__setattr__(self, "configs", tuple(MappingProxyType(dict(c)) for c in self.configs))
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if self.meta_features is not None:
            object.__setattr__(self, "meta_features", MappingProxyType(dict(self.meta_features)))
        object.__setattr__(self, "direction", Direction.parse(self.direction))

    @property
    def signature(self) -> str:
        return self.space.signature

    def scores(self) -> np.ndarray:
        """Values turned so that higher is always better."""
        values = np.asarray(self.values, dtype=float)
        return values if self.direction is Direction.MAXIMIZE else -values

    def best(self, k: int = 1) -> list[tuple[Mapping[str, Any], float]]:
        """The ``k`` best configurations with their values, best first."""
        order = np.argsort(-self.scores(), kind="stable")[:k]
        return [(self.configs[i], self.values[i]) for i in order]

    @classmethod
    def from_arrays(
        cls,
        study_id: str,
        task_name: str,
        space: SearchSpace,
        direction: str | Direction,
        configs: Sequence[Mapping[str, Any]],
        values: Sequence[float],
        **kwargs: Any,
    ) -> PastStudy:
        return cls(study_id, task_name, space, Direction.parse(direction), tuple(configs), tuple(values), **kwargs)
