"""Past studies of the experience store as a table (``%metatune_history``)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from .._imports import LazyImport
from ..store import open_store
from ..store.lookup import find_study  # re-exported: the comparison finds its studies here

__all__ = ["history_frame", "find_study"]

pd = LazyImport("pandas")

HISTORY_COLUMNS = ["id", "name", "task", "status", "direction", "trials", "complete", "failed", "best", "started", "parameters"]


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return _dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def history_frame(store: Any = None, *, limit: int | None = 20):
    """One row per stored study, newest first: id, name, status, trial counts, best value."""
    if limit is not None and limit < 1:
        raise ValueError(f"`limit` must be a positive number of studies, but got limit={limit!r}.")
    summaries = sorted(open_store(store).summaries(), key=lambda s: s.study.started_at, reverse=True)
    rows = [
        {
            "id": s.study_id[:8],
            "name": s.study.name,
            "task": s.task_name,
            "status": s.study.status,
            "direction": s.study.direction.value,
            "trials": s.n_trials,
            "complete": s.n_complete,
            "failed": s.n_failed,
            "best": s.best_value,
            "started": _when(s.study.started_at),
            "parameters": ", ".join(s.study.space_json.get("parameters", {})),
        }
        for s in summaries[:limit]
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)

