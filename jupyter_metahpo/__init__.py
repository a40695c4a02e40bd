"""jupyter-metahpo: meta-learning hyperparameter optimisation in one notebook cell.

Importing this package is cheap: torch loads only when a model-based sampler first
needs it (and BoTorch only when ``GPModel`` is used), so ``%load_ext jupyter_metahpo``
stays quick.
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
    "GPSampler",
    "ExperienceStore",
    "suggest",
    "MetaSearchCV",
]


def __getattr__(name: str):
    if name == "GPSampler":  # torch loads on first use
        from .samplers import GPSampler

        return GPSampler
    # The store (TinyDB, filelock) loads on first use, not on ``import jupyter_metahpo``.
    if name == "ExperienceStore":
        from .store import ExperienceStore

        return ExperienceStore
    if name == "suggest":  # meta-learning (numpy, scikit-learn) loads on first use
        from .meta.suggest import suggest

        return suggest
    if name == "MetaSearchCV":  # scikit-learn loads on first use
        from .search_cv import MetaSearchCV

        return MetaSearchCV
    raise AttributeError(f"module 'jupyter_metahpo' has no attribute {name!r}")


def load_ipython_extension(ipython):
    """``%load_ext jupyter_metahpo``: register ``%%metatune`` and friends (imports no torch)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    """``%unload_ext jupyter_metahpo``: remove the magics again."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
