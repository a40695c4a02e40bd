"""Deprecated: ``BoTorchSampler`` is :class:`~jupyter_metahpo.samplers.gp.GPSampler`.

The sampler never ran BoTorch (its GP, acquisition and search are our own NumPy code,
see :mod:`.gp`), so it was renamed. This alias keeps old code working; it warns once
per construction and proposes exactly what :class:`GPSampler` proposes, with origin
``"gp"``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .gp import GPSampler

__all__ = ["BoTorchSampler"]


class BoTorchSampler(GPSampler):
    """Deprecated alias of :class:`~jupyter_metahpo.samplers.gp.GPSampler` (same arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            "BoTorchSampler is deprecated and will be removed: use jupyter_metahpo.samplers.GPSampler "
            "(the same sampler under an honest name; it does not run BoTorch).",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(*args, **kwargs)
