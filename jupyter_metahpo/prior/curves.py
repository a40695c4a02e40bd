"""The prior's learning curves: read from the build's curve files, packed into the package.

``build --curves`` records, for every pool configuration of the torch MLP spaces on
every dataset, each CV fold's held-out score after every epoch
(``<runs>/<space>/curves/<dataset>.jsonl``, see :mod:`.runs`). A configuration's
learning curve here is what a training loop reporting once per epoch would report:
at each epoch the mean over folds of the fold's score then, where a fold that has
already stopped (early stopping, or its ``max_epochs``) counts with its final score
(the weights of its best epoch, which it restored). The curve's last point is thus the
configuration's cross-validated score, its final value.

``pack_curves`` writes ``data/curves/<space>.json.gz`` (4 decimals, complete datasets
only), so an installed package has the curves without the runs: the meta-learned
pruner's past on day one. :func:`load_prior_curves` reads the packed file, or the runs
folder when asked.
"""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .assemble import default_data_dir
from .runs import read_run

__all__ = [
    "CURVES_FORMAT",
    "TaskCurves",
    "config_curve",
    "read_curve_run",
    "read_curve_runs",
    "pack_curves",
    "load_prior_curves",
    "available_curve_spaces",
]

CURVES_FORMAT = "jupyter-metahpo-prior-curves"
CURVES_FORMAT_VERSION = 1
_DECIMALS = 4


@dataclass(frozen=True)
class TaskCurves:
    """Every pool configuration's learning curve on one dataset (higher is better).

    ``curves[i]`` is the curve of pool configuration ``indices[i]`` (one value per
    epoch, from epoch 0), ``finals[i]`` its cross-validated score (the curve's last value).
    """

    space: str
    task: str
    task_type: str
    metric: str
    indices: tuple[int, ...]
    configs: tuple[Mapping[str, Any], ...]
    curves: tuple[np.ndarray, ...]
    finals: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.curves)


def config_curve(folds: Sequence[Mapping[str, Any]]) -> np.ndarray | None:
    """One configuration's curve from its folds' records (``score`` per epoch, ``best_epoch``);
    ``None`` when a fold recorded nothing or a non-finite score."""
    if not folds:
        return None
    length = max(len(f.get("score") or ()) for f in folds)
    if length == 0:
        return None
    rows = []
    for fold in folds:
        scores = fold.get("score") or []
        best = fold.get("best_epoch")
        if not scores or not isinstance(best, int) or not 0 <= best < len(scores):
            return None
        values = [math.nan if v is None else float(v) for v in scores]
        final = values[best]
        # Before its last epoch a fold reports its weights as they are; from then on, the
        # weights it kept (its best epoch), which is what it scores in the end.
        rows.append(values[:-1] + [final] * (length - len(values) + 1))
    curve = np.mean(np.asarray(rows, dtype=float), axis=0)
    return curve if np.all(np.isfinite(curve)) else None


def read_curve_run(path: str | os.PathLike[str]) -> TaskCurves | None:
    """One curve file's configurations; ``None`` when it has no header (nothing recorded yet)."""
    record = read_run(path)
    header = record.header
    if header is None:
        return None
    dataset = header.get("dataset") or {}
    kept = []
    for index in sorted(record.evals):
        line = record.evals[index]
        if line.get("error") is not None or line.get("score") is None:
            continue
        curve = config_curve(line.get("curves") or [])
        if curve is not None:
            kept.append((index, line.get("config") or {}, curve, float(line["score"])))
    return TaskCurves(
        space=str(header.get("space")),
        task=str(dataset.get("name", Path(path).stem)),
        task_type=str(dataset.get("task", "")),
        metric=str(header.get("metric", "")),
        indices=tuple(k[0] for k in kept),
        configs=tuple(k[1] for k in kept),
        curves=tuple(k[2] for k in kept),
        finals=tuple(k[3] for k in kept),
    )


def read_curve_runs(runs_dir: str | os.PathLike[str], space: str, *, complete_only: bool = True) -> list[TaskCurves]:
    """Every dataset's curves of ``space`` in a runs folder (``complete_only``: datasets whose
    whole pool has a curve, as the packed data keeps), in name order."""
    folder = Path(runs_dir) / space / "curves"
    pool_size = _pool_size(Path(runs_dir) / space)
    tasks = []
    for path in sorted(folder.glob("*.jsonl")):
        task = read_curve_run(path)
        if task is None or not len(task):
            continue
        if complete_only and pool_size is not None and len(read_run(path).evals) < pool_size:
            continue
        tasks.append(task)
    return tasks


def _pool_size(space_dir: Path) -> int | None:
    try:
        return len(json.loads((space_dir / "_pool.json").read_text())["pool"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pack_curves(runs_dir: str | os.PathLike[str], space: str, out_dir: str | os.PathLike[str] | None = None) -> tuple[Path, int]:
    """Write ``<out_dir>/curves/<space>.json.gz`` from the runs; returns its path and number of datasets."""
    tasks = read_curve_runs(runs_dir, space)
    payload = {
        "format": CURVES_FORMAT,
        "version": CURVES_FORMAT_VERSION,
        "space": space,
        "direction": "maximize",
        "tasks": [
            {
                "task": t.task, "task_type": t.task_type, "metric": t.metric, "indices": list(t.indices),
                "curves": [[round(float(v), _DECIMALS) for v in c] for c in t.curves],
                "finals": [round(f, _DECIMALS + 2) for f in t.finals],
            }
            for t in tasks
        ],
    }
    target = Path(out_dir or default_data_dir()) / "curves" / f"{space}.json.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target, "wt", encoding="utf-8") as handle:
        json.dump(payload, handle, separators=(",", ":"))
    return target, len(tasks)


def available_curve_spaces(data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The spaces whose curves are packed in the package."""
    folder = Path(data_dir or default_data_dir()) / "curves"
    return sorted(p.name[: -len(".json.gz")] for p in folder.glob("*.json.gz")) if folder.is_dir() else []


def load_prior_curves(
    space: str, *, data_dir: str | os.PathLike[str] | None = None, runs_dir: str | os.PathLike[str] | None = None,
    tasks: Iterable[str] | None = None,
) -> list[TaskCurves]:
    """The prior's curves of ``space``: from the runs folder when ``runs_dir`` is given, else the
    packed data (none when the space has no packed curves). ``tasks`` keeps only those datasets."""
    if runs_dir is not None:
        found = read_curve_runs(runs_dir, space)
    else:
        found = _read_packed(space, data_dir)
    wanted = None if tasks is None else set(tasks)
    return [t for t in found if wanted is None or t.task in wanted]


def _read_packed(space: str, data_dir: str | os.PathLike[str] | None) -> list[TaskCurves]:
    path = Path(data_dir or default_data_dir()) / "curves" / f"{space}.json.gz"
    if not path.exists():
        return []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            payload = json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"the prior's curve file {path} cannot be read ({error}); reinstall jupyter-metahpo.") from None
    if payload.get("format") != CURVES_FORMAT or payload.get("version") != CURVES_FORMAT_VERSION:
        raise ValueError(
            f"the prior's curve file {path} has format {payload.get('format')!r} version {payload.get('version')!r}; "
            f"this version reads {CURVES_FORMAT!r} version {CURVES_FORMAT_VERSION}. Reinstall jupyter-metahpo."
        )
    return [
        TaskCurves(
            space=space, task=t["task"], task_type=t.get("task_type", ""), metric=t.get("metric", ""),
            indices=tuple(t["indices"]), configs=(), curves=tuple(np.asarray(c, dtype=float) for c in t["curves"]),
            finals=tuple(float(f) for f in t["finals"]),
        )
        for t in payload["tasks"]
    ]
