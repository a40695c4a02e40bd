"""A writer process for the store's concurrency and crash tests (tests/, benchmarks/).

    python tests/helpers/store_writer.py STORE STUDY_ID_OR_NAME N WRITER [--open | --churn]

Appends ``N`` trials over the space ``{"x": uniform(0, 1)}`` and prints ``ok I`` after
each append returns, so a parent that kills this process knows which trials were
acknowledged. With ``--open`` it first opens (or resumes) the study by name, which
rewrites the index, and prints ``study ID``. With ``--churn`` it instead opens ``N``
new studies named ``NAME-I`` (one index rewrite each) and prints ``ok I`` after each.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

#: The script is run by path: the repository's own package must win over an installed copy.
REPOSITORY = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    sys.path.insert(0, str(REPOSITORY))

from jupyter_metahpo.space import uniform  # noqa: E402
from jupyter_metahpo.store import ExperienceStore  # noqa: E402
from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState  # noqa: E402

SPACE = {"x": uniform(0.0, 1.0)}


def writer_command(store: str | Path, study: str, count: int, name: str, *flags: str) -> list[str]:
    """The command line that runs this writer in a fresh Python process."""
    return [sys.executable, str(Path(__file__).resolve()), str(store), study, str(count), name, *flags]


def main(argv: list[str]) -> int:
    path, study, count, writer = argv[0], argv[1], int(argv[2]), argv[3]
    store = ExperienceStore(path)
    if "--churn" in argv:
        for i in range(count):
            store.open_study(f"{study}-{i}", SPACE, "minimize", resume=False)
            print(f"ok {i}", flush=True)
        return 0
    if "--open" in argv:
        study = store.open_study(study, SPACE, "minimize", resume=True).study_id
        print(f"study {study}", flush=True)
    for i in range(count):
        now = time.time()
        trial = FrozenTrial(
            number=i,
            config={"x": (i % 1000) / 1000},
            state=TrialState.COMPLETE,
            origin=Origin("stress", details={"writer": writer, "i": i}),
            value=float(i),
            started_at=now,
            finished_at=now,
        )
        store.append_trial(study, trial)
        print(f"ok {i}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
