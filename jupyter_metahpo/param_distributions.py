"""scikit-learn's ``param_distributions`` as a search space, so that ``MetaSearchCV`` takes what
``RandomizedSearchCV`` takes.

``RandomizedSearchCV(SVC(), {"C": scipy.stats.loguniform(1e-2, 1e3), "kernel": ["rbf", "poly"]})``
gives each parameter a frozen ``scipy.stats`` distribution or a list of values. A search that models
its space needs bounds and a scale, so the distributions that say them are read as the ones of
:mod:`.space` (:func:`.space.from_scipy_distribution`, which every search space applies:
``loguniform(a, b)`` as ``loguniform(a, b)``, ``uniform(loc, scale)`` as ``uniform(loc, loc + scale)``,
``randint(low, high)`` as ``intrange(low, high - 1)``; any other is refused, naming the parameter);
here also a list, tuple or array of values as ``choice`` of them, which ``tune``'s spaces do not take
(a pair of numbers there could be a range as well as two options).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .space import Parameter, SearchSpace, choice, from_scipy_distribution

__all__ = ["from_param_distributions"]


def from_param_distributions(distributions: Mapping[str, Any] | SearchSpace) -> SearchSpace | Mapping[str, Any]:
    """``distributions`` with each frozen ``scipy.stats`` distribution and each list of values turned into ours
    (see the module docstring); a ``SearchSpace``, or a dict of our distributions, as it is."""
    if isinstance(distributions, SearchSpace) or not isinstance(distributions, Mapping):
        return distributions
    return {name: _parameter(name, value) for name, value in distributions.items()}


def _parameter(name: Any, value: Any) -> Any:
    if isinstance(value, Parameter):
        return value
    value = from_scipy_distribution(name, value, lists=True)
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        options = [v.item() if isinstance(v, np.generic) else v for v in value]
        try:
            return choice(*options)
        except (TypeError, ValueError) as error:
            raise type(error)(f"space[{name!r}], a list of values, cannot be a choice: {error}") from None
    return value  # ours, or what SearchSpace says is wrong
