"""The ``metahpo`` command against a real store in a temporary folder."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from jupyter_metahpo import intrange, tune, uniform
from jupyter_metahpo._text import printable
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
    err = capsys.readouterr().err
    assert "no study named 'zzzz' (nor with that id)" in err and "Known names: 'first', 'second'" in err


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


# ------------------------------------------------ issue 19: names, no terminal, bad input, escapes


def run_cli(*argv: str, answer: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m jupyter_metahpo.cli ...`` as a user runs it: its own process; stdin closed
    unless ``answer`` is piped in."""
    stdin = {"input": answer} if answer is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_metahpo.cli", *argv],
        capture_output=True, timeout=120, env={**os.environ, **(env or {})}, **stdin,
    )


def test_show_export_and_forget_accept_a_study_name(store, tmp_path, capsys):
    first = store.studies("first")[0]
    code, text = metahpo("show", "first", "--store", str(store.path))
    assert code == 0 and f"study     {first.id}" in text
    path = tmp_path / "first.json"
    assert metahpo("export", str(path), "first", "--store", str(store.path)) == (0, f"exported 1 studies to {path}\n")
    assert [s["name"] for s in json.loads(path.read_text())["studies"]] == ["first"]
    code, text = metahpo("forget", "second", "--yes", "--store", str(store.path))
    assert code == 0 and text.startswith("forgot study") and [s.name for s in store.studies()] == ["first"]
    assert capsys.readouterr().err == ""  # one study per name: nothing to warn about


def test_a_name_several_studies_share(store, tmp_path, capsys):
    tune(lambda x, n: x, SPACE, 1, name="first", store=store, sampler=RandomSampler(seed=2), resume=False)
    old, new = store.studies("first")
    code, text = metahpo("show", "first", "--store", str(store.path))
    err = capsys.readouterr().err
    assert code == 0 and f"study     {new.id}" in text and "trials    1" in text  # the latest
    assert "2 studies are named 'first'; using the latest" in err and old.id in err and "Pass an id" in err
    path = tmp_path / "latest.json"
    assert metahpo("export", str(path), "first", "--store", str(store.path))[0] == 0
    assert [s["id"] for s in json.loads(path.read_text())["studies"]] == [new.id]
    # Forgetting cannot be undone: a shared name is refused, with the ids to choose from.
    code, text = metahpo("forget", "first", "--yes", "--store", str(store.path))
    err = capsys.readouterr().err
    assert code == 1 and text == ""
    assert "2 studies are named 'first'" in err and old.id in err and new.id in err and "Pass the id" in err
    assert len(store.studies("first")) == 2
    assert metahpo("forget", old.id, "--yes", "--store", str(store.path))[0] == 0
    assert store.studies("first") == (new,)


def test_an_unknown_name_or_an_ambiguous_id_prefix_is_one_line(store, tmp_path, capsys):
    code, _ = metahpo("export", str(tmp_path / "x.json"), "nobody", "--store", str(store.path))
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "no study named 'nobody' (nor with that id)" in err
    assert not (tmp_path / "x.json").exists()
    # Two studies whose ids share a prefix (ids chosen through an import): the prefix is
    # not guessed, and the message is the store's, not "no study named".
    payload = store_payload(store, tmp_path)
    for study, new_id in zip(payload["studies"], ("abc1", "abc2")):
        study["id"] = new_id
    (tmp_path / "ids.json").write_text(json.dumps(payload))
    other = str(tmp_path / "other")
    assert metahpo("import", str(tmp_path / "ids.json"), "--store", other)[0] == 0
    assert metahpo("show", "abc", "--store", other)[0] == 1
    assert "the id prefix 'abc' matches 2 studies; give more characters" in capsys.readouterr().err
    assert metahpo("show", "abc2", "--store", other)[0] == 0


def store_payload(store: ExperienceStore, folder) -> dict:
    """The store's studies as an export document, to edit into the file a test needs."""
    store.export_json(folder / "exported.json")
    return json.loads((folder / "exported.json").read_text())


def test_forget_without_a_terminal_and_without_yes_is_one_line(store):
    done = run_cli("forget", "first", "--store", str(store.path))  # stdin closed, as in a script or CI
    err = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in err and "EOFError" not in err
    assert err == "metahpo forget: error: no terminal to ask for confirmation on (stdin is closed); pass --yes to forget without asking.\n"
    assert len(store.studies("first")) == 1  # nothing forgotten
    # An answer on a pipe is still an answer.
    assert run_cli("forget", "first", "--store", str(store.path), answer=b"y\n").returncode == 0
    assert store.studies("first") == ()


def _export_with(store: ExperienceStore, folder, raw_value: str) -> str:
    """An export of ``store`` whose first study's name is replaced by raw JSON text."""
    payload = store_payload(store, folder)
    payload["studies"][0]["name"] = "PLACEHOLDER"
    return json.dumps(payload).replace('"PLACEHOLDER"', raw_value)


def _bad_input(case: str, store: ExperienceStore, tmp_path) -> tuple[list[str], str, str]:
    """(the command, the file its error must name, what the error must say) for one bad input."""
    other = ["--store", str(tmp_path / "other")]
    if case == "deep json":
        path = tmp_path / "deep.json"
        path.write_text("[" * 100_000 + "]" * 100_000)
        return ["import", str(path), *other], str(path), "nested too deeply"
    if case == "400-digit integer":
        path = tmp_path / "huge.json"
        payload = store_payload(store, tmp_path)
        payload["studies"][0]["trials"][0]["value"] = "HUGE"
        path.write_text(json.dumps(payload).replace('"HUGE"', "9" * 400))
        return ["import", str(path), *other], str(path), "holds an integer of 400 digits"
    if case == "400-digit integer in a csv":
        path = tmp_path / "huge.csv"
        path.write_text(f"x,n,value\n0.5,1,{'9' * 400}\n")
        return ["import", str(path), *other], str(path), "a number too large"
    if case == "a folder":
        (tmp_path / "folder.json").mkdir()
        return ["import", str(tmp_path / "folder.json"), *other], str(tmp_path / "folder.json"), "it is a folder"
    if case == "a path under a file":
        (tmp_path / "plain").write_text("")
        path = tmp_path / "plain" / "x.json"
        return ["import", str(path), *other], str(path), "is a file, not a folder"
    if case == "a store that is a file":
        (tmp_path / "plain").write_text("")
        return ["list", "--store", str(tmp_path / "plain")], str(tmp_path / "plain"), "is a file, not a folder"
    if case == "a lone surrogate in a name":
        path = tmp_path / "surrogate.json"
        path.write_text(_export_with(store, tmp_path, '"a\\udc80b"'))
        return ["import", str(path), *other], str(path), "studies[0].name: holds a lone surrogate '\\udc80'"
    if case == "a csv file name that is not utf-8":  # its name becomes the study's name
        raw = os.fsencode(tmp_path) + b"/old\xff.csv"
        with open(raw, "wb") as file:
            file.write(b"x,n,value\n0.5,1,0.3\n")
        path = os.fsdecode(raw)
        # the CSV import streams its rows (store/importers.py): the error names the file and the character
        return ["import", path, *other], "old\\udcff.csv", "'\\udcff'"
    raise AssertionError(case)


@pytest.mark.parametrize("case", [
    "deep json", "400-digit integer", "400-digit integer in a csv", "a folder", "a path under a file",
    "a store that is a file", "a lone surrogate in a name", "a csv file name that is not utf-8",
])
def test_bad_input_is_an_error_naming_the_file_not_a_traceback(case, store, tmp_path, capsys):
    argv, named, says = _bad_input(case, store, tmp_path)
    code, text = metahpo(*argv)  # today: RecursionError, OverflowError, IsADirectoryError, ...
    err = capsys.readouterr().err
    assert code == 1 and text == ""
    assert err.startswith(f"metahpo {argv[0]}: error: ") and "Traceback" not in err
    assert named in err and says in err
    assert all(printable(line) == line for line in err.splitlines())  # no raw surrogate or control character
    assert not (tmp_path / "other").exists() or ExperienceStore(tmp_path / "other").studies() == ()


def test_a_file_name_that_is_not_utf8_is_printed_escaped(store, tmp_path):
    """A strict UTF-8 stdout cannot print a lone surrogate: the export is done, and said so."""
    raw = os.fsencode(tmp_path) + b"/caf\xe9.json"  # Latin-1 bytes, as an old file system writes them
    done = run_cli("export", os.fsdecode(raw), "--store", str(store.path), env={"PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == f"exported 2 studies to {tmp_path}/caf\\udce9.json\n"
    assert len(json.loads(open(raw, "rb").read())["studies"]) == 2


EVIL_NAME = "evil\x1b[31mred\x1b]0;pwned\x07\x00cut\u202eexe.jpg"
EVIL_TASK = "task\x1b[2J\x1b]8;;http://x\x1b\\link"


def test_control_characters_in_names_and_tasks_are_shown_escaped(tmp_path):
    store = ExperienceStore(tmp_path / "store")
    tune(lambda x, n: x, SPACE, 2, name=EVIL_NAME, task=EVIL_TASK, store=store, sampler=RandomSampler(seed=0))
    (study,) = store.studies()
    by_name = metahpo("show", EVIL_NAME, "--store", str(store.path))  # argv cannot hold a NUL: in process
    for argv in (["list"], ["show", study.id], ["show", "by name"]):
        done = run_cli(*argv, "--store", str(store.path)) if argv[-1] != "by name" else None
        code, out = (done.returncode, done.stdout.decode()) if done else by_name
        assert code == 0, done and done.stderr.decode()
        for char in ("\x1b", "\x07", "\x00", "\u202e"):  # ESC, BEL (ends OSC), NUL, RLO
            assert char not in out, (argv, char)
        assert r"evil\x1b[31mred" in out and r"task\x1b[2J" in out
        if argv[0] == "show":  # list clips names to 32 characters
            assert r"name      evil\x1b[31mred\x1b]0;pwned\x07\x00cut\u202eexe.jpg" in out
    # The table's columns still line up: each row is as wide as the escaped text says.
    code, text = metahpo("list", "--store", str(store.path))
    header, rule, row = text.splitlines()
    assert row.startswith(study.id) and len(rule.split()) == len(header.split())


def test_show_numbers_trials_from_1_as_the_widget_does(store, capsys):
    study = store.studies("first")[0]
    code, text = metahpo("show", "first", "--store", str(store.path))
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#"))
    numbers = [int(line.split()[0]) for line in lines[start + 2:]]
    assert numbers == [1, 2, 3, 4]
    assert [t.trial.number for t in store.trials(study.id)] == [0, 1, 2, 3]  # the store keeps its own
    code, text = metahpo("show", "first", "--json", "--store", str(store.path))
    assert [t["number"] for t in json.loads(text)["trials"]] == [0, 1, 2, 3]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["show", "--help"])
    assert "numbered from 1" in " ".join(capsys.readouterr().out.split())
