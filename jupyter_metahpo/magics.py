"""The ``%%metatune`` cell magic, ``%metatune_history`` and ``%metatune_compare``.

The magic stays thin: it runs the cell in the user's namespace, finds the search space
and the objective, turns the line into keyword arguments of :func:`jupyter_metahpo.tune`
and calls it with a progress view. Everything it does is five lines of plain Python::

    from jupyter_metahpo import tune
    result = tune(train, space, n_trials=30, direction="maximize", name="credit-hgb")

Load it with ``%load_ext jupyter_metahpo``. Defaults can be set once per session with
``%config MetatuneMagics.trials = 50`` (see ``%config MetatuneMagics``).
"""

from __future__ import annotations

import inspect
import math
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, argument_group, magic_arguments, parse_argstring
from traitlets import Bool, CaselessStrEnum, Float, Integer, Unicode

from . import space as _space
from .space import Parameter

__all__ = ["MetatuneMagics", "StudyFailed", "find_objective", "find_space", "load_ipython_extension"]

#: Names usable in a ``%%metatune`` cell without an import.
CELL_BUILTINS = {
    "uniform": _space.uniform,
    "loguniform": _space.loguniform,
    "intrange": _space.intrange,
    "choice": _space.choice,
}


class StudyFailed(Exception):
    """The study could not start or go on: the objective failed on every first trial,
    or the experience store refused the study (for example a name reused with another
    space).

    Shown as its message alone (no traceback of the magic's own frames): the message
    already carries the objective's last error once, or says how to fix the store issue.
    """

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or type(self).__name__

    def _render_traceback_(self) -> list[str]:
        return [f"{self.kind}: {self}"]


# Finding the space and the objective ---------------------------------------------------


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
    objective's parameter defaults; a ``space`` defined earlier in the notebook.
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
    if "space" in namespace:
        return "space", namespace["space"]
    raise UsageError(
        "no search space found: define a dict named `space` in the cell (space = {'lr': loguniform(1e-4, 1e-1)}), "
        "pass --space NAME, or give the objective distributions as defaults (def f(lr=loguniform(1e-4, 1e-1)))."
    )


def _candidate_space_names(namespace: Mapping[str, Any], defined: CellDefinitions, name: str | None) -> list[str] | None:
    value = namespace.get(name) if name else defined.bound.get("space", namespace.get("space"))
    return list(value) if isinstance(value, Mapping) else None


# The magics -------------------------------------------------------------------------------


@magics_class
class MetatuneMagics(Magics):
    """``%%metatune`` and friends. Settings below are defaults for every ``%%metatune`` cell."""

    trials = Integer(30, help="Trials per study when the line gives neither --trials nor --timeout.").tag(config=True)
    timeout = Float(None, allow_none=True, help="Default time budget in seconds (None: no limit).").tag(config=True)
    direction = CaselessStrEnum(["minimize", "maximize"], "minimize", help="Default direction.").tag(config=True)
    seed = Integer(None, allow_none=True, help="Default seed (None: not reproducible).").tag(config=True)
    strategy = Unicode(None, allow_none=True, help="Default warm-start strategy (None: tune's default).").tag(
        config=True
    )
    store = Unicode(None, allow_none=True, help="Default experience store path (None: the user's store).").tag(
        config=True
    )
    display = CaselessStrEnum(
        ["auto", "widget", "text", "none"],
        "auto",
        help="How progress shows: 'auto' (a widget in a notebook kernel, text elsewhere), 'widget', 'text', 'none'.",
    ).tag(config=True)
    min_interval = Float(0.25, help="Smallest time in seconds between two redraws of the progress widget.").tag(
        config=True
    )
    pump_comms = Bool(
        True,
        help="Between trials, let a Stop click through on front ends that do not send widget messages to a kernel "
        "subshell (see jupyter_metahpo.widgets.kernel_pump).",
    ).tag(config=True)

    @magic_arguments()
    @argument("--trials", "-n", type=int, default=None, help="number of trials (default: %%config MetatuneMagics.trials)")
    @argument("--timeout", "-t", type=float, default=None, help="time budget in seconds")
    @argument_group("direction")
    @argument("--maximize", dest="direction", action="store_const", const="maximize", help="maximise the objective")
    @argument("--minimize", dest="direction", action="store_const", const="minimize", help="minimise it (default)")
    @argument_group("options")
    @argument("--metric", "-m", default=None, help="key to optimise when the objective returns a dict")
    @argument("--data", nargs=2, metavar=("X", "Y"), default=None, help="training data, to describe the task by its meta-features")
    @argument("--name", default=None, help="study name: the same name resumes the stored study")
    @argument("--seed", type=int, default=None, help="random seed, for a reproducible study")
    @argument("--strategy", default=None, help="warm-start strategy, or 'none' for a cold start")
    @argument("--store", default=None, help="path of the experience store (default: the user's store)")
    @argument("--resume", dest="resume", action="store_const", const=True, default=None, help="continue the stored study of this name")
    @argument("--fresh", dest="resume", action="store_const", const=False, help="start over even if a study of this name exists")
    @argument("--out", "-o", default=None, metavar="VAR", help="store the result in this variable")
    @argument("--quiet", "-q", action="store_true", help="no progress display")
    @argument("--space", default=None, metavar="NAME", help="variable holding the search space (default: `space`)")
    @argument("--objective", default=None, metavar="NAME", help="function to tune (default: the function the cell defines)")
    @cell_magic
    def metatune(self, line: str, cell: str):
        """Tune the function this cell defines over its search space.

        Distributions ``uniform``, ``loguniform``, ``intrange`` and ``choice`` can be used
        in the cell without an import. Example::

            %%metatune --trials 30 --maximize --name demo
            space = {"lr": loguniform(1e-4, 1e-1), "depth": intrange(1, 8)}
            def train(lr, depth):
                return score(lr, depth)

        Returns the TuningResult (or stores it in --out VAR). Every finished trial is kept
        in the experience store, also when the study is stopped or fails.
        """
        args = parse_argstring(self.metatune, line)
        self._check_line(args)
        namespace = self.shell.user_ns
        defined = self._run_cell(cell)
        space_names = _candidate_space_names(namespace, defined, args.space)
        _, objective = find_objective(namespace, defined, args.objective, space_names)
        where, space = find_space(namespace, defined, objective, args.space)
        space = _checked_space(space, where)
        kwargs = self._tune_kwargs(args, namespace)
        return self._run(objective, space, kwargs, args)

    # Steps ----------------------------------------------------------------------------
    def _check_line(self, args) -> None:
        if args.trials is not None and args.trials < 1:
            raise UsageError(f"--trials must be a positive integer, but got --trials {args.trials}.")
        if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
            raise UsageError(f"--timeout must be a positive number of seconds, but got --timeout {args.timeout:g}.")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out must be a Python variable name, but got --out {args.out!r}.")

    def _run_cell(self, cell: str) -> CellDefinitions:
        """Run the cell in the user's namespace and report what it (re)bound."""
        namespace = self.shell.user_ns
        injected = [n for n, f in CELL_BUILTINS.items() if n not in namespace]
        for name in injected:
            namespace[name] = CELL_BUILTINS[name]
        # Holding the old objects (not their ids) keeps an id from being reused by a new
        # object when the cell redefines a name: re-running a cell must find its function.
        before = dict(namespace)
        code = self.shell.transform_cell(cell)
        filename = self.shell.compile.cache(code, self.shell.execution_count, raw_code=cell)
        try:
            exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - the user's own cell
        except (ValueError, TypeError) as error:
            problem = _space_error(error, filename)
            if problem is not None:
                raise UsageError(problem) from None
            raise
        bound = {k: v for k, v in namespace.items() if k not in before or before[k] is not v}
        return CellDefinitions(bound=bound, filename=filename)

    def _tune_kwargs(self, args, namespace: Mapping[str, Any]) -> dict[str, Any]:
        from .api import tune

        accepted = set(inspect.signature(tune).parameters)
        timeout = args.timeout if args.timeout is not None else self.timeout
        trials = args.trials if args.trials is not None else (None if args.timeout is not None else self.trials)
        kwargs: dict[str, Any] = {
            "n_trials": trials,
            "timeout": timeout,
            "direction": args.direction or self.direction,
            "metric": args.metric,
            "seed": args.seed if args.seed is not None else self.seed,
            "name": args.name,
        }
        optional = {
            "--data": ("data", self._data(args.data, namespace) if args.data else None),
            "--strategy": ("strategy", args.strategy or self.strategy),
            "--store": ("store", args.store or self.store),
            "--resume/--fresh": ("resume", args.resume),
        }
        for option, (keyword, value) in optional.items():
            if value is None:
                continue
            if keyword not in accepted:
                raise UsageError(
                    f"{option} is not available yet: this version of jupyter_metahpo's tune() has no "
                    f"`{keyword}` parameter. Remove {option} from the line."
                )
            kwargs[keyword] = value
        if "strategy" in kwargs:
            _check_strategy(kwargs["strategy"])
        return kwargs

    @staticmethod
    def _data(names: list[str], namespace: Mapping[str, Any]) -> tuple[Any, Any]:
        missing = [n for n in names if n not in namespace]
        if missing:
            raise UsageError(f"--data {' '.join(names)}: no variable named {', '.join(map(repr, missing))} in the notebook.")
        return namespace[names[0]], namespace[names[1]]

    def _run(self, objective, space, kwargs: dict[str, Any], args):
        from .api import tune
        from .study import ObjectiveFailedError, StopSignal

        stop = StopSignal()
        callbacks = self._progress_callbacks(stop, quiet=args.quiet)
        try:
            result = tune(objective, space, callbacks=callbacks, stop=stop, **kwargs)
        except ObjectiveFailedError as failure:
            raise StudyFailed(str(failure)) from None
        except Exception as problem:
            if type(problem).__module__.startswith(f"{__package__}.store"):
                # The store's errors say what to do (--fresh, another --name, a path to fix).
                raise StudyFailed(str(problem), kind=type(problem).__name__) from None
            raise
        if args.out:
            self.shell.user_ns[args.out] = result
            return None
        return result

    def _progress_callbacks(self, stop, *, quiet: bool) -> list[Callable]:
        mode = "none" if quiet else self.display
        if mode == "auto":
            mode = "widget" if getattr(self.shell, "kernel", None) is not None else "text"
        if mode == "none":
            return []
        if mode == "text":
            from .progress import TextProgress

            return [TextProgress()]
        from IPython.display import display

        from .widgets.progress import ProgressWidget

        view = ProgressWidget(stop, min_interval=self.min_interval)
        handle = display(view, display_id=True)
        callbacks: list[Callable] = [view]
        if self.pump_comms:
            from .widgets.kernel_pump import comm_pump_for

            pump = comm_pump_for(self.shell)
            if pump is not None:
                callbacks.append(pump)
        if handle is not None:
            callbacks.append(_FreezeAtEnd(handle, view))
        return callbacks

    # History and comparison -----------------------------------------------------------------
    @magic_arguments()
    @argument("--store", default=None, help="path of the experience store (default: the user's store)")
    @argument("--limit", type=int, default=20, help="show at most this many studies, newest first")
    @line_magic
    def metatune_history(self, line: str):
        """Show the studies in the experience store as a table, newest first."""
        args = parse_argstring(self.metatune_history, line)
        from .widgets.history import history_frame

        return history_frame(args.store or self.store, limit=args.limit)

    @magic_arguments()
    @argument("studies", nargs="*", help="study names or ids (none: choose in the widget)")
    @argument("--store", default=None, help="path of the experience store (default: the user's store)")
    @line_magic
    def metatune_compare(self, line: str):
        """Open the comparison widget on stored studies: ``%metatune_compare credit-hgb credit-rf``."""
        args = parse_argstring(self.metatune_compare, line)
        from .widgets.compare import CompareWidget

        try:
            return CompareWidget.from_store(args.studies, store=args.store or self.store)
        except LookupError as missing:
            raise UsageError(str(missing.args[0] if missing.args else missing)) from None


class _FreezeAtEnd:
    """At the end of the study, replace the live widget by its static copy.

    Nothing is left to click once the study ended, and a notebook saved without
    widget state (JupyterLab's default) would otherwise show "model not found" where
    the progress was; HTML and text stay readable in every viewer.
    """

    def __init__(self, handle, view) -> None:
        self.handle = handle
        self.view = view

    def __call__(self, snap) -> None:
        if snap.event == "end":
            self.handle.update(self.view.static_bundle(), raw=True)
            self.view.close()


def _check_strategy(strategy: str) -> None:
    """A wrong --strategy is a mistake in the line: say so in one line, with the choices."""
    try:
        from .meta.tuning import STRATEGY_CHOICES
    except ImportError:  # a meta-learning layer without the list: tune() itself will check
        return
    if strategy not in STRATEGY_CHOICES:
        raise UsageError(f"--strategy must be one of {', '.join(STRATEGY_CHOICES)}, but got --strategy {strategy!r}.")


def _checked_space(space: Any, where: str):
    from .space import as_search_space

    try:
        return as_search_space(space)
    except (TypeError, ValueError) as problem:
        raise UsageError(f"bad search space ({where}): {problem}") from None


def _space_error(error: BaseException, filename: str) -> str | None:
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
    return f"bad search space, cell line {where.lineno}: {source} -> {error}"


def load_ipython_extension(ipython) -> None:
    """Register the magics (``%load_ext jupyter_metahpo``); imports nothing heavy."""
    ipython.register_magics(MetatuneMagics)


def unload_ipython_extension(ipython) -> None:
    """Remove the magics this extension registered."""
    registered = ipython.magics_manager.magics
    for kind, names in MetatuneMagics.magics.items():
        for name in names:
            registered[kind].pop(name, None)
