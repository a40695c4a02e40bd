"""Reading a ``%%metatune`` cell: run it, then find its search space and its objective.

Plain functions over the user's namespace, so that the magic only parses its line and
displays progress (as IPython's autoreload keeps its logic in a plain class). The rules
for what a cell may define are in :func:`find_objective` and :func:`find_space`.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from . import space as _space
from .meta.declared_space import space_from_suggest_calls
from .space import Parameter, as_search_space
from .suggest_calls import SuggestCallError
from .trial import TrialPruned

__all__ = [
    "CELL_BUILTINS",
    "CellDefinitions",
    "read_cell",
    "run_cell",
    "find_objective",
    "find_space",
    "checked_space",
    "syntax_error",
]

#: Names usable in a ``%%metatune`` cell without an import: the distributions, and ``TrialPruned`` for the
#: objective that reports its curve (``raise TrialPruned()``, as in Optuna's examples).
CELL_BUILTINS = {
    "uniform": _space.uniform,
    "loguniform": _space.loguniform,
    "intrange": _space.intrange,
    "choice": _space.choice,
    "TrialPruned": TrialPruned,
}


@dataclass(frozen=True)
class CellDefinitions:
    """What running the cell bound in the namespace: new or rebound names and their objects."""

    bound: dict[str, Any]
    filename: str

    def functions(self) -> dict[str, Callable[..., Any]]:
        """Functions defined by the cell itself (not ones it merely imported)."""
        return {
            name: obj
            for name, obj in self.bound.items()
            if inspect.isfunction(obj) and obj.__code__.co_filename == self.filename and not name.startswith("_")
        }


def _defaults_space(objective: Callable[..., Any]) -> dict[str, Parameter]:
    try:
        params = inspect.signature(objective).parameters
    except (TypeError, ValueError):
        return {}
    return {name: p.default for name, p in params.items() if isinstance(p.default, Parameter)}


def _accepts(objective: Callable[..., Any], names: list[str]) -> bool:
    try:
        params = inspect.signature(objective).parameters
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    return set(names) <= set(params) or len(params) == 1


def find_objective(
    namespace: Mapping[str, Any],
    defined: CellDefinitions,
    name: str | None = None,
    space_names: list[str] | None = None,
) -> tuple[str, Callable[..., Any]]:
    """The function to tune: ``--objective NAME``, else the one function the cell defines.

    When the cell defines several functions, one named ``objective``, or else the only
    one whose parameters take the space's names (or that carries distributions as its
    defaults), is chosen; otherwise the user is asked to name it.
    """
    if name is not None:
        if name not in namespace:
            raise UsageError(f"--objective {name}: there is no variable named {name!r} in the notebook.")
        if not callable(namespace[name]):
            raise UsageError(f"--objective {name}: {name!r} is a {type(namespace[name]).__name__}, not a function.")
        return name, namespace[name]
    functions = defined.functions()
    if len(functions) == 1:
        return next(iter(functions.items()))
    if not functions:
        raise UsageError(
            "the cell defines no function to tune: define one (def objective(x, y): ...) "
            "or name an existing one with --objective NAME."
        )
    if "objective" in functions:
        return "objective", functions["objective"]
    fitting = {
        n: f
        for n, f in functions.items()
        if _defaults_space(f) or (space_names is not None and _accepts(f, space_names))
    }
    if len(fitting) == 1:
        return next(iter(fitting.items()))
    raise UsageError(
        f"the cell defines several functions ({', '.join(functions)}); say which one to tune with --objective NAME."
    )


def find_space(
    namespace: Mapping[str, Any],
    defined: CellDefinitions,
    objective: Callable[..., Any] | None,
    name: str | None = None,
) -> tuple[str, Any]:
    """The search space and where it was found, in this order of precedence:

    ``--space NAME``; a ``space`` the cell defines; distributions given as the
    objective's parameter defaults; the objective's Optuna-style ``trial.suggest_*`` calls
    (:mod:`jupyter_metahpo.suggest_calls`); a ``space`` defined earlier in the notebook.
    """
    if name is not None:
        if name not in namespace:
            raise UsageError(f"--space {name}: there is no variable named {name!r} in the notebook.")
        return f"--space {name}", namespace[name]
    if "space" in defined.bound:
        return "space", defined.bound["space"]
    if objective is not None:
        from_defaults = _defaults_space(objective)
        if from_defaults:
            return "the objective's defaults", from_defaults
        try:
            from_calls = space_from_suggest_calls(objective)
        except SuggestCallError as problem:
            raise UsageError(f"the objective's suggest calls: {problem}") from None
        if from_calls is not None:
            return f"the objective's {_declaring_calls(objective)}", from_calls
    if "space" in namespace:
        return "space", namespace["space"]
    raise UsageError(
        "no search space found: define a dict named `space` in the cell (space = {'lr': loguniform(1e-4, 1e-1)}), "
        "pass --space NAME, give the objective distributions as defaults (def f(lr=loguniform(1e-4, 1e-1))), "
        "or declare them Optuna's way (def f(trial): lr = trial.suggest_float('lr', 1e-4, 1e-1, log=True)) or "
        "KerasTuner's (def f(hp): lr = hp.Float('lr', 1e-4, 1e-1, sampling='log'))."
    )


def _declaring_calls(objective: Callable[..., Any]) -> str:
    """What declared the objective's space, for a person: Optuna's calls on ``trial``, or KerasTuner's on ``hp``."""
    try:
        parameters = inspect.signature(objective).parameters
    except (TypeError, ValueError):
        parameters = {}
    return "hp.Int / hp.Float / hp.Choice calls" if "hp" in parameters and "trial" not in parameters else (
        "trial.suggest_* calls")


def _candidate_space_names(namespace: Mapping[str, Any], defined: CellDefinitions, name: str | None) -> list[str] | None:
    value = namespace.get(name) if name else defined.bound.get("space", namespace.get("space"))
    return list(value) if isinstance(value, Mapping) else None


def run_cell(shell: Any, cell: str) -> CellDefinitions:
    """Run the cell in the user's namespace (with the distributions at hand) and report what it (re)bound."""
    namespace = shell.user_ns
    injected = [n for n, f in CELL_BUILTINS.items() if n not in namespace]
    for name in injected:
        namespace[name] = CELL_BUILTINS[name]
    # Holding the old objects (not their ids) keeps an id from being reused by a new
    # object when the cell redefines a name: re-running a cell must find its function.
    before = dict(namespace)
    # A blank first line stands for the %%metatune line above the body, so that the line
    # numbers of errors and tracebacks are the ones the notebook shows for the cell.
    code = "\n" + shell.transform_cell(cell)
    filename = shell.compile.cache(code, shell.execution_count, raw_code=cell)
    try:
        compiled = compile(code, filename, "exec")
    except SyntaxError as error:  # one message, not a traceback through the magic's frames
        raise UsageError(syntax_error(error)) from None
    try:
        exec(compiled, namespace)  # noqa: S102 - the user's own cell
    except (ValueError, TypeError) as error:
        problem = space_error(error, filename)
        if problem is not None:
            raise UsageError(problem) from None
        raise
    bound = {k: v for k, v in namespace.items() if k not in before or before[k] is not v}
    return CellDefinitions(bound=bound, filename=filename)


def syntax_error(error: SyntaxError) -> str:
    """``syntax error in line 3 of the cell: def f(x)  (expected ':')``."""
    where = f"line {error.lineno} of the cell" if error.lineno else "the cell"
    source = (error.text or "").strip()
    return f"syntax error in {where}: {source}  ({error.msg})" if source else f"syntax error in {where}: {error.msg}"


def checked_space(space: Any, where: str):
    try:
        return as_search_space(space)
    except (TypeError, ValueError) as problem:
        raise UsageError(f"bad search space ({where}): {problem}") from None


def space_error(error: BaseException, filename: str) -> str | None:
    """A one-line message for a distribution built with bad arguments in the cell.

    The distribution's own error states the rule and the values; the cell line names
    the parameter. Errors from anything else than a distribution are left to IPython.
    """
    frames = traceback.extract_tb(error.__traceback__)
    if not frames or frames[-1].filename != _space.__file__:
        return None
    cell_frames = [f for f in frames if f.filename == filename]
    if not cell_frames:
        return None
    where = cell_frames[-1]
    source = (where.line or "").strip()
    return f"bad search space, line {where.lineno} of the cell: {source} -> {error}"


def read_cell(
    shell: Any, cell: str, objective: str | None = None, space: str | None = None
) -> tuple[Callable[..., Any], Any]:
    """Run the cell, then return its objective and its validated search space.

    ``objective`` and ``space`` are the names given by ``--objective`` and ``--space``;
    a missing or ambiguous one is a one-line ``UsageError`` that says what to write.
    """
    namespace = shell.user_ns
    defined = run_cell(shell, cell)
    space_names = _candidate_space_names(namespace, defined, space)
    _, function = find_objective(namespace, defined, objective, space_names)
    where, found = find_space(namespace, defined, function, space)
    return function, checked_space(found, where)
