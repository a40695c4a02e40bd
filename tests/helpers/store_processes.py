"""Processes for the store's sharing and crash tests (tests/test_store_concurrency.py, test_store_recovery.py).

    python tests/helpers/store_processes.py tune STORE NAME N SEED GO_FILE
        Waits until GO_FILE exists, then runs ``tune(..., n_trials=N, name=NAME)`` on the
        store (an objective that sleeps 50 ms, so that runs overlap) and prints
        ``done STATUS TRIALS``. Several of these started together share one study.

    python tests/helpers/store_processes.py hold STORE NAME [EXPORT_TARGET]
        Opens (or resumes) the study NAME, leaves the temporary files of an index
        rewrite, a log rewrite and (with EXPORT_TARGET) an export that were never
        renamed into place, prints ``ready STUDY_ID`` and sleeps: the parent kills it
        with SIGKILL, as a kernel dies mid-write.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

#: The script is run by path: the repository's own package must win over an installed copy.
REPOSITORY = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    sys.path.insert(0, str(REPOSITORY))

from jupyter_metahpo import tune, uniform  # noqa: E402
from jupyter_metahpo.samplers import RandomSampler  # noqa: E402
from jupyter_metahpo.store import ExperienceStore  # noqa: E402
from jupyter_metahpo.store.storage import prepare_atomic  # noqa: E402

SPACE = {"x": uniform(0.0, 1.0)}


def command(*args: object) -> list[str]:
    """The command line that runs this helper in a fresh Python process."""
    return [sys.executable, str(Path(__file__).resolve()), *map(str, args)]


def _objective(x: float) -> float:
    time.sleep(0.05)
    return (x - 0.3) ** 2


def run_tune(store: str, name: str, n: int, seed: int, go: str) -> int:
    print("ready", flush=True)
    while not Path(go).exists():
        time.sleep(0.01)
    result = tune(_objective, SPACE, n, name=name, store=store, sampler=RandomSampler(seed=seed))
    print(f"done {result.status} {len(result.trials)}", flush=True)
    return 0


def hold(store_path: str, name: str, export_target: str | None) -> int:
    store = ExperienceStore(store_path)
    session = store.open_study(name, SPACE)
    prepare_atomic(store.index_path, b'{"_meta": {"1": {"schema_ver')  # an index rewrite, killed before its rename
    prepare_atomic(store.log_path(session.study_id), b'{"type": "study"}\n')  # an import's log, likewise
    if export_target is not None:
        prepare_atomic(Path(export_target), b'{"format": "jupyter-metahpo-export", "stud')
    print(f"ready {session.study_id}", flush=True)
    time.sleep(600)
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "tune":
        return run_tune(argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5])
    if argv[0] == "hold":
        return hold(argv[1], argv[2], argv[3] if len(argv) > 3 else None)
    raise SystemExit(f"unknown mode {argv[0]!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
