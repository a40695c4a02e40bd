"""scikit-learn's ``param_distributions`` as a search space, so that ``MetaSearchCV`` takes what
``RandomizedSearchCV`` takes.

``RandomizedSearchCV(SVC(), {"C": scipy.stats.loguniform(1e-2, 1e3), "kernel": ["rbf", "poly"]})``
gives each parameter a frozen ``scipy.stats`` distribution or a list of values. A search that models
its space needs bounds and a scale, so the distributions that say them are read as the ones of
:mod:`.space`: ``loguniform(a, b)`` (or its older name ``reciprocal``) as ``loguniform(a, b)``,
``uniform(loc, scale)`` as ``uniform(loc, loc + scale)``, ``randint(low, high)`` as
``intrange(low, high - 1)`` (its ``high`` is left out), each with its ``loc`` and ``scale`` applied
(their support); a list, tuple or array of values as ``choice`` of them. Any other distribution
(``norm``, ``expon`` ...) has no bounds or no scale of ours and is refused, naming the parameter and
what to write instead. Nothing is imported: a distribution is recognised by its ``dist.name``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .space import Parameter, SearchSpace, choice, intrange, loguniform, uniform

__all__ = ["from_param_distributions"]

#: scipy.stats distributions read as ours, by their ``dist.name``.
_CONTINUOUS = {"uniform": uniform, "loguniform": loguniform, "reciprocal": loguniform}
_DISCRETE = {"randint"}


def from_param_distributions(distributions: Mapping[str, Any] | SearchSpace) -> SearchSpace | Mapping[str, Any]:
    """``distributions`` with each frozen ``scipy.stats`` distribution and each list of values turned into ours
    (see the module docstring); a ``SearchSpace``, or a dict of our distributions, as it is."""
    if isinstance(distributions, SearchSpace) or not isinstance(distributions, Mapping):
        return distributions
    return {name: _parameter(name, value) for name, value in distributions.items()}


def _parameter(name: Any, value: Any) -> Any:
    if isinstance(value, Parameter):
        return value
    dist = getattr(value, "dist", None)
    if dist is not None and hasattr(value, "support") and hasattr(value, "rvs"):
        return _from_scipy(name, value, str(getattr(dist, "name", type(dist).__name__)))
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        options = [v.item() if isinstance(v, np.generic) else v for v in value]
        try:
            return choice(*options)
        except (TypeError, ValueError) as error:
            raise type(error)(f"space[{name!r}], a list of values, cannot be a choice: {error}") from None
    return value  # SearchSpace says what is wrong with anything else


def _from_scipy(name: Any, frozen: Any, dist_name: str) -> Parameter:
    low, high = (float(bound) for bound in frozen.support())
    if dist_name in _CONTINUOUS:
        return _CONTINUOUS[dist_name](low, high)
    if dist_name in _DISCRETE:
        return intrange(int(low), int(high))
    raise TypeError(
        f"space[{name!r}] is scipy.stats.{dist_name}, which has no bounds or scale a search can model; use "
        "scipy.stats.uniform, loguniform or randint, a list of values, or jupyter_metahpo's uniform(low, high), "
        "loguniform(low, high), intrange(low, high) or choice(...)."
    )

