"""The optimiser a past study ran, as an option of a new study's choice of optimiser.

Optuna's PyTorch example chooses its optimiser (``getattr(optim, optimizer_name)`` with
``optimizer_name`` one of ``"Adam"``, ``"RMSprop"``, ``"SGD"``); the bundled prior's torch
MLP studies never varied theirs: every trial ran AdamW. Their learning rates are AdamW's,
so their configurations are carried over in the option that runs that update, not in one
drawn from the space's design (SGD at a learning rate found for AdamW barely trains in 20
epochs: ``benchmarks/results/optuna_style_optimizer.md``). :func:`past_optimizer` says what a
past study ran; :func:`nearest_option` which option of the user's choice runs it, or its
nearest kin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..builtin_spaces import BUILTIN_SPACES
from ..experience import PastStudy
from .source import ObjectiveSource

__all__ = ["AsItRan", "nearest_option", "past_optimizer"]

#: Optimisers whose update is another's up to its weight decay: AdamW is Adam with the decay decoupled from
#: the gradient's moments (Loshchilov & Hutter), and the two are the same update without decay.
_KIN = {
    "adamw": ("Adam", "Adam is AdamW's update without its decoupled weight decay"),
    "adam": ("AdamW", "AdamW is Adam's update with the weight decay decoupled"),
}


class AsItRan(NamedTuple):
    """The option of the user's choice that runs what every trial of a past study ran (``ran``), or its nearest
    kin (``kin`` says why; ``""`` for the very one)."""

    option: Any
    ran: str
    kin: str = ""

    def describe(self, name: str) -> str:
        """``optimizer='Adam': the nearest to the AdamW the past study ran (Adam is ...)``, for a proposal's reason."""
        if not self.kin:
            return f"{name}={self.option!r}: as the past study ran it"
        return f"{name}={self.option!r}: the nearest to the {self.ran} the past study ran ({self.kin})"


def past_optimizer(past: PastStudy, theirs: ObjectiveSource | None) -> str | None:
    """The ``torch.optim`` optimiser every trial of ``past`` ran, as torch names it; None when not known.

    A built-in space says it (:attr:`.BuiltinSpace.optimizer`); another study's recorded source
    when it calls exactly one named ``torch.optim`` optimiser (a study that chose one has it
    as a parameter, and is not asked).
    """
    builtin = BUILTIN_SPACES.get(str(past.extra.get("space_name", "")))
    if builtin is not None:
        return builtin.optimizer
    if theirs is None:
        return None
    named = {e.rpartition(".")[2] for e in theirs.estimators if e.startswith("torch.optim.")}
    named.discard("Optimizer")  # chosen when a trial ran: not one for every trial
    return named.pop() if len(named) == 1 else None


def nearest_option(ran: str, options: Sequence[Any]) -> AsItRan | None:
    """The option of a choice of optimisers (``"Adam"``, ``"SGD"``, ...) that runs ``ran``, else the one that
    runs its nearest kin; None when neither is an option."""
    by_name = {o.lower(): o for o in options if isinstance(o, str)}
    if ran.lower() in by_name:
        return AsItRan(by_name[ran.lower()], ran)
    kin = _KIN.get(ran.lower())
    if kin is not None and kin[0].lower() in by_name:
        return AsItRan(by_name[kin[0].lower()], ran, kin[1])
    return None
