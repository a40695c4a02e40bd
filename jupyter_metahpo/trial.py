"""Trials as frozen snapshots: what was tried, where it came from, and how it ended.

A ``FrozenTrial`` never changes after it is made; the study replaces a running trial
by a finished one. Callbacks, widgets and the store only ever see these snapshots.
"""

from __future__ import annotations

import enum
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

__all__ = [
    "TrialState", "Origin", "FrozenTrial", "Direction", "TrialPruned", "pruned_exceptions", "best_trial",
    "BestTrialMixin", "check_callback_arguments", "report_epoch",
]


class TrialPruned(Exception):
    """Raise it inside an objective to end the trial early, as pruned (Optuna's name).

    The trial keeps the values it reported (``trial.report(value, step)``) and ends with
    state ``"pruned"`` and its last reported value. The usual pattern::

        def train(lr, trial):
            for epoch in range(30):
                score = fit_one_epoch(lr)
                trial.report(score, epoch)
                if trial.should_prune():
                    raise TrialPruned()
            return score

    A message given here is kept as the trial's ``prune_reason`` when no pruner gave one.
    """


def check_callback_arguments(callback: str, trial: Any, monitor: Any) -> None:
    """For a library's pruning callback (``KerasPruningCallback``, ``LightningPruningCallback``): ``trial`` must be
    the handle an objective gets (``report`` and ``should_prune``), ``monitor`` a metric's name."""
    if not (callable(getattr(trial, "report", None)) and callable(getattr(trial, "should_prune", None))):
        raise TypeError(
            f"{callback} needs the trial handle (an objective's parameter named trial), but got {trial!r} "
            f"({type(trial).__name__}): write def train(..., trial) and pass that trial."
        )
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"monitor must be the name of a logged metric, such as 'val_loss', but got {monitor!r}.")


def report_epoch(trial: Any, monitor: str, value: float, epoch: int) -> None:
    """Report a callback's ``monitor`` after ``epoch`` to ``trial``, and raise :class:`TrialPruned` when the study's
    pruner says to stop there."""
    trial.report(value, epoch)
    if trial.should_prune():
        raise TrialPruned(f"pruned after epoch {epoch} ({monitor}={value:.4g})")


def pruned_exceptions() -> tuple[type[BaseException], ...]:
    """The exceptions that end a trial as pruned: :class:`TrialPruned`, and Optuna's own when Optuna is loaded
    (an objective written for Optuna raises ``optuna.TrialPruned``; it is not imported here for that)."""
    optuna = sys.modules.get("optuna")
    theirs = getattr(getattr(optuna, "exceptions", None), "TrialPruned", None)
    return (TrialPruned,) if theirs is None else (TrialPruned, theirs)


class TrialState(str, enum.Enum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    #: Stopped early (``raise TrialPruned()``): its value is the last one it reported,
    #: a partial result, so it is never the best trial and never a past study's result.
    PRUNED = "pruned"

    def __str__(self) -> str:
        return self.value

    @property
    def is_finished(self) -> bool:
        return self is not TrialState.RUNNING


class Direction(str, enum.Enum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | Direction) -> Direction:
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ValueError(f"`direction` must be 'minimize' or 'maximize', but got {value!r}.") from None

    def is_better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b``."""
        return a > b if self is Direction.MAXIMIZE else a < b


def _frozen_mapping(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


#: Origin sources renamed since they were first stored, read under their new name:
#: the GP sampler was ``BoTorchSampler`` with source ``"botorch"``, though it never ran BoTorch.
RENAMED_SOURCES = {"botorch": "gp"}


@dataclass(frozen=True)
class Origin:
    """Where a configuration came from, and why it was chosen.

    ``source`` is a short machine-readable name (``"sobol"``, ``"random"``,
    ``"gp"``, ``"transfer"``, ``"warm-start"``, ``"manual"``, ``"imported"``); ``reason`` is one
    sentence for a person; ``details`` holds structured provenance such as the source
    tasks of a warm start, their similarity and the predicted value.
    """

    source: str
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _frozen_mapping(self.details))

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason, "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Origin:
        source = str(data["source"])
        source = RENAMED_SOURCES.get(source, source)  # stored by an older version
        return cls(source=source, reason=str(data.get("reason", "")), details=data.get("details") or {})


@dataclass(frozen=True)
class FrozenTrial:
    """An immutable snapshot of one trial.

    ``value`` is the optimised metric of a complete trial; ``metrics`` keeps every
    number the objective returned. ``error`` holds the failure of a failed trial as
    text (exception type, message and traceback). Times are seconds since the epoch;
    ``suggest_seconds`` is how long the sampler took to propose this configuration.

    ``number`` is the trial's 0-based index in its study, as stored; people read trial
    numbers from 1 (``number + 1``) in every table, plot and progress line.
    ``output`` is what the objective printed (stdout and stderr, its end when long) and
    ``warnings`` the distinct warnings it raised (``"Category: message"``), kept here
    rather than shown in the notebook, where they would bury the progress display.

    ``intermediate_values`` is the trial's learning curve, step to value, as the
    objective reported it (``trial.report(value, step)``; Optuna's name); a value that
    was not finite (a diverged loss) is kept as NaN. ``prune_reason`` says why a pruned
    trial was stopped (the pruner's verdict, e.g. ``"predicted final 0.81 ± 0.02 < best
    0.93, from 14 past curves"``).
    """

    number: int
    config: Mapping[str, Any]
    state: TrialState
    origin: Origin
    value: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    suggest_seconds: float | None = None
    output: str | None = None
    warnings: tuple[str, ...] = ()
    intermediate_values: Mapping[int, float] = field(default_factory=dict)
    prune_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", _frozen_mapping(self.config))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "metrics", _frozen_mapping(self.metrics))
        object.__setattr__(self, "state", TrialState(self.state))
        if not isinstance(self.intermediate_values, MappingProxyType):
            object.__setattr__(self, "intermediate_values", _curve(self.intermediate_values))
        if self.state is TrialState.COMPLETE and (self.value is None or not math.isfinite(self.value)):
            raise ValueError(f"a complete trial needs a finite value, but trial {self.number} has {self.value!r}.")

    @property
    def last_step(self) -> int | None:
        """The last step the trial reported (``None`` before its first report)."""
        return max(self.intermediate_values) if self.intermediate_values else None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def finish(self, **changes: Any) -> FrozenTrial:
        """A copy with the given fields changed (used by the study to close a trial)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "config": dict(self.config),
            "state": self.state.value,
            "origin": self.origin.to_dict(),
            "value": self.value,
            "metrics": dict(self.metrics),
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "suggest_seconds": self.suggest_seconds,
            # Written only when there is something to keep, so that quiet trials are stored as before.
            **({"output": self.output} if self.output else {}),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
            **({"intermediate_values": curve_to_json(self.intermediate_values)} if self.intermediate_values else {}),
            **({"prune_reason": self.prune_reason} if self.prune_reason else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FrozenTrial:
        return cls(
            number=int(data["number"]),
            # JSON has no tuples: a list in a stored config is a tuple option of a choice (layer sizes).
            config={name: tuple(v) if isinstance(v, list) else v for name, v in data["config"].items()},
            state=TrialState(data["state"]),
            origin=Origin.from_dict(data["origin"]),
            value=None if data.get("value") is None else float(data["value"]),
            metrics=data.get("metrics") or {},
            error=data.get("error"),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            suggest_seconds=data.get("suggest_seconds"),
            output=data.get("output") if isinstance(data.get("output"), str) else None,
            warnings=_texts(data.get("warnings")),
            intermediate_values=curve_from_json(data.get("intermediate_values")),
            prune_reason=data.get("prune_reason") if isinstance(data.get("prune_reason"), str) else None,
        )


def _curve(values: Mapping[int, float] | None) -> Mapping[int, float]:
    """A learning curve as a read-only mapping in step order: int steps, float values (NaN kept)."""
    pairs = sorted((int(step), float(value)) for step, value in dict(values or {}).items())
    return MappingProxyType(dict(pairs))


def curve_to_json(curve: Mapping[int, float]) -> list[list[Any]]:
    """A learning curve as JSON: ``[[step, value], ...]`` in step order, a non-finite value as ``null``
    (JSON has no NaN; object keys would have to be strings)."""
    return [[step, value if math.isfinite(value) else None] for step, value in curve.items()]


def curve_from_json(data: Any) -> dict[int, float]:
    """The inverse of :func:`curve_to_json` (``null`` back to NaN); anything malformed reads as no curve."""
    if not isinstance(data, list):
        return {}
    curve: dict[int, float] = {}
    for pair in data:
        if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) is int):
            return {}
        value = pair[1]
        if value is None:
            curve[pair[0]] = math.nan
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            curve[pair[0]] = float(value)
        else:
            return {}
    return curve


def _texts(value: Any) -> tuple[str, ...]:
    """A stored list of strings as a tuple (anything else, from a damaged record, as none)."""
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def best_trial(trials, direction: Direction) -> FrozenTrial | None:
    """The best complete trial (the earliest among equals), or ``None``."""
    best = None
    for trial in trials:
        if trial.state is TrialState.COMPLETE and (best is None or direction.is_better(trial.value, best.value)):
            best = trial
    return best


class BestTrialMixin:
    """``best_trial``, ``best_value`` and ``best_config`` for anything with ``trials`` and ``direction``."""

    trials: tuple[FrozenTrial, ...]
    direction: Direction

    @property
    def best_trial(self) -> FrozenTrial | None:
        return best_trial(self.trials, self.direction)

    @property
    def best_value(self) -> float | None:
        best = self.best_trial
        return None if best is None else best.value

    @property
    def best_config(self) -> dict[str, Any] | None:
        best = self.best_trial
        return None if best is None else dict(best.config)
