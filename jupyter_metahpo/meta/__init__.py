"""Meta-learning: describe a task, learn from past studies, propose where to start.

- :mod:`.features`: task meta-features from ``(X, y)`` (the ``"mhpo-v1"`` set) and a
  data fingerprint.
- :mod:`.compat`: carry a past study into a new search space (match by name and
  kind, clip or drop out-of-bounds values, report what was dropped).
- :mod:`.strategies`: warm-start strategies behind one interface
  (``propose(task, space, past, k)``, :mod:`.base`): nearest tasks (:mod:`.nearest`),
  a greedy portfolio, the neural meta-model (:mod:`.neural`, torch) and the default
  that combines them; :mod:`.similarity` compares tasks.
- :mod:`.matching`: which parameter of a past space informs which of a new one (by
  name, estimator argument or alias), and how values convert between kinds.

Where past studies come from, and how a study uses them, is the study pipeline's job
(:mod:`jupyter_metahpo.pipeline`, one level up); ``jupyter_metahpo.suggest`` asks a
strategy without running anything.

Importing this package is light: torch loads only when the neural model is fitted, and
scikit-learn and pandas when meta-features are first computed.
"""

from __future__ import annotations

from .compat import TransferReport, TransferredStudy, transfer_studies, transfer_study
from .features import META_FEATURE_NAMES, META_FEATURE_SET, MetaFeatures, compute_meta_features, data_fingerprint
from .strategies import (
    DefaultStrategy,
    GreedyPortfolio,
    NearestTasks,
    NeuralMetaModel,
    Proposal,
    TaskDescription,
    WarmStartStrategy,
    make_strategy,
)

__all__ = [
    "META_FEATURE_NAMES",
    "META_FEATURE_SET",
    "MetaFeatures",
    "compute_meta_features",
    "data_fingerprint",
    "TransferReport",
    "TransferredStudy",
    "transfer_study",
    "transfer_studies",
    "TaskDescription",
    "Proposal",
    "WarmStartStrategy",
    "NearestTasks",
    "GreedyPortfolio",
    "DefaultStrategy",
    "NeuralMetaModel",
    "make_strategy",
]

