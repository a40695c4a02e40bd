"""The optimiser and the activation a past study ran, as options of a new study's choice of them.

Optuna's PyTorch example chooses its optimiser (``getattr(optim, optimizer_name)`` with
``optimizer_name`` one of ``"Adam"``, ``"RMSprop"``, ``"SGD"``); the bundled prior's torch
MLP studies never varied theirs: every trial ran AdamW, with ReLU activations. Their learning
rates are AdamW's, so their configurations are carried over in the option that runs that
update, not in one drawn from the space's design (SGD at a learning rate found for AdamW
barely trains in 20 epochs: ``benchmarks/results/optuna_style_optimizer.md``); a choice of
activation the same way. :func:`past_class` says what a past study ran; :func:`nearest_option`
which option of the user's choice runs it, or, for an optimiser, its nearest kin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ..builtin_spaces import BUILTIN_SPACES
from ..experience import PastStudy
from .source import ObjectiveSource
from .torch_choices import ANY_OPTIMIZER, KINDS, OPTIMIZER, ChoiceKind

__all__ = ["AsItRan", "nearest_option", "past_class"]

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


def past_class(past: PastStudy, theirs: ObjectiveSource | None, kind: ChoiceKind = OPTIMIZER) -> str | None:
    """The class of ``kind``'s role (the optimiser, the activation) every trial of ``past`` ran, as its library names
    it (an activation as torch names its class); None when not known.

    A built-in space says it (:attr:`.BuiltinSpace.optimizer`, :attr:`.BuiltinSpace.activation`); another
    study's recorded source when it names exactly one class of that role and chose none (a study that chose
    one has it as a parameter, and is not asked), in either library: a PyTorch study's ``AdamW`` informs a
    Keras cell's choice of optimiser, a Keras study's ``Adam`` a PyTorch cell's.
    """
    builtin = BUILTIN_SPACES.get(str(past.extra.get("space_name", "")))
    if builtin is not None:
        return getattr(builtin, kind.role)
    kinds = [k for k in KINDS if k.role == kind.role]  # torch's and Keras's
    if theirs is None or any(role.target in {k.target for k in kinds} for role in theirs.roles):
        return None
    modules = {k.module for k in kinds}
    named = {path.rpartition(".")[2] for path in theirs.torch_classes if path.rpartition(".")[0] in modules}
    named.discard(ANY_OPTIMIZER)  # chosen when a trial ran: not one for every trial
    return named.pop() if len(named) == 1 else None


def nearest_option(ran: str, options: Sequence[Any], runs: Mapping[Any, str] | None = None) -> AsItRan | None:
    """The option of a choice of torch classes that runs ``ran``, else the one that runs its nearest kin (an
    optimiser's); None when neither is an option. ``runs`` says what an option runs where the objective says it
    (a table's key ``"adam"`` runs ``"Adam"``); another option runs the class of its own name (``getattr(optim,
    name)``)."""
    runs = runs or {}
    by_name: dict[str, Any] = {}
    for option in options:
        name = runs.get(option, option) if isinstance(option, (str, int, float)) else option
        if isinstance(name, str):
            by_name.setdefault(name.lower(), option)
    if ran.lower() in by_name:
        return AsItRan(by_name[ran.lower()], ran)
    kin = _KIN.get(ran.lower())
    if kin is not None and kin[0].lower() in by_name:
        return AsItRan(by_name[kin[0].lower()], ran, kin[1])
    return None
