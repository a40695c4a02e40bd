"""The nearest-tasks strategy: the best configurations of the most similar past tasks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..space import SearchSpace
from .base import Proposal, TaskDescription, WarmStartStrategy, is_new_point, source_details
from .compat import TransferredStudy
from .similarity import described_by_meta_features, name_and_space_similarities, task_similarities

__all__ = ["NearestTasks"]


class NearestTasks(WarmStartStrategy):
    """The best configurations of the most similar past tasks.

    Tasks are compared by standardised meta-features. Without meta-features (on
    either side), past studies of the same task name count as most similar, then
    those whose spaces covered most of the new one. The first proposal is the best
    configuration of the most similar task, the second that of the next task, and so
    on; when there are fewer tasks than ``k`` the second-best configurations follow.
    """

    name = "nearest"

    def __init__(self, n_neighbours: int | None = None) -> None:
        if n_neighbours is not None and n_neighbours < 1:
            raise ValueError(f"`n_neighbours` must be a positive integer, but got n_neighbours={n_neighbours!r}.")
        self.n_neighbours = n_neighbours

    def propose_from(
        self, task: TaskDescription, space: SearchSpace, studies: Sequence[TransferredStudy], k: int
    ) -> list[Proposal]:
        if not studies or k < 1:
            return []
        similarity = task_similarities(task, studies)
        by_meta_features = described_by_meta_features(similarity)
        if not by_meta_features:
            similarity = name_and_space_similarities(task, studies)
        order = [int(i) for i in np.argsort(-similarity, kind="stable")]
        if self.n_neighbours is not None:
            order = order[: self.n_neighbours]
        rankings = {i: studies[i].ranked() for i in order}
        proposals: list[Proposal] = []
        chosen: list[np.ndarray] = []
        depth = 0
        while len(proposals) < k and any(depth < len(r) for r in rankings.values()):
            for position, i in enumerate(order):
                if len(proposals) >= k:
                    break
                if depth >= len(rankings[i]):
                    continue
                t = studies[i]
                index = rankings[i][depth]
                if not is_new_point(chosen, t.unit[index]):
                    continue
                chosen.append(t.unit[index])
                how = "meta-features" if by_meta_features else "task name and search space"
                rank_text = "best" if depth == 0 else f"#{depth + 1}"
                reason = (
                    f"{rank_text} config of {t.study.task_name!r}, the #{position + 1} most similar past task "
                    f"by {how} (similarity {similarity[i]:.2f}); it {t.scored(index)} there"
                )
                details = {
                    "strategy": self.name,
                    "similarity": float(similarity[i]),
                    "similarity_by": "meta-features" if by_meta_features else "name-and-space",
                    **source_details(t, index),
                }
                proposals.append(Proposal(t.configs[index], reason, details))
            depth += 1
        return proposals
