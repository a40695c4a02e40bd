"""Where a user meets interrupts and plots: a real kernel (nbclient) and a real script.

An interrupt must end a ``%%metatune`` cell as an error, so that the cells queued after
it ("Run All") do not run, and must end a script that calls ``tune()``; the finished
trials stay in the store either way. ``result.plot()`` shows one figure in a notebook,
without an ``<Axes ...>`` line. The interrupt is what Jupyter's "interrupt the kernel"
and Ctrl-C send: SIGINT, to the kernel's or the script's process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from jupyter_metahpo import ExperienceStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _this_checkout_first(monkeypatch):
    """Kernels and scripts import the package from this checkout, not from wherever it is installed."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))


def _as_from_a_terminal() -> None:
    """In the child: SIGINT as a terminal's Ctrl-C finds it (a test runner in the background may ignore it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

#: An objective that finishes 3 trials, then writes its process id to ``marker`` and waits to be interrupted.
OBJECTIVE = """
import os, time
calls = []
def slow(x):
    calls.append(x)
    if len(calls) == 4:
        with open({marker!r}, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(600)
    return x
"""


def _interrupt_when_ready(marker: Path, limit: float = 300.0) -> threading.Thread:
    """Send SIGINT to the process whose id appears in ``marker``, once it appears."""

    def wait_then_interrupt():
        give_up = time.monotonic() + limit
        while time.monotonic() < give_up:
            if marker.exists() and marker.read_text().strip():
                os.kill(int(marker.read_text()), signal.SIGINT)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=wait_then_interrupt, daemon=True)
    thread.start()
    return thread


def _stored(store: Path, name: str):
    (record,) = ExperienceStore(store).studies(name)
    return record, ExperienceStore(store).trials(record.id)


@pytest.mark.slow
def test_an_interrupted_cell_stops_run_all(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    marker, store = tmp_path / "pid", tmp_path / "store"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_metahpo"),
        nbformat.v4.new_code_cell(
            f"%%metatune --trials 50 --name run-all --store {store}\n"
            'space = {"x": uniform(0.0, 1.0)}\n' + textwrap.dedent(OBJECTIVE.format(marker=str(marker)))
        ),
        nbformat.v4.new_code_cell("print('the next cell ran')"),
    ]
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    interrupter = _interrupt_when_ready(marker)
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    interrupter.join(10)
    errors = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "StudyInterrupted"
    assert len(errors[0].traceback) == 1 and "after 3 finished trials" in errors[0].traceback[0]  # one line
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None  # Run All stopped here
    record, trials = _stored(store, "run-all")
    assert record.status == "interrupted" and len(trials) == 3


SCRIPT = """
import sys
from jupyter_metahpo import tune, uniform
{objective}
tune(slow, {{"x": uniform(0.0, 1.0)}}, n_trials=50, store=sys.argv[1], name="script")
print("the script went on after tune()")
"""


@pytest.mark.slow
def test_ctrl_c_ends_a_script_that_calls_tune(tmp_path):
    marker, store = tmp_path / "pid", tmp_path / "store"
    script = tmp_path / "tune_script.py"
    script.write_text(SCRIPT.format(objective=OBJECTIVE.format(marker=str(marker))))
    process = subprocess.Popen([sys.executable, str(script), str(store)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_as_from_a_terminal)
    interrupter = _interrupt_when_ready(marker)
    out, err = process.communicate(timeout=300)
    interrupter.join(10)
    assert process.returncode != 0, out + err
    assert "the script went on" not in out
    assert "StudyInterrupted: the study 'script' was interrupted after 3 finished trials" in err
    record, trials = _stored(store, "script")
    assert record.status == "interrupted" and len(trials) == 3


@pytest.mark.slow
def test_a_plot_shows_once_without_an_axes_line(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from jupyter_metahpo import tune, uniform\n"
            "res = tune(lambda x: (x - 0.3) ** 2, {'x': uniform(0.0, 1.0)}, n_trials=4, store=False)"
        ),
        nbformat.v4.new_code_cell("res.plot()"),  # the cell's value
        nbformat.v4.new_code_cell("fig = res.plot()\nprint(type(fig).__mro__[1].__name__)"),  # kept, not the value
        nbformat.v4.new_code_cell("fig"),  # shown again in a later cell
    ]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()

    def images(cell):
        return sum("image/png" in o.get("data", {}) for o in cell.outputs)

    def texts(cell):
        return json.dumps([o.get("data", {}).get("text/plain", o.get("text", "")) for o in cell.outputs])

    assert [images(c) for c in nb.cells[1:]] == [1, 1, 1]
    assert all("<Axes" not in texts(c) for c in nb.cells[1:])
    assert "Figure" in texts(nb.cells[2])
