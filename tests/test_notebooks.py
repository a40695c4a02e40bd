"""The teaching notebooks (notebooks/*.ipynb) run top to bottom in a real kernel.

Each notebook reads ``METAHPO_NOTEBOOK_BUDGET=small`` to shrink its trial counts and
data, and writes only to temporary folders it creates itself (``tempfile.mkdtemp``).
The kernel runs in a temporary working directory, with ``JUPYTER_METAHPO_HOME``
pointing at this test's temporary store (tests/conftest.py), so the test can check
that a notebook left both untouched.

Time per notebook on the small budget: ``python -m pytest tests/test_notebooks.py --durations=0``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: What each lesson must visibly show once run, beyond running without an error.
MUST_SHOW = {
    "01-quickstart.ipynb": ["warm-start", "breast-cancer-hgb"],
    "02-meta-learning-explained.ipynb": [
        "similarity to the new task", "portfolio pick", "best balanced accuracy",
        # the section on the two kinds: the race's learned steps, with their reasons
        "step from the incumbent predicted by the meta-optimiser",
    ],
    "03-your-own-training-loop.ipynb": [
        "warm-start",
        "digits-cnn",
        # the colleague's loop (lr, bs) warms from both earlier studies, matched by what the names set in the
        # helper train_and_score (Adam's lr, the batch loop's step)
        "- digits-cnn, on lr (their learning_rate: it sets torch.optim.Adam's lr), bs (their batch_size: it sets the "
        "batch size your training loop steps by)",
        "- noisy-digits-cnn, on lr (their learning_rate: it sets torch.optim.Adam's lr), bs (their batch_size: it sets the "
        "batch size your training loop steps by)",
        # the lesson's pruning part: every study's epochs, pruned trials and best accuracy
        "meta-learned:",
        "epochs run of",
    ],
    "04-class-shared-experience.ipynb": ["already present", "class-of-2026.json", "warm-start"],
    "05-bring-your-history.ipynb": [
        "wine-svm-grid", "imported from Optuna study", "warm-start",
        # the Optuna objective run as it is: its space read from its suggest calls, and a warm start
        "the space, read from the suggest calls: SearchSpace({'C': loguniform(0.01, 1000.0), 'gamma': "
        "loguniform(0.0001, 1.0)})",
        "- breast-cancer-svm, on C, gamma; why: the same parameters (C, gamma)",
    ],
}


def _ids(paths):
    return [p.name for p in paths]


def test_the_five_lessons_are_there():
    assert _ids(NOTEBOOKS) == sorted(MUST_SHOW)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cells"
    for index, cell in enumerate(code):
        assert cell["outputs"] == [], f"{path.name}: code cell {index} has outputs; strip them before committing"
        assert cell["execution_count"] is None, f"{path.name}: code cell {index} has an execution count"
    source = "".join("".join(c["source"]) for c in code)
    # Every lesson honours the small-budget switch and writes to a temporary store.
    assert "METAHPO_NOTEBOOK_BUDGET" in source
    assert "tempfile.mkdtemp" in source


def _output_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts.extend(str(data[kind]) for kind in ("text/plain", "text/html", "text/markdown") if kind in data)
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch, _isolated_store):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    if path.name.startswith("05-"):
        pytest.importorskip("optuna", reason="notebook 5 imports an Optuna study (pip install optuna)")

    monkeypatch.setenv("METAHPO_NOTEBOOK_BUDGET", "small")
    # The kernel imports the package from this checkout, not from wherever it is installed
    # (as tests/test_real_kernel.py does): a worktree's notebook runs against its own code.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(NOTEBOOK_DIR.parent), os.environ.get("PYTHONPATH")) if p))
    # One OpenMP thread per process: on a busy 2-core CI machine, scikit-learn's
    # HistGradientBoosting with a thread per core runs many times slower, not faster.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    workdir = tmp_path / "cwd"
    workdir.mkdir()

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    shown = _output_text(notebook)
    for text in MUST_SHOW[path.name]:
        assert text in shown, f"{path.name}: the lesson should show {text!r} once run, but its outputs do not"
    # The notebook used its own temporary stores: the default store and the working
    # directory it was started in are left as they were.
    assert list(_isolated_store.iterdir()) == [], f"{path.name} wrote to the default experience store"
    assert list(workdir.iterdir()) == [], f"{path.name} wrote files into its working directory"
