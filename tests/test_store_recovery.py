"""The store after damage and crashes: bad lines, bad index entries, killed processes, a full disk.

Every test works on real files in a temporary store; the crash tests kill real processes.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time

import pytest
from helpers import store_processes

from jupyter_metahpo import tune, uniform
from jupyter_metahpo.samplers import RandomSampler
from jupyter_metahpo.store import ExperienceStore, StoreError, StoreWriteError, UnknownStudyError
from jupyter_metahpo.store import storage
from jupyter_metahpo.store.owners import STALE_AFTER
from jupyter_metahpo.store.store import STALE_TEMP_AFTER

SPACE = {"x": uniform(0.0, 1.0)}


def objective(x):
    return (x - 0.3) ** 2


def run(store, name, n, seed=0):
    return tune(objective, SPACE, n, name=name, store=store, sampler=RandomSampler(seed=seed))


def lines_of(path):
    return path.read_bytes().splitlines(keepends=True)


# 15. One bad line must not hide a study ---------------------------------------------------
def test_a_bad_line_is_quarantined_byte_for_byte_and_the_study_keeps_every_intact_trial(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    victim = run(store, "victim", 4)
    log = store.log_path(victim.study_id)
    lines = lines_of(log)  # header, 4 trials, end
    garbled = b'{"type":"trial","id":"ab\x00\xff garbled by a crash or an editor\n'
    wrong_type = lines[2].replace(b'"value":', b'"value":"abc","was":', 1)  # valid JSON, a string value
    assert json.loads(wrong_type)["value"] == "abc"
    log.write_bytes(b"".join([lines[0], lines[1], garbled, lines[2], wrong_type, *lines[3:]]))

    # Another user of the same store runs tune(): its warm start reads every study, and must not fail.
    with pytest.warns(RuntimeWarning, match="damaged line"):
        other = tune(objective, SPACE, 3, name="other", store=ExperienceStore(store.path), seed=1)
    assert other.status == "finished" and other.info["n_past_studies"] >= 1  # the victim study, read

    assert [t.value for t in store.trials(victim.study_id)] == [t.value for t in victim.trials]
    quarantine = store.log_path(victim.study_id).with_name(f"{victim.study_id}.jsonl.bad")
    assert quarantine.read_bytes() == garbled + wrong_type  # kept aside exactly as they were
    assert log.read_bytes() == b"".join(lines)  # and the log is what it was before the damage
    resumed = run(store, "victim", 6, seed=2)
    assert resumed.study_id == victim.study_id and len(resumed.trials) == 6
    by_name = {s.name: s for s in store.summaries()}
    assert (by_name["victim"].n_trials, by_name["other"].n_trials) == (6, 3)


def test_a_value_of_the_wrong_type_breaks_neither_list_nor_the_warm_start(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    result = run(store, "typed", 3)
    log = store.log_path(result.study_id)
    lines = lines_of(log)
    lines[1] = lines[1].replace(b'"value":', b'"value":"abc","old":', 1)
    log.write_bytes(b"".join(lines))
    fresh = ExperienceStore(store.path)  # no summaries cached in memory: reads the log again
    with pytest.warns(RuntimeWarning, match=r"trial.value: must be a number, but got 'abc'"):
        (summary,) = fresh.summaries()
    assert summary.n_trials == 2
    (past,) = fresh.past_studies()
    assert sorted(past.values) == sorted(t.value for t in result.trials[1:])


def test_invalid_index_entries_are_moved_aside_and_never_name_a_path(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    good = run(store, "good", 2)
    index = json.loads(store.index_path.read_text())
    (doc,) = index["studies"].values()
    index["studies"]["7"] = dict(doc, id="../../outside", name="evil")
    index["studies"]["8"] = dict(doc, id="0123456789abcdef", name="sideways", direction="sideways")
    store.index_path.write_text(json.dumps(index))
    with pytest.warns(RuntimeWarning, match="2 invalid entries"):
        studies = ExperienceStore(store.path).studies()
    assert [s.id for s in studies] == [good.study_id]
    moved = [json.loads(line) for line in (store.path / "index.json.bad").read_text().splitlines()]
    assert [(m["entry"]["name"], m["key"]) for m in moved] == [("evil", "7"), ("sideways", "8")]
    assert "studies['7'].id: must be 1-64 letters" in moved[0]["problems"][0]
    assert set(json.loads(store.index_path.read_text())["studies"]) == {"1"}
    with pytest.raises(UnknownStudyError):
        store.trials("../../outside")
    with pytest.raises(StoreError, match="refusing the study id '../../outside'"):
        store.log_path("../../outside")


# 17. Clean up after crashes ---------------------------------------------------------------
def _hold(store_path, name, *extra):
    """A process that opened ``name`` and left temporary files mid-write; returns it and the study id."""
    process = subprocess.Popen(store_processes.command("hold", store_path, name, *extra),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().split()
    assert line and line[0] == "ready", process.stderr.read()
    return process, line[1]


def _age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_the_next_open_removes_a_killed_writes_temp_files_and_marks_its_study_interrupted(tmp_path):
    store_path = tmp_path / "store"
    export = tmp_path / "exports" / "history.json"
    export.parent.mkdir()
    killed, killed_id = _hold(store_path, "crashed", export)
    alive, alive_id = _hold(store_path, "alive")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)  # reaped: its pid is gone
        temps = [p for folder in (store_path, store_path / "trials", export.parent) for p in folder.glob(".*.tmp")]
        assert len(temps) == 5  # index, log, export by the killed one; index, log by the live one
        for path in temps:
            _age(path, STALE_TEMP_AFTER + 60)
        young = store_path / ".index.json.abcd1234.tmp"  # a write in progress in some process
        young.write_bytes(b"{")
        users = [store_path / ".index.json.tmp", store_path / "notes.tmp", store_path / "trials" / ".mine.jsonl.x.tmp"]
        for path in users:
            path.write_text("a user's file")
            _age(path, STALE_TEMP_AFTER + 60)

        store = ExperienceStore(store_path)
        statuses = {s.id: s.status for s in store.studies()}
        assert statuses == {killed_id: "interrupted", alive_id: "running"}
        assert [p for p in temps if p.parent != export.parent and p.exists()] == []
        assert young.exists() and all(p.exists() for p in users)
        assert store.study(killed_id).owners == () and len(store.study(alive_id).owners) == 1
        store.export_json(export)  # the next export to the same file removes its killed predecessor's temp
        assert sorted(p.name for p in export.parent.iterdir()) == ["history.json"]
    finally:
        alive.kill()
        alive.wait(timeout=60)


def test_a_silent_owner_on_another_host_is_taken_for_dead_after_a_day(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    quiet, busy, legacy = (store.open_study(name, SPACE).study_id for name in ("quiet", "busy", "legacy"))
    store.compact_index()  # every change in index.json, which is edited by hand next
    index = json.loads(store.index_path.read_text())
    for doc in index["studies"].values():
        heartbeat = time.time() - (60 if doc["id"] == busy else STALE_AFTER + 60)
        doc["started_at"] = heartbeat
        doc["owners"] = [{"session": "s1", "pid": 1, "host": "another-host", "heartbeat_at": heartbeat}]
        if doc["id"] == legacy:
            del doc["owners"]  # written by a version that recorded no owners
    store.index_path.write_text(json.dumps(index))
    for study_id in (quiet, legacy):
        _age(store.log_path(study_id), STALE_AFTER + 60)
    statuses = {s.id: s.status for s in ExperienceStore(store.path).studies()}
    assert statuses == {quiet: "interrupted", busy: "running", legacy: "interrupted"}


# 18. A full disk ---------------------------------------------------------------------------
def test_forget_frees_space_on_a_full_disk(tmp_path, monkeypatch):
    store = ExperienceStore(tmp_path / "store")
    big, kept = run(store, "big", 5), run(store, "kept", 2)
    log = store.log_path(big.study_id)
    real_write = os.write

    def full_until_the_log_is_gone(fd, data):  # the disk is full while the big log takes its space
        if log.exists():
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(storage.os, "write", full_until_the_log_is_gone)
    store.forget(big.study_id)
    monkeypatch.undo()
    assert not log.exists()
    assert [s.id for s in store.studies()] == [kept.study_id]
    assert len(store.trials(kept.study_id)) == 2


def test_on_a_full_disk_the_error_names_the_trial_that_failed_to_write(tmp_path, monkeypatch):
    store = ExperienceStore(tmp_path / "store")
    calls = []

    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def fills_the_disk(x):
        calls.append(x)
        if len(calls) == 3:  # the disk fills up while the third trial runs: its write, and every later one, fail
            monkeypatch.setattr(storage.os, "write", no_space)
        return x

    with pytest.warns(RuntimeWarning, match="could not be recorded either"):
        with pytest.raises(StoreWriteError) as info:
            tune(fills_the_disk, SPACE, 5, name="full", store=store, sampler=RandomSampler(seed=0))
    monkeypatch.undo()
    message = str(info.value)
    assert "trial 3 of the study" in message and "ENOSPC" in message  # numbered from 1, as people read them and ".jsonl" in message
    assert "index.json" not in message
    (study,) = store.studies()
    assert len(store.trials(study.id)) == 2  # the trials written before the disk filled up are kept


def test_a_process_sees_its_own_store_objects_alive(tmp_path):
    """Opening the store again in the same process must not take its own running study for dead."""
    store = ExperienceStore(tmp_path / "store")
    session = store.open_study("mine", SPACE)
    assert ExperienceStore(store.path).study(session.study_id).status == "running"
