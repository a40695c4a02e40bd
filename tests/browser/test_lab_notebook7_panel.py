"""The Experience sidebar in Notebook 7: the same extension, on a notebook page's left panel."""

from __future__ import annotations

import pytest
from browser_pages import SETUP, NotebookPage, save_image, write_notebook
from lab_server import add_study, start_with_extension

from jupyter_metahpo.store import ExperienceStore


@pytest.fixture
def notebook7_with_extension(tmp_path, jupyter_starter, monkeypatch):
    start, stop = jupyter_starter
    server, process = start_with_extension(tmp_path / "nb7", "notebook", start, monkeypatch)
    try:
        yield server
    finally:
        stop(process)


def test_the_sidebar_lists_studies_and_opens_one_in_notebook7(notebook7_with_extension, browser, tmp_path):
    server = notebook7_with_extension
    store = ExperienceStore(server.store)
    add_study(store, "nb7-study", [0.5, 0.2, 0.3])
    write_notebook(server.root / "page.ipynb", [SETUP])
    page = browser.new_page(viewport={"width": 1300, "height": 850})
    try:
        NotebookPage(page, server, "page.ipynb")
        page.evaluate("() => window.jupyterapp.commands.execute('metahpo:open-panel')")
        row = page.locator(".jp-MetaHPO-row", has_text="nb7-study")
        row.wait_for()
        assert "3 trials" in row.inner_text()
        row.click()
        view = page.locator(".jp-MetaHPO-study .jp-MetaHPO-study-name", has_text="nb7-study")
        view.wait_for()
        assert page.locator(".jp-MetaHPO-study .jp-MetaHPO-trials tbody tr").count() == 3
        save_image(page, tmp_path, "lab-notebook7.png")
    finally:
        page.close()
