"""The model layer: what an acquisition function may ask of a fitted surrogate.

The samplers are layered as BoTorch's are: a model (this protocol) is fitted on the
trials, an acquisition function (:mod:`.acquisition`) scores points with the model's
posterior, and an optimiser (:mod:`.optimize`) searches for the points of highest
acquisition value. Each layer knows only the one below.

A model is fitted on unit-cube inputs (``SearchSpace.encode``) and standardised scores
(higher is better, see :func:`standardize`), and answers one question: the marginal
posterior mean and variance of the latent function at ``(k, d)`` query points, in
NumPy, with gradients with respect to the points on request. Implementations:

* :class:`~._gp.ExactGP`: the GP sampler's Matern-5/2 GP;
* :class:`~._singletask_gp.SingleTaskGPNP`: BoTorch's default ``SingleTaskGP`` model,
  the members of the transfer ensemble;
* :class:`~._rgpe.WeightedEnsemble` and :class:`~._rgpe.StackedEnsemble`: the RGPE
  transfer ensemble, plain or with the current study stacked on its residuals;
* :class:`SubspaceModel`: a past study's model on the parameters it informs, constant
  along the ones it never saw.

:class:`~.botorch_model.GPModel` shows an :class:`~._gp.ExactGP` to BoTorch as a
``botorch.models.model.Model`` with a joint torch posterior.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["MIN_VARIANCE", "PosteriorNP", "SurrogateModel", "SubspaceModel", "standardize"]

#: Posterior variances are clamped below at this value (as BoTorch's analytic
#: acquisitions clamp them), so that ``sqrt`` and ``log`` of them stay finite.
MIN_VARIANCE = 1e-12

#: Maps ``(d_mean (k,), d_var (k,))`` to the gradient with respect to the points, ``(k, d)``.
Backward = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PosteriorNP:
    """Marginal posterior mean and variance at ``k`` points, shapes ``(k,)``.

    :meth:`backward` turns the derivatives of some function ``f`` of them, ``d(f)/d(mean)``
    and ``d(f)/d(var)``, into ``d(f)/d(x)``, shape ``(k, d)`` (the chain rule through
    the model). Columns on which the model is not smooth (categorical columns of
    :class:`~._gp.ExactGP`) get a zero gradient.
    """

    mean: np.ndarray
    var: np.ndarray
    _backward: Backward | None = None

    def backward(self, d_mean: np.ndarray, d_var: np.ndarray) -> np.ndarray:
        if self._backward is None:
            raise ValueError("posterior_np(x, with_grad=True) is needed for gradients.")
        return self._backward(d_mean, d_var)


class SurrogateModel(Protocol):
    """A fitted model, as the acquisition functions use it."""

    def posterior_np(self, x: np.ndarray, with_grad: bool = False) -> PosteriorNP:
        """Marginal posterior at ``x`` (k, d); variances at least :data:`MIN_VARIANCE`.

        With ``with_grad``, the result's :meth:`PosteriorNP.backward` works.
        """
        ...


def standardize(y: np.ndarray, ddof: int = 0) -> tuple[np.ndarray, float, float]:
    """Return ``((y - mean) / std, mean, std)``; std is 1 when ``y`` is constant (std <= 1e-12).

    ``ddof`` is the standard deviation's delta degrees of freedom. The GP sampler uses
    0. The transfer ensemble uses 1, as BoTorch's ``Standardize`` outcome transform
    (the unbiased std) did for the gpytorch ``SingleTaskGP`` models it was measured
    with; its NumPy copy keeps that, so that it proposes what they proposed. With fewer
    than ``ddof + 1`` values there is no spread, and std is 1.
    """
    y = np.asarray(y, dtype=float)
    mean = float(np.mean(y))
    std = float(np.std(y, ddof=ddof)) if len(y) > ddof else 0.0
    if not std > 1e-12:
        std = 1.0
    return (y - mean) / std, mean, std


class SubspaceModel:
    """A model fitted on some columns of the unit cube, constant along the others.

    A past study that informs only some parameters of the new space (the others it
    never saw) is modelled on those columns; along the rest its posterior does not
    change, so it says nothing there and its gradient there is zero.
    """

    def __init__(self, model, columns: np.ndarray, dim: int) -> None:
        self.model = model
        self.columns = np.asarray(columns, dtype=int)
        self.dim = dim

    def posterior_np(self, x: np.ndarray, with_grad: bool = False) -> PosteriorNP:
        inner = self.model.posterior_np(x[:, self.columns], with_grad=with_grad)
        if not with_grad:
            return PosteriorNP(inner.mean, inner.var)

        def backward(d_mean: np.ndarray, d_var: np.ndarray) -> np.ndarray:
            grad = np.zeros((len(x), self.dim))
            grad[:, self.columns] = inner.backward(d_mean, d_var)
            return grad

        return PosteriorNP(inner.mean, inner.var, backward)

    def joint_posterior_np(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.model.joint_posterior_np(x[:, self.columns])
