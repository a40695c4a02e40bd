"""Samplers propose configurations from a study's history (see :mod:`.base`).

``BoTorchSampler`` lives in :mod:`jupyter_metahpo.samplers.botorch` and is imported
lazily, so importing this package does not import torch.
"""

from .base import History, Sampler, Suggestion
from .default import DefaultSampler, default_n_initial
from .random import RandomSampler, SobolSampler

__all__ = [
    "History",
    "Sampler",
    "Suggestion",
    "DefaultSampler",
    "default_n_initial",
    "RandomSampler",
    "SobolSampler",
    "BoTorchSampler",
]


def __getattr__(name: str):
    if name == "BoTorchSampler":
        from .botorch import BoTorchSampler

        return BoTorchSampler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
