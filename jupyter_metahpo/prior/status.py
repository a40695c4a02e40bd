"""What the build has done so far, and what the rest will cost, from the run files alone."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..builtin_spaces import FAMILIES, get_builtin_space
from . import datasets as ds
from .protocol import POOL_SIZES
from .runs import read_run, resolve_runs_dir

__all__ = ["build_status", "curve_status", "format_curve_status", "format_status"]


def build_status(runs_dir: Path | None = None, families: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per built-in space: datasets complete, evaluations done and failed, CPU
    time spent, and the CPU time the remaining evaluations should take at the mean
    cost per evaluation measured so far."""
    runs_dir = resolve_runs_dir(runs_dir)
    rows = []
    for family in families or FAMILIES:
        for space in FAMILIES[family]:
            builtin = get_builtin_space(space)
            pool_size = POOL_SIZES[family]
            names = ds.dataset_names(builtin.task)
            done = failed = complete = 0
            cpu = 0.0
            last = 0.0
            recent = 0
            hour_ago = time.time() - 3600
            for name in names:
                evals = read_run(runs_dir / space / f"{name}.jsonl").evals
                done += len(evals)
                failed += sum(1 for e in evals.values() if e.get("error"))
                cpu += sum(float(e.get("cpu_time") or 0.0) for e in evals.values())
                last = max([last] + [float(e.get("finished_at") or 0.0) for e in evals.values()])
                complete += len(evals) >= pool_size
                recent += sum(1 for e in evals.values() if float(e.get("finished_at") or 0.0) > hour_ago)
            total = pool_size * len(names)
            per_eval = cpu / done if done else None
            rows.append(
                {
                    "space": space,
                    "family": family,
                    "datasets_complete": complete,
                    "datasets": len(names),
                    "evals_done": done,
                    "evals_total": total,
                    "failed": failed,
                    "cpu_hours_spent": cpu / 3600,
                    "cpu_s_per_eval": per_eval,
                    "cpu_hours_left": None if per_eval is None else per_eval * (total - done) / 3600,
                    "last_finished_at": last or None,
                    "evals_last_hour": recent,
                }
            )
    return rows


def format_status(rows: list[dict[str, Any]]) -> str:
    header = f"{'space':26s} {'datasets':>9s} {'evals':>13s} {'failed':>6s} {'cpu s/eval':>10s} {'cpu h spent':>11s} {'cpu h left':>10s}"
    lines = [header, "-" * len(header)]
    for r in rows:
        per = "-" if r["cpu_s_per_eval"] is None else f"{r['cpu_s_per_eval']:.2f}"
        left = "-" if r["cpu_hours_left"] is None else f"{r['cpu_hours_left']:.2f}"
        lines.append(
            f"{r['space']:26s} {r['datasets_complete']:>4d}/{r['datasets']:<4d} "
            f"{r['evals_done']:>6d}/{r['evals_total']:<6d} {r['failed']:>6d} {per:>10s} "
            f"{r['cpu_hours_spent']:>11.2f} {left:>10s}"
        )
    known = [r["cpu_hours_left"] for r in rows if r["cpu_hours_left"] is not None]
    lines.append(
        f"total: {sum(r['evals_done'] for r in rows)}/{sum(r['evals_total'] for r in rows)} evaluations; "
        f"{sum(known):.1f} CPU-hours left for the spaces measured so far "
        f"(about {sum(known) / 2:.1f} h on 2 workers)"
    )
    lines.append(f"throughput: {sum(r['evals_last_hour'] for r in rows)} evaluations finished in the last hour")
    return "\n".join(lines)


def curve_status(runs_dir: Path | None = None, spaces: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per space with learning curves (``build --curves``): datasets whose curves
    are complete, evaluations done and failed, CPU time spent and left, the size of the
    curve files, and ``score_mismatches``: evaluations whose fold scores differ from the
    main runs' (recording curves must change no score, so this stays 0)."""
    runs_dir = resolve_runs_dir(runs_dir)
    rows = []
    for space in spaces or [s for s in _all_spaces() if (runs_dir / s / "curves").is_dir()]:
        builtin = get_builtin_space(space)
        pool_size = POOL_SIZES[builtin.family]
        names = ds.dataset_names(builtin.task)
        done = failed = complete = mismatches = size = 0
        cpu = 0.0
        for name in names:
            path = runs_dir / space / "curves" / f"{name}.jsonl"
            if not path.exists():
                continue
            size += path.stat().st_size
            evals = read_run(path).evals
            done += len(evals)
            failed += sum(1 for e in evals.values() if e.get("error"))
            cpu += sum(float(e.get("cpu_time") or 0.0) for e in evals.values())
            complete += len(evals) >= pool_size
            mismatches += _score_mismatches(evals, read_run(runs_dir / space / f"{name}.jsonl").evals)
        total = pool_size * len(names)
        per_eval = cpu / done if done else None
        rows.append(
            {
                "space": space,
                "datasets_complete": complete,
                "datasets": len(names),
                "evals_done": done,
                "evals_total": total,
                "failed": failed,
                "score_mismatches": mismatches,
                "cpu_hours_spent": cpu / 3600,
                "cpu_s_per_eval": per_eval,
                "cpu_hours_left": None if per_eval is None else per_eval * (total - done) / 3600,
                "megabytes": size / 1e6,
            }
        )
    return rows


def _all_spaces() -> list[str]:
    return [space for family in FAMILIES for space in FAMILIES[family]]


def _score_mismatches(curves: dict[int, dict[str, Any]], runs: dict[int, dict[str, Any]]) -> int:
    """Evaluations that succeeded in both files with different fold scores."""
    both = [i for i in curves if i in runs and not curves[i].get("error") and not runs[i].get("error")]
    return sum(curves[i].get("fold_scores") != runs[i].get("fold_scores") for i in both)


def format_curve_status(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'learning curves':26s} {'datasets':>9s} {'evals':>13s} {'failed':>6s} {'differ':>6s} "
        f"{'cpu s/eval':>10s} {'cpu h left':>10s} {'MB':>6s}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        per = "-" if r["cpu_s_per_eval"] is None else f"{r['cpu_s_per_eval']:.2f}"
        left = "-" if r["cpu_hours_left"] is None else f"{r['cpu_hours_left']:.2f}"
        lines.append(
            f"{r['space']:26s} {r['datasets_complete']:>4d}/{r['datasets']:<4d} "
            f"{r['evals_done']:>6d}/{r['evals_total']:<6d} {r['failed']:>6d} {r['score_mismatches']:>6d} "
            f"{per:>10s} {left:>10s} {r['megabytes']:>6.1f}"
        )
    lines.append("differ: evaluations whose fold scores differ from the main runs' (should be 0)")
    return "\n".join(lines)
