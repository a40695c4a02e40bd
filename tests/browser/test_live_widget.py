"""End to end in a real browser: ``%%metatune`` in JupyterLab, the live widget, Stop, the store.

The Stop click must reach the kernel while the cell still runs. JupyterLab 4.6 sends
widget messages to a kernel subshell by default; the second test turns that off
("Kernel Comms over subshells": disabled), shows that the click then waits behind the
cell when the between-trials pump is off, and reaches the study when it is on.
"""

from __future__ import annotations

import re
import shutil
import textwrap
import time
from pathlib import Path

import nbformat

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

SETUP = "%load_ext jupyter_metahpo\nimport time\nfrom jupyter_metahpo.store import ExperienceStore"


def metatune_cell(line: str, sleep: float) -> str:
    return textwrap.dedent(
        f"""\
        %%metatune {line}
        space = {{"x": uniform(-2.0, 2.0), "y": uniform(-2.0, 2.0)}}
        def slow_quadratic(x, y):
            time.sleep({sleep})
            return (x - 0.3) ** 2 + (y + 0.5) ** 2"""
    )


def store_check(name: str) -> str:
    return (
        f"_s = ExperienceStore(); _st = _s.studies(name={name!r})[-1]\n"
        f"print('STORE', _st.status, len(_s.trials(_st.id)))"
    )


def write_notebook(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)


class NotebookPage:
    """A notebook open in JupyterLab, with the few gestures the tests need."""

    def __init__(self, page, lab, name: str) -> None:
        self.page = page
        page.set_default_timeout(60_000)
        page.goto(lab.notebook_url(name))
        self.panel = page.locator(".jp-NotebookPanel:visible")
        self.panel.locator(".jp-Cell").first.wait_for()
        page.locator("#jp-main-statusbar").get_by_text("Idle").wait_for(timeout=90_000)

    def cell(self, index: int):
        return self.panel.locator(".jp-Cell").nth(index)

    def run(self, index: int) -> None:
        self.cell(index).locator(".cm-content").click()
        self.page.keyboard.press("Shift+Enter")

    def output_text(self, index: int) -> str:
        return self.cell(index).locator(".jp-OutputArea").inner_text()

    def wait_for_output(self, index: int, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.output_text(index))
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"cell {index} never showed {pattern!r}; it shows:\n{self.output_text(index)}")
            time.sleep(0.2)


def trials_done(widget) -> int:
    found = re.search(r"(\d+)/\d+\s*trials", widget.inner_text())
    return int(found.group(1)) if found else 0


def wait_for_trials(widget, at_least: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while (done := trials_done(widget)) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"the widget never reached {at_least} trials; it shows:\n{widget.inner_text()}")
        time.sleep(0.1)
    return done


def save_image(locator, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    locator.screenshot(path=str(shot))
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS_IMAGES / name)
    return shot


def test_live_widget_updates_and_stop_ends_the_study_with_its_trials_stored(
    browser, lab_with_subshell_comms, tmp_path
):
    lab = lab_with_subshell_comms
    race_cell = (
        "from jupyter_metahpo.widgets import race\n"
        "def quad(x, y):\n    return (x - 0.3) ** 2 + (y + 0.5) ** 2\n"
        "_ = race(quad, space, ('default', 'random', 'sobol'), n_trials=10, seed=0)"
    )
    write_notebook(
        lab.root / "live.ipynb",
        [
            SETUP,
            metatune_cell("--trials 200 --name browser-demo --seed 0", sleep=0.4),
            store_check("browser-demo"),
            race_cell,
            "%metatune_compare browser-demo",
        ],
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        nb = NotebookPage(page, lab, "live.ipynb")
        nb.run(0)
        nb.run(1)
        widget = nb.cell(1).locator(".metahpo-progress")
        widget.wait_for(state="visible")
        first = wait_for_trials(widget, 2)
        later = wait_for_trials(widget, first + 2)
        assert later > first  # updated in place while the cell runs
        wait_for_trials(widget, 8)  # past the Sobol design: BoTorch trials too
        save_image(widget, tmp_path, "progress-widget.png")

        # Queue the next cell while the study runs (as "Run All" does): the kernel must
        # run it after the study, not lose it and not run it early.
        nb.run(2)
        clicked_at = trials_done(widget)
        widget.locator(".metahpo-stop").click()
        widget.get_by_text("Stopped by the user").first.wait_for(timeout=60_000)
        stopped_at = trials_done(widget)
        # The click reached the kernel while the cell ran: the study ended after the
        # running trial, far from its budget of 200.
        assert clicked_at <= stopped_at <= clicked_at + 2, (clicked_at, stopped_at)
        assert "origin" in widget.inner_text() and "botorch" in widget.inner_text()
        widget.screenshot(path=str(tmp_path / "progress-final.png"))  # the static copy left in the notebook

        found = nb.wait_for_output(2, r"STORE (\w+) (\d+)")
        assert found.group(1) == "stopped"
        assert int(found.group(2)) == stopped_at

        nb.run(3)
        race_view = nb.cell(3).locator(".metahpo-compare")
        race_view.wait_for(state="visible")
        race_view.locator(".metahpo-race-stop[disabled]").wait_for(state="attached", timeout=120_000)
        assert race_view.locator("svg.metahpo-curves path").count() == 3
        save_image(race_view, tmp_path, "compare-widget.png")

        nb.run(4)
        stored_view = nb.cell(4).locator(".metahpo-compare")
        stored_view.wait_for(state="visible")
        assert "browser-demo" in stored_view.inner_text()
        assert stored_view.locator("svg.metahpo-parcoords polyline").count() == stopped_at
    finally:
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        page.close()


def test_stop_reaches_the_study_without_subshell_comms_through_the_pump(
    browser, lab_without_subshell_comms, tmp_path
):
    lab = lab_without_subshell_comms
    write_notebook(
        lab.root / "pump.ipynb",
        [
            SETUP + "\n%config MetatuneMagics.pump_comms = False",
            metatune_cell("--trials 6 --name no-pump --seed 0", sleep=0.5),
            "%config MetatuneMagics.pump_comms = True",
            metatune_cell("--trials 200 --name with-pump --seed 0", sleep=0.5),
            store_check("with-pump"),
        ],
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        nb = NotebookPage(page, lab, "pump.ipynb")
        nb.run(0)
        nb.run(1)
        # Without the pump, the click queues behind the cell: the study runs its budget.
        widget = nb.cell(1).locator(".metahpo-progress")
        widget.wait_for(state="visible")
        wait_for_trials(widget, 3)
        widget.locator(".metahpo-stop").click()
        widget.get_by_text("Finished").first.wait_for(timeout=120_000)
        assert trials_done(widget) == 6

        nb.run(2)
        nb.run(3)
        widget = nb.cell(3).locator(".metahpo-progress")
        widget.wait_for(state="visible")
        clicked_at = wait_for_trials(widget, 3)
        widget.locator(".metahpo-stop").click()
        widget.get_by_text("Stopped by the user").first.wait_for(timeout=60_000)
        stopped_at = trials_done(widget)
        assert clicked_at <= stopped_at <= clicked_at + 2, (clicked_at, stopped_at)

        nb.run(4)
        found = nb.wait_for_output(4, r"STORE (\w+) (\d+)")
        assert (found.group(1), int(found.group(2))) == ("stopped", stopped_at)
    finally:
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        page.close()
