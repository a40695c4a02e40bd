"""The Experience sidebar in a real JupyterLab: live rows, a study's tab, comparison, import, forget.

One server for the module (its store holds a few finished studies; a notebook's kernel
runs one more). The tests run in file order and build on each other's state as a user
session does: the live study is the one the tab, the resume cell and the comparison use.
"""

from __future__ import annotations

import re
import statistics
import time

import pytest
from browser_pages import SETUP, NotebookPage, metatune_cell, save_image, write_notebook
from lab_server import add_study, export_file, start_with_extension, trial_lines

from jupyter_metahpo.store import ExperienceStore

LIVE = "live-demo"
ROW = ".jp-MetaHPO-row"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, jupyter_starter):
    start, stop = jupyter_starter
    base = tmp_path_factory.mktemp("lab-experience")
    with pytest.MonkeyPatch.context() as monkeypatch:
        server, process = start_with_extension(base, "lab", start, monkeypatch)
    store = ExperienceStore(server.store)
    for k, task in enumerate(["credit", "iris", "credit"]):
        add_study(store, f"finished-{k}", [0.9 - 0.1 * k, 0.5 - 0.1 * k, 0.6, 0.3 - 0.05 * k, 0.35], task=task)
    add_study(store, "to-forget", [0.7, 0.4])
    write_notebook(server.root / "live.ipynb", [SETUP, metatune_cell(f"--trials 8 --name {LIVE} --seed 0 --quiet", 1.5)])
    try:
        yield server
    finally:
        stop(process)


@pytest.fixture(scope="module")
def page(lab, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def row(page, name: str):
    return page.locator(ROW).filter(has=page.locator(".jp-MetaHPO-name", has_text=re.compile(f"^{re.escape(name)}$")))


def shown_trials(locator) -> int:
    found = re.search(r"(\d+) trials?", locator.inner_text(timeout=5_000))
    return int(found.group(1)) if found else -1


def open_sidebar(page) -> None:
    page.locator('.jp-SideBar [data-id="jp-metahpo-experience"]').click()
    page.locator(".jp-MetaHPO-panel").wait_for(state="visible")


def test_the_sidebar_lists_the_store_and_a_running_study_updates_live(lab, page, tmp_path):
    nb = NotebookPage(page, lab, "live.ipynb")
    open_sidebar(page)
    row(page, "finished-0").wait_for()
    assert page.locator(".jp-MetaHPO-footer").inner_text() == "4 studies"
    nb.run(0)
    nb.run(1)
    live = row(page, LIVE)
    live.wait_for(timeout=90_000)
    assert live.locator(".jp-MetaHPO-badge").inner_text() == "running"
    logs = {p.name: p for p in (lab.store / "trials").glob("*.jsonl")}
    sid = live.get_attribute("data-study-id")
    log = logs[f"{sid}.jsonl"]
    # Each time the kernel writes a trial, how long until the row shows it (the page is never reloaded).
    lags, seen, deadline = [], trial_lines(log), time.monotonic() + 120
    while len(lags) < 4 and time.monotonic() < deadline:
        stored = trial_lines(log)
        if stored > seen:
            written = time.monotonic()
            while shown_trials(live) < stored and time.monotonic() - written < 30:
                time.sleep(0.05)
            assert shown_trials(live) >= stored, f"the row never showed trial {stored}"
            lags.append(time.monotonic() - written)
            seen = stored
        time.sleep(0.05)
    assert len(lags) >= 3, f"the study wrote only {seen} trials in 2 minutes"
    print(f"\nrow lag after a trial is written: median {statistics.median(lags):.2f} s, max {max(lags):.2f} s ({len(lags)} trials)")
    assert live.locator("svg.jp-MetaHPO-sparkline path").count() == 1
    save_image(page.locator("#main"), tmp_path, "lab-experience-sidebar.png")
    live.locator(".jp-MetaHPO-badge", has_text="finished").wait_for(timeout=120_000)


def test_a_click_opens_the_study_tab_with_curves_trials_and_origins(lab, page, tmp_path):
    row(page, LIVE).click()
    tab = page.locator(".jp-MetaHPO-study:visible")
    tab.locator(".jp-MetaHPO-study-name", has_text=LIVE).wait_for()
    assert tab.locator(".jp-MetaHPO-trials tbody tr").count() == 8
    assert tab.locator(".jp-MetaHPO-by-trial svg path.jp-MetaHPO-series").count() == 1
    assert tab.locator(".jp-MetaHPO-by-time svg path.jp-MetaHPO-series").count() == 1
    sources = tab.locator(".jp-MetaHPO-origin-source").all_inner_texts()
    assert sources and all(s for s in sources)
    assert tab.locator(".jp-MetaHPO-reason").count() >= 1
    assert tab.locator("svg.jp-MetaHPO-parcoords polyline").count() == 8
    save_image(page.locator("#main"), tmp_path, "lab-study-tab.png")


def test_the_resume_command_copies_the_study_cell_into_the_notebook(lab, page):
    page.locator(".lm-TabBar-tab", has_text="live.ipynb").click()
    nb = page.locator(".jp-NotebookPanel:visible")
    before = nb.locator(".jp-Cell").count()
    row(page, LIVE).click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Insert a %%metatune Cell").click()
    page.wait_for_function(f"() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').length > {before}")
    texts = nb.locator(".jp-Cell .cm-content").all_inner_texts()
    inserted = [t for t in texts if "--resume" in t]
    assert len(inserted) == 1 and f"--name {LIVE}" in inserted[0] and "def slow_quadratic" in inserted[0]


def test_ticking_two_studies_opens_a_comparison(lab, page, tmp_path):
    for name in ("finished-0", LIVE):
        row(page, name).locator(".jp-MetaHPO-select").check()
    button = page.locator(".jp-MetaHPO-compare")
    assert button.inner_text() == "Compare (2)"
    button.click()
    view = page.locator(".jp-MetaHPO-compare-view:visible")
    view.locator(".jp-MetaHPO-compare-table tbody tr").nth(1).wait_for()
    assert view.locator(".jp-MetaHPO-compare-table tbody tr").count() == 2
    assert view.locator(".jp-MetaHPO-by-trial svg path.jp-MetaHPO-series").count() == 2
    save_image(page.locator("#main"), tmp_path, "lab-compare.png")
    for name in ("finished-0", LIVE):
        row(page, name).locator(".jp-MetaHPO-select").uncheck()


def test_an_import_adds_the_file_and_a_bad_file_is_refused_with_its_problems(lab, page, tmp_path):
    path, sid = export_file(tmp_path, "from-a-colleague", [0.8, 0.2, 0.25])
    with page.expect_file_chooser() as chooser:
        page.locator(".jp-MetaHPO-import").click()
    chooser.value.set_files(str(path))
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("1 new studies").wait_for()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    row(page, "from-a-colleague").wait_for()
    assert sid in {s.id for s in ExperienceStore(lab.store).studies()}

    bad = tmp_path / "broken.json"
    bad.write_text(path.read_text().replace('"direction": "minimize"', '"direction": "sideways"'))
    before = sorted(s.id for s in ExperienceStore(lab.store).studies())
    with page.expect_file_chooser() as chooser:
        page.locator(".jp-MetaHPO-import").click()
    chooser.value.set_files(str(bad))
    dialog.locator(".jp-MetaHPO-problems li", has_text="studies[0].direction").wait_for()
    assert "nothing was written" in dialog.inner_text()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    assert sorted(s.id for s in ExperienceStore(lab.store).studies()) == before


def test_forget_asks_first_then_removes_the_study(lab, page):
    target = row(page, "to-forget")
    sid = target.get_attribute("data-study-id")
    target.click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Forget Study").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("to-forget (2 trials)").wait_for()
    dialog.locator(".jp-Dialog-button.jp-mod-reject").click()  # Cancel: nothing happens
    assert sid in {s.id for s in ExperienceStore(lab.store).studies()}
    target.click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Forget Study").click()
    dialog.locator(".jp-Dialog-button.jp-mod-warn").click()
    target.wait_for(state="detached")
    assert sid not in {s.id for s in ExperienceStore(lab.store).studies()}


def test_the_dark_theme_restyles_the_panel(lab, page, tmp_path):
    light = page.locator(".jp-MetaHPO-panel").evaluate("n => getComputedStyle(n).backgroundColor")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    dark = page.locator(".jp-MetaHPO-panel").evaluate("n => getComputedStyle(n).backgroundColor")
    assert light != dark
    row(page, LIVE).click()
    page.locator(".jp-MetaHPO-study:visible .jp-MetaHPO-study-name", has_text=LIVE).wait_for()
    save_image(page.locator("#main"), tmp_path, "lab-dark.png")
