"""Per-study summaries kept up to date incrementally from the append-only trial logs.

A summary is what the meta-learning needs without reading every trial: counts and the
best few ``(config, value)`` pairs. The cache (``summaries.json``) remembers, for each
log, how many bytes it has already folded in; since logs only grow, a later load reads
just the new bytes. It also keeps each study's light fields (name, signature,
direction, status) and its task, stamped with the index file's identity, so that
while the index is unchanged a load parses this one file and nothing else. The cache is derived data: if it is missing, stale or unreadable it
is rebuilt from the logs, so a failure to write it never fails a read.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .storage import atomic_write, dumps, scan_log

__all__ = ["SUMMARY_BEST_K", "SummaryCache", "fold_trials"]

#: Bytes of new log lines folded in before the cache file is rewritten. Below this the
#: refreshed entries stay in memory only: re-reading a few small deltas on the next
#: load is cheaper than re-encoding the whole cache after every trial.
SAVE_AFTER_BYTES = 256 * 1024
#: How many best trials a summary keeps per study.
SUMMARY_BEST_K = 5
_CACHE_VERSION = 3  # 3: a study's light fields hold its owners


def _empty_entry() -> dict[str, Any]:
    return {"inode": None, "offset": 0, "n_trials": 0, "n_complete": 0, "n_failed": 0, "best": []}


def fold_trials(entry: dict[str, Any], records: list[tuple[int, Any]], maximize: bool) -> dict[str, Any]:
    """Add the trial lines in ``records`` to a summary entry (in place) and return it.

    The records were checked when read (``schema.check_log_line``): a trial line here
    has a state, a config and, when complete, a finite value.
    """
    best = entry["best"]
    for _, record in records:
        if not isinstance(record, Mapping) or record.get("type") != "trial":
            continue
        entry["n_trials"] += 1
        state = record.get("state")
        if state == "complete":
            entry["n_complete"] += 1
            best.append([record.get("config"), record.get("value")])
        elif state == "pruned":  # counted apart (caches from before pruning have no count: none were pruned)
            entry["n_pruned"] = entry.get("n_pruned", 0) + 1
        else:
            entry["n_failed"] += 1
    best.sort(key=lambda pair: -pair[1] if maximize else pair[1])
    del best[SUMMARY_BEST_K:]
    return entry


class SummaryCache:
    """Reads, refreshes and (best effort) saves the summaries cache of one store."""

    def __init__(self, path: Path, durable: bool = True) -> None:
        self.path = path
        self.durable = durable
        # The entries last loaded or saved, reused while the file is unchanged. Entries
        # are never modified in place (refresh builds new ones), so sharing them is safe.
        self._memo_key: tuple[int, int, int] | None = None
        self._memo: dict[str, Any] = {}

    def _key(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def load(self) -> dict[str, Any]:
        """``{"index_key": [...] or None, "studies": {study_id: entry}}``; empty when unusable."""
        key = self._key()
        if key is not None and key == self._memo_key:
            return self._memo
        studies = self._load()
        self._memo_key, self._memo = key, studies
        return studies

    def _load(self) -> dict[str, Any]:
        empty = {"index_key": None, "studies": {}}
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return empty  # derived data: a missing or unreadable cache is rebuilt from the logs
        if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION or not isinstance(data.get("studies"), dict):
            return empty
        return data

    def remember(self, data: dict[str, Any]) -> None:
        """Keep refreshed entries in memory without rewriting the file (see SAVE_AFTER_BYTES)."""
        key = self._key()
        if key is not None:
            self._memo_key, self._memo = key, data

    def refresh(self, entry: dict[str, Any] | None, log: str | Path, maximize: bool) -> tuple[dict[str, Any], int, bool]:
        """The entry brought up to date with ``log``, how many new bytes were folded in
        (``-1`` when the entry changed for another reason: a new, replaced or missing log),
        and whether the new bytes held damaged lines (skipped here; the store moves them aside)."""
        try:
            stat = os.stat(log)
        except FileNotFoundError:
            fresh = _empty_entry()
            if isinstance(entry, dict):
                fresh.update({k: entry[k] for k in ("doc", "task") if k in entry})
            return fresh, 0 if entry == fresh else -1, False
        valid = (
            isinstance(entry, dict)
            and entry.get("inode") == stat.st_ino
            and isinstance(entry.get("offset"), int)
            and entry["offset"] <= stat.st_size
        )
        if valid and entry["offset"] == stat.st_size:  # type: ignore[index]
            return entry, 0, False  # type: ignore[return-value]
        base = dict(entry, best=list(entry["best"])) if valid else _empty_entry()  # type: ignore[arg-type]
        if not valid and isinstance(entry, dict):
            base.update({k: entry[k] for k in ("doc", "task") if k in entry})
        records, end, bad = scan_log(log, base["offset"])
        if end == base["offset"] and valid:
            return entry, 0, False  # type: ignore[return-value]  # only a torn tail: nothing new
        folded = end - base["offset"] if valid else -1
        fold_trials(base, records, maximize)
        base["offset"] = end
        base["inode"] = stat.st_ino
        return base, folded, bool(bad)

    def save(self, index_key: Any, studies: dict[str, dict[str, Any]]) -> None:
        data = {"version": _CACHE_VERSION, "index_key": index_key, "studies": studies}
        payload = dumps(data).encode("utf-8")
        try:
            # No fsync: a cache lost in a power cut is rebuilt from the logs.
            atomic_write(self.path, payload, what="the summaries cache", durable=False)
            self._memo_key, self._memo = self._key(), data
        except OSError as error:  # StoreWriteError is an OSError: a read-only store still reads
            warnings.warn(f"could not update the summaries cache: {error}", RuntimeWarning, stacklevel=3)
