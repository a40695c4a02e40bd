"""The index's journal (store/journal.py): a study's start appends a line instead of rewriting index.json.

Replay, compaction, torn and damaged lines, a crash between a compaction's two writes,
several processes appending at once, and stores written before the journal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from jupyter_metahpo.space import uniform
from jupyter_metahpo.store import ExperienceStore, schema
from jupyter_metahpo.store import store as store_module
from jupyter_metahpo.store.errors import StoreVersionError
from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState

SPACE = {"x": uniform(0.0, 1.0)}


def complete(number: int, value: float) -> FrozenTrial:
    return FrozenTrial(number=number, config={"x": 0.5}, state=TrialState.COMPLETE, value=value,
                       origin=Origin("random", "test"))


def journal_lines(store: ExperienceStore) -> list[dict]:
    return [json.loads(line) for line in store._layout.index_journal.read_text().splitlines()]


def names(store: ExperienceStore) -> list[str]:
    return sorted(s.name for s in store.studies())


@pytest.fixture
def store(tmp_path):
    return ExperienceStore(tmp_path / "store")


def started(store: ExperienceStore, *study_names: str, finish: bool = True) -> list[str]:
    ids = []
    for name in study_names:
        session = store.open_study(name, SPACE)
        session.record_trial(complete(0, 1.0))
        if finish:
            session.finish("finished")
        ids.append(session.study_id)
    return ids


# Replay ---------------------------------------------------------------------------------------
def test_a_study_start_appends_one_journal_line_and_leaves_the_snapshot_alone(store):
    started(store, "a", "b")
    store.compact_index()
    snapshot = store.index_path.read_bytes()
    before = len(journal_lines(store))
    session = store.open_study("c", SPACE)
    assert store.index_path.read_bytes() == snapshot  # not rewritten
    change = journal_lines(store)[before:]
    assert len(change) == 1 and change[0]["type"] == "change"
    assert [op["doc"]["name"] for op in change[0]["ops"]] == ["c"]
    fresh = ExperienceStore(store.path)  # another kernel replays the journal on the snapshot
    assert names(fresh) == ["a", "b", "c"]
    assert fresh.study(session.study_id).status == "running"


def test_a_reader_replays_only_what_other_processes_appended_since(store):
    reader = ExperienceStore(store.path)
    (first,) = started(store, "a")
    assert names(reader) == ["a"]
    snapshot_reads = []
    original = store_module.parse_json_bytes
    store_module.parse_json_bytes = lambda *args: (snapshot_reads.append(args[1]), original(*args))[1]
    try:
        (second,) = started(store, "b", finish=False)
        assert names(reader) == ["a", "b"] and reader.study(second).status == "running"
        store.finish_study(second, "stopped")
        store.forget(first)
        assert names(reader) == ["b"] and reader.study(second).status == "stopped"
    finally:
        store_module.parse_json_bytes = original
    assert snapshot_reads == []  # the snapshot was parsed once, before; only the journal's new lines since


def test_resuming_reads_the_journal_entry_and_finds_the_study(store):
    (study_id,) = started(store, "again")
    session = ExperienceStore(store.path).open_study("again", SPACE)
    assert session.resumed and session.study_id == study_id and len(session.trials) == 1


# Compaction -----------------------------------------------------------------------------------
def test_the_journal_is_folded_into_a_new_snapshot_once_it_outgrows_its_share(store, monkeypatch):
    monkeypatch.setattr(store_module, "COMPACT_MIN_BYTES", 3000)
    started(store, "a")
    generation = json.loads(store.index_path.read_text())["_meta"]["1"]["journal"]
    sizes = []
    for i in range(8):
        started(store, f"s{i}")
        sizes.append(store._layout.index_journal.stat().st_size)
    assert max(sizes) <= 3000 + 2500  # never far past the limit: compacted at a run's end
    assert any(b < a for a, b in zip(sizes, sizes[1:]))  # it was reset at least once
    meta = json.loads(store.index_path.read_text())["_meta"]["1"]
    assert meta["journal"] != generation and meta["schema_version"] == schema.SCHEMA_VERSION
    assert journal_lines(store)[0] == {"type": "journal", "schema_version": schema.SCHEMA_VERSION,
                                       "generation": meta["journal"], "snapshot_digest": journal_lines(store)[0]["snapshot_digest"]}
    assert names(ExperienceStore(store.path)) == sorted(["a", *(f"s{i}" for i in range(8))])


def test_a_study_start_compacts_only_a_journal_far_past_its_share(store, monkeypatch):
    monkeypatch.setattr(store_module, "COMPACT_MIN_BYTES", 2000)
    rewrites = []
    original = store.__class__._write_index
    monkeypatch.setattr(store.__class__, "_write_index", lambda self, data: (rewrites.append(1), original(self, data))[1])
    store.open_study("first", SPACE)
    rewrites.clear()
    opened = 0
    while not rewrites:
        store.open_study(f"s{opened}", SPACE)  # starts only: no run ends
        opened += 1
        assert opened < 200
    # Each start adds ~600 bytes: the start that compacted found the journal past 4 x 2000 bytes, not 2000.
    assert opened > 8
    assert len(journal_lines(store)) == 1 and len(names(ExperienceStore(store.path))) == opened + 1


def test_a_compaction_that_crashed_before_its_new_journal_loses_nothing(store, monkeypatch):
    started(store, "a", "b")
    stale = store._layout.index_journal.read_bytes()  # the journal before the compaction
    store.compact_index()
    store._layout.index_journal.write_bytes(stale)  # as if killed after the snapshot's rename
    fresh = ExperienceStore(store.path)
    assert names(fresh) == ["a", "b"]  # the stale journal (another generation) is ignored
    started(fresh, "c")
    lines = journal_lines(store)
    assert lines[0]["generation"] == json.loads(store.index_path.read_text())["_meta"]["1"]["journal"]
    assert names(ExperienceStore(store.path)) == ["a", "b", "c"]


def test_a_journal_that_cannot_be_started_leaves_a_stale_one_and_the_next_change_rewrites(store, monkeypatch):
    started(store, "a")

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module, "create_log", refuse)
    store.compact_index()  # the snapshot is written; its new journal is not
    monkeypatch.undo()
    assert journal_lines(store)[0]["generation"] != json.loads(store.index_path.read_text())["_meta"]["1"]["journal"]
    assert names(ExperienceStore(store.path)) == ["a"]
    started(ExperienceStore(store.path), "b")
    assert names(ExperienceStore(store.path)) == ["a", "b"]
    assert journal_lines(store)[0]["generation"] == json.loads(store.index_path.read_text())["_meta"]["1"]["journal"]


# Torn and damaged lines -------------------------------------------------------------------------
def test_a_torn_last_line_is_ignored_and_cut_off_by_the_next_append(store):
    started(store, "a")
    with open(store._layout.index_journal, "ab") as handle:
        handle.write(b'{"type": "change", "ops": [{"op": "put", "table": "studies", "key": "9", "doc": {"id": "x')
    fresh = ExperienceStore(store.path)
    assert names(fresh) == ["a"]  # a writer killed mid-append: that change never happened
    started(fresh, "b")
    assert all(isinstance(line, dict) for line in journal_lines(store))  # every line parses: the torn bytes are gone
    assert names(ExperienceStore(store.path)) == ["a", "b"]


def test_a_damaged_journal_line_is_moved_aside_and_its_study_read_back_from_its_log(store):
    started(store, "a")
    store.compact_index()
    (lost,) = started(store, "b")
    started(store, "c")
    lines = store._layout.index_journal.read_bytes().splitlines(keepends=True)
    damaged = b'{"type": "change", "ops": [{"op": "put", "table": "studies", "key": "2", "doc": {"id": \x00garbled\n'
    lines[1] = damaged  # the change that added study b (garbled on disk)
    store._layout.index_journal.write_bytes(b"".join(lines))
    with pytest.warns(RuntimeWarning, match="damaged line"):
        studies = ExperienceStore(store.path).studies()
    assert sorted(s.name for s in studies) == ["a", "b", "c"]  # b's log still said what it was
    assert ExperienceStore(store.path).study(lost).status == "finished"
    assert store._layout.journal_quarantine.read_bytes() == damaged  # byte for byte
    assert len(journal_lines(store)) == 1  # repaired: folded into a clean snapshot


def test_a_journal_without_its_header_is_moved_aside_and_no_study_is_lost(store):
    ids = started(store, "a", "b")
    lines = store._layout.index_journal.read_bytes().splitlines(keepends=True)
    store._layout.index_journal.write_bytes(b"garbage\n" + b"".join(lines[1:]))
    with pytest.warns(RuntimeWarning, match="damaged"):
        studies = ExperienceStore(store.path).studies()
    assert sorted(s.id for s in studies) == sorted(ids)
    assert store._layout.journal_quarantine.read_bytes().startswith(b"garbage\n")


def test_an_invalid_entry_put_by_the_journal_goes_to_index_json_bad(store):
    (good,) = started(store, "good")
    evil = {"type": "change", "ops": [{"op": "put", "table": "studies", "key": "7",
                                       "doc": dict(store.study(good).to_dict(), id="../../outside", name="evil")}]}
    with open(store._layout.index_journal, "a") as handle:
        handle.write(json.dumps(evil) + "\n")
    with pytest.warns(RuntimeWarning, match="invalid entr"):
        studies = ExperienceStore(store.path).studies()
    assert [s.id for s in studies] == [good]
    (moved,) = [json.loads(line) for line in store._layout.index_quarantine.read_text().splitlines()]
    assert moved["entry"]["name"] == "evil" and moved["key"] == "7"


def test_a_journal_from_a_newer_version_is_refused(store):
    started(store, "a")
    lines = journal_lines(store)
    lines[0]["schema_version"] = schema.SCHEMA_VERSION + 1
    store._layout.index_journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(StoreVersionError, match="pip install -U jupyter-metahpo"):
        ExperienceStore(store.path).studies()


# Validation is skipped only for the bytes the store wrote ------------------------------------------
def test_a_snapshot_the_store_wrote_is_not_validated_again_but_an_edited_one_is(store, monkeypatch):
    started(store, "a", "b")
    store.compact_index()
    checked = []
    original = store_module.check_index_study
    monkeypatch.setattr(store_module, "check_index_study", lambda doc, where="": (checked.append(doc["name"]), original(doc, where))[1])
    assert names(ExperienceStore(store.path)) == ["a", "b"]
    assert checked == []  # its bytes match the digest its journal keeps
    data = json.loads(store.index_path.read_text())
    data["studies"]["2"]["direction"] = "sideways"
    store.index_path.write_text(json.dumps(data))  # edited by hand: same generation, other bytes
    with pytest.warns(RuntimeWarning, match="invalid entr"):
        assert names(ExperienceStore(store.path)) == ["a"]
    assert {"a", "b"} <= set(checked)  # every entry checked


# Stores written before the journal -------------------------------------------------------------
def test_a_store_without_a_journal_is_read_and_gets_one_at_its_first_write(store):
    started(store, "old")
    store.compact_index()
    data = json.loads(store.index_path.read_text())
    data["_meta"] = {"1": {"schema_version": 2}}  # as version 2 wrote it: no journal
    store.index_path.write_text(json.dumps(data, indent=2))
    store._layout.index_journal.unlink()
    fresh = ExperienceStore(store.path)
    assert names(fresh) == ["old"]
    started(fresh, "new")
    meta = json.loads(store.index_path.read_text())["_meta"]["1"]
    assert meta["schema_version"] == schema.SCHEMA_VERSION and journal_lines(store)[0]["generation"] == meta["journal"]
    assert names(ExperienceStore(store.path)) == ["new", "old"]


def test_a_missing_snapshot_is_rebuilt_from_the_logs_and_a_stale_journal_ignored(store):
    ids = started(store, "a", "b")
    store.index_path.unlink()
    assert sorted(s.id for s in ExperienceStore(store.path).studies()) == sorted(ids)
    assert journal_lines(store)[0]["generation"] == json.loads(store.index_path.read_text())["_meta"]["1"]["journal"]


# Several processes ------------------------------------------------------------------------------
WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from jupyter_metahpo.space import uniform
    from jupyter_metahpo.store import ExperienceStore
    from jupyter_metahpo.store import store as store_module
    store_module.COMPACT_MIN_BYTES = 4000  # compactions interleave with the other processes' appends
    store = ExperienceStore(sys.argv[2])
    for i in range(int(sys.argv[4])):
        session = store.open_study(f"{sys.argv[3]}-{i}", {"x": uniform(0.0, 1.0)})
        session.finish("finished")
    """
)


def test_processes_starting_and_ending_studies_at_once_lose_no_index_entry(store):
    from pathlib import Path

    root = str(Path(store_module.__file__).resolve().parents[2])
    store.open_study("seed", SPACE).finish("finished")
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, root, str(store.path), f"p{p}", "15"], stderr=subprocess.PIPE, text=True)
        for p in range(4)
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    studies = ExperienceStore(store.path).studies()
    assert sorted(s.name for s in studies) == sorted(["seed", *(f"p{p}-{i}" for p in range(4) for i in range(15))])
    assert {s.status for s in studies} == {"finished"}
    assert len({s.id for s in studies}) == 61
    store.compact_index()
    assert len(json.loads(store.index_path.read_text())["studies"]) == 61


# The journal's pieces ---------------------------------------------------------------------------
def test_the_changes_of_a_transaction_replay_to_the_same_index():
    from jupyter_metahpo.store.journal import apply_changes, check_journal_line, damaged_journal_lines, index_changes

    space = {"version": 1, "parameters": {"x": {"type": "uniform", "low": 0.0, "high": 1.0}}}
    before = {"tasks": {"1": {"id": "t"}}, "studies": {"1": {"id": "a", "space": space}, "2": {"id": "b", "space": space}}}
    after = {"tasks": {"1": {"id": "t"}, "2": {"id": "u"}},
             "studies": {"1": {"id": "a", "space": space, "status": "finished"}}}  # b forgotten, a ended, u added
    ops = index_changes(before, after)
    assert sorted((op["op"], op["table"], op["key"]) for op in ops) == [
        ("del", "studies", "2"), ("put", "studies", "1"), ("put", "tasks", "2")]
    assert check_journal_line({"type": "change", "ops": ops}) is None
    replayed = {table: dict(docs) for table, docs in before.items()}
    apply_changes(replayed, [{"type": "change", "ops": ops}])
    apply_changes(replayed, [{"type": "change", "ops": ops}])  # idempotent: a snapshot that holds them reads the same
    assert replayed == after and index_changes(after, after) == []
    raw = (b'{"type": "journal", "schema_version": 3, "generation": "g"}\n{"type": "change", "ops": []}\n'
           b'{"type": "journal", "schema_version": 3, "generation": "h"}\nnot json\n{"type": "change", "ops": [{"op"')
    assert [number for number, _ in damaged_journal_lines(raw)] == [2, 3, 4]  # the torn tail is not damage
