"""Who holds a study open, and whether that process is still alive.

A study that a process records into has an owner entry in the index (``owners``):
``{"session", "pid", "host", "started_at", "heartbeat_at"}``, added when the study
starts or resumes and removed when that run finishes. Several processes may own one
study at once (workers sharing its budget, see claims.py). A process killed without
finishing leaves its entry behind; the next time the store is opened, an owner on this
host whose pid is gone, or an owner on another host silent for :data:`STALE_AFTER`
seconds, is taken for dead, and a study left with no live owner becomes
``"interrupted"``.

"Silent" means: no heartbeat and no write to the study's log or claims file. Every
trial claims its number and records its result there, so a live owner writes at least
once per trial; a single trial running longer than :data:`STALE_AFTER` on another host
is the one case this rule misjudges.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["STALE_AFTER", "this_host", "new_owner", "pid_is_alive", "is_alive"]

#: Seconds of silence after which an owner on another host (whose pid cannot be checked) is taken for dead.
STALE_AFTER = 24 * 3600.0

_HOST: str | None = None


def this_host() -> str:
    global _HOST
    if _HOST is None:
        _HOST = socket.gethostname() or "unknown-host"
    return _HOST


def new_owner(session: str) -> dict[str, Any]:
    """The owner entry of this process for a session (``session`` is a fresh id)."""
    now = time.time()
    return {"session": session, "pid": os.getpid(), "host": this_host(), "started_at": now, "heartbeat_at": now}


def pid_is_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (True when that cannot be told)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False  # not a process id (0 and negatives name process groups to os.kill)
    if os.name == "nt":
        return True  # os.kill would terminate it on Windows: only the heartbeat decides there
    try:
        os.kill(pid, 0)  # signal 0: checks that the process exists, delivers nothing
    except ProcessLookupError:
        return False
    except (OverflowError, ValueError):
        return False  # not a valid pid on this system
    except OSError:
        return True  # EPERM: it exists, under another user
    return True


def is_alive(owner: Mapping[str, Any], last_seen: float, now: float | None = None) -> bool:
    """Whether ``owner`` (an owner entry, or a claim, which has the same fields) still runs.

    On this host its pid decides; on another, a sign of life (its heartbeat, or
    ``last_seen``: the last write to the study's files) within :data:`STALE_AFTER`.
    """
    if owner.get("host") == this_host():
        return pid_is_alive(int(owner.get("pid", 0)))
    now = time.time() if now is None else now
    heartbeat = owner.get("heartbeat_at")
    latest = max(last_seen, heartbeat if isinstance(heartbeat, (int, float)) else 0.0)
    return now - latest < STALE_AFTER
