"""The acquisition layer: every acquisition function the samplers use, in one place.

An acquisition scores unit-cube points ``X`` (k, d) under a fitted model
(:class:`~.models.SurrogateModel`): ``acqf(X) -> (k,)`` and
``acqf.value_and_grad(X) -> ((k,), (k, d))``, higher is better. The optimisers of
:mod:`.optimize` maximise it; the samplers pick one by name from :data:`ACQUISITIONS`
(:func:`make_acquisition`), so adding or changing an acquisition touches this file only.

They are written in NumPy with the gradient derived by hand, not in torch: the search
evaluates the acquisition a few hundred times per suggestion on a few points at a
time, where torch's per-operation and autograd overhead cost more than the arithmetic
(``benchmarks/results/samplers_notes.md``). The log-EI numerics are those of BoTorch's
``LogExpectedImprovement`` (tested against ``_log_ei_helper``, against
``botorch.acquisition.LogExpectedImprovement`` on :class:`~.botorch_model.GPModel`, and
against finite differences).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from scipy.special import erfcx, log_ndtr

from .models import SurrogateModel

__all__ = [
    "ACQUISITIONS",
    "Acquisition",
    "LogExpectedImprovement",
    "UpperConfidenceBound",
    "check_acquisition",
    "log_h",
    "log_h_and_grad",
    "make_acquisition",
]


class Acquisition(Protocol):
    """What the optimisers need: values, and values with gradients, on ``(k, d)`` arrays.

    ``title`` names it in a sentence ("log expected improvement"); :meth:`describe`
    turns the value at a chosen point into words and numbers for the suggestion's origin.
    """

    title: str

    def __call__(self, X: np.ndarray) -> np.ndarray: ...

    def value_and_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def describe(self, value: float, y_std: float) -> tuple[str, dict[str, Any]]: ...


_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_SQRT_PI_DIV_2 = 0.5 * math.log(math.pi / 2.0)
# Below this z, log(1 - exp(w)) in the lower branch loses all precision and its leading
# order -2 log|z| is used instead (as BoTorch does in double precision).
_NEG_INV_SQRT_EPS = -1e6
# Below z = -_SERIES_BELOW the derivative of log h comes from an asymptotic series (its
# next term is ~|z|^-6 relative, below double precision).
_SERIES_BELOW = 1e3


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, the log of expected improvement per unit of sigma,
    accurate for z from -1e100 to 1e100 (the same branches as BoTorch's
    ``_log_ei_helper``)."""
    return log_h_and_grad(z)[0]


def log_h_and_grad(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`log_h` and its derivative ``Phi(z) / h(z)`` (since h'(z) = Phi(z)).

    Below z = -1, h = phi(z) (1 - exp(w)) with w = log(|z| Phi(z) / phi(z)) < 0, and
    the derivative is computed as ``1 / (|z| expm1(-w))`` (below -1e3 from a series):
    the direct ``exp(log Phi - log h)`` would subtract two numbers near -z^2/2 and lose
    every digit for |z| beyond ~1e4. Autograd through BoTorch's helper is off by up to
    2e-4 relative near z = -1e6; this is within 1e-9 of a 60-digit reference.
    """
    z = np.asarray(z, dtype=float)
    value = np.empty_like(z)
    grad = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    value[upper] = np.log(np.exp(-0.5 * zu * zu - _LOG_SQRT_2PI) + zu * np.exp(log_ndtr(zu)))
    grad[upper] = np.exp(log_ndtr(zu) - value[upper])

    zl = z[~upper]
    log_phi = -0.5 * zl * zl - _LOG_SQRT_2PI
    moderate = zl > _NEG_INV_SQRT_EPS
    abs_z = np.abs(np.maximum(zl, _NEG_INV_SQRT_EPS))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.log(erfcx(abs_z / math.sqrt(2.0)) * abs_z) + _LOG_SQRT_PI_DIV_2
        value[~upper] = log_phi + np.where(moderate, _log1mexp(w), -2.0 * np.log(np.abs(zl)))
        # Far below, w -> 0 loses relative precision; the asymptotic series of the Mills
        # ratio gives Phi/h = |z| (1 - z^-2 + 3 z^-4) / (1 - 3 z^-2 + 15 z^-4) + O(|z|^-5).
        inv_sq = 1.0 / (zl * zl)
        series = np.abs(zl) * (1.0 - inv_sq + 3.0 * inv_sq**2) / (1.0 - 3.0 * inv_sq + 15.0 * inv_sq**2)
        grad[~upper] = np.where(zl > -_SERIES_BELOW, 1.0 / (abs_z * np.expm1(-w)), series)
    return value, grad


def _log1mexp(w: np.ndarray) -> np.ndarray:
    """``log(1 - exp(w))`` for w < 0, accurate near 0 and far below it."""
    return np.where(w > -math.log(2.0), np.log(-np.expm1(w)), np.log1p(-np.exp(w)))


class LogExpectedImprovement:
    """Analytic log expected improvement over ``best_f`` (maximisation), as BoTorch's
    ``LogExpectedImprovement``: ``log_h((mu - best_f) / sigma) + log sigma``."""

    title = "log expected improvement"

    def __init__(self, model: SurrogateModel, best_f: float) -> None:
        self.model = model
        self.best_f = float(best_f)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        posterior = self.model.posterior_np(X)
        sigma = np.sqrt(posterior.var)
        return log_h((posterior.mean - self.best_f) / sigma) + np.log(sigma)

    def value_and_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        posterior = self.model.posterior_np(X, with_grad=True)
        sigma = np.sqrt(posterior.var)
        z = (posterior.mean - self.best_f) / sigma
        value, d_z = log_h_and_grad(z)
        # z = (mu - f) / sqrt(var): dz/dmu = 1/sigma, dz/dvar = -z / (2 var); d(log sigma)/dvar = 1 / (2 var).
        d_mean = d_z / sigma
        d_var = (1.0 - d_z * z) / (2.0 * posterior.var)
        return value + np.log(sigma), posterior.backward(d_mean, d_var)

    def describe(self, value: float, y_std: float) -> tuple[str, dict[str, Any]]:
        """``value`` is a log-EI in standardised units; ``y_std`` turns the EI into the objective's."""
        improvement = math.exp(value) * y_std
        details = {"acquisition": "LogEI", "log_ei": float(value), "expected_improvement": improvement}
        return f"expected improvement {improvement:.1e}", details


class UpperConfidenceBound:
    """``mu + sqrt(beta) sigma``."""

    title = "upper confidence bound"

    def __init__(self, model: SurrogateModel, beta: float = 4.0) -> None:
        self.model = model
        self.root_beta = math.sqrt(beta)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        posterior = self.model.posterior_np(X)
        return posterior.mean + self.root_beta * np.sqrt(posterior.var)

    def value_and_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        posterior = self.model.posterior_np(X, with_grad=True)
        sigma = np.sqrt(posterior.var)
        d_var = self.root_beta / (2.0 * sigma)
        return posterior.mean + self.root_beta * sigma, posterior.backward(np.ones_like(sigma), d_var)

    def describe(self, value: float, y_std: float) -> tuple[str, dict[str, Any]]:
        return "highest upper confidence bound", {"acquisition": "UCB", "ucb": float(value)}


#: The acquisitions a sampler can be asked for by name: each builds the acquisition
#: from a fitted model and the incumbent (the best standardised score, maximisation).
ACQUISITIONS: dict[str, Callable[[SurrogateModel, float], Acquisition]] = {
    "logei": lambda model, best_f: LogExpectedImprovement(model, best_f),
    # beta = 4: the mean plus two posterior standard deviations.
    "ucb": lambda model, best_f: UpperConfidenceBound(model, beta=4.0),
}


def check_acquisition(name: Any) -> str:
    """``name`` if :data:`ACQUISITIONS` has it; otherwise a ``ValueError`` naming the choices."""
    if not isinstance(name, str) or name not in ACQUISITIONS:
        raise ValueError(f"`acquisition` must be one of {tuple(ACQUISITIONS)}, but got acquisition={name!r}.")
    return name


def make_acquisition(name: str, model: SurrogateModel, best_f: float) -> Acquisition:
    """The acquisition ``name`` (a key of :data:`ACQUISITIONS`) on ``model``, improving on ``best_f``."""
    return ACQUISITIONS[check_acquisition(name)](model, best_f)
