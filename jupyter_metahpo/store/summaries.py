"""Per-study summaries kept up to date incrementally from the append-only trial logs.

A summary is what the meta-learning needs without reading every trial: counts and the
best few ``(config, value)`` pairs. The cache (``summaries.json``) remembers, for each
log, how many bytes it has already folded in; since logs only grow, a later load reads
just the new bytes. The study's own fields (name, status, task, space) are the index's:
the cache does not copy them, so it stays a fraction of the index's size and never
goes stale when the index changes. The cache is derived data: if it is missing, stale
or unreadable it is rebuilt from the logs, so a failure to write it never fails a read.

Each entry also keeps the study's *facts* (:func:`study_facts`): what the warm start's
choice of past studies reads of it (its parameters' names and kinds, its objective's
source fingerprint and estimator families, and a short sketch of its code, kept once
per fingerprint under ``"sketches"``), computed once from the index when the study
first enters the cache. A study's space and settings never change once it is stored,
so the facts stay valid until the study is forgotten; they are recomputed when its
space signature no longer matches (an edited index).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .storage import atomic_write, dumps, scan_log

__all__ = ["SUMMARY_BEST_K", "SKETCH_SIZE", "SummaryCache", "fold_trials", "study_facts"]

#: Bytes of new log lines folded in before the cache file is rewritten. Below this the
#: refreshed entries stay in memory only: re-reading a few small deltas on the next
#: load is cheaper than re-encoding the whole cache after every trial.
SAVE_AFTER_BYTES = 256 * 1024
#: How many best trials a summary keeps per study.
SUMMARY_BEST_K = 5
#: Shingle hashes of an objective's source kept in the facts (the smallest ones: a bottom-k
#: sketch of the stored one, enough to rank past studies by code similarity; the full
#: source stays in the index).
SKETCH_SIZE = 32
_CACHE_VERSION = 4  # 3: a study's light fields hold its owners; 4: no index fields, the study's facts
#: What a parameter of each JSON type is to matching (``Parameter.kind``).
_KINDS = {"uniform": "float", "loguniform": "float", "intrange": "int", "choice": "categorical"}
#: Entry fields that describe the study rather than its log: kept when the log is re-read.
_STUDY_FIELDS = ("facts",)


def _empty_entry() -> dict[str, Any]:
    return {"inode": None, "offset": 0, "n_trials": 0, "n_complete": 0, "n_failed": 0, "best": []}


def study_facts(doc: Mapping[str, Any], signature: str) -> tuple[dict[str, Any], str | None]:
    """What choosing past studies reads of a study (see the module docstring), from its index entry.

    Returns the facts and the sketch of its objective's code (``None`` without one).
    ``params`` lists ``[name, kind]`` in the space's order (``kind`` as ``Parameter.kind``);
    ``source`` is ``None`` without a recorded objective source, else its ``format``,
    ``fingerprint`` and ``families``. The sketch is the :data:`SKETCH_SIZE` smallest
    shingle hashes, concatenated (each has 8 characters); it depends on the fingerprint
    only, so the cache keeps one per fingerprint. ``signature`` is the study's space
    signature, kept to tell when the facts are stale.
    """
    parameters = doc["space"].get("parameters")
    parameters = parameters if isinstance(parameters, Mapping) else {}  # the index was validated: defensive only
    params = [[name, _KINDS.get(p.get("type") if isinstance(p, Mapping) else None, "unknown")] for name, p in parameters.items()]
    source = (doc.get("settings") or {}).get("objective_source")
    facts, sketch = _source_facts(source)
    return {"signature": signature, "params": params, "source": facts}, sketch


def _source_facts(source: Any) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(source, Mapping) or not isinstance(source.get("fingerprint"), str):
        return None, None
    shingles = source.get("shingles")
    shingles = sorted(s for s in shingles if isinstance(s, str) and len(s) == 8) if isinstance(shingles, list) else []
    families = source.get("families")
    facts = {
        "format": source.get("format"),
        "fingerprint": source["fingerprint"],
        "families": [f for f in families if isinstance(f, str)] if isinstance(families, list) else [],
    }
    return facts, "".join(shingles[:SKETCH_SIZE])


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
        if record.get("state") == "complete":
            entry["n_complete"] += 1
            best.append([record.get("config"), record.get("value")])
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
        """``{"studies": {study_id: entry}, "sketches": {fingerprint: sketch}}``; empty when unusable."""
        key = self._key()
        if key is not None and key == self._memo_key:
            return self._memo
        studies = self._load()
        self._memo_key, self._memo = key, studies
        return studies

    def _load(self) -> dict[str, Any]:
        empty: dict[str, Any] = {"studies": {}, "sketches": {}}
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return empty  # derived data: a missing or unreadable cache is rebuilt from the logs
        if (
            not isinstance(data, dict) or data.get("version") != _CACHE_VERSION
            or not isinstance(data.get("studies"), dict) or not isinstance(data.get("sketches"), dict)
        ):
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
                fresh.update({k: entry[k] for k in _STUDY_FIELDS if k in entry})
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
            base.update({k: entry[k] for k in _STUDY_FIELDS if k in entry})
        records, end, bad = scan_log(log, base["offset"])
        if end == base["offset"] and valid:
            return entry, 0, False  # type: ignore[return-value]  # only a torn tail: nothing new
        folded = end - base["offset"] if valid else -1
        fold_trials(base, records, maximize)
        base["offset"] = end
        base["inode"] = stat.st_ino
        return base, folded, bool(bad)

    def save(self, studies: dict[str, dict[str, Any]], sketches: dict[str, str]) -> None:
        """Rewrite the cache file (best effort: a failure warns) with these entries and the sketches they use."""
        used = {entry["facts"]["source"]["fingerprint"] for entry in studies.values() if (entry.get("facts") or {}).get("source")}
        data = {"version": _CACHE_VERSION, "studies": studies, "sketches": {k: v for k, v in sketches.items() if k in used}}
        payload = dumps(data).encode("utf-8")
        try:
            # No fsync: a cache lost in a power cut is rebuilt from the logs.
            atomic_write(self.path, payload, what="the summaries cache", durable=False)
            self._memo_key, self._memo = self._key(), data
        except OSError as error:  # StoreWriteError is an OSError: a read-only store still reads
            warnings.warn(f"could not update the summaries cache: {error}", RuntimeWarning, stacklevel=3)
