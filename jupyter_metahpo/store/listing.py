"""The study list as a dashboard shows it: one flat row per study, and best-so-far series.

What the JupyterLab sidebar (``jupyter_metahpo/server``) and any other list view read.
The rows come from :meth:`ExperienceStore.summaries` (the index and the summaries cache:
no trial log is read when the cache is fresh) plus one ``stat`` per log for the time of
the last write, so listing costs grows with the number of studies, not of trials.
Best-so-far series read one study's log, straight from its JSON lines (no
``FrozenTrial`` per line).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["STUDY_ROW_FIELDS", "study_rows", "best_so_far", "thin_series"]

#: The fields of a row, in the order an API documents them.
STUDY_ROW_FIELDS = (
    "id", "name", "task", "status", "direction", "n_trials", "n_complete", "n_failed", "n_pruned",
    "best_value", "started_at", "updated_at",
)  # fmt: skip


def _finite_or_none(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _log_mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def study_rows(store: Any) -> list[dict[str, Any]]:
    """One plain dict per study (:data:`STUDY_ROW_FIELDS`), oldest first.

    ``updated_at`` is when the study last changed: for a study that is running (or has no
    end time) the last write to its trial log, so that its row moves as trials finish in
    any process; for an ended study its end time (its log's last line is the end line),
    which spares one ``stat`` per ended study.
    """
    trials_dir = os.path.join(store._layout.trials_dir, "")  # ids come from the validated index
    rows = []
    for summary in store.summaries():
        doc = summary._study_doc  # the index entry: reading it avoids building a StudyRecord per study
        sid = doc["id"]
        started = float(doc["started_at"])
        ended = doc.get("ended_at")
        if doc["status"] == "running" or ended is None:
            updated = max(started, _log_mtime(f"{trials_dir}{sid}.jsonl"))
        else:
            updated = max(started, float(ended))
        task = summary._task_doc
        rows.append({
            "id": sid,
            "name": doc.get("name"),
            "task": None if task is None else task.get("name"),
            "status": doc["status"],
            "direction": doc["direction"],
            "n_trials": summary.n_trials,
            "n_complete": summary.n_complete,
            "n_failed": summary.n_failed,
            "n_pruned": summary.n_pruned,
            "best_value": _finite_or_none(summary.best_value),
            "started_at": started,
            "updated_at": updated,
        })  # fmt: skip
    return rows


def best_so_far(store: Any, study_id: str, maximize: bool) -> list[list[float]]:
    """``[[trial number (from 1), best value so far, finished_at], ...]`` at each complete trial that improved.

    Read from the study's log lines as stored; failed and pruned trials never improve
    the best, so they add no point. ``finished_at`` is ``None`` when the trial has none.
    """
    series: list[list[Any]] = []
    best: float | None = None
    for _, record in store._log_records(study_id):
        if not isinstance(record, Mapping) or record.get("type") != "trial" or record.get("state") != "complete":
            continue
        value = _finite_or_none(record.get("value"))
        if value is None:
            continue
        if best is None or (value > best if maximize else value < best):
            best = value
            series.append([int(record.get("number", len(series))) + 1, value, _finite_or_none(record.get("finished_at"))])
    return series


def thin_series(series: list[list[Any]], limit: int) -> list[list[Any]]:
    """At most ``limit`` points of a step series, evenly spread, the first and last kept."""
    if limit < 2:
        raise ValueError(f"limit must be at least 2, but got {limit}.")
    if len(series) <= limit:
        return list(series)
    keep = sorted({round(i * (len(series) - 1) / (limit - 1)) for i in range(limit)})
    return [series[i] for i in keep]
