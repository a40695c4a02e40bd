"""``python -m jupyter_metahpo.prior build|status|assemble|pack-curves`` — see :mod:`.build` and :mod:`.curves`.

Every command reads (and ``build`` writes) the raw runs in ``prior-build/runs/`` of a
clone of the repository, or the folder given by ``--runs DIR`` or
``$JUPYTER_METAHPO_PRIOR_RUNS`` (see :func:`.runs.resolve_runs_dir`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..builtin_spaces import BUILTIN_SPACES, FAMILIES
from .assemble import assemble
from .curves import pack_curves
from .protocol import records_curves
from .build import DEFAULT_FAMILY_ORDER, BuildSettings, run_build
from .runs import RUNS_ENV_VAR, RunFileBusyError, RunMismatchError, RunsDirNotFoundError, resolve_runs_dir
from .status import build_status, curve_status, format_curve_status, format_status


def _add_runs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs", "--runs-dir", dest="runs_dir", type=Path, metavar="DIR",
        help=f"the raw runs folder (default: ${RUNS_ENV_VAR}, else prior-build/runs in the repository clone)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jupyter_metahpo.prior", description="Build the bundled prior.")
    sub = parser.add_subparsers(dest="command", required=True)

    build_cmd = sub.add_parser("build", help="run or resume the evaluations (safe to kill and re-run)")
    build_cmd.add_argument("--families", nargs="+", choices=sorted(FAMILIES), help="families, in build order")
    build_cmd.add_argument("--spaces", nargs="+", choices=sorted(BUILTIN_SPACES), help="only these spaces of the families")
    build_cmd.add_argument(
        "--curves", action="store_true",
        help="record per-epoch learning curves (torch MLP spaces) into <runs>/<space>/curves/, dataset by dataset",
    )
    build_cmd.add_argument("--datasets", nargs="+", help="dataset names (default: all of each space's task type)")
    build_cmd.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    build_cmd.add_argument("--chunk", type=int, help="pool indices per dataset per pass (default: the whole pool)")
    build_cmd.add_argument("--fit-limit", type=float, default=60.0, help="CPU seconds per fold before a config is stopped")
    build_cmd.add_argument("--max-evals", type=int, help="stop after this many evaluations")
    build_cmd.add_argument("--sample", type=int, help="only this many pool configs on 4 datasets per space (cost estimate)")
    _add_runs_option(build_cmd)
    build_cmd.add_argument(
        "--first-pass", type=int,
        help="build every family on its first N datasets before any family's remaining ones "
             "(default 40, the prior's coverage goal; 0: family by family over all datasets; not with --curves)",
    )

    status_cmd = sub.add_parser("status", help="progress and the CPU time left")
    status_cmd.add_argument("--families", nargs="+", choices=sorted(FAMILIES))
    status_cmd.add_argument("--curves", action="store_true", help="show learning-curve progress even before any is recorded")
    _add_runs_option(status_cmd)

    assemble_cmd = sub.add_parser("assemble", help="pack the run files into the package data")
    _add_runs_option(assemble_cmd)
    assemble_cmd.add_argument("--out-dir", type=Path, help="default: jupyter_metahpo/prior/data")
    assemble_cmd.add_argument("--include-partial", action="store_true", help="also pack datasets whose pool is not finished")
    assemble_cmd.add_argument(
        "--meta-features", default="auto",
        help="'module:function' computing meta-features from (X, y); 'auto' tries the project's; 'none' skips",
    )

    curves_cmd = sub.add_parser(
        "pack-curves", help="pack the recorded learning curves (complete datasets) into the package data",
    )
    _add_runs_option(curves_cmd)
    curves_cmd.add_argument("--out-dir", type=Path, help="default: jupyter_metahpo/prior/data (writes curves/<space>.json.gz)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.runs_dir = resolve_runs_dir(args.runs_dir, create=args.command == "build")
    except RunsDirNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "build":
        first_pass = args.first_pass if args.first_pass is not None else (None if args.curves else 40)
        try:
            settings = _build_settings(args, first_pass or None)
        except (KeyError, ValueError) as error:
            print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
            return 2
        try:
            run_build(settings)
        except KeyboardInterrupt:
            return 130
        except (RunFileBusyError, RunMismatchError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "status":
        print(format_status(build_status(args.runs_dir, args.families)))
        curves = curve_status(args.runs_dir, _curve_spaces() if args.curves else None)
        if curves:
            print()
            print(format_curve_status(curves))
        return 0
    if args.command == "pack-curves":
        for space in _curve_spaces():
            path, n_tasks = pack_curves(args.runs_dir, space, args.out_dir)
            print(f"{path}: {n_tasks} datasets")
        return 0
    written = assemble(args.runs_dir, args.out_dir, include_partial=args.include_partial, meta_features=args.meta_features)
    for path, n_tasks in written.items():
        print(f"{path}: {n_tasks} tasks")
    return 0


def _curve_spaces() -> list[str]:
    return [name for name in BUILTIN_SPACES if records_curves(name)]


def _build_settings(args: argparse.Namespace, first_pass: int | None) -> BuildSettings:
    return BuildSettings(
        families=tuple(args.families or DEFAULT_FAMILY_ORDER),
        datasets=tuple(args.datasets) if args.datasets else None,
        jobs=args.jobs,
        chunk=args.chunk,
        fit_limit_s=args.fit_limit,
        max_evals=args.max_evals,
        sample=args.sample,
        runs_dir=args.runs_dir,
        first_pass=first_pass,
        spaces=tuple(args.spaces) if args.spaces else None,
        curves=args.curves,
    )


if __name__ == "__main__":
    sys.exit(main())
