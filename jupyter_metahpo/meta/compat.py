"""Carry a past study into a new search space, through the parameters they share.

:mod:`.matching` says which past parameter informs which new one (by name, estimator
argument or alias) and how values convert between kinds. A past study is usable when it
informs at least :data:`MIN_SHARED` parameters of the new space (all of them when the
space has fewer; one when it built an estimator of the same family,
:data:`ONE_SHARED_EVIDENCE`). Its values are converted; a value outside the new bounds is
clipped when it lies close to them (within ``CLIP_TOLERANCE`` of the new range, measured in
the new parameter's own unit scale) and its trial is dropped otherwise; an option the new
space does not offer drops the trial. A past parameter the new space does not tune
but the new objective fixes (``SVC(class_weight=None)``, :mod:`.source`) is where the
past study is read: its trials' scores are predicted with that value set
(:mod:`.slicing`), since a trial run with ``class_weight="balanced"`` says little about a
model without it; a study too small to model keeps its trials near that value only
(:func:`near_fixed_settings`). Parameters of the new space the past study never
saw hold a placeholder (the middle of their range) in ``configs``: the warm start
replaces it by the new space's own design, and the transfer refinement models the past
study on the parameters it informs only (``TransferredStudy.columns``). Every decision
is counted in a :class:`TransferReport`, so a user can see what was left out and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..experience import PastStudy
from ..space import Choice, Parameter, SearchSpace
from ..trial import Direction
from .matching import (
    LAYERS_AS_OPTIONS, NO_VALUE, PENALTIES_AS_OPTIONS, SHARES_AS_OPTIONS, SpaceMatch, canonical_name, convert_value,
    feature_count, nearest_layer_sizes,
    match_spaces, on_argument_scale,
)
from .powers import exponent, power
from .slicing import FixedSlicer, fixed_position

__all__ = [
    "CLIP_TOLERANCE",
    "MIN_EXACTLY_FIXED",
    "MIN_NEAR_FIXED",
    "MIN_SHARED",
    "ONE_SHARED_EVIDENCE",
    "OUTSIDE_BOUNDS",
    "TransferredStudy",
    "TransferReport",
    "transfer_study",
    "transfer_studies",
    "incompatibility",
    "near_fixed_settings",
    "shared_needed",
]

#: How far outside the new range (as a fraction of it) a value may be and still be clipped.
#: One whole range: a user who narrows a range keeps the past's trials beyond it, at its
#: edge, where the best of the narrower range often lies. Measured on the user-space
#: benchmark's case b (``benchmarks/user_spaces_diagnosis.py rf-ranges[-clip-all]``,
#: ``hgb-ranges[-clip-all]``): clipping every value instead of dropping those beyond a
#: quarter of the range took the random forest's regret at trials 1/5/10 from
#: 0.216/0.138/0.080 to 0.191/0.092/0.062, HGB's from 0.209/0.101/0.059 to
#: 0.174/0.101/0.067. A past beyond one range-width is still dropped: a range moved
#: far away is not the same region with its edge cut.
CLIP_TOLERANCE = 1.0
#: The report's reason for a trial dropped so, after the new parameter's name (``"epochs outside the new bounds"``);
#: the cold explanation reads the name back from it.
OUTSIDE_BOUNDS = " outside the new bounds"

#: Trials kept at least, nearest the values the new objective fixes (when fewer match them exactly).
MIN_NEAR_FIXED = 16
#: Exact matches of the fixed values needed to keep only those.
MIN_EXACTLY_FIXED = 8

#: A past study informs a new space through at least this many shared parameters (or
#: all of the new space's, when it has fewer): one shared name is too thin to carry a
#: configuration over, unless :data:`ONE_SHARED_EVIDENCE` says what it means.
MIN_SHARED = 2
#: Evidence that makes one shared parameter enough: the past study built an estimator of the same family
#: (so the parameter is that estimator's argument in both: ``LogisticRegression(C=C, solver=solver)`` and the
#: prior's ``C``), or the user handed it over. Measured: ``benchmarks/bench_one_shared.py``.
ONE_SHARED_EVIDENCE = frozenset({"estimator", "explicit"})


@dataclass(frozen=True)
class TransferredStudy:
    """A past study expressed in the new space.

    ``space`` is the new space; ``configs`` are valid configurations of it, ``unit`` their unit-cube
    encoding, ``scores`` their values turned so that higher is better, and
    ``normalised`` the same scores min-max scaled within the study (1 = its best).
    ``match`` says which of its parameters informs which new one; ``evidence`` why it
    is believed related (:mod:`.relatedness`; empty when it was not asked). When the new
    objective fixes parameters the study varied, ``scores`` and ``values`` are its
    model's predictions at those values (``predicted_at``), not what its trials measured.
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
    match: SpaceMatch | None = None
    evidence: tuple[Any, ...] = ()
    #: The fixed values its scores were predicted at ("max_iter=100"), "" when they are its own.
    predicted_at: str = ""
    #: What each fixed value costs this study by its model (:class:`.slicing.FixedCost`); computed by the
    #: compatibility pass for the studies nearest the new task only (:func:`.carry.carry_over`).
    fixed_costs: tuple[Any, ...] = ()
    #: The value of each choice of the new space that this study never saw and under which the objective uses
    #: the parameters it informs (``{"classifier": "SVC"}`` for an SVM study informing ``svc_c``, which the
    #: objective reads only when ``classifier == "SVC"``: :mod:`.branches`); set by the compatibility pass.
    branch: Mapping[str, Any] = field(default_factory=dict)
    #: The parameters of the new space this study never saw that its branch leaves unused (``rf_max_depth`` when
    #: its configurations run ``classifier="SVC"``).
    unused: tuple[str, ...] = ()
    #: Each choice of the new space this study never saw that names what every one of its trials ran: the option
    #: that runs it (:class:`.as_it_ran.AsItRan`; ``"Adam"`` for the built-in torch MLP, which ran AdamW, in a cell
    #: choosing among Adam, RMSprop and SGD).
    ran_as: Mapping[str, Any] = field(default_factory=dict)

    @property
    def filled(self) -> tuple[str, ...]:
        """Parameters of the new space this study never saw: ``configs`` hold a placeholder for them."""
        return () if self.match is None else self.match.unmatched

    @property
    def columns(self) -> np.ndarray:
        """Indices (in the new space's order) of the parameters this study informs."""
        filled = set(self.filled)
        return np.array([i for i, name in enumerate(self.space.names) if name not in filled], dtype=int)

    @property
    def normalised(self) -> np.ndarray:
        low, high = float(self.scores.min()), float(self.scores.max())
        if high - low <= 1e-12:
            return np.ones_like(self.scores)
        return (self.scores - low) / (high - low)

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.scores))

    def scored(self, i: int) -> str:
        """How trial ``i``'s value reads in a reason: measured, or predicted at the values the new objective fixes."""
        if not self.predicted_at:
            return f"scored {self.values[i]:.4g}"
        # A model predicts past what the study ever measured (an accuracy of 1.06): the reason says the bound it
        # measured instead, and that the prediction lies beyond it; the value itself ranks as predicted.
        measured = self.study.values
        low, high, value = min(measured), max(measured), float(self.values[i])
        if value > high:
            return f"is predicted to score above its highest measured value, {high:.4g}, with your {self.predicted_at}"
        if value < low:
            return f"is predicted to score below its lowest measured value, {low:.4g}, with your {self.predicted_at}"
        return f"is predicted to score {value:.4g} with your {self.predicted_at}"

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
    #: fixed values ("max_iter=100, ...") -> studies whose scores were predicted there (:mod:`.slicing`)
    sliced: Counter = field(default_factory=Counter)
    #: study id -> how it informs the new study (shared parameters, evidence, share of its trials outside)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: study id -> why a study that shares parameters was not used (no evidence of relatedness)
    unrelated: dict[str, str] = field(default_factory=dict)
    #: when nothing was usable: the past study that came closest, and why it did not qualify
    closest: dict[str, Any] | None = None

    def summary(self) -> str:
        parts = [f"{len(self.used)} past studies usable"]
        if self.incompatible:
            parts.append(f"{len(self.incompatible)} skipped as incompatible")
        if self.unrelated:
            parts.append(f"{len(self.unrelated)} sharing parameters left out as unrelated")
        if self.clipped_trials:
            detail = ", ".join(f"{name}: {count}" for name, count in sorted(self.clipped.items()))
            parts.append(f"{self.clipped_trials} trials clipped into the new bounds ({detail})")
        if self.sliced:
            detail = "; ".join(f"{settings}: {count}" for settings, count in sorted(self.sliced.items()))
            parts.append(f"{sum(self.sliced.values())} studies' scores predicted at the values your objective fixes ({detail})")
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
            "sliced": dict(self.sliced),
            "sources": {key: dict(value) for key, value in self.sources.items()},
            "unrelated": dict(self.unrelated),
            "closest": None if self.closest is None else dict(self.closest),
        }


def shared_needed(space: SearchSpace, evidence: Iterable[Any] = ()) -> int:
    """How many parameters a past study must share with ``space``, given the evidence that it is related
    (:class:`.relatedness.Evidence`, or their kinds)."""
    kinds = {getattr(e, "kind", e) for e in evidence}
    return 1 if kinds & ONE_SHARED_EVIDENCE else min(MIN_SHARED, len(space))


def incompatibility(match: SpaceMatch, space: SearchSpace, evidence: Iterable[Any] = ()) -> str | None:
    """Why a past space matched this way cannot inform ``space`` (``None`` when it can)."""
    needed = shared_needed(space, evidence)
    if len(match.links) >= needed:
        return None
    shared = ", ".join(match.shared) or "none"
    refused = "; ".join(match.refused.values())
    text = f"it shares {len(match.links)} of your parameters ({shared}); {needed} are needed"
    return f"{text} ({refused})" if refused else text


def transfer_study(
    past: PastStudy,
    space: SearchSpace,
    report: TransferReport | None = None,
    *,
    match: SpaceMatch | None = None,
    n_features: float | None = None,
    evidence: tuple[Any, ...] = (),
    fixed: Mapping[str, Any] | None = None,
    slicer: FixedSlicer | None = None,
) -> TransferredStudy | None:
    """Express ``past`` in ``space``, or return ``None`` (with the reason in ``report``).

    ``match`` is how its space matches the new one, as the compatibility pass
    (:mod:`.carry`) found it after checking that the two are related. Without one, only
    a complete match counts (every new parameter under the same name and kind): a
    partial match is used only where relatedness was checked. ``n_features`` is the new
    task's number of features, which converts a share of the features into options
    such as ``"sqrt"``. ``fixed`` maps a canonical parameter name to the value the new
    objective fixes it at (:meth:`.source.ObjectiveSource.fixed`). With a ``slicer``,
    the past trials' scores are predicted at those values (:mod:`.slicing`) and every
    trial is kept; without one (or where it cannot model the study), only the trials
    near them are (:func:`near_fixed_settings`).
    """
    report = report if report is not None else TransferReport()
    reason = None
    if match is None:
        match = match_spaces(space, past.space)
        reason = None if match.complete else _not_complete(match, past.space, space)
    reason = reason or incompatibility(match, space, evidence)
    if reason is not None:
        report.incompatible[past.study_id] = reason
        return None
    mover = _Mover(match, past.space, space, feature_count(past.meta_features), n_features)
    configs: list[dict[str, Any]] = []
    kept: list[int] = []
    n_clipped = n_dropped = 0
    fixed = fixed or {}
    sliced = None
    if slicer is not None:
        at = past_fixed(match, fixed)
        sliced = slicer.scores(past, at) if at else None
    near, far_because = (None, "") if sliced is not None else near_fixed_settings(past, match, fixed)
    for i, config in enumerate(past.configs):
        if near is not None and i not in near:
            n_dropped += 1
            report.dropped[far_because] += 1
            continue
        moved, clipped, dropped_because = mover.move(config)
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
    if sliced is not None:
        predicted, cut = sliced
        report.sliced[cut.described] += 1
        scores = predicted[kept]
        values = scores if past.direction is Direction.MAXIMIZE else -scores
    else:
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
        ignored_parameters=match.ignored,
        match=None if match.complete else match,
        evidence=tuple(evidence),
        predicted_at=sliced[1].described if sliced is not None else "",
    )


def near_fixed_settings(
    past: PastStudy, match: SpaceMatch, fixed: Mapping[str, Any]
) -> tuple[set[int] | None, str]:
    """The past trials to keep for the values the new objective fixes, and the reason the others go.

    For each past parameter the new space does not tune (``match.ignored``) whose
    canonical name the new objective fixes, a trial's distance is 0 or 1 on an option
    (same option or not) and the distance in the past parameter's unit scale on a
    number. When at least :data:`MIN_EXACTLY_FIXED` trials match every fixed value
    exactly, those are kept; otherwise the :data:`MIN_NEAR_FIXED` nearest (or half the
    study, if more), with ties. ``(None, "")`` when nothing applies.
    """
    distances = np.zeros(len(past.configs))
    compared = []
    for name, value in past_fixed(match, fixed).items():
        column = _fixed_distances(past.space[name], [c.get(name, NO_VALUE) for c in past.configs], value)
        if column is not None:
            distances += column
            compared.append(f"{name}={value!r}")
    if not compared or not len(distances):
        return None, ""
    reason = f"far from {', '.join(compared)} fixed in your objective"
    exact = np.flatnonzero(distances == 0.0)
    if len(exact) >= MIN_EXACTLY_FIXED:
        return {int(i) for i in exact}, reason
    k = min(len(distances), max(MIN_NEAR_FIXED, len(distances) // 2))
    threshold = np.sort(distances)[k - 1]
    return {int(i) for i in np.flatnonzero(distances <= threshold)}, reason


def past_fixed(match: SpaceMatch, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """The past parameters the new space does not tune but the new objective fixes, with the values it fixes."""
    return {name: fixed[canonical_name(name)] for name in match.ignored if canonical_name(name) in fixed}


def _fixed_distances(parameter: Parameter, values: list[Any], fixed: Any) -> np.ndarray | None:
    """Each past value's distance to the fixed one (None when they cannot be compared)."""
    if isinstance(parameter, Choice):
        if not parameter.contains(fixed):
            return None  # the past never tried the fixed value: nothing to prefer
        return np.array([0.0 if _same_value(v, fixed) else 1.0 for v in values])
    target = fixed_position(parameter, fixed)
    if target is None:
        return None
    positions = [_unit_position(parameter, v) if v is not NO_VALUE else None for v in values]
    return np.array([1.0 if p is None else min(abs(p - target), 1.0) for p in positions])


def _same_value(a: Any, b: Any) -> bool:
    """Equality that tells ``True`` from ``1`` (``==`` does not)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _not_complete(match: SpaceMatch, past_space: SearchSpace, space: SearchSpace) -> str:
    missing = [name for name in space.names if name not in past_space]
    if missing:
        return f"it has no parameter {missing}"
    return "; ".join(f"{name} is {past_space[name].kind} there but {space[name].kind} here"
                     for name in space.names if past_space[name].kind != space[name].kind)


def transfer_studies(
    past: Iterable[PastStudy | TransferredStudy], space: SearchSpace
) -> tuple[list[TransferredStudy], TransferReport]:
    """Every past study that holds the new space (same names and kinds) carried into it, and the report.

    A study already carried into ``space`` (a :class:`TransferredStudy` of it) passes
    through unchanged, so that consumers handed the result of one compatibility pass
    (the study pipeline runs it once, with relatedness and every matching level) do
    not run it again.
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


class _Mover:
    """Moves one past configuration into the new space along a match."""

    def __init__(
        self, match: SpaceMatch, past_space: SearchSpace, space: SearchSpace,
        n_features_past: float | None, n_features_new: float | None,
    ) -> None:
        # A link that changes scale (SVC(C=10 ** log_c) and the prior's C) converts on the argument's scale.
        self.links = [(link, *on_argument_scale(link, past_space[link.past], space[link.new]), space[link.new])
                      for link in match.links]
        self.placeholders = {name: space[name].from_unit(0.5) for name in match.unmatched}
        self.order = space.names
        self.n_features = {"n_features_past": n_features_past, "n_features_new": n_features_new}

    def move(self, config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str], str]:
        """The config in the new space, the parameters that were clipped, or None and why it was dropped."""
        out: dict[str, Any] = dict(self.placeholders)
        clipped: list[str] = []
        for link, past_parameter, argument, parameter in self.links:
            if link.past not in config or link.also and any(past not in config for past in link.also):
                return None, clipped, f"{link.new} missing"
            if link.also:  # a choice of layer sizes: their width and number of layers
                value = nearest_layer_sizes(float(config[link.past]), float(config[link.also[0]]), parameter)
            elif link.rescaled:  # their value as the argument it ran, then as your exponent of it
                past_value = config[link.past] if link.past_base is None else power(config[link.past], link.past_base)
                value = convert_value(past_value, past_parameter, argument, **self.n_features)
                if value is not NO_VALUE and link.base is not None:
                    value = exponent(value, link.base, parameter, argument)
            else:
                value = convert_value(config[link.past], past_parameter, parameter, **self.n_features)
            if value is NO_VALUE:
                if link.conversion == LAYERS_AS_OPTIONS:
                    return None, clipped, f"{link.new} far from every option's width and number of layers"
                if link.conversion == SHARES_AS_OPTIONS:
                    return None, clipped, f"{link.new} far from every option's share of the features"
                if link.conversion == PENALTIES_AS_OPTIONS:
                    return None, clipped, f"{link.new}: their {link.past} mixes the penalties"
                return None, clipped, f"{link.new}={config[link.past]!r} not an option"
            placed, was_clipped = _place(value, parameter)
            if placed is NO_VALUE:
                return None, clipped, f"{link.new}{OUTSIDE_BOUNDS}"
            out[link.new] = placed
            if was_clipped:
                clipped.append(link.new)
        return {name: out[name] for name in self.order}, clipped, ""


def _place(value: Any, parameter: Parameter) -> tuple[Any, bool]:
    """A converted value in the new parameter's range: (value, clipped?), or (NO_VALUE, False) when too far out."""
    if isinstance(parameter, Choice):
        return value, False
    low, high = float(parameter.low), float(parameter.high)  # type: ignore[attr-defined]
    if low <= float(value) <= high:
        return (int(round(float(value))) if parameter.kind == "int" else float(value)), False
    position = _unit_position(parameter, value)
    if position is None or not -CLIP_TOLERANCE <= position <= 1 + CLIP_TOLERANCE:
        return NO_VALUE, False
    return parameter.clip(value), True  # type: ignore[attr-defined]


def _unit_position(parameter: Any, value: Any) -> float | None:
    """Where ``value`` lies relative to the parameter's range (0..1 inside), or None if it cannot."""
    try:
        position = float(parameter.to_unit(value))
    except (TypeError, ValueError):  # a log-scale parameter given a value <= 0, a string ...
        return None
    return position if np.isfinite(position) else None
