"""Warm-start strategies: which configurations to try first on a new task, and why.

Every strategy answers one question through one method::

    strategy.propose(task, space, past, k) -> list[Proposal]

``task`` describes the new task (its name, and its meta-features when data was
given), ``space`` is the new search space, ``past`` the past studies
(:class:`~jupyter_metahpo.experience.PastStudy`) and ``k`` how many configurations
are wanted (strategies implement ``propose_from``, the same question asked with the
past studies already carried into the new space). Each :class:`Proposal` carries the
configuration, one sentence for a person, and structured details: the strategy, the
source task(s) and study ids, their similarity to the new task, and the predicted
value. A strategy may return fewer than ``k`` proposals (or none) when the past has
nothing more to offer.

The strategies, all importable from here, and :data:`STRATEGIES`, which names them:

- :class:`NearestTasks` (:mod:`.nearest`): the best configurations of the k most
  similar past tasks (standardised meta-features; without meta-features, past
  studies of the same task name first, then those whose spaces overlap most).
- :class:`GreedyPortfolio` (here): a small set of configurations chosen greedily so
  that every past task has one good configuration in it; needs no meta-features,
  and can weight the past tasks by their similarity to the new one.
- :class:`NeuralMetaModel` (:mod:`.neural`): the seed design's task encoder and
  config predictor (torch, imported when it is first fitted).
- :class:`DefaultStrategy` (here): the similarity-weighted portfolio (its docstring
  says why).
- :class:`MetaOptimizer` (:mod:`.metaopt`): the optimisation-based meta-learner, a
  learned update rule (torch); as a warm-start strategy it serves the default's
  proposals, and the study pipeline refines with its learned steps.

The interface is in :mod:`.base` and the task similarities in :mod:`.similarity`;
this module re-exports both, so that ``jupyter_metahpo.meta.strategies`` stays the one
place to import a strategy from. Imports point one way: ``base`` <- ``similarity`` <-
``nearest`` <- ``neural`` <- ``metaopt`` <- ``strategies``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..space import SearchSpace
from .base import Proposal, TaskDescription, WarmStartStrategy, is_new_point, prepare, source_details
from .compat import TransferredStudy
from .metaopt import MetaOptimizer
from .nearest import NearestTasks
from .neural import NeuralMetaModel
from .similarity import (
    comparable_studies,
    described_by_meta_features,
    name_and_space_similarities,
    space_overlap,
    standardise,
    task_similarities,
)

__all__ = [
    "TaskDescription",
    "Proposal",
    "WarmStartStrategy",
    "NearestTasks",
    "GreedyPortfolio",
    "DefaultStrategy",
    "NeuralMetaModel",
    "MetaOptimizer",
    "STRATEGIES",
    "make_strategy",
    "prepare",
    "task_similarities",
    "comparable_studies",
    "described_by_meta_features",
    "name_and_space_similarities",
    "space_overlap",
    "standardise",
]


# ------------------------------------------------------------------ portfolio


class GreedyPortfolio(WarmStartStrategy):
    """A portfolio built greedily over past tasks, optionally weighted towards similar tasks.

    Candidates are the best few configurations of every past study (of an even
    spread of ``max_candidates`` studies when there are more). How well a candidate
    would do on another past task is that task's own score for it when the task
    evaluated the very same configuration (as every task of the bundled prior did:
    its tasks share one pool), and otherwise is estimated from the task's trials near
    it (a kernel-weighted average of normalised scores, shrunk towards the task's
    median where it has no trials close by). The portfolio starts empty and
    repeatedly adds the candidate that most lowers the mean, over past tasks, of the
    best normalised regret the portfolio achieves: the greedy portfolio construction
    of auto-sklearn 2.0 / Wistuba et al.

    With ``similarity_power`` > 0 and a new task described by meta-features, that
    mean is weighted by each past task's similarity to the new one raised to this
    power (similarity ``exp(-rms distance)`` of standardised meta-features, see
    :func:`task_similarities`), so the portfolio serves the tasks that look like the
    new one first while still drawing on all of them. Without meta-features the
    weights are equal, whatever the power.

    ``similarity_power="auto"`` lets the past tasks choose the power: each described
    past task is left out in turn, a portfolio of ``inner_k`` configurations is built
    for it from the others with each power in ``auto_powers``, and the power whose
    portfolios did best on the left-out tasks (lowest mean best-so-far regret over
    the ``inner_k`` picks; ties go to the smaller power) weights the portfolio of the
    new task. Where the meta-features tell the tasks' optima apart this picks a high
    power; where they do not, 0 (the plain portfolio). The chosen power is in every
    proposal's details (``"similarity_power"``) and reason.
    """

    name = "portfolio"

    def __init__(
        self,
        candidates_per_study: int = 3,
        bandwidth: float = 0.15,
        max_candidates: int = 300,
        similarity_power: float | str = 0.0,
        auto_powers: Sequence[float] = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0),
        inner_k: int = 5,
        max_inner_tasks: int = 100,
    ) -> None:
        if candidates_per_study < 1:
            raise ValueError(f"`candidates_per_study` must be >= 1, but got {candidates_per_study!r}.")
        if not bandwidth > 0:
            raise ValueError(f"`bandwidth` must be > 0, but got bandwidth={bandwidth!r}.")
        if similarity_power != "auto" and not (
            isinstance(similarity_power, (int, float)) and not isinstance(similarity_power, bool) and similarity_power >= 0
        ):
            raise ValueError(f"`similarity_power` must be a number >= 0 or 'auto', but got similarity_power={similarity_power!r}.")
        if not auto_powers or any(not p >= 0 for p in auto_powers):
            raise ValueError(f"`auto_powers` must be a non-empty list of numbers >= 0, but got auto_powers={auto_powers!r}.")
        if inner_k < 1 or max_inner_tasks < 2:
            raise ValueError(
                f"`inner_k` must be >= 1 and `max_inner_tasks` >= 2, but got inner_k={inner_k!r}, "
                f"max_inner_tasks={max_inner_tasks!r}."
            )
        self.candidates_per_study = candidates_per_study
        self.bandwidth = bandwidth
        self.max_candidates = max_candidates
        self.similarity_power = similarity_power if similarity_power == "auto" else float(similarity_power)
        self.auto_powers = tuple(float(p) for p in auto_powers)
        self.inner_k = inner_k
        self.max_inner_tasks = max_inner_tasks

    def task_weights(
        self, task: TaskDescription, studies: Sequence[TransferredStudy], power: float | None = None
    ) -> np.ndarray | None:
        """Each past task's weight (summing to 1), or None for equal weights.

        ``power`` defaults to ``similarity_power``, which must then be a number (the
        ``"auto"`` choice needs the candidates' regrets: :meth:`propose_from` makes it).
        """
        power = self.similarity_power if power is None else power
        if power == "auto":
            raise ValueError("similarity_power='auto' is chosen inside propose_from(); pass `power=` to task_weights().")
        if power == 0:  # skips the similarities, which no weights would use
            return None
        return _similarity_weights(task_similarities(task, studies), power)

    def choose_power(
        self, task: TaskDescription, studies: Sequence[TransferredStudy], regret: np.ndarray, sources: np.ndarray
    ) -> tuple[float, dict[float, float]]:
        """The power of ``auto_powers`` whose portfolios did best on left-out past tasks.

        ``regret[c, t]``: candidate ``c``'s normalised regret on past task ``t``;
        ``sources[c]``: the past task it came from (a left-out task's own candidates
        are not offered to it, as the new task's are not known). Returns the power
        and each power's mean best-so-far regret over the left-out tasks.
        """
        described = comparable_studies(task, studies)
        if len(described) > self.max_inner_tasks:  # an even spread keeps the cost bounded
            described = [described[int(i)] for i in np.linspace(0, len(described) - 1, self.max_inner_tasks)]
        totals = np.zeros(len(self.auto_powers))
        for left_out in described:
            others = np.array([t for t in range(len(studies)) if t != left_out])
            study = studies[left_out].study
            as_new = TaskDescription(None, study.meta_features, study.meta_feature_set)
            similarity = task_similarities(as_new, [studies[t] for t in others])
            offered = sources != left_out
            for a, power in enumerate(self.auto_powers):
                weights = _similarity_weights(similarity, power)
                if weights is None:
                    weights = np.full(len(others), 1.0 / len(others))
                picks: list[int] = []
                for c in _greedy_picks(regret[:, others], weights, self.inner_k, lambda c: offered[c] and c not in picks):
                    picks.append(c)
                totals[a] += float(np.mean(np.minimum.accumulate(regret[picks, left_out])))
        scores = totals / max(len(described), 1)
        # Ties go to the smaller power: no evidence for weighting is no reason to narrow the portfolio.
        best = min(p for p, score in zip(self.auto_powers, scores) if score <= scores.min() + 1e-12)
        return best, dict(zip(self.auto_powers, scores.tolist()))

    def propose_from(
        self, task: TaskDescription, space: SearchSpace, studies: Sequence[TransferredStudy], k: int
    ) -> list[Proposal]:
        if not studies or k < 1:
            return []
        per_study = max(1, min(self.candidates_per_study, self.max_candidates // len(studies)))
        # A large store: candidates from an even spread of studies (every task still scores them).
        sources = np.unique(np.linspace(0, len(studies) - 1, min(len(studies), self.max_candidates)).astype(int))
        candidates: list[tuple[int, int]] = []  # (study, trial)
        for s in sources:
            candidates.extend((int(s), i) for i in studies[s].ranked()[:per_study])
        unit = np.array([studies[s].unit[i] for s, i in candidates])
        regret = 1.0 - self._estimated_scores(unit, studies, candidates)  # (candidates, tasks)
        power, power_note = self.similarity_power, ""
        if power == "auto":
            power = 0.0
            if comparable_studies(task, studies) and len(studies) > 2:
                power, _ = self.choose_power(task, studies, regret, np.array([s for s, _ in candidates]))
                power_note = (
                    f" (similarity^{power:g}: the power that did best when each past task was left out in turn)"
                    if power > 0
                    else ", past tasks weighted equally (weighting by meta-feature similarity did not help "
                    "when each past task was left out in turn)"
                )
        weights = self.task_weights(task, studies, power)
        weighted = weights is not None
        if weights is None:
            weights = np.full(len(studies), 1.0 / len(studies))
        focus = _most_weighted(studies, weights) + power_note if weighted else power_note
        proposals: list[Proposal] = []
        covered = np.ones(len(studies))  # best regret so far on each past task
        chosen: list[np.ndarray] = []
        for c in _greedy_picks(regret, weights, k, lambda c: is_new_point(chosen, unit[c])):
            before = float(covered @ weights)
            improved = regret[c] < covered - 1e-9
            covered = np.minimum(covered, regret[c])
            s, i = candidates[c]
            t = studies[s]
            chosen.append(unit[c])
            helped = [studies[j].study.task_name for j in np.flatnonzero(improved)]
            mean_text = "weighted mean" if weighted else "mean"
            closest = ""
            if weighted:
                top = int(np.argmax(weights))
                closest = f"; normalised regret {regret[c, top]:.2f} on {studies[top].study.task_name!r}, the most similar"
            reason = (
                f"portfolio pick #{len(proposals) + 1}{focus}: improves the portfolio on {len(helped)} of {len(studies)} "
                f"past tasks ({mean_text} normalised regret {before:.2f} -> {covered @ weights:.2f}){closest}; from "
                f"{t.study.task_name!r}, where it {t.scored(i)}"
            )
            details = {
                "strategy": self.name,
                "similarity": None,
                "tasks_helped": helped[:10],
                "expected_regret": float(covered @ weights),
                "weighted_by_similarity": weighted,
                "similarity_power": float(power) if weighted else 0.0,
                **source_details(t, i),
            }
            proposals.append(Proposal(t.configs[i], reason, details))
        return proposals

    def _estimated_scores(
        self, unit: np.ndarray, studies: Sequence[TransferredStudy], candidates: list[tuple[int, int]]
    ) -> np.ndarray:
        """Estimated normalised score (1 = that task's best) of each candidate on each past task.

        A task that evaluated the candidate itself (the same point of the unit cube)
        gives its own score, the mean if it did so more than once. Otherwise:
        Nadaraya-Watson over the task's trials with a Gaussian kernel, plus a small
        pseudo-observation at the task's median so that a candidate far from every
        trial of a task is not credited with its nearest trial's score. All tasks are
        done at once, in chunks of candidates, as sums over the stacked trials.
        """
        scale = self.bandwidth * math.sqrt(unit.shape[1])
        if any(t.filled for t in studies):
            out = np.column_stack([_kernel_estimate(unit, t, scale) for t in studies])
            for c, (s, i) in enumerate(candidates):
                out[c, s] = studies[s].normalised[i]
            return out
        points = np.vstack([t.unit for t in studies])
        scores = np.concatenate([t.normalised for t in studies])
        starts = np.cumsum([0] + [len(t.scores) for t in studies[:-1]])
        medians = np.array([np.median(t.normalised) for t in studies])
        prior_weight = 0.05
        out = np.empty((len(unit), len(studies)))
        point_norms = (points**2).sum(axis=1)
        chunk = max(1, 2_000_000 // max(len(points), 1))
        for begin in range(0, len(unit), chunk):
            block = unit[begin : begin + chunk]
            sq = np.maximum((block**2).sum(axis=1)[:, None] + point_norms[None, :] - 2.0 * block @ points.T, 0.0)
            weights = np.exp(-0.5 * sq / scale**2)
            weighted = np.add.reduceat(weights * scores[None, :], starts, axis=1)
            total = np.add.reduceat(weights, starts, axis=1)
            estimate = (weighted + prior_weight * medians) / (total + prior_weight)
            # The same configuration (up to rounding in the squared-distance expansion).
            same = (sq < _SAME_POINT_SQ).astype(float)
            n_same = np.add.reduceat(same, starts, axis=1)
            exact = np.add.reduceat(same * scores[None, :], starts, axis=1) / np.maximum(n_same, 1.0)
            out[begin : begin + chunk] = np.where(n_same > 0, exact, estimate)
        for c, (s, i) in enumerate(candidates):  # a candidate's own task knows its score exactly
            out[c, s] = studies[s].normalised[i]
        return out


#: Squared distance in the unit cube below which two trials count as the same configuration.
_SAME_POINT_SQ = 1e-10


def _kernel_estimate(unit: np.ndarray, t: TransferredStudy, scale: float, prior_weight: float = 0.05) -> np.ndarray:
    """One past task's estimate of each candidate's normalised score, as above, on the parameters it informs.

    A task that never saw some parameters of the new space cannot tell candidates apart
    along them, so distances to its trials leave those columns out.
    """
    columns = t.columns
    points, scores, median = t.unit[:, columns], t.normalised, float(np.median(t.normalised))
    out = np.empty(len(unit))
    chunk = max(1, 2_000_000 // max(len(points) * max(len(columns), 1), 1))
    for begin in range(0, len(unit), chunk):
        block = unit[begin : begin + chunk][:, columns]
        sq = ((block[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        weights = np.exp(-0.5 * sq / scale**2)
        estimate = (weights @ scores + prior_weight * median) / (weights.sum(axis=1) + prior_weight)
        same = sq < _SAME_POINT_SQ
        n_same = same.sum(axis=1)
        exact = (same * scores[None, :]).sum(axis=1) / np.maximum(n_same, 1)
        out[begin : begin + chunk] = np.where(n_same > 0, exact, estimate)
    return out


def _similarity_weights(similarity: np.ndarray | None, power: float) -> np.ndarray | None:
    """Past tasks' weights, summing to 1, in proportion to their similarity to this power.

    None (equal weights) when the power is 0 or no past task could be compared with
    the new one: the portfolio and its choice of power both follow this one rule.
    """
    if power == 0 or not described_by_meta_features(similarity):
        return None
    weights = similarity**power
    return weights / weights.sum()


def _greedy_picks(
    regret: np.ndarray, weights: np.ndarray, k: int, allowed: Callable[[int], bool]
) -> Iterator[int]:
    """Up to ``k`` candidates (rows of ``regret``), in the greedy portfolio's order.

    Each step takes the candidate that most lowers the weighted mean over past tasks
    (columns) of the best regret so far, skipping those ``allowed`` refuses (it is
    asked just before a pick, so it may look at the picks made so far). Ties go to the
    lower row. Both the portfolio and its leave-one-out choice of power build on this.
    """
    covered = np.ones(regret.shape[1])
    for _ in range(min(k, len(regret))):
        losses = np.minimum(regret, covered[None, :]) @ weights
        pick = next((int(c) for c in np.argsort(losses, kind="stable") if allowed(int(c))), None)
        if pick is None:
            return
        yield pick
        covered = np.minimum(covered, regret[pick])


def _most_weighted(studies: Sequence[TransferredStudy], weights: np.ndarray, n: int = 3) -> str:
    top = np.argsort(-weights, kind="stable")[:n]
    names = ", ".join(f"{studies[i].study.task_name!r} ({weights[i]:.0%})" for i in top)
    return f", weighted towards the past tasks most similar by meta-features ({names})"


# ------------------------------------------------------------------ default


class DefaultStrategy(WarmStartStrategy):
    """The greedy portfolio weighted towards similar tasks; the plain portfolio without meta-features.

    Why this one: the leave-one-task-out benchmarks on the bundled prior
    (``benchmarks/bench_warm_start.py``, ``benchmarks/bench_prior_loo.py``; README,
    "Benchmarks") compared the strategies' proposals on held-out real datasets. The
    nearest tasks' best configurations and the plain portfolio had about the same
    regret at the first trial, the neural model's prediction a higher one, and a
    portfolio weighted by similarity to the new task the lowest: it keeps the
    portfolio's robustness (a configuration good on many tasks) and the nearest
    tasks' specificity. How strongly to weight depends on the space: a fixed power
    of 4, chosen on the SVM, HGB and MLP spaces, was beaten by the plain portfolio on
    the torch MLP spaces and by a power of 8 on the random forest ones, so the power
    is chosen for each new task by leave-one-out over the past tasks
    (``similarity_power="auto"``, see :class:`GreedyPortfolio`). Without
    meta-features only the portfolio is used, after the best configurations of past
    studies of the same task name, if any.
    """

    name = "default"

    def __init__(self, similarity_power: float | str = "auto", seed: int = 0) -> None:
        self.similarity_power = similarity_power
        self.seed = seed  # the strategy is deterministic; kept so every strategy is built alike
        self.nearest = NearestTasks()
        self.portfolio = GreedyPortfolio(similarity_power=similarity_power)

    def propose_from(
        self, task: TaskDescription, space: SearchSpace, studies: Sequence[TransferredStudy], k: int
    ) -> list[Proposal]:
        if not studies or k < 1:
            return []
        streams: list[list[Proposal]] = []
        # Only whether meta-features compare the tasks matters here; the portfolio weighs them.
        if not comparable_studies(task, studies):
            same_name = [t for t in studies if task.name is not None and t.study.task_name == task.name]
            if same_name:
                streams.append(self.nearest.propose_from(task, space, same_name, max(1, k // 2)))
        streams.append(self.portfolio.propose_from(task, space, studies, k))
        return _interleave(streams, k, space, self.name)


def _interleave(streams: list[list[Proposal]], k: int, space: SearchSpace, name: str) -> list[Proposal]:
    out: list[Proposal] = []
    chosen: list[np.ndarray] = []
    position = 0
    while len(out) < k and any(position < len(s) for s in streams):
        for stream in streams:
            if len(out) >= k or position >= len(stream):
                continue
            proposal = stream[position]
            unit = space.encode([proposal.config])[0]
            if not is_new_point(chosen, unit):
                continue
            chosen.append(unit)
            details = dict(proposal.details)
            details["strategy"] = f"{name}/{details.get('strategy')}"
            out.append(Proposal(proposal.config, proposal.reason, details))
        position += 1
    return out


# ------------------------------------------------------------------ by name


STRATEGIES = {
    "default": DefaultStrategy,
    "nearest": NearestTasks,
    "neural": NeuralMetaModel,
    "portfolio": GreedyPortfolio,
    "meta-optimizer": MetaOptimizer,
}


def make_strategy(strategy: str | WarmStartStrategy, seed: int | None = None) -> WarmStartStrategy:
    """A strategy by name (``"default"``, ``"nearest"``, ``"neural"``, ``"portfolio"``, ``"meta-optimizer"``), or the one given.

    ``"meta-optimizer"`` (:mod:`.metaopt`) is warm-started by the default strategy; the
    study pipeline refines with its learned steps (``samplers.metaopt``).
    """
    if isinstance(strategy, WarmStartStrategy):
        return strategy
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(
            f"`strategy` must be one of {sorted(STRATEGIES) + ['none']} or a WarmStartStrategy, "
            f"but got strategy={strategy!r}."
        )
    if strategy == "meta-optimizer":
        seed = 0 if seed is None else seed
        return MetaOptimizer(warm_start=DefaultStrategy(seed=seed), seed=seed)
    if strategy in ("default", "neural"):
        return STRATEGIES[strategy](seed=0 if seed is None else seed)
    return STRATEGIES[strategy]()
