"""The optimiser layer: maximise an acquisition function (:mod:`.acquisition`) over the unit cube.

Two searches live here, and both are kept on purpose:

* :func:`maximize_acquisition`, the GP sampler's: a batched multi-start local search
  with gradients over a mixed domain. It evaluates the acquisition on many raw points
  (random points plus perturbations of the best observed points), starts a local search
  from the best few of them, all starts together (one L-BFGS-B run on the stacked
  continuous coordinates of every start: the starts do not interact, so the summed
  objective has a block-diagonal Hessian, as in BoTorch's ``gen_candidates_scipy``),
  preconditioned by the GP length scales as in Optuna, and alternates with an
  exhaustive sweep over each discrete dimension (every integer or option, for all
  starts in one batched call) until nothing changes. Discrete dimensions therefore
  only ever take valid values: a relaxed optimum is never rounded. Integers with more
  than :data:`MAX_ENUMERATED` values are treated as continuous and rounded at decoding
  (their bins are then narrower than 1/256 of the range, so rounding moves a point less
  than the optimiser's own tolerance). This follows what made Optuna's GPSampler and
  BoTorch's ``optimize_acqf_mixed_alternating`` quick. A domain confined to a box
  (:meth:`MixedDomain.within`, the trust region of the GP sampler's ``"local"`` subset)
  keeps every step inside it.
* :func:`candidate_set` and :func:`best_candidates`, the transfer sampler's: score a
  fixed set of scrambled Sobol points and local perturbations of good points, snapped
  to valid configurations, and take the best ones a minimum distance apart. No
  gradients: the RGPE ensemble's posterior sums many members, and the transfer
  sampler's results (its ablations and leave-one-out tables in
  ``benchmarks/results/``) were measured with this search. Moving it to the gradient
  search would change every transfer proposal, so that is a separate, measured change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from .._imports import LazyImport

from ..space import Choice, IntRange, SearchSpace
from .acquisition import Acquisition

# scipy.stats takes a few tenths of a second to import: loaded at the first Sobol draw.
qmc = LazyImport("scipy.stats.qmc", install="pip install scipy")
spatial = LazyImport("scipy.spatial", install="pip install scipy")

__all__ = ["MixedDomain", "maximize_acquisition", "candidate_set", "best_candidates", "MAX_ENUMERATED"]

#: Integer parameters with at most this many values are searched value by value.
MAX_ENUMERATED = 256


@dataclass(frozen=True)
class MixedDomain:
    """Which unit-cube columns are continuous, and the valid values of the others."""

    dim: int
    continuous: np.ndarray  # indices of columns optimised by L-BFGS-B
    discrete: np.ndarray  # indices of columns searched value by value
    grids: tuple[np.ndarray, ...]  # for each discrete column, its valid unit-cube values
    categorical: np.ndarray  # boolean (dim,): compared by Hamming distance in the kernel (choices, unless ordinal)
    #: A box (lower (dim,), upper (dim,)) the search stays in (a trust region); None: the unit cube.
    box: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_space(cls, space: SearchSpace) -> MixedDomain:
        continuous, discrete, grids = [], [], []
        for j, parameter in enumerate(space.values()):
            if isinstance(parameter, Choice):
                values = list(parameter.options)
            elif isinstance(parameter, IntRange) and parameter.high - parameter.low + 1 <= MAX_ENUMERATED:
                values = list(range(parameter.low, parameter.high + 1))
            else:
                continuous.append(j)
                continue
            discrete.append(j)
            grids.append(np.array([parameter.to_unit(v) for v in values], dtype=float))
        return cls(
            dim=len(space),
            continuous=np.array(continuous, dtype=int),
            discrete=np.array(discrete, dtype=int),
            grids=tuple(grids),
            categorical=space.categorical_mask(),
        )

    def within(self, lower: np.ndarray, upper: np.ndarray) -> MixedDomain:
        """The same domain confined to the box ``[lower, upper]``: continuous columns bounded,
        discrete ones keeping the values inside (the one nearest the box when none is)."""
        grids = []
        for j, grid in zip(self.discrete, self.grids):
            inside = grid[(grid >= lower[j] - 1e-12) & (grid <= upper[j] + 1e-12)]
            grids.append(inside if len(inside) else grid[[int(np.argmin(np.abs(grid - (lower[j] + upper[j]) / 2)))]])
        box = (np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
        return MixedDomain(self.dim, self.continuous, self.discrete, tuple(grids), self.categorical, box)

    @property
    def n_configurations(self) -> float:
        """How many distinct points the space has (inf when any column is continuous)."""
        if len(self.continuous):
            return float("inf")
        return float(np.prod([len(g) for g in self.grids], dtype=float))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        X = rng.random((n, self.dim))
        if self.box is not None:
            lower, upper = self.box
            X = lower + (upper - lower) * X
        for j, grid in zip(self.discrete, self.grids):
            X[:, j] = grid[rng.integers(len(grid), size=n)]
        return X

    def perturb(self, rng: np.random.Generator, anchors: np.ndarray, n: int, scale: float = 0.05) -> np.ndarray:
        """Points near ``anchors``: Gaussian steps in continuous columns, and each discrete
        column redrawn with probability 1/d (BoTorch's mixed-alternating initialiser does
        the same to exploit around the incumbents)."""
        X = anchors[rng.integers(len(anchors), size=n)].copy()
        if len(self.continuous):
            c = self.continuous
            low, high = self.bounds(c)
            X[:, c] = np.clip(X[:, c] + scale * rng.standard_normal((n, len(c))), low, high)
        for j, grid in zip(self.discrete, self.grids):
            redraw = rng.random(n) < 1.0 / self.dim
            X[redraw, j] = grid[rng.integers(len(grid), size=int(redraw.sum()))]
        return X

    def bounds(self, columns: np.ndarray) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Lower and upper bounds of ``columns``: the box's, or 0 and 1."""
        if self.box is None:
            return 0.0, 1.0
        return self.box[0][columns], self.box[1][columns]

    def enumerate_all(self) -> np.ndarray:
        """Every point of an all-discrete domain (call only when it is small)."""
        mesh = np.meshgrid(*self.grids, indexing="ij")
        X = np.empty((mesh[0].size, self.dim))
        for j, values in zip(self.discrete, mesh):
            X[:, j] = values.ravel()
        return X


def _evaluate(acqf: Acquisition, X: np.ndarray, chunk: int = 256) -> np.ndarray:
    # Chunks bound the (chunk, trials, d) differences the GP forms: ~25 MB at 1,000 trials, d = 12.
    parts = [acqf(X[i : i + chunk]) for i in range(0, len(X), chunk)]
    return np.concatenate(parts) if parts else np.empty(0)


def _continuous_step(
    acqf: Acquisition, X: np.ndarray, domain: MixedDomain, lengthscales: np.ndarray, maxiter: int
) -> np.ndarray:
    """L-BFGS-B on the continuous columns of every start at once."""
    c = domain.continuous
    scale = np.clip(lengthscales[c], 1e-3, None)
    k = len(X)

    def negative_sum(z_flat: np.ndarray) -> tuple[float, np.ndarray]:
        # Optimise z = x / lengthscale: the acquisition then varies at a similar rate
        # in every coordinate, which lets L-BFGS-B converge in fewer iterations.
        x = X.copy()
        x[:, c] = z_flat.reshape(k, len(c)) * scale
        values, grad = acqf.value_and_grad(x)
        return -float(values.sum()), -(grad[:, c] * scale).ravel()

    z0 = (X[:, c] / scale).ravel()
    low, high = domain.bounds(c)
    bounds = list(zip(np.broadcast_to(low / scale, len(c)), np.broadcast_to(high / scale, len(c)))) * k
    result = scipy.optimize.minimize(
        negative_sum, z0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter}
    )
    out = X.copy()
    out[:, c] = np.clip(result.x.reshape(k, len(c)) * scale, low, high)
    return out


def _discrete_sweep(acqf: Acquisition, X: np.ndarray, values: np.ndarray, domain: MixedDomain) -> tuple[np.ndarray, np.ndarray, bool]:
    """Set each discrete column, in turn, to its best value for every start."""
    changed = False
    X = X.copy()
    for j, grid in zip(domain.discrete, domain.grids):
        if len(grid) < 2:
            continue
        trial = np.repeat(X[:, None, :], len(grid), axis=1)  # (k, G, d)
        trial[:, :, j] = grid
        scores = _evaluate(acqf, trial.reshape(-1, domain.dim)).reshape(len(X), len(grid))
        best = scores.argmax(axis=1)
        better = scores[np.arange(len(X)), best] > values + 1e-12
        if better.any():
            changed = True
            X[better, j] = grid[best[better]]
            values = np.where(better, scores[np.arange(len(X)), best], values)
    return X, values, changed


def maximize_acquisition(
    acqf: Acquisition,
    domain: MixedDomain,
    rng: np.random.Generator,
    lengthscales: np.ndarray,
    anchors: np.ndarray,
    *,
    n_raw: int = 1024,
    n_starts: int = 8,
    maxiter: int = 100,
    max_rounds: int = 4,
    max_enumerate: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates sorted by acquisition value, best first: ``(X (m, d), values (m,))``.

    ``anchors`` (a few good observed points) seed a quarter of the raw points with
    perturbations; ``lengthscales`` (d,) precondition the continuous steps. The
    local-search optima come first, then the raw points, so a caller that must skip a
    candidate (a duplicate of a tried configuration) has the next best ones at hand.
    """
    if domain.n_configurations <= max_enumerate:
        # A small all-discrete space: the exact maximiser is one batched evaluation away.
        X = domain.enumerate_all()
        return _ranked(X, _evaluate(acqf, X))
    raw = _raw_points(domain, rng, anchors, n_raw)
    raw, raw_values = _ranked(raw, _evaluate(acqf, raw))
    X, values = _local_search(
        acqf, raw[:n_starts], raw_values[:n_starts], domain, lengthscales, maxiter=maxiter, max_rounds=max_rounds
    )
    return _ranked(np.vstack([X, raw]), np.concatenate([values, raw_values]))


def _raw_points(domain: MixedDomain, rng: np.random.Generator, anchors: np.ndarray, n_raw: int) -> np.ndarray:
    """Random points of the domain, a quarter of them near ``anchors`` when there are any."""
    n_near = n_raw // 4 if len(anchors) else 0
    if not n_near:
        return domain.sample(rng, n_raw)
    return np.vstack([domain.sample(rng, n_raw - n_near), domain.perturb(rng, anchors, n_near)])


def _local_search(
    acqf: Acquisition,
    X: np.ndarray,
    values: np.ndarray,
    domain: MixedDomain,
    lengthscales: np.ndarray,
    *,
    maxiter: int,
    max_rounds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Alternate continuous L-BFGS-B steps and discrete sweeps from the starts ``X`` until nothing changes."""
    for _ in range(max_rounds):
        if len(domain.continuous):
            moved = _continuous_step(acqf, X, domain, lengthscales, maxiter)
            moved_values = _evaluate(acqf, moved)
            improved = moved_values > values
            X = np.where(improved[:, None], moved, X)
            values = np.where(improved, moved_values, values)
        if not len(domain.discrete):
            break
        X, values, changed = _discrete_sweep(acqf, X, values, domain)
        if not changed:
            break
    return X, values


def _ranked(X: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-values, kind="stable")
    return X[order], values[order]


# ------------------------------------------------------------- the candidate-set search


def candidate_set(
    space: SearchSpace,
    rng: np.random.Generator,
    n_sobol: int,
    centres: list[np.ndarray],
    extra: list[np.ndarray],
    taken: np.ndarray,
    *,
    min_distance: float,
    scales: tuple[float, ...] = (0.02, 0.08),
    n_per_scale: int = 64,
) -> np.ndarray:
    """Points to score, ``(m, d)``, distinct and in the order ``np.unique`` gives.

    ``n_sobol`` scrambled Sobol points, the ``extra`` point arrays as they are, and
    ``n_per_scale`` Gaussian perturbations of each of the ``centres`` at each of the
    ``scales``; all snapped to valid configurations (so integers and categories are
    scored as they will be evaluated). Points closer than ``min_distance`` (L-inf) to a
    ``taken`` one (tried or pending, ``(t, d)``) are dropped, unless that drops all.
    """
    dim = len(space)
    parts = [qmc.Sobol(d=dim, scramble=True, seed=rng).random(n_sobol), *extra]
    for centre in centres:
        for scale in scales:
            parts.append(np.clip(centre + rng.normal(0, scale, (n_per_scale, dim)), 0, 1))
    snapped = space.encode(space.decode(np.vstack(parts)))
    snapped = np.unique(np.round(snapped, 12), axis=0)
    if len(taken):
        fresh = snapped[_distance_to_nearest(snapped, taken) >= min_distance]
        if len(fresh):
            snapped = fresh
    return snapped


def _distance_to_nearest(points: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """L-inf distance (m,) from each of ``points`` (m, d) to the nearest of ``taken`` (t, d).

    A k-d tree: the pairwise differences of a long study's trials and the candidates
    took 300 MB and ~0.3 s at 2,000 trials; the distances are the same numbers (the
    largest absolute difference of the same floats).
    """
    distance, _ = spatial.cKDTree(taken).query(points, k=1, p=np.inf)
    return distance


def best_candidates(acqf: Acquisition, candidates: np.ndarray, n: int, radius: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best-scoring ``candidates`` and their values, each at least ``radius``
    (L-inf) from those picked before while enough are that far apart."""
    values = acqf(candidates)
    chosen = _pick_diverse(candidates, values, n, radius)
    return candidates[chosen], values[chosen]


def _pick_diverse(candidates: np.ndarray, scores: np.ndarray, n: int, radius: float) -> list[int]:
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
