"""jupyter-metahpo: meta-learning hyperparameter optimisation in one notebook cell.

Importing this package is cheap: torch and botorch load only when a model-based
sampler first needs them, so ``%load_ext jupyter_metahpo`` stays quick.
"""

from __future__ import annotations

from ._version import __version__
from .api import tune
from .result import TuningResult
from .samplers import DefaultSampler, RandomSampler, Sampler, SobolSampler
from .space import SearchSpace, choice, intrange, loguniform, uniform
from .study import ObjectiveFailedError, StopSignal, Study, StudySnapshot
from .trial import FrozenTrial, Origin, TrialState


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
    "ExperienceStore",
    "suggest",
    "MetaSearchCV",
    "race",
]


def __getattr__(name: str):
    # The store (TinyDB, filelock) loads on first use, not on ``import jupyter_metahpo``.
    if name == "ExperienceStore":
        from .store import ExperienceStore

        return ExperienceStore
    if name == "suggest":  # meta-learning (numpy, scikit-learn) loads on first use
        from .suggestions import suggest

        return suggest
    if name == "race":  # ipywidgets and IPython load on first use
        from .racing import race

        return race
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
