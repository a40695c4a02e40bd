"""The ``metahpo`` command: look into, export, import and prune the experience store.

    metahpo path                  where the store is
    metahpo list                  every study as a table
    metahpo show STUDY            one study and its trials, numbered from 1
    metahpo export FILE [STUDY ...]  studies to a JSON file (all by default)
    metahpo import FILE           a JSON export, or a CSV of parameter columns + a value column
    metahpo forget STUDY [--yes]  remove a study (asks first)
    metahpo stats                 counts and size

A STUDY is its name (the latest study of that name) or its id (a unique prefix is
enough), as in ``%metatune_compare``; ``forget`` refuses a name that several studies
share and lists their ids. Every command takes ``--store PATH`` (default:
``$JUPYTER_METAHPO_HOME`` or the per-user data folder). The command only parses
arguments and formats tables; the work is done by
:class:`jupyter_metahpo.store.ExperienceStore`. Text from the store (names, tasks, paths)
is printed with control characters escaped (:func:`jupyter_metahpo._text.printable`), and
every failure is one line on stderr that names the file, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ._text import printable
from .store import ExperienceStore, StoreError, StudyRecord
from .store.errors import describe_os_error
from .store.lookup import find_studies
from .store.paths import resolve_store_path

__all__ = ["main", "build_parser"]


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return _dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _clip(text: str, width: int = 32) -> str:
    text = printable(text)  # escape first: an escape must not be cut off unseen
    return text if len(text) <= width else text[: width - 3] + "..."


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with columns padded to their widest cell, control characters escaped."""
    cells = [[printable(c) for c in headers]] + [[printable(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _store(args: argparse.Namespace) -> ExperienceStore:
    return ExperienceStore(args.store)


def cmd_path(args: argparse.Namespace, out: TextIO) -> int:
    print(_store(args).path, file=out)
    return 0


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    summaries = _store(args).summaries()
    if args.name:
        summaries = tuple(s for s in summaries if s.name == args.name)
    if not summaries:
        print("no studies in the store yet.", file=out)
        return 0
    rows = [
        (
            s.study_id,
            _clip(s.name or "-"),
            _clip(s.task_name),
            s.status,
            f"{s.n_complete}/{s.n_trials}",
            _number(s.best_value),
            s.direction.value[:3],
            _when(s.started_at),
        )
        for s in summaries
    ]
    print(format_table(("id", "name", "task", "status", "ok/trials", "best", "dir", "started"), rows), file=out)
    return 0


def _describe(study: StudyRecord) -> str:
    return f"{study.id} (started {_when(study.started_at)}, {study.status})"


def _named(store: ExperienceStore, key: str, command: str) -> StudyRecord:
    """The study ``key`` names: its latest run when several share the name, said on stderr."""
    matches = find_studies(store, key)
    if len(matches) > 1:
        others = ", ".join(_describe(s) for s in matches[:-1])
        print(
            printable(
                f"metahpo {command}: {len(matches)} studies are named {key!r}; using the latest, "
                f"{_describe(matches[-1])}. The others: {others}. Pass an id to pick one."
            ),
            file=sys.stderr,
        )
    return matches[-1]


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    study = _named(store, args.study, "show")
    trials = store.trials(study.id)
    task = None if study.task_id is None else next((t for t in store.tasks() if t.id == study.task_id), None)
    if args.json:  # the stored records as they are (numbers from 0); json.dumps escapes control characters
        data = {"study": study.to_dict(), "task": None if task is None else task.to_dict(),
                "trials": [t.to_dict() for t in trials]}
        print(json.dumps(data, indent=2), file=out)
        return 0

    def line(label: str, text: str) -> None:
        print(f"{label.ljust(9)} {printable(text)}", file=out)

    line("study", study.id)
    line("name", study.name or "-")
    line("task", f"{task.name if task else '-'}" + (f" ({len(task.meta_features)} meta-features)" if task and task.meta_features else ""))
    line("status", f"{study.status}  ({_when(study.started_at)} -> {_when(study.ended_at)})")
    line("direction", study.direction.value + (f", metric {study.metric}" if study.metric else ""))
    line("objective", study.objective or "-")
    line("space", repr(study.space))
    line("signature", study.signature)
    shown = trials if args.limit is None or args.limit <= 0 else trials[-args.limit:]
    line("trials", f"{len(trials)}" + (f" (last {len(shown)} shown)" if len(shown) < len(trials) else ""))
    if shown:
        names = study.space.names
        curves = any(t.trial.intermediate_values for t in shown)
        rows = [
            # Trials are counted from 1 wherever a person reads a number (the widget, the plot);
            # the store keeps its own numbers, from 0, and --json prints those.
            (t.trial.number + 1, t.state.value, _number(t.value), *(_cell(t.config.get(n)) for n in names),
             t.trial.origin.source, *((_steps(t.trial), sparkline(t.trial.intermediate_values)) if curves else ()))
            for t in shown
        ]
        print(format_table(("#", "state", "value", *names, "origin", *(("steps", "curve") if curves else ())), rows),
              file=out)
        for t in shown:
            if t.trial.prune_reason:
                print(printable(f"trial {t.trial.number + 1} pruned: {t.trial.prune_reason}"), file=out)
    return 0


def _steps(trial: Any) -> str:
    """How many steps a trial reported, and its last step when they were not 0, 1, 2, ..."""
    curve = trial.intermediate_values
    if not curve:
        return "-"
    return f"{len(curve)}" if trial.last_step == len(curve) - 1 else f"{len(curve)} (to {trial.last_step})"


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(curve: Any, width: int = 16) -> str:
    """A learning curve in ``width`` characters or fewer, its own range from ▁ to █ (NaN as ``?``)."""
    values = list(curve.values())
    if not values:
        return "-"
    if len(values) > width:  # evenly spaced points, the last one kept
        values = [values[round(i * (len(values) - 1) / (width - 1))] for i in range(width)]
    finite = [v for v in values if v == v]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    span = high - low
    return "".join(
        "?" if v != v else _BARS[0 if span == 0 else min(int((v - low) / span * len(_BARS)), len(_BARS) - 1)]
        for v in values
    )


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    ids = [_named(store, key, "export").id for key in args.studies] or None
    count = store.export_json(args.file, ids)
    print(printable(f"exported {count} studies to {args.file}"), file=out)
    return 0


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    if args.file.lower().endswith(".csv"):
        report = store.import_csv(args.file, value=args.value, name=args.name, direction=args.direction)
    else:
        report = store.import_json(args.file)
    print(printable(report), file=out)
    return 0


def _confirm(question: str) -> bool:
    """Ask on the terminal; with stdin closed (a script, CI) there is no one to ask: an error."""
    try:
        answer = input(printable(question))
    except EOFError:
        print(file=sys.stdout)  # end the prompt's line before the error
        raise StoreError(
            "no terminal to ask for confirmation on (stdin is closed); pass --yes to forget without asking."
        ) from None
    return answer.strip().lower() in ("y", "yes")


def cmd_forget(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    matches = find_studies(store, args.study)
    if len(matches) > 1:  # removing cannot be undone: never guess which one
        listed = "; ".join(_describe(s) for s in reversed(matches))
        raise StoreError(
            f"{len(matches)} studies are named {args.study!r}: {listed}. Pass the id of the one to forget."
        )
    (study,) = matches
    n_trials = len(store.trials(study.id))
    what = f"study {study.id} ({study.name or 'unnamed'}, {n_trials} trials)"
    if not args.yes and not _confirm(f"forget {what}? This cannot be undone [y/N] "):
        print("nothing forgotten.", file=out)
        return 1
    store.forget(study.id)
    print(printable(f"forgot {what}."), file=out)
    return 0


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    stats = _store(args).stats()
    if args.json:
        print(json.dumps(stats, indent=2), file=out)
        return 0
    width = max(len(k) for k in stats)
    for key, value in stats.items():
        print(printable(f"{key.ljust(width)}  {value}"), file=out)
    return 0


STUDY_HELP = "the study's name (its latest study, when several share it) or id (a unique prefix is enough)"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="PATH", default=argparse.SUPPRESS,
                        help="the store's folder (default: $JUPYTER_METAHPO_HOME or the per-user data folder)")
    parser = argparse.ArgumentParser(
        prog="metahpo", parents=[common],
        description="Look into, export, import and prune the jupyter-metahpo experience store.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def add(name: str, handler, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    add("path", cmd_path, "print where the experience store is")
    sub = add("list", cmd_list, "list every study as a table")
    sub.add_argument("--name", help="only studies with this name")
    sub = add("show", cmd_show, "show one study and its trials; trials are numbered from 1, as in the widget "
              "(--json prints the stored records, numbered from 0)")
    sub.add_argument("study", help=STUDY_HELP)
    sub.add_argument("--limit", type=int, default=50, help="show the last N trials (0: all; default 50)")
    sub.add_argument("--json", action="store_true", help="print the study, task and trials as JSON")
    sub = add("export", cmd_export, "export studies (all by default) to a JSON file")
    sub.add_argument("file", help="the JSON file to write")
    sub.add_argument("studies", nargs="*", metavar="study", help="studies to export, by name or id (default: all)")
    sub = add("import", cmd_import, "import a JSON export, or a CSV of parameter columns and a value column")
    sub.add_argument("file", help="a .json export, or a .csv table")
    sub.add_argument("--value", default="value", help="CSV: the column holding the objective (default: value)")
    sub.add_argument("--name", default=None, help="CSV: the study name (default: from the file name)")
    sub.add_argument("--direction", default="minimize", choices=("minimize", "maximize"), help="CSV: the direction")
    sub = add("forget", cmd_forget, "remove a study and its trials (asks for confirmation)")
    sub.add_argument("study", help="the study's name or id (a unique prefix is enough); a name that several "
                     "studies share is refused, with their ids")
    sub.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    sub = add("stats", cmd_stats, "counts of tasks, studies and trials, and the size on disk")
    sub.add_argument("--json", action="store_true", help="print as JSON")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``metahpo``; returns the exit status (0 ok, 1 refused or failed, 2 bad usage)."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    if not hasattr(args, "store"):
        args.store = None
    try:
        return args.handler(args, out)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - every failure becomes one line, never a traceback
        message = _failure_message(error, args)
        if message is None:
            raise
        print("\n".join(printable(part) for part in f"metahpo {args.command}: error: {message}".split("\n")), file=sys.stderr)
        return 1


#: What a wrong path means, for the errors that name it (a store folder that is a file, ...).
_PATH_HINTS = {
    NotADirectoryError: ": a part of this path is a file, not a folder; check --store and the file names",
    IsADirectoryError: ": this is a folder; give a file's path",
}


def _failure_message(error: Exception, args: argparse.Namespace) -> str | None:
    """What to tell a person about ``error``, naming the file; ``None`` for a bug (shown in full)."""
    if isinstance(error, (StoreError, ValueError, TypeError, ImportError)) and not isinstance(error, UnicodeError):
        return str(error)
    if isinstance(error, OSError) and error.filename is not None:
        names = " -> ".join(str(n) for n in (error.filename, error.filename2) if n is not None)
        hint = _PATH_HINTS.get(type(error), "")
        return f"{names}: {describe_os_error(error)}{hint}."
    if isinstance(error, OSError):  # our own messages: FileNotFoundError("no file to import at ...")
        return str(error)
    # Input the checks above missed (a CSV's 400-digit number, its deep nesting, a name
    # that is no text): name the file the command was reading, and what went wrong.
    if isinstance(error, RecursionError):
        return f"{_subject(args)} is nested too deeply."
    if isinstance(error, OverflowError):
        return f"{_subject(args)} holds a number too large for a float ({error})."
    if isinstance(error, UnicodeError):
        return f"{_subject(args)} holds text that is not valid Unicode ({error})."
    return None


def _subject(args: argparse.Namespace) -> str:
    """The file the command works on: the file to import or export, else the store."""
    file = getattr(args, "file", None)
    return str(file) if file else f"the experience store {resolve_store_path(args.store)}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
