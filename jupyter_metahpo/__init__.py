"""jupyter-metahpo: meta-learning hyperparameter optimisation in one notebook cell.

Importing this package is cheap: torch, scikit-learn, pandas and ipywidgets load when
they are first used (:class:`jupyter_metahpo._imports.LazyImport`), and BoTorch only
when ``GPModel`` is used, so ``%load_ext jupyter_metahpo`` stays quick. This module
re-exports the public API, each name loaded from its module on first use
(``from jupyter_metahpo import tune`` imports what ``tune`` needs, ``import
jupyter_metahpo`` alone nearly nothing); it is the one module that names every layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__

# Where each public name lives. The names load on first use (PEP 562), so that
# ``import jupyter_metahpo`` alone (what a Jupyter server pays for the server extension,
# ``jupyter_metahpo.server``, since Python imports the package root first) costs no
# scipy, samplers or store: measured 0.53 s before, see tests/test_import_layers.py.
_EXPORTS: dict[str, str] = {
    "tune": "api",
    "TuningResult": "result",
    "DefaultSampler": "samplers",
    "GPSampler": "samplers",
    "RandomSampler": "samplers",
    "Sampler": "samplers",
    "SobolSampler": "samplers",
    "SearchSpace": "space",
    "choice": "space",
    "intrange": "space",
    "loguniform": "space",
    "uniform": "space",
    "ExperienceStore": "store",
    "ObjectiveFailedError": "study",
    "StopSignal": "study",
    "Study": "study",
    "StudyInterrupted": "study",
    "StudySnapshot": "study",
    "suggest": "suggestions",
    "MedianPruner": "pruners",
    "MetaLearnedPruner": "pruners",
    "NopPruner": "pruners",
    "Pruner": "pruners",
    "SuccessiveHalvingPruner": "pruners",
    "Trial": "reporting",
    "FrozenTrial": "trial",
    "Origin": "trial",
    "TrialPruned": "trial",
    "TrialState": "trial",
    # MetaSearchCV subclasses scikit-learn's BaseSearchCV; the race draws itself with
    # ipywidgets and IPython: all the more reason to load them on first use.
    "MetaSearchCV": "search_cv",
    "race": "racing",
}

if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported plainly
    from .api import tune
    from .pruners import MedianPruner, MetaLearnedPruner, NopPruner, Pruner, SuccessiveHalvingPruner
    from .racing import race
    from .reporting import Trial
    from .result import TuningResult
    from .samplers import DefaultSampler, GPSampler, RandomSampler, Sampler, SobolSampler
    from .search_cv import MetaSearchCV
    from .space import SearchSpace, choice, intrange, loguniform, uniform
    from .store import ExperienceStore
    from .study import ObjectiveFailedError, StopSignal, Study, StudyInterrupted, StudySnapshot
    from .suggestions import suggest
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
    "ExperienceStore",
    "suggest",
    "MetaSearchCV",
    "race",
]


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'jupyter_metahpo' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module_name}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
