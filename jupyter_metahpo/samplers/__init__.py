"""Samplers propose configurations from a study's history (see :mod:`.base`).

The model-based ones are layered as BoTorch's are: models (:mod:`.models`), acquisition
functions (:mod:`.acquisition`) and acquisition optimisers (:mod:`.optimize`).

``GPSampler`` (:mod:`.gp`), its deprecated alias ``BoTorchSampler`` and ``GPModel``
(:mod:`.botorch_model`, the GP as a BoTorch model) are imported lazily, so importing
this package does not import torch or BoTorch.
"""

import importlib

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
    "GPSampler",
    "BoTorchSampler",
    "GPModel",
]

#: Names loaded on first use, and the module of each (relative to this package).
_LAZY = {"GPSampler": ".gp", "BoTorchSampler": ".botorch", "GPModel": ".botorch_model"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
