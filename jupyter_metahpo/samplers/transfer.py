"""Transfer during refinement: a ranking-weighted ensemble of per-task GPs (RGPE).

Feurer, Letham, Hutter & Bakshy (2018), "Scalable meta-learning for Bayesian
optimization using ranking-weighted Gaussian process ensembles". One GP is fitted
per compatible past study (once, then cached) and one on the current study's trials.
Their posteriors are combined with weights: the mean is ``sum_i w_i mu_i(x)`` and the
variance ``sum_i w_i^2 sigma_i^2(x)``. A weight is the share of posterior samples in
which that model ranks the current study's observations best (fewest misordered
pairs); the current study's own GP is judged on leave-one-out predictions so it does
not win by having seen the points. A past task that misleads on this task ranks the
new observations badly and loses its weight as evidence accumulates; past models
much worse than the current one are dropped altogether (the paper's guard against
weight dilution). The next configuration maximises BoTorch's
``LogExpectedImprovement`` under the ensemble, over a candidate set of Sobol points
and local perturbations of good points, snapped to valid configurations so that
integers and categories are scored as they will be evaluated.

The weights are visible: ``sampler.weights_`` after each call, and in every
suggestion's ``Origin("transfer", reason, {"weights": ..., ...})``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..experience import PastStudy
from ..meta._threads import single_thread
from ..meta.compat import TransferredStudy
from ..meta.strategies import TaskDescription, name_and_space_similarities, prepare, task_similarities
from ..space import SearchSpace
from ..trial import Origin
from .base import History, Sampler, Suggestion

__all__ = ["TransferSampler", "ranking_weights"]

CURRENT = "current study"

#: Candidates closer than this (L-inf, unit cube) to a tried or pending configuration are
#: not proposed: on a plateau of equal scores the acquisition would otherwise propose
#: near-copies of the incumbent again and again, and re-running a configuration that
#: differs by under 1% of every range teaches nothing on noisy objectives.
MIN_DISTANCE = 0.01


class TransferSampler(Sampler):
    """BoTorch refinement on a ranking-weighted ensemble of past-task GPs and the current GP.

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
    """

    name = "transfer"

    def __init__(
        self,
        past: Sequence[PastStudy],
        task: TaskDescription | None = None,
        seed: int | None = None,
        max_past: int = 8,
        max_points_per_task: int = 60,
        n_candidates: int = 2048,
        n_samples: int = 256,
    ) -> None:
        for label, value, low in (
            ("max_past", max_past, 0),
            ("max_points_per_task", max_points_per_task, 2),
            ("n_candidates", n_candidates, 16),
            ("n_samples", n_samples, 8),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{label}` must be an integer >= {low}, but got {label}={value!r}.")
        self.past = list(past)
        self.task = task or TaskDescription()
        self.seed = seed
        self.max_past = max_past
        self.max_points_per_task = max_points_per_task
        self.n_candidates = n_candidates
        self.n_samples = n_samples
        self._rng = np.random.default_rng(seed)
        self._space_key: str | None = None
        self._base: list[tuple[str, TransferredStudy, Any]] = []
        self.weights_: dict[str, float] = {}

    # -- past models ----------------------------------------------------------------
    def _base_models(self, space: SearchSpace) -> list[tuple[str, TransferredStudy, Any]]:
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
            self._base.append((label, t, _fit_gp(t.unit[keep], _standardise(t.scores[keep]), self._fit_seed())))
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
        import torch
        from botorch.acquisition.analytic import LogExpectedImprovement

        space = history.space
        complete = history.complete
        with single_thread(), _quiet_jitter():
            base = self._base_models(space)
            x_target = space.encode([t.config for t in complete]) if complete else np.empty((0, len(space)))
            raw = history.scores() if complete else np.empty(0)
            y_target = _standardise(raw) if len(raw) else raw
            target_model = _fit_gp(x_target, y_target, self._fit_seed()) if len(raw) >= 2 and np.ptp(raw) > 0 else None
            labels = [label for label, _, _ in base] + ([CURRENT] if target_model is not None else [])
            models = [m for _, _, m in base] + ([target_model] if target_model is not None else [])
            if not models:
                raise RuntimeError(
                    "the transfer sampler has neither a compatible past study nor two distinct results of this "
                    "study to model; use it after an initial design (DefaultSampler does)."
                )
            weights = ranking_weights(
                [m for _, _, m in base], target_model, x_target, y_target, self.n_samples, self._rng
            )
            self.weights_ = {label: float(w) for label, w in zip(labels, weights)}
            ensemble = _ensemble(models, weights)
            # Without results of its own yet, improve on the past tasks' average (0 once standardised).
            best_f = float(y_target.max()) if len(y_target) else 0.0
            acquisition = LogExpectedImprovement(ensemble, best_f=best_f)
            candidates = self._candidates(space, history, x_target, y_target, base, weights)
            with torch.no_grad():
                scores = torch.cat(
                    [
                        acquisition(torch.as_tensor(chunk, dtype=torch.double).unsqueeze(1))
                        for chunk in np.array_split(candidates, max(1, len(candidates) // 1024))
                    ]
                ).numpy()
                chosen = _pick_diverse(candidates, scores, n)
                posterior = ensemble.posterior(torch.as_tensor(candidates[chosen], dtype=torch.double))
                means = posterior.mean.squeeze(-1).numpy()
        return [self._suggestion(space, candidates[c], means[j], raw, history) for j, c in enumerate(chosen)]

    def _candidates(self, space, history, x_target, y_target, base, weights) -> np.ndarray:
        """Sobol points plus perturbations of the best current points and of the weighted past bests."""
        from scipy.stats import qmc

        dim = len(space)
        sobol = qmc.Sobol(d=dim, scramble=True, seed=self._rng).random(self.n_candidates)
        centres = []
        if len(y_target):
            centres.extend(x_target[np.argsort(-y_target)[:5]])
        for (_, t, _), w in zip(base, weights):
            if w > 0.05:
                centres.append(t.unit[t.best_index])
        parts = [sobol]
        for centre in centres:
            for scale in (0.02, 0.08):
                parts.append(np.clip(centre + self._rng.normal(0, scale, (64, dim)), 0, 1))
        points = np.vstack(parts)
        snapped = space.encode(space.decode(points))  # score integers and categories as evaluated
        snapped = np.unique(np.round(snapped, 12), axis=0)
        seen = history.seen_configs()
        if seen:
            taken = space.encode([dict(c) for c in seen])
            distance = np.abs(snapped[:, None, :] - taken[None, :, :]).max(axis=2).min(axis=1)
            fresh = snapped[distance >= MIN_DISTANCE]
            if len(fresh):
                snapped = fresh
        return snapped

    def _suggestion(self, space, unit, mean, raw, history) -> Suggestion:
        config = space.decode(unit[None, :])[0]
        predicted = None
        if len(raw) >= 2 and np.std(raw) > 0:  # undo _standardise (the ensemble speaks in the current study's scale)
            predicted = float(mean * np.std(raw, ddof=1) + np.mean(raw))
            if history.direction.value == "minimize":
                predicted = -predicted
        top = sorted(self.weights_.items(), key=lambda item: -item[1])[:3]
        weight_text = ", ".join(f"{label} {weight:.2f}" for label, weight in top)
        reason = f"transfer GP ensemble (RGPE) maximised log expected improvement; weights: {weight_text}"
        past_weight = sum(w for label, w in self.weights_.items() if label != CURRENT)
        details = {
            "strategy": "rgpe",
            "weights": dict(self.weights_),
            "past_weight": float(past_weight),
            "source_task": [label for label, w in top if label != CURRENT and w > 0],
            "predicted": predicted,
        }
        return Suggestion(config, Origin(self.name, reason, details))

    def _fit_seed(self) -> int:
        return int(self._rng.integers(2**31 - 1))

    def __repr__(self) -> str:
        return f"TransferSampler(past={len(self.past)} studies, seed={self.seed!r}, max_past={self.max_past})"


# ---------------------------------------------------------------------- weights


def ranking_weights(
    base_models: Sequence[Any],
    target_model: Any | None,
    x_target: np.ndarray,
    y_target: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """RGPE weights of ``base_models`` (+ ``target_model`` last, when given), summing to 1.

    With fewer than two target observations nothing can be ranked: the past models
    share the weight equally.
    """
    n_models = len(base_models) + (target_model is not None)
    if len(y_target) < 2:
        weights = np.zeros(n_models)
        weights[: len(base_models)] = 1.0 / max(len(base_models), 1)
        if not base_models:
            weights[-1] = 1.0
        return weights
    import torch

    x = torch.as_tensor(x_target, dtype=torch.double)
    losses = []
    with torch.no_grad():
        for model in base_models:
            posterior = model.posterior(x)
            # Drawn from ``rng``, not torch's global generator, so a seeded study repeats.
            with torch.random.fork_rng():
                torch.manual_seed(int(rng.integers(2**31 - 1)))
                samples = posterior.rsample(torch.Size([n_samples])).squeeze(-1).numpy()  # (S, n)
            losses.append(_misranked_pairs(samples, y_target))
    if target_model is not None:
        losses.append(_misranked_pairs(_loo_samples(target_model, n_samples, rng), y_target))
    loss = np.array(losses)  # (models, S)
    if target_model is not None and len(y_target) >= 5:
        # Drop past models clearly worse than the current one (weight dilution guard).
        threshold = np.percentile(loss[-1], 95)
        worse = np.median(loss[:-1], axis=1) > threshold
        loss[:-1][worse] = np.iinfo(np.int64).max
    # Each sample votes for the model with the fewest misordered pairs; ties split at random.
    jitter = rng.random(loss.shape) * 0.5
    winners = np.argmin(loss + jitter, axis=0)
    return np.bincount(winners, minlength=n_models) / loss.shape[1]


def _misranked_pairs(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each sample row, the number of pairs ordered differently from ``y``."""
    truth = y[:, None] < y[None, :]
    predicted = samples[:, :, None] < samples[:, None, :]
    return (predicted ^ truth[None]).sum(axis=(1, 2)).astype(np.int64)


def _loo_samples(model: Any, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Leave-one-out predictive samples of a fitted exact GP at its own training points.

    Uses the closed form: with ``K`` the prior covariance plus noise and
    ``alpha = K^-1 (y - m)``, the LOO mean at point i is ``y_i - alpha_i / [K^-1]_ii``
    and its variance ``1 / [K^-1]_ii`` (Rasmussen & Williams, eq. 5.12).
    """
    import torch

    with torch.no_grad():
        x = model.train_inputs[0]
        y = model.train_targets
        k = model.covar_module(x).to_dense() + model.likelihood.noise * torch.eye(len(y), dtype=x.dtype)
        inverse = torch.linalg.inv(k)
        alpha = inverse @ (y - model.mean_module(x))
        diagonal = torch.diagonal(inverse).clamp_min(1e-12)
        mean = (y - alpha / diagonal).numpy()
        std = (1.0 / diagonal).sqrt().numpy()
    return mean[None, :] + std[None, :] * rng.standard_normal((n_samples, len(mean)))


# ---------------------------------------------------------------------- models


@contextlib.contextmanager
def _quiet_jitter():
    """Silence gpytorch's note that it added jitter to a covariance: routine, not a user's concern."""
    from linear_operator.utils.warnings import NumericalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)
        yield


def _standardise(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0  # ddof=1: the scaling BoTorch checks for
    return (values - values.mean()) / (std if std > 0 else 1.0)


def _fit_gp(x: np.ndarray, y: np.ndarray, seed: int = 0):
    """A SingleTaskGP on already standardised targets, hyperparameters by marginal likelihood.

    When a fit attempt fails, ``fit_gpytorch_mll`` restarts from hyperparameters drawn with
    torch's global generator; drawing them from ``seed`` instead (the caller's generator
    is restored afterwards) keeps a seeded study reproducible within one process too.
    """
    import torch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.mlls import ExactMarginalLogLikelihood

    train_x = torch.as_tensor(x, dtype=torch.double)
    train_y = torch.as_tensor(y, dtype=torch.double).unsqueeze(-1)
    model = SingleTaskGP(train_x, train_y, outcome_transform=None)
    with single_thread(), torch.random.fork_rng():
        torch.manual_seed(seed)
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    model.eval()
    return model


def _ensemble(models: Sequence[Any], weights: np.ndarray):
    """A BoTorch model whose posterior is the weighted sum of the models' posteriors."""
    import torch
    from botorch.models.model import Model
    from botorch.posteriors.gpytorch import GPyTorchPosterior
    from gpytorch.distributions import MultivariateNormal
    from torch.nn import ModuleList

    class RankWeightedEnsemble(Model):
        def __init__(self) -> None:
            super().__init__()
            self.members = ModuleList([m for m, w in zip(models, weights) if w > 0])
            self.member_weights = [float(w) for w in weights if w > 0]

        @property
        def num_outputs(self) -> int:
            return 1

        @property
        def batch_shape(self) -> torch.Size:
            return torch.Size([])

        def posterior(self, X, output_indices=None, observation_noise=False, posterior_transform=None, **kwargs):
            mean = None
            covariance = None
            for member, weight in zip(self.members, self.member_weights):
                distribution = member.posterior(X).distribution
                m = weight * distribution.mean
                c = weight**2 * distribution.covariance_matrix
                mean = m if mean is None else mean + m
                covariance = c if covariance is None else covariance + c
            jitter = 1e-9 * torch.eye(covariance.shape[-1], dtype=covariance.dtype)
            posterior = GPyTorchPosterior(MultivariateNormal(mean, covariance + jitter))
            return posterior if posterior_transform is None else posterior_transform(posterior)

    return RankWeightedEnsemble()


def _pick_diverse(candidates: np.ndarray, scores: np.ndarray, n: int, radius: float = 0.02) -> list[int]:
    """The ``n`` best-scoring candidates, each at least ``radius`` (L-inf) from those picked before."""
    chosen: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        if len(chosen) >= n:
            break
        if all(np.abs(candidates[index] - candidates[c]).max() >= radius for c in chosen):
            chosen.append(int(index))
    for index in np.argsort(-scores, kind="stable"):  # too few far apart: fill with the next best
        if len(chosen) >= n:
            break
        if int(index) not in chosen:
            chosen.append(int(index))
    return chosen


def _unique_labels(studies: Sequence[TransferredStudy]) -> list[str]:
    labels = []
    counts: dict[str, int] = {}
    for t in studies:
        counts[t.study.task_name] = counts.get(t.study.task_name, 0) + 1
    for t in studies:
        name = t.study.task_name
        labels.append(name if counts[name] == 1 else f"{name} ({t.study.study_id})")
    return labels

