"""End to end in a real browser: ``%%metatune`` in Notebook 7, the live widget, Stop, the store, a saved copy.

Notebook 7 renders notebooks with JupyterLab's components, so the gestures are those of
the JupyterLab tests (``browser_pages``); what differs is the page, the kernel status
indicator and the front end's own wiring of widgets and comms. Notebook >= 7.4 with
ipykernel 7 sends widget messages on a kernel subshell by default, so the Stop click
lands while the cell runs.
"""

from __future__ import annotations

import re

from browser_pages import (
    SETUP,
    NotebookPage,
    assert_readable_final_state,
    metatune_cell,
    run_study_until_live,
    save_image,
    store_check,
    trials_done,
    write_notebook,
)

from jupyter_metahpo.store import ExperienceStore


def test_notebook7_live_widget_updates_stop_keeps_the_trials_and_the_saved_notebook_reads_well(
    browser, notebook7, tmp_path
):
    write_notebook(
        notebook7.root / "live.ipynb",
        [SETUP, metatune_cell("--trials 200 --name nb7-demo --seed 0", sleep=0.4), store_check("nb7-demo")],
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        nb = NotebookPage(page, notebook7, "live.ipynb")
        widget = run_study_until_live(nb)
        assert widget.locator(".metahpo-stop").is_enabled()
        save_image(widget, tmp_path, "progress-widget-notebook7.png")

        clicked_at = trials_done(widget)
        widget.locator(".metahpo-stop").click()
        widget.get_by_text("Stopped by the user").first.wait_for(timeout=60_000)
        stopped_at = trials_done(widget)
        # The click reached the kernel while the cell ran: the study ended after the
        # running trial, far from its budget of 200.
        assert clicked_at <= stopped_at <= clicked_at + 2, (clicked_at, stopped_at)
        assert re.search(r"\bgp\b", widget.inner_text())

        # The trials are in this server's own (temporary) store, read from outside the kernel.
        store = ExperienceStore(notebook7.store)
        (study,) = store.studies(name="nb7-demo")
        assert study.status == "stopped" and len(store.trials(study.id)) == stopped_at
        nb.run(2)
        found = nb.wait_for_output(2, r"STORE (\w+) (\d+)")
        assert (found.group(1), int(found.group(2))) == ("stopped", stopped_at)

        # Saved by Notebook 7 itself, the notebook keeps the final state as HTML and text.
        nb.save()
        final_words = f"metatune nb7-demo: stopped, {stopped_at} trials"
        assert_readable_final_state(nb.saved_outputs(1, final_words), (final_words, "Stopped by the user"))
    finally:
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        page.close()
