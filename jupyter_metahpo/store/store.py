"""``ExperienceStore``: every study and trial a user ran, kept durably on disk.

Layout (see ARCHITECTURE.md): a TinyDB index (``index.json``: schema version, tasks,
studies) with an append-only journal of its changes (``index.journal``, journal.py),
both written under a file lock, and one append-only JSON-lines log per study
(``trials/ID.jsonl``). Appending a trial touches only that study's log, and a study's
start or end appends one journal line, so neither cost grows with the store; the index
is rewritten whole (atomically) only when the journal has grown past a share of it.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._imports import LazyImport
from ..experience import PastStudy
from ..space import SearchSpace, as_search_space
from ..trial import Direction, FrozenTrial
from . import importers, schema
from .claims import ClaimLedger
from .errors import ImportValidationError, StoreError, StoreWriteError, StudyMismatchError, UnknownStudyError
from .exchange import ImportReport, export_payload, import_file
from .identity import new_id, package_versions, task_id_for
from .index_file import IndexText, encode_index, read_line_texts
from .journal import (
    apply_changes,
    change_documents,
    damaged_journal_lines,
    index_changes,
    journal_header,
    read_journal_lines,
    snapshot_digest,
)
from .owners import is_alive, new_owner
from .paths import StoreLayout, resolve_store_path
from .records import StudyRecord, StudySummary, TaskInfo, TaskRecord, TrialRecord, as_task_info
from .schema import (
    MAX_TEXT,
    SCHEMA_VERSION,
    check_index_study,
    check_study,
    check_task,
    check_trial,
    check_version,
    index_settings,
    migrate_index,
)
from .storage import (
    BadLine,
    append_bytes,
    append_record,
    atomic_write,
    commit_atomic,
    corrupt_file,
    create_log,
    dumps,
    gc_paused,
    parse_json_bytes,
    prepare_atomic,
    prepare_atomic_stream,
    quarantine_lines,
    read_log,
    remove_stale_temps,
    scan_log,
    sync_files,
    sync_folder,
    write_errors_as,
)
from .summaries import FACTS_WORK, SAVE_AFTER_BYTES, SummaryCache, study_facts

filelock = LazyImport("filelock")
tinydb = LazyImport("tinydb")
tinydb_storages = LazyImport("tinydb.storages", install="pip install tinydb")

__all__ = ["ExperienceStore", "StudySession"]

#: Seconds a writer waits for another process's lock before giving up with an error.
LOCK_TIMEOUT = 60.0
#: Seconds the clean-up at open waits for the lock before leaving the clean-up to a later open.
RECOVERY_LOCK_TIMEOUT = 2.0
#: A temporary file of ours older than this is left over from a killed write, and is removed
#: at the next open. Any write finishes well within it (the largest, an import, in seconds).
STALE_TEMP_AFTER = 3600.0
_TABLES = ("_meta", "tasks", "studies")
#: The index's journal is folded into a new snapshot once it holds this share of the snapshot's
#: bytes (and at least COMPACT_MIN_BYTES); at a study's start only past COMPACT_AT_START times that.
COMPACT_SHARE = 1 / 8
COMPACT_MIN_BYTES = 256 * 1024
COMPACT_AT_START = 4
#: Reads of the snapshot and its journal before giving up on a store rewritten continuously.
_READ_ATTEMPTS = 5
#: The files of the store folder and of trials/ that the store writes through temporary files.
_ROOT_TEMP_TARGETS = ("index.json", "index.journal", "summaries.json")
_TRIALS_TEMP_TARGET = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(jsonl|claims|model\.json)$")
#: Problems listed by a streamed import before the rest are only counted (a million bad rows must not fill memory).
MAX_LISTED_PROBLEMS = 1000
#: Trial lines written to disk at a time by a streamed import.
_LINES_PER_WRITE = 256


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Settings as JSON data: plain values kept, anything else by its ``repr``."""
    if depth > 10:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def thinned_curve(curve: list[list[Any]], limit: int) -> list[list[Any]]:
    """At most ``limit`` points of a stored curve, evenly spread, its first and last kept: a
    trial that reported every iteration of a long run is still stored (and read back)."""
    keep = {round(i * (len(curve) - 1) / (limit - 1)) for i in range(limit)}
    return [pair for i, pair in enumerate(curve) if i in keep]


def _trial_line(study_id: str, trial: FrozenTrial) -> dict[str, Any]:
    if not trial.state.is_finished:
        raise ValueError(f"only finished trials are stored, but trial {trial.number + 1} is still {trial.state.value}.")
    data = trial.to_dict()
    data["metrics"] = {k: v for k, v in data["metrics"].items() if isinstance(v, (int, float)) and math.isfinite(v)}
    if data["error"] is not None and len(data["error"]) > MAX_TEXT:
        data["error"] = "...(cut)\n" + data["error"][-(MAX_TEXT - 10):]  # the end of a traceback says most
    data["origin"]["details"] = _jsonable(data["origin"]["details"])
    if len(data.get("intermediate_values", ())) > schema.MAX_CURVE_POINTS:
        data["intermediate_values"] = thinned_curve(data["intermediate_values"], schema.MAX_CURVE_POINTS)
    if data.get("prune_reason") and len(data["prune_reason"]) > MAX_TEXT:
        data["prune_reason"] = data["prune_reason"][: MAX_TEXT - 10] + "...(cut)"
    data["type"] = "trial"
    data["id"] = new_id()
    data["recorded_at"] = time.time()
    return data


#: Signatures of spaces computed in this process, by their JSON text (only studies stored
#: by old versions lack the field; most of them share a few spaces).
_SIGNATURES: dict[str, str] = {}


def _signature_of(doc: Mapping[str, Any]) -> str:
    """A study entry's space signature: its field, or computed from its space when missing."""
    signature = doc.get("signature")
    if signature:
        return signature
    key = json.dumps(doc["space"], sort_keys=True)
    if key not in _SIGNATURES:
        _SIGNATURES[key] = SearchSpace.from_json(doc["space"]).signature
    return _SIGNATURES[key]


def _invalid_entries(data: Mapping[str, Any], only: Iterable[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """The index entries that fail validation, each as ``{"table", "key", "problems", "entry"}``.

    ``only``: check just these ``(table, key)`` documents (those a journal replay put).
    """
    checks = {"tasks": check_task, "studies": check_index_study}
    if only is None:
        only = [(table, key) for table in checks for key in data[table]]
    bad = []
    for table, key in only:
        doc = data[table].get(key)
        if doc is None:
            continue
        problems = checks[table](doc, f"{table}[{key!r}]")
        if problems:
            bad.append({"table": table, "key": key, "problems": problems, "entry": doc})
    return bad


def _copy_tables(data: Mapping[str, Any]) -> dict[str, Any]:
    """The index's tables with each document copied at its top level (see ``_memory_index``)."""
    return {table: {key: dict(doc) for key, doc in docs.items()} for table, docs in data.items()}


def _study_from_log_line(record: Mapping[str, Any]) -> dict[str, Any]:
    """A header line as an index entry (its settings as the index keeps them)."""
    study = {k: v for k, v in record.items() if k not in ("type", "task", "schema_version")}
    if "settings" in study:
        study["settings"] = index_settings(study["settings"])
    return study


def _study_from_log(log: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """A study's index entry rebuilt from the headers and end lines of its log, and the tasks they name."""
    records, _ = read_log(log)
    tasks: dict[str, dict[str, Any]] = {}
    study: dict[str, Any] | None = None
    for _, record in records:
        if not isinstance(record, Mapping):
            continue
        if record.get("type") == "study":
            # A later header is a resumption: its fields win, but the first header's settings are the study's.
            line = _study_from_log_line(record)
            study = line if study is None else {**study, **line, "settings": study.get("settings", line.get("settings"))}
            if isinstance(record.get("task"), Mapping):
                tasks[record["task"]["id"]] = dict(record["task"])
        elif record.get("type") == "end" and study is not None:
            study["status"], study["ended_at"] = record.get("status"), record.get("ended_at")
    return study, tasks


def _next_key(table: Mapping[str, Any]) -> int:
    """The next TinyDB document id of a table (one past the largest)."""
    return max((int(key) for key in table if key.isdigit()), default=0) + 1


#: A file's identity: inode, size and modification time (ns). A rewrite replaces the inode; an append changes the size.
_FileKey = tuple[int, int, int]


def _file_key(path: Path) -> _FileKey | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


@dataclass
class _Snapshot:
    """The snapshot (``index.json``) as parsed: its identity, tables, text (for its lines, found when
    compacting), its documents' lines once found, the journal generation it names, the digest of its
    bytes, and whether an entry is invalid."""

    key: _FileKey | None
    data: dict[str, Any]
    text: str | None
    texts: IndexText | None
    generation: str | None
    digest: str | None
    invalid: bool | None  #: None until checked (see ExperienceStore._snapshot_invalid)


@dataclass(frozen=True)
class _Journal:
    """The journal as read: the generation and snapshot digest its header names, its changes, its identity, the offset
    after its last complete line, its damaged lines, and whether its header is missing or repeated."""

    generation: str | None
    digest: str | None
    changes: list[dict[str, Any]]
    key: _FileKey | None
    end: int
    bad: list[BadLine]
    bad_header: bool


@dataclass(frozen=True)
class _LoadedIndex:
    """The index read from its files: the snapshot, the tables with the journal replayed, the journal's
    identity and end (as replayed), and whether anything needs repair (:meth:`ExperienceStore._repair_index`)."""

    snapshot: _Snapshot
    data: dict[str, Any]
    journal_key: _FileKey | None
    journal_end: int
    damaged: bool


@dataclass(frozen=True)
class PreparedImport:
    """A study checked and written to a temporary log, waiting for the commit that makes it visible."""

    study: dict[str, Any]
    task: dict[str, Any] | None
    temp: Path
    log: Path
    source: str
    n_trials: int


class StudySession:
    """A study opened in the store: its id, the trials to resume, and the recorder.

    Give it to :class:`~jupyter_metahpo.study.Study` as ``recorder=session`` and
    ``trials=session.trials``: the study then writes each finished trial before the
    next one starts, and marks how the run ended.
    """

    def __init__(
        self,
        store: ExperienceStore,
        study: StudyRecord,
        trials: tuple[FrozenTrial, ...],
        resumed: bool,
        owner: Mapping[str, Any] | None = None,
    ):
        self.store = store
        self.study = study
        self.trials = trials
        self.resumed = resumed
        #: This process's owner entry in the study (pid, host, session id; see owners.py).
        self.owner = dict(owner) if owner is not None else new_owner(new_id())
        self._ledger: ClaimLedger | None = None
        self._failed_write: StoreWriteError | None = None

    @property
    def study_id(self) -> str:
        return self.study.id

    @property
    def recorder(self) -> StudySession:
        return self

    def claim_trial(self, n_trials: int | None = None) -> int | None:
        """Claim the number of the next trial among every process recording into this study.

        Returns ``None`` when ``n_trials`` trials are already in the study or under way in
        other processes (see claims.py): the caller's share of the budget is spent.
        """
        if self._ledger is None:
            self._ledger = self.store._claim_ledger(self.study_id)
        try:
            return self.store._claim_trial(self.study_id, self._ledger, self.owner, n_trials)
        except StoreWriteError as error:
            self._failed_write = error  # so that finish() does not hide it (see there)
            raise

    def record_trial(self, trial: FrozenTrial) -> None:
        try:
            self.store.append_trial(self.study_id, trial)
        except StoreWriteError as error:
            self._failed_write = error  # so that finish() does not hide it (see there)
            raise

    def finish(self, status: str) -> None:
        """Mark how this run ended. When a trial's write (or claim) failed first (a full disk), a
        failure here only warns: the error the user sees is that trial's, not the index's after it."""
        try:
            self.store.finish_study(self.study_id, status, session=self.owner["session"])
        except StoreWriteError as error:
            if self._failed_write is None:
                raise
            warnings.warn(
                f"the end of the study {self.study_id} could not be recorded either ({error}); it stays "
                "'running' in the store until the next open after this process ends marks it 'interrupted'.",
                RuntimeWarning,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        return f"StudySession(study_id={self.study_id!r}, name={self.study.name!r}, resumed={self.resumed}, trials={len(self.trials)})"


class ExperienceStore:
    """The experience store in folder ``path`` (default: the per-user store).

    Parameters
    ----------
    path:
        The store's folder; ``None`` uses ``$JUPYTER_METAHPO_HOME`` or
        ``platformdirs.user_data_dir("jupyter-metahpo")``. Created on first write.
    durable:
        fsync every write (default). ``False`` trades crash safety of the last writes
        for speed (bulk imports into a scratch store).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, durable: bool = True) -> None:
        self.path = resolve_store_path(path)
        self.durable = durable
        self._layout = StoreLayout(self.path)
        self._lock_object: Any = None
        self._summaries = SummaryCache(self._layout.summaries)
        # The last index read (snapshot and journal replayed), reused while the files are unchanged
        # (read-only: callers copy); its files' identities; the journal's bytes replayed into it.
        self._index_key: tuple[_FileKey | None, _FileKey | None] | None = None
        self._index_memo: dict[str, Any] = {}
        self._journal_end = 0
        # The snapshot last read or written, and the generation of the journal that belongs to it.
        self._snapshot: _Snapshot | None = None
        self._journal_generation: str | None = None
        self._prepared: tuple[IndexText, str, str] | None = None  # an index prepared for a multi-file commit
        self._recovered = False  # the clean-up after crashes runs once per object (_recover_once)

    def __repr__(self) -> str:
        return f"ExperienceStore({str(self.path)!r})"

    @property
    def index_path(self) -> Path:
        return self._layout.index

    def log_path(self, study_id: str) -> Path:
        """The study's log, ``trials/<study_id>.jsonl`` (the id is checked: it must not name another path)."""
        return self._layout.trial_log(study_id)

    # Locking and the index ------------------------------------------------------------
    @contextmanager
    def _locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        with write_errors_as("the store folder", self.path):
            self._layout.trials_dir.mkdir(parents=True, exist_ok=True)
        if self._lock_object is None:
            self._lock_object = filelock.FileLock(str(self._layout.lock), timeout=LOCK_TIMEOUT)
        try:
            with write_errors_as("the store lock", self._layout.lock):
                self._lock_object.acquire(timeout=timeout)
        except filelock.Timeout:
            raise StoreError(
                f"another process has held the lock of the experience store {self.path} ({self._layout.lock}) "
                f"for {timeout:.0f} s. A dead process releases it by itself, so a live one is stuck "
                "writing: stop that notebook kernel or `metahpo` command, then run again."
            ) from None
        try:
            yield
        finally:
            self._lock_object.release()

    # The index: a snapshot (index.json) and its journal (index.journal; journal.py) -------------
    def _read_index(self) -> dict[str, Any]:
        """The index as TinyDB's JSON document (tables of ``doc_id -> document``), every entry valid.

        The snapshot with the journal's changes replayed. Parsed once per process while
        the files are unchanged; when only the journal grew (another process started or
        ended a study), only its new lines are read and replayed.
        """
        self._recover_once()
        key = self._index_keys()
        if key[0] is not None and key == self._index_key:
            return self._index_memo  # unchanged since the last read (rewrites replace the inode)
        grown = self._replay_grown_journal(key)
        if grown is not None:
            return grown
        loaded = self._load_index()
        if loaded is None:
            if self._layout.trials_dir.is_dir() and any(self._layout.trials_dir.glob("*.jsonl")):
                return self._rebuild_index()
            return {table: {} for table in _TABLES}
        if loaded.damaged:
            return self._repair_index(loaded)
        self._remember_loaded(loaded)
        return loaded.data

    def _index_keys(self) -> tuple[_FileKey | None, _FileKey | None]:
        """The identity of the snapshot and of the journal (inode, size, mtime), ``None`` for a missing file."""
        return _file_key(self._layout.index), _file_key(self._layout.index_journal)

    def _index_file_key(self) -> _FileKey | None:
        return _file_key(self._layout.index)

    def _remember_loaded(self, loaded: _LoadedIndex) -> None:
        self._snapshot = loaded.snapshot
        self._index_key, self._index_memo = (loaded.snapshot.key, loaded.journal_key), loaded.data
        self._journal_end = loaded.journal_end

    def _replay_grown_journal(self, key: tuple[_FileKey | None, _FileKey | None]) -> dict[str, Any] | None:
        """The memo with the journal's new lines replayed, when only the journal grew since the last
        read; ``None`` when the snapshot changed (or anything else did): then the files are read anew."""
        old = self._index_key
        if old is None or key[0] is None or key[0] != old[0] or key[1] is None or old[1] is None:
            return None
        if key[1][0] != old[1][0] or key[1][1] < self._journal_end or self._snapshot is None or not self._journal_live():
            return None  # another journal (a compaction), or one cut shorter: read everything again
        try:
            changes, end, bad, journal_key = read_journal_lines(self._layout.index_journal, self._journal_end)
        except FileNotFoundError:
            return None
        if bad or journal_key is None or journal_key[0] != key[1][0] or any(c.get("type") != "change" for c in changes):
            return None  # damage or a second header: the full read handles (and repairs) it
        data = {table: dict(docs) for table, docs in self._index_memo.items()}
        apply_changes(data, changes)
        if _invalid_entries(data, change_documents(changes)):
            return None
        self._index_key, self._index_memo, self._journal_end = (key[0], journal_key), data, end
        return data

    def _journal_live(self) -> bool:
        """Whether the journal last read belongs to the snapshot last read (changes may be appended to it)."""
        return self._snapshot is not None and self._snapshot.generation is not None and (
            self._journal_generation == self._snapshot.generation
        )

    def _load_index(self) -> _LoadedIndex | None:
        """The snapshot and the journal that belongs to it, replayed; ``None`` when there is no snapshot.

        Readers take no lock: a compaction in another process may replace both files
        while they are read. A journal that names another generation than the snapshot
        just read is either stale (the snapshot already holds it: a compaction, or a
        crash in the middle of one) or newer (the snapshot was replaced after it was
        read): the snapshot's identity tells which, and a replaced one is read again.
        """
        for _ in range(_READ_ATTEMPTS):
            snapshot = self._load_snapshot()
            if snapshot is None:
                return None
            journal = self._read_journal()
            if journal is not None and journal.generation == snapshot.generation and snapshot.generation is not None:
                self._journal_generation = journal.generation
                data = {table: dict(docs) for table, docs in snapshot.data.items()} if journal.changes else snapshot.data
                apply_changes(data, journal.changes)
                invalid = self._snapshot_invalid(snapshot, journal.digest) or bool(
                    _invalid_entries(data, change_documents(journal.changes))
                )
                return _LoadedIndex(snapshot, data, journal.key, journal.end, invalid or bool(journal.bad) or journal.bad_header)
            if self._index_file_key() == snapshot.key:
                # The journal is stale (or missing, or unreadable as a journal): the snapshot alone is the index.
                self._journal_generation = None
                damaged = self._snapshot_invalid(snapshot, None) or (journal is not None and journal.bad_header)
                return _LoadedIndex(snapshot, snapshot.data, None if journal is None else journal.key, 0, damaged)
        raise StoreError(
            f"the experience store index {self._layout.index} kept changing while it was read "
            f"({_READ_ATTEMPTS} attempts); another process is rewriting it continuously. Try again."
        )

    @staticmethod
    def _snapshot_invalid(snapshot: _Snapshot, digest: str | None) -> bool:
        """Whether the snapshot holds an invalid entry. Unless its bytes are those the store wrote (the
        digest its journal's header keeps), every entry is checked, once per snapshot read."""
        if snapshot.invalid is None:
            trusted = digest is not None and digest == snapshot.digest
            snapshot.invalid = False if trusted else bool(_invalid_entries(snapshot.data))
        return snapshot.invalid

    def _load_snapshot(self) -> _Snapshot | None:
        """The snapshot file parsed, its version checked and migrated (memoised by the file's identity)."""
        key = self._index_file_key()
        if key is None:
            return None
        if self._snapshot is not None and self._snapshot.key == key:
            return self._snapshot
        try:
            raw = self._layout.index.read_bytes()
        except FileNotFoundError:
            return None
        with gc_paused():
            data, text = parse_json_bytes(raw, self._layout.index, "store index")
        if not isinstance(data, dict) or not all(isinstance(data.get(t, {}), dict) for t in _TABLES):
            raise corrupt_file(self._layout.index, "it is not a TinyDB document of tables _meta, tasks, studies")
        meta = next(iter(data.get("_meta", {}).values()), {"schema_version": schema.SCHEMA_VERSION})
        meta = meta if isinstance(meta, dict) else {}
        version = check_version(meta.get("schema_version"), f"the experience store {self._layout.index}")
        if version < schema.SCHEMA_VERSION:
            data = migrate_index(data, version)  # (a migration may change documents: no texts kept)
        for table in _TABLES:
            data.setdefault(table, {})
        generation = meta.get("journal") if version == schema.SCHEMA_VERSION and isinstance(meta.get("journal"), str) else None
        # The documents' lines (for a cheap compaction) are found from the text only when compacting.
        return _Snapshot(key, data, text if version == schema.SCHEMA_VERSION else None, None, generation,
                         snapshot_digest(raw), None)

    def _read_journal(self) -> _Journal | None:
        """The journal file's header and changes (``None`` when there is none)."""
        try:
            records, end, bad, key = read_journal_lines(self._layout.index_journal, 0)
        except FileNotFoundError:
            return None
        if not records or records[0].get("type") != "journal":
            # No header: the journal was damaged at its start, and no change in it can be tied to a snapshot.
            return _Journal(None, None, [], key, end, bad, bad_header=bool(records or bad))
        header = records[0]
        check_version(header["schema_version"], f"the experience store journal {self._layout.index_journal}")
        changes = [r for r in records[1:] if r.get("type") == "change"]
        extra_headers = len(records) - 1 - len(changes)
        return _Journal(header["generation"], header.get("snapshot_digest"), changes, key, end, bad,
                        bad_header=extra_headers > 0)

    def _repair_index(self, loaded: _LoadedIndex) -> dict[str, Any]:
        """Under the lock: move invalid entries to ``index.json.bad`` and damaged journal lines to
        ``index.journal.bad``, adopt study logs the index lost with them, and write a clean snapshot.

        When the store cannot be written (read only), the damage is left out of this read
        only, with a warning.
        """
        try:
            with self._locked(RECOVERY_LOCK_TIMEOUT):
                fresh = self._load_index()  # under the lock: another process may have repaired it
                if fresh is None:
                    return {table: {} for table in _TABLES}
                if not fresh.damaged:
                    self._remember_loaded(fresh)
                    return fresh.data
                data = {table: dict(docs) for table, docs in fresh.data.items()}
                messages = self._quarantine_journal()
                if messages:
                    # A damaged change may have added a study: its log still says what it was.
                    adopted = self._adopt_orphan_logs(data)
                    if adopted:
                        messages.append(f"{adopted} stud{'y' if adopted == 1 else 'ies'} missing from the index "
                                        "were read back from their logs")
                messages += self._quarantine_entries(data)
                self._write_index(data)
                if messages:
                    warnings.warn(
                        f"the experience store index {self._layout.index} was damaged: {'; '.join(messages)}. "
                        "Every other study is intact.",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                return data
        except (OSError, StoreError) as error:
            data = {table: dict(docs) for table, docs in loaded.data.items()}
            bad = _invalid_entries(data)
            for entry in bad:
                data[entry["table"]].pop(entry["key"], None)
            warnings.warn(
                f"the experience store index {self._layout.index} is damaged ({len(bad)} invalid entries, "
                "or damaged lines in its journal); they are left out of this read, but could not be moved "
                f"aside: {error}",
                RuntimeWarning,
                stacklevel=3,
            )
            return data

    def _quarantine_entries(self, data: dict[str, Any]) -> list[str]:
        """Move the invalid entries of ``data`` to ``index.json.bad`` (one JSON line each) and out of ``data``."""
        bad = _invalid_entries(data)
        if not bad:
            return []
        lines = b"".join((dumps(entry) + "\n").encode("utf-8") for entry in bad)
        append_bytes(self._layout.index_quarantine, lines, what="the invalid index entries", durable=self.durable)
        for entry in bad:
            data[entry["table"]].pop(entry["key"], None)
        return [f"{len(bad)} invalid entr{'y' if len(bad) == 1 else 'ies'} ({bad[0]['problems'][0]}) moved to "
                f"{self._layout.index_quarantine} and left out"]

    def _quarantine_journal(self) -> list[str]:
        """Move the journal's damaged lines to ``index.journal.bad``, byte for byte (the caller compacts next)."""
        path = self._layout.index_journal
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        damaged = damaged_journal_lines(raw)
        if not damaged:
            return []
        target = self._layout.journal_quarantine
        append_bytes(target, b"".join(line + b"\n" for _, line in damaged), what="the damaged journal lines",
                     durable=self.durable)
        return [f"the journal {path} had {len(damaged)} damaged line(s) (line {damaged[0][0]} first); "
                f"moved to {target} byte for byte"]

    def _adopt_orphan_logs(self, data: dict[str, Any]) -> int:
        """Add to ``data`` every study whose log exists but which the index does not name (read from
        its log's headers, as a rebuild would): what a damaged journal line may have held."""
        known = {doc["id"] for doc in data["studies"].values()}
        task_ids = {doc["id"] for doc in data["tasks"].values()}
        adopted = 0
        for log in sorted(self._layout.trials_dir.glob("*.jsonl")):
            if log.stem in known:
                continue
            study, tasks = _study_from_log(log)
            if study is None or check_index_study(study) or study["id"] != log.stem:
                continue
            for task in tasks.values():
                if task["id"] not in task_ids and not check_task(task):
                    data["tasks"][str(_next_key(data["tasks"]))] = task
                    task_ids.add(task["id"])
            data["studies"][str(_next_key(data["studies"]))] = study
            known.add(study["id"])
            adopted += 1
        return adopted

    def compact_index(self) -> None:
        """Fold the index's journal into a new ``index.json`` (the store does this by itself as the
        journal grows; call it before reading or editing ``index.json`` by hand)."""
        with self._locked():
            data = self._read_index()
            self._write_index({table: dict(docs) for table, docs in data.items()})

    def _write_index(self, data: dict[str, Any]) -> None:
        """Write ``data`` as a new snapshot with a fresh, empty journal (the caller holds the lock).

        ``data`` becomes the read memo. A crash after the snapshot's rename and before the
        new journal leaves the old journal, which names the old generation: readers ignore it.
        """
        generation = new_id()
        text, texts = self._encode_index(data, generation)
        raw = text.encode("utf-8")
        atomic_write(self._layout.index, raw, what="the store index", durable=self.durable)
        self._start_journal(generation, snapshot_digest(raw))
        self._remember_index(data, texts, generation)

    def _start_journal(self, generation: str, digest: str) -> None:
        """A new journal for the snapshot of ``generation``; if it cannot be written, the old one stays,
        stale (its generation is another), and the next change writes a snapshot again."""
        try:
            create_log(self._layout.index_journal, journal_header(generation, schema.SCHEMA_VERSION, digest),
                       what="the store index's journal", durable=self.durable)
        except OSError:
            pass  # the snapshot just written holds every change: nothing is lost

    def _encode_index(self, data: dict[str, Any], generation: str) -> tuple[str, IndexText]:
        """The snapshot's text, re-encoding only the documents that changed since the snapshot last read or written."""
        data["_meta"] = {"1": {"schema_version": schema.SCHEMA_VERSION, "journal": generation}}
        return encode_index({table: data[table] for table in (*_TABLES, *(t for t in data if t not in _TABLES))},
                            self._snapshot_texts())

    def _snapshot_texts(self) -> IndexText | None:
        """Each document's line in the snapshot last read or written (found from its text on first use)."""
        snapshot = self._snapshot
        if snapshot is None:
            return None
        if snapshot.texts is None and snapshot.text is not None:
            snapshot.texts = read_line_texts(snapshot.text, snapshot.data)
            snapshot.text = None
        return snapshot.texts

    def _prepare_index(self, data: dict[str, Any]) -> Path:
        """Write the index to a temporary file (not yet renamed) for a multi-file commit (:meth:`_commit_index`)."""
        generation = new_id()
        text, texts = self._encode_index(data, generation)
        raw = text.encode("utf-8")
        self._prepared = (texts, generation, snapshot_digest(raw))
        with write_errors_as("the store index", self._layout.index):
            return prepare_atomic(self._layout.index, raw, durable=self.durable)

    def _commit_index(self, temp: Path, data: dict[str, Any]) -> None:
        """Rename an index prepared by :meth:`_prepare_index` from ``data`` into place (the caller holds the lock)."""
        texts, generation, digest = self._prepared
        with write_errors_as("the store index", self.index_path):
            commit_atomic(temp, self.index_path, durable=self.durable)
        self._start_journal(generation, digest)
        self._remember_index(data, texts, generation)

    def _remember_index(self, data: dict[str, Any], texts: IndexText | None, generation: str) -> None:
        """Keep the snapshot just written as the read memo: the next read need not parse it back.

        Called under the lock, right after the rename, so the files' identities are this
        write's. Every entry came from the index as read (validated) or from the store's
        own writers, which build valid entries.
        """
        key = self._index_keys()
        self._snapshot = _Snapshot(key[0], data, None, texts, generation, None, False)
        self._journal_generation = generation if key[1] is not None else None
        self._index_key, self._index_memo = key, data
        self._journal_end = key[1][1] if key[1] is not None else 0

    def _append_changes(self, ops: list[dict[str, Any]], after: dict[str, Any], *, at_start: bool) -> None:
        """Record ``ops``, the change that made ``after`` (the caller holds the lock): one journal line,
        or a new snapshot when the journal is missing, stale or grown past its share (see :meth:`_compaction_due`).

        ``at_start``: a study's start, on the way to its first trial, compacts only a journal far past its share.
        """
        snapshot_key = self._index_file_key()
        if snapshot_key is None or not self._journal_live() or (self._index_key or (None,))[0] != snapshot_key:
            self._write_index(after)
            return
        if not ops:
            return
        append_record(self._layout.index_journal, {"type": "change", "ops": ops}, what="the store index's journal",
                      durable=self.durable)
        journal_key = _file_key(self._layout.index_journal)
        self._index_key, self._index_memo = (snapshot_key, journal_key), after
        self._journal_end = 0 if journal_key is None else journal_key[1]
        if self._compaction_due(snapshot_key[1], self._journal_end, at_start=at_start):
            self._write_index(after)

    @staticmethod
    def _compaction_due(snapshot_bytes: int, journal_bytes: int, *, at_start: bool) -> bool:
        """Whether the journal has grown enough to fold it into a new snapshot.

        Past :data:`COMPACT_SHARE` of the snapshot (at least :data:`COMPACT_MIN_BYTES`): each
        compaction then rewrites the snapshot once per that many bytes of changes, so its
        cost per change stays a small constant. At a study's start only past
        :data:`COMPACT_AT_START` times that: those starts would pay it before their first trial,
        while a run's end (where most compactions happen) pays it after the last.
        """
        limit = max(COMPACT_MIN_BYTES, int(snapshot_bytes * COMPACT_SHARE))
        return journal_bytes > limit * (COMPACT_AT_START if at_start else 1)

    def _memory_index(self) -> Any:
        """A TinyDB over a private copy of the index (the caller holds the lock).

        TinyDB edits its memory in place, and the read memo must not change; its updates
        replace a document's top-level fields (``doc.update(fields)``), so a copy of
        each document's top level suffices, and the nested values (spaces, settings,
        meta-features) are shared. A full deep copy of an index of thousands of studies
        cost a large share of opening a study.
        """
        db = tinydb.TinyDB(storage=tinydb_storages.MemoryStorage)
        db.storage.memory = _copy_tables(self._read_index())
        return db

    @contextmanager
    def _transaction(self, *, at_start: bool = False) -> Iterator[Any]:
        """A TinyDB over the index in memory; its changes appended to the journal at the end.

        The caller holds the lock. TinyDB's own JSONStorage rewrites the file in place
        (a crash mid-write leaves half a file), so TinyDB works on a memory copy and the
        store records what changed (:meth:`_append_changes`): one journal line, whatever
        the size of the index. Finding what changed is an equality test against the index
        as read: unchanged documents share their nested values with it, so the test costs
        little even for thousands.
        """
        before = self._read_index()
        db = tinydb.TinyDB(storage=tinydb_storages.MemoryStorage)
        db.storage.memory = _copy_tables(before)
        yield db
        after = db.storage.read()
        ops = index_changes(before, after)
        if ops or not self._layout.index.exists():
            self._append_changes(ops, after, at_start=at_start)

    def _rebuild_index(self) -> dict[str, Any]:
        """Rebuild a missing index from the study headers at the top of every log."""
        tasks: dict[str, dict[str, Any]] = {}
        studies: dict[str, dict[str, Any]] = {}
        for log in sorted(self._layout.trials_dir.glob("*.jsonl")):
            study, found = _study_from_log(log)
            tasks.update(found)
            if study is not None:
                studies[study["id"]] = study
        data = {
            "_meta": {"1": {"schema_version": schema.SCHEMA_VERSION}},
            "tasks": {str(i): t for i, t in enumerate(tasks.values(), start=1)},
            "studies": {str(i): s for i, s in enumerate(studies.values(), start=1)},
        }
        with self._locked():
            if not self._layout.index.exists():
                self._write_index(data)
        return data

    # Clean-up after crashes -------------------------------------------------------------
    def _recover_once(self) -> bool:
        """At the first read of this object: clean up after processes that were killed.

        Returns whether a study changed. Removes our temporary files that killed writes left (old enough that no write
        in progress owns them), and marks ``"interrupted"`` the running studies whose
        owners are dead (owners.py). Best effort: a store that cannot be written (read
        only, locked for long) is read as it is, and cleaned by a later open.
        """
        if self._recovered:
            return False
        self._recovered = True
        if not self._layout.index.parent.is_dir():
            return False
        try:
            self._remove_stale_temps()
            return bool(self._mark_dead_studies())
        except (OSError, StoreError):
            return False  # housekeeping must never fail a read

    def _stale_temp_candidates(self) -> bool:
        cutoff = time.time() - STALE_TEMP_AFTER
        for folder in (self.path, self._layout.trials_dir):
            try:
                for entry in os.scandir(folder):
                    if entry.name.endswith(".tmp") and entry.name.startswith(".") and entry.stat().st_mtime < cutoff:
                        return True
            except OSError:
                continue
        return False

    def _remove_stale_temps(self) -> list[Path]:
        if not self._stale_temp_candidates():
            return []  # the usual case: no lock taken, nothing written
        with self._locked(RECOVERY_LOCK_TIMEOUT):  # our writers hold it: none of their temps is in flight
            removed = remove_stale_temps(self.path, lambda name: name in _ROOT_TEMP_TARGETS, STALE_TEMP_AFTER)
            removed += remove_stale_temps(
                self._layout.trials_dir, lambda name: bool(_TRIALS_TEMP_TARGET.match(name)), STALE_TEMP_AFTER
            )
        return removed

    def _dead_runs(self, studies: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """``{study_id: live owners}`` for the running studies that lost an owner."""
        changed = {}
        now = time.time()
        for doc in studies:
            if doc["status"] != "running":
                continue
            owners = doc.get("owners")
            seen = self._last_activity(doc["id"])
            if owners is None:  # written by an older version: only its age tells
                anonymous = {"pid": 0, "host": None, "heartbeat_at": float(doc["started_at"])}
                if not is_alive(anonymous, seen, now):
                    changed[doc["id"]] = []
                continue
            live = [dict(o) for o in owners if is_alive(o, seen, now)]
            if len(live) < len(owners):
                changed[doc["id"]] = live
        return changed

    def _mark_dead_studies(self) -> list[str]:
        """Drop dead owners; a running study left without a live one becomes ``"interrupted"``."""
        if not self._dead_runs(self._read_index()["studies"].values()):
            return []  # the usual case: no lock taken, nothing written
        interrupted = []
        with self._locked(RECOVERY_LOCK_TIMEOUT):
            with self._transaction(at_start=True) as db:  # (the first read of a process: often a study's start)
                table = db.table("studies")
                changed = self._dead_runs(db.storage.read()["studies"].values())  # again, under the lock
                for study_id, live in changed.items():
                    changes: dict[str, Any] = {"owners": live}
                    if not live:  # it ended when its files were last written
                        changes.update(status="interrupted", ended_at=self._last_activity(study_id) or time.time())
                        interrupted.append((study_id, changes["ended_at"]))
                    table.update(changes, tinydb.Query().id == study_id)
            for study_id, ended_at in interrupted:
                log = self.log_path(study_id)
                if log.exists():
                    end = {"type": "end", "status": "interrupted", "ended_at": ended_at}
                    append_record(log, end, what="the study end", durable=self.durable)
                self._release_claims(study_id, None)
        return [study_id for study_id, _ in interrupted]

    # Reading ----------------------------------------------------------------------------
    def tasks(self) -> tuple[TaskRecord, ...]:
        return tuple(TaskRecord.from_dict(d) for d in self._read_index()["tasks"].values())

    def task(self, task_id: str) -> TaskRecord:
        for doc in self._read_index()["tasks"].values():
            if doc["id"] == task_id:
                return TaskRecord.from_dict(doc)
        raise UnknownStudyError(f"no task {task_id!r} in the experience store {self.path}.")

    def studies(self, name: str | None = None) -> tuple[StudyRecord, ...]:
        """Every study (or those named ``name``), oldest first."""
        docs = self._read_index()["studies"].values()
        records = [StudyRecord.from_dict(d) for d in docs if name is None or d.get("name") == name]
        return tuple(sorted(records, key=lambda r: r.started_at))

    def resolve_id(self, study_id: str) -> str:
        """The full id of the one study whose id starts with ``study_id`` (like git)."""
        ids = [d["id"] for d in self._read_index()["studies"].values()]
        if study_id in ids:
            return study_id
        matches = [i for i in ids if i.startswith(study_id)] if study_id else []
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UnknownStudyError(
                f"no study with id {study_id!r} in the experience store {self.path}; `metahpo list` shows the ids."
            )
        raise UnknownStudyError(f"the id prefix {study_id!r} matches {len(matches)} studies; give more characters.")

    def study(self, study_id: str) -> StudyRecord:
        full = self.resolve_id(study_id)
        for doc in self._read_index()["studies"].values():
            if doc["id"] == full:
                return StudyRecord.from_dict(doc)
        raise UnknownStudyError(f"no study {study_id!r} in {self.path}.")  # pragma: no cover - raced with forget

    def trials(self, study_id: str) -> tuple[TrialRecord, ...]:
        """Every stored trial of a study, in the order they were recorded."""
        full = self.resolve_id(study_id)
        return self._read_trials(full)

    def _read_trials(self, study_id: str) -> tuple[TrialRecord, ...]:
        records = self._log_records(study_id)
        # Every line was checked when read (schema.check_log_line), so each trial line builds.
        return tuple(TrialRecord.from_dict(r, study_id) for _, r in records if r["type"] == "trial")

    def _log_records(self, study_id: str) -> list[tuple[int, Any]]:
        """The good lines of a study's log; damaged ones are moved aside (see :meth:`_quarantine_log`)."""
        try:
            records, _, bad = scan_log(self.log_path(study_id))
        except FileNotFoundError:
            return []
        if bad:
            self._quarantine_log(study_id)
        return records

    def _quarantine_log(self, study_id: str) -> None:
        """Move the damaged lines of a study's log to ``trials/<id>.jsonl.bad``, byte for byte.

        One bad line (a garbled write, a hand edit, ``"value": "abc"``) must not hide the
        study: every intact line stays where it is, and readers skip bad lines even
        when they cannot be moved (a read-only store), with a warning either way.
        """
        log, target = self.log_path(study_id), self._layout.quarantine(study_id)
        try:
            with self._locked(RECOVERY_LOCK_TIMEOUT):
                moved = quarantine_lines(log, target, durable=self.durable)
        except FileNotFoundError:
            return  # forgotten meanwhile
        except (OSError, StoreError) as error:
            warnings.warn(
                f"the experience store log {log} has damaged lines; they are skipped when reading, "
                f"but could not be moved aside: {error}",
                RuntimeWarning,
                stacklevel=3,
            )
            return
        if moved:
            first = moved[0]
            warnings.warn(
                f"the experience store log {log} had {len(moved)} damaged line(s) (line {first.number}: "
                f"{first.problem}); they were moved to {target} byte for byte. Every intact trial is kept.",
                RuntimeWarning,
                stacklevel=3,
            )

    def _complete_trials(self, study_id: str) -> tuple[list[dict[str, Any]], list[float], Any]:
        """``(configs, values, objective source)`` of a study's complete trials, straight from its log.

        The fast path of :meth:`past_studies`: no ``FrozenTrial`` per line, since a warm
        start may read tens of thousands of trials. The objective source is the first
        header's (``None`` when it recorded none).
        """
        configs, values = [], []
        source = None
        for _, record in self._log_records(study_id):
            # Checked when read: a complete trial line has a config and a finite value.
            if record["type"] == "trial" and record["state"] == "complete":
                configs.append(record["config"])
                values.append(float(record["value"]))
            elif record["type"] == "study" and source is None and isinstance(record.get("settings"), dict):
                source = record["settings"].get("objective_source")
        return configs, values, source

    def summaries(self) -> tuple[StudySummary, ...]:
        """Every study with its task, space signature, counts, best trials and facts (fast).

        Reads the index (parsed once per process while it is unchanged) and the
        summaries cache, and stats each log; logs that grew are read from where the
        cache left off. Time and memory grow with the number of studies, not of trials.
        """
        index = self._read_index()
        tasks = {d["id"]: d for d in index["tasks"].values()}
        cache = self._summaries.load()
        cached, spaces, sources = cache["studies"], cache["spaces"], cache["sources"]
        new_spaces: dict[str, Any] = {}
        new_sources: dict[str, Any] = {}
        fresh: dict[str, dict[str, Any]] = {}
        trials_dir = os.path.join(self._layout.trials_dir, "")
        # Rewrite the cache file when what it spares the next read is worth it: enough log
        # bytes were read (new lines, or whole logs of new studies) or facts computed.
        # Otherwise keep the update in memory: a study's start adds one small log, and
        # rewriting the whole cache for it would cost more than reading it again.
        work = 0
        pairs = []
        damaged = []
        for doc in index["studies"].values():
            sid = doc["id"]
            # A plain string path: building a Path per study is a visible share of this loop.
            # (sid is a safe id: validated with the index.)
            entry, folded, bad = self._summaries.refresh(cached.get(sid), f"{trials_dir}{sid}.jsonl", doc["direction"] == "maximize")
            if bad:
                damaged.append(sid)
            work += entry["offset"] if folded < 0 else folded
            signature = _signature_of(doc)
            facts = entry.get("facts")
            if not (
                isinstance(facts, dict) and facts.get("signature") == signature and signature in spaces
                and (facts.get("source") is None or facts["source"] in sources)
            ):
                facts, params, source = study_facts(doc, signature, self._recorded_source(doc))  # once per study
                entry = dict(entry, facts=facts)
                new_spaces[signature] = params
                if source is not None:
                    new_sources[facts["source"]] = source
                work += FACTS_WORK
            fresh[sid] = entry
            pairs.append((doc, entry))
        shared = {**cache, "spaces": {**spaces, **new_spaces}, "sources": {**sources, **new_sources}}
        task_records: dict[Any, Any] = {}  # shared by this load's summaries (see StudySummary)
        out = [StudySummary(doc, tasks.get(doc.get("task_id")), entry, shared, task_records) for doc, entry in pairs]
        if work >= SAVE_AFTER_BYTES or (fresh and not cached):  # (no usable cache file at all: write one)
            self._summaries.save({**shared, "studies": fresh})
        elif work:
            self._summaries.remember({**shared, "studies": fresh})
        for sid in damaged:  # the summaries above skipped the damaged lines; now move them aside
            self._quarantine_log(sid)
        return tuple(sorted(out, key=lambda s: s.started_at))

    def _recorded_source(self, doc: Mapping[str, Any]) -> Any:
        """The objective source recorded for a study: in its log's first line (the header), where
        this version keeps it (``schema.index_settings``), or in its index entry (older versions)."""
        source = (doc.get("settings") or {}).get("objective_source")
        if source is not None:
            return source
        try:
            with open(self.log_path(doc["id"]), "rb") as handle:
                first = handle.readline()
            header = json.loads(first)
        except (OSError, ValueError):
            return None
        if not isinstance(header, dict) or header.get("type") != "study" or not isinstance(header.get("settings"), dict):
            return None
        return header["settings"].get("objective_source")

    def past_studies(
        self,
        signature: str | None = None,
        *,
        exclude: Sequence[str] = (),
        min_complete: int = 1,
    ) -> list[PastStudy]:
        """The complete trials of every stored study, as the meta-learning consumes them.

        ``signature`` keeps only studies over compatible spaces; ``exclude`` drops
        study ids (the running study itself). Studies of any status count: a stopped or
        crashed study's finished trials are real results. This reads every trial of
        every study kept; a warm start reads only the studies it chose from the
        summaries (:meth:`load_past_studies`).
        """
        chosen = [
            s for s in self.summaries()
            if s.study_id not in exclude and s.n_complete >= min_complete
            and (signature is None or s.signature == signature)
        ]
        return self.load_past_studies(chosen)

    def load_past_studies(self, summaries: Iterable[StudySummary]) -> list[PastStudy]:
        """The complete trials of the studies of these summaries (from :meth:`summaries`), in that order.

        Only their logs are read. A study's ``extra`` holds its name, status, recorded
        objective source and ``model_state``: what a sampler saved for it with
        :meth:`save_model_state` while its trials were the same (``{}`` otherwise).
        """
        out = []
        for summary in summaries:
            configs, values, source = self._complete_trials(summary.study_id)
            task = summary.task
            out.append(
                PastStudy(
                    study_id=summary.study_id,
                    task_name=summary.task_name,
                    space=summary.study.space,
                    direction=summary.study.direction,
                    configs=tuple(configs),
                    values=tuple(values),
                    meta_features=None if task is None else task.meta_features,
                    meta_feature_set=None if task is None else task.meta_feature_set,
                    data_fingerprint=None if task is None else task.data_fingerprint,
                    source="store",
                    extra={
                        "name": summary.name,
                        "status": summary.status,
                        # how a later study tells whether this one ran related code (meta.relatedness); in
                        # the log's header since this version, in the index before (schema.index_settings)
                        "objective_source": source if source is not None else summary.study.settings.get("objective_source"),
                        "model_state": self._model_state(summary.study_id, len(values)),
                    },
                )
            )
        return out

    # What samplers fitted on a past study (a disposable cache beside its log) ----------------
    def save_model_state(self, study_id: str, state: Mapping[str, Any], *, n_complete: int) -> None:
        """Keep what a sampler fitted on a past study (a GP's hyperparameters, as plain JSON data).

        ``n_complete`` is the number of complete trials it was fitted on (``len(past.values)``):
        the state is handed back in ``PastStudy.extra["model_state"]`` by
        :meth:`load_past_studies` only while the study has that many, so a study that gained
        trials since is refitted. Written beside the study's log (``trials/ID.model.json``)
        without fsync: it is derived data, and a failure to write it only warns.
        """
        full = self.resolve_id(study_id)
        if not isinstance(n_complete, int) or isinstance(n_complete, bool) or n_complete < 0:
            raise ValueError(f"n_complete must be the number of complete trials fitted on, but got {n_complete!r}.")
        try:
            payload = dumps({"version": 1, "n_complete": n_complete, "state": dict(state)})
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"a model state must be JSON data of finite numbers, strings, lists and dicts ({error}); "
                "convert arrays with .tolist()."
            ) from None
        try:
            atomic_write(self._layout.model_state(full), payload.encode("utf-8"), what="the model state", durable=False)
        except OSError as error:  # StoreWriteError is an OSError: a read-only store still runs
            warnings.warn(f"could not keep the model state of study {full}: {error}", RuntimeWarning, stacklevel=2)

    def _model_state(self, study_id: str, n_complete: int) -> dict[str, Any]:
        """The saved model state of a study fitted on ``n_complete`` trials; ``{}`` when none or stale."""
        try:
            data = json.loads(self._layout.model_state(study_id).read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("n_complete") != n_complete or not isinstance(data.get("state"), dict):
            return {}
        return data["state"]

    def stats(self) -> dict[str, Any]:
        """Counts and sizes for ``metahpo stats``."""
        summaries = self.summaries()
        size = 0
        if self.path.is_dir():
            size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        by_status: dict[str, int] = {}
        for s in summaries:
            by_status[s.status] = by_status.get(s.status, 0) + 1
        return {
            "path": str(self.path),
            "schema_version": schema.SCHEMA_VERSION,
            "tasks": len(self.tasks()),
            "studies": len(summaries),
            "studies_by_status": by_status,
            "trials": sum(s.n_trials for s in summaries),
            "complete_trials": sum(s.n_complete for s in summaries),
            "failed_trials": sum(s.n_failed for s in summaries),
            "space_signatures": len({s.signature for s in summaries}),
            "bytes_on_disk": size,
        }

    # Writing -----------------------------------------------------------------------------
    def record_task(
        self,
        name: str,
        *,
        meta_features: Mapping[str, float] | None = None,
        meta_feature_set: str | None = None,
        data_fingerprint: str | None = None,
    ) -> TaskRecord:
        """Add a task, or update its meta-features; the same name and data are one task."""
        info = TaskInfo(name, meta_features, meta_feature_set, data_fingerprint)
        with self._locked(), self._transaction() as db:
            doc = self._upsert_task(db, info)
        return TaskRecord.from_dict(doc)

    def _upsert_task(self, db: Any, info: TaskInfo) -> dict[str, Any]:
        task_id = task_id_for(info.name, info.data_fingerprint)
        features = None if info.meta_features is None else dict(info.meta_features)
        if features is not None and not all(math.isfinite(v) for v in features.values()):
            bad = sorted(k for k, v in features.items() if not math.isfinite(v))
            raise ValueError(f"meta-features must be finite numbers, but {bad} are not; drop or impute them.")
        table = db.table("tasks")
        found = table.get(tinydb.Query().id == task_id)
        if found is None:
            doc = {
                "id": task_id,
                "name": info.name,
                "meta_features": features,
                "meta_feature_set": info.meta_feature_set,
                "data_fingerprint": info.data_fingerprint,
                "created_at": time.time(),
            }
            table.insert(doc)
            return doc
        doc = dict(found)
        if features is not None and (features != doc.get("meta_features") or info.meta_feature_set != doc.get("meta_feature_set")):
            doc.update(meta_features=features, meta_feature_set=info.meta_feature_set)
            table.update({"meta_features": features, "meta_feature_set": info.meta_feature_set}, tinydb.Query().id == task_id)
        return doc

    def open_study(
        self,
        name: str | None,
        space: SearchSpace | Mapping[str, Any],
        direction: str | Direction = "minimize",
        *,
        metric: str | None = None,
        objective: str | None = None,
        settings: Mapping[str, Any] | None = None,
        task: TaskInfo | Mapping[str, Any] | str | None = None,
        resume: bool = True,
    ) -> StudySession:
        """Start a study in the store, or resume the latest one of the same ``name``.

        Resuming returns the earlier run's finished trials in ``session.trials``. A study
        of that name with another space or direction is an error that says how to
        start fresh (``resume=False``); an unnamed study is always new.
        """
        space = as_search_space(space)
        direction = Direction.parse(direction)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"a study name must be a non-empty string, but got name={name!r}.")
        info = as_task_info(task)
        owner = new_owner(new_id())
        with self._locked():
            created_log: Path | None = None
            try:
                with self._transaction(at_start=True) as db:
                    task_doc = self._upsert_task(db, info) if info is not None else None
                    studies = db.table("studies")
                    previous = None
                    if resume and name is not None:
                        named = [d for d in studies.search(tinydb.Query().name == name)]
                        previous = max(named, key=lambda d: d["started_at"]) if named else None
                    if previous is not None:
                        self._check_resumable(previous, space, direction, name)  # type: ignore[arg-type]
                        # Another process may still record into it (a shared budget): keep its live owners.
                        owners = [*self._live_owners(previous), owner]
                        changes = {"status": "running", "ended_at": None, "owners": owners}
                        if task_doc is not None:
                            changes["task_id"] = task_doc["id"]
                        studies.update(changes, tinydb.Query().id == previous["id"])
                        doc = {**previous, **changes}
                        header = {"type": "study", "schema_version": schema.SCHEMA_VERSION, **doc, "task": task_doc}
                        append_record(self.log_path(doc["id"]), header, what="the study header", durable=self.durable)
                    else:
                        recorded = _jsonable(dict(settings or {}))
                        doc = {
                            "id": new_id(),
                            "name": name,
                            "task_id": None if task_doc is None else task_doc["id"],
                            "space": space.to_json(),
                            "signature": space.signature,
                            "objective": objective,
                            "metric": metric,
                            "direction": direction.value,
                            "settings": index_settings(recorded),
                            "versions": package_versions(),
                            "status": "running",
                            "started_at": time.time(),
                            "ended_at": None,
                            "owners": [owner],
                        }
                        # The header keeps every setting; the index leaves out the bulky ones (schema.py).
                        header = {
                            "type": "study", "schema_version": schema.SCHEMA_VERSION, **doc, "settings": recorded,
                            "task": task_doc,
                        }
                        # The log exists before the index names it: a crash in between leaves an
                        # orphan log (rebuildable), never an index entry without its log.
                        created_log = self.log_path(doc["id"])
                        create_log(created_log, header, durable=self.durable)
                        studies.insert(doc)
            except BaseException:
                if created_log is not None:
                    created_log.unlink(missing_ok=True)
                raise
        trials = tuple(r.trial for r in self._read_trials(doc["id"])) if previous is not None else ()
        return StudySession(self, StudyRecord.from_dict(doc), trials, resumed=previous is not None, owner=owner)

    @staticmethod
    def _check_resumable(previous: Mapping[str, Any], space: SearchSpace, direction: Direction, name: str) -> None:
        old_space = SearchSpace.from_json(previous["space"])
        how = (
            f"Choose another name (--name in %%metatune), or remove the old study with `metahpo forget "
            f"{previous['id']}`; tune(resume=False) starts a second study under the same name."
        )
        if old_space != space:
            raise StudyMismatchError(
                f"the study {name!r} (id {previous['id']}) in the experience store was run over a different "
                f"search space:\n  stored: {old_space!r}\n  now:    {space!r}\n{how}"
            )
        if previous["direction"] != direction.value:
            raise StudyMismatchError(
                f"the study {name!r} (id {previous['id']}) was run to {previous['direction']}, "
                f"but now asks to {direction.value}. {how}"
            )

    def append_trial(self, study_id: str, trial: FrozenTrial) -> TrialRecord:
        """Append one finished trial to its study's log (O(1): the index is not touched)."""
        line = _trial_line(study_id, trial)
        log = self.log_path(study_id)
        with self._locked():
            if not log.exists():
                raise UnknownStudyError(
                    f"the study {study_id!r} is not in the experience store {self.path} (was it forgotten "
                    "while running?); the trial was not stored."
                )
            append_record(log, line, what=f"trial {trial.number + 1} of the study {study_id}", durable=self.durable)
        return TrialRecord(id=line["id"], study_id=study_id, trial=trial, recorded_at=line["recorded_at"])

    # A shared budget (claims.py) ------------------------------------------------------------
    def _claim_ledger(self, study_id: str) -> ClaimLedger:
        return ClaimLedger(self.log_path(study_id), self._layout.claims(study_id))

    def _claim_trial(
        self, study_id: str, ledger: ClaimLedger, owner: Mapping[str, Any], n_trials: int | None
    ) -> int | None:
        """Under the lock: the next free trial number, recorded as claimed by ``owner``; None when the budget is spent."""
        with self._locked():
            ledger.refresh()
            now = time.time()
            number = ledger.next_number(n_trials, now)
            if number is None:
                return None
            claim = {"type": "claim", "number": number, "session": owner["session"], "pid": owner["pid"],
                     "host": owner["host"], "claimed_at": now}
            # No fsync: other processes see the line through the page cache, and a claim lost
            # in a power cut only frees its number (its process died with it).
            append_record(self._layout.claims(study_id), claim, what=f"the claim of trial {number + 1}",
                          durable=False, create=True)
        return number

    def _release_claims(self, study_id: str, session: str | None) -> None:
        """Under the lock: end ``session``'s open claims; delete the claims file once no claim is open."""
        path = self._layout.claims(study_id)
        if not path.exists():
            return
        ledger = self._claim_ledger(study_id)
        ledger.refresh()
        if not ledger.outstanding(except_session=session):
            with write_errors_as("the removal of the study's claims", path):
                path.unlink(missing_ok=True)
        elif session is not None:
            append_record(path, {"type": "release", "session": session}, what="the end of the claims", durable=False)

    # Owners: who runs a study (owners.py) ----------------------------------------------------
    def _last_activity(self, study_id: str) -> float:
        """When a study's files were last written (its log, its claims): a heartbeat for its owners."""
        times = [0.0]
        for path in (self.log_path(study_id), self._layout.claims(study_id)):
            try:
                times.append(os.stat(path).st_mtime)
            except OSError:
                pass
        return max(times)

    def _live_owners(self, doc: Mapping[str, Any], *, except_session: str | None = None) -> list[dict[str, Any]]:
        owners = doc.get("owners") or []
        if not owners:
            return []
        seen, now = self._last_activity(doc["id"]), time.time()
        return [dict(o) for o in owners if o["session"] != except_session and is_alive(o, seen, now)]

    def finish_study(self, study_id: str, status: str, *, session: str | None = None) -> None:
        """Mark how a run of the study ended (status and end time).

        With ``session`` (a :class:`StudySession` finishing), only that run ends: while
        other processes still record into the study it stays ``"running"``, and the last
        one to finish sets its status. Without, the study ends whoever runs it.
        """
        ended_at = time.time()
        with self._locked():
            with self._transaction() as db:
                query = tinydb.Query().id == study_id
                doc = db.table("studies").get(query)
                if doc is not None:
                    owners = [] if session is None else self._live_owners(doc, except_session=session)
                    changes: dict[str, Any] = {"owners": owners}
                    if not owners:
                        changes.update(status=str(status), ended_at=ended_at)
                    db.table("studies").update(changes, query)
            log = self.log_path(study_id)
            if log.exists():
                end = {"type": "end", "status": str(status), "ended_at": ended_at}
                if session is not None:
                    end["session"] = session
                append_record(log, end, what="the study end", durable=self.durable)
            self._release_claims(study_id, session)

    def forget(self, study_id: str) -> StudyRecord:
        """Remove a study and its trials from the store; returns what was removed.

        The study's files go first and the index entry after: on a full disk, deleting
        the log is what frees the space that rewriting the index needs. An index entry
        whose log is gone reads as a study without trials, and forgetting it again works.
        """
        with self._locked():
            full = self.resolve_id(study_id)
            record = self.study(full)
            for path in self._layout.study_files(full):
                with write_errors_as("the removal of the study's files", path):
                    path.unlink(missing_ok=True)
            try:
                with self._transaction() as db:
                    db.table("studies").remove(tinydb.Query().id == full)
            except StoreWriteError as error:
                raise StoreWriteError(
                    f"the trials of the study {full} were deleted, but its entry in the index could not be "
                    f"removed: {error} Run the same `forget` again once there is space.",
                    error.errno,
                ) from error
        return record

    def _import_study_stream(
        self,
        study: dict[str, Any],
        task: dict[str, Any] | None,
        trials: Iterable[tuple[str, dict[str, Any]]],
        source: str,
        problems: list[str],
    ) -> ImportReport:
        """Add one new study whose trials arrive one by one (a large CSV), all or nothing
        (:meth:`_prepare_study_stream`, then :meth:`_commit_imports`)."""
        return self._commit_imports([self._prepare_study_stream(study, task, trials, source, problems)], source)

    def _prepare_study_stream(
        self,
        study: dict[str, Any],
        task: dict[str, Any] | None,
        trials: Iterable[tuple[str, dict[str, Any]]],
        source: str,
        problems: list[str],
    ) -> PreparedImport:
        """Check one new study and write its log to a temporary file, not yet in the store.

        ``trials`` yields ``(location, trial)``; each trial is checked with the schema of
        import files, in the study's space, and written to a temporary log as it comes,
        so memory holds a few thousand trials, never the whole import. ``problems``
        collects what the producer of ``trials`` finds too (rows it could not convert);
        any problem discards the temporary log and raises :class:`ImportValidationError`.
        :meth:`_commit_imports` renames the log into place before the index names it, as
        ``open_study`` does.
        """
        problems.extend(check_study(study, "study") + ([] if task is None else check_task(task, "task")))
        if problems:
            raise ImportValidationError(source, problems)
        space = SearchSpace.from_json(study["space"])
        log = self.log_path(study["id"])
        header = {"type": "study", "schema_version": SCHEMA_VERSION, **study, "task": task}
        count = [0, 0]  # trials written, problems beyond the listed ones

        def chunks() -> Iterator[bytes]:
            yield (dumps(header) + "\n").encode("utf-8")
            batch: list[str] = []
            for where, trial in trials:
                found = check_trial(trial, where, space)
                if found or problems:  # after the first problem, only look for more
                    room = MAX_LISTED_PROBLEMS - len(problems)
                    problems.extend(found[: max(room, 0)])
                    count[1] += max(len(found) - max(room, 0), 0)
                    continue
                batch.append(dumps({"type": "trial", **trial}))
                count[0] += 1
                if len(batch) >= _LINES_PER_WRITE:
                    yield ("\n".join(batch) + "\n").encode("utf-8")
                    batch = []
            if batch:
                yield ("\n".join(batch) + "\n").encode("utf-8")

        with write_errors_as(f"the trials of study {study['id']}", log):
            self._layout.trials_dir.mkdir(parents=True, exist_ok=True)
            # Not synced here: the commit syncs every prepared log together (storage.sync_files).
            temp = prepare_atomic_stream(log, chunks(), durable=False)
        if problems:
            temp.unlink(missing_ok=True)
            if count[1]:
                problems.append(f"... and {count[1]} more problems, not listed")
            raise ImportValidationError(source, problems)
        return PreparedImport(study, task, temp, log, source, count[0])

    def _commit_imports(self, prepared: Sequence[PreparedImport], source: str) -> ImportReport:
        """Under the lock, all or nothing: rename prepared logs into place, then the one index that names them.

        One index rewrite for any number of studies: importing a hundred studies costs
        one transaction, not a hundred. On any failure the temporary files and the logs
        already renamed are removed (the index does not name them: nothing was imported).
        """
        tasks_added = 0
        index_temp: Path | None = None
        renamed: list[Path] = []
        try:
            with self._locked():
                db = self._memory_index()
                known = {doc["id"] for doc in db.storage.read()["tasks"].values()}
                new_tasks: list[dict[str, Any]] = []
                for item in prepared:
                    if item.task is not None and item.task["id"] not in known:
                        known.add(item.task["id"])
                        new_tasks.append(dict(item.task))
                db.table("tasks").insert_multiple(new_tasks)  # one table rewrite, not one per document
                tasks_added = len(new_tasks)
                db.table("studies").insert_multiple(
                    dict(item.study, signature=SearchSpace.from_json(item.study["space"]).signature) for item in prepared
                )
                index_data = db.storage.read()
                index_temp = self._prepare_index(index_data)
                # Every byte on disk before anything is renamed; the renames made durable (one
                # folder sync) before the index that names them is.
                if self.durable:
                    with write_errors_as("the imported trials", self._layout.trials_dir):
                        sync_files([item.temp for item in prepared])
                for item in prepared:
                    with write_errors_as(f"the trials of study {item.study['id']}", item.log):
                        commit_atomic(item.temp, item.log, durable=False)
                    renamed.append(item.log)
                if self.durable:
                    sync_folder(self._layout.trials_dir)
                self._commit_index(index_temp, index_data)
        except BaseException:
            for log in renamed:
                log.unlink(missing_ok=True)  # the index does not name it: nothing was imported
            for item in prepared:
                item.temp.unlink(missing_ok=True)
            if index_temp is not None:
                index_temp.unlink(missing_ok=True)
            raise
        n_trials = sum(item.n_trials for item in prepared)
        return ImportReport(source, tasks_added, len(prepared), 0, n_trials, 0, tuple(item.study["id"] for item in prepared))

    # Import / export (implemented in exchange.py, importers.py) --------------------------
    def export_json(self, path: str | os.PathLike[str], study_ids: Sequence[str] | None = None) -> int:
        """Write studies (all, or those in ``study_ids``) with their tasks and trials to a JSON file."""
        payload = export_payload(self, None if study_ids is None else [self.resolve_id(i) for i in study_ids])
        target = Path(path).expanduser()
        # An export killed mid-write left its temporary file next to the target: remove it now.
        remove_stale_temps(target.parent, lambda name: name == target.name, STALE_TEMP_AFTER)
        atomic_write(target, dumps(payload).encode("utf-8"), what="the export", durable=self.durable)
        return len(payload["studies"])

    def import_json(self, path: str | os.PathLike[str]) -> ImportReport:
        """Import an exported file: validated as data, all or nothing, duplicates skipped by id."""
        return import_file(self, Path(path).expanduser())

    def import_dataframe(self, frame: Any, **kwargs: Any) -> ImportReport:
        """Import past results from a DataFrame (see :func:`~jupyter_metahpo.store.importers.import_dataframe`)."""
        return importers.import_dataframe(self, frame, **kwargs)

    def bulk_import(self) -> importers.BulkImport:
        """Import many studies (DataFrames, CSV files, Optuna studies) in one transaction.

        ``with store.bulk_import() as batch:`` then ``batch.import_dataframe(...)`` for each;
        all appear together at the end of the block, or none does (see
        :class:`~jupyter_metahpo.store.importers.BulkImport`); ``batch.report`` says what was added.
        """
        return importers.BulkImport(self)

    def import_csv(self, path: str | os.PathLike[str], **kwargs: Any) -> ImportReport:
        """Import past results from a CSV file of parameter columns and a value column."""
        return importers.import_csv(self, path, **kwargs)

    def import_optuna(self, study: Any = None, **kwargs: Any) -> ImportReport:
        """Import an Optuna study (object, or ``storage=`` URL with ``study_name=``)."""
        return importers.import_optuna(self, study, **kwargs)


