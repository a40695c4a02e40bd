"""Space matching: which parameter of a past study informs which parameter of a new space.

Users name their parameters as they like (``lr``, ``learning_rate``, ``eta``) and give
them their own ranges and kinds. A past study informs a new one through the parameters
they share, matched at three levels, in this order:

1. **by name**: the same name;
2. **by the estimator the objective builds**: the objective's source passes the user's
   parameter to an estimator's argument (``RandomForestClassifier(max_depth=depth)``,
   ``torch.optim.AdamW(..., lr=lr)``), and that argument's role names the past
   parameter (:mod:`.source` reads the roles);
3. **by alias**: the documented table :data:`ALIASES` (``lr`` / ``learning_rate`` /
   ``eta``; ``hidden`` / ``hidden_units`` / ``hidden_size`` / ``width`` /
   ``hidden_width``; ...).

Whatever the level, two parameters known to set arguments of estimators of different
kinds are not matched (:class:`EstimatorArgument`): a gradient-boosting study's
``max_depth`` says nothing about a random forest's, whose trees grow until pure.

Kinds convert where the meaning is the same: any two numeric parameters (an integer
range and a log-uniform float are both numbers), a range and a choice of numbers
(``choice(16, 32, 64)``: to the nearest option), two choices with options in common,
and the share of features per split (``max_features``) between a fraction and the
options ``"sqrt"`` / ``"log2"`` / ``None`` when the number of features is known (a
fraction more than :data:`SHARE_OPTION_TOLERANCE` times away from every option's share
has no counterpart there), and a logistic regression's ``penalty`` choice (``"l1"`` /
``"l2"``) and the elastic-net mixing ratio ``l1_ratio`` (1 / 0; a mix further than
:data:`PENALTY_RATIO_TOLERANCE` from both has no counterpart unless ``"elasticnet"`` is an
option), and a choice of layer sizes (scikit-learn's ``hidden_layer_sizes``:
``choice((64,), (64, 64))``) from a past width and number of hidden layers, which the one
parameter informs together (:data:`LAYERS_AS_OPTIONS`).
:func:`convert_value` turns one past value into the new parameter's terms; values
outside the new range are clipped when near it and dropped otherwise (see
:mod:`.compat`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..space import Choice, Parameter, SearchSpace
from .powers import raised, scale_label

__all__ = [
    "ALIAS_GROUPS",
    "ALIASES",
    "EstimatorArgument",
    "canonical_name",
    "ParameterLink",
    "SpaceMatch",
    "match_spaces",
    "on_argument_scale",
    "convert_value",
    "nearest_layer_sizes",
    "FEATURE_SHARE_OPTIONS",
    "LAYERS_AS_OPTIONS",
    "LAYER_OPTION_TOLERANCE",
    "NO_VALUE",
    "PENALTIES_AS_OPTIONS",
    "PENALTY_L1_RATIOS",
    "PENALTY_RATIO_TOLERANCE",
    "SHARE_OPTION_TOLERANCE",
    "SHARES_AS_OPTIONS",
    "feature_count",
]

#: What :func:`convert_value` returns for a value that has no meaning in the new parameter
#: (``None`` cannot say it: it is a valid option of many choices).
NO_VALUE = object()

#: Names that mean the same hyperparameter; the first of each group is its canonical
#: name (the built-in spaces' name where one exists). Matching is case-insensitive
#: and ignores ``-`` versus ``_``.
ALIAS_GROUPS: tuple[tuple[str, ...], ...] = (
    ("learning_rate", "lr", "eta", "learning_rate_init", "step_size", "lr_init"),
    ("n_estimators", "n_trees", "num_trees", "ntrees", "num_estimators"),
    ("hidden_width", "hidden", "hidden_units", "hidden_size", "width", "hidden_dim", "hidden_layer_width",
     "n_units", "units", "n_hidden_units", "num_hidden"),
    ("n_hidden_layers", "n_layers", "num_layers", "layers", "num_hidden_layers", "hidden_layers"),
    ("weight_decay", "wd", "l2_weight_decay"),
    ("batch_size", "bs", "batch", "minibatch_size"),
    ("max_depth", "depth", "tree_depth"),
    ("max_epochs", "epochs", "n_epochs", "num_epochs"),
    ("dropout", "dropout_rate", "drop_rate", "p_dropout", "dropout_p", "drop"),
    ("min_samples_leaf", "min_leaf", "min_leaf_size", "min_samples_per_leaf"),
    ("max_leaf_nodes", "num_leaves", "max_leaves"),
    ("max_features", "feature_fraction", "colsample_bynode", "max_feature_share"),
    ("l2_regularization", "reg_lambda", "lambda_l2"),
    ("max_iter", "n_iter", "num_iterations", "num_boost_round", "n_rounds"),
)

#: Alias -> canonical name (see :data:`ALIAS_GROUPS`).
ALIASES: dict[str, str] = {
    alias: group[0] for group in ALIAS_GROUPS for alias in group
}

#: How a past share of the features (a fraction) converts into a new choice's options (``"sqrt"``, ...).
SHARES_AS_OPTIONS = "their shares of the features as your options"

#: A past share of the features becomes the option whose share is nearest it only when
#: that option's share is within this factor of it (0.12 of 57 columns is "sqrt", 0.13;
#: 0.4 is no option: "log2" is 0.10 and ``None`` all of them): a trial that ran far from
#: every option says little about any of them, and the nearest one can be much worse
#: than what it scored. Measured on the forest's kind case trained live (16 datasets held
#: out in turn, 6 seeds; ``benchmarks/results/user_spaces_findings.md``, sixth update):
#: regret at trials 1 / 5 / 10 0.246 / 0.103 / 0.080 with the nearest option whatever
#: the distance, 0.249 / 0.099 / 0.070 with this factor (within one standard error).
SHARE_OPTION_TOLERANCE = 1.5

#: How a past elastic-net mixing ratio (``l1_ratio``) converts into a new choice of penalties (``"l1"``, ``"l2"``).
PENALTIES_AS_OPTIONS = "their l1_ratio near 1 / 0 as your 'l1' / 'l2'"

#: The elastic-net mixing ratio (scikit-learn's ``l1_ratio``) each penalty option means.
PENALTY_L1_RATIOS: dict[Any, float] = {"l1": 1.0, "l2": 0.0}

#: A past ``l1_ratio`` within this distance of 1 (or 0) counts as ``"l1"`` (or ``"l2"``); one further in
#: mixes the two penalties, which only an ``"elasticnet"`` option can say (else it has no counterpart).
PENALTY_RATIO_TOLERANCE = 0.1

#: How a past width and number of hidden layers convert into a new choice of layer sizes.
LAYERS_AS_OPTIONS = "their width and number of layers as your nearest layer sizes"

#: Names (or estimator arguments) of a choice of layer sizes, by their canonical name.
LAYER_SIZES_NAMES = frozenset({"hidden_layer_sizes", "layer_sizes", "hidden_sizes", "n_hidden_layers"})

#: A past width and depth become the layer-sizes option nearest them only within this distance, counted
#: as doublings of the width (of the option's geometric mean width) plus layers more or fewer: a factor 2
#: in width at the same depth, or one layer more or fewer at the same width. A trial that ran further from
#: every option says little about any of them (as for the feature shares, :data:`SHARE_OPTION_TOLERANCE`).
LAYER_OPTION_TOLERANCE = 1.0

#: What the options of a feature-share choice mean as a fraction of ``n`` features.
FEATURE_SHARE_OPTIONS: dict[Any, Any] = {
    "sqrt": lambda n: 1.0 / math.sqrt(n),
    "log2": lambda n: max(1.0, math.log2(n)) / n,
    "auto": lambda n: 1.0 / math.sqrt(n),
    None: lambda n: 1.0,
}


def _key(name: str) -> str:
    # A scikit-learn Pipeline names a step's parameter "step__param": the parameter is what matters.
    return name.strip().lower().replace("-", "_").rpartition("__")[2]


def canonical_name(name: str) -> str:
    """The canonical name of a parameter name (itself when no alias group holds it).

    Case, ``-`` against ``_`` and a Pipeline step's prefix (``svc__C``) do not count.
    """
    key = _key(name)
    return ALIASES.get(key, key)


@dataclass(frozen=True)
class ParameterLink:
    """One parameter of the new space informed by one of the past study's.

    ``how`` is ``"name"``, ``"estimator"`` or ``"alias"``; ``conversion`` says how
    values change kind (``None`` when both parameters are of the same kind). ``also`` names
    further past parameters the value is read from: a choice of layer sizes is their width
    (``past``) and their number of layers together. ``setter`` says, for a link made by
    what the parameter sets, what that is (``"torch.optim.Adam's lr"``), where known.
    """

    new: str
    past: str
    how: str
    conversion: str | None = None
    also: tuple[str, ...] = ()
    setter: str | None = None
    #: The base the new objective raises to the new parameter (``10.0`` for ``SVC(C=10 ** log_c)``; ``None``: it is
    #: the argument itself), and the same of the past parameter. Where they differ (:attr:`rescaled`), each past
    #: value is taken to the argument, then to the new exponent.
    base: float | None = None
    past_base: float | None = None

    @property
    def rescaled(self) -> bool:
        """Whether values change scale on this link (:mod:`.powers`)."""
        return self.base != self.past_base

    @property
    def pasts(self) -> tuple[str, ...]:
        """Every past parameter this link reads."""
        return (self.past, *self.also)

    def describe(self) -> str:
        theirs = " and ".join(self.pasts)
        if self.how == "name":
            text = self.new if not self.also else f"{self.new} (their {theirs})"
        elif self.how == "alias":
            text = f"{self.new} (their {theirs})"
        elif self.setter is not None:
            text = f"{self.new} (their {theirs}: it sets {self.setter})"
        else:
            text = f"{self.new} (their {theirs}, by what it sets in your objective)"
        return text if self.conversion is None else f"{text}, {self.conversion}"


@dataclass(frozen=True)
class EstimatorArgument:
    """The estimator argument a parameter sets, as its objective's source says.

    ``kind`` is what the argument's meaning belongs to (:func:`.source.estimator_kind`:
    the built-in family, or the class without ``Classifier`` / ``Regressor``); ``estimator``
    and ``argument`` name it for a person (``"RandomForestClassifier"``, ``"max_depth"``).
    """

    kind: str
    estimator: str
    argument: str

    def describe(self) -> str:
        return f"{self.estimator}'s {self.argument}"


@dataclass(frozen=True)
class SpaceMatch:
    """How a past space informs a new one.

    ``links`` are the shared parameters; ``unmatched`` the new parameters the past
    never saw (they get the new space's own design); ``ignored`` the past parameters
    the new space does not have; ``refused`` the new parameters whose counterpart
    exists under a matching name but cannot convert (and why).
    """

    links: tuple[ParameterLink, ...]
    unmatched: tuple[str, ...]
    ignored: tuple[str, ...]
    refused: Mapping[str, str] = field(default_factory=dict)

    @property
    def shared(self) -> tuple[str, ...]:
        return tuple(link.new for link in self.links)

    @property
    def complete(self) -> bool:
        """Every new parameter is informed, by a parameter of the same name and kind."""
        return not self.unmatched and all(link.how == "name" and link.conversion is None for link in self.links)

    def link(self, new: str) -> ParameterLink | None:
        return next((link for link in self.links if link.new == new), None)


def match_spaces(
    space: SearchSpace,
    past_space: SearchSpace,
    roles: Mapping[str, str] | None = None,
    *,
    arguments: Mapping[str, EstimatorArgument] | None = None,
    past_arguments: Mapping[str, EstimatorArgument] | None = None,
    setters: Mapping[str, str] | None = None,
    scales: Mapping[str, float] | None = None,
    past_scales: Mapping[str, float | None] | None = None,
    past_roles: Mapping[str, str] | None = None,
) -> SpaceMatch:
    """Match every parameter of ``space`` to at most one of ``past_space``.

    ``roles`` maps a new parameter to the role the objective's source gives it (the
    estimator argument it sets, e.g. ``{"depth": "max_depth"}``), when known. Each past
    parameter informs at most one new parameter; the levels are tried in order (name,
    estimator, alias), so a parameter matched by name is never taken by an alias.
    ``arguments`` and ``past_arguments`` say which estimator argument a new and a past
    parameter set, where known: a pair that sets arguments of estimators of different kinds
    is refused, whatever the names. ``setters`` say for a person what each new parameter
    sets (``"SVC's C"``), for the links made by it. ``scales`` gives the base of each new parameter the objective
    raises a base to (``log_c`` of ``SVC(C=10 ** log_c)``), ``past_scales`` how each past parameter reached its
    argument where known (``None``: as it is; a base); a past parameter of unknown scale is on the new one's when
    matched by name, and is the argument itself when matched by the argument's or an alias's name. ``past_roles``
    gives the role of each past parameter its objective's source read, so that the estimator level also links a
    new parameter to a past one of another name that set the same argument (your ``c_value`` and your past
    study's ``reg``, both ``SVC``'s ``C``).
    """
    roles, setters = roles or {}, setters or {}
    scales, past_scales = scales or {}, past_scales or {}
    arguments, past_arguments = arguments or {}, past_arguments or {}
    free = {name: name for name in past_space.names}
    by_canonical: dict[str, str] = {}
    for name in past_space.names:
        by_canonical.setdefault(canonical_name(name), name)
    by_role: dict[str, str] = {}
    for name, role in (past_roles or {}).items():
        if name in past_space:
            by_role.setdefault(canonical_name(role), name)
    chosen: dict[str, tuple[str, str]] = {}
    layer_links = _layer_sizes_links(space, past_space, roles, free, setters)
    for level in ("name", "estimator", "alias"):
        for new in space.names:
            if new in chosen:
                continue
            past = _candidate(new, level, free, by_canonical, roles, by_role)
            if past is not None and past in free:
                chosen[new] = (past, level)
                del free[past]
    links, refused = [], {}
    for new in space.names:
        if new in layer_links:
            link = layer_links[new]
            mine = arguments.get(new)
            theirs = [past_arguments[p] for p in link.pasts if p in past_arguments]
            if mine is not None and any(t.kind != mine.kind for t in theirs):
                refused[new] = (f"your {new} is {mine.describe()}, their {' and '.join(link.pasts)} set "
                                f"{theirs[0].describe()}: not the same hyperparameter")
            else:
                links.append(link)
            continue
        if new not in chosen:
            continue
        past, how = chosen[new]
        mine, theirs = arguments.get(new), past_arguments.get(past)
        if mine is not None and theirs is not None and mine.kind != theirs.kind:
            refused[new] = (f"your {new} is {mine.describe()}, their {past} {theirs.describe()}: "
                            "not the same hyperparameter")
            continue
        base = scales.get(new)
        past_base = past_scales[past] if past in past_scales else base if how == "name" else None
        past_parameter, parameter = _on_argument_scale(past_space[past], past_base, space[new], base)
        if past_parameter is None or parameter is None:
            refused[new] = f"your {new} and their {past} cannot be put on one scale"
            continue
        conversion = conversion_between(past_parameter, parameter, new)
        if conversion is False:
            refused[new] = _why_not(new, past, past_parameter, parameter)
            continue
        if base != past_base:
            conversion = ", ".join(filter(None, (scale_label(base, past_base, past), conversion)))
        setter = setters.get(new) if how == "estimator" else None
        links.append(ParameterLink(new, past, how, conversion or None, setter=setter, base=base, past_base=past_base))
    linked = {link.new for link in links}
    used = {past for link in links for past in link.pasts}
    return SpaceMatch(
        links=tuple(links),
        unmatched=tuple(n for n in space.names if n not in linked),
        ignored=tuple(n for n in past_space.names if n not in used),
        refused=refused,
    )


def _on_argument_scale(
    past: Parameter, past_base: float | None, new: Parameter, base: float | None
) -> tuple[Parameter | None, Parameter | None]:
    """Both parameters as ranges of the argument they set when their scales differ (:func:`.powers.raised`),
    as they are when they do not; ``None`` for one that has no such range."""
    if base == past_base:
        return past, new
    return (past if past_base is None else raised(past, past_base)), (new if base is None else raised(new, base))


def on_argument_scale(link: ParameterLink, past: Parameter, new: Parameter) -> tuple[Parameter, Parameter]:
    """The two parameters of ``link`` as the mover converts between them (:func:`_on_argument_scale`)."""
    past_parameter, parameter = _on_argument_scale(past, link.past_base, new, link.base)
    assert past_parameter is not None and parameter is not None  # match_spaces refuses such a link
    return past_parameter, parameter


def _candidate(new: str, level: str, free, by_canonical, roles, by_role) -> str | None:
    if level == "name":
        return new if new in free else None
    if level == "estimator":
        role = roles.get(new)
        if role is None:
            return None
        if role in free:
            return role
        named = by_canonical.get(canonical_name(role))  # a past parameter named as the argument
        return named if named in free else by_role.get(canonical_name(role), named)
    return by_canonical.get(canonical_name(new))


def _layer_sizes_links(space: SearchSpace, past_space: SearchSpace, roles: Mapping[str, str],
                       free: dict[str, str], setters: Mapping[str, str]) -> dict[str, ParameterLink]:
    """New choices of layer sizes informed by a past width and number of hidden layers (both taken from ``free``).

    A choice is one when its options are tuples of layer widths and its name, or the estimator
    argument it sets, is one of :data:`LAYER_SIZES_NAMES` (``hidden_layer_sizes``).
    """
    choices = [new for new in space.names if _layer_options(space[new])
               and {canonical_name(new), canonical_name(roles.get(new, new))} & LAYER_SIZES_NAMES]
    if not choices:  # most spaces: nothing to do for any past study
        return {}
    by_canonical = {canonical_name(name): name for name in reversed(free)}
    width, depth = by_canonical.get("hidden_width"), by_canonical.get("n_hidden_layers")
    if width is None or depth is None or not _is_numeric(past_space[width]) or not _is_numeric(past_space[depth]):
        return {}
    new = choices[0]  # one width and depth inform one choice
    how = "estimator" if canonical_name(roles.get(new, "")) in LAYER_SIZES_NAMES else "alias"
    del free[width], free[depth]
    setter = setters.get(new) if how == "estimator" else None
    return {new: ParameterLink(new, width, how, LAYERS_AS_OPTIONS, also=(depth,), setter=setter)}


def _layer_options(parameter: Parameter) -> bool:
    """A choice of layer sizes: every option a tuple of positive widths, at least one of them not empty."""
    return isinstance(parameter, Choice) and any(parameter.options) and all(
        isinstance(option, tuple) and all(_is_number(width) and width > 0 for width in option)
        for option in parameter.options
    )


def nearest_layer_sizes(width: float, n_layers: float, choice: Choice) -> Any:
    """The layer-sizes option of ``choice`` nearest ``n_layers`` layers of ``width`` units, or :data:`NO_VALUE`
    when it is further than :data:`LAYER_OPTION_TOLERANCE` (doublings of the width plus layers apart)."""
    def distance(option: tuple[float, ...]) -> float:
        layers = abs(len(option) - float(n_layers))
        if not option or width <= 0:
            return layers
        mean_width = math.exp(sum(math.log(w) for w in option) / len(option))
        return layers + abs(math.log2(mean_width) - math.log2(width))

    best = min(choice.options, key=distance)
    return best if distance(best) <= LAYER_OPTION_TOLERANCE + 1e-9 else NO_VALUE


def _is_numeric(parameter: Parameter) -> bool:
    return parameter.kind in ("float", "int")


def _number_options(parameter: Parameter) -> bool:
    """A choice whose options are all numbers (``choice(16, 32, 64)``): it converts to and from a range."""
    return isinstance(parameter, Choice) and all(_is_number(o) for o in parameter.options
    )


def _is_feature_share(name: str) -> bool:
    return canonical_name(name) == "max_features"


def _share_options(parameter: Choice) -> bool:
    """Every option of this choice means a share of the features."""
    return all(option in FEATURE_SHARE_OPTIONS or _is_fraction(option) for option in parameter.options)


def _is_number(value: Any) -> bool:
    """An int or float, not a bool (``True`` is an int in Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_fraction(value: Any) -> bool:
    return _is_number(value) and 0.0 < float(value) <= 1.0


def _penalty_options(parameter: Parameter) -> bool:
    """A choice of regularisation penalties (``"l1"``, ``"l2"``, maybe ``"elasticnet"`` / ``None``)."""
    if not isinstance(parameter, Choice):
        return False
    options = set(parameter.options)
    return bool(options & set(PENALTY_L1_RATIOS)) and options <= {*PENALTY_L1_RATIOS, "elasticnet", None, "none"}


def _is_ratio(parameter: Parameter) -> bool:
    """A numeric parameter within [0, 1] (a mixing ratio can be one)."""
    if not _is_numeric(parameter):
        return False
    return 0.0 <= float(parameter.low) and float(parameter.high) <= 1.0  # type: ignore[attr-defined]


def conversion_between(past: Parameter, new: Parameter, name: str) -> str | bool:
    """How values of ``past`` become values of ``new``: "" (same kind), a label, or False (they cannot)."""
    # A penalty choice and a mixing ratio: linked by the estimator argument (LogisticRegression's penalty).
    if _is_ratio(past) and _penalty_options(new):
        return PENALTIES_AS_OPTIONS
    if _penalty_options(past) and _is_ratio(new):
        return "their 'l1' / 'l2' as l1_ratio 1 / 0"
    if _is_numeric(past) and _is_numeric(new):
        return "" if past.kind == new.kind else f"{past.kind} values used as {new.kind}"
    if _is_numeric(past) and _number_options(new):
        return "their values rounded to your nearest option"
    if _number_options(past) and _is_numeric(new):
        return "their options used as numbers"
    if isinstance(past, Choice) and isinstance(new, Choice):
        common = [o for o in past.options if new.contains(o)]
        return "" if common else False
    if _is_feature_share(name):
        if isinstance(past, Choice) and _is_numeric(new) and _share_options(past):
            return "their options as shares of the features"
        if _is_numeric(past) and isinstance(new, Choice) and _share_options(new):
            return SHARES_AS_OPTIONS
    return False


def _why_not(new: str, past: str, past_parameter: Parameter, new_parameter: Parameter) -> str:
    theirs, yours = _kind_words(past_parameter), _kind_words(new_parameter)
    if isinstance(past_parameter, Choice) and isinstance(new_parameter, Choice):
        return f"your {new} and their {past} have no option in common"
    return f"your {new} is {yours}, their {past} is {theirs}"


def _kind_words(parameter: Parameter) -> str:
    if isinstance(parameter, Choice):
        return "a choice"
    return "an integer range" if parameter.kind == "int" else "a float range"


def convert_value(
    value: Any,
    past: Parameter,
    new: Parameter,
    *,
    n_features_past: float | None = None,
    n_features_new: float | None = None,
) -> Any:
    """``value`` of the past parameter in the new parameter's terms, before any clipping.

    Returns :data:`NO_VALUE` when it has no meaning there (an option the new choice
    lacks; a feature-share option without a known number of features). Numbers are returned as
    floats (the caller clips and rounds them into the new range).
    """
    if _is_numeric(past) and _is_numeric(new):
        return float(value)
    if isinstance(past, Choice) and isinstance(new, Choice):
        return new.options[new.index(value)] if new.contains(value) else NO_VALUE
    if _is_ratio(past) and _penalty_options(new):
        return _nearest_penalty(float(value), new)
    if _penalty_options(past) and _is_ratio(new):
        return PENALTY_L1_RATIOS.get(value, NO_VALUE)
    if _is_numeric(past) and _number_options(new):
        return _nearest_number_option(float(value), new)
    if _number_options(past) and _is_numeric(new):
        return float(value)
    if isinstance(past, Choice):  # a feature-share option -> a fraction
        share = _option_share(value, n_features_past)
        return NO_VALUE if share is None else share
    # Only a numeric past parameter reaches here: the choices returned above.
    past_range = (float(past.low), float(past.high))  # type: ignore[attr-defined]
    return _nearest_share_option(float(value), new, n_features_new or n_features_past, past_range)


def _nearest_penalty(ratio: float, choice: Choice) -> Any:
    """The penalty option a past ``l1_ratio`` ran as (:data:`PENALTY_RATIO_TOLERANCE`), or :data:`NO_VALUE`."""
    for option, pure in PENALTY_L1_RATIOS.items():
        if abs(ratio - pure) <= PENALTY_RATIO_TOLERANCE and choice.contains(option):
            return option
    return "elasticnet" if choice.contains("elasticnet") else NO_VALUE


def _nearest_number_option(value: float, choice: Choice) -> Any:
    """The option nearest ``value``: on a log scale when every option and the value are positive."""
    log = value > 0 and all(o > 0 for o in choice.options)
    def distance(option: float) -> float:
        return abs(math.log(option) - math.log(value)) if log else abs(option - value)
    return min(choice.options, key=distance)


def feature_count(meta_features: Mapping[str, float] | None) -> float | None:
    """A task's number of features (columns), from its meta-features; None when they do not say."""
    if not meta_features or "log_n_columns" not in meta_features:
        return None
    return float(math.exp(float(meta_features["log_n_columns"])))


def _option_share(option: Any, n_features: float | None) -> float | None:
    if _is_fraction(option):
        return float(option)
    if option in FEATURE_SHARE_OPTIONS and n_features:
        return float(FEATURE_SHARE_OPTIONS[option](n_features))
    return None


def _nearest_share_option(
    share: float, choice: Choice, n_features: float | None, past_range: tuple[float, float]
) -> Any:
    """The option of ``choice`` whose share of the features is nearest ``share`` (on a log scale).

    :data:`NO_VALUE` when that option's share is more than :data:`SHARE_OPTION_TOLERANCE`
    times away from ``share``, or an option cannot be placed. An option's share beyond
    ``past_range`` (the past parameter's bounds) is compared at the nearer bound: with
    1,000 columns ``"sqrt"`` is 0.03 of them, and a past that could not go below 0.05
    ran its nearest at 0.05.
    """
    best, best_share, best_distance = NO_VALUE, 1.0, math.inf
    for option in choice.options:
        option_share = _option_share(option, n_features)
        if option_share is None:
            return NO_VALUE  # an option that cannot be placed: no honest nearest one
        distance = abs(math.log(option_share) - math.log(max(share, 1e-12)))
        if distance < best_distance:
            best, best_share, best_distance = option, option_share, distance
    reachable = min(max(best_share, past_range[0]), past_range[1])
    far = abs(math.log(max(reachable, 1e-12)) - math.log(max(share, 1e-12))) > math.log(SHARE_OPTION_TOLERANCE)
    return NO_VALUE if far else best
