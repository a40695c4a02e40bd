"""Several processes writing one store, and writers killed mid-write (small sizes).

The full-size figures (4 x 500 appends, 50 kills) come from
``benchmarks/store_reliability.py``; these tests run the same code paths quickly.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter

import pytest
from helpers.store_writer import SPACE, writer_command

from jupyter_metahpo.store import ExperienceStore


def writer(store: ExperienceStore, study: str, count: int, name: str, *, open_first: bool = False) -> subprocess.Popen:
    command = writer_command(store.path, study, count, name, *(["--open"] if open_first else []))
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def written_by(store: ExperienceStore, study_id: str) -> Counter:
    return Counter(t.trial.origin.details["writer"] for t in store.trials(study_id))


def test_processes_appending_at_once_lose_nothing(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    study = store.open_study("shared", SPACE).study_id
    processes = [writer(store, study, 40, f"w{i}") for i in range(3)]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert written_by(store, study) == {"w0": 40, "w1": 40, "w2": 40}
    for name in ("w0", "w1", "w2"):
        numbers = sorted(t.trial.origin.details["i"] for t in store.trials(study) if t.trial.origin.details["writer"] == name)
        assert numbers == list(range(40))
    (summary,) = store.summaries()
    assert summary.n_trials == 120


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_writer_killed_at_random_moments_loses_at_most_the_trial_being_written(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    rng = random.Random(7)
    study_id = None
    for run in range(4):
        process = writer(store, "killed", 100_000, f"run{run}", open_first=True)
        if run % 2 == 0:  # kill while appending: after the study is open, at a random moment
            first = process.stdout.readline()
            time.sleep(rng.uniform(0.0, 0.3))
        else:  # kill anywhere: during start-up, while opening the study, or while appending
            first = ""
            time.sleep(rng.uniform(0.2, 1.5))
        process.send_signal(signal.SIGKILL)
        rest = process.stdout.read()  # through the same buffered reader that readline() used
        process.stderr.read()
        process.wait(timeout=60)
        lines = (first + rest).splitlines()
        acknowledged = {int(line.split()[1]) for line in lines if line.startswith("ok ")}
        # The store must load after every kill, and hold every acknowledged trial.
        store.summaries()
        if lines and lines[0].startswith("study "):
            study_id = lines[0].split()[1]
        if study_id is None:
            continue
        present = {
            t.trial.origin.details["i"]
            for t in store.trials(study_id)
            if t.trial.origin.details["writer"] == f"run{run}"
        }
        assert acknowledged <= present
        assert len(present - acknowledged) <= 1  # only the trial in flight may have landed unacknowledged
    assert study_id is not None
    assert os.path.exists(store.index_path)
