"""Durable file operations: atomic rewrites, append-only logs, moving corrupt files aside.

Every write of the store goes through three primitives here:

* :func:`atomic_write` — write a temporary file in the same folder, fsync it, rename it
  over the target, fsync the folder. A crash leaves the old file or the new one,
  never a mix; a failed write (disk full) leaves the old one and removes the temporary.
* :func:`append_record` — add one JSON line to a log. A torn line left by a crash is
  cut off first; a failed write is rolled back by truncating to the old size.
* :func:`read_log` — read a log's complete lines, ignoring a torn last line.

Callers hold the store's :class:`filelock.FileLock` around writes; readers take no
lock, because a rename is atomic and a torn tail is ignored.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import StoreCorruptError, StoreWriteError, describe_os_error

__all__ = [
    "atomic_write",
    "append_record",
    "read_log",
    "read_json_file",
    "move_aside",
    "dumps",
    "write_errors_as",
]

#: How far back to look for the end of the last complete line when repairing a torn log.
_TAIL_CHUNK = 64 * 1024


def dumps(data: Any) -> str:
    """Compact JSON that refuses NaN and inf (they are not JSON and would not load back)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


@contextmanager
def write_errors_as(what: str, path: Path) -> Iterator[None]:
    """Turn an ``OSError`` into a :class:`StoreWriteError` that names the file and the cause."""
    try:
        yield
    except StoreWriteError:
        raise
    except OSError as error:
        raise StoreWriteError(
            f"could not write {what} to {path}: {describe_os_error(error)}. "
            "The store is unchanged: nothing of this write was kept.",
            error.errno,
        ) from error


def _write_all(fd: int, data: bytes) -> None:
    # os.write may write less than asked (signals, nearly full disks): loop until done.
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _datasync(fd: int) -> None:
    # fdatasync flushes the data and the size (what a reader needs), skipping the
    # timestamps that a full fsync would also write; where it is missing, fsync.
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform lets a folder be opened.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # folders that cannot be fsynced (some network file systems): the rename still happened
    finally:
        os.close(fd)


def prepare_atomic(path: Path, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to a temporary file next to ``path`` and return it (not yet renamed).

    On failure the temporary file is removed and the error propagates; ``path`` is untouched.
    """
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        try:
            # mkstemp makes the file private (0600); give it the mode a plain open() would.
            if hasattr(os, "fchmod"):  # not on Windows, where mkstemp's mode is not an issue
                os.fchmod(fd, _target_mode(path))
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _target_mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    global _UMASK
    if _UMASK is None:  # reading the umask means setting it; do it once
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


_UMASK: int | None = None


def commit_atomic(temp: Path, path: Path, *, durable: bool = True) -> None:
    """Rename a prepared temporary file over ``path`` (atomic on POSIX and Windows)."""
    os.replace(temp, path)
    if durable:
        _fsync_dir(path.parent)


def atomic_write(path: Path, data: bytes, *, what: str = "data", durable: bool = True) -> None:
    """Replace ``path`` by ``data`` so that a crash or a failed write keeps the old file."""
    with write_errors_as(what, path):
        temp = prepare_atomic(path, data, durable=durable)
        try:
            commit_atomic(temp, path, durable=durable)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def _end_of_last_line(fd: int, size: int) -> int:
    """The offset just after the last newline of the file (0 if it has none)."""
    end = size
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        chunk = os.pread(fd, end - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


def append_record(path: Path, record: Any, *, what: str = "a record", durable: bool = True) -> None:
    """Append ``record`` as one JSON line to the existing log at ``path``.

    The caller holds the store lock. A torn last line (a writer killed mid-write) is cut
    off first, so the new line starts on a line of its own. If the write fails, the log
    is truncated back to its previous size and a :class:`StoreWriteError` says why.
    """
    line = (dumps(record) + "\n").encode("utf-8")
    with write_errors_as(what, path):
        fd = os.open(path, os.O_RDWR | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                size = _end_of_last_line(fd, size)
                os.ftruncate(fd, size)
            try:
                _write_all(fd, line)
                if durable:
                    _datasync(fd)
            except OSError:
                # Roll back the partial line; if even that fails, readers ignore a torn tail.
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)


def create_log(path: Path, header: Any, *, what: str = "a study log", durable: bool = True) -> None:
    """Create a new log whose first line is ``header`` (atomically: it appears complete or not at all)."""
    atomic_write(path, (dumps(header) + "\n").encode("utf-8"), what=what, durable=durable)


def read_log(path: str | Path, start: int = 0) -> tuple[list[tuple[int, Any]], int]:
    """The complete JSON lines of a log from byte ``start``, and the offset after the last one.

    Returns ``([(line_number, record), ...], end)``; line numbers count from 1 only when
    ``start`` is 0 (otherwise they are relative). A torn last line (no newline) is
    ignored. A complete line that is not JSON raises :class:`StoreCorruptError` after
    moving the file aside.
    """
    with open(path, "rb") as handle:
        if start:
            handle.seek(start)
        data = handle.read()
    end = data.rfind(b"\n") + 1
    numbered = [(n, raw) for n, raw in enumerate(data[:end].split(b"\n")[:-1], start=1) if raw.strip()]
    try:
        # One parse for the whole log: several times faster than a json.loads per line.
        values = json.loads(b"[" + b",".join(raw for _, raw in numbered) + b"]")
    except ValueError:
        values = None  # some line is bad: find which, below
    if values is not None and len(values) == len(numbered):
        return [(n, v) for (n, _), v in zip(numbered, values)], start + end
    records: list[tuple[int, Any]] = []
    for number, raw in numbered:
        try:
            records.append((number, json.loads(raw)))
        except ValueError as problem:
            raise corrupt_file(Path(path), f"line {number} is not valid JSON ({problem})") from None
    return records, start + end


def read_json_file(path: Path, what: str) -> Any:
    """Parse a JSON file of the store; a corrupt one is moved aside and reported."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    if not raw.strip():
        raise corrupt_file(path, f"the {what} is empty (a truncated write?)")
    try:
        return json.loads(raw)
    except ValueError as problem:
        raise corrupt_file(path, f"the {what} is not valid JSON ({problem})") from None


def _timestamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def move_aside(path: Path) -> Path:
    """Rename ``path`` to ``path.corrupt-<UTC timestamp>`` and return the new name."""
    target = path.with_name(f"{path.name}.corrupt-{_timestamp()}")
    os.replace(path, target)
    return target


def corrupt_file(path: Path, problem: str) -> StoreCorruptError:
    """Move a corrupt file aside and build the error that reports both."""
    try:
        moved: Path | None = move_aside(path)
    except OSError as error:
        moved = None
        where = f"It could not be moved aside ({describe_os_error(error)}); it is left as it is."
    else:
        where = f"It was moved aside to {moved} and is kept there; nothing was overwritten."
    return StoreCorruptError(
        f"the experience store file {path} is corrupt: {problem}. {where}",
        str(path),
        None if moved is None else str(moved),
    )
