"""Carry a past study into a new search space: match parameters by name and kind.

A past study can inform a new one only when every parameter of the new space exists
in the past study's space with the same kind (float, int or categorical). Extra
parameters of the past study are ignored (their values are forgotten). A value
outside the new bounds is clipped when it lies close to them (within
``CLIP_TOLERANCE`` of the new range, measured in the new parameter's own unit scale)
and its trial is dropped otherwise; an option the new space does not offer drops the
trial. Every decision is counted in a :class:`TransferReport`, so a user can see what
was left out and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..experience import PastStudy
from ..space import Choice, SearchSpace

__all__ = ["CLIP_TOLERANCE", "TransferredStudy", "TransferReport", "transfer_study", "transfer_studies"]

#: How far outside the new range (as a fraction of it) a value may be and still be clipped.
CLIP_TOLERANCE = 0.25


@dataclass(frozen=True)
class TransferredStudy:
    """A past study expressed in the new space.

    ``space`` is the new space; ``configs`` are valid configurations of it, ``unit`` their unit-cube
    encoding, ``scores`` their values turned so that higher is better, and
    ``normalised`` the same scores min-max scaled within the study (1 = its best).
    """

    study: PastStudy
    space: SearchSpace
    configs: tuple[dict[str, Any], ...]
    unit: np.ndarray
    scores: np.ndarray
    values: np.ndarray
    n_clipped: int = 0
    n_dropped: int = 0
    ignored_parameters: tuple[str, ...] = ()

    @property
    def normalised(self) -> np.ndarray:
        low, high = float(self.scores.min()), float(self.scores.max())
        if high - low <= 1e-12:
            return np.ones_like(self.scores)
        return (self.scores - low) / (high - low)

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.scores))

    def ranked(self) -> list[int]:
        """Trial indices best first (stable for ties)."""
        return [int(i) for i in np.argsort(-self.scores, kind="stable")]


@dataclass
class TransferReport:
    """What happened to each past study on its way into the new space."""

    used: list[str] = field(default_factory=list)
    incompatible: dict[str, str] = field(default_factory=dict)
    clipped: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    dropped_trials: int = 0
    clipped_trials: int = 0

    def summary(self) -> str:
        parts = [f"{len(self.used)} past studies usable"]
        if self.incompatible:
            parts.append(f"{len(self.incompatible)} skipped as incompatible")
        if self.clipped_trials:
            detail = ", ".join(f"{name}: {count}" for name, count in sorted(self.clipped.items()))
            parts.append(f"{self.clipped_trials} trials clipped into the new bounds ({detail})")
        if self.dropped_trials:
            detail = ", ".join(f"{reason}: {count}" for reason, count in sorted(self.dropped.items()))
            parts.append(f"{self.dropped_trials} trials dropped ({detail})")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "used": list(self.used),
            "incompatible": dict(self.incompatible),
            "clipped": dict(self.clipped),
            "dropped": dict(self.dropped),
            "clipped_trials": self.clipped_trials,
            "dropped_trials": self.dropped_trials,
        }


def incompatibility(past_space: SearchSpace, space: SearchSpace) -> str | None:
    """Why ``past_space`` cannot inform ``space`` (``None`` when it can)."""
    missing = [name for name in space.names if name not in past_space]
    if missing:
        return f"it has no parameter {missing}"
    wrong = [
        f"{name} is {past_space[name].kind} there but {space[name].kind} here"
        for name in space.names
        if past_space[name].kind != space[name].kind
    ]
    if wrong:
        return "; ".join(wrong)
    return None


def transfer_study(
    past: PastStudy, space: SearchSpace, report: TransferReport | None = None
) -> TransferredStudy | None:
    """Express ``past`` in ``space``, or return ``None`` (with the reason in ``report``)."""
    report = report if report is not None else TransferReport()
    reason = incompatibility(past.space, space)
    if reason is not None:
        report.incompatible[past.study_id] = reason
        return None
    configs: list[dict[str, Any]] = []
    kept: list[int] = []
    n_clipped = n_dropped = 0
    for i, config in enumerate(past.configs):
        moved, clipped, dropped_because = _move_config(config, space)
        if moved is None:
            n_dropped += 1
            report.dropped[dropped_because] += 1
            continue
        if clipped:
            n_clipped += 1
            for name in clipped:
                report.clipped[name] += 1
        configs.append(moved)
        kept.append(i)
    report.dropped_trials += n_dropped
    report.clipped_trials += n_clipped
    if not configs:
        report.incompatible[past.study_id] = "none of its trials lies in (or near) the new space"
        return None
    report.used.append(past.study_id)
    scores = past.scores()[kept]
    values = np.asarray(past.values, dtype=float)[kept]
    return TransferredStudy(
        study=past,
        space=space,
        configs=tuple(configs),
        unit=space.encode(configs),
        scores=scores,
        values=values,
        n_clipped=n_clipped,
        n_dropped=n_dropped,
        ignored_parameters=tuple(name for name in past.space.names if name not in space),
    )


def transfer_studies(
    past: Iterable[PastStudy | TransferredStudy], space: SearchSpace
) -> tuple[list[TransferredStudy], TransferReport]:
    """Every usable past study in the new space, and the report of what was skipped or changed.

    A study already carried into ``space`` (a :class:`TransferredStudy` of it) passes
    through unchanged, so that consumers handed the result of one compatibility pass
    (the study pipeline runs it once) do not run it again.
    """
    report = TransferReport()
    out = []
    for study in past:
        if isinstance(study, TransferredStudy) and study.space == space:
            report.used.append(study.study.study_id)
            out.append(study)
            continue
        moved = transfer_study(study, space, report)
        if moved is not None:
            out.append(moved)
    return out, report


def _move_config(
    config: Mapping[str, Any], space: SearchSpace
) -> tuple[dict[str, Any] | None, list[str], str]:
    """The config in the new space, the parameters that were clipped, or None and why it was dropped."""
    out: dict[str, Any] = {}
    clipped: list[str] = []
    for name, parameter in space.items():
        if name not in config:
            return None, clipped, f"{name} missing"
        value = config[name]
        if isinstance(parameter, Choice):
            if not parameter.contains(value):
                return None, clipped, f"{name}={value!r} not an option"
            out[name] = parameter.options[parameter.index(value)]
            continue
        if parameter.contains(value):
            out[name] = int(value) if parameter.kind == "int" else float(value)
            continue
        position = _unit_position(parameter, value)
        if position is None or not -CLIP_TOLERANCE <= position <= 1 + CLIP_TOLERANCE:
            return None, clipped, f"{name} outside the new bounds"
        out[name] = parameter.clip(value)  # type: ignore[attr-defined]
        clipped.append(name)
    return out, clipped, ""


def _unit_position(parameter: Any, value: Any) -> float | None:
    """Where ``value`` lies relative to the parameter's range (0..1 inside), or None if it cannot."""
    try:
        position = float(parameter.to_unit(value))
    except (TypeError, ValueError):  # a log-scale parameter given a value <= 0, a string ...
        return None
    return position if np.isfinite(position) else None
