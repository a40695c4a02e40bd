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
    "check_log_line",
    "check_index_study",
    "check_claim_line",
    "is_safe_id",
    "index_settings",
    "LOG_ONLY_SETTINGS",
]

#: The version of the layout this package writes. Bump it with a migration below.
#: 2: trials may be ``"pruned"`` and carry their learning curve (``intermediate_values``)
#: and ``prune_reason``. The index did not change, but a version-1 reader would take a
#: pruned trial's line for damage and move it out of the log: the new version makes it
#: refuse the store ("upgrade") instead, so no trial is lost to an older package.
#: 3: the index is a snapshot (``index.json``) and a journal of its changes (``index.journal``).
#: A version-2 reader would read the snapshot alone, missing the journal's studies, and its
#: rewrite of the snapshot would drop them: the new version makes it refuse the store.
SCHEMA_VERSION = 3


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds to trial lines only (read by both versions' code alike): the index stays as it is."""
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 adds the journal beside the index; the snapshot's documents stay as they are (its
    ``_meta`` names the journal's generation from the first write on)."""
    return data


#: ``MIGRATIONS[v]`` upgrades an index document from version ``v`` to ``v + 1``.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}

#: Ids become file names (``trials/ID.jsonl``): letters, digits, ``-`` and ``_`` only.
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Generous bounds that still stop a hostile or broken file from filling memory.
MAX_TEXT = 100_000
MAX_NAME = 1_000
MAX_ITEMS = 10_000
#: The most points a stored learning curve keeps (a longer one is thinned when written: ``store.curve_for_store``).
MAX_CURVE_POINTS = 100_000
_STATES = ("complete", "failed", "pruned")
_DIRECTIONS = ("minimize", "maximize")


#: Study settings kept in the study log's header but not in the index: the objective's
#: source description is a few kB per study, which the index (read and rewritten whole at
#: every study's start) would carry for every study; its readers read the log anyway.
LOG_ONLY_SETTINGS = ("objective_source",)


def index_settings(settings: Any) -> Any:
    """A study's settings as the index keeps them: without :data:`LOG_ONLY_SETTINGS`."""
    if not isinstance(settings, dict) or not any(key in settings for key in LOG_ONLY_SETTINGS):
        return settings
    return {key: value for key, value in settings.items() if key not in LOG_ONLY_SETTINGS}


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
    if not _is_finite(value):
        return f"must be a finite number, but got {_short(value)}"
    return None


def _is_finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int of hundreds of digits: no float holds it
        return False


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


def _curve(value: Any) -> str | None:
    """A learning curve: a list of ``[step, value]`` pairs, steps integers >= 0 rising, values finite or null."""
    if type(value) is not list:
        return f"must be a list of [step, value] pairs, but got {_short(value)} ({type(value).__name__})"
    if len(value) > MAX_CURVE_POINTS:
        return f"has {len(value)} points; at most {MAX_CURVE_POINTS} are allowed"
    previous = -1
    for i, pair in enumerate(value):
        if type(pair) is not list or len(pair) != 2:
            return f"[{i}] must be a [step, value] pair, but got {_short(pair)}"
        step, number = pair
        if type(step) is not int or step <= previous:
            return f"[{i}] step must be an integer above the one before ({previous}), but got {_short(step)}"
        previous = step
        if number is not None and (type(number) not in (float, int) or not _is_finite(number)):
            return f"[{i}] value must be a finite number or null, but got {_short(number)}"
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
    if isinstance(value, (list, tuple)):  # json.dumps writes a tuple (a choice's tuple option) as an array
        if len(value) > MAX_ITEMS:
            return f"has more than {MAX_ITEMS} items"
        for i, item in enumerate(value):
            problem = _json_value(item, depth + 1)
            if problem:
                return f"[{i}] {problem}"
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not _is_finite(value):
        return f"holds {_short(value)}, which is not a finite JSON number"
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
    "owners": (False, lambda v: _owners(v)),
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
    "intermediate_values": (False, _optional(_curve)),
    "prune_reason": (False, _optional(_text(MAX_TEXT))),
}


def _non_negative_int(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    return f"must be a non-negative integer, but got {_short(value)}"


#: Who holds a study open (see owners.py): one entry per running process.
_OWNER_FIELDS: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    "session": (True, _safe_id),
    "pid": (True, _non_negative_int),
    "host": (True, _text(MAX_NAME)),
    "started_at": (False, _optional_finite),
    "heartbeat_at": (True, _finite),
}


def _owners(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"must be a list of owners, but got {_short(value)} ({type(value).__name__})"
    if len(value) > MAX_ITEMS:
        return f"has {len(value)} entries; at most {MAX_ITEMS} are allowed"
    for i, owner in enumerate(value):
        problems = _check_fields(owner, _OWNER_FIELDS, f"[{i}]")
        if problems:
            return problems[0]
    return None


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
    if _task_ok(record):
        return []
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


# The lines of a study log, checked when read back -------------------------------------
#: What a ``claim`` line of ``trials/ID.claims`` holds (see claims.py).
_CLAIM_FIELDS: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    "number": (True, _non_negative_int),
    "session": (True, _safe_id),
    "pid": (True, _non_negative_int),
    "host": (True, _text(MAX_NAME)),
    "claimed_at": (True, _finite),
}
_END_FIELDS: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    "status": (True, _text(MAX_NAME)),
    "ended_at": (False, _optional_finite),
    "session": (False, _optional(_safe_id)),
}
#: Header lines are checked field by field only: building the space of every header
#: of every log read would cost more than the read, and the index holds the study.
_HEADER_FIELDS = {k: v for k, v in _STUDY_FIELDS.items() if k != "space"}
_HEADER_FIELDS["space"] = (True, lambda v: None if isinstance(v, Mapping) else f"must be a JSON object, but got {_short(v)}")


def _scalar_map(value: Any) -> str | None:
    """A config: names to JSON values (numbers finite), checked without deep recursion for the usual flat case."""
    if type(value) is not dict:
        return f"must be a JSON object, but got {_short(value)} ({type(value).__name__})"
    for key, item in value.items():
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is float or kind is int:
            if not _is_finite(item):
                return f"[{key!r}] must be a finite number, but got {_short(item)}"
            continue
        problem = _json_value(item, depth=1)
        if problem:
            return f"[{key!r}] {problem}"
    return None


_TRIAL_KEY_CHECKS = (("number", _non_negative_int), ("state", _one_of(_STATES)))
_CURVE_FIELD_CHECKS = (("intermediate_values", _curve), ("prune_reason", _text(MAX_TEXT)))


def _trial_line_problem(record: dict[str, Any]) -> str | None:
    """The first problem of a trial line, or None: the checks of :func:`check_trial` that
    readers rely on, written for speed (a warm start reads tens of thousands of lines)."""
    if not is_safe_id(record.get("id")):
        return f"trial.id: must be 1-64 letters, digits, '-' or '_', but got {_short(record.get('id'))}"
    for name, check in _TRIAL_KEY_CHECKS:
        problem = check(record.get(name))
        if problem:
            return f"trial.{name}: {problem}"
    problem = _scalar_map(record.get("config"))
    if problem:
        return f"trial.config: {problem}"
    value = record.get("value")
    if value is None:
        if record["state"] == "complete":
            return "trial.value: a complete trial needs a finite value, but got None"
    elif type(value) is not float or not math.isfinite(value):
        problem = _finite(value)
        if problem:
            return f"trial.value: {problem}"
    origin = record.get("origin")
    if type(origin) is not dict or type(origin.get("source")) is not str:
        return f"trial.origin: must be an object with a text `source`, but got {_short(origin)}"
    details = origin.get("details")
    if details is not None and type(details) is not dict:
        return f"trial.origin.details: must be a JSON object, but got {_short(details)}"
    metrics = record.get("metrics")
    if metrics is not None:
        problem = _number_map(metrics)
        if problem:
            return f"trial.metrics: {problem}"
    error = record.get("error")
    if error is not None and type(error) is not str:
        return f"trial.error: must be a string, but got {_short(error)}"
    for name, check in _CURVE_FIELD_CHECKS:
        item = record.get(name)
        problem = None if item is None else check(item)
        if problem:
            return f"trial.{name}: {problem}"
    for name in ("started_at", "finished_at", "suggest_seconds", "recorded_at"):
        item = record.get(name)
        if item is not None and (type(item) is not float or not math.isfinite(item)):
            problem = _finite(item)
            if problem:
                return f"trial.{name}: {problem}"
    return None


_isfinite = math.isfinite
_LARGEST = 1.7976931348623157e308
_TIMES = ("started_at", "finished_at", "suggest_seconds", "recorded_at")


def _plain_value_ok(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return _isfinite(value)
    if kind is int:
        return -_LARGEST <= value <= _LARGEST  # exact for ints of any size: no float conversion
    return kind is str or kind is bool or value is None


def _trial_line_ok(record: dict[str, Any]) -> bool:
    """The usual case, in one quick pass: a trial line as the store writes it. False is no
    verdict: :func:`_trial_line_problem` then looks for the problem (or finds none)."""
    number, config, origin = record.get("number"), record.get("config"), record.get("origin")
    if type(number) is not int or number < 0 or type(config) is not dict or type(origin) is not dict:
        return False
    identifier, state, value = record.get("id"), record.get("state"), record.get("value")
    if type(identifier) is not str or _SAFE_ID.match(identifier) is None or type(origin.get("source")) is not str:
        return False
    if state == "complete":
        if type(value) is not float or not _isfinite(value):
            return False
    elif state not in ("failed", "pruned") or (value is not None and (type(value) is not float or not _isfinite(value))):
        return False
    curve, reason = record.get("intermediate_values"), record.get("prune_reason")
    if (curve is not None and _curve(curve) is not None) or (reason is not None and type(reason) is not str):
        return False
    details, metrics, error = origin.get("details"), record.get("metrics"), record.get("error")
    if (details is not None and type(details) is not dict) or (error is not None and type(error) is not str):
        return False
    if metrics is not None:
        if type(metrics) is not dict or len(metrics) > MAX_ITEMS:
            return False
        for item in metrics.values():
            if type(item) is not float or not _isfinite(item):
                return False
    for item in config.values():
        if not _plain_value_ok(item):
            return False
    for name in _TIMES:
        item = record.get(name)
        if item is not None and (type(item) is not float or not _isfinite(item)):
            return False
    return True


def check_log_line(record: Any) -> str | None:
    """The first problem of one line of a study log (``trials/ID.jsonl``), or None.

    A trial line must have the types every reader relies on (a ``"value": "abc"`` is a
    problem, not a trial); ``study`` headers and ``end`` lines are checked field by
    field. A line of a type this version does not know is left alone, so that a newer
    version's additions are not mistaken for damage.
    """
    if type(record) is not dict:
        return f"must be a JSON object, but got {_short(record)} ({type(record).__name__})"
    kind = record.get("type")
    if kind == "trial":
        return None if _trial_line_ok(record) else _trial_line_problem(record)
    if kind == "study":
        problems = _check_fields(record, _HEADER_FIELDS, "study")
    elif kind == "end":
        problems = _check_fields(record, _END_FIELDS, "end")
    elif isinstance(kind, str):
        return None
    else:
        return f"type: must be a string naming the kind of line, but got {_short(kind)}"
    return problems[0] if problems else None


def check_claim_line(record: Any) -> str | None:
    """The first problem of one line of a claims file (``trials/ID.claims``), or None."""
    if type(record) is not dict:
        return f"must be a JSON object, but got {_short(record)} ({type(record).__name__})"
    kind = record.get("type")
    if kind == "claim":
        problems = _check_fields(record, _CLAIM_FIELDS, "claim")
        return problems[0] if problems else None
    if kind == "release":
        problem = _safe_id(record.get("session"))
        return None if problem is None else f"release.session: {problem}"
    return None if isinstance(kind, str) else f"type: must be a string, but got {_short(kind)}"


# Index entries, checked when the index is read --------------------------------------
def _is_object(value: Any) -> str | None:
    return None if isinstance(value, Mapping) else f"must be a JSON object, but got {_short(value)} ({type(value).__name__})"


#: The study fields that readers rely on, with shallow checks: an index of thousands of
#: studies is read at every start of a study, so settings and versions are only
#: required to be objects (they are shown, never computed with).
_INDEX_STUDY_FIELDS: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    **_STUDY_FIELDS,
    "space": (True, _is_object),
    "settings": (False, _optional(_is_object)),
    "versions": (False, _optional(_is_object)),
    "signature": (False, _optional(_text(MAX_NAME))),
}
#: Spaces already built once in this process, by their JSON text: most studies share a few.
_GOOD_SPACES: set[str] = set()


_NUMBER_TYPES = {float, int}


def _is_text(value: Any, limit: int = MAX_NAME) -> bool:
    return type(value) is str and len(value) <= limit


def _is_optional_text(value: Any) -> bool:
    return value is None or (type(value) is str and len(value) <= MAX_NAME)


def _is_finite_number(value: Any) -> bool:
    kind = type(value)
    return (kind is float and _isfinite(value)) or (kind is int and -_LARGEST <= value <= _LARGEST)


def _is_optional_id(value: Any) -> bool:
    return value is None or (type(value) is str and _SAFE_ID.match(value) is not None)


def _index_study_fields_ok(record: Any) -> bool:
    """The usual case of :func:`check_index_study`'s field checks, in one quick pass (an index of
    thousands of studies is checked at every fresh read). False is no verdict: the full check runs."""
    if type(record) is not dict:
        return False
    identifier = record.get("id")
    if type(identifier) is not str or _SAFE_ID.match(identifier) is None:
        return False
    if type(record.get("space")) is not dict or record.get("direction") not in _DIRECTIONS:
        return False
    if not _is_text(record.get("status")) or not _is_finite_number(record.get("started_at")):
        return False
    ended = record.get("ended_at")
    if ended is not None and not _is_finite_number(ended):
        return False
    if not _is_optional_id(record.get("task_id")):
        return False
    for name in ("name", "objective", "metric", "signature"):
        if not _is_optional_text(record.get(name)):
            return False
    for name in ("settings", "versions"):
        value = record.get(name)
        if value is not None and type(value) is not dict:
            return False
    if "owners" not in record:
        return True
    owners = record["owners"]
    return type(owners) is list and not _owners(owners)


def _task_ok(record: Any) -> bool:
    """The usual case of :func:`check_task`, in one quick pass; False is no verdict (run the full check)."""
    if type(record) is not dict:
        return False
    identifier = record.get("id")
    if type(identifier) is not str or _SAFE_ID.match(identifier) is None:
        return False
    if not _is_text(record.get("name")) or not _is_finite_number(record.get("created_at")):
        return False
    if not _is_optional_text(record.get("meta_feature_set")) or not _is_optional_text(record.get("data_fingerprint")):
        return False
    features = record.get("meta_features")
    if features is None:
        return True
    if type(features) is not dict or len(features) > MAX_ITEMS:
        return False
    values = features.values()
    if not set(map(type, values)) <= _NUMBER_TYPES:  # in C: a task has tens of meta-features
        return False
    try:
        return _isfinite(sum(values))  # finite exactly when every value is (an overflow only sends it to the full check)
    except OverflowError:
        return False


def check_index_study(record: Any, where: str = "study") -> list[str]:
    """The problems of a study entry of the index: its fields, and a space that builds."""
    if not _index_study_fields_ok(record):
        problems = _check_fields(record, _INDEX_STUDY_FIELDS, where)
        if problems:
            return problems
    # repr is an exact key for JSON data (and cheaper than json.dumps): the memo only skips rebuilding
    # a space whose very structure has built before.
    key = repr(record["space"])
    if key not in _GOOD_SPACES:
        try:
            SearchSpace.from_json(record["space"])
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            return [f"{where}.space: is not a valid search space ({error!r})"]
        if len(_GOOD_SPACES) < MAX_ITEMS:
            _GOOD_SPACES.add(key)
    return []
