"""Relatedness before transfer: a past study informs a new one only with positive evidence.

A parameter name shared by two studies is no evidence that they are related (``x`` in
a study of ``x**2`` says nothing about ``x`` in another function). A past study becomes
a source of the warm start and of the transfer refinement only with evidence
(:func:`evidence_for`), of these kinds:

- ``explicit``: it was given by the user (``past=``);
- ``task``: it is the same task (the same task name, or the same data fingerprint);
- ``objective``: its objective is similar code (:func:`.source.source_similarity` at
  least :data:`SIMILAR_OBJECTIVE`: the same training function up to names and formatting)
  that does not build another kind of estimator;
- ``estimator``: its objective builds an estimator of the same family (the bundled
  prior's studies are of their built-in space's family);
- ``data``: both tasks are described by meta-features of the same set, and the new
  objective does not name another kind of estimator than the past study's;
- ``space``: every parameter of the new space is in the past space under the same name
  and kind, there are at least two of them (more than a shared name), and the two
  cannot be compared by what they run: the new objective's source is unknown, or the
  past study has neither a recorded source nor a known estimator family (a study
  imported from a CSV file or Optuna, or recorded by an older version). When both
  sides are known, they decide (``objective``, ``estimator``).

Which evidence suffices depends on how well the spaces match (:func:`is_source`). The
first three kinds always do. When every new parameter is in the past space under the
same name and kind, any evidence does (this is how the built-in spaces and their prior
have always been used), except for a space of one parameter: one shared name (``C`` of a
logistic regression and of a support vector machine) needs the same estimator family. A
partial match (other names, other kinds, parameters the past never saw) needs the same
estimator family, and, when the kinds of task differ
(classification against regression), that the past study informs every new parameter
that the family's built-in space for the user's kind of task has: data alike alone
does not tie a logistic regression's ``C`` to a support vector machine's, and an SVR's
space lacks an SVC's ``class_weight``; a parameter no built-in space of the family
has (``criterion``) is unknown to both kinds of past alike.

How much each source then counts is the strategies' and the refinement's business
(similarity weights, RGPE's ranking weights); this module only decides who may speak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..builtin_spaces import BUILTIN_SPACES, BuiltinSpace
from ..experience import PastStudy
from ..space import Choice, SearchSpace
from .base import TaskDescription
from .branches import Branch
from .matching import EstimatorArgument, SpaceMatch, canonical_name, feature_count
from .powers import exponent_of, scales
from .source import (
    NO_DEFAULT,
    ObjectiveSource,
    ParameterRole,
    argument_default,
    estimator_kind,
    family_kind,
    model_variant,
    source_similarity,
)
from .torch_choices import KINDS, ChoiceKind

__all__ = [
    "SIMILAR_OBJECTIVE",
    "STRONG_EVIDENCE",
    "Evidence",
    "StudyContext",
    "evidence_for",
    "is_source",
    "builtin_space_of",
    "LOSS_SCALED",
    "one_loss_scaled_link",
    "past_arguments",
    "past_families",
    "past_kinds",
    "past_roles",
    "past_scales",
    "past_source",
    "same_task_type",
]

#: Evidence that makes a past study a source however its space matches.
STRONG_EVIDENCE = frozenset({"explicit", "task", "objective"})

#: Source similarity from which two objectives count as related code. Measured on real
#: objectives: the same code renamed or reformatted scores 1.0, two random-forest cells
#: with other CV and scoring 0.44-0.48, the same template around another estimator 0.56,
#: unrelated objectives at most 0.2. Code shape alone reaching 0.56 across estimators is
#: why the threshold sits above it.
SIMILAR_OBJECTIVE = 0.6


@dataclass(frozen=True)
class Evidence:
    """One reason to believe a past study is related: its kind and a sentence for a person."""

    kind: str
    detail: str


@dataclass(frozen=True)
class StudyContext:
    """What the new study knows that relatedness and matching use.

    ``source`` is its objective's source description (when it could be read),
    ``task_type`` ``"classification"`` or ``"regression"`` when data was given, and
    ``explicit`` the ids of the past studies the user handed over.
    """

    task: TaskDescription = field(default_factory=TaskDescription)
    source: ObjectiveSource | None = None
    task_type: str | None = None
    explicit: frozenset[str] = frozenset()

    def roles(self, space: SearchSpace) -> dict[str, str]:
        """The role of each parameter the objective passes on to a known argument as it is (no transform) or as
        an exponent (``10 ** log_c``: :meth:`scales`)."""
        if self.source is None:
            return {}
        return {role.parameter: role.role for role in _argument_roles(self.source, space.names)}

    def scales(self, space: SearchSpace) -> dict[str, float]:
        """The base of each parameter of ``space`` that the objective raises a base to (``{"log_c": 10.0}`` for
        ``SVC(C=10 ** log_c)``), its argument being on a log scale (:mod:`.powers`)."""
        if self.source is None:
            return {}
        return {name: base for name, base in scales(self.source.roles, space.names).items() if base is not None}

    def transformed(self, space: SearchSpace) -> dict[str, str]:
        """What each parameter of ``space`` sets only through a transform the matching does not read (``2 * d``,
        ``10 ** (x / 2)``), for a person: ``{"d": "RandomForestClassifier's max_depth"}``. Such a parameter is
        matched by its name alone, which the cold-start explanation says."""
        if self.source is None:
            return {}
        passed = scales(self.source.roles, space.names)
        found: dict[str, str] = {}
        for role in self.source.roles:
            if role.parameter in space and role.parameter not in passed:
                found.setdefault(role.parameter, role.sets)
        return found

    def arguments(self, space: SearchSpace) -> dict[str, EstimatorArgument]:
        """The estimator argument each parameter of ``space`` sets, as it is or as an exponent, where the source
        says."""
        return {} if self.source is None else _estimator_arguments(self.source, space.names)

    def setters(self, space: SearchSpace) -> dict[str, str]:
        """What each parameter of ``space`` passed on sets, for a person: ``"SVC's C"``, ``"torch.optim.Adam's
        lr"``, ``"SVC's C as 10 ** log_c"`` (where :meth:`roles` reads its role from; :attr:`ParameterRole.sets`)."""
        if self.source is None:
            return {}
        arguments = self.arguments(space)
        setters: dict[str, str] = {}
        for role in _argument_roles(self.source, space.names):
            known = arguments.get(role.parameter)
            text = known.describe() if known is not None else role.sets
            setters[role.parameter] = f"{text} as {role.transform}" if role.transform else text
        return setters

    def source_roles(self) -> dict[str, str]:
        """The canonical role of each parameter the objective passes on as it is or as an exponent (any space)."""
        if self.source is None:
            return {}
        names = {role.parameter for role in self.source.roles}
        return {role.parameter: canonical_name(role.role) for role in _argument_roles(self.source, names)}

    def filler_defaults(self, space: SearchSpace) -> dict[str, Any]:
        """For each parameter passed as it is to a built-in estimator: that argument's default, if in ``space``.

        A past study that never varied the argument ran every trial at this value (the
        bundled prior ran the library's defaults and its spaces' fixed settings), so it
        is what carries that study's configurations over unchanged.
        """
        if self.source is None:
            return {}
        found: dict[str, Any] = {}
        for role in _passing_roles(self.source, space.names):
            if role.parameter in found:
                continue
            value = argument_default(role.target, role.argument)
            if value is not NO_DEFAULT and role.base is not None:  # SVC(C=10 ** log_c): C=1.0 is log_c=0
                value = exponent_of(value, role.base)
                value = NO_DEFAULT if value is None else value
            if value is not NO_DEFAULT and _holds(space[role.parameter], value):
                found[role.parameter] = value
        return found

    def class_choices(self, space: SearchSpace) -> dict[str, tuple[ChoiceKind, dict[Any, str]]]:
        """The choices of ``space`` that choose the ``torch.optim`` optimiser or the activation the objective
        runs (:mod:`.torch_choices`): each one's kind, and the class its options run where the objective says
        (``{"adam": "Adam"}`` for a table or branches; none for ``getattr(optim, name)``, whose options are
        the classes' names)."""
        if self.source is None:
            return {}
        kinds = {kind.target: kind for kind in KINDS}
        found: dict[str, tuple[ChoiceKind, dict[Any, str]]] = {
            role.parameter: (kinds[role.target], {}) for role in self.source.roles
            if role.target in kinds and isinstance(space.get(role.parameter), Choice)}
        for one in self.source.chosen_options:
            if one.parameter in found and any(_same_option(one.option, o) for o in space[one.parameter].options):
                found[one.parameter][1][one.option] = one.runs
        return found

    def branches(self, space: SearchSpace) -> dict[str, list[Branch]]:
        """Each parameter of ``space`` the objective uses only in some branch of a choice of ``space``: its
        branches (:mod:`.branches`), whose values are options of that choice."""
        if self.source is None:
            return {}
        found: dict[str, list[Branch]] = {}
        for branch in self.source.branches:
            chooser = space.get(branch.chooser)
            if branch.parameter in space and isinstance(chooser, Choice) and all(
                    any(_same_option(v, o) for o in chooser.options) for v in branch.values):
                found.setdefault(branch.parameter, []).append(branch)
        return found

    def fixed_settings(self) -> dict[str, Any]:
        """What the objective fixes instead of tuning, by canonical name: ``{"class_weight": None}``."""
        if self.source is None:
            return {}
        return {canonical_name(setting.role): setting.value for setting in self.source.settings}

    @property
    def n_features(self) -> float | None:
        return feature_count(self.task.meta_features)


def _same_option(value: Any, option: Any) -> bool:
    """Whether a branch's value (read from the source, or from JSON, where tuples are lists) is this option."""
    as_tuple = tuple(value) if isinstance(value, list) else value
    return type(as_tuple) is type(option) and as_tuple == option


def _holds(parameter: Any, value: Any) -> bool:
    """Whether ``value`` is a valid value of ``parameter`` as it is (no clipping, no conversion)."""
    if not isinstance(parameter, Choice) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return False  # a range never holds None, a string or a flag
    try:
        return bool(parameter.contains(value))
    except (TypeError, ValueError):
        return False


def evidence_for(
    past: PastStudy, match: SpaceMatch, context: StudyContext, theirs: ObjectiveSource | None
) -> tuple[Evidence, ...]:
    """Every piece of evidence that ``past`` is related to the new study (none: it is not a source).

    ``theirs`` is the past study's :func:`past_source`, read once by the caller (matching reads it too).
    """
    families = past_families(past, theirs)
    other_kind = _builds_another_kind(past_kinds(past, theirs), context)
    found = [
        *_explicit(past, context),
        *_same_task(past, context),
        *([] if other_kind else _objective(theirs, context)),
        *([] if other_kind else _estimator(families, context)),  # an SVC(kernel='poly') is not the RBF SVM
        *([] if other_kind else _data(past, context)),
        *_space(theirs is not None or bool(families), match, context),
    ]
    return tuple(found)


def is_source(evidence: tuple[Evidence, ...], match: SpaceMatch, past: PastStudy, context: StudyContext) -> bool:
    """Whether this evidence is enough for a past study matched this way (see the module docstring)."""
    kinds = {e.kind for e in evidence}
    if kinds & STRONG_EVIDENCE:
        return True
    if one_loss_scaled_link(match) and same_task_type(past, context) is False:
        return False
    if match.complete and len(match.links) >= 2:
        return bool(kinds)
    if match.complete:  # a one-parameter space: one shared name needs the same estimator, not data alike
        return "estimator" in kinds
    if "estimator" not in kinds:
        return False
    return same_task_type(past, context) is not False or not _task_specific_unmatched(match, past, context)


#: Parameters that scale the loss, whose good values therefore differ between classification and regression (an
#: SVC's hinge loss on the labels, an SVR's epsilon-insensitive loss on the target): one such shared parameter does
#: not carry a study of the other kind of task. Measured live on six held-out datasets (README, "Objectives written
#: for Optuna"): Optuna's example (an SVM or a forest) 0.126 / 0.019 / 0.018 / 0.007 -> 0.072 / 0.012 / 0.012 /
#: 0.009 at trials 1 / 3 / 5 / 10, an ``SVC(C=C)`` / ``SVR(C=C)`` cell 0.189 / 0.064 / 0.011 / 0.006 -> 0.172 /
#: 0.026 / 0.013 / 0.002; the same rule for every parameter lost on ``HistGradientBoostingRegressor(
#: learning_rate=lr, max_depth=depth)`` (0.223 -> 0.299 at trial 1), whose classification studies carry the
#: learning rate well.
LOSS_SCALED = frozenset({canonical_name("C")})


def one_loss_scaled_link(match: SpaceMatch) -> bool:
    """Whether the match shares one parameter, and it is one that scales the loss (:data:`LOSS_SCALED`)."""
    return len(match.links) == 1 and canonical_name(match.links[0].past) in LOSS_SCALED


def _task_specific_unmatched(match: SpaceMatch, past: PastStudy, context: StudyContext) -> list[str]:
    """New parameters the past study does not inform but a study of the user's kind of task would.

    An SVR's space lacks an SVC's ``class_weight``: a classification-only parameter of
    the family's built-in classifier space. A parameter no built-in space of the family
    has (a random forest's ``criterion`` here) is as unknown to a classifier's past as
    to a regressor's, so it does not count against the other kind of task.
    """
    if not match.unmatched or context.source is None:
        return list(match.unmatched)
    # The user's families: the "estimator" evidence that let this study this far says the past shares one.
    own_kind = {
        canonical_name(name)
        for space in BUILTIN_SPACES.values()
        if space.family in context.source.families and space.task == context.task_type
        for name in space.space.names
    }
    roles = context.source_roles()
    return [name for name in match.unmatched if roles.get(name, canonical_name(name)) in own_kind]


def same_task_type(past: PastStudy, context: StudyContext) -> bool | None:
    """Classification vs regression on both sides: the same, not, or None when either is unknown."""
    theirs = past.extra.get("task_type")
    if not context.task_type or not theirs:
        return None
    return theirs == context.task_type


def _explicit(past: PastStudy, context: StudyContext) -> list[Evidence]:
    return [Evidence("explicit", "given by you (past=)")] if past.study_id in context.explicit else []


def _same_task(past: PastStudy, context: StudyContext) -> list[Evidence]:
    task = context.task
    if task.data_fingerprint and past.data_fingerprint == task.data_fingerprint:
        return [Evidence("task", "the same data")]
    if task.name and past.task_name == task.name:
        return [Evidence("task", f"the same task name ({task.name!r})")]
    return []


def _builds_another_kind(kinds: frozenset[str], context: StudyContext) -> bool:
    """Both objectives name estimators, and none of the same kind: then neither similar code (a short cell
    around an SVC and the same around a LogisticRegression score 0.65: the same template, not the same
    objective), nor data alike, nor the same family (an SVC with a polynomial kernel and one with the RBF
    kernel: another kind, :func:`.source.model_variant`) is evidence."""
    ours = context.source.kinds() if context.source is not None else frozenset()
    return bool(ours and kinds and not ours & kinds)


def _objective(theirs: ObjectiveSource | None, context: StudyContext) -> list[Evidence]:
    if context.source is None or theirs is None:
        return []
    similarity = source_similarity(context.source, theirs)
    if similarity < SIMILAR_OBJECTIVE:
        return []
    what = "the same objective code" if similarity >= 0.95 else f"similar objective code (similarity {similarity:.2f})"
    return [Evidence("objective", what)]


def _estimator(families: tuple[str, ...], context: StudyContext) -> list[Evidence]:
    # The same family, not only the same kind: a GradientBoostingClassifier cell warmed from the HGB prior on
    # learning_rate and n_estimators (their max_iter) lost to its own cold start by trial 5 (13 datasets held out,
    # 3 seeds; benchmarks/results/user_spaces_findings.md, seventh update).
    if context.source is None:
        return []
    shared = [f for f in context.source.families if f in families]
    return [Evidence("estimator", f"the same estimator family ({shared[0]})")] if shared else []


def _data(past: PastStudy, context: StudyContext) -> list[Evidence]:
    task = context.task
    if not task.has_meta_features or past.meta_features is None or past.meta_feature_set != task.meta_feature_set:
        return []
    return [Evidence("data", "data described by the same meta-features")]


def _space(past_known: bool, match: SpaceMatch, context: StudyContext) -> list[Evidence]:
    comparable = context.source is not None and past_known
    if comparable or not match.complete or len(match.links) < 2:
        return []
    return [Evidence("space", f"the same parameters ({', '.join(match.shared)}); its objective is not known")]


def past_families(past: PastStudy, source: ObjectiveSource | None = None) -> tuple[str, ...]:
    """The estimator families of a past study: its built-in space's for the prior, its objective's otherwise.

    ``source`` is the study's :func:`past_source`, when the caller has already read it.
    """
    builtin = builtin_space_of(past)
    if builtin is not None:
        return (builtin.family,)
    source = source if source is not None else past_source(past)
    return () if source is None else source.families


def past_kinds(past: PastStudy, source: ObjectiveSource | None) -> frozenset[str]:
    """The kinds of estimator a past study built (:func:`.source.estimator_kind`), where known."""
    builtin = builtin_space_of(past)
    if builtin is not None:
        return frozenset((family_kind(builtin.family),))
    return frozenset() if source is None else source.kinds()


def past_arguments(past: PastStudy, source: ObjectiveSource | None) -> dict[str, EstimatorArgument]:
    """The estimator argument each of the past study's parameters set, where known.

    The bundled prior's studies set their built-in space's estimator (every parameter is
    that family's); a stored study's come from its recorded objective ``source``
    (:func:`past_source`); a study without either tells nothing.
    """
    builtin = builtin_space_of(past)
    if builtin is not None:
        return dict(_builtin_arguments(builtin.name))
    return {} if source is None else _estimator_arguments(source, past.space.names)


def past_roles(past: PastStudy, source: ObjectiveSource | None) -> dict[str, str]:
    """The role of each of the past study's parameters that its recorded objective source read (passed on as it is
    or as an exponent); none for a study without one (a bundled prior study's names are its roles already)."""
    if source is None or builtin_space_of(past) is not None:
        return {}
    return {role.parameter: role.role for role in _argument_roles(source, past.space.names)}


def past_scales(past: PastStudy, source: ObjectiveSource | None) -> dict[str, float | None]:
    """On which scale each of the past study's parameters reached its argument, where known: ``None`` as it is
    (every parameter of a bundled prior study: its space's names are its estimator's arguments), a base when
    its objective raised that base to it (:func:`.powers.scales`)."""
    if builtin_space_of(past) is not None:
        return {name: None for name in past.space.names}
    return {} if source is None else scales(source.roles, past.space.names)


def builtin_space_of(past: PastStudy) -> BuiltinSpace | None:
    """The built-in space a bundled prior study ran (None for any other study)."""
    return BUILTIN_SPACES.get(str(past.extra.get("space_name", "")))


@lru_cache(maxsize=None)
def _builtin_arguments(space_name: str) -> tuple[tuple[str, EstimatorArgument], ...]:
    builtin = BUILTIN_SPACES[space_name]
    estimator = builtin.estimator_path.partition(":")[2]
    kind = family_kind(builtin.family)
    return tuple((name, EstimatorArgument(kind, estimator, name)) for name in builtin.space.names)


def _passing_roles(source: ObjectiveSource, names) -> list[ParameterRole]:
    """The roles that pass one of ``names`` on to an argument, in the source's order: as it is, or, for a
    parameter never passed as it is, as the exponent of its base (:func:`.powers.scales`). Roles of other
    transforms (``2 * width``) are left out."""
    scale = scales(source.roles, names)
    return [role for role in source.roles if role.parameter in scale and (
        role.direct if scale[role.parameter] is None else role.base == scale[role.parameter])]


def _argument_roles(source: ObjectiveSource, names) -> list[ParameterRole]:
    """The role that says what each of ``names`` sets: the first of :func:`_passing_roles` for it."""
    found: dict[str, ParameterRole] = {}
    for role in _passing_roles(source, names):
        found.setdefault(role.parameter, role)
    return list(found.values())


def _estimator_arguments(source: ObjectiveSource, names) -> dict[str, EstimatorArgument]:
    """For each of ``names`` passed as it is or as an exponent to an estimator's argument: that argument (the
    first one found)."""
    found: dict[str, EstimatorArgument] = {}
    for role in _passing_roles(source, names):
        kind = estimator_kind(role.target, source.settings)
        if kind is not None and role.parameter not in found:
            variant = model_variant(role.target, source.settings)  # SVC(kernel='poly') for a person
            estimator = f"{role.target}({variant})" if variant else role.target
            found[role.parameter] = EstimatorArgument(kind, estimator, role.argument)
    return found


def past_source(past: PastStudy) -> ObjectiveSource | None:
    """The past study's objective source, when it was recorded in a form this version reads."""
    data = past.extra.get("objective_source")
    if not isinstance(data, Mapping):
        return None
    try:
        return ObjectiveSource.from_json(data)
    except (TypeError, ValueError):  # recorded by another version: no evidence either way
        return None


