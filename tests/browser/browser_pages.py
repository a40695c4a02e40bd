"""What the browser tests share: notebooks to write, a notebook page's gestures, waits, screenshots.

Works in JupyterLab and in Notebook 7 alike: both render a notebook with the same
JupyterLab components (``.jp-NotebookPanel``, ``.jp-Cell``, CodeMirror); only the
URL (see ``conftest.Jupyter.notebook_url``) and the kernel status indicator differ.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
import time
from pathlib import Path

import nbformat

#: Where the tests also save their screenshots, when set (to refresh docs/images on purpose).
SCREENSHOT_DIR_VARIABLE = "METAHPO_SCREENSHOT_DIR"

SETUP = "%load_ext jupyter_metahpo\nimport time\nfrom jupyter_metahpo.store import ExperienceStore"

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# Notebook 7 has no status bar, and its toolbar indicator already says "idle" before a
# kernel is connected (a cell run then opens a "Select Kernel" dialog); so ask the page's
# own session (the servers run with expose_app_in_browser) for a connected, idle kernel.
_KERNEL_READY = """() => {
    const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""


def _wait_until_idle(page, frontend: str) -> None:
    if frontend == "lab":
        page.locator("#jp-main-statusbar").get_by_text("Idle").wait_for(timeout=90_000)
    else:
        page.wait_for_function(_KERNEL_READY, timeout=90_000, polling=200)


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
    """A notebook open in JupyterLab or Notebook 7, with the few gestures the tests need."""

    def __init__(self, page, server, name: str) -> None:
        self.page = page
        self.path = server.root / name
        page.set_default_timeout(60_000)
        page.goto(server.notebook_url(name))
        self.panel = page.locator(".jp-NotebookPanel:visible")
        self.panel.locator(".jp-Cell").first.wait_for()
        _wait_until_idle(page, server.frontend)

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

    def save(self) -> None:
        """Save through the front end's own command (what Ctrl+S does), as a user would."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")

    def saved_outputs(self, index: int, must_contain: str, timeout: float = 30) -> list[dict]:
        """Cell ``index``'s outputs in the saved file, once they contain ``must_contain``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                outputs = nbformat.read(self.path, as_version=4).cells[index].outputs
            except (json.JSONDecodeError, nbformat.reader.NotJSONError):  # caught mid-write
                outputs = []
            if must_contain in json.dumps(outputs):
                return outputs
            if time.monotonic() > deadline:
                raise AssertionError(f"saved {self.path.name}: cell {index} never held {must_contain!r}:\n{outputs}")
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


def run_study_until_live(nb):
    """Run the setup cell and the ``%%metatune`` cell (cells 0 and 1); return the progress
    widget once it has updated in place and passed the Sobol design (GP trials too)."""
    nb.run(0)
    nb.run(1)
    widget = nb.cell(1).locator(".metahpo-progress")
    widget.wait_for(state="visible")
    first = wait_for_trials(widget, 2)
    later = wait_for_trials(widget, first + 2)
    assert later > first  # updated in place while the cell runs
    wait_for_trials(widget, 8)
    return widget


def assert_readable_final_state(outputs: list[dict], words: tuple[str, ...]) -> None:
    """The saved progress output is HTML and text a viewer without widget state can show."""
    shown = [o for o in outputs if o["output_type"] == "display_data"]
    assert len(shown) == 1, outputs
    data = shown[0]["data"]
    assert WIDGET_MIME not in data  # no "model not found" once the kernel is gone
    assert "<svg" in data["text/html"] and "metahpo-static" in data["text/html"]
    for word in words:
        assert word in data["text/html"] or word in data["text/plain"], (word, data)
    assert not [o for o in outputs if o["output_type"] == "error"]


def save_image(locator, tmp_path: Path, name: str) -> Path:
    """Screenshot ``locator`` into the test's tmp dir, and into ``$METAHPO_SCREENSHOT_DIR`` when set.

    Tests write only under their temporary folders; refreshing the README's pictures is a
    deliberate act: ``METAHPO_SCREENSHOT_DIR=docs/images pytest tests/browser``.
    """
    shot = tmp_path / name
    locator.screenshot(path=str(shot))
    publish = os.environ.get(SCREENSHOT_DIR_VARIABLE)
    if publish:
        folder = Path(publish).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, folder / name)
    return shot


# Every text of the comparison's pictures, where the browser drew it, against its picture's box.
_TEXT_BOXES = """(root) => [...root.querySelectorAll('svg.metahpo-curves, svg.metahpo-parcoords')].flatMap(svg => {
    const box = svg.getBoundingClientRect();
    return [...svg.querySelectorAll('text')].map(text => {
        const r = text.getBoundingClientRect();
        const title = text.querySelector('title');
        return {svg: svg.getAttribute('class'), text: [...text.childNodes].filter(n => n.nodeName !== 'title')
                    .map(n => n.textContent).join('|'), title: title ? title.textContent : null,
                left: r.left - box.left, right: r.right - box.left, top: r.top - box.top, bottom: r.bottom - box.top,
                width: box.width, height: box.height};
    });
})"""


def text_boxes(locator) -> list[dict]:
    """Each text line in the comparison's SVGs with its drawn box, relative to its own SVG."""
    return locator.evaluate(_TEXT_BOXES)
