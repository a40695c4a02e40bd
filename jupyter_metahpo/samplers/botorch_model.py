"""The GP sampler's GP as a BoTorch model, so that BoTorch's acquisitions and optimisers run on it.

:class:`GPModel` wraps a fitted :class:`~._gp.ExactGP` as a ``botorch.models.model.Model``
whose ``posterior(X)`` is a ``GPyTorchPosterior`` over the joint
``MultivariateNormal`` of the latent function at the ``q`` points of each batch,
differentiable in ``X``. BoTorch's analytic acquisitions (``LogExpectedImprovement``),
its Monte-Carlo ones (``qLogNoisyExpectedImprovement``, which sample the joint
posterior) and ``optimize_acqf`` then work on the GP unchanged: this is the way to
q-batch proposals with BoTorch's own machinery.

:class:`TorchAcquisition` goes the other way: it lets a torch acquisition function
(e.g. a BoTorch one on a :class:`GPModel`) be maximised by the samplers' own mixed
search (:func:`~.optimize.maximize_acquisition`).

Importing this module imports torch, BoTorch and gpytorch; nothing in the package
imports it except on first use of ``jupyter_metahpo.samplers.GPModel``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from botorch.models.model import Model
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultivariateNormal
from linear_operator import to_linear_operator

from ._gp import ExactGP

__all__ = ["GPModel", "TorchAcquisition"]


class GPModel(Model):
    """A fitted :class:`~._gp.ExactGP` seen as a single-output BoTorch model.

    Parameters
    ----------
    gp:
        The fitted GP. Its hyperparameters and training data stay fixed: this model is
        for acquisition, not for fitting (``fit_gpytorch_mll`` has nothing to fit).
    jitter:
        Added to the diagonal of every joint covariance. None by default: BoTorch
        factorises the covariance with ``psd_safe_cholesky``, which adds jitter itself
        where rounding leaves it indefinite, so the marginal variances stay exactly the
        GP's.

    The posterior is that of the latent function, in the GP's standardised units
    (no outcome transform); ``observation_noise=True`` adds the GP's fitted noise.
    """

    def __init__(self, gp: ExactGP, jitter: float = 0.0) -> None:
        super().__init__()
        if not isinstance(gp, ExactGP):
            raise TypeError(f"`gp` must be a fitted ExactGP (from fit_gp), but got {type(gp).__name__}.")
        if not jitter >= 0.0:
            raise ValueError(f"`jitter` must be >= 0, but got jitter={jitter!r}.")
        self.gp = gp
        self.jitter = float(jitter)

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size([])

    def posterior(
        self,
        X: torch.Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | torch.Tensor = False,
        posterior_transform: Any = None,
        **kwargs: Any,
    ) -> GPyTorchPosterior:
        """The joint posterior at ``X`` (``batch x q x d``, or ``q x d``): mean ``batch x q x 1``."""
        if output_indices is not None and list(output_indices) != [0]:
            raise ValueError(f"GPModel has one output (index 0), but got output_indices={output_indices!r}.")
        if not isinstance(observation_noise, bool):
            raise ValueError("GPModel infers its noise: `observation_noise` must be True or False, not a tensor.")
        X = X.to(self.gp.X.dtype)
        mean, covariance = self.gp.joint_posterior(X)
        diagonal = self.jitter + (self.gp.noise if observation_noise else 0.0)
        if diagonal:
            covariance = covariance + diagonal * torch.eye(X.shape[-2], dtype=X.dtype)
        posterior = GPyTorchPosterior(MultivariateNormal(mean, to_linear_operator(covariance)))
        return posterior_transform(posterior) if posterior_transform is not None else posterior


class TorchAcquisition:
    """An acquisition given as a torch function ``(k, d) -> (k,)``, as the samplers'
    optimisers take it (:class:`~.acquisition.Acquisition`), differentiated by autograd.

    For BoTorch's acquisitions, which take ``(k, q, d)``, pass ``lambda x: acqf(x.unsqueeze(-2))``.
    """

    title = "acquisition"

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

    def describe(self, value: float, y_std: float) -> tuple[str, dict[str, Any]]:
        return "highest acquisition value", {"acquisition": "torch", "value": float(value)}
