"""Parameters the objective raises to a power: ``SVC(C=10 ** log_c)``, ``nn.Linear(n, 2 ** k)``, ``exp(log_lr)``.

Many cells tune an argument on a log scale by hand: the space holds its exponent
(``"log_c": uniform(-2, 3)``) and the objective raises a base to it. The source reader
(:class:`.source.ParameterRole`, its ``base``) says which parameters do so; this module
says, for each parameter, on which scale it reaches its argument (:func:`scales`), and
moves values and parameters between the two scales: :func:`raised` gives the argument's range
(``log_c`` in [-2, 3] is a ``C`` in [0.01, 1000], log-uniform), :func:`exponent` takes an
argument's value back to the user's parameter (``C = 0.5`` is ``log_c = -0.30``). The
matching (:mod:`.matching`) links such a parameter to the past parameter that set the same
argument and converts each past value this way, so that the prior's ``C`` informs ``log_c``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..space import Choice, IntRange, LogUniform, Parameter, Uniform

__all__ = ["exponent", "exponent_of", "power", "power_text", "raised", "scale_label", "scales"]


def scales(roles: Iterable[Any], names: Iterable[str]) -> dict[str, float | None]:
    """For each of ``names`` the source reads as setting an argument: ``None`` when passed as it is, the base
    when the argument is ``base ** parameter``.

    ``roles`` are :class:`.source.ParameterRole` s; names set only through another transform (``2 * width``)
    are left out. A parameter passed as it is somewhere counts as passed as it is; otherwise its first power
    decides.
    """
    wanted = set(names)
    found: dict[str, float | None] = {}
    roles = list(roles)
    for role in roles:
        if role.direct and role.parameter in wanted:
            found[role.parameter] = None
    for role in roles:
        if role.base is not None and role.parameter in wanted:
            found.setdefault(role.parameter, role.base)
    return found


def power(value: Any, base: float) -> Any:
    """``base ** value`` for a number (the argument a past exponent ran); other values as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    try:
        return base ** float(value)
    except OverflowError:
        return math.inf


def raised(parameter: Parameter, base: float) -> Parameter | None:
    """The argument's range when ``parameter`` is its exponent: ``uniform(-2, 3)`` with base 10 is
    ``loguniform(0.01, 1000)``; an integer exponent of an integer base from 0 up is an integer range on a log
    scale; a choice of numbers, the choice of their powers. ``None`` when it has no such range (a choice of
    words, an exponent too large for a float)."""
    try:
        if isinstance(parameter, IntRange):
            low, high = base ** parameter.low, base ** parameter.high
            if float(base).is_integer() and parameter.low >= 0:
                return IntRange(int(round(low)), int(round(high)), log=True)
            return LogUniform(low, high)
        if isinstance(parameter, (Uniform, LogUniform)):
            return LogUniform(base ** parameter.low, base ** parameter.high)
        if isinstance(parameter, Choice) and all(
                isinstance(o, (int, float)) and not isinstance(o, bool) for o in parameter.options):
            return Choice([base ** float(o) for o in parameter.options])
    except (OverflowError, ValueError):  # an exponent past a float's range; powers too close to tell apart
        return None
    return None


def exponent(value: Any, base: float, parameter: Parameter, raised_parameter: Parameter) -> Any:
    """The user's parameter value for an argument value of ``raised_parameter`` (``raised(parameter, base)``):
    the logarithm for a number (a float; the caller rounds and clips it into the range), the matching option
    for a choice."""
    if isinstance(parameter, Choice):
        assert isinstance(raised_parameter, Choice)
        return parameter.options[raised_parameter.index(value)]
    return math.log(float(value)) / math.log(base) if float(value) > 0 else -math.inf


def exponent_of(value: Any, base: float) -> float | int | None:
    """The exponent that gives ``value`` (an argument's default: ``C=1.0`` is ``log_c=0``), an integer when it is
    one within rounding (``2 ** 7`` is 128); ``None`` for a value that is not a positive number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    found = math.log(value) / math.log(base)
    return int(round(found)) if math.isclose(found, round(found), abs_tol=1e-9) else found


def scale_label(new_base: float | None, past_base: float | None, past: str) -> str:
    """How the values change scale on a link, for a person: ``"log10 of their C"``."""
    if past_base is None:
        return f"{_log(new_base)} of their {past}"
    if new_base is None:
        return f"their {past} as {power_text(past_base, 'it')}"
    return f"their {past} ({power_text(past_base, 'it')}) in your base {new_base:g}"


def _log(base: float | None) -> str:
    if base is None:
        return "the value"
    if math.isclose(base, math.e):
        return "ln"
    return f"log{base:g}"


def power_text(base: float, name: str) -> str:
    """``"10 ** log_c"``, ``"exp(log_lr)"``: the argument as the objective computes it from ``name``."""
    return f"exp({name})" if math.isclose(base, math.e) else f"{base:g} ** {name}"
