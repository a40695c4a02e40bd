"""Several processes writing one store, and writers killed mid-write (small sizes).

The full-size figures (4 x 500 appends, 50 kills) come from
``benchmarks/store_reliability.py``; these tests run the same code paths quickly.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from helpers import store_processes
from helpers.store_writer import SPACE, writer_command

from jupyter_metahpo.store import ExperienceStore
from jupyter_metahpo.store.owners import this_host
from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState


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


def test_four_processes_resuming_one_name_share_its_budget(tmp_path):
    """Four kernels run tune(..., n_trials=12, name="shared") at once: 12 trials in all, numbers unique."""
    store_path, go = tmp_path / "store", tmp_path / "go"
    n_trials = 12
    processes = [
        subprocess.Popen(store_processes.command("tune", store_path, "shared", n_trials, seed, go),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in range(4)
    ]
    for process in processes:  # every one imported the package and waits: start them together
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    go.touch()
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert out.startswith("done finished"), out
    store = ExperienceStore(store_path)
    (study,) = store.studies()
    numbers = [t.trial.number for t in store.trials(study.id)]
    assert sorted(numbers) == list(range(n_trials))
    assert (study.status, study.owners) == ("finished", ())
    assert not store._layout.claims(study.id).exists()  # the last run to finish removed the claims


def _trial(number: int) -> FrozenTrial:
    return FrozenTrial(number, {"x": 0.5}, TrialState.COMPLETE, Origin("random"), value=1.0, started_at=1.0, finished_at=2.0)


def test_claims_of_a_finished_or_dead_run_free_their_numbers(tmp_path):
    """An interrupted trial's claim ends with its run; a killed process's claims end with it."""
    store = ExperienceStore(tmp_path / "store")
    first = store.open_study("s", SPACE)
    assert [first.claim_trial(3) for _ in range(3)] == [0, 1, 2]
    assert first.claim_trial(3) is None  # three trials under way: the budget is spent
    first.record_trial(_trial(0))
    first.finish("interrupted")  # trials 1 and 2 never finished: their numbers are free again
    second = store.open_study("s", SPACE)
    assert second.resumed and [second.claim_trial(3), second.claim_trial(3)] == [1, 2]
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = {"type": "claim", "number": 3, "session": "deadbeef", "pid": int(exited.stdout), "host": this_host(),
            "claimed_at": time.time()}
    with open(store._layout.claims(second.study_id), "a") as handle:
        handle.write(json.dumps(dead) + "\n")
    third = store.open_study("s", SPACE)
    # 1 trial written + `second`'s 2 claims (this process: alive); the dead process's claim does not count
    assert third.claim_trial(4) == 3
    assert third.claim_trial(4) is None
