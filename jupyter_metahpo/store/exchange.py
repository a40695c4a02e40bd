"""Export studies to a JSON file and import them back, validated and all-or-nothing.

An export file is data only::

    {"format": "jupyter-metahpo-export", "schema_version": 1, "exported_at": ...,
     "tasks": [task, ...], "studies": [{...study, "trials": [trial, ...]}, ...]}

Importing checks every record against the schema first and reports every problem
with its location; only a file with no problem is written. Studies and trials already
in the store are recognised by id and skipped, so importing a file twice adds nothing.
The write itself prepares every new file (logs and index) as a temporary first, then
renames them into place, so a full disk fails before anything visible changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..space import SearchSpace
from .errors import ImportValidationError, StoreError, StoreVersionError, describe_os_error
from .schema import SCHEMA_VERSION, check_study, check_task, check_trial, check_version, index_settings
from .storage import commit_atomic, dumps, prepare_atomic, read_log, sync_files, sync_folder, write_errors_as

__all__ = ["EXPORT_FORMAT", "ImportReport", "export_payload", "import_file", "import_payload"]

EXPORT_FORMAT = "jupyter-metahpo-export"
#: An import file larger than this is refused before parsing (a colleague's history is MBs, not GBs).
MAX_IMPORT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ImportReport:
    """What an import added, and what it skipped as already present."""

    source: str
    tasks_added: int
    studies_added: int
    studies_merged: int
    trials_added: int
    trials_skipped: int
    study_ids: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"imported from {self.source}: {self.studies_added} new studies, {self.studies_merged} merged, "
            f"{self.trials_added} trials added, {self.trials_skipped} already present, {self.tasks_added} new tasks"
        )


def export_payload(store: Any, study_ids: Sequence[str] | None) -> dict[str, Any]:
    index = store._read_index()
    wanted = None if study_ids is None else set(study_ids)
    studies, task_ids = [], set()
    for doc in index["studies"].values():
        if wanted is not None and doc["id"] not in wanted:
            continue
        trials = [r.to_dict() for r in store._read_trials(doc["id"])]
        # Settings the index leaves out (schema.index_settings) come from the log's header.
        settings = dict(doc.get("settings") or {})
        source = store._recorded_source(doc)
        if source is not None:
            settings["objective_source"] = source
        studies.append({**doc, "settings": settings, "trials": trials})
        if doc.get("task_id"):
            task_ids.add(doc["task_id"])
    tasks = [t for t in index["tasks"].values() if t["id"] in task_ids]
    return {
        "format": EXPORT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": time.time(),
        "exported_by": f"jupyter-metahpo {__version__}",
        "tasks": tasks,
        "studies": studies,
    }


def import_file(store: Any, path: Path) -> ImportReport:
    source = str(path)
    payload = parse_export(read_import_file(path), source)
    return import_payload(store, payload, source)


def read_import_file(path: Path) -> bytes:
    """The bytes of an import file; a missing, unreadable or oversized file is a one-line error."""
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise ImportValidationError(str(path), [f"file: is {size} bytes; at most {MAX_IMPORT_BYTES} are accepted"])
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no file to import at {path}.") from None
    except IsADirectoryError:
        raise StoreError(f"cannot import {path}: it is a folder; give the export file (.json) or table (.csv) in it.") from None
    except NotADirectoryError:
        raise StoreError(f"cannot import {path}: a part of the path before the file name is a file, not a folder.") from None
    except OSError as error:
        raise StoreError(f"cannot read the file to import, {path}: {describe_os_error(error)}.") from None


def parse_export(raw: bytes, source: str) -> Any:
    """An export file's JSON as data: NaN, Infinity, integers beyond a float and deep nesting refused."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportValidationError(source, [f"file: is not UTF-8 text ({error})"]) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int)
    except _IntegerOutOfRange as error:
        raise ImportValidationError(source, [f"file: {error.where(text)}"]) from None
    except RecursionError:
        # json's decoder recurses once per bracket; an export is a handful of levels deep.
        raise ImportValidationError(
            source, ["file: is nested too deeply (about a thousand brackets inside each other; an export has a few)"]
        ) from None
    except ValueError as error:
        raise ImportValidationError(source, [f"file: is not valid JSON (truncated or damaged?): {error}"]) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


#: Digits above which an integer may not fit a float (1.8e308 has 309); checked exactly below.
_LONG_INTEGER = 300


class _IntegerOutOfRange(Exception):
    """An integer in an import file that no float can hold (values, bounds and times are floats)."""

    def __init__(self, digits: str) -> None:
        super().__init__(digits)
        self.digits = digits

    def where(self, text: str) -> str:
        offset = text.find(self.digits)
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return (
            f"line {line} column {column}: holds an integer of {len(self.digits.lstrip('-'))} digits "
            f"({self.digits[:12]}...), beyond the largest number the store keeps (about 1.8e308)"
        )


def _bounded_int(digits: str) -> int:
    if len(digits) < _LONG_INTEGER:
        return int(digits)
    try:
        value = int(digits)  # ValueError past Python's 4300-digit limit
        float(value)  # OverflowError past the largest float
    except (ValueError, OverflowError):
        raise _IntegerOutOfRange(digits) from None
    return value


def _lone_surrogates(payload: Any, limit: int = 25) -> list[str]:
    """Where the payload holds a lone surrogate: text that cannot be written as UTF-8.

    JSON's ``\\udc80`` escapes and file names whose bytes are not UTF-8 (a CSV's name
    becomes its study's name) both produce one. Walked without recursion: a parsed file
    may be nested as deep as the parser allowed.
    """
    problems: list[str] = []
    stack: list[tuple[str, Any]] = [("file", payload)]
    while stack and len(problems) < limit:
        where, value = stack.pop()
        if isinstance(value, str):
            bad = _first_surrogate(value)
            if bad is not None:
                problems.append(
                    f"{where}: holds a lone surrogate {bad!r}, which is not text (a file name whose bytes "
                    "are not UTF-8?); give this value as UTF-8 text"
                )
        elif isinstance(value, Mapping):
            for key, item in reversed(list(value.items())):
                label = f"{where}[{key!r}]" if _first_surrogate(key) is not None else f"{where}.{key}"
                stack.append((label, item))
                stack.append((f"{label} (a key)", key))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return [p[len("file."):] if p.startswith("file.") else p for p in problems]


def _first_surrogate(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return text[error.start]
    return None


def validate_payload(payload: Any) -> list[str]:
    """Every problem of an export document, each with its location."""
    if not isinstance(payload, Mapping):
        return [f"file: must be a JSON object, but got {type(payload).__name__}"]
    problems: list[str] = []
    if payload.get("format") != EXPORT_FORMAT:
        problems.append(f"format: must be {EXPORT_FORMAT!r}, but got {payload.get('format')!r}")
    try:
        check_version(payload.get("schema_version"), "the file")
    except StoreVersionError as error:
        problems.append(f"schema_version: {error}")
    tasks, studies = payload.get("tasks", []), payload.get("studies")
    if not isinstance(tasks, list):
        problems.append(f"tasks: must be a list, but got {type(tasks).__name__}")
        tasks = []
    if not isinstance(studies, list):
        problems.append(f"studies: must be a list, but got {type(studies).__name__}")
        studies = []
    task_ids = set()
    for i, task in enumerate(tasks):
        found = check_task(task, f"tasks[{i}]")
        problems += found
        if not found:
            if task["id"] in task_ids:
                problems.append(f"tasks[{i}].id: {task['id']!r} appears twice in the file")
            task_ids.add(task["id"])
    study_ids: set[str] = set()
    for i, study in enumerate(studies):
        problems += _validate_study(study, i, study_ids, task_ids)
    return problems


def _validate_study(study: Any, i: int, study_ids: set[str], task_ids: set[str]) -> list[str]:
    where = f"studies[{i}]"
    problems = check_study(study, where)
    if problems:
        return problems
    if study["id"] in study_ids:
        problems.append(f"{where}.id: {study['id']!r} appears twice in the file")
    study_ids.add(study["id"])
    if study.get("task_id") is not None and study["task_id"] not in task_ids:
        problems.append(f"{where}.task_id: {study['task_id']!r} is not one of the file's tasks")
    trials = study.get("trials", [])
    if not isinstance(trials, list):
        return problems + [f"{where}.trials: must be a list, but got {type(trials).__name__}"]
    space = SearchSpace.from_json(study["space"])
    trial_ids: set[str] = set()
    for j, trial in enumerate(trials):
        found = check_trial(trial, f"{where}.trials[{j}]", space)
        problems += found
        if not found:
            if trial["id"] in trial_ids:
                problems.append(f"{where}.trials[{j}].id: {trial['id']!r} appears twice in the study")
            trial_ids.add(trial["id"])
    return problems


_STUDY_KEYS = (
    "id", "name", "task_id", "space", "objective", "metric", "direction",
    "settings", "versions", "status", "started_at", "ended_at",
)
_TRIAL_KEYS = (
    "id", "number", "config", "state", "origin", "value", "metrics", "error",
    "started_at", "finished_at", "suggest_seconds", "recorded_at",
)
#: Written only when present, as the store writes them: a trial without a curve stays as before.
_OPTIONAL_TRIAL_KEYS = ("intermediate_values", "prune_reason")


def _trial_line(trial: Mapping[str, Any]) -> dict[str, Any]:
    """An imported trial as a line of the study's log (checked before: ``check_trial``)."""
    optional = {k: trial[k] for k in _OPTIONAL_TRIAL_KEYS if trial.get(k) is not None}
    return {"type": "trial", **{k: trial.get(k) for k in _TRIAL_KEYS}, **optional}


def _conflicts_with_store(store: Any, payload: Mapping[str, Any]) -> list[str]:
    """A study id already in the store must name the same study: same space and direction."""
    known = {d["id"]: d for d in store._read_index()["studies"].values()}
    problems = []
    for i, study in enumerate(payload["studies"]):
        mine = known.get(study["id"])
        if mine is None:
            continue
        if SearchSpace.from_json(mine["space"]) != SearchSpace.from_json(study["space"]) or mine["direction"] != study["direction"]:
            problems.append(
                f"studies[{i}].id: the store already has a study {study['id']!r} with another space or direction; "
                "its trials cannot be merged"
            )
    return problems


def import_payload(store: Any, payload: Any, source: str) -> ImportReport:
    """Validate ``payload`` fully, then write it in one step (or raise and write nothing)."""
    problems = validate_payload(payload)
    if not problems:
        problems = _conflicts_with_store(store, payload)
    if problems:
        raise ImportValidationError(source, problems)
    try:
        return _write_payload(store, payload, source)
    except UnicodeEncodeError:
        # Text that UTF-8 cannot hold (a lone surrogate) fails only when a file is
        # encoded, before anything is renamed into place; only then is the payload
        # walked, to say where (walking every import would cost a pass over its data).
        raise ImportValidationError(source, _lone_surrogates(payload) or ["file: holds text that is not valid Unicode"]) from None


def _write_payload(store: Any, payload: Mapping[str, Any], source: str) -> ImportReport:
    """Write a validated payload: every new file prepared as a temporary, then all renamed."""
    tasks_added = studies_added = studies_merged = trials_added = trials_skipped = 0
    prepared: list[tuple[Path, Path]] = []  # (temporary, final) logs to rename into place
    touched: list[str] = []
    with store._locked():
        try:
            db = store._memory_index()
            tables = db.storage.read()
            # Ids looked up in dicts built once: a TinyDB query per record scans the whole table.
            known_tasks = {doc["id"] for doc in tables["tasks"].values()}
            known_studies = {doc["id"] for doc in tables["studies"].values()}
            file_tasks = {t["id"]: dict(t) for t in payload.get("tasks", [])}
            new_tasks, new_studies = [], []
            for task in payload.get("tasks", []):
                if task["id"] not in known_tasks:
                    known_tasks.add(task["id"])
                    new_tasks.append(dict(task))
            for study in payload["studies"]:
                doc = {k: study.get(k) for k in _STUDY_KEYS}
                doc["signature"] = SearchSpace.from_json(doc["space"]).signature  # never trusted from the file
                doc["settings"] = doc["settings"] or {}
                doc["versions"] = doc["versions"] or {}
                lines = [_trial_line(t) for t in study.get("trials", [])]
                log = store.log_path(doc["id"])
                if doc["id"] not in known_studies:
                    header = {"type": "study", "schema_version": SCHEMA_VERSION, **doc, "task": file_tasks.get(doc["task_id"])}
                    content = _lines_bytes([header, *lines])
                    known_studies.add(doc["id"])
                    new_studies.append(dict(doc, settings=index_settings(doc["settings"])))  # the header keeps them all
                    studies_added += 1
                else:
                    old_raw = log.read_bytes() if log.exists() else b""
                    records, end = read_log(log) if log.exists() else ([], 0)
                    known = {r.get("id") for _, r in records if isinstance(r, Mapping) and r.get("type") == "trial"}
                    new = [line for line in lines if line["id"] not in known]
                    trials_skipped += len(lines) - len(new)
                    if not new:
                        continue
                    content = old_raw[:end] + _lines_bytes(new)
                    studies_merged += 1
                    lines = new
                with write_errors_as(f"the trials of study {doc['id']}", log):
                    # Not synced one by one: sync_files below syncs them together.
                    prepared.append((prepare_atomic(log, content, durable=False), log))
                trials_added += len(lines)
                touched.append(doc["id"])
            db.table("tasks").insert_multiple(new_tasks)  # one table rewrite each, not one per document
            db.table("studies").insert_multiple(new_studies)
            tasks_added = len(new_tasks)
            # Every byte is on disk before anything is renamed: a full disk fails here,
            # with the store untouched. Logs go first so the index never names a missing log.
            index_data = db.storage.read()
            index_temp = store._prepare_index(index_data)
            logs = [temp for temp, _ in prepared]
            prepared.append((index_temp, store.index_path))
            if store.durable:
                with write_errors_as("the imported trials", store._layout.trials_dir):
                    sync_files(logs)
            for temp, final in prepared[:-1]:
                with write_errors_as("an imported file", final):
                    commit_atomic(temp, final, durable=False)
            if store.durable and logs:
                sync_folder(store._layout.trials_dir)
            store._commit_index(index_temp, index_data)
        except BaseException:
            for temp, _ in prepared:
                temp.unlink(missing_ok=True)
            raise
    return ImportReport(source, tasks_added, studies_added, studies_merged, trials_added, trials_skipped, tuple(touched))


def _lines_bytes(records: list[dict[str, Any]]) -> bytes:
    return "".join(dumps(r) + "\n" for r in records).encode("utf-8")
