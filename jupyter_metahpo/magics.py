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

import math
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, argument_group, magic_arguments
from traitlets import Bool, CaselessStrEnum, Float, Integer, Unicode

from ._imports import LazyImport
from .api import tune
from .cell import CELL_BUILTINS, read_cell
from .parallel import UnpicklableObjectiveError
from .pipeline import STRATEGY_CHOICES, check_name_is_free
from .progress import TextProgress
from .pruners import PRUNER_NAMES, resolve_name
from .store import StoreError
from .study import ObjectiveFailedError, StopSignal, StudyInterrupted

# The widgets import ipywidgets as they load: only when a cell first shows one, so that
# `%load_ext jupyter_metahpo` stays quick.
compare = LazyImport("jupyter_metahpo.widgets.compare")
history = LazyImport("jupyter_metahpo.widgets.history")
live = LazyImport("jupyter_metahpo.widgets.live")

__all__ = ["MetatuneMagics", "StudyFailed", "CELL_BUILTINS", "load_ipython_extension", "unload_ipython_extension"]


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
    jobs = Integer(1, help="Default trials at once (more than 1: on a Dask LocalCluster the study starts).").tag(
        config=True
    )
    scheduler = Unicode(None, allow_none=True, help="Default Dask scheduler address (None: no cluster).").tag(
        config=True
    )
    pruner = Unicode(None, allow_none=True, help="Default pruner: median, halving, meta (None: never prune).").tag(
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

    @magic_arguments("%metatune")  # the usage line then reads %%metatune: it is a cell magic
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
    @argument("--pruner", default=None, metavar="NAME", help="stop trials early from the curves they report: median, halving, meta")
    @argument("--store", default=None, help="path of the experience store (default: the user's store)")
    @argument("--resume", dest="resume", action="store_const", const=True, default=None, help="continue the stored study of this name")
    @argument("--fresh", dest="resume", action="store_const", const=False, help="start over even if a study of this name exists")
    @argument("--out", "-o", default=None, metavar="VAR", help="store the result in this variable")
    @argument("--quiet", "-q", action="store_true", help="no progress display")
    @argument("--space", default=None, metavar="NAME", help="variable holding the search space (default: `space`)")
    @argument("--objective", default=None, metavar="NAME", help="function to tune (default: the function the cell defines)")
    @argument_group("parallel trials (Dask)")
    @argument("--jobs", "-j", type=int, default=None, metavar="K", help="run K trials at once on a Dask LocalCluster")
    @argument("--scheduler", default=None, metavar="ADDRESS", help="run the trials on the Dask cluster at this address")
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
        args = _parse(self.metatune, line)
        _check_line(args)
        objective, space = read_cell(self.shell, cell, args.objective, args.space)
        stop = StopSignal()
        callbacks = self._progress_callbacks(stop, quiet=args.quiet)
        try:
            kwargs = self._tune_kwargs(args)
            if args.resume is False and args.name:  # --fresh never makes a second study of one name
                check_name_is_free(kwargs.get("store"), args.name)
            result = tune(objective, space, callbacks=callbacks, stop=stop, **kwargs)
        except ObjectiveFailedError as failure:
            raise StudyFailed(str(failure)) from None
        except (StoreError, UnpicklableObjectiveError) as problem:  # each says what to do (--fresh, a path, ...)
            raise StudyFailed(str(problem), kind=type(problem).__name__) from None
        except StudyInterrupted as interrupted:  # shown in one line; it stops "Run All" as an error does
            if args.out:
                self.shell.user_ns[args.out] = interrupted.result
            raise
        if args.out:
            self.shell.user_ns[args.out] = result
            return None
        return result

    # Steps ----------------------------------------------------------------------------
    def _tune_kwargs(self, args) -> dict[str, Any]:
        """The line, with this session's %config defaults, as keyword arguments of ``tune``."""
        trials = args.trials if args.trials is not None else (None if args.timeout is not None else self.trials)
        optional = {
            "data": _data(args.data, self.shell.user_ns) if args.data else None,
            "strategy": args.strategy or self.strategy,
            "pruner": args.pruner or self.pruner,
            "store": args.store or self.store,
            "resume": args.resume,
            "client": args.scheduler or self.scheduler,
        }
        return {
            "n_trials": trials,
            "timeout": args.timeout if args.timeout is not None else self.timeout,
            "direction": args.direction or self.direction,
            "metric": args.metric,
            "seed": args.seed if args.seed is not None else self.seed,
            "name": args.name,
            "n_jobs": args.jobs if args.jobs is not None else self.jobs,
            **{key: value for key, value in optional.items() if value is not None},
        }

    def _progress_callbacks(self, stop: StopSignal, *, quiet: bool) -> list[Callable]:
        mode = "none" if quiet else self.display
        if mode == "auto":
            mode = "widget" if getattr(self.shell, "kernel", None) is not None else "text"
        if mode == "none":
            return []
        if mode == "text":
            return [TextProgress()]
        return live.live_callbacks(self.shell, stop, min_interval=self.min_interval, pump_comms=self.pump_comms)

    # History and comparison -----------------------------------------------------------------
    @magic_arguments()
    @argument("--store", default=None, help="path of the experience store (default: the user's store)")
    @argument("--limit", type=int, default=20, help="show at most this many studies, newest first")
    @line_magic
    def metatune_history(self, line: str):
        """Show the studies in the experience store as a table, newest first."""
        args = _parse(self.metatune_history, line)
        return history.history_frame(args.store or self.store, limit=args.limit)

    @magic_arguments()
    @argument("studies", nargs="*", help="study names or ids (none: choose in the widget)")
    @argument("--store", default=None, help="path of the experience store (default: the user's store)")
    @line_magic
    def metatune_compare(self, line: str):
        """Open the comparison widget on stored studies: ``%metatune_compare credit-hgb credit-rf``."""
        args = _parse(self.metatune_compare, line)
        try:
            return compare.CompareWidget.from_store(args.studies, store=args.store or self.store)
        except LookupError as missing:
            raise UsageError(str(missing.args[0] if missing.args else missing)) from None


def _parse(magic: Callable, line: str):
    """The line's options, its words split as a shell splits them (``--name 'credit hgb'``)."""
    try:
        words = shlex.split(line)
    except ValueError as problem:
        raise UsageError(f"cannot split the line into options ({problem}): {line}") from None
    return magic.parser.parse_args(words)


def _check_line(args) -> None:
    """What the line's parser cannot check: ranges, names and the strategy, each a one-line UsageError."""
    if args.trials is not None and args.trials < 1:
        raise UsageError(f"--trials must be a positive integer, but got --trials {args.trials}.")
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UsageError(f"--timeout must be a positive number of seconds, but got --timeout {args.timeout:g}.")
    if args.jobs is not None and args.jobs < 1 and args.jobs != -1:
        raise UsageError(f"--jobs must be a positive integer (or -1: one per CPU core), but got --jobs {args.jobs}.")
    if args.out is not None and not args.out.isidentifier():
        raise UsageError(f"--out must be a Python variable name, but got --out {args.out!r}.")
    if args.strategy is not None and args.strategy not in STRATEGY_CHOICES:
        raise UsageError(
            f"--strategy must be one of {', '.join(STRATEGY_CHOICES)}, but got --strategy {args.strategy!r}."
        )
    if args.pruner is not None and resolve_name(args.pruner) is None:
        raise UsageError(f"--pruner must be one of {', '.join(PRUNER_NAMES)}, but got --pruner {args.pruner!r}.")


def _data(names: list[str], namespace: Mapping[str, Any]) -> tuple[Any, Any]:
    missing = [n for n in names if n not in namespace]
    if missing:
        raise UsageError(f"--data {' '.join(names)}: no variable named {', '.join(map(repr, missing))} in the notebook.")
    return namespace[names[0]], namespace[names[1]]


def load_ipython_extension(ipython) -> None:
    """Register the magics (``%load_ext jupyter_metahpo``); imports nothing heavy."""
    ipython.register_magics(MetatuneMagics)


def unload_ipython_extension(ipython) -> None:
    """Remove the magics this extension registered."""
    registered = ipython.magics_manager.magics
    for kind, names in MetatuneMagics.magics.items():
        for name in names:
            registered[kind].pop(name, None)
