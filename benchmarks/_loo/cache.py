"""Finished runs on disk, so that a benchmark of many hours resumes where it stopped.

The full leave-one-task-out run is longer than one working session on a 2-core
machine, so every finished (method, held-out task, seed) run is appended to a JSON
Lines file as soon as its task is done, and a rerun of the same command reuses it.

A cached run is only reused when everything that decides it is unchanged:

- the method's name, the held-out task, the seed and the budget;
- the held-out pool itself (a digest of its configurations and scores);
- the past studies the method may learn from (a digest of their ids and sizes), so
  that a prior grown by more datasets reruns the tasks it affects;
- :data:`RESULTS_VERSION`, which is bumped whenever a method's behaviour changes.

A method renamed without a change of behaviour keeps its stored runs: the key is looked
up under its former name too (:data:`RENAMED_METHODS`).

Each line also records the commit it was measured at (``git describe``; "-dirty" when
code differed from it, the prior's run files and results aside), which the report
lists, so a table that mixes runs of several commits says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_metahpo.experience import PastStudy

from .pool import PoolTask

__all__ = [
    "RESULTS_VERSION", "RENAMED_METHODS", "RunCache", "run_key", "former_key", "task_digest", "past_digest",
    "code_revision",
]

#: Bump when a method's choices change (sampler, strategy or peer code), so that old runs are not reused.
RESULTS_VERSION = 1

#: Methods renamed while their code stayed the same: new name -> the name their stored runs carry.
#: "ours: cold GP" was "ours: cold BoTorch" until 2026-12-04, though its sampler never ran BoTorch.
RENAMED_METHODS = {"ours: cold GP": "ours: cold BoTorch"}


def _digest(payload: Any) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def task_digest(task: PoolTask) -> str:
    """The held-out pool: its configurations and scores."""
    return _digest([task.key, [dict(c) for c in task.configs], [round(float(s), 12) for s in task.scores]])


def past_digest(past: Sequence[PastStudy]) -> str:
    """What a meta-model may learn from: every past study's id and number of evaluations."""
    return _digest(sorted((s.study_id, len(s.values)) for s in past))


def run_key(method: str, task: PoolTask, seed: int, budget: int, task_hash: str, past_hash: str) -> str:
    return f"v{RESULTS_VERSION}|{method}|{task.key}|seed={seed}|budget={budget}|{task_hash}|{past_hash}"


def former_key(key: str) -> tuple[str, str] | None:
    """The key a run had before its method was renamed, and the method's new name; None if never renamed.

    The method part of a key is its identity: the name, plus ``@version`` once bumped.
    """
    parts = key.split("|", 2)
    if len(parts) < 3:
        return None
    results_version, identity, rest = parts
    name, at, behaviour = identity.partition("@")
    former = RENAMED_METHODS.get(name)
    if former is None:
        return None
    return f"{results_version}|{former}{at}{behaviour}|{rest}", name


#: Data that changes while benchmarks run (the prior build, results): not code, so not "dirty".
_DATA_PATHS = (":!prior-build", ":!jupyter_metahpo/prior/data", ":!benchmarks/results", ":!docs/images")


def code_revision(root: Path | None = None) -> str:
    """The commit (``git describe --always``), with "-dirty" if code differs from it; "unknown" outside git."""
    root = root or Path(__file__).resolve().parents[2]
    try:
        described = subprocess.run(["git", "describe", "--always"], cwd=root, capture_output=True, text=True, timeout=10)
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *_DATA_PATHS],
                                 cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    revision = described.stdout.strip()
    if not revision:
        return "unknown"
    return f"{revision}-dirty" if changed.stdout.strip() else revision


class RunCache:
    """Finished runs by :func:`run_key`, read from and appended to one JSON Lines file.

    A line cut short by a killed process is skipped when reading (the run is simply
    done again). Runs that ended in an error are never stored, so they are retried.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.runs: dict[str, dict[str, Any]] = {}
        self.used: set[str] = set()  # keys reused or added by this process, for :meth:`revisions`
        self.revision = code_revision()
        if self.path.exists():
            with self.path.open() as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                        self.runs[record["key"]] = record
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue

    def __len__(self) -> int:
        return len(self.runs)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result of ``key``, or of the same run stored under its method's former name."""
        record = self.runs.get(key)
        if record is not None:
            self.used.add(key)
            return record["result"]
        renamed = former_key(key)
        if renamed is None or renamed[0] not in self.runs:
            return None
        old_key, name = renamed
        self.used.add(old_key)
        return {**self.runs[old_key]["result"], "method": name}  # reported under the name it has now

    def add(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Append ``(key, result fields)`` pairs and flush them to disk before returning."""
        entries = [(key, result) for key, result in entries if not result.get("error")]
        if not entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            if _ends_without_newline(self.path):
                handle.write("\n")  # close a line cut short by a killed run, so the next one stays whole
            for key, result in entries:
                record = {"key": key, "revision": self.revision, "result": _compact(result)}
                self.runs[key] = record
                self.used.add(key)
                handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def revisions(self) -> list[str]:
        """The commits that the runs reused or added by this process were measured at."""
        return sorted({self.runs[k]["revision"] for k in self.used})


def _compact(result: dict[str, Any]) -> dict[str, Any]:
    """Rounded floats: the file grows by some 10^4 runs and six digits are plenty for regret and seconds.

    A result without a curve (one fit's score, :mod:`.user_live`) is stored as it is.
    """
    out = dict(result)
    if "curve" in result:
        out["curve"] = [round(float(x), 6) for x in result["curve"]]
    if "suggest_seconds" in result:
        out["suggest_seconds"] = [round(float(x), 5) for x in result["suggest_seconds"]]
    return out


def _ends_without_newline(path: Path) -> bool:
    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) != b"\n"
