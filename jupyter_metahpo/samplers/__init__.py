"""Samplers propose configurations from a study's history (see :mod:`.base`).

The model-based ones are layered as BoTorch's are: models (:mod:`.models`), acquisition
functions (:mod:`.acquisition`) and acquisition optimisers (:mod:`.optimize`).

``GPSampler`` (:mod:`.gp`) loads torch when it first fits a GP, and ``GPModel``
(:mod:`.botorch_model`, the GP as a BoTorch model) loads BoTorch when first used, so
importing this package imports neither.
"""

from .._imports import LazyImport
from .base import History, Sampler, Suggestion
from .botorch import BoTorchSampler
from .default import DefaultSampler, default_n_initial
from .gp import GPSampler
from .random import RandomSampler, SobolSampler

# GPModel subclasses BoTorch's Model, so its module imports BoTorch: on first use only.
_botorch_model = LazyImport("jupyter_metahpo.samplers.botorch_model", install='pip install "jupyter-metahpo[botorch]"')

__all__ = [
    "History",
    "Sampler",
    "Suggestion",
    "DefaultSampler",
    "default_n_initial",
    "RandomSampler",
    "SobolSampler",
    "GPSampler",
    "BoTorchSampler",
    "GPModel",
]

def __getattr__(name: str):
    if name == "GPModel":
        return _botorch_model.GPModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
