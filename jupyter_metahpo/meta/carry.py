"""The compatibility pass: which past studies inform a new study, on which parameters, and why.

:func:`carry_over` is the one place where partial-space transfer happens. For every
past study it

1. matches its space to the new one (:mod:`.matching`: by name, by the estimator
   argument the objective's source sets, by alias);
2. asks for evidence that the two are related (:mod:`.relatedness`); a study sharing
   parameters without evidence is left out, and the report says so;
3. carries the related ones into the new space (:mod:`.compat`).

The report keeps, for each source, the shared parameters and the evidence, and for a
study that starts cold the closest past study and why it did not qualify, so that
:func:`explain_cold` can tell the user what to do.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..experience import PastStudy
from ..space import Choice, SearchSpace
from .as_it_ran import nearest_option, past_class
from .branches import Branch, branch_values
from .compat import OUTSIDE_BOUNDS, TransferredStudy, TransferReport, past_fixed, shared_needed, transfer_study
from .matching import SpaceMatch, match_spaces
from .source import ObjectiveSource
from .torch_choices import ChoiceKind
from .similarity import described_by_meta_features, task_similarities
from .slicing import FixedSlicer
from .relatedness import (
    StudyContext,
    builtin_space_of,
    evidence_for,
    is_source,
    one_loss_scaled_link,
    past_arguments,
    past_roles,
    past_scales,
    past_source,
    same_task_type,
)

__all__ = ["carry_over", "explain_cold", "source_label"]


def carry_over(
    past: Iterable[PastStudy], space: SearchSpace, context: StudyContext
) -> tuple[list[TransferredStudy], TransferReport]:
    """The related past studies carried into ``space``, and the report of the whole pass."""
    report = TransferReport()
    roles = context.roles(space)
    arguments = context.arguments(space)
    setters = context.setters(space)
    scales = context.scales(space)
    fixed = context.fixed_settings()
    branches = context.branches(space)
    class_choices = context.class_choices(space)
    usable: list[TransferredStudy] = []
    closest: tuple[tuple[int, int, bool], PastStudy, SpaceMatch, Any] | None = None
    sources: list[tuple[PastStudy, SpaceMatch, Any, ObjectiveSource | None]] = []
    for study in past:
        theirs = past_source(study)
        match = match_spaces(space, study.space, roles, arguments=arguments,
                             past_arguments=past_arguments(study, theirs), setters=setters, scales=scales,
                             past_scales=past_scales(study, theirs), past_roles=past_roles(study, theirs))
        evidence = evidence_for(study, match, context, theirs)
        nearness = _nearness(match, evidence)
        if closest is None or nearness > closest[0]:
            closest = (nearness, study, match, evidence)
        if not is_source(evidence, match, study, context):
            if match.links:
                report.unrelated[study.study_id] = _unrelated_reason(match, evidence, study, context)
            else:
                report.incompatible[study.study_id] = "it shares none of your parameters"
            continue
        sources.append((study, match, evidence, theirs))
    # The sources' scores at the values the objective fixes come from models whose
    # hyperparameters are chosen per past space, on several of its studies at once.
    slicer = FixedSlicer([study for study, _, _, _ in sources]) if fixed else None
    outside: list[tuple[PastStudy, SpaceMatch, Any, Counter]] = []  # related, but no trial in (or near) the space
    for study, match, evidence, theirs in sources:
        dropped_before = Counter(report.dropped)
        moved = transfer_study(
            study, space, report, match=match, n_features=context.n_features, evidence=evidence, fixed=fixed,
            slicer=slicer,
        )
        if moved is None and report.dropped != dropped_before:
            outside.append((study, match, evidence, report.dropped - dropped_before))
        if moved is not None:
            moved = _in_its_branch(moved, branches, space)
            moved = _as_it_ran(moved, class_choices, space, theirs)
            usable.append(moved)
            report.sources[study.study_id] = _source_entry(moved, branches)
    if slicer is not None:
        matches = {study.study_id: match for study, match, _, _ in sources}
        usable = _with_fixed_costs(usable, report, context, slicer, matches)
    if outside and not usable:  # the related studies' trials all lie outside the space: say where
        study, match, evidence, dropped = outside[0]
        report.closest = _closest_entry(study, match, evidence, context, space)
        report.closest["outside"] = _outside(study, dropped, match, space)
        report.closest["n_outside"] = len(outside)
    elif closest is not None and not usable:
        report.closest = _closest_entry(*closest[1:], context, space)
    return usable, report


def _outside(study: PastStudy, dropped: Counter, match: SpaceMatch, space: SearchSpace) -> str:
    """Why a related study's trials were all dropped, and for a parameter out of range what each side tried:
    ``"epochs outside the new bounds in 64 trials: their max_epochs 10 to 60, your epochs 2 to 5"``."""
    past_names = {link.new: link.past for link in match.links}
    parts = []
    for reason, count in dropped.most_common():
        text = f"{reason} in {count} trials"
        name = reason.removesuffix(OUTSIDE_BOUNDS)
        theirs = study.space.get(past_names.get(name, "")) if name != reason else None
        if theirs is not None and hasattr(theirs, "low") and hasattr(space[name], "low"):
            text += (f": their {past_names[name]} {theirs.low:g} to {theirs.high:g}, your {name} "
                     f"{space[name].low:g} to {space[name].high:g}")
        parts.append(text)
    return "; ".join(parts)


def _in_its_branch(
    moved: TransferredStudy, branches: Mapping[str, list[Branch]], space: SearchSpace
) -> TransferredStudy:
    """``moved`` with the value of each choice it never saw under which the objective uses what it informs."""
    if not branches or not moved.filled:
        return moved
    informed = [name for name in space.names if name not in moved.filled]
    options = {name: space[name].options for name in moved.filled if isinstance(space[name], Choice)}
    values = branch_values(informed, branches, moved.filled, options)
    if not values:
        return moved
    unused = tuple(name for name in moved.filled if any(
        b.chooser in values and values[b.chooser] not in b.values for b in branches.get(name, ())))
    return dataclasses.replace(moved, branch=values, unused=unused)


def _as_it_ran(
    moved: TransferredStudy, class_choices: Mapping[str, tuple[ChoiceKind, Mapping[Any, str]]], space: SearchSpace,
    theirs: ObjectiveSource | None,
) -> TransferredStudy:
    """``moved`` with each choice of optimiser or activation it never saw set to the option that runs the class
    it ran."""
    ran_as = {}
    for name, (kind, runs) in class_choices.items():
        if name in moved.filled and name not in moved.branch:
            ran = past_class(moved.study, theirs, kind)
            found = nearest_option(ran, space[name].options, runs) if ran is not None else None
            if found is not None:
                ran_as[name] = found
    return dataclasses.replace(moved, ran_as=ran_as) if ran_as else moved


def _nearness(match: SpaceMatch, evidence) -> tuple[int, int, bool]:
    """How close a past study that does not qualify came, for the cold explanation: the parameters it shares,
    then those it shares only by name (refused: another kind or another estimator's), then whether it builds
    the same estimator or is the same task."""
    return len(match.links), len(match.refused), any(e.kind in ("estimator", "task") for e in evidence)


#: What the objective's fixed values cost is judged on this many sources nearest the new task by meta-features ...
NEAREST_FOR_COSTS = 8
#: ... or, for a task without meta-features, on an even spread of at most this many (each costs a model query).
SPREAD_FOR_COSTS = 16


def _with_fixed_costs(
    usable: list[TransferredStudy], report: TransferReport, context: StudyContext, slicer: FixedSlicer,
    matches: dict[str, SpaceMatch],
) -> list[TransferredStudy]:
    """``usable`` with what the fixed values cost the sources that speak for the new task, in the report too.

    A fixed ``class_weight=None`` costs a study of imbalanced data much and one of
    balanced data nothing, so only the sources nearest the new task by meta-features are
    asked (without meta-features, an even spread of at most :data:`SPREAD_FOR_COSTS`): the
    warm-start summary's note reads these. Only studies whose scores were predicted at the
    fixed values have a model.
    """
    sliced = [i for i, moved in enumerate(usable) if moved.predicted_at]
    if not sliced:
        return usable
    similarity = task_similarities(context.task, [usable[i] for i in sliced])
    by_features = described_by_meta_features(similarity)
    if by_features:
        order = np.argsort(-similarity, kind="stable")[:NEAREST_FOR_COSTS]
    else:
        order = np.unique(np.linspace(0, len(sliced) - 1, min(len(sliced), SPREAD_FOR_COSTS)).astype(int))
    fixed = context.fixed_settings()
    out = list(usable)
    for position in order:
        moved = usable[sliced[int(position)]]
        costs = slicer.costs(moved.study, past_fixed(matches[moved.study.study_id], fixed))
        out[sliced[int(position)]] = dataclasses.replace(moved, fixed_costs=costs)
        entry = report.sources[moved.study.study_id]
        entry["fixed_costs"] = [{"setting": c.setting, "cost": round(c.cost, 4), "best": c.best} for c in costs]
        entry["costs_by"] = "meta-features" if by_features else "all"
    return out


def _unrelated_reason(match: SpaceMatch, evidence, study: PastStudy, context: StudyContext) -> str:
    shared = ", ".join(match.shared)
    if not evidence:
        return f"shares {shared} but nothing says the tasks are related"
    if one_loss_scaled_link(match) and same_task_type(study, context) is False:
        return (f"shares only {shared}, which scales the loss, and is a {study.extra.get('task_type')} task where "
                f"yours is {context.task_type}")
    if match.complete:  # one shared name, and data alike (is_source)
        return f"shares only {shared}, and data alike is not enough for one shared name without the same estimator"
    if any(e.kind == "estimator" for e in evidence):
        return (
            f"shares only part of your space ({shared}; not {', '.join(match.unmatched)}) and is a "
            f"{study.extra.get('task_type')} task where yours is {context.task_type}"
        )
    what = "; ".join(e.detail for e in evidence)
    return f"shares only part of your space ({shared}), and {what} is not enough for a partial match"


def source_label(study: PastStudy) -> str:
    """How a person knows a past study: the prior's built-in space and dataset, or the study's name."""
    if study.source == "prior" and study.extra.get("space_name"):
        return f"{study.task_name} (built-in {study.extra['space_name']})"
    return str(study.extra.get("name") or study.task_name or study.study_id)


def _source_entry(moved: TransferredStudy, branches: Mapping[str, list[Branch]]) -> dict[str, Any]:
    study = moved.study
    n = len(study.configs)
    links = moved.match.links if moved.match is not None else ()
    return {
        "label": source_label(study),
        "source": study.source,
        "space_name": study.extra.get("space_name"),
        "shared": [link.describe() for link in links] or list(moved.space.names),
        "filled": list(moved.filled),
        # [choice, the value the warm start gives it, the parameters it informs that need that value]
        "branch": [[name, value, _used_in(moved, name, branches)] for name, value in moved.branch.items()],
        "unused_in_branch": list(moved.unused),
        # [choice, the option the warm start gives it, what every trial of the study ran (its optimiser), why that
        # option is the nearest ("" for the very one)]
        "ran_as": [[name, found.option, found.ran, found.kin] for name, found in moved.ran_as.items()],
        "evidence": [{"kind": e.kind, "detail": e.detail} for e in moved.evidence],
        "outside": round((moved.n_clipped + moved.n_dropped) / n, 4) if n else 0.0,
        "predicted_at": moved.predicted_at,
    }


def _used_in(moved: TransferredStudy, chooser: str, branches: Mapping[str, list[Branch]]) -> list[str]:
    """The parameters ``moved`` informs that the objective uses only in some branches of ``chooser``."""
    return [name for name in moved.space.names if name not in moved.filled
            and any(b.chooser == chooser for b in branches.get(name, ()))]


def _closest_entry(
    study: PastStudy, match: SpaceMatch, evidence, context: StudyContext, space: SearchSpace
) -> dict[str, Any]:
    return {
        "label": source_label(study),
        "space_name": study.extra.get("space_name"),
        "shared": list(match.shared),
        "refused": dict(match.refused),
        "unused": list(match.ignored),
        "needed": shared_needed(space, evidence),
        "advice": _advice(study, evidence, context),
        "transformed": context.transformed(space),
    }


def _advice(study: PastStudy, evidence, context: StudyContext) -> str:
    """What would make this past study a source (``evidence``: what it has), in the user's terms."""
    if not evidence and not context.task.has_meta_features:
        return "give data=(X, y) so that tasks are compared by their data, or name the past studies with past="
    if context.source is None:
        return (
            "your objective's source could not be read, so the estimator it builds is unknown: define it in a "
            "cell or a file (not a lambda or exec), or name the past studies with past="
        )
    advice = ("a partial match needs the same estimator in your objective (or the same task, or past=); "
              "data alike is not enough")
    if context.source.estimators:  # it builds one: say which, so that "the same estimator" reads as not this one
        advice = f"your objective builds {', '.join(context.source.estimators)}; " + advice
    builtin = builtin_space_of(study)
    if builtin is not None:  # the prior ran one estimator: name it, and the space that tunes it
        estimator = builtin.estimator_path.partition(":")[2]
        advice += (f" (the prior's is {estimator}: builtin_spaces.get_builtin_space({builtin.name!r}).space "
                   "tunes it)")
    return advice


def explain_cold(report: TransferReport, n_past: int) -> str:
    """One paragraph on why no past study informs the new one, and what to do about it."""
    text = _why_cold(report, n_past)
    transformed = (report.closest or {}).get("transformed") or {}
    if transformed:  # say why a parameter that sets a known argument did not link to it
        each = ", ".join(f"your {name} sets {sets}" for name, sets in transformed.items())
        text += (f" ({each} only through a transform, which matching does not read: a parameter is linked to what "
                 "it sets when passed as it is or as a power such as 10 ** x; pass it so.)")
    return text


def _why_cold(report: TransferReport, n_past: int) -> str:
    if n_past == 0:
        return "cold: there is no past study yet (your experience store is empty and no prior was loaded)."
    closest = report.closest
    if closest and closest.get("outside"):
        return (
            f"cold: {closest['n_outside']} related past studies share your parameters, but none of their trials "
            f"lies in or near your space; the closest is {closest['label']} ({closest['outside']}). Widen your "
            "ranges to overlap what they tried, or name the past studies to learn from with past=."
        )
    if closest and not closest["shared"] and closest["refused"]:
        return (
            f"cold: none of {n_past} past studies shares a parameter that means the same as yours; the closest is "
            f"{closest['label']} ({'; '.join(closest['refused'].values())}). This study is the first of its "
            "kind (the next one warms from it), or start from jupyter_metahpo.builtin_spaces, whose estimators "
            "the prior covers."
        )
    if not closest or not closest["shared"]:
        return (
            f"cold: none of {n_past} past studies shares a parameter with your space (by name, alias or the "
            "estimator your objective builds). Name your parameters as the estimator does, or start from "
            "jupyter_metahpo.builtin_spaces."
        )
    what = f"the closest is {closest['label']} (shares {', '.join(closest['shared'])}"
    refused = "; ".join(closest["refused"].values())
    what += f"; {refused})" if refused else ")"
    fix = _fix(closest)
    if len(closest["shared"]) < closest["needed"]:
        return (
            f"cold: none of {n_past} past studies shares {closest['needed']} or more of your parameters; "
            f"{what}: {fix}"
        )
    return (
        f"cold: past studies share your parameters, but nothing says their tasks are related to yours; {what}: "
        f"{closest['advice']}."
    )


def _fix(closest: dict[str, Any]) -> str:
    # Name what they tuned besides the shared ones: renaming helps only where one of yours means one of those.
    unused = closest.get("unused") or []
    rename = (f"their other parameters are {', '.join(unused)}: rename yours where one means the same"
              if unused else "rename your parameters as theirs")
    if closest.get("space_name"):
        return f"{rename}, or use builtin_spaces.get_builtin_space({closest['space_name']!r}).space."
    return f"{rename}, or name the past studies to learn from with past=."
