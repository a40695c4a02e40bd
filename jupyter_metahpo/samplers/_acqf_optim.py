"""Maximise an acquisition function over a mixed unit cube: batched multi-start search.

The recipe (measured in ``benchmarks/bench_latency.py``) follows what made Optuna's
GPSampler and BoTorch's ``optimize_acqf_mixed_alternating`` quick:

1. evaluate the acquisition on many raw points at once (random points plus
   perturbations of the best observed points) without gradients;
2. start a local search from the best few of them, all starts together: one
   L-BFGS-B run on the stacked continuous coordinates of every start (the starts do
   not interact, so the summed objective has a block-diagonal Hessian, as in BoTorch's
   ``gen_candidates_scipy``), preconditioned by the GP length scales as in Optuna;
3. alternate with an exhaustive sweep over each discrete dimension (every integer or
   option, evaluated for all starts in one batched call), until nothing changes.

Discrete dimensions therefore only ever take valid values: a relaxed optimum is never
rounded. Integers with more than :data:`MAX_ENUMERATED` values are treated as
continuous and rounded at decoding (their bins are then narrower than 1/256 of the
range, so rounding moves a point less than the optimiser's own tolerance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.optimize
import torch

from ..space import Choice, IntRange, SearchSpace

__all__ = ["Acquisition", "MixedDomain", "TorchAcquisition", "maximize_acquisition", "MAX_ENUMERATED"]

#: Integer parameters with at most this many values are searched value by value.
MAX_ENUMERATED = 256

class Acquisition(Protocol):
    """What the search needs: values, and values with gradients, on ``(k, d)`` arrays."""

    def __call__(self, X: np.ndarray) -> np.ndarray: ...

    def value_and_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class TorchAcquisition:
    """An acquisition given as a torch function ``(k, d) -> (k,)``, differentiated by
    autograd (for BoTorch's own acquisition functions, as in ``bench_acquisition.py``)."""

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.function = function

    def __call__(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.function(torch.from_numpy(X)).numpy()

    def value_and_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(X.copy()).requires_grad_(True)
        values = self.function(x)
        (grad,) = torch.autograd.grad(values.sum(), x)
        return values.detach().numpy(), grad.numpy()


@dataclass(frozen=True)
class MixedDomain:
    """Which unit-cube columns are continuous, and the valid values of the others."""

    dim: int
    continuous: np.ndarray  # indices of columns optimised by L-BFGS-B
    discrete: np.ndarray  # indices of columns searched value by value
    grids: tuple[np.ndarray, ...]  # for each discrete column, its valid unit-cube values
    categorical: np.ndarray  # boolean (dim,): compared by Hamming distance in the kernel

    @classmethod
    def from_space(cls, space: SearchSpace) -> MixedDomain:
        continuous, discrete, grids, categorical = [], [], [], []
        for j, parameter in enumerate(space.values()):
            categorical.append(isinstance(parameter, Choice))
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
            categorical=np.array(categorical, dtype=bool),
        )

    @property
    def n_configurations(self) -> float:
        """How many distinct points the space has (inf when any column is continuous)."""
        if len(self.continuous):
            return float("inf")
        return float(np.prod([len(g) for g in self.grids], dtype=float))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        X = rng.random((n, self.dim))
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
            X[:, c] = np.clip(X[:, c] + scale * rng.standard_normal((n, len(c))), 0.0, 1.0)
        for j, grid in zip(self.discrete, self.grids):
            redraw = rng.random(n) < 1.0 / self.dim
            X[redraw, j] = grid[rng.integers(len(grid), size=int(redraw.sum()))]
        return X

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
    bounds = [(0.0, 1.0 / s) for s in scale] * k
    result = scipy.optimize.minimize(
        negative_sum, z0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter}
    )
    out = X.copy()
    out[:, c] = np.clip(result.x.reshape(k, len(c)) * scale, 0.0, 1.0)
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

    The local-search optima come first, then the raw points, so a caller that must skip
    a candidate (a duplicate of a tried configuration) has the next best ones at hand.
    """
    if domain.n_configurations <= max_enumerate:
        # A small all-discrete space: the exact maximiser is one batched evaluation away.
        X = domain.enumerate_all()
        values = _evaluate(acqf, X)
        order = np.argsort(-values, kind="stable")
        return X[order], values[order]

    n_near = n_raw // 4 if len(anchors) else 0
    raw = np.vstack([domain.sample(rng, n_raw - n_near), domain.perturb(rng, anchors, n_near)] if n_near else [domain.sample(rng, n_raw)])
    raw_values = _evaluate(acqf, raw)
    order = np.argsort(-raw_values, kind="stable")
    starts = raw[order[:n_starts]]
    start_values = raw_values[order[:n_starts]]

    X, values = starts, start_values
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

    all_X = np.vstack([X, raw[order]])
    all_values = np.concatenate([values, raw_values[order]])
    ranking = np.argsort(-all_values, kind="stable")
    return all_X[ranking], all_values[ranking]
