"""What the REST routes answer, as plain functions of the store: no Tornado here.

``ListQuery`` parses and checks a list request's arguments (search, status filter,
sort, page, ids); :func:`select_rows` applies it to the store's rows; :func:`study_detail`
is one study's page (trials, origins with reasons, best-so-far series, the resume cell).
Every problem with a request is a :class:`BadRequest` naming the argument and what it
accepts, which the handlers turn into a 400.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..store import ExperienceStore, StudyRecord, UnknownStudyError
from ..store.listing import best_so_far, study_rows, thin_series
from ..store.schema import is_safe_id
from .resume import resume_cell

__all__ = [
    "BadRequest",
    "UnknownStudy",
    "ListQuery",
    "SORT_FIELDS",
    "MAX_PAGE",
    "checked_id",
    "select_rows",
    "list_page",
    "SparklineCache",
    "exact_study",
    "study_detail",
]

#: The fields a list can be sorted by.
SORT_FIELDS = ("name", "task", "status", "best_value", "n_trials", "n_complete", "started_at", "updated_at")
#: The most rows one list request returns.
MAX_PAGE = 1000
#: The most trials one study page returns (the latest ones); its best-so-far series covers all.
MAX_DETAIL_TRIALS = 5000
#: Points of a row's sparkline and of a study page's best-so-far series.
SPARKLINE_POINTS = 24
SERIES_POINTS = 2000
#: Characters of a failed trial's error text sent to the browser (its end says most).
ERROR_CHARS = 4000
_STATUSES = ("running", "finished", "stopped", "timeout", "interrupted", "failed")


class BadRequest(ValueError):
    """A request argument is malformed; the message names it and what it accepts."""


class UnknownStudy(LookupError):
    """No study has this exact id."""


def checked_id(value: Any) -> str:
    """A study id from a URL: letters, digits, ``-`` and ``_``, at most 64 (what the store issues)."""
    if not is_safe_id(value):
        shown = repr(value)[:80]
        raise BadRequest(f"{shown} is not a study id: ids are 1-64 letters, digits, '-' or '_'.")
    return value


def _one(arguments: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = arguments.get(name) or []
    if len(values) > 1:
        raise BadRequest(f"the argument {name!r} was given {len(values)} times; give it once.")
    return values[0] if values else None


def _integer(arguments: Mapping[str, Sequence[str]], name: str, default: int, low: int, high: int) -> int:
    text = _one(arguments, name)
    if text is None or text == "":
        return default
    try:
        number = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}, but got {text!r}.") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be from {low} to {high}, but got {number}.")
    return number


@dataclass(frozen=True)
class ListQuery:
    """A list request: ``q`` (words all found in the name, task, id or status), ``status``
    (comma-separated), ``sort`` and ``order``, ``offset`` and ``limit``, ``id`` (repeatable:
    only these studies) and ``sparkline`` (``0`` leaves the series out)."""

    q: str = ""
    statuses: tuple[str, ...] = ()
    sort: str = "updated_at"
    descending: bool = True
    offset: int = 0
    limit: int = 100
    ids: tuple[str, ...] = ()
    sparkline: bool = True
    words: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def parse(cls, arguments: Mapping[str, Sequence[str]]) -> ListQuery:
        """From decoded query arguments (name -> list of values), as Tornado gives them."""
        known = {"q", "status", "sort", "order", "offset", "limit", "id", "sparkline"}
        # A bare number is the cache-busting key JupyterLab's ServerConnection adds to GETs.
        unknown = sorted(k for k in set(arguments) - known if not k.isdigit())
        if unknown:
            raise BadRequest(f"unknown argument(s) {unknown}; the list accepts {sorted(known)}.")
        q = (_one(arguments, "q") or "").strip()
        if len(q) > 200:
            raise BadRequest(f"q is {len(q)} characters long; at most 200 are accepted.")
        statuses = tuple(s for s in (_one(arguments, "status") or "").split(",") if s)
        bad = [s for s in statuses if s not in _STATUSES]
        if bad:
            raise BadRequest(f"status {bad[0]!r} is not one of {list(_STATUSES)}.")
        sort = _one(arguments, "sort") or "updated_at"
        if sort not in SORT_FIELDS:
            raise BadRequest(f"sort must be one of {list(SORT_FIELDS)}, but got {sort!r}.")
        order = _one(arguments, "order") or ("asc" if sort in ("name", "task", "status") else "desc")
        if order not in ("asc", "desc"):
            raise BadRequest(f"order must be 'asc' or 'desc', but got {order!r}.")
        ids = tuple(checked_id(i) for i in arguments.get("id") or [])
        if len(ids) > MAX_PAGE:
            raise BadRequest(f"at most {MAX_PAGE} ids per request, but got {len(ids)}.")
        sparkline = _one(arguments, "sparkline") or "1"
        if sparkline not in ("0", "1"):
            raise BadRequest(f"sparkline must be 0 or 1, but got {sparkline!r}.")
        return cls(
            q=q,
            statuses=statuses,
            sort=sort,
            descending=order == "desc",
            offset=_integer(arguments, "offset", 0, 0, 10**9),
            limit=_integer(arguments, "limit", 100, 1, MAX_PAGE),
            ids=ids,
            sparkline=sparkline == "1",
            words=tuple(q.lower().split()),
        )


def _matches(row: Mapping[str, Any], words: tuple[str, ...]) -> bool:
    text = " ".join(str(row[k]) for k in ("name", "task", "id", "status") if row[k] is not None).lower()
    return all(word in text for word in words)


def _sort_key(field_name: str):
    if field_name in ("name", "task", "status"):
        return lambda row: (row[field_name] or "").lower()
    return lambda row: row[field_name]


def select_rows(rows: list[dict[str, Any]], query: ListQuery) -> tuple[list[dict[str, Any]], int]:
    """The page of ``rows`` the query asks for, and how many rows matched in all.

    Rows without a value for the sort field (an unnamed study sorted by name, a study with
    no complete trial sorted by best value) come last in either order.
    """
    if query.ids:
        wanted = set(query.ids)
        rows = [r for r in rows if r["id"] in wanted]
    if query.statuses:
        rows = [r for r in rows if r["status"] in query.statuses]
    if query.words:
        rows = [r for r in rows if _matches(r, query.words)]
    present = [r for r in rows if r[query.sort] is not None]
    missing = [r for r in rows if r[query.sort] is None]
    # Ties keep a stable order (newest first), so that pages never overlap.
    present.sort(key=lambda r: r["started_at"], reverse=True)
    present.sort(key=_sort_key(query.sort), reverse=query.descending)
    ordered = present + missing
    return ordered[query.offset : query.offset + query.limit], len(ordered)


def list_page(store: ExperienceStore, query: ListQuery, sparklines: SparklineCache) -> dict[str, Any]:
    """The body of ``GET studies``: ``{"studies": [row, ...], "total": N, "offset", "limit"}``."""
    page, total = select_rows(study_rows(store), query)
    if query.sparkline:
        for row in page:
            row["sparkline"] = sparklines.get(store, row)
    return {"studies": page, "total": total, "offset": query.offset, "limit": query.limit}


class SparklineCache:
    """Best-so-far sparklines by study, recomputed only when the study's trial count changed.

    A page of rows is polled every second while a study runs; reading each row's log
    every time would cost a page of log reads per poll.
    """

    def __init__(self, points: int = SPARKLINE_POINTS) -> None:
        self.points = points
        self._cache: dict[str, tuple[int, list[float]]] = {}

    def get(self, store: ExperienceStore, row: Mapping[str, Any]) -> list[float]:
        key = row["n_complete"]
        hit = self._cache.get(row["id"])
        if hit is not None and hit[0] == key:
            return hit[1]
        series = best_so_far(store, row["id"], row["direction"] == "maximize")
        values = [point[1] for point in thin_series(series, self.points)] if series else []
        if len(self._cache) > 50_000:  # a bound, not a policy: a long-lived server over a churning store
            self._cache.clear()
        self._cache[row["id"]] = (key, values)
        return values

    def forget(self, study_id: str) -> None:
        self._cache.pop(study_id, None)


def exact_study(store: ExperienceStore, study_id: str) -> StudyRecord:
    """The study with exactly this id: a prefix, which the CLI accepts, is refused here (a DELETE
    must never pick a study the client did not name)."""
    checked_id(study_id)
    try:
        full = store.resolve_id(study_id)
    except UnknownStudyError:
        full = None
    if full != study_id:
        raise UnknownStudy(f"no study with id {study_id!r} in the experience store.")
    return store.study(full)


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _trial_row(trial: Any) -> dict[str, Any]:
    error = trial.error
    if error is not None and len(error) > ERROR_CHARS:
        error = "...\n" + error[-ERROR_CHARS:]
    return {
        "number": trial.number + 1,
        "state": trial.state.value,
        "value": _finite(trial.value),
        "config": dict(trial.config),
        "origin": {"source": trial.origin.source, "reason": trial.origin.reason},
        "started_at": trial.started_at,
        "finished_at": trial.finished_at,
        "duration": trial.duration,
        "error": error,
        "prune_reason": trial.prune_reason,
    }


def origin_groups(trials: Sequence[Any], maximize: bool) -> list[dict[str, Any]]:
    """Per origin (``sobol``, ``warm-start``, ``gp``, ...): how many trials, how many complete,
    their best value and their distinct reasons with counts (most frequent first)."""
    groups: dict[str, dict[str, Any]] = {}
    reasons: dict[str, Counter] = {}
    for trial in trials:
        source = trial.origin.source
        group = groups.setdefault(source, {"source": source, "count": 0, "n_complete": 0, "best_value": None})
        group["count"] += 1
        value = _finite(trial.value) if trial.state.value == "complete" else None
        if value is not None:
            group["n_complete"] += 1
            best = group["best_value"]
            if best is None or (value > best if maximize else value < best):
                group["best_value"] = value
        reasons.setdefault(source, Counter())[trial.origin.reason or "(no reason recorded)"] += 1
    out = []
    for source, group in groups.items():
        top = reasons[source].most_common(20)
        out.append({**group, "reasons": [{"reason": r, "count": c} for r, c in top],
                    "n_reasons": len(reasons[source])})  # fmt: skip
    return sorted(out, key=lambda g: -g["count"])


def _space_json(record: StudyRecord) -> dict[str, Any]:
    return {name: parameter.to_json() for name, parameter in record.space.items()}


def study_detail(store: ExperienceStore, study_id: str) -> dict[str, Any]:
    """The body of ``GET studies/{id}``."""
    record = exact_study(store, study_id)
    maximize = record.direction.value == "maximize"
    trials = [r.trial for r in store.trials(record.id)]
    row = next((r for r in study_rows_for(store, record.id)), None)
    complete = [t for t in trials if t.state.value == "complete" and _finite(t.value) is not None]
    best = (max if maximize else min)(complete, key=lambda t: t.value) if complete else None
    series = best_so_far(store, record.id, maximize)
    shown = trials[-MAX_DETAIL_TRIALS:]
    return {
        "study": {
            **(row or {}),
            "objective": record.objective,
            "metric": record.metric,
            "ended_at": record.ended_at,
            "space": _space_json(record),
            "versions": dict(record.versions),
            "n_owners": len(record.owners),
        },
        "trials": [_trial_row(t) for t in shown],
        "trials_truncated": len(trials) > len(shown),
        "best_so_far": thin_series(series, SERIES_POINTS) if series else [],
        "best": None if best is None else {"number": best.number + 1, "value": best.value, "config": dict(best.config)},
        "origins": origin_groups(trials, maximize),
        "resume_cell": resume_cell(record),
    }


def study_rows_for(store: ExperienceStore, study_id: str) -> list[dict[str, Any]]:
    return [row for row in study_rows(store) if row["id"] == study_id]

