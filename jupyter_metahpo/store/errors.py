"""The errors the experience store raises, each naming the file and the way out."""

from __future__ import annotations

import errno

__all__ = [
    "StoreError",
    "StoreCorruptError",
    "StoreWriteError",
    "StoreVersionError",
    "StudyMismatchError",
    "UnknownStudyError",
    "ImportValidationError",
    "describe_os_error",
]


class StoreError(RuntimeError):
    """Base class of every error of the experience store."""


class StoreCorruptError(StoreError):
    """A store file could not be read; it has been moved aside (``moved_to``)."""

    def __init__(self, message: str, path: str, moved_to: str | None) -> None:
        super().__init__(message)
        self.path = path
        self.moved_to = moved_to


class StoreWriteError(StoreError, OSError):
    """A write failed (disk full, permission denied, ...); the previous store is intact."""

    def __init__(self, message: str, errno_code: int | None = None) -> None:
        StoreError.__init__(self, message)
        self.errno = errno_code

    def __str__(self) -> str:  # OSError would print "[Errno ...]" with its own args
        return self.args[0]


class StoreVersionError(StoreError):
    """The store (or an imported file) was written by a newer schema than this package knows."""


class StudyMismatchError(StoreError, ValueError):
    """Resuming a study by name with a different space or direction."""


class UnknownStudyError(StoreError, KeyError):
    """No study (or more than one) matches the given id."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return self.args[0]


class ImportValidationError(StoreError, ValueError):
    """An import file failed validation; ``problems`` lists every bad record's location."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = problems[:25]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(
            f"nothing was imported from {source}: {len(problems)} problem(s) found.\n  "
            + "\n  ".join(shown)
            + more
        )
        self.source = source
        self.problems = list(problems)


_HINTS = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EDQUOT: "the disk quota is exceeded; free some space and run again",
    errno.EACCES: "permission denied; check the folder's permissions, or point the store elsewhere "
    "with store=... or the JUPYTER_METAHPO_HOME environment variable",
    errno.EPERM: "operation not permitted; check the folder's permissions, or point the store elsewhere",
    errno.EROFS: "the file system is read-only; point the store elsewhere with store=... or JUPYTER_METAHPO_HOME",
}


def describe_os_error(error: OSError) -> str:
    """``"No space left on device (ENOSPC): the disk is full; ..."`` for a person."""
    code = error.errno
    name = errno.errorcode.get(code, "") if code is not None else ""
    reason = error.strerror or str(error)
    label = f"{reason} ({name})" if name else reason
    hint = _HINTS.get(code) if code is not None else None
    return f"{label}: {hint}" if hint else label
