"""The ``%%metatune`` magic through a real IPython shell.

Five trials or fewer stay in the Sobol initial design, so these tests never fit a GP.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap

import pytest
from IPython.core.error import UsageError

from helpers.keras_backend import keras_on_torch
from jupyter_metahpo import TuningResult
from jupyter_metahpo.api import tune
from jupyter_metahpo.magics import StudyFailed

TUNE_PARAMETERS = set(inspect.signature(tune).parameters)


@pytest.fixture
def ip():
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jupyter_metahpo")
    shell.run_line_magic("config", "MetatuneMagics.display = 'none'")
    yield shell
    shell.run_line_magic("config", "MetatuneMagics.display = 'auto'")
    shell.run_line_magic("config", "MetatuneMagics.trials = 30")
    shell.reset(new_session=False)


def cell(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


QUADRATIC = cell(
    """
    space = {"x": uniform(-2.0, 2.0), "kind": choice("a", "b")}
    def f(x, kind):
        return (x - 0.5) ** 2 + (kind == "b")
    """
)


def test_load_ext_is_quick_and_imports_no_torch():
    code = cell(
        """
        import sys
        from IPython.testing.globalipapp import start_ipython
        ip = start_ipython()
        ip.run_line_magic("load_ext", "jupyter_metahpo")
        assert "metatune" in ip.magics_manager.magics["cell"]
        assert "metatune_history" in ip.magics_manager.magics["line"]
        heavy = [m for m in ("torch", "botorch", "gpytorch", "ipywidgets", "pandas") if m in sys.modules]
        print("heavy:", heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "heavy: []" in out.stdout


def test_the_cell_defines_space_and_objective_and_the_result_comes_back(ip):
    result = ip.run_cell_magic("metatune", "--trials 5 --seed 3 --name quad", QUADRATIC)
    assert isinstance(result, TuningResult)
    assert len(result.trials) == 5 and result.status == "finished"
    assert result.name == "quad"
    assert result.best_value == min(t.value for t in result.trials)
    assert callable(ip.user_ns["f"])  # the cell ran in the user's namespace


def test_maximize_out_and_distributions_as_defaults(ip):
    body = cell(
        """
        def score(lr=loguniform(1e-4, 1e-1), depth=intrange(1, 6)):
            return -abs(depth - 3) - lr
        """
    )
    assert ip.run_cell_magic("metatune", "--trials 4 --maximize --out res --seed 0", body) is None
    res = ip.user_ns["res"]
    assert res.direction.value == "maximize"
    assert set(res.space.names) == {"lr", "depth"}
    assert res.best_value == max(t.value for t in res.trials)


def test_a_choice_of_layer_sizes_hands_the_objective_tuples(ip):
    body = cell(
        """
        seen = []
        def fit(hidden_layer_sizes=choice((8,), (16,), (8, 8)), alpha=loguniform(1e-4, 1e-1)):
            seen.append(hidden_layer_sizes)
            return sum(hidden_layer_sizes) * alpha
        """
    )
    result = ip.run_cell_magic("metatune", "--trials 4 --seed 0", body)
    assert len(result.trials) == 4 and all(type(v) is tuple for v in ip.user_ns["seen"])
    assert isinstance(result.best_config["hidden_layer_sizes"], tuple)


def test_space_and_objective_by_name_and_a_metric(ip):
    body = cell(
        """
        grid = {"a": uniform(0.0, 1.0)}
        def helper(a):
            return a
        def evaluate(a):
            return {"loss": helper(a), "other": 1.0}
        """
    )
    with pytest.raises(UsageError, match=r"several functions \(helper, evaluate\).*--objective NAME"):
        ip.run_cell_magic("metatune", "--trials 2 --space grid --metric loss", body)
    res = ip.run_cell_magic("metatune", "--trials 3 --space grid --objective evaluate --metric loss", body)
    assert [t.value for t in res.trials] == [t.config["a"] for t in res.trials]
    assert all(t.metrics["other"] == 1.0 for t in res.trials)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--trials 0", "--trials must be a positive integer"),
        ("--timeout -1", "--timeout must be a positive number"),
        ("--trials many", "invalid int value"),
        ("--bogus", "unrecognized arguments: --bogus"),
        ("--out 2bad", "--out must be a Python variable name"),
        ("--objective missing", "no variable named 'missing'"),
        ("--jobs 0", "--jobs must be a positive integer"),
        ("--pruner medain", "--pruner must be one of none, median, halving, meta"),
    ],
)
def test_a_bad_line_is_a_one_line_usage_error(ip, line, message):
    with pytest.raises(UsageError, match=message) as error:
        ip.run_cell_magic("metatune", line, QUADRATIC)
    assert "\n" not in str(error.value)


def test_a_bad_distribution_names_the_parameter_and_the_rule(ip):
    body = cell(
        """
        space = {
            "depth": intrange(1, 8),
            "lr": uniform(1.0, 0.5),
        }
        def f(depth, lr):
            return lr
        """
    )
    with pytest.raises(UsageError) as error:
        ip.run_cell_magic("metatune", "--trials 2", body)
    message = str(error.value)
    # line 4 of the cell as the notebook numbers it: the %%metatune line is line 1
    assert '"lr": uniform(1.0, 0.5)' in message and "`low` must be < `high`" in message
    assert "line 4 of the cell" in message


def test_a_space_entry_that_is_no_distribution_is_named(ip):
    body = cell(
        """
        space = {"lr": 0.1}
        def f(lr):
            return lr
        """
    )
    with pytest.raises(UsageError, match=r"bad search space \(space\): space\['lr'\] must be a distribution"):
        ip.run_cell_magic("metatune", "--trials 2", body)


def test_no_space_at_all_says_the_ways_to_give_one(ip):
    with pytest.raises(UsageError, match="no search space found.*--space NAME.*defaults.*trial.suggest_float"):
        ip.run_cell_magic("metatune", "--trials 2", "def f(x):\n    return x")


def test_an_objective_that_always_fails_stops_early_with_its_error_once(ip, capsys):
    body = cell(
        """
        space = {"x": uniform(0.0, 1.0)}
        def broken(x):
            raise ValueError("the data file is missing")
        """
    )
    with pytest.raises(StudyFailed, match="failed on all of the first 5 trials") as error:
        ip.run_cell_magic("metatune", "--trials 50", body)
    assert str(error.value).count("ValueError: the data file is missing") == 1
    # Through run_cell, as in a notebook: the error is shown once and the shell lives on.
    outcome = ip.run_cell("%%metatune --trials 50\n" + body)
    assert isinstance(outcome.error_in_exec, StudyFailed)
    shown = capsys.readouterr()
    assert (shown.out + shown.err).count("ValueError: the data file is missing") == 1
    assert ip.run_cell("1 + 1").result == 2


def test_defaults_set_once_with_config(ip):
    ip.run_line_magic("config", "MetatuneMagics.trials = 3")
    ip.run_line_magic("config", "MetatuneMagics.direction = 'maximize'")
    res = ip.run_cell_magic("metatune", "", QUADRATIC)
    assert len(res.trials) == 3 and res.direction.value == "maximize"
    assert len(ip.run_cell_magic("metatune", "--trials 2 --minimize", QUADRATIC).trials) == 2
    ip.run_line_magic("config", "MetatuneMagics.direction = 'minimize'")


def test_help_lists_every_option(ip):
    doc = ip.find_cell_magic("metatune").__doc__
    for option in ("--trials", "--timeout", "--maximize", "--minimize", "--metric", "--data", "--name", "--seed",
                   "--strategy", "--store", "--resume", "--fresh", "--out", "--quiet", "--space", "--objective",
                   "--jobs", "--scheduler"):
        assert option in doc, option


def test_text_progress_outside_a_notebook(ip, capsys):
    ip.run_line_magic("config", "MetatuneMagics.display = 'auto'")
    ip.run_cell_magic("metatune", "--trials 3 --name texty", QUADRATIC)
    out = capsys.readouterr().out
    assert "Tuning texty" in out and "[  3/3]" in out and "Done (finished)" in out
    ip.run_cell_magic("metatune", "--trials 2 --quiet", QUADRATIC)
    assert capsys.readouterr().out == ""


def test_data_option_needs_its_variables_and_its_backend(ip):
    with pytest.raises(UsageError, match="no variable named 'X_missing'"):
        ip.run_cell_magic("metatune", "--trials 2 --data X_missing y_missing", QUADRATIC)
    if "data" not in TUNE_PARAMETERS:
        ip.user_ns.update(X=[[1.0], [2.0]], y=[0, 1])
        with pytest.raises(UsageError, match="--data is not available yet"):
            ip.run_cell_magic("metatune", "--trials 2 --data X y", QUADRATIC)
    if "strategy" not in TUNE_PARAMETERS:
        with pytest.raises(UsageError, match="--strategy is not available yet"):
            ip.run_cell_magic("metatune", "--trials 2 --strategy none", QUADRATIC)


@pytest.mark.skipif(not {"data", "strategy"} <= TUNE_PARAMETERS, reason="tune() has no meta-learning yet")
def test_data_and_strategy_reach_tune(ip, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    ip.user_ns["X_train"] = rng.normal(size=(60, 3))
    ip.user_ns["y_train"] = (ip.user_ns["X_train"][:, 0] > 0).astype(int)
    store = tmp_path / "store"
    result = ip.run_cell_magic(
        "metatune", f"--trials 3 --data X_train y_train --strategy none --name with-data --store {store}", QUADRATIC
    )
    assert len(result.trials) == 3
    assert {t.origin.source for t in result.trials} == {"sobol"}  # --strategy none: a cold start
    with pytest.raises(UsageError, match="--strategy must be one of .*none, but got --strategy 'bogus'"):
        ip.run_cell_magic("metatune", "--trials 2 --strategy bogus", QUADRATIC)


def test_the_pruner_reaches_tune_from_the_line_or_the_config(ip):
    body = cell(
        """
        space = {"x": uniform(0.0, 1.0)}
        def train(x, trial):
            for epoch in range(4):
                trial.report(x * (epoch + 1), epoch)
                if trial.should_prune():
                    raise TrialPruned()
            return x
        """
    )
    ip.user_ns["TrialPruned"] = __import__("jupyter_metahpo").TrialPruned
    result = ip.run_cell_magic("metatune", "--trials 5 --maximize --seed 0 --pruner halving", body)
    assert {t.state.value for t in result.trials} == {"complete", "pruned"}
    ip.run_line_magic("config", "MetatuneMagics.pruner = 'none'")
    try:
        result = ip.run_cell_magic("metatune", "--trials 5 --maximize --seed 0", body)
    finally:
        ip.run_line_magic("config", "MetatuneMagics.pruner = None")
    assert {t.state.value for t in result.trials} == {"complete"}


@pytest.mark.skipif("store" not in TUNE_PARAMETERS, reason="tune() does not record into the experience store yet")
def test_trials_go_to_the_store_and_history_and_compare_read_them(ip, tmp_path):
    store = tmp_path / "store"
    ip.run_cell_magic("metatune", f"--trials 3 --name alpha --store {store}", QUADRATIC)
    ip.run_cell_magic("metatune", f"--trials 4 --name beta --store {store} --seed 1", QUADRATIC)
    table = ip.run_line_magic("metatune_history", f"--store {store}")
    assert list(table["name"]) == ["beta", "alpha"]
    assert list(table["trials"]) == [4, 3]
    view = ip.run_line_magic("metatune_compare", f"alpha beta --store {store}")
    assert [s.name for s in view.series] == ["alpha", "beta"]
    with pytest.raises(UsageError, match="no study named 'gamma'"):
        ip.run_line_magic("metatune_compare", f"gamma --store {store}")
    if "resume" in TUNE_PARAMETERS:
        resumed = ip.run_cell_magic("metatune", f"--trials 5 --name alpha --store {store}", QUADRATIC)
        assert len(resumed.trials) == 5  # 3 stored + 2 new
        with pytest.raises(StudyFailed, match="already has a study named 'alpha'"):  # never two of one name
            ip.run_cell_magic("metatune", f"--trials 2 --name alpha --store {store} --fresh", QUADRATIC)
        other_space = "space = {'z': uniform(0.0, 1.0)}\ndef g(z):\n    return z"
        with pytest.raises(StudyFailed, match="different search space") as mismatch:
            ip.run_cell_magic("metatune", f"--trials 2 --name alpha --store {store}", other_space)
        # the way out the magic accepts (it refuses --fresh on a taken name): another name, or forget
        assert "another name (--name in %%metatune)" in str(mismatch.value) and "metahpo forget" in str(mismatch.value)
        assert mismatch.value._render_traceback_()[0].startswith("StudyMismatchError: ")


def test_unload_removes_the_magics(ip):
    ip.run_line_magic("unload_ext", "jupyter_metahpo")
    assert "metatune" not in ip.magics_manager.magics["cell"]
    ip.run_line_magic("load_ext", "jupyter_metahpo")
    assert "metatune" in ip.magics_manager.magics["cell"]


@pytest.mark.slow
def test_a_saved_notebook_keeps_a_readable_final_state(tmp_path):
    """Run a notebook in a real kernel (nbclient): the live widget ends as HTML and text."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_metahpo"),
        nbformat.v4.new_code_cell("%%metatune --trials 4 --name saved --out res\n" + QUADRATIC),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    shown = [o for o in outputs if o.output_type == "display_data"]
    assert len(shown) == 1, outputs
    data = shown[0].data
    assert "application/vnd.jupyter.widget-view+json" not in data  # nothing that needs widget state
    assert "Finished" in data["text/html"] and "<svg" in data["text/html"]
    assert "metatune saved: finished, 4 trials" in data["text/plain"]
    assert not [o for o in outputs if o.output_type == "error"]


def test_running_the_same_cell_twice_finds_its_function_again(ip):
    first = ip.run_cell_magic("metatune", "--trials 2", QUADRATIC)
    second = ip.run_cell_magic("metatune", "--trials 2", QUADRATIC)
    assert len(first.trials) == len(second.trials) == 2


def _function_body_lines(path) -> int:
    """Lines of code inside function bodies: no docstrings, comments, blank lines, declarations or imports."""
    import ast
    import io
    import tokenize

    source = open(path, encoding="utf-8").read()
    docstrings, bodies = set(), set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
        if isinstance(node, ast.FunctionDef):
            bodies.update(range(node.lineno, node.end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    code = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            code.update(line for line in range(token.start[0], token.end[0] + 1) if line in bodies - docstrings)
    return len(code)


def test_the_magic_stays_thin():
    # The magic parses its line and chooses the display; reading the cell is jupyter_metahpo.cell's
    # job and preparing the study the pipeline's (it was 240 lines before the pipeline existed).
    import jupyter_metahpo.magics

    assert _function_body_lines(jupyter_metahpo.magics.__file__) < 120


def test_the_old_race_import_still_works_with_a_deprecation_warning():
    import jupyter_metahpo.widgets as widgets
    from jupyter_metahpo import race

    with pytest.warns(DeprecationWarning, match="from jupyter_metahpo import race"):
        assert widgets.race is race


# What users and faults ran into (issue 19) ---------------------------------------------------


def test_an_interrupt_ends_the_cell_as_interrupted_in_one_line(ip, capsys, tmp_path):
    # Ctrl-C / "interrupt the kernel" raises KeyboardInterrupt in the running objective.
    body = cell(
        """
        space = {"x": uniform(0.0, 1.0)}
        calls = []
        def f(x):
            calls.append(x)
            if len(calls) == 4:
                raise KeyboardInterrupt
            return x
        """
    )
    store = tmp_path / "store"
    outcome = ip.run_cell(f"%%metatune --trials 20 --name stopped --store {store} --out res\n" + body)
    # an error, so that Jupyter aborts the cells queued after this one ("Run All")
    assert isinstance(outcome.error_in_exec, KeyboardInterrupt)
    shown = capsys.readouterr()
    lines = [line for line in (shown.out + shown.err).splitlines() if line.strip()]
    assert lines == [
        "StudyInterrupted: the study 'stopped' was interrupted after 3 finished trials, kept in the experience "
        "store; run it again under the same name to go on."
    ]
    assert ip.user_ns["res"].status == "interrupted" and len(ip.user_ns["res"].trials) == 3
    from jupyter_metahpo import ExperienceStore

    (record,) = ExperienceStore(store).studies("stopped")
    assert record.status == "interrupted" and len(ExperienceStore(store).trials(record.id)) == 3


def test_a_syntax_error_in_the_cell_is_one_message_with_the_cells_line(ip, capsys):
    body = cell(
        """
        space = {"x": uniform(0.0, 1.0)}
        def f(x)
            return x
        """
    )
    outcome = ip.run_cell("%%metatune --trials 2\n" + body)
    assert isinstance(outcome.error_in_exec, UsageError)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    # line 3 of the cell as the notebook shows it: the %%metatune line is line 1
    assert "UsageError: syntax error in line 3 of the cell: def f(x)" in text
    assert "magics.py" not in text and "cell.py" not in text and "Traceback" not in text
    assert text.count("UsageError") == 1


def test_errors_in_the_objective_point_at_the_cells_own_lines(ip):
    body = cell(
        """
        space = {"x": uniform(0.0, 1.0)}
        def f(x):
            return 1 / 0
        """
    )
    res = ip.run_cell_magic("metatune", "--trials 2", body)
    assert "line 4, in f" in res.trials[0].error  # line 4 of the cell, counting the %%metatune line


def test_no_widget_is_left_when_the_store_refuses_the_study(ip, tmp_path):
    from IPython.utils.capture import capture_output

    store = tmp_path / "store"
    ip.run_cell_magic("metatune", f"--trials 2 --name alpha --store {store}", QUADRATIC)
    ip.run_line_magic("config", "MetatuneMagics.display = 'widget'")
    other_space = "space = {'z': uniform(0.0, 1.0)}\ndef g(z):\n    return z"
    with capture_output() as refused:
        with pytest.raises(StudyFailed, match="different search space"):
            ip.run_cell_magic("metatune", f"--trials 2 --name alpha --store {store}", other_space)
    assert refused.outputs == []  # no "starting… [Stop]" above the error
    with capture_output() as accepted:
        ip.run_cell_magic("metatune", f"--trials 3 --name alpha --store {store}", QUADRATIC)
    assert len(accepted.outputs) >= 1 and "metatune" in accepted.outputs[0].data["text/plain"]


def test_the_line_is_split_as_a_shell_would(ip, tmp_path):
    store = tmp_path / "store"
    result = ip.run_cell_magic("metatune", f"--trials 2 --name 'credit hgb' --store '{store}'", QUADRATIC)
    assert result.name == "credit hgb"
    view = ip.run_line_magic("metatune_compare", f'"credit hgb" --store {store}')
    assert [s.name for s in view.series] == ["credit hgb"]
    with pytest.raises(UsageError, match="No closing quotation"):
        ip.run_cell_magic("metatune", "--trials 2 --name 'credit hgb", QUADRATIC)


def test_fresh_on_a_taken_name_is_refused_and_names_the_ways_out(ip, tmp_path):
    from jupyter_metahpo import ExperienceStore

    store = tmp_path / "store"
    ip.run_cell_magic("metatune", f"--trials 2 --name alpha --store {store}", QUADRATIC)
    with pytest.raises(StudyFailed) as refused:
        ip.run_cell_magic("metatune", f"--trials 2 --name alpha --store {store} --fresh", QUADRATIC)
    message = str(refused.value)
    assert "already has a study named 'alpha'" in message
    assert "another --name" in message and "without --fresh" in message and "metahpo forget" in message
    assert len(ExperienceStore(store).studies("alpha")) == 1  # never two studies of one name
    fresh = ip.run_cell_magic("metatune", f"--trials 2 --name beta --store {store} --fresh", QUADRATIC)
    assert len(fresh.trials) == 2  # a new name: --fresh starts it


def test_a_dict_without_metric_stops_at_once_and_names_the_keys(ip, tmp_path):
    body = cell(
        """
        space = {"x": uniform(0.0, 1.0)}
        def f(x):
            return {"acc": x, "loss": 1 - x}
        """
    )
    with pytest.raises(StudyFailed, match=r"keys \['acc', 'loss'\]; name the one to optimise"):
        ip.run_cell_magic("metatune", f"--trials 20 --name dict --store {tmp_path}", body)
    from jupyter_metahpo import ExperienceStore

    (record,) = ExperienceStore(tmp_path).studies("dict")
    assert len(ExperienceStore(tmp_path).trials(record.id)) == 1 and record.status == "failed"


def test_resuming_a_complete_study_says_so_in_the_cell(ip, capsys, tmp_path):
    ip.run_line_magic("config", "MetatuneMagics.display = 'text'")
    ip.run_cell_magic("metatune", f"--trials 3 --name done --store {tmp_path}", QUADRATIC)
    capsys.readouterr()
    ip.run_cell_magic("metatune", f"--trials 3 --name done --store {tmp_path}", QUADRATIC)
    out = capsys.readouterr().out
    assert "The study 'done' already has 3 of 3 trials: raise the trial budget" in out and "--trials" in out


def test_the_timeout_stops_a_trial_that_never_ends(ip):
    body = cell(
        """
        space = {"x": uniform(0.0, 1.0)}
        def forever(x):
            while True:
                x = x + 1
        """
    )
    res = ip.run_cell_magic("metatune", "--timeout 0.5", body)
    assert res.status == "timeout" and res.trials[0].error.startswith("timed out after ")


def test_the_usage_line_names_the_cell_magic(ip):
    doc = ip.find_cell_magic("metatune").__doc__
    assert "%%metatune [--trials TRIALS]" in doc
    assert "  %metatune [" not in doc


def test_jobs_and_scheduler_reach_tune_with_the_session_defaults(ip, monkeypatch):
    import jupyter_metahpo.magics as magics

    seen = []
    monkeypatch.setattr(magics, "tune", lambda objective, space, **kwargs: seen.append(kwargs) or "result")
    ip.run_cell_magic("metatune", "--trials 2", QUADRATIC)
    ip.run_cell_magic("metatune", "--trials 2 --jobs 4 --scheduler tcp://10.0.0.5:8786", QUADRATIC)
    ip.run_line_magic("config", "MetatuneMagics.jobs = 3")
    ip.run_cell_magic("metatune", "--trials 2", QUADRATIC)
    ip.run_line_magic("config", "MetatuneMagics.jobs = 1")
    assert seen[0]["n_jobs"] == 1 and "client" not in seen[0]  # sequential, as before
    assert seen[1]["n_jobs"] == 4 and seen[1]["client"] == "tcp://10.0.0.5:8786"
    assert seen[2]["n_jobs"] == 3


@pytest.mark.slow
def test_jobs_runs_the_cells_function_on_dask_workers(ip):
    pytest.importorskip("distributed")
    body = cell(
        """
        import os
        space = {"x": uniform(-2.0, 2.0), "kind": choice("a", "b")}
        def f(x, kind):
            print(os.getpid())
            return (x - 0.5) ** 2 + (kind == "b")
        """
    )
    result = ip.run_cell_magic("metatune", "--trials 4 --jobs 2", body)
    assert result.status == "finished" and len(result.trials) == 4
    pids = {int(t.output) for t in result.trials}
    assert os.getpid() not in pids  # the cell's function was sent to the workers by value


@pytest.mark.slow
def test_jobs_and_pruner_stop_trials_on_the_workers(ip):
    pytest.importorskip("distributed")
    body = cell(
        """
        space = {"x": uniform(0.0, 1.0)}
        def train(x, trial):
            for epoch in range(4):
                trial.report(x * (epoch + 1), epoch)
                if trial.should_prune():
                    raise TrialPruned()
            return 4 * x
        """
    )
    ip.user_ns["TrialPruned"] = __import__("jupyter_metahpo").TrialPruned
    result = ip.run_cell_magic("metatune", "--trials 8 --maximize --seed 0 --jobs 2 --pruner halving", body)
    assert result.status == "finished" and len(result.trials) == 8
    pruned = [t for t in result.trials if t.state.value == "pruned"]
    # Pruning on workers is asynchronous: the kernel judges a report while the trial goes on, and the trial
    # stops at its first should_prune() after the verdict, so a loaded machine may let it report a step or
    # two more (all 4, even) than the step its reason names; never fewer.
    assert pruned, "successive halving pruned none of 8 trials"
    for t in pruned:
        judged = re.search(r" at step (\d+) ", t.prune_reason or "")
        assert judged and int(judged.group(1)) <= max(t.intermediate_values), (t.intermediate_values, t.prune_reason)
    assert result.best_trial.state.value == "complete" and len(result.best_trial.intermediate_values) == 4


def test_a_cell_whose_function_cannot_be_pickled_is_one_message_naming_it(ip):
    body = cell(
        """
        import threading
        lock = threading.Lock()
        space = {"x": uniform(-2.0, 2.0)}
        def f(x):
            with lock:
                return x ** 2
        """
    )
    with pytest.raises(StudyFailed, match="the global 'lock'") as refused:
        ip.run_cell_magic("metatune", "--trials 4 --jobs 2", body)
    assert refused.value._render_traceback_()[0].startswith("UnpicklableObjectiveError: ")


def test_a_torch_loop_whose_model_class_is_defined_in_an_earlier_cell_warms_from_the_torch_mlp_prior(ip):
    # What each parameter sets lies in Net's __init__, in another cell; before the helpers an objective
    # calls were read, this cell started cold ("nothing says their tasks are related").
    ip.run_cell(
        cell(
            """
            import numpy as np
            import torch
            from torch import nn

            rng = np.random.default_rng(0)
            X = rng.normal(size=(120, 5)).astype("float32")
            y = (X[:, 0] > 0).astype("int64")

            class Net(nn.Module):
                def __init__(self, width, p):
                    super().__init__()
                    self.body = nn.Sequential(nn.Linear(5, width), nn.ReLU(), nn.Dropout(p), nn.Linear(width, 2))

                def forward(self, x):
                    return self.body(x)
            """
        )
    )
    body = cell(
        """
        space = {"lr": loguniform(1e-4, 1e-1), "hidden": intrange(16, 256, log=True), "dropout": uniform(0.0, 0.5)}
        def objective(lr, hidden, dropout):
            model = Net(hidden, dropout)
            optimiser = torch.optim.Adam(model.parameters(), lr=lr)
            for epoch in range(2):
                optimiser.zero_grad()
                loss = nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
                loss.backward()
                optimiser.step()
            return float(loss)
        """
    )
    result = ip.run_cell_magic("metatune", "--trials 1 --data X y", body)
    text = repr(result.warm_start)
    assert not result.warm_start.is_cold, text
    assert "the built-in torch_mlp_classifier prior" in text and "hidden (their hidden_width" in text
    assert result.trials[0].origin.source == "warm-start"


def test_a_cell_tuning_exponents_warms_from_the_arguments_past(ip, tmp_path):
    # The cell's text is what the reader reads (no inspect): 10 ** log_c is the SVM's C on a log scale.
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    ip.user_ns.update(X=StandardScaler().fit_transform(X), y=y)
    body = cell(
        """
        from sklearn.model_selection import cross_val_score
        from sklearn.svm import SVC
        space = {"log_c": uniform(-2, 3), "log_gamma": uniform(-4, 0)}
        def train(log_c, log_gamma):
            return cross_val_score(SVC(C=10 ** log_c, gamma=10 ** log_gamma), X, y, cv=3).mean()
        """
    )
    result = ip.run_cell_magic("metatune", f"--trials 2 --maximize --data X y --seed 0 --store {tmp_path / 's.json'}",
                               body)
    text = "\n".join(result.warm_start.lines())
    assert "log_c (their C: it sets SVC's C as 10 ** log_c), log10 of their C" in text
    assert [t.origin.source for t in result.trials] == ["warm-start", "warm-start"]


def _wine_for_keras(ip, monkeypatch) -> None:
    """Keras on its torch backend, and the wine data scaled as a Keras cell wants it in the notebook's X and y."""
    keras_on_torch(monkeypatch)
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    ip.user_ns.update(X=StandardScaler().fit_transform(X).astype("float32"), y=y)


def test_a_keras_cell_warms_from_the_torch_mlp_prior(ip, tmp_path, monkeypatch):
    # Keras 3 on its torch backend: the magic reads the cell's Dense, Dropout, optimiser and fit as the torch MLP's.
    _wine_for_keras(ip, monkeypatch)
    body = cell(
        """
        import keras
        from keras import layers
        space = {"units": intrange(16, 256, log=True), "lr": loguniform(1e-4, 1e-1), "drop": uniform(0.0, 0.5)}
        def train(units, lr, drop):
            model = keras.Sequential([keras.Input((13,)), layers.Dense(units, activation="relu"),
                                      layers.Dropout(drop), layers.Dense(3, activation="softmax")])
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            history = model.fit(X, y, epochs=10, batch_size=32, validation_split=0.3, verbose=0)
            return history.history["val_accuracy"][-1]
        """
    )
    result = ip.run_cell_magic("metatune", f"--trials 1 --maximize --data X y --seed 0 --store {tmp_path / 's.json'}",
                               body)
    text = "\n".join(result.warm_start.lines())
    assert "the built-in torch_mlp_classifier prior" in text, text
    assert "units (their hidden_width: it sets keras.layers.Dense's units)" in text
    assert "lr (their learning_rate: it sets keras.optimizers.Adam's learning_rate)" in text
    assert result.trials[0].origin.source == "warm-start"


def test_a_keras_tuner_cell_tunes_its_build_model_and_warms_from_the_torch_mlp_prior(ip, tmp_path, monkeypatch):
    # A KerasTuner user's cell as it is: build_model(hp) declares the space, the objective trains what it builds.
    _wine_for_keras(ip, monkeypatch)
    body = cell(
        """
        import keras
        from keras import layers
        def build_model(hp):
            model = keras.Sequential([keras.Input((13,))])
            for i in range(hp.Int("num_layers", 1, 2)):
                model.add(layers.Dense(hp.Int(f"units_{i}", 32, 256, step=32), activation="relu"))
            model.add(layers.Dense(3, activation="softmax"))
            model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model
        def objective(hp):
            history = build_model(hp).fit(X, y, epochs=5, batch_size=32, validation_split=0.3, verbose=0)
            return history.history["val_accuracy"][-1]
        """
    )
    result = ip.run_cell_magic("metatune", f"--trials 2 --maximize --data X y --seed 0 --store {tmp_path / 's.json'}",
                               body)
    assert list(result.space.names) == ["num_layers", "units_0", "units_1", "lr"]
    text = "\n".join(result.warm_start.lines())
    assert "the built-in torch_mlp_classifier prior" in text, text
    assert "units_0 (their hidden_width: it sets keras.layers.Dense's units)" in text
    assert [t.origin.source for t in result.trials] == ["warm-start", "warm-start"]
