"""The index's journal: its changes appended, so that a study's start does not rewrite the index.

The index (``index.json``) holds every task and study; a large store's is megabytes
(11 MB at 10,000 studies). Rewriting it whole when a study starts or ends cost most of a
study's start in a large store. So the index is a *snapshot* plus a *journal*
(``index.journal``, JSON lines) of the changes made since it was written:

* the first line is a header, ``{"type": "journal", "schema_version": 3, "generation": G,
  "snapshot_digest": D}``: the journal applies to the snapshot whose ``_meta`` names the same
  generation ``G``, and ``D`` is the digest of that snapshot's bytes (:func:`snapshot_digest`);
* each later line is one change, all or nothing: ``{"type": "change", "ops": [...]}``,
  each op ``{"op": "put", "table": T, "key": K, "doc": {...}}`` (the whole document, new
  or changed) or ``{"op": "del", "table": T, "key": K}``, ``T`` ``"tasks"`` or
  ``"studies"``, ``K`` the TinyDB document id as the snapshot keys it.

A change is appended under the store lock with ``O_APPEND`` and fdatasync (a torn last
line, from a writer killed mid-append, is ignored by readers and cut off by the next
append). Readers replay the journal on the snapshot: replaying is idempotent (a put sets
a whole document, a delete removes one), so a snapshot that already holds some changes
reads the same. *Compaction* writes the replayed index as a new snapshot under a new
generation, then starts a new journal for it: a crash in between leaves a journal of the
old generation, which readers then ignore (the new snapshot holds all of it). It runs
when the journal outgrows a share of the snapshot (``ExperienceStore`` decides when), so
its cost is amortised over many changes and mostly paid when a run ends.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .storage import BadLine, scan_bytes

__all__ = [
    "JOURNAL_TABLES",
    "journal_header",
    "snapshot_digest",
    "check_journal_line",
    "damaged_journal_lines",
    "index_changes",
    "apply_changes",
    "change_documents",
    "read_journal_lines",
]

#: The index tables a journal may change (``_meta`` is the snapshot's own).
JOURNAL_TABLES = ("tasks", "studies")


def journal_header(generation: str, schema_version: int, digest: str | None = None) -> dict[str, Any]:
    """The first line of a journal that applies to the snapshot of ``generation``; ``digest`` is
    :func:`snapshot_digest` of that snapshot as written (see there)."""
    header = {"type": "journal", "schema_version": schema_version, "generation": generation}
    if digest is not None:
        header["snapshot_digest"] = digest
    return header


def snapshot_digest(raw: bytes) -> str:
    """A digest of the snapshot's bytes, kept in its journal's header when the store writes both.

    A snapshot whose bytes still match holds only entries the store validated before
    writing them, so a reader need not validate its thousands of entries again; a snapshot
    edited by hand (or damaged) no longer matches and is validated entry by entry.
    """
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _check_op(op: Any) -> str | None:
    if type(op) is not dict:
        return "an op must be a JSON object"
    kind = op.get("op")
    if kind not in ("put", "del"):
        return f"an op must be 'put' or 'del', not {op.get('op')!r}"
    if op.get("table") not in JOURNAL_TABLES:
        return f"an op's table must be one of {JOURNAL_TABLES}, not {op.get('table')!r}"
    if type(op.get("key")) is not str or not op["key"]:
        return "an op's key must be a non-empty string"
    if kind == "put" and type(op.get("doc")) is not dict:
        return "a put must carry its document (a JSON object)"
    return None


def check_journal_line(record: Any) -> str | None:
    """The problem with a journal line, or ``None``: a header or a change of well-formed ops.

    The documents a change puts are checked as index entries when they are replayed
    (``schema.check_index_study``, ``check_task``), as the snapshot's are.
    """
    if type(record) is not dict:
        return "a journal line must be a JSON object"
    kind = record.get("type")
    if kind == "journal":
        if type(record.get("generation")) is not str or not record["generation"]:
            return "a journal header needs its generation (a non-empty string)"
        version = record.get("schema_version")
        if type(version) is not int or version < 1:
            return "a journal header needs its schema_version (an integer)"
        if "snapshot_digest" in record and type(record["snapshot_digest"]) is not str:
            return "a journal header's snapshot_digest must be a string"
        return None
    if kind != "change":
        return f"a journal line's type must be 'journal' or 'change', not {record.get('type')!r}"
    ops = record.get("ops")
    if type(ops) is not list or not ops:
        return "a change must hold a non-empty list of ops"
    for op in ops:
        problem = _check_op(op)
        if problem is not None:
            return problem
    return None


def damaged_journal_lines(raw: bytes) -> list[tuple[int, bytes]]:
    """``(line number, bytes)`` of each damaged complete line of a journal's bytes: not JSON, not a
    well-formed header or change, a first line that is not a header or a later one that is.
    (A torn last line, without its newline, is not damaged: a writer was killed mid-append.)"""
    records, _, bad = scan_bytes(raw, 0, check_journal_line)
    damaged = {line.number: line.raw for line in bad}
    lines = raw.split(b"\n")
    for number, record in records:
        if (number == 1) != (record["type"] == "journal"):  # a header out of place, or none first
            damaged[number] = lines[number - 1]
    return sorted(damaged.items())


def index_changes(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ops that turn the index ``before`` into ``after`` (tasks and studies; ``[]`` when equal).

    Cheap for thousands of documents: a transaction copies each document's top level
    only, so an unchanged one compares equal through its shared nested values.
    """
    ops: list[dict[str, Any]] = []
    for table in JOURNAL_TABLES:
        old, new = before.get(table, {}), after.get(table, {})
        for key, doc in new.items():
            previous = old.get(key)
            if previous is None or previous != doc:
                ops.append({"op": "put", "table": table, "key": key, "doc": doc})
        ops.extend({"op": "del", "table": table, "key": key} for key in old if key not in new)
    return ops


def apply_changes(data: dict[str, dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    """Replay journal changes on the index ``data`` in place (its table dicts must be the caller's own)."""
    for change in changes:
        for op in change["ops"]:
            table = data.setdefault(op["table"], {})
            if op["op"] == "put":
                table[op["key"]] = op["doc"]
            else:
                table.pop(op["key"], None)


def change_documents(changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(table, key)`` of every document the changes put (to validate them as index entries)."""
    return [(op["table"], op["key"]) for change in changes for op in change["ops"] if op["op"] == "put"]


def read_journal_lines(path: Path, start: int) -> tuple[list[dict[str, Any]], int, list[BadLine], tuple[int, int, int]]:
    """The good complete lines of the journal from byte ``start``, the offset after the last one, its
    damaged lines, and the file's identity (inode, size, mtime) as read.

    Reads the file as it was when opened (its size then): a line appended meanwhile is
    left to the next read, which the identity tells apart. ``FileNotFoundError`` when
    there is no journal.
    """
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        handle.seek(start)
        data = handle.read(max(info.st_size - start, 0))
    records, end, bad = scan_bytes(data, start, check_journal_line)
    return [record for _, record in records], end, bad, (info.st_ino, info.st_size, info.st_mtime_ns)
