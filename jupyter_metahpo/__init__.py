"""jupyter-metahpo: meta-learning hyperparameter optimisation in one notebook cell.

Importing this package is cheap: torch and botorch load only when a model-based
sampler first needs them, so ``%load_ext jupyter_metahpo`` stays quick.
"""

from __future__ import annotations

from .api import tune
from .result import TuningResult
from .samplers import DefaultSampler, RandomSampler, Sampler, SobolSampler
from .space import SearchSpace, choice, intrange, loguniform, uniform
from .study import ObjectiveFailedError, StopSignal, Study, StudySnapshot
from .trial import FrozenTrial, Origin, TrialState

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "tune",
    "TuningResult",
    "Study",
    "StudySnapshot",
    "StopSignal",
    "ObjectiveFailedError",
    "SearchSpace",
    "uniform",
    "loguniform",
    "intrange",
    "choice",
    "FrozenTrial",
    "Origin",
    "TrialState",
    "Sampler",
    "DefaultSampler",
    "RandomSampler",
    "SobolSampler",
]
