"""What an objective prints and warns during one trial, kept with the trial instead of shown.

A model fit that warns on every trial (scikit-learn's ``ConvergenceWarning``) or prints
its epochs would otherwise fill the notebook cell under the progress display (a race's
output reached 12,581 px). :class:`CapturedOutput` collects stdout, stderr and warnings
for the length of one objective call; the study keeps them on the trial
(``FrozenTrial.output`` and ``.warnings``), the displays show a count and a collapsed view.

Only what passes through Python is caught: ``sys.stdout``/``sys.stderr`` and the
``warnings`` module. Output a C library writes to the file descriptors directly (some
boosting libraries' logs) is not. Warnings go through the filters in force, so a
warning the user silenced stays silent; catching them also resets the "once per
location" memory of the default filter, so each trial records its own.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from typing import Any

__all__ = ["CapturedOutput", "MAX_OUTPUT_CHARS", "MAX_WARNINGS"]

#: The end of a trial's output that is kept (the end of a log says most).
MAX_OUTPUT_CHARS = 4_000
#: Distinct warnings kept per trial.
MAX_WARNINGS = 20
#: Characters kept of one warning's message.
MAX_WARNING_CHARS = 300


class CapturedOutput:
    """A context manager: inside it, prints and warnings are collected, not shown.

    After it exits, ``output`` is the text written to stdout and stderr (in the order it
    was written; its end only when long; ``None`` when nothing was written) and
    ``warnings`` the distinct warnings as ``"Category: message"``.
    """

    def __init__(self) -> None:
        self.output: str | None = None
        self.warnings: tuple[str, ...] = ()
        self._buffer = io.StringIO()
        self._stack = contextlib.ExitStack()
        self._caught: list[Any] = []

    def __enter__(self) -> CapturedOutput:
        self._stack.enter_context(contextlib.redirect_stdout(_Stream(self._buffer, sys.stdout)))
        self._stack.enter_context(contextlib.redirect_stderr(_Stream(self._buffer, sys.stderr)))
        self._caught = self._stack.enter_context(warnings.catch_warnings(record=True))
        return self

    def __exit__(self, *exc_info: Any) -> bool:
        self._stack.close()
        self.output = tail(self._buffer.getvalue())
        self.warnings = distinct_warnings(self._caught)
        return False


class _Stream(io.TextIOBase):
    """Stands in for ``sys.stdout`` or ``sys.stderr``: text goes to the trial's buffer.

    ``fileno()`` is the replaced stream's, so that code handing the descriptor on (a
    subprocess's ``stdout=sys.stdout``, ``faulthandler``) still works, writing past the
    capture as it would without it.
    """

    def __init__(self, sink: io.StringIO, replaced: Any) -> None:
        super().__init__()
        self._sink = sink
        self._replaced = replaced

    def write(self, text: str) -> int:
        return self._sink.write(text)

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._replaced.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._replaced, "encoding", None) or "utf-8"


def tail(text: str, limit: int = MAX_OUTPUT_CHARS) -> str | None:
    """``text``, or its last ``limit`` characters from a line start, saying how much was cut."""
    if not text:
        return None
    if len(text) <= limit:
        return text
    kept = text[-limit:]
    newline = kept.find("\n")
    if 0 <= newline < len(kept) - 1:
        kept = kept[newline + 1 :]
    return f"...({len(text) - len(kept):,} characters cut)\n{kept}"


def distinct_warnings(caught: list[Any]) -> tuple[str, ...]:
    """``"Category: message"`` of each distinct warning, in the order first raised."""
    seen: dict[str, None] = {}
    for item in caught:
        lines = str(item.message).strip().splitlines() or [""]
        text = f"{item.category.__name__}: {lines[0]}"
        if len(text) > MAX_WARNING_CHARS:
            text = text[: MAX_WARNING_CHARS - 3] + "..."
        seen.setdefault(text, None)
        if len(seen) >= MAX_WARNINGS:
            break
    return tuple(seen)
