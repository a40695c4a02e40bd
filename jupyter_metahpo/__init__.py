"""jupyter-metahpo: meta-learning hyperparameter optimisation in one notebook cell.

Importing this package is cheap: torch, scikit-learn, pandas and ipywidgets load when
they are first used (:class:`jupyter_metahpo._imports.LazyImport`), and BoTorch only
when ``GPModel`` is used, so ``%load_ext jupyter_metahpo`` stays quick. This module
re-exports the public API; it is the one module that imports from every layer.
"""

from __future__ import annotations

from ._version import __version__
from .api import tune
from .result import TuningResult
from .samplers import DefaultSampler, GPSampler, RandomSampler, Sampler, SobolSampler
from .space import SearchSpace, choice, intrange, loguniform, uniform
from .store import ExperienceStore
from .study import ObjectiveFailedError, StopSignal, Study, StudyInterrupted, StudySnapshot
from .suggestions import suggest
from .pruners import MedianPruner, MetaLearnedPruner, NopPruner, Pruner, SuccessiveHalvingPruner
from .reporting import Trial
from .trial import FrozenTrial, Origin, TrialPruned, TrialState

__all__ = [
    "__version__",
    "tune",
    "TuningResult",
    "Study",
    "StudySnapshot",
    "StopSignal",
    "ObjectiveFailedError",
    "StudyInterrupted",
    "SearchSpace",
    "uniform",
    "loguniform",
    "intrange",
    "choice",
    "FrozenTrial",
    "Origin",
    "TrialState",
    "Trial",
    "TrialPruned",
    "Pruner",
    "NopPruner",
    "MedianPruner",
    "SuccessiveHalvingPruner",
    "MetaLearnedPruner",
    "Sampler",
    "DefaultSampler",
    "GPSampler",
    "RandomSampler",
    "SobolSampler",
    "GPSampler",
    "ExperienceStore",
    "suggest",
    "MetaSearchCV",
    "race",
]


def __getattr__(name: str):
    # MetaSearchCV subclasses scikit-learn's BaseSearchCV, so its module imports
    # scikit-learn: it loads on first use, not on ``import jupyter_metahpo``.
    if name == "MetaSearchCV":
        from .search_cv import MetaSearchCV

        return MetaSearchCV
    if name == "race":  # the race draws itself with ipywidgets and IPython: they load on first use
        from .racing import race

        return race
    raise AttributeError(f"module 'jupyter_metahpo' has no attribute {name!r}")


# The magics import IPython, which a script using tune() does not need: they load
# when the extension is loaded.
def load_ipython_extension(ipython):
    """``%load_ext jupyter_metahpo``: register ``%%metatune`` and friends (imports no torch)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    """``%unload_ext jupyter_metahpo``: remove the magics again."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
