"""Transfer during refinement: Bayesian optimisation on the RGPE ensemble of past-task GPs.

Feurer, Letham, Hutter & Bakshy (2018), "Scalable meta-learning for Bayesian
optimization using ranking-weighted Gaussian process ensembles". One GP is fitted
per compatible past study (once per study, and with a ``model_cache`` once across
studies while the past study's points stay the same) and one on the current study's trials;
:mod:`._rgpe` weighs them (a past task that misleads on this task ranks the new
observations badly and loses its weight as evidence accumulates; past models much
worse than the current one are dropped altogether) and combines their posteriors.

By default the current study is not one more member of the weighted sum but a GP on
its residuals (stacking, :class:`~._rgpe.StackedEnsemble`): the plain RGPE mean
ignores the study's own results wherever the past models carry the weight, so a region
they all recommend keeps being proposed after it has failed here; the stacked mean
follows the observations near them. ``stacking=False`` gives plain RGPE. Failed trials
count as the worst score seen, as in the GP sampler: the current study's GP, the residual
and the ranking weights then steer away from a configuration that broke the objective.

The next configurations maximise the acquisition (:mod:`.acquisition`, log expected
improvement by default) under the ensemble, over a candidate set of Sobol points and
local perturbations of good points, snapped to valid configurations
(:func:`~.optimize.candidate_set`, :func:`~.optimize.best_candidates`).

The weights are visible: ``sampler.weights_`` after each call, and in every
suggestion's ``Origin("transfer", reason, {"weights": ..., ...})``.

Past a point budget (``max_points``, :data:`MAX_TARGET_POINTS` complete and failed trials) the
current study's GP, the residual GP and the ranking weights see that many chosen
trials (:mod:`._subset`); past studies are capped at ``max_points_per_task`` each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._threads import limit_threads
from ..experience import PastStudy
from ..meta.compat import TransferredStudy
from ..meta.strategies import TaskDescription, name_and_space_similarities, prepare, task_similarities
from ..space import SearchSpace
from ..trial import Origin, TrialState
from ._past_models import PastModelCache
from ._rgpe import MEMBER_DDOF, StackedEnsemble, WeightedEnsemble, ranking_weights
from ._singletask_gp import SingleTaskGPNP, fit_singletask_gp
from ._subset import DEFAULT_SUBSET, check_max_points, check_subset_rule, choose_subset
from .acquisition import Acquisition, check_acquisition, make_acquisition
from .base import History, Sampler, Suggestion
from .models import SubspaceModel, SurrogateModel, standardize
from .optimize import best_candidates, candidate_set

__all__ = ["TransferSampler", "CURRENT", "MAX_TARGET_POINTS", "SLICED_MIN_RESIDUAL_SCALE"]

#: The label of the current study's own GP among the weights.
CURRENT = "current study"

#: Candidates closer than this (L-inf, unit cube) to a tried or pending configuration are
#: not proposed: on a plateau of equal scores the acquisition would otherwise propose
#: near-copies of the incumbent again and again, and re-running a configuration that
#: differs by under 1% of every range teaches nothing on noisy objectives.
MIN_DISTANCE = 0.01

#: The current study's point budget: past this many complete trials, its GP, the residual
#: GP of the stacked ensemble and the ranking weights see this many chosen ones
#: (:mod:`._subset`). The ranking compares every pair of them under 256 posterior
#: samples of each of up to 17 models, and both GPs are refitted from scratch at every
#: call, so the cost grows quickly: continuing 2,000-trial studies took 0.16 s of CPU
#: per suggestion (median) at 100 points, 0.26 s at 150 and 0.39 s at 200, with no
#: better regret at 150 or 200 (``benchmarks/results/scale_budget.md``).
MAX_TARGET_POINTS = 100

#: The stacked residual GP's least scale (standardised units) when past scores were
#: predicted at values the objective fixes (:mod:`..meta.slicing`). A sliced past is a
#: smooth model's mean, which fits a subset cell's first results so closely that the
#: residual's fitted scale came out small and the study kept following one past model
#: after another into the region they all favour. Measured on the subset cells trained
#: live, 16 held-out datasets per family, 6 seeds (``benchmarks/results/user_spaces_live_loo_*.md``,
#: ``user_spaces_findings.md``): regret at trials 5 / 10, HGB 0.087 / 0.062 -> 0.079 / 0.056,
#: SVM 0.269 / 0.250 -> 0.268 / 0.245, random forest 0.130 / 0.107 -> 0.128 / 0.112 (each
#: within one standard error; a floor of 1 helped HGB more and hurt the forest more).
#: Studies whose past was not sliced are unchanged.
SLICED_MIN_RESIDUAL_SCALE = 0.5


class TransferSampler(Sampler):
    """Bayesian refinement on a ranking-weighted ensemble of past-task GPs and the current GP.

    Parameters
    ----------
    past:
        Past studies; those compatible with the study's space are used.
    task:
        The new task's description, used to pick the most similar past studies when
        there are more than ``max_past``.
    seed:
        Seeds the candidate set and the ranking samples.
    max_past:
        At most this many past studies get a GP (the most similar ones).
    max_points_per_task:
        A past study's GP sees at most this many trials (its best half, and a spread
        of the rest).
    n_candidates:
        Sobol candidates scored by the acquisition function per suggestion.
    n_samples:
        Posterior samples used to compute the ranking weights.
    past_best_points:
        Also offer the acquisition this many best configurations of each past task
        with a weight above 0.05, unperturbed (0: only perturbations around their best).
    drop_worse_from:
        From this many results of the current study on, past models that rank them
        clearly worse than the current study's own GP get no weight.
    stacking:
        Model the current study as a GP on the residuals of the weighted past models'
        mean (default) rather than as one more weighted member of the ensemble.
    acquisition:
        A name from :data:`~.acquisition.ACQUISITIONS`; ``"logei"`` (log expected
        improvement) by default.
    max_points:
        The current study's point budget: with more complete trials than this, the
        models of the current study (and the ranking weights) see ``max_points`` of
        them, chosen by ``subset``; ``None`` uses every trial however long the study.
        Studies within the budget are not affected.
    subset:
        How those trials are chosen, a name from :data:`~._subset.SUBSET_RULES`
        (as :class:`~.gp.GPSampler`'s ``subset``; with ``"local"`` the candidate set is
        not confined to the trust region).
    model_cache:
        Where the past studies' GP hyperparameters are kept between studies
        (:class:`~._past_models.PastModelCache`: the store's model state, a user cache
        file for the prior); a past study fitted on the same points before is not
        refitted. ``None``: every past GP is fitted here (the proposals are the same).

    The defaults were chosen on held-out prior pools; the ablations behind each are
    listed in ``benchmarks/results/samplers_notes.md``.
    """

    name = "transfer"

    def __init__(
        self,
        past: Sequence[PastStudy],
        task: TaskDescription | None = None,
        seed: int | None = None,
        max_past: int = 16,
        max_points_per_task: int = 60,
        n_candidates: int = 2048,
        n_samples: int = 256,
        past_best_points: int = 0,
        drop_worse_from: int = 5,
        stacking: bool = True,
        acquisition: str = "logei",
        max_points: int | None = MAX_TARGET_POINTS,
        subset: str = DEFAULT_SUBSET,
        model_cache: PastModelCache | None = None,
    ) -> None:
        for label, value, low in (
            ("max_past", max_past, 0),
            ("past_best_points", past_best_points, 0),
            ("drop_worse_from", drop_worse_from, 2),
            ("max_points_per_task", max_points_per_task, 2),
            ("n_candidates", n_candidates, 16),
            ("n_samples", n_samples, 8),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{label}` must be an integer >= {low}, but got {label}={value!r}.")
        if model_cache is not None and not isinstance(model_cache, PastModelCache):
            raise TypeError(f"`model_cache` must be a PastModelCache or None, but got {type(model_cache).__name__}.")
        if not isinstance(stacking, bool):
            raise ValueError(f"`stacking` must be True or False, but got stacking={stacking!r}.")
        self.past = list(past)
        self.task = task or TaskDescription()
        self.seed = seed
        self.max_past = max_past
        self.max_points_per_task = max_points_per_task
        self.n_candidates = n_candidates
        self.n_samples = n_samples
        self.past_best_points = past_best_points
        self.drop_worse_from = drop_worse_from
        self.stacking = stacking
        self.acquisition = check_acquisition(acquisition)
        # At least five: the ranking weights drop misleading past models from five results on.
        self.max_points = check_max_points(max_points, minimum=5)
        self.subset = check_subset_rule(subset)
        self.model_cache = model_cache
        self._rng = np.random.default_rng(seed)
        # Length scales of the last fit of the current study's GP, by space: the metric
        # in which trials are chosen past the point budget.
        self._target_lengthscales: tuple[str, np.ndarray] | None = None
        self._space_key: str | None = None
        self._base: list[tuple[str, TransferredStudy, SingleTaskGPNP]] = []
        self.weights_: dict[str, float] = {}

    # -- past models ----------------------------------------------------------------
    def _base_models(self, space: SearchSpace) -> list[tuple[str, TransferredStudy, SingleTaskGPNP]]:
        """(label, study, fitted GP) of the past studies used, fitted once per space."""
        key = space.to_json_string()
        if key == self._space_key:
            return self._base
        studies = [t for t in prepare(space, self.past) if len(t.scores) >= 3 and np.ptp(t.scores) > 0]
        similarity = task_similarities(self.task, studies)
        if similarity is None or not np.any(similarity > 0):
            similarity = name_and_space_similarities(self.task, studies)
        order = np.lexsort((-np.array([len(t.scores) for t in studies]), -similarity))[: self.max_past]
        labels = _unique_labels([studies[i] for i in order])
        self._base = []
        for label, i in zip(labels, order):
            t = studies[int(i)]
            keep = self._subset(t)
            y, _, _ = standardize(t.scores[keep], ddof=MEMBER_DDOF)
            self._base.append((label, t, _past_model(t, keep, y, self.model_cache)))
        if self.model_cache is not None:
            self.model_cache.flush()
        self._space_key = key
        return self._base

    def _subset(self, t: TransferredStudy) -> np.ndarray:
        ranked = np.array(t.ranked())
        if len(ranked) <= self.max_points_per_task:
            return ranked
        half = self.max_points_per_task // 2
        rest = ranked[half:]
        spread = rest[np.linspace(0, len(rest) - 1, self.max_points_per_task - half).astype(int)]
        return np.concatenate([ranked[:half], spread])

    # -- suggest --------------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        space = history.space
        with limit_threads(1):
            base = self._base_models(space)
            target = self._target(history)
            target_model = fit_singletask_gp(target.x, target.y) if target.can_model else None
            if target_model is not None:
                self._target_lengthscales = (space.to_json_string(), target_model.lengthscales)
            if not base and target_model is None:
                raise RuntimeError(
                    "the transfer sampler has neither a compatible past study nor two distinct results of this "
                    "study to model; use it after an initial design (DefaultSampler does)."
                )
            weights = ranking_weights(
                [m for _, _, m in base], target_model, target.x, target.y, self.n_samples, self._rng,
                drop_worse_from=self.drop_worse_from,
            )
            labels = [label for label, _, _ in base] + ([CURRENT] if target_model is not None else [])
            self.weights_ = {label: float(w) for label, w in zip(labels, weights)}
            model = self._ensemble(base, target_model, weights, target)
            candidates = self._candidates(space, history, target, base, weights)
            # Without results of its own yet, improve on the past tasks' average (0 once standardised).
            acqf = make_acquisition(self.acquisition, model, target.best)
            chosen, _ = best_candidates(acqf, candidates, n)
            means = model.posterior_np(chosen).mean
        return [self._suggestion(space, x, mean, target, history, acqf) for x, mean in zip(chosen, means)]

    def _target(self, history: History) -> _Target:
        """The current study's complete trials, or the chosen ones past the point budget."""
        target = _Target.of(history)
        if self.max_points is None or len(target.raw) <= self.max_points:
            return target
        space = history.space
        last = self._target_lengthscales
        lengthscales = last[1] if last is not None and last[0] == space.to_json_string() else None
        categorical = space.categorical_mask()
        order = np.array([t.number for t in history.modelled()[0]], dtype=int)  # the rows of the target, when tried
        keep = choose_subset(
            target.x, target.raw, self.max_points, self.subset, categorical=categorical, lengthscales=lengthscales,
            order=order,
        )
        return _Target(target.x[keep], target.raw[keep], best_raw=float(target.raw.max()), all_x=target.x)

    def _ensemble(
        self, base: list[tuple[str, TransferredStudy, SingleTaskGPNP]], target_model: SingleTaskGPNP | None,
        weights: np.ndarray, target: _Target,
    ) -> SurrogateModel:
        past_models = [m for _, _, m in base]
        if target_model is None:
            return WeightedEnsemble(past_models, weights)
        if self.stacking:
            sliced = any(t.predicted_at for _, t, _ in base)
            return StackedEnsemble.fit(
                WeightedEnsemble(past_models, weights[:-1]), target.x, target.y,
                min_scale=SLICED_MIN_RESIDUAL_SCALE if sliced else 0.0,
            )
        return WeightedEnsemble([*past_models, target_model], weights)

    def _candidates(
        self, space: SearchSpace, history: History, target: _Target,
        base: list[tuple[str, TransferredStudy, SingleTaskGPNP]], weights: np.ndarray,
    ) -> np.ndarray:
        """Sobol points plus perturbations of the best current points and of the weighted past bests."""
        centres: list[np.ndarray] = []
        extra: list[np.ndarray] = []
        if len(target.y):
            centres.extend(target.x[np.argsort(-target.y)[:5]])
        for (_, t, _), w in zip(base, weights):
            if w > 0.05:
                centres.append(t.unit[t.best_index])
                if self.past_best_points:  # its own best configurations too, as they are
                    extra.append(t.unit[t.ranked()[: self.past_best_points]])
        return candidate_set(
            space, self._rng, self.n_candidates, centres, extra, _taken(history, target), min_distance=MIN_DISTANCE
        )

    def _suggestion(
        self, space: SearchSpace, unit: np.ndarray, mean: float, target: _Target, history: History, acqf: Acquisition
    ) -> Suggestion:
        config = space.decode(unit[None, :])[0]
        top = sorted(self.weights_.items(), key=lambda item: -item[1])[:3]
        weight_text = ", ".join(f"{label} {weight:.2f}" for label, weight in top)
        model = "RGPE, this study's GP stacked on the past mean" if self.stacking else "RGPE"
        reason = f"transfer GP ensemble ({model}) maximised {acqf.title}; weights: {weight_text}"
        past_weight = sum(w for label, w in self.weights_.items() if label != CURRENT)
        details = {
            "strategy": "rgpe",
            "weights": dict(self.weights_),
            "past_weight": float(past_weight),
            "source_task": [label for label, w in top if label != CURRENT and w > 0],
            "predicted": target.in_objective_units(mean, history),
        }
        return Suggestion(config, Origin(self.name, reason, details))

    def __repr__(self) -> str:
        return f"TransferSampler(past={len(self.past)} studies, seed={self.seed!r}, max_past={self.max_past})"


class _Target:
    """The current study's complete trials as the ensemble sees them: unit-cube points,
    scores (higher is better), and the scores standardised as the members' are.

    Past the point budget these are the chosen trials only, standardised among
    themselves (the members' GPs have no output scale of their own); ``best_raw`` is
    then the best score of all the study's trials, which stays the incumbent.
    """

    def __init__(
        self, x: np.ndarray, raw: np.ndarray, best_raw: float | None = None, all_x: np.ndarray | None = None
    ) -> None:
        self.x = x
        self.raw = raw
        self.best_raw = best_raw
        #: Every complete trial's point (``x`` holds the chosen ones past the point budget).
        self.all_x = x if all_x is None else all_x
        self.y, self.mean, self.std = standardize(raw, ddof=MEMBER_DDOF) if len(raw) else (raw, 0.0, 1.0)

    @classmethod
    def of(cls, history: History) -> _Target:
        """The complete trials, then the failed ones at the worst score seen (as the GP sampler counts them:
        without them a configuration that crashed, say a solver the data does not allow, stayed where the
        past models recommend it and was proposed again and again)."""
        trials, raw = history.modelled()
        if not trials:
            return cls(np.empty((0, len(history.space))), np.empty(0))
        return cls(history.space.encode([t.config for t in trials]), raw)

    @property
    def can_model(self) -> bool:
        """Two or more results that differ: enough for a GP of the current study."""
        return len(self.raw) >= 2 and np.ptp(self.raw) > 0

    @property
    def best(self) -> float:
        """The incumbent to improve on; without results, the past tasks' average (0 once standardised)."""
        if self.best_raw is not None:
            return (self.best_raw - self.mean) / self.std
        return float(self.y.max()) if len(self.y) else 0.0

    def in_objective_units(self, mean: float, history: History) -> float | None:
        """A standardised prediction in the objective's units and sign (None while the scale is unknown)."""
        if not self.can_model:
            return None
        predicted = float(mean * self.std + self.mean)
        return -predicted if history.direction.value == "minimize" else predicted


def _taken(history: History, target: _Target) -> np.ndarray:
    """Unit-cube points (t, d) of every configuration tried or running; the modelled trials' (complete and
    failed) come already encoded with the target (a long study's encoding is not repeated)."""
    modelled = (TrialState.COMPLETE, TrialState.FAILED) if history.complete else (TrialState.COMPLETE,)
    others = [t.config for t in history.trials if t.state not in modelled] + list(history.pending)
    if not others:
        return target.all_x
    return np.vstack([target.all_x, history.space.encode([dict(c) for c in others])])


def _past_model(
    t: TransferredStudy, keep: np.ndarray, y: np.ndarray, cache: PastModelCache | None
) -> SingleTaskGPNP | SubspaceModel:
    """A past study's GP: on every column, or on the columns it informs when it never saw some
    parameters; its hyperparameters from ``cache`` when it was fitted on the same points before."""
    X = t.unit[keep] if not t.filled else t.unit[keep][:, t.columns]
    gp = fit_singletask_gp(X, y) if cache is None else cache.fitted_gp(t.study, X, y)
    return gp if not t.filled else SubspaceModel(gp, t.columns, len(t.space))


def _unique_labels(studies: Sequence[TransferredStudy]) -> list[str]:
    labels = []
    counts: dict[str, int] = {}
    for t in studies:
        counts[t.study.task_name] = counts.get(t.study.task_name, 0) + 1
    for t in studies:
        name = t.study.task_name
        labels.append(name if counts[name] == 1 else f"{name} ({t.study.study_id})")
    return labels

