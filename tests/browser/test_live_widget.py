"""End to end in a real browser: ``%%metatune`` in JupyterLab, the live widget, Stop, the store.

The Stop click must reach the kernel while the cell still runs. JupyterLab 4.6 sends
widget messages to a kernel subshell by default; the second test turns that off
("Kernel Comms over subshells": disabled), shows that the click then waits behind the
cell when the between-trials pump is off, and reaches the study when it is on.
"""

from __future__ import annotations

from browser_pages import (
    SETUP,
    NotebookPage,
    assert_readable_final_state,
    metatune_cell,
    save_image,
    store_check,
    trials_done,
    wait_for_trials,
    write_notebook,
)

from jupyter_metahpo.store import ExperienceStore


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

        # Saved by JupyterLab itself, the notebook keeps the final state as HTML and text.
        nb.save()
        final_words = f"metatune browser-demo: stopped, {stopped_at} trials"
        assert_readable_final_state(nb.saved_outputs(1, final_words), (final_words, "Stopped by the user"))

        nb.run(3)
        race_view = nb.cell(3).locator(".metahpo-compare")
        race_view.wait_for(state="visible")
        race_view.locator(".metahpo-race-stop[disabled]").wait_for(state="attached", timeout=120_000)
        assert race_view.locator("svg.metahpo-curves path").count() == 3
        save_image(race_view, tmp_path, "compare-widget.png")
        racers = {r.name: len(ExperienceStore(lab.store).trials(r.id)) for r in ExperienceStore(lab.store).studies()}
        assert {k: v for k, v in racers.items() if k.startswith("race/")} == {
            "race/default": 10, "race/random": 10, "race/sobol": 10
        }  # the race is experience too

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
