"""The store's schema: its version, the migrations between versions, and validation.

Everything that enters the store from outside (an import file, a trial line read back
from disk) is checked here *as data*: JSON types, required fields, finite numbers,
sizes, ids safe to use as file names. Nothing is ever evaluated. Each checker returns
a list of problems, each prefixed by the location of the bad field
(``studies[3].trials[12].value``), so an import can report every problem at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..space import SearchSpace
from .errors import StoreVersionError

__all__ = [
    "SCHEMA_VERSION",
    "MIGRATIONS",
    "migrate_index",
    "check_version",
    "check_task",
    "check_study",
    "check_trial",
    "is_safe_id",
]

#: The version of the layout this package writes. Bump it with a migration below.
SCHEMA_VERSION = 1

#: ``MIGRATIONS[v]`` upgrades an index document from version ``v`` to ``v + 1``.
#: Version 1 is the first released layout, so there is nothing to upgrade yet; a
#: future version 2 adds ``MIGRATIONS[1] = _v1_to_v2`` and the loop below applies it.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

#: Ids become file names (``trials/ID.jsonl``): letters, digits, ``-`` and ``_`` only.
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Generous bounds that still stop a hostile or broken file from filling memory.
MAX_TEXT = 100_000
MAX_NAME = 1_000
MAX_ITEMS = 10_000
_STATES = ("complete", "failed")
_DIRECTIONS = ("minimize", "maximize")


def is_safe_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SAFE_ID.match(value))


def check_version(version: Any, where: str) -> int:
    """The schema version as an int, or :class:`StoreVersionError` naming ``where``."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StoreVersionError(f"{where} has schema version {version!r}; expected an integer from 1 to {SCHEMA_VERSION}.")
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{where} was written with schema version {version}, newer than this jupyter-metahpo understands "
            f"({SCHEMA_VERSION}). Upgrade jupyter-metahpo (pip install -U jupyter-metahpo) to read it."
        )
    return version


def migrate_index(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Upgrade an index document step by step from ``version`` to :data:`SCHEMA_VERSION`."""
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise StoreVersionError(f"no migration from schema version {version} to {version + 1}.")
        data = step(data)
        version += 1
    return data


# Field checkers: each returns a problem string, or None when the value is fine. ------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> str | None:
    if not _is_number(value):
        return f"must be a number, but got {_short(value)} ({type(value).__name__})"
    if not math.isfinite(value):
        return f"must be a finite number, but got {value!r}"
    return None


def _optional_finite(value: Any) -> str | None:
    return None if value is None else _finite(value)


def _text(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, but got {_short(value)} ({type(value).__name__})"
        if len(value) > limit:
            return f"is {len(value)} characters long; at most {limit} are allowed"
        return None

    return check


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda value: None if value is None else check(value)


def _safe_id(value: Any) -> str | None:
    if not is_safe_id(value):
        return f"must be 1-64 letters, digits, '-' or '_', but got {_short(value)}"
    return None


def _one_of(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda value: None if value in options else f"must be one of {list(options)}, but got {_short(value)}"


def _number_map(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be an object of name -> number, but got {_short(value)}"
    if len(value) > MAX_ITEMS:
        return f"has {len(value)} entries; at most {MAX_ITEMS} are allowed"
    for key, item in value.items():
        problem = _finite(item)
        if problem:
            return f"[{key!r}] {problem}"
    return None


def _json_object(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a JSON object, but got {_short(value)} ({type(value).__name__})"
    problem = _json_value(value, depth=0)
    return problem


def _json_value(value: Any, depth: int) -> str | None:
    if depth > 20:
        return "is nested more than 20 levels deep"
    if isinstance(value, Mapping):
        if len(value) > MAX_ITEMS:
            return f"has more than {MAX_ITEMS} entries"
        for key, item in value.items():
            if not isinstance(key, str):
                return f"has a non-string key {key!r}"
            problem = _json_value(item, depth + 1)
            if problem:
                return f"[{key!r}] {problem}"
        return None
    if isinstance(value, list):
        if len(value) > MAX_ITEMS:
            return f"has more than {MAX_ITEMS} items"
        for i, item in enumerate(value):
            problem = _json_value(item, depth + 1)
            if problem:
                return f"[{i}] {problem}"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"holds {value!r}, which is not valid JSON"
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"holds a string of {len(value)} characters; at most {MAX_TEXT} are allowed"
    if value is None or isinstance(value, (str, int, float, bool)):
        return None
    return f"holds {type(value).__name__}, which is not JSON data"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TASK_FIELDS: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    "id": (True, _safe_id),
    "name": (True, _text(MAX_NAME)),
    "meta_features": (False, _optional(_number_map)),
    "meta_feature_set": (False, _optional(_text(MAX_NAME))),
    "data_fingerprint": (False, _optional(_text(MAX_NAME))),
    "created_at": (True, _finite),
}

_STUDY_FIELDS: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    "id": (True, _safe_id),
    "name": (False, _optional(_text(MAX_NAME))),
    "task_id": (False, _optional(_safe_id)),
    "space": (True, _json_object),
    "objective": (False, _optional(_text(MAX_NAME))),
    "metric": (False, _optional(_text(MAX_NAME))),
    "direction": (True, _one_of(_DIRECTIONS)),
    "settings": (False, _optional(_json_object)),
    "versions": (False, _optional(_json_object)),
    "status": (True, _text(MAX_NAME)),
    "started_at": (True, _finite),
    "ended_at": (False, _optional_finite),
}

_TRIAL_FIELDS: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    "id": (True, _safe_id),
    "number": (True, lambda v: None if isinstance(v, int) and not isinstance(v, bool) and v >= 0
               else f"must be a non-negative integer, but got {_short(v)}"),
    "config": (True, _json_object),
    "state": (True, _one_of(_STATES)),
    "origin": (True, _json_object),
    "value": (False, _optional_finite),
    "metrics": (False, _optional(_number_map)),
    "error": (False, _optional(_text(MAX_TEXT))),
    "started_at": (False, _optional_finite),
    "finished_at": (False, _optional_finite),
    "suggest_seconds": (False, _optional_finite),
    "recorded_at": (False, _optional_finite),
}


def _check_fields(
    record: Any, fields: Mapping[str, tuple[bool, Callable[[Any], str | None]]], where: str
) -> list[str]:
    if not isinstance(record, Mapping):
        return [f"{where}: must be a JSON object, but got {_short(record)} ({type(record).__name__})"]
    problems = []
    for name, (required, check) in fields.items():
        if name not in record:
            if required:
                problems.append(f"{where}.{name}: is missing (required)")
            continue
        problem = check(record[name])
        if problem:
            problems.append(f"{where}.{name}: {problem}")
    return problems


def check_task(record: Any, where: str = "task") -> list[str]:
    return _check_fields(record, _TASK_FIELDS, where)


def check_study(record: Any, where: str = "study") -> list[str]:
    """Field checks, then the space itself must build (bounds, options) from its JSON."""
    problems = _check_fields(record, _STUDY_FIELDS, where)
    if not problems:
        try:
            SearchSpace.from_json(record["space"])
        except (TypeError, ValueError) as error:
            problems.append(f"{where}.space: is not a valid search space ({error})")
    return problems


def check_trial(record: Any, where: str = "trial", space: Any = None) -> list[str]:
    """Field checks; a complete trial needs a value; with ``space``, the config must fit it."""
    problems = _check_fields(record, _TRIAL_FIELDS, where)
    if problems:
        return problems
    if record["state"] == "complete" and record.get("value") is None:
        problems.append(f"{where}.value: a complete trial needs a finite value, but got None")
    origin = record["origin"]
    if not isinstance(origin.get("source"), str):
        problems.append(f"{where}.origin.source: must be a string, but got {_short(origin.get('source'))}")
    if space is not None:
        try:
            space.validate_config(record["config"])
        except (TypeError, ValueError) as error:
            problems.append(f"{where}.config: {error}")
    return problems
