"""The ``metahpo`` command against a real store in a temporary folder."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from jupyter_metahpo import intrange, tune, uniform
from jupyter_metahpo.cli import build_parser, main
from jupyter_metahpo.samplers import RandomSampler
from jupyter_metahpo.store import ExperienceStore

SPACE = {"x": uniform(0.0, 1.0), "n": intrange(1, 3)}


def metahpo(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def store(tmp_path) -> ExperienceStore:
    store = ExperienceStore(tmp_path / "store")
    tune(lambda x, n: x * n, SPACE, 4, name="first", store=store, sampler=RandomSampler(seed=0))
    tune(lambda x, n: x + n, SPACE, 2, name="second", store=store, sampler=RandomSampler(seed=1), direction="maximize")
    return store


def test_path_defaults_to_the_environment_and_follows_store(_isolated_store, tmp_path):
    assert metahpo("path") == (0, f"{_isolated_store}\n")
    assert metahpo("path", "--store", str(tmp_path / "x")) == (0, f"{tmp_path / 'x'}\n")
    assert metahpo("--store", str(tmp_path / "y"), "path") == (0, f"{tmp_path / 'y'}\n")


def test_list_shows_every_study_as_a_table(store):
    code, text = metahpo("list", "--store", str(store.path))
    lines = text.splitlines()
    assert code == 0 and lines[0].split() == ["id", "name", "task", "status", "ok/trials", "best", "dir", "started"]
    rows = {line.split()[1]: line.split() for line in lines[2:]}
    first = store.studies("first")[0]
    assert rows["first"][0] == first.id and rows["first"][3:5] == ["finished", "4/4"]
    assert rows["second"][6] == "max"
    assert metahpo("list", "--store", str(store.path), "--name", "second")[1].count("\n") == 3


def test_list_of_an_empty_store(tmp_path):
    assert metahpo("list", "--store", str(tmp_path / "empty")) == (0, "no studies in the store yet.\n")


def test_show_prints_the_study_and_its_trials(store):
    study = store.studies("first")[0]
    code, text = metahpo("show", study.id[:5], "--store", str(store.path))
    assert code == 0
    assert f"study     {study.id}" in text and "trials    4" in text
    header = next(line for line in text.splitlines() if line.startswith("#"))
    assert header.split() == ["#", "state", "value", "x", "n", "origin"]
    code, text = metahpo("show", study.id, "--json", "--store", str(store.path))
    data = json.loads(text)
    assert data["study"]["name"] == "first" and len(data["trials"]) == 4


def test_unknown_id_is_an_error_with_a_hint(store, capsys):
    code, _ = metahpo("show", "zzzz", "--store", str(store.path))
    assert code == 1
    assert "no study with id 'zzzz'" in capsys.readouterr().err


def test_export_then_import_into_another_store(store, tmp_path):
    path = tmp_path / "all.json"
    assert metahpo("export", str(path), "--store", str(store.path)) == (0, f"exported 2 studies to {path}\n")
    code, text = metahpo("import", str(path), "--store", str(tmp_path / "other"))
    assert code == 0 and "2 new studies" in text and "6 trials added" in text
    assert len(ExperienceStore(tmp_path / "other").studies()) == 2


def test_import_csv(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("x,n,loss\n0.5,1,0.3\n0.2,3,0.1\n")
    code, text = metahpo("import", str(path), "--value", "loss", "--store", str(tmp_path / "s"))
    assert code == 0 and "2 trials added" in text
    (study,) = ExperienceStore(tmp_path / "s").studies()
    assert study.name == "old"


def test_import_of_a_bad_file_fails_with_the_location(store, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"format": "jupyter-metahpo-export", "schema_version": 1, "studies": [{"id": 3}]}')
    code, _ = metahpo("import", str(path), "--store", str(store.path))
    assert code == 1
    assert "studies[0].id" in capsys.readouterr().err


def test_forget_asks_first(store, monkeypatch):
    study = store.studies("first")[0]
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert metahpo("forget", study.id, "--store", str(store.path)) == (1, "nothing forgotten.\n")
    assert len(store.studies()) == 2
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert metahpo("forget", study.id, "--store", str(store.path))[0] == 0
    assert [s.name for s in store.studies()] == ["second"]
    second = store.studies()[0]
    code, text = metahpo("forget", second.id, "--yes", "--store", str(store.path))
    assert code == 0 and text.startswith(f"forgot study {second.id}")
    assert store.studies() == ()


def test_stats(store):
    code, text = metahpo("stats", "--json", "--store", str(store.path))
    stats = json.loads(text)
    assert (stats["studies"], stats["trials"], stats["studies_by_status"]) == (2, 6, {"finished": 2})
    assert metahpo("stats", "--store", str(store.path))[1].startswith("path")


@pytest.mark.parametrize("command", ["path", "list", "show", "export", "import", "forget", "stats"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    assert "--store PATH" in capsys.readouterr().out


def test_the_console_script_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from jupyter_metahpo.cli import main; sys.exit(main())", "path", "--store", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == str(tmp_path)


def test_the_cli_module_imports_no_torch():
    code = "import sys, jupyter_metahpo.cli; print('torch' in sys.modules, 'botorch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"]
