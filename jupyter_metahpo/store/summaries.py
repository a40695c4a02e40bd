"""Per-study summaries kept up to date incrementally from the append-only trial logs.

A summary is what the meta-learning needs without reading every trial: counts and the
best few ``(config, value)`` pairs. The cache (``summaries.json``) remembers, for each
log, how many bytes it has already folded in; since logs only grow, a later load reads
just the new bytes. The study's own fields (name, status, task, space) are the index's:
the cache does not copy them, so it stays a fraction of the index's size and never goes
stale when the index changes. The cache is derived data: if it is missing, stale or
unreadable it is rebuilt from the logs, so a failure to write it never fails a read.

Each entry also keeps the study's *facts* (:func:`study_facts`): what the warm start's
choice of past studies reads of it (its parameters' names and kinds, its objective's
source fingerprint, estimator families and a short sketch of its code), computed once
when the study first enters the cache. A study's space and objective never change once
it is stored, so the facts stay valid until the study is forgotten; they are recomputed
when its space signature no longer matches (an edited index).

The file is laid out for a fast parse, since a study's start reads it whole: the
parameters are kept once per space signature (``"spaces"``) and the source facts once
per objective (``"sources"``); an entry's best trials are kept as JSON text, parsed only
when a summary's :attr:`best` is read, and its best value beside them.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .storage import atomic_write, dumps, gc_paused, scan_log

__all__ = ["SUMMARY_BEST_K", "SKETCH_SIZE", "SummaryCache", "fold_trials", "study_facts", "best_pairs"]

#: Bytes of log lines read (new lines, or the logs of new studies) before the cache file is
#: rewritten. Below this the refreshed entries stay in memory only: re-reading a few small
#: deltas on the next load is cheaper than re-encoding the whole cache after every trial
#: or every new study.
SAVE_AFTER_BYTES = 256 * 1024
#: What computing one study's facts counts for against :data:`SAVE_AFTER_BYTES` (a header read).
FACTS_WORK = 4096
#: How many best trials a summary keeps per study.
SUMMARY_BEST_K = 5
#: Shingle hashes of an objective's source kept in the facts (the smallest ones: a bottom-k
#: sketch of the stored one, enough to rank past studies by code similarity).
SKETCH_SIZE = 32
# 3: a study's light fields hold its owners; 4: no index fields, facts, compact layout; 5: the source facts hold
# the roles its parameters set
_CACHE_VERSION = 5
#: What a parameter of each JSON type is to matching (``Parameter.kind``).
_KINDS = {"uniform": "float", "loguniform": "float", "intrange": "int", "choice": "categorical"}
#: Entry fields that describe the study rather than its log: kept when the log is re-read.
_STUDY_FIELDS = ("facts",)


def _empty_entry() -> dict[str, Any]:
    return {"inode": None, "offset": 0, "n_trials": 0, "n_complete": 0, "n_failed": 0, "best": [], "best_value": None}


def best_pairs(entry: Mapping[str, Any]) -> list[list[Any]]:
    """An entry's best ``[config, value]`` pairs (kept as JSON text in the file, as a list once folded)."""
    best = entry.get("best")
    if isinstance(best, str):
        try:
            best = json.loads(best)
        except ValueError:
            best = None
    return best if isinstance(best, list) else []


def study_facts(doc: Mapping[str, Any], signature: str, source: Any) -> tuple[dict[str, Any], list[list[str]], dict[str, Any] | None]:
    """What choosing past studies reads of a study (see the module docstring).

    ``doc`` is its index entry, ``signature`` its space signature (kept to tell when the
    facts are stale), ``source`` its recorded objective source (``None`` without one).
    Returns the entry's facts (``{"signature", "source"}``: ``source`` is the key of the
    source facts, or ``None``), the parameters ``[[name, kind], ...]`` in the space's
    order (``kind`` as ``Parameter.kind``), and the source facts: ``format``,
    ``fingerprint``, ``families``, ``sketch`` (the :data:`SKETCH_SIZE` smallest
    shingle hashes, concatenated: each has 8 characters) and ``roles`` (what its
    parameters set, by the role's name: ``C``, ``hidden_width``; only those passed as they
    are or as a power, which a match reads), so that a study whose parameters have other
    names than a new one's is chosen for the arguments they set.
    """
    parameters = doc["space"].get("parameters")
    parameters = parameters if isinstance(parameters, Mapping) else {}  # the index was validated: defensive only
    params = [[name, _KINDS.get(p.get("type") if isinstance(p, Mapping) else None, "unknown")] for name, p in parameters.items()]
    facts = _source_facts(source)
    key = None if facts is None else f"{facts['fingerprint']}:{','.join(facts['families'])}"
    return {"signature": signature, "source": key}, params, facts


def _source_facts(source: Any) -> dict[str, Any] | None:
    if not isinstance(source, Mapping) or not isinstance(source.get("fingerprint"), str):
        return None
    shingles = source.get("shingles")
    shingles = sorted(s for s in shingles if isinstance(s, str) and len(s) == 8) if isinstance(shingles, list) else []
    families = source.get("families")
    return {
        "format": source.get("format"),
        "fingerprint": source["fingerprint"],
        "families": [f for f in families if isinstance(f, str)] if isinstance(families, list) else [],
        "sketch": "".join(shingles[:SKETCH_SIZE]),
        "roles": _role_names(source.get("roles")),
    }


def _role_names(roles: Any) -> list[str]:
    """The roles of a recorded source's ``roles`` (``[parameter, target, argument, role, direct, base]`` lists)
    that pass a parameter on as it is or as a power, sorted; none for anything unreadable."""
    if not isinstance(roles, list):
        return []
    return sorted({r[3] for r in roles if isinstance(r, list) and len(r) >= 5 and isinstance(r[3], str)
                   and (r[4] is True or (len(r) > 5 and isinstance(r[5], (int, float))))})


def fold_trials(entry: dict[str, Any], records: list[tuple[int, Any]], maximize: bool) -> dict[str, Any]:
    """Add the trial lines in ``records`` to a summary entry (in place) and return it.

    The records were checked when read (``schema.check_log_line``): a trial line here
    has a state, a config and, when complete, a finite value.
    """
    best = best_pairs(entry)
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
    entry["best"] = best
    entry["best_value"] = best[0][1] if best else None
    return entry


class SummaryCache:
    """Reads, refreshes and (best effort) saves the summaries cache of one store.

    :meth:`load` gives ``{"studies": {study_id: entry}, "spaces": {signature: params},
    "sources": {key: source facts}}``.
    """

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
        """The cache (see the class docstring); empty when unusable."""
        key = self._key()
        if key is not None and key == self._memo_key:
            return self._memo
        studies = self._load()
        self._memo_key, self._memo = key, studies
        return studies

    def _load(self) -> dict[str, Any]:
        empty: dict[str, Any] = {"studies": {}, "spaces": {}, "sources": {}}
        try:
            with gc_paused():
                data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return empty  # derived data: a missing or unreadable cache is rebuilt from the logs
        if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION or not all(
            isinstance(data.get(part), dict) for part in empty
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
        base = dict(entry) if valid else _empty_entry()  # type: ignore[arg-type]
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

    def save(self, data: dict[str, Any]) -> None:
        """Rewrite the cache file with ``data`` (as :meth:`load` gives it; best effort: a failure warns).

        The spaces and sources no entry uses are left out, and the best trials written as text.
        """
        studies = data["studies"]
        used_spaces = {e["facts"]["signature"] for e in studies.values() if e.get("facts")}
        used_sources = {e["facts"]["source"] for e in studies.values() if e.get("facts")}
        compact = {sid: _compact(entry) for sid, entry in studies.items()}
        out = {
            "version": _CACHE_VERSION,
            "studies": compact,
            "spaces": {k: v for k, v in data["spaces"].items() if k in used_spaces},
            "sources": {k: v for k, v in data["sources"].items() if k in used_sources},
        }
        payload = dumps(out).encode("utf-8")
        try:
            # No fsync: a cache lost in a power cut is rebuilt from the logs.
            atomic_write(self.path, payload, what="the summaries cache", durable=False)
            self._memo_key, self._memo = self._key(), out
        except OSError as error:  # StoreWriteError is an OSError: a read-only store still reads
            warnings.warn(f"could not update the summaries cache: {error}", RuntimeWarning, stacklevel=3)


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the file keeps it: its best trials as JSON text (unchanged when already so)."""
    best = entry.get("best")
    return entry if isinstance(best, str) else {**entry, "best": dumps(best or [])}
