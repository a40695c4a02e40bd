"""The build's raw results: one append-only JSON-lines file per (space, dataset).

The runs live outside the package, in ``prior-build/runs/`` at the top of the
repository (only the packed ``data/`` ships): :func:`resolve_runs_dir` finds that
folder, or the one named by ``--runs DIR`` or ``$JUPYTER_METAHPO_PRIOR_RUNS``, and
says how to get one when there is none (an installed package has none).

``<runs>/<space>/<dataset>.jsonl`` starts with a header line (the space's JSON, the
dataset's metadata, the protocol and the pool size), then one line per finished
evaluation. ``<runs>/<space>/curves/<dataset>.jsonl`` (``build --curves``) has the same
format, its header adding ``curves`` (the curve format) and each line the fold curves.
Each line is written whole, flushed and fsynced before the next one, so
a killed build loses at most the evaluations that were running. A torn last line
(the process died mid-write, or a commit caught the file mid-append) is ignored when
reading and cut off before the next append; an evaluation that appears twice counts
once (the first record wins). Nothing here executes what it reads.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX (Windows): _lock then takes no lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "RUNS_ENV_VAR",
    "RunFile",
    "RunRecord",
    "RunFileBusyError",
    "RunMismatchError",
    "RunsDirNotFoundError",
    "default_runs_dir",
    "read_run",
    "resolve_runs_dir",
]

HEADER = "header"
EVAL = "eval"

#: Names the runs folder in place of the repository's ``prior-build/runs``.
RUNS_ENV_VAR = "JUPYTER_METAHPO_PRIOR_RUNS"


class RunsDirNotFoundError(FileNotFoundError):
    """There is no runs folder where one was asked for (an installed package has none)."""


def default_runs_dir() -> Path:
    """``$JUPYTER_METAHPO_PRIOR_RUNS`` if set, else ``prior-build/runs`` of the repository
    that holds this package (which exists only in a clone, not in an installed wheel)."""
    override = os.environ.get(RUNS_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[2] / "prior-build" / "runs"


def resolve_runs_dir(runs_dir: str | os.PathLike[str] | None = None, *, create: bool = False) -> Path:
    """The runs folder to use: ``runs_dir`` when given, else :func:`default_runs_dir`.

    The folder must exist, except that a build (``create=True``) may start a new one
    that was named on purpose (``runs_dir`` or the environment variable); the default
    folder is never created, so an installed package does not grow a stray one.
    """
    named = runs_dir is not None or bool(os.environ.get(RUNS_ENV_VAR))
    path = Path(runs_dir).expanduser() if runs_dir is not None else default_runs_dir()
    if path.is_dir() or (create and named and not path.exists()):
        return path
    if path.exists():
        raise RunsDirNotFoundError(f"the prior's runs folder {path} is not a folder; pass a folder with --runs DIR.")
    origin = "given" if runs_dir is not None else (f"named by ${RUNS_ENV_VAR}" if named else "the default")
    raise RunsDirNotFoundError(
        f"no prior runs folder at {path} ({origin}). The raw runs of the prior's build live in a clone of "
        "the repository (prior-build/runs/), not in an installed package: run `python -m jupyter_metahpo.prior` "
        f"from a clone, or pass the folder with --runs DIR (or set ${RUNS_ENV_VAR})."
    )


class RunMismatchError(ValueError):
    """A run file was written for a different space, dataset or protocol."""


@dataclass
class RunRecord:
    """What a run file holds: its header and its evaluations by pool index."""

    header: dict[str, Any] | None = None
    evals: dict[int, dict[str, Any]] = field(default_factory=dict)
    torn_bytes: int = 0  # bytes after the last complete line
    valid_bytes: int = 0  # length of the well-formed prefix


def _parse_lines(data: bytes) -> RunRecord:
    record = RunRecord()
    end = data.rfind(b"\n") + 1
    record.valid_bytes, record.torn_bytes = end, len(data) - end
    for raw in data[:end].splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            # A complete but garbled line (a torn write followed by a newer append);
            # skipped, so its evaluation is simply redone.
            continue
        if not isinstance(line, dict):
            continue
        if line.get("kind") == HEADER and record.header is None:
            record.header = line
        elif line.get("kind") == EVAL and isinstance(line.get("index"), int):
            record.evals.setdefault(line["index"], line)
    return record


def read_run(path: str | os.PathLike[str]) -> RunRecord:
    """Read a run file; a missing file reads as empty."""
    path = Path(path)
    if not path.exists():
        return RunRecord()
    return _parse_lines(path.read_bytes())


class RunFileBusyError(RuntimeError):
    """Another process is appending to the same run file."""


class RunFile:
    """Appends evaluations of one space on one dataset, resuming what is there.

    While open, the file is held under an exclusive advisory lock (``flock``), so a
    second build on the same file fails at once instead of interleaving or cutting
    the first one's lines. Readers (:func:`read_run`, ``status``, ``assemble``) take no
    lock: they only ever trust whole lines. Call :meth:`close` (or use ``with``).
    """

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")
        try:
            _lock(self._file, self.path)
            record = read_run(self.path)
            if record.torn_bytes:
                # Cut the torn tail so the next line starts on a line of its own.
                self._file.truncate(record.valid_bytes)
                self._sync()
            if record.header is not None:
                _check_header(self.path, record.header, header)
        except BaseException:
            self._file.close()
            raise
        self.header = record.header or header
        self.done: dict[int, dict[str, Any]] = dict(record.evals)
        if record.header is None:
            self._append({**header, "kind": HEADER})

    def record(self, index: int, config: dict[str, Any], result: dict[str, Any], **extra: Any) -> None:
        """Write one finished evaluation; a second record of the same index is ignored."""
        if index in self.done:
            return
        line = {"kind": EVAL, "index": int(index), "config": config, **result, **extra}
        self._append(line)
        self.done[index] = line

    def close(self) -> None:
        self._file.close()  # closing releases the lock

    def __enter__(self) -> RunFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _append(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, sort_keys=True, allow_nan=False) + "\n"
        self._file.write(text.encode())
        self._sync()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())


def _lock(file: Any, path: Path) -> None:
    if fcntl is None:  # not POSIX: no advisory locks; one build at a time is then up to the user
        return
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RunFileBusyError(
            f"{path} is being written by another build; wait for it to finish (see `python -m "
            "jupyter_metahpo.prior status`) or stop it before starting another on the same runs."
        ) from None


def _check_header(path: Path, found: dict[str, Any], expected: dict[str, Any]) -> None:
    for key in ("space", "space_json", "protocol", "pool_size", "curves"):  # "curves": only in curve files
        if found.get(key) != expected.get(key):
            raise RunMismatchError(
                f"{path} was written with a different {key} than this build uses "
                f"(found {found.get(key)!r}, expected {expected.get(key)!r}). Move the file aside "
                "to rebuild it, or build into another folder with --runs DIR."
            )
    fingerprint = (found.get("dataset") or {}).get("fingerprint")
    if fingerprint != (expected.get("dataset") or {}).get("fingerprint"):
        raise RunMismatchError(
            f"{path} was built on different data (fingerprint {fingerprint!r}); the dataset package "
            "or the row cap changed. Move the file aside to rebuild it."
        )
