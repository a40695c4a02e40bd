"""Run files and resume logic: torn lines, duplicates, mismatched headers, planning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jupyter_metahpo.prior.protocol import POOL_SIZES, PROTOCOL, config_pool
from jupyter_metahpo.prior.runs import RunFile, RunFileBusyError, RunMismatchError, read_run

HEADER = {
    "space": "svc",
    "space_json": {"parameters": {}},
    "protocol": PROTOCOL,
    "pool_size": 4,
    "dataset": {"name": "toy", "fingerprint": "abc"},
}
RESULT = {"score": 0.5, "fold_scores": [0.5, 0.5, 0.5], "fit_time": 0.1, "cpu_time": 0.1, "error": None}


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_new_run_file_starts_with_its_header_and_appends_whole_lines(tmp_path):
    path = tmp_path / "svc" / "toy.jsonl"
    with RunFile(path, HEADER) as run:
        run.record(0, {"C": 1.0}, RESULT)
        run.record(1, {"C": 2.0}, {**RESULT, "score": None, "error": "ValueError: boom"})
    lines = _lines(path)
    assert [line["kind"] for line in lines] == ["header", "eval", "eval"]
    assert lines[2]["error"] == "ValueError: boom" and lines[1]["config"] == {"C": 1.0}
    assert sorted(read_run(path).evals) == [0, 1]


def test_a_torn_last_line_is_ignored_then_cut_before_the_next_append(tmp_path):
    path = tmp_path / "toy.jsonl"
    with RunFile(path, HEADER) as run:
        run.record(0, {"C": 1.0}, RESULT)
        run.record(1, {"C": 2.0}, RESULT)
    with open(path, "ab") as f:
        f.write(b'{"kind": "eval", "index": 2, "config": {"C": 3')  # killed mid-write

    record = read_run(path)
    assert sorted(record.evals) == [0, 1] and record.torn_bytes > 0

    with RunFile(path, HEADER) as resumed:  # resuming cuts the torn tail
        assert sorted(resumed.done) == [0, 1]
        resumed.record(2, {"C": 3.0}, RESULT)
    lines = _lines(path)  # every line parses again
    assert [line.get("index") for line in lines] == [None, 0, 1, 2]


def test_nothing_is_recorded_twice_and_the_first_record_wins(tmp_path):
    path = tmp_path / "toy.jsonl"
    with RunFile(path, HEADER) as run:
        run.record(0, {"C": 1.0}, RESULT)
        run.record(0, {"C": 1.0}, {**RESULT, "score": 0.9})  # ignored by the writer
    with open(path, "a") as f:  # a duplicate that reached the file anyway
        f.write(json.dumps({"kind": "eval", "index": 0, "config": {"C": 1.0}, **RESULT, "score": 0.1}) + "\n")
        f.write("not json at all\n")  # a garbled complete line is skipped
    assert read_run(path).evals[0]["score"] == 0.5
    with RunFile(path, HEADER) as run:
        assert run.done[0]["score"] == 0.5


def test_resuming_with_another_space_or_dataset_is_refused(tmp_path):
    path = tmp_path / "toy.jsonl"
    RunFile(path, HEADER).close()
    with pytest.raises(RunMismatchError, match="pool_size"):
        RunFile(path, {**HEADER, "pool_size": 8})
    with pytest.raises(RunMismatchError, match="different data"):
        RunFile(path, {**HEADER, "dataset": {"name": "toy", "fingerprint": "other"}})


def test_a_missing_file_reads_as_empty(tmp_path):
    record = read_run(tmp_path / "nothing.jsonl")
    assert record.header is None and record.evals == {}


def test_the_pool_starts_with_the_defaults_and_is_the_same_every_time():
    from jupyter_metahpo.builtin_spaces import get_builtin_space

    for space in ("svc", "hgb_regressor"):
        builtin = get_builtin_space(space)
        pool = config_pool(space)
        assert len(pool) == POOL_SIZES[builtin.family]
        assert pool[0] == dict(builtin.default_config)
        assert pool == config_pool(space)
        for config in pool:
            builtin.space.validate_config(config)
        unit = builtin.space.encode(pool[1:])
        assert len({tuple(row) for row in unit.round(9)}) == len(pool) - 1  # no repeats
    with pytest.raises(ValueError, match="size"):
        config_pool("svc", size=0)


def test_status_counts_evaluations_failures_and_projects_the_cost_left(tmp_path):
    from jupyter_metahpo.prior.status import build_status, format_status

    with RunFile(tmp_path / "svc" / "keel_bupa.jsonl", HEADER) as run:
        run.record(0, {"C": 1.0}, {**RESULT, "cpu_time": 2.0})
        run.record(1, {"C": 2.0}, {**RESULT, "score": None, "error": "stopped", "cpu_time": 4.0})
    rows = {row["space"]: row for row in build_status(tmp_path, families=["svm"])}
    svc = rows["svc"]
    assert (svc["evals_done"], svc["failed"], svc["datasets_complete"]) == (2, 1, 0)
    assert svc["evals_total"] == POOL_SIZES["svm"] * svc["datasets"]
    assert svc["cpu_s_per_eval"] == pytest.approx(3.0)
    assert svc["cpu_hours_left"] == pytest.approx(3.0 * (svc["evals_total"] - 2) / 3600)
    assert rows["svr"]["evals_done"] == 0 and rows["svr"]["cpu_hours_left"] is None
    text = format_status(list(rows.values()))
    assert "svc" in text and "2/" in text


def test_a_second_writer_on_the_same_file_is_refused_until_the_first_closes(tmp_path):
    path = tmp_path / "toy.jsonl"
    first = RunFile(path, HEADER)
    with pytest.raises(RunFileBusyError, match="another build"):
        RunFile(path, HEADER)
    first.record(0, {"C": 1.0}, RESULT)  # the first writer is untouched
    first.close()
    with RunFile(path, HEADER) as second:
        assert sorted(second.done) == [0]


def test_the_command_line_prints_status_and_rejects_unknown_families(tmp_path, capsys):
    from jupyter_metahpo.prior.__main__ import main

    assert main(["status", "--runs-dir", str(tmp_path), "--families", "svm"]) == 0
    out = capsys.readouterr().out
    assert "svc" in out and "svr" in out and "hgb_classifier" not in out
    with pytest.raises(SystemExit):
        main(["build", "--families", "xgboost"])
    assert "invalid choice" in capsys.readouterr().err


def test_the_runs_live_in_the_repository_not_in_the_package(monkeypatch):
    import jupyter_metahpo
    from jupyter_metahpo.prior.runs import RUNS_ENV_VAR, default_runs_dir

    monkeypatch.delenv(RUNS_ENV_VAR, raising=False)
    package = Path(jupyter_metahpo.__file__).resolve().parent
    assert default_runs_dir() == package.parent / "prior-build" / "runs"
    assert default_runs_dir().is_dir()  # this is a source checkout: the build's runs are there
    assert not list(package.rglob("*.jsonl")), "raw run files must not sit inside the package"


def test_the_runs_folder_is_overridden_by_option_or_environment(tmp_path, monkeypatch, capsys):
    from jupyter_metahpo.prior.__main__ import main
    from jupyter_metahpo.prior.runs import RUNS_ENV_VAR, resolve_runs_dir

    monkeypatch.setenv(RUNS_ENV_VAR, str(tmp_path))
    assert resolve_runs_dir() == tmp_path
    assert resolve_runs_dir(tmp_path / "given", create=True) == tmp_path / "given"  # a build may start a new one
    assert main(["status", "--families", "svm"]) == 0
    with RunFile(tmp_path / "other" / "svc" / "keel_bupa.jsonl", HEADER) as run:
        run.record(0, {"C": 1.0}, RESULT)
    assert main(["status", "--runs", str(tmp_path / "other"), "--families", "svm"]) == 0
    assert re.search(r"svc\s+0/\d+\s+1/", capsys.readouterr().out)  # the option wins over the variable


def test_a_missing_runs_folder_is_an_error_that_says_where_to_get_one(tmp_path, monkeypatch, capsys):
    from jupyter_metahpo.prior import runs
    from jupyter_metahpo.prior.__main__ import main
    from jupyter_metahpo.prior.build import BuildSettings
    from jupyter_metahpo.prior.status import build_status

    missing = tmp_path / "missing"
    with pytest.raises(runs.RunsDirNotFoundError, match=r"clone.*--runs DIR"):
        build_status(missing)
    for command in ("status", "assemble"):
        assert main([command, "--runs", str(missing)]) == 2
        assert f"no prior runs folder at {missing} (given)" in capsys.readouterr().err
    # An installed package has no prior-build/runs next to it: nothing is created, every command says so.
    monkeypatch.delenv(runs.RUNS_ENV_VAR, raising=False)
    monkeypatch.setattr(runs, "default_runs_dir", lambda: missing)
    for command in ("status", "assemble", "build"):
        assert main([command]) == 2
        assert "no prior runs folder" in capsys.readouterr().err
    with pytest.raises(runs.RunsDirNotFoundError):
        BuildSettings()
    assert not missing.exists()
