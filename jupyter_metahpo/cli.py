"""The ``metahpo`` command: look into, export, import and prune the experience store.

    metahpo path                  where the store is
    metahpo list                  every study as a table
    metahpo show ID               one study and its trials (an id prefix is enough)
    metahpo export FILE [ID ...]  studies to a JSON file (all by default)
    metahpo import FILE           a JSON export, or a CSV of parameter columns + a value column
    metahpo forget ID [--yes]     remove a study (asks first)
    metahpo stats                 counts and size

Every command takes ``--store PATH`` (default: ``$JUPYTER_METAHPO_HOME`` or the
per-user data folder). The command only parses arguments and formats tables; the
work is done by :class:`jupyter_metahpo.store.ExperienceStore`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .store import ExperienceStore, StoreError

__all__ = ["main", "build_parser"]


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return _dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _clip(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with columns padded to their widest cell."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
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


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    study = store.study(args.id)
    trials = store.trials(study.id)
    task = None if study.task_id is None else next((t for t in store.tasks() if t.id == study.task_id), None)
    if args.json:
        data = {"study": study.to_dict(), "task": None if task is None else task.to_dict(),
                "trials": [t.to_dict() for t in trials]}
        print(json.dumps(data, indent=2), file=out)
        return 0
    print(f"study     {study.id}", file=out)
    print(f"name      {study.name or '-'}", file=out)
    print(f"task      {task.name if task else '-'}" + (f" ({len(task.meta_features)} meta-features)" if task and task.meta_features else ""), file=out)
    print(f"status    {study.status}  ({_when(study.started_at)} -> {_when(study.ended_at)})", file=out)
    print(f"direction {study.direction.value}" + (f", metric {study.metric}" if study.metric else ""), file=out)
    print(f"objective {study.objective or '-'}", file=out)
    print(f"space     {study.space!r}", file=out)
    print(f"signature {study.signature}", file=out)
    shown = trials if args.limit is None or args.limit <= 0 else trials[-args.limit:]
    print(f"trials    {len(trials)}" + (f" (last {len(shown)} shown)" if len(shown) < len(trials) else ""), file=out)
    if shown:
        names = study.space.names
        rows = [
            (t.trial.number, t.state.value, _number(t.value), *(_cell(t.config.get(n)) for n in names), t.trial.origin.source)
            for t in shown
        ]
        print(format_table(("#", "state", "value", *names, "origin"), rows), file=out)
    return 0


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    count = _store(args).export_json(args.file, args.ids or None)
    print(f"exported {count} studies to {args.file}", file=out)
    return 0


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    if args.file.lower().endswith(".csv"):
        report = store.import_csv(args.file, value=args.value, name=args.name, direction=args.direction)
    else:
        report = store.import_json(args.file)
    print(report, file=out)
    return 0


def cmd_forget(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    study = store.study(args.id)
    n_trials = len(store.trials(study.id))
    if not args.yes:
        answer = input(f"forget study {study.id} ({study.name or 'unnamed'}, {n_trials} trials)? This cannot be undone [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing forgotten.", file=out)
            return 1
    store.forget(study.id)
    print(f"forgot study {study.id} ({study.name or 'unnamed'}, {n_trials} trials).", file=out)
    return 0


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    stats = _store(args).stats()
    if args.json:
        print(json.dumps(stats, indent=2), file=out)
        return 0
    width = max(len(k) for k in stats)
    for key, value in stats.items():
        print(f"{key.ljust(width)}  {value}", file=out)
    return 0


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
    sub = add("show", cmd_show, "show one study and its trials")
    sub.add_argument("id", help="the study id (a unique prefix is enough)")
    sub.add_argument("--limit", type=int, default=50, help="show the last N trials (0: all; default 50)")
    sub.add_argument("--json", action="store_true", help="print the study, task and trials as JSON")
    sub = add("export", cmd_export, "export studies (all by default) to a JSON file")
    sub.add_argument("file", help="the JSON file to write")
    sub.add_argument("ids", nargs="*", help="study ids to export (default: all)")
    sub = add("import", cmd_import, "import a JSON export, or a CSV of parameter columns and a value column")
    sub.add_argument("file", help="a .json export, or a .csv table")
    sub.add_argument("--value", default="value", help="CSV: the column holding the objective (default: value)")
    sub.add_argument("--name", default=None, help="CSV: the study name (default: from the file name)")
    sub.add_argument("--direction", default="minimize", choices=("minimize", "maximize"), help="CSV: the direction")
    sub = add("forget", cmd_forget, "remove a study and its trials (asks for confirmation)")
    sub.add_argument("id", help="the study id (a unique prefix is enough)")
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
    except (StoreError, ValueError, TypeError, FileNotFoundError, ImportError) as error:
        print(f"metahpo {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
