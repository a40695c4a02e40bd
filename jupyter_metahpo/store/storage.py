"""Durable file operations: atomic rewrites, append-only logs, moving corrupt files aside.

Every write of the store goes through three primitives here:

* :func:`atomic_write` — write a temporary file in the same folder, fsync it, rename it
  over the target, fsync the folder. A crash leaves the old file or the new one,
  never a mix; a failed write (disk full) leaves the old one and removes the temporary.
* :func:`append_record` — add one JSON line to a log. A torn line left by a crash is
  cut off first; a failed write is rolled back by truncating to the old size.
* :func:`read_log` — read a log's complete lines, ignoring a torn last line and
  skipping bad lines (not JSON, or the wrong types), which :func:`quarantine_lines`
  moves to a file of their own, byte for byte.

Callers hold the store's :class:`filelock.FileLock` around writes; readers take no
lock, because a rename is atomic and a torn tail is ignored.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import StoreCorruptError, StoreWriteError, describe_os_error
from .schema import check_log_line

__all__ = [
    "atomic_write",
    "append_record",
    "append_bytes",
    "read_log",
    "scan_log",
    "scan_bytes",
    "BadLine",
    "quarantine_lines",
    "remove_stale_temps",
    "read_json_file",
    "read_json_text",
    "parse_json_bytes",
    "move_aside",
    "dumps",
    "gc_paused",
    "write_errors_as",
    "sync_files",
    "sync_folder",
]

#: How far back to look for the end of the last complete line when repairing a torn log.
_TAIL_CHUNK = 64 * 1024


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a large JSON file is parsed.

    A parse creates hundreds of thousands of objects, none of them garbage; each of the
    collections they trigger walks every object alive, which cost a third of parsing a
    10,000-study index. The collector's state is restored after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    return prepare_atomic_stream(path, (data,), durable=durable)


def prepare_atomic_stream(path: Path, chunks: Iterable[bytes], *, durable: bool = True) -> Path:
    """:func:`prepare_atomic` for data produced piece by piece (a large import never holds it whole)."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        try:
            # mkstemp makes the file private (0600); give it the mode a plain open() would.
            if hasattr(os, "fchmod"):  # not on Windows, where mkstemp's mode is not an issue
                os.fchmod(fd, _target_mode(path))
            for chunk in chunks:
                _write_all(fd, chunk)
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


def sync_files(paths: Sequence[Path], threads: int = 16) -> None:
    """fsync several files at once (before renaming them into place).

    One after another, each fsync waits for its own journal commit; issued together from
    a few threads, the file system commits them in a handful (a hundred study logs: about
    ten times faster on ext4). An error from any of them propagates.
    """
    def sync(path: Path) -> None:
        fd = os.open(path, os.O_RDWR)  # (Windows syncs only a file opened for writing)
        try:
            _datasync(fd)
        finally:
            os.close(fd)

    if len(paths) <= 1:
        for path in paths:
            sync(path)
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(paths))) as pool:
        for _ in pool.map(sync, paths):
            pass


def sync_folder(folder: Path) -> None:
    """fsync a folder: the renames made in it become durable (best effort where folders cannot be)."""
    _fsync_dir(folder)


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


def append_record(
    path: Path, record: Any, *, what: str = "a record", durable: bool = True, create: bool = False
) -> None:
    """Append ``record`` as one JSON line to the existing log at ``path`` (``create``: or a new one).

    The caller holds the store lock. A torn last line (a writer killed mid-write) is cut
    off first, so the new line starts on a line of its own. If the write fails, the log
    is truncated back to its previous size and a :class:`StoreWriteError` says why.
    """
    line = (dumps(record) + "\n").encode("utf-8")
    with write_errors_as(what, path):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0), 0o666)
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


@dataclass(frozen=True)
class BadLine:
    """A complete line of a log that is not JSON, or not what its kind of line must hold."""

    number: int  #: its line number (from 1 when the read started at byte 0)
    raw: bytes  #: the line as it is on disk, without its newline
    problem: str


class _Unreadable:
    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _parse_line(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as problem:  # RecursionError: JSON nested thousands deep
        return _Unreadable(f"not valid JSON ({str(problem)[:200]})")


def _judge_lines(
    numbered: list[tuple[int, bytes]], check: Callable[[Any], str | None]
) -> tuple[list[tuple[int, Any]], list[BadLine]]:
    try:
        # One parse for the whole log: several times faster than a json.loads per line.
        values = json.loads(b"[" + b",".join(raw for _, raw in numbered) + b"]")
    except (ValueError, RecursionError):
        values = None  # some line is bad: parse them one by one, below
    if values is None or len(values) != len(numbered):
        values = [_parse_line(raw) for _, raw in numbered]
    records: list[tuple[int, Any]] = []
    bad: list[BadLine] = []
    for (number, raw), value in zip(numbered, values):
        problem = value.problem if type(value) is _Unreadable else check(value)
        if problem is None:
            records.append((number, value))
        else:
            bad.append(BadLine(number, raw, problem))
    return records, bad


def _complete_lines(data: bytes) -> tuple[list[bytes], int]:
    """The complete lines of ``data`` (without newlines) and the offset after the last one."""
    end = data.rfind(b"\n") + 1
    return data[:end].split(b"\n")[:-1], end


def scan_log(
    path: str | Path, start: int = 0, check: Callable[[Any], str | None] = check_log_line
) -> tuple[list[tuple[int, Any]], int, list[BadLine]]:
    """The good and the bad complete lines of a log from byte ``start``, and the offset after the last line.

    Returns ``([(line_number, record), ...], end, [BadLine, ...])``; line numbers count
    from 1 only when ``start`` is 0. A torn last line (no newline yet: a writer is
    mid-append, or was killed there) is neither: it is ignored. A line that is not JSON,
    or that ``check`` finds a problem with, is bad; the others are unaffected by it.
    """
    with open(path, "rb") as handle:
        if start:
            handle.seek(start)
        data = handle.read()
    return scan_bytes(data, start, check)


def scan_bytes(
    data: bytes, start: int = 0, check: Callable[[Any], str | None] = check_log_line
) -> tuple[list[tuple[int, Any]], int, list[BadLine]]:
    """:func:`scan_log` of bytes already read from a log at offset ``start``."""
    lines, end = _complete_lines(data)
    numbered = [(n, raw) for n, raw in enumerate(lines, start=1) if raw.strip()]
    records, bad = _judge_lines(numbered, check)
    return records, start + end, bad


def read_log(
    path: str | Path, start: int = 0, check: Callable[[Any], str | None] = check_log_line
) -> tuple[list[tuple[int, Any]], int]:
    """The good complete lines of a log from byte ``start`` and the offset after the last line.

    Bad lines are skipped (see :func:`scan_log`); the store moves them aside with
    :func:`quarantine_lines`.
    """
    records, end, _ = scan_log(path, start, check)
    return records, end


def quarantine_lines(
    log: Path, quarantine: Path, check: Callable[[Any], str | None] = check_log_line, *, durable: bool = True
) -> list[BadLine]:
    """Move the bad lines of ``log`` to the end of ``quarantine``, byte for byte; keep every other byte.

    The caller holds the store lock. The bad lines are appended to ``quarantine`` (and
    synced) before the log is rewritten without them, so a crash in between leaves a
    line in both files, never in neither. Returns the lines moved (none: nothing changed).
    """
    data = log.read_bytes()
    lines, end = _complete_lines(data)
    numbered = [(n, raw) for n, raw in enumerate(lines, start=1) if raw.strip()]
    _, bad = _judge_lines(numbered, check)
    if not bad:
        return []
    dropped = {line.number for line in bad}
    kept = b"".join(raw + b"\n" for n, raw in enumerate(lines, start=1) if n not in dropped) + data[end:]
    append_bytes(quarantine, b"".join(line.raw + b"\n" for line in bad), what="the damaged lines", durable=durable)
    atomic_write(log, kept, what="the study log without its damaged lines", durable=durable)
    return bad


def append_bytes(path: Path, data: bytes, *, what: str, durable: bool = True) -> None:
    """Append ``data`` to ``path``, creating it (the caller holds the store lock)."""
    with write_errors_as(what, path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            _write_all(fd, data)
            if durable:
                _datasync(fd)
        finally:
            os.close(fd)


#: The name :func:`prepare_atomic` gives a temporary file: ``.<target>.<8 random characters>.tmp``
#: (``tempfile.mkstemp``'s random part); only files named so are ever removed as stale.
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")


def remove_stale_temps(folder: Path, is_target: Callable[[str], bool], older_than: float) -> list[Path]:
    """Remove the temporary files that a killed write left in ``folder``; return them.

    Only files named as :func:`prepare_atomic` names them, for a target that
    ``is_target`` accepts, and last modified more than ``older_than`` seconds ago (a
    younger one may belong to a write still in progress in another process). Anything
    that cannot be removed is left; this is housekeeping, never an error.
    """
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or not is_target(match["target"]):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < older_than:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def read_json_file(path: Path, what: str) -> Any:
    """Parse a JSON file of the store; a corrupt one is moved aside and reported."""
    found = read_json_text(path, what)
    return None if found is None else found[0]


def read_json_text(path: Path, what: str) -> tuple[Any, str] | None:
    """:func:`read_json_file`, with the file's text: ``(data, text)``, or ``None`` when there is no file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse_json_bytes(raw, path, what)


def parse_json_bytes(raw: bytes, path: Path, what: str) -> tuple[Any, str]:
    """:func:`read_json_text` of the bytes already read from ``path``: ``(data, text)``."""
    if not raw.strip():
        raise corrupt_file(path, f"the {what} is empty (a truncated write?)")
    try:
        text = raw.decode("utf-8-sig")
        return json.loads(text), text
    except ValueError as problem:  # UnicodeDecodeError is a ValueError
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
