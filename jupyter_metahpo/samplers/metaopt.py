"""The meta-optimiser's proposals in the study loop: a learned step from the incumbent.

:class:`MetaOptimizerSampler` is the refinement stage the study pipeline builds for
``strategy="meta-optimizer"`` (after the warm start). Before each trial it hands the
study so far to the update rule that
:class:`~jupyter_metahpo.meta.metaopt.MetaOptimizer` learned from past tasks, and
proposes ``incumbent + mu``; when that configuration was already tried (or is
running), draws from ``N(incumbent + mu, sigma^2)`` until one is new. Origins are
``Origin("meta-optimizer", "step from the incumbent predicted by the meta-optimiser
trained on N past tasks ...", details)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..experience import PastStudy
from ..meta.base import TaskDescription, prepare
from ..meta.compat import TransferredStudy
from ..meta.metaopt import FittedMetaOptimizer, MetaOptimizer, history_state
from ..meta.strategies import WarmStartStrategy, make_strategy
from ..trial import Origin, TrialState
from .base import History, Sampler, Suggestion
from .random import RandomSampler

__all__ = ["MetaOptimizerSampler", "meta_optimizer_refiner"]

#: Draws from the learned Gaussian before a uniform random configuration is proposed instead.
MAX_DRAWS = 64


class MetaOptimizerSampler(Sampler):
    """Proposes the step the learned update rule predicts from the study's incumbent.

    Parameters
    ----------
    strategy:
        The :class:`~jupyter_metahpo.meta.metaopt.MetaOptimizer` that fits the rule.
    past:
        The past studies it learns from (stored, or already carried into the space).
    task:
        The new task's description (its meta-features give the task embedding).
    seed:
        Seeds the draws made when the predicted step was already tried.
    budget:
        The trial count the rule's "progress" input is scaled by (as in training).
    """

    name = "meta-optimizer"

    def __init__(
        self,
        strategy: MetaOptimizer,
        past: Sequence[PastStudy | TransferredStudy],
        task: TaskDescription | None = None,
        seed: int | None = None,
        budget: int = 25,
    ) -> None:
        if not isinstance(strategy, MetaOptimizer):
            raise TypeError(f"`strategy` must be a MetaOptimizer, but got {strategy!r}.")
        self.strategy = strategy
        self.past = list(past)
        self.task = task or TaskDescription()
        self.seed = seed
        self.budget = budget
        self.rng = np.random.default_rng(seed)
        self.model_: FittedMetaOptimizer | None = None
        self._embedding: np.ndarray | None = None
        self._fallback = RandomSampler(seed)

    def fitted(self, space) -> FittedMetaOptimizer:
        """The rule for ``space``: fitted on the first call (raises NoPastTasksError without past tasks)."""
        if self.model_ is None:
            studies = [p for p in self.past if isinstance(p, TransferredStudy) and p.space == space]
            if len(studies) != len(self.past):
                studies = prepare(space, self.past)
            self.model_ = self.strategy.fit_from(self.task, space, studies)
            self._embedding = self.model_.embed(self.task)
        return self.model_

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        model = self.fitted(history.space)
        out: list[Suggestion] = []
        for _ in range(n):
            current = dataclasses.replace(history, pending=history.pending + tuple(s.config for s in out))
            out.append(self._one(model, current))
        return out

    def _one(self, model: FittedMetaOptimizer, history: History) -> Suggestion:
        space = history.space
        # Failed trials count as the worst value seen: the rule learns to step away from them.
        trials = [t for t in history.trials if t.state in (TrialState.COMPLETE, TrialState.FAILED)]
        complete = history.complete
        if not complete:
            return self._fallback.suggest(history, 1)[0]
        scores = history.scores(complete)
        floor = float(scores.min())
        values = np.array([history.scores([t])[0] if t.state is TrialState.COMPLETE else floor for t in trials])
        unit = space.encode([t.config for t in trials])
        state = history_state(unit, values, self._embedding, model.recent, self.budget)
        mu, sigma = (a[0] for a in model.step([state]))
        seen = space.encode(history.seen_configs())
        target = np.clip(state.incumbent + mu, 0.0, 1.0)
        point, draws = target, 0
        if self.strategy.proposal == "sample":
            draws, point = 1, np.clip(target + sigma * self.rng.standard_normal(len(target)), 0.0, 1.0)
        while _is_seen(space, point, seen) and draws < MAX_DRAWS:
            draws += 1
            point = np.clip(target + sigma * self.rng.standard_normal(len(target)), 0.0, 1.0)
        if _is_seen(space, point, seen):
            return self._fallback.suggest(history, 1)[0]
        config = space.decode(point[None, :])[0]
        size = float(np.sqrt(np.mean(mu**2)))
        scale = float(np.mean(sigma))
        drawn = "" if draws == 0 else f"; drawn from its learned spread ({draws} draws)"
        reason = (
            f"step from the incumbent predicted by the meta-optimiser trained on {model.n_tasks} past tasks "
            f"(step size {size:.2f}, learned scale {scale:.2f} in the unit cube{drawn})"
        )
        details = {
            "strategy": MetaOptimizer.name,
            "n_past_tasks": model.n_tasks,
            "step": [float(v) for v in mu],
            "scale": [float(v) for v in sigma],
            "incumbent": [float(v) for v in state.incumbent],
            "draws": draws,
        }
        return Suggestion(config, Origin("meta-optimizer", reason, details))

    def __repr__(self) -> str:
        return f"MetaOptimizerSampler(strategy={self.strategy!r}, seed={self.seed!r})"


def _is_seen(space, point: np.ndarray, seen: np.ndarray) -> bool:
    """Whether ``point`` decodes to a configuration already tried or running."""
    if len(seen) == 0:
        return False
    encoded = space.encode(space.decode(point[None, :]))[0]
    return bool(np.any(np.max(np.abs(seen - encoded[None, :]), axis=1) < 1e-9))


def meta_optimizer_refiner(
    strategy: str | WarmStartStrategy, past: Sequence[TransferredStudy], task: TaskDescription, seed: int | None
) -> MetaOptimizerSampler | None:
    """The refinement stage for ``strategy="meta-optimizer"`` (None for every other strategy).

    Checks, before any trial runs, that there are past studies to learn the rule from
    (:class:`~jupyter_metahpo.meta.metaopt.NoPastTasksError` otherwise); the rule is
    fitted when the first step is asked for.
    """
    if not (strategy == MetaOptimizer.name or isinstance(strategy, MetaOptimizer)):
        return None
    chosen = make_strategy(strategy, seed=seed)
    chosen.require_training_studies(past)
    return MetaOptimizerSampler(chosen, past, task, seed=seed)
