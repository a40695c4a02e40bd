"""A shared budget: trial numbers claimed under the store lock by every process of a study.

Several processes may record into one study: four kernels that each run
``tune(..., n_trials=200, name="shared")``, or workers started on purpose. Before a
trial starts, its process claims a number under the store lock, in the study's claims
file ``trials/ID.claims`` (JSON lines)::

    {"type": "claim", "number": 12, "session": "...", "pid": 4242, "host": "...", "claimed_at": ...}
    {"type": "release", "session": "..."}          # that run finished: its open claims end

A claim is *outstanding* while its trial is not in the log, its session has not
released it, and its owner is alive (:func:`owners.is_alive`: a killed process's claims
end with it). The budget of ``n`` trials is spent when the trials in the log plus the
outstanding claims reach ``n``; the next number is one past every number written or
outstanding, so no two processes record the same number.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .owners import is_alive
from .schema import check_claim_line
from .storage import read_log

__all__ = ["ClaimLedger"]


class ClaimLedger:
    """What a study's log and claims file say about its trial numbers (read under the lock).

    The log only grows (or is replaced by a repaired copy, a new inode), so it is read
    incrementally; the claims file is small and is deleted when a study's last run
    finishes, so it is read whole each time.
    """

    def __init__(self, log: Path, claims: Path) -> None:
        self.log = log
        self.claims_path = claims
        self._inode: int | None = None
        self._offset = 0
        self.trial_lines = 0  # every trial line, duplicates of an older version included
        self.max_written = -1
        self.written: set[int] = set()
        self.claims: dict[int, dict[str, Any]] = {}
        self.released: set[str] = set()

    def refresh(self) -> None:
        """Fold in the log's new trial lines, and read the claims file again."""
        self._read_log()
        self.claims, self.released = {}, set()
        try:
            records, _ = read_log(self.claims_path, check=check_claim_line)
        except FileNotFoundError:
            return
        for _, record in records:
            if record["type"] == "claim":
                self.claims[record["number"]] = record
            elif record["type"] == "release":
                self.released.add(record["session"])

    def _read_log(self) -> None:
        try:
            info = os.stat(self.log)
        except FileNotFoundError:
            info = None
        if info is None or info.st_ino != self._inode or info.st_size < self._offset:
            self._inode, self._offset = None if info is None else info.st_ino, 0
            self.trial_lines, self.max_written, self.written = 0, -1, set()
        if info is None:
            return
        records, self._offset = read_log(self.log, self._offset)
        for _, record in records:
            if record["type"] == "trial":
                self.trial_lines += 1
                self.written.add(record["number"])
                self.max_written = max(self.max_written, record["number"])

    def outstanding(self, now: float | None = None, *, except_session: str | None = None) -> list[dict[str, Any]]:
        """The claims whose trial is not written yet and whose owner still runs."""
        now = time.time() if now is None else now
        return [
            claim
            for number, claim in self.claims.items()
            if number not in self.written
            and claim["session"] not in self.released
            and claim["session"] != except_session
            and is_alive(claim, claim["claimed_at"], now)
        ]

    def next_number(self, n_trials: int | None, now: float | None = None) -> int | None:
        """The number to claim next, or None when ``n_trials`` trials are written or under way."""
        live = self.outstanding(now)
        if n_trials is not None and self.trial_lines + len(live) >= n_trials:
            return None
        # Past every number written or outstanding, and past the count of trial lines: a
        # resuming Study numbers the log's trials 0..k-1 by position, so k is free for it.
        return max(self.max_written + 1, self.trial_lines, max((c["number"] for c in live), default=-1) + 1)
