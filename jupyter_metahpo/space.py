"""Search spaces: parameters that validate themselves, encode to the unit cube, and
round-trip through JSON.

Every parameter maps its values to ``[0, 1]`` and back. Samplers work in that unit
cube; the space turns unit-cube points back into plain Python configurations. The
maps are chosen so that a uniform draw in the cube is the natural prior of the
parameter: uniform for ``uniform``, log-uniform for ``loguniform``, one equal-width
bin per integer for ``intrange`` and one equal-width bin per option for ``choice``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Parameter",
    "Uniform",
    "LogUniform",
    "IntRange",
    "Choice",
    "SearchSpace",
    "uniform",
    "loguniform",
    "intrange",
    "choice",
    "from_scipy_distribution",
    "from_tune_domain",
    "MAX_GRID",
]

#: The kinds a parameter can have; compatibility between spaces is judged by name and kind.
KINDS = ("float", "int", "categorical")

_SCALAR_TYPES = (str, int, float, bool, type(None))


def _check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number, but got {name}={value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, but got {name}={value!r}.")
    return value


def _check_bounds(low: float, high: float) -> None:
    if not low < high:
        raise ValueError(f"`low` must be < `high`, but got low={low!r}, high={high!r}.")


class Parameter:
    """A single dimension of a search space.

    Subclasses validate in ``__init__`` and are immutable afterwards. ``to_unit`` and
    ``from_unit`` map between a value and a float in ``[0, 1]``.
    """

    kind: str = ""
    type_name: str = ""
    __slots__ = ()

    def to_unit(self, value: Any) -> float:
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_json() == other.to_json()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))

    def __setattr__(self, key: str, value: Any) -> None:
        if hasattr(self, "_frozen"):
            raise AttributeError(f"{type(self).__name__} is immutable; build a new one instead.")
        object.__setattr__(self, key, value)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)


class _FloatRange(Parameter):
    """A float in ``[low, high]``; subclasses choose the scale of the unit-cube map."""

    kind = "float"
    __slots__ = ("low", "high", "_frozen")

    def __init__(self, low: float, high: float) -> None:
        low = _check_number("low", low)
        high = _check_number("high", high)
        self._check_scale(low)
        _check_bounds(low, high)
        self.low = low
        self.high = high
        self._freeze()

    def _check_scale(self, low: float) -> None:
        """Raise if ``low`` cannot start this scale (a log scale needs ``low > 0``)."""

    def contains(self, value: Any) -> bool:
        return _is_real(value) and self.low <= float(value) <= self.high

    def clip(self, value: float) -> float:
        return float(min(max(float(value), self.low), self.high))

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "low": self.low, "high": self.high}

    def __repr__(self) -> str:
        return f"{self.type_name}({self.low!r}, {self.high!r})"


def _bound_at(parameter: _FloatRange, u: float) -> float:
    """The exact bound at an end of the unit interval.

    Optimisers often stop on a face of the cube; the arithmetic of the map back would
    turn ``high=0.5`` into 0.49999999999999994, which a user then reads in the result.
    """
    return parameter.low if u == 0.0 else parameter.high


class Uniform(_FloatRange):
    """A float drawn uniformly from ``[low, high]``."""

    type_name = "uniform"
    __slots__ = ()

    def to_unit(self, value: Any) -> float:
        return (float(value) - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if u in (0.0, 1.0):
            return _bound_at(self, u)
        return self.clip(self.low + u * (self.high - self.low))


class LogUniform(_FloatRange):
    """A positive float whose logarithm is uniform on ``[log(low), log(high)]``."""

    type_name = "loguniform"
    __slots__ = ()

    def _check_scale(self, low: float) -> None:
        if low <= 0:
            raise ValueError(f"`low` must be > 0 on a log scale, but got low={low!r}.")

    def to_unit(self, value: Any) -> float:
        return (math.log(float(value)) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if u in (0.0, 1.0):
            return _bound_at(self, u)
        return self.clip(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))


class IntRange(Parameter):
    """An integer in ``[low, high]`` (both included), optionally on a log scale.

    In the unit cube every integer owns a bin of equal width (equal width in log space
    when ``log=True``), so a uniform draw gives the intended prior and rounding a
    relaxed value lands on the integer whose bin it falls in.
    """

    kind = "int"
    type_name = "intrange"
    __slots__ = ("low", "high", "log", "_frozen")

    def __init__(self, low: int, high: int, log: bool = False) -> None:
        for name, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                if isinstance(value, (float, np.floating)) and float(value).is_integer():
                    continue
                raise TypeError(f"`{name}` must be an integer, but got {name}={value!r} ({type(value).__name__}).")
        low, high = int(low), int(high)
        _check_bounds(low, high)
        if not isinstance(log, (bool, np.bool_)):
            raise TypeError(f"`log` must be True or False, but got log={log!r}.")
        if log and low < 1:
            raise ValueError(f"`low` must be >= 1 for an integer range on a log scale, but got low={low!r}.")
        self.low = low
        self.high = high
        self.log = bool(log)
        self._freeze()

    def _edges(self) -> tuple[float, float]:
        lo, hi = self.low - 0.5, self.high + 0.5
        return (math.log(lo), math.log(hi)) if self.log else (lo, hi)

    def to_unit(self, value: Any) -> float:
        lo, hi = self._edges()
        v = math.log(float(value)) if self.log else float(value)
        return (v - lo) / (hi - lo)

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self._edges()
        v = lo + u * (hi - lo)
        value = math.exp(v) if self.log else v
        return int(min(max(round(value), self.low), self.high))

    def contains(self, value: Any) -> bool:
        if not _is_real(value) or not float(value).is_integer():
            return False
        return self.low <= int(value) <= self.high

    def clip(self, value: float) -> int:
        return int(min(max(round(float(value)), self.low), self.high))

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "low": self.low, "high": self.high, "log": self.log}

    def __repr__(self) -> str:
        suffix = ", log=True" if self.log else ""
        return f"intrange({self.low!r}, {self.high!r}{suffix})"


class Choice(Parameter):
    """One of a fixed list of options: str, int, float, bool or None, or a tuple of those.

    A tuple option is one value, as scikit-learn's ``hidden_layer_sizes=(64, 64)`` is: it is
    stored as a JSON list and read back as the tuple (:meth:`index` takes either).
    """

    kind = "categorical"
    type_name = "choice"
    __slots__ = ("options", "_frozen")

    def __init__(self, options: Sequence[Any]) -> None:
        options = tuple(_option(option) for option in options)
        if not options:
            raise ValueError("choice() needs at least one option, but got none.")
        seen: set[Any] = set()
        for option in options:
            # True == 1 in Python, also inside tuples: the types keep them distinct options.
            key = tuple((type(o), o) for o in option) if isinstance(option, tuple) else (type(option), option)
            if key in seen:
                raise ValueError(f"choice() options must be distinct, but got {option!r} twice.")
            seen.add(key)
        self.options = options
        self._freeze()

    def index(self, value: Any) -> int:
        if type(value) is list:
            value = tuple(value)  # a tuple option read back from JSON
        # Inline for scalars: a warm start encodes every past trial's configuration through here.
        for i, option in enumerate(self.options):
            if type(option) is type(value) and option == value and (
                    type(value) is not tuple or _same_option(option, value, exact=True)):
                return i
        # A value read back from JSON may have lost its exact type (1 vs 1.0).
        for i, option in enumerate(self.options):
            if _same_option(option, value, exact=False):
                return i
        raise ValueError(f"{value!r} is not one of the options {list(self.options)!r}.")

    @property
    def ordinal(self) -> bool:
        """Whether the options are numbers in increasing (or decreasing) order: ``choice(16, 32, 64, 128)``.

        The samplers' models then compare two options by how far apart they lie in the list
        (a batch size of 32 is like 64, less like 512), as they compare integers, instead
        of only as equal or not. Options out of order, or any that is not a number, keep
        the choice categorical.
        """
        if len(self.options) < 3 or not all(_is_real(o) for o in self.options):
            return False
        steps = np.diff(np.asarray(self.options, dtype=float))
        return bool(np.all(steps > 0) or np.all(steps < 0))

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.options)

    def from_unit(self, u: float) -> Any:
        u = min(max(float(u), 0.0), 1.0)
        return self.options[min(int(u * len(self.options)), len(self.options) - 1)]

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        # JSON data only (the store checks it): a tuple option as a list, read back as the tuple by __init__.
        return {"type": self.type_name, "options": [list(o) if isinstance(o, tuple) else o for o in self.options]}

    def __repr__(self) -> str:
        return "choice(" + ", ".join(repr(o) for o in self.options) + ")"


def _option(option: Any) -> Any:
    """A choice's option as kept: a scalar as given, a list or tuple of scalars as a tuple."""
    items = option if isinstance(option, (tuple, list)) else (option,)
    for item in items:
        if not isinstance(item, _SCALAR_TYPES) or isinstance(item, np.generic):
            raise TypeError(
                "choice() options must be str, int, float, bool or None, or a tuple of those (such as a layer "
                f"sizes tuple), so that they can be stored as JSON, but got {option!r} ({type(option).__name__})."
                + _by_name_hint(item)
            )
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"choice() options must be finite, but got {option!r}.")
    return tuple(option) if isinstance(option, (tuple, list)) else option


def _by_name_hint(item: Any) -> str:
    """For a class or function offered as an option (``torch.optim.Adam``, ``nn.ReLU``): how to offer it by name."""
    name = getattr(item, "__name__", None)
    if not callable(item) or not isinstance(name, str):
        return ""
    module = (getattr(item, "__module__", None) or "").split(".")
    torch_classes = module[:2] in (["torch", "optim"], ["torch", "nn"])
    public = ".".join(module[:2]) if torch_classes else ".".join(
        part for part in module[:next((i for i, p in enumerate(module) if p.startswith("_")), len(module))])
    hint = (f" Offer its name instead, choice({name!r}, ...), and look it up in your objective: "
            f"getattr({public or 'its module'}, name), or a table, {{{name!r}: {name}, ...}}[name]")
    return hint + (" (the warm start reads either as the optimiser or activation the objective runs)." if torch_classes
                   else ".")


def _same_option(option: Any, value: Any, exact: bool) -> bool:
    """Whether ``value`` is ``option``: of the same type (``exact``), or equal as numbers (1 and 1.0),
    a bool never equal to a number; tuples item by item."""
    if isinstance(option, tuple):
        return (isinstance(value, tuple) and len(value) == len(option)
                and all(_same_option(o, v, exact) for o, v in zip(option, value)))
    if exact:
        return type(option) is type(value) and option == value
    return not isinstance(option, (bool, tuple)) and not isinstance(value, (bool, tuple)) and option == value


def _is_real(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and math.isfinite(float(value))
    )


def uniform(low: float, high: float) -> Uniform:
    """A float drawn uniformly from ``[low, high]``."""
    return Uniform(low, high)


def loguniform(low: float, high: float) -> LogUniform:
    """A positive float drawn log-uniformly from ``[low, high]`` (learning rates, penalties)."""
    return LogUniform(low, high)


def intrange(low: int, high: int, log: bool = False) -> IntRange:
    """An integer from ``low`` to ``high`` inclusive; ``log=True`` for sizes spanning decades."""
    return IntRange(low, high, log=log)


def choice(*options: Any) -> Choice:
    """One of the given options: ``choice("gini", "entropy")``."""
    if len(options) == 1 and isinstance(options[0], (list, tuple)):
        options = tuple(options[0])
    return Choice(options)


_PARAMETER_TYPES: dict[str, type[Parameter]] = {
    cls.type_name: cls for cls in (Uniform, LogUniform, IntRange, Choice)
}


def parameter_from_json(data: Mapping[str, Any]) -> Parameter:
    """Build a parameter from its ``to_json()`` form; the result validates as if built by hand."""
    if not isinstance(data, Mapping) or "type" not in data:
        raise ValueError(f"a parameter must be a JSON object with a 'type', but got {data!r}.")
    type_name = data["type"]
    if type_name not in _PARAMETER_TYPES:
        raise ValueError(f"unknown parameter type {type_name!r}; expected one of {sorted(_PARAMETER_TYPES)}.")
    fields = {k: v for k, v in data.items() if k != "type"}
    try:
        if type_name == "choice":
            return Choice(fields.pop("options"))
        return _PARAMETER_TYPES[type_name](**fields)
    except (KeyError, TypeError) as error:
        raise ValueError(f"bad {type_name} parameter {dict(data)!r}: {error}") from error


class SearchSpace(Mapping[str, Parameter]):
    """An ordered, immutable mapping from parameter names to parameters.

    >>> space = SearchSpace({"lr": loguniform(1e-4, 1e-1), "depth": intrange(2, 8)})
    >>> space.decode(space.encode([{"lr": 1e-2, "depth": 5}]))
    [{'lr': 0.01, 'depth': 5}]
    """

    JSON_VERSION = 1

    def __init__(self, parameters: Mapping[str, Parameter] | SearchSpace) -> None:
        if isinstance(parameters, SearchSpace):
            parameters = dict(parameters.items())
        if not isinstance(parameters, Mapping):
            raise TypeError(
                "a search space must be a dict of name -> distribution, such as "
                "{'lr': loguniform(1e-4, 1e-1)}, but got "
                f"{type(parameters).__name__}."
            )
        if not parameters:
            raise ValueError("a search space needs at least one parameter, but got an empty dict.")
        checked: dict[str, Parameter] = {}
        for name, parameter in parameters.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"parameter names must be non-empty strings, but got {name!r}.")
            if not isinstance(parameter, Parameter):
                parameter = from_tune_domain(name, from_scipy_distribution(name, parameter))
            if not isinstance(parameter, Parameter):
                raise TypeError(
                    f"space[{name!r}] must be a distribution such as uniform(0, 1), loguniform(1e-4, 1e-1), "
                    f"intrange(1, 10) or choice('a', 'b'), but got {parameter!r} ({type(parameter).__name__})"
                    f"{_written_as(parameter)}."
                )
            checked[name] = parameter
        self._parameters = checked

    # Mapping protocol -------------------------------------------------------------
    def __getitem__(self, name: str) -> Parameter:
        return self._parameters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __len__(self) -> int:
        return len(self._parameters)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SearchSpace):
            return NotImplemented
        return self._parameters == other._parameters

    def __hash__(self) -> int:
        return hash(self.to_json_string())

    def __repr__(self) -> str:
        inner = ", ".join(f"{name!r}: {param!r}" for name, param in self._parameters.items())
        return f"SearchSpace({{{inner}}})"

    @property
    def names(self) -> list[str]:
        return list(self._parameters)

    # JSON ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.JSON_VERSION,
            "parameters": {name: p.to_json() for name, p in self._parameters.items()},
        }

    def to_json_string(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> SearchSpace:
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, Mapping) or "parameters" not in data:
            raise ValueError("a search space in JSON must be an object with a 'parameters' field.")
        version = data.get("version", cls.JSON_VERSION)
        if version != cls.JSON_VERSION:
            raise ValueError(f"unsupported search space JSON version {version!r}; expected {cls.JSON_VERSION}.")
        parameters = data["parameters"]
        if not isinstance(parameters, Mapping):
            raise ValueError("'parameters' must be an object of name -> parameter.")
        return cls({name: parameter_from_json(p) for name, p in parameters.items()})

    @property
    def signature(self) -> str:
        """A stable hash of the parameter names and kinds.

        Two spaces with the same signature can share experience: their bounds and
        options may differ, and values are clipped or dropped when transferred.
        """
        canonical = json.dumps(sorted((name, p.kind) for name, p in self._parameters.items()))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    # Configurations -----------------------------------------------------------------
    def validate_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``config`` as plain Python values, or raise naming what is wrong."""
        if not isinstance(config, Mapping):
            raise TypeError(f"a configuration must be a dict, but got {type(config).__name__}.")
        missing = [name for name in self._parameters if name not in config]
        extra = [name for name in config if name not in self._parameters]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unknown {extra}")
            raise ValueError(f"configuration {dict(config)!r} does not match the space: " + ", ".join(parts) + ".")
        clean: dict[str, Any] = {}
        for name, parameter in self._parameters.items():
            value = config[name]
            if not parameter.contains(value):
                raise ValueError(f"{name}={value!r} is outside {parameter!r}.")
            clean[name] = _plain(parameter, value)
        return clean

    def sample(self, rng: np.random.Generator | int | None = None, n: int | None = None) -> Any:
        """Draw one configuration (or a list of ``n``) from the space's prior."""
        rng = np.random.default_rng(rng)
        count = 1 if n is None else n
        configs = self.decode(rng.random((count, len(self))))
        return configs[0] if n is None else configs

    def categorical_mask(self) -> np.ndarray:
        """Which columns a model compares only as equal or not: the choices, except choices of numbers in order
        (:attr:`Choice.ordinal`), whose positions are compared as integers' are."""
        return np.array([isinstance(p, Choice) and not p.ordinal for p in self._parameters.values()], dtype=bool)

    def encode(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Map configurations to an ``(n, d)`` array in the unit cube, columns in space order."""
        out = np.empty((len(configs), len(self)), dtype=float)
        for i, config in enumerate(configs):
            for j, (name, parameter) in enumerate(self._parameters.items()):
                out[i, j] = parameter.to_unit(config[name])
        return out

    def decode(self, unit: np.ndarray | Sequence[Sequence[float]]) -> list[dict[str, Any]]:
        """Map an ``(n, d)`` array of unit-cube points to configurations of plain Python values."""
        unit = np.atleast_2d(np.asarray(unit, dtype=float))
        if unit.shape[1] != len(self):
            raise ValueError(f"expected points with {len(self)} columns, but got shape {unit.shape}.")
        params = list(self._parameters.items())
        return [{name: p.from_unit(row[j]) for j, (name, p) in enumerate(params)} for row in unit]


def _plain(parameter: Parameter, value: Any) -> Any:
    if isinstance(parameter, IntRange):
        return int(value)
    if isinstance(parameter, (Uniform, LogUniform)):
        return float(value)
    assert isinstance(parameter, Choice)
    return parameter.options[parameter.index(value)]


#: scipy.stats distributions read as ours, by their ``dist.name``: they say bounds and a scale.
_SCIPY_CONTINUOUS = {"uniform": uniform, "loguniform": loguniform, "reciprocal": loguniform}
_SCIPY_DISCRETE = frozenset(("randint",))


def from_scipy_distribution(name: Any, value: Any, *, lists: bool = False) -> Any:
    """A frozen ``scipy.stats`` distribution as ours, or ``value`` as it is when it is none.

    As ``RandomizedSearchCV`` users write them: ``loguniform(a, b)`` (or ``reciprocal``) is
    ``loguniform(a, b)``, ``uniform(loc, scale)`` is ``uniform(loc, loc + scale)``, ``randint(low,
    high)`` is ``intrange(low, high - 1)`` (its ``high`` is left out), each over its support (``loc``
    and ``scale`` applied). Any other (``norm``, ``expon`` ...) has no bounds or scale a search can model
    and is refused, naming the parameter ``name`` and what to write (``lists``: where a list of values
    is taken too). Nothing is imported: a distribution is recognised by its ``dist.name``.
    """
    dist = getattr(value, "dist", None)
    if dist is None or not hasattr(value, "support") or not hasattr(value, "rvs"):
        return value
    dist_name = str(getattr(dist, "name", type(dist).__name__))
    low, high = (float(bound) for bound in value.support())
    if dist_name in _SCIPY_CONTINUOUS:
        return _SCIPY_CONTINUOUS[dist_name](low, high)
    if dist_name in _SCIPY_DISCRETE:
        return intrange(int(low), int(high))
    raise TypeError(
        f"space[{name!r}] is scipy.stats.{dist_name}, which has no bounds or scale a search can model; use "
        f"scipy.stats.uniform, loguniform or randint, {'a list of values, ' if lists else ''}or jupyter_metahpo's "
        "uniform(low, high), loguniform(low, high), intrange(low, high) or choice(...)."
    )


#: The modules whose search-space domains (``tune.loguniform(1e-4, 1e-1)``) are read: Ray Tune's, and FLAML's copy.
_TUNE_MODULES = ("ray.tune", "flaml.tune")
#: The most values a grid may have: a quantized domain's here, a suggest call's ``step`` (:mod:`.suggest_calls`).
MAX_GRID = 100


def from_tune_domain(name: Any, value: Any) -> Any:
    """A Ray Tune (or FLAML) search-space domain as ours, or ``value`` as it is when it is none.

    As Ray Tune and FLAML users write their ``config``: ``tune.uniform(a, b)`` is ``uniform(a, b)``,
    ``tune.loguniform(a, b)`` ``loguniform(a, b)``, ``tune.randint(a, b)`` ``intrange(a, b - 1)``
    (its upper bound is left out), ``tune.lograndint`` the same with ``log=True``,
    ``tune.choice(values)`` ``choice(*values)``, and a quantized domain (``quniform``,
    ``qrandint``, ...) the choice of its grid's values, the multiples of ``q`` between its bounds (both
    included, at most :data:`MAX_GRID`); Ray's ``tune.grid_search(values)`` is the choice of its values. A
    normal (``randn``) has no bounds and a function (``sample_from``) no values known before a trial: both
    are refused, naming the parameter. Nothing is imported: a domain is recognised by its class and module.
    """
    if isinstance(value, Mapping) and set(value) == {"grid_search"}:
        return choice(*value["grid_search"])
    kind = type(value).__name__
    if not type(value).__module__.startswith(_TUNE_MODULES) or not callable(getattr(value, "get_sampler", None)):
        return value
    if kind == "Categorical":
        return choice(*value.categories)
    sampler = value.get_sampler()
    step = getattr(sampler, "q", None)
    scale = type(getattr(sampler, "sampler", sampler)).__name__.lstrip("_")
    if kind not in ("Float", "Integer") or scale not in ("Uniform", "LogUniform"):
        raise TypeError(
            f"space[{name!r}] is a {type(value).__module__} {kind} domain sampled by {scale}, which has no bounds or "
            "values a search can know before a trial; use tune.uniform, loguniform, randint, lograndint, choice or "
            "their quantized forms, or jupyter_metahpo's uniform, loguniform, intrange or choice."
        )
    low, high = value.lower, value.upper
    if step is not None:  # a quantized integer domain includes its upper bound (qrandint), as a float one does
        return _tune_grid(name, low, high, step, integer=kind == "Integer")
    if kind == "Integer":  # randint and lograndint leave their upper bound out
        return intrange(int(low), int(high) - 1, log=scale == "LogUniform")
    return loguniform(low, high) if scale == "LogUniform" else uniform(low, high)


def _tune_grid(name: Any, low: float, high: float, step: float, integer: bool) -> Choice:
    """The values a quantized domain takes: the multiples of ``step`` from ``low`` to ``high``."""
    values = np.arange(math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9) + 1) * step
    if len(values) > MAX_GRID:
        raise TypeError(
            f"space[{name!r}] is quantized into {len(values)} values, more than {MAX_GRID}: leave the quantization "
            "out (a range) or write the values you want as tune.choice([...])."
        )
    return choice(*(int(round(v)) if integer else round(float(v), 12) for v in values))


def _written_as(value: Any) -> str:
    """For a value that is no distribution, what to write where it is a common way of giving one."""
    if isinstance(value, (list, tuple)) and value:
        if isinstance(value, tuple) and len(value) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            low, high = value
            ranges = f"uniform({low!r}, {high!r}), loguniform({low!r}, {high!r})"
            if isinstance(low, int) and isinstance(high, int):
                ranges += f" or intrange({low!r}, {high!r})"
            return f": for a range write {ranges}; for these two values, choice({low!r}, {high!r})"
        return f": for these values write choice({', '.join(repr(v) for v in value)})"
    return ""


def as_search_space(space: Mapping[str, Parameter] | SearchSpace) -> SearchSpace:
    """Accept a ``SearchSpace`` or a plain dict of distributions."""
    return space if isinstance(space, SearchSpace) else SearchSpace(space)
