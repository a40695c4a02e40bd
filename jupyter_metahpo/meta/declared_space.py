"""The search space an Optuna-style objective declares, read from its source before any trial runs.

:func:`space_from_suggest_calls` reads the objective with the helpers it calls
(:func:`.source.objective_with_helpers`) and the space its ``trial.suggest_*`` calls declare
(:func:`jupyter_metahpo.suggest_calls.declared_space`, where the rules are);
:func:`given_or_declared_space` is what ``tune`` and ``suggest`` do with their ``space``
argument.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from ..space import SearchSpace, as_search_space
from ..suggest_calls import HANDLE_PARAMETERS, SuggestCallError, declared_space
from .source import objective_with_helpers

__all__ = ["declares_by_calls", "given_or_declared_space", "space_from_suggest_calls"]


def space_from_suggest_calls(objective: Callable[..., Any]) -> SearchSpace | None:
    """The space ``objective``'s ``trial.suggest_*`` calls declare: its own in the order written, then its helpers'.

    ``None`` when the objective takes no ``trial`` (or ``hp``) parameter, its source cannot be read
    or it makes no such call. A call whose name or bounds are not constants, calls that
    give one name two different distributions, or a malformed call raise
    :class:`~jupyter_metahpo.suggest_calls.SuggestCallError` naming the call.
    """
    if not _takes_trial(objective):
        return None
    found = objective_with_helpers(objective)
    return None if found is None else declared_space(*found)


#: Whether each objective declares a space with its calls (:func:`declares_by_calls`), kept while it lives.
_DECLARES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def declares_by_calls(objective: Callable[..., Any]) -> bool:
    """Whether ``objective`` (with its helpers) makes suggest or KerasTuner calls: a malformed one counts too. An
    objective taking ``hp`` gets the trial's handle only then; a ``def train(hp)`` that reads ``hp["lr"]`` is given
    its configuration as a dict, as before ``hp`` named a handle."""
    try:
        return _DECLARES[objective]
    except (KeyError, TypeError):
        pass
    try:
        declares = space_from_suggest_calls(objective) is not None
    except SuggestCallError:
        declares = True
    try:
        _DECLARES[objective] = declares
    except TypeError:  # an object that takes no weak reference
        pass
    return declares


def given_or_declared_space(space: Mapping[str, Any] | SearchSpace | None, objective: Any, caller: str) -> SearchSpace:
    """``space`` as a :class:`SearchSpace`; when it is None, the one ``objective`` declares by its suggest calls
    (a TypeError that says how to give one when it declares none). ``caller`` names the function for the message."""
    if space is not None:
        return as_search_space(space)
    declared = space_from_suggest_calls(objective) if callable(objective) else None
    if declared is None:
        raise TypeError(
            f"{caller}() needs a search space: pass one ({caller}(..., space={{'lr': loguniform(1e-4, 1e-1)}})), or "
            "an objective that declares it Optuna's way (def objective(trial): lr = trial.suggest_float('lr', 1e-4, "
            "1e-1, log=True)) or KerasTuner's (def objective(hp): lr = hp.Float('lr', 1e-4, 1e-1, sampling='log'))."
        )
    return declared


def _takes_trial(objective: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(objective).parameters
    except (TypeError, ValueError):
        return False
    return any(name in parameters for name in HANDLE_PARAMETERS)
