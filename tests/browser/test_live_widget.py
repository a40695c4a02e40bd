"""End to end in a real browser: ``%%metatune`` in JupyterLab, the live widget, Stop, the store.

The Stop click must reach the kernel while the cell still runs. JupyterLab 4.6 sends
widget messages to a kernel subshell by default; the second test turns that off
("Kernel Comms over subshells": disabled), shows that the click then waits behind the
cell when the between-trials pump is off, and reaches the study when it is on.
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
    text_boxes,
    trials_done,
    wait_for_trials,
    write_notebook,
)

from jupyter_metahpo.store import ExperienceStore

# Long parameter names, as a real model has: the comparison must label every axis readably.
PARAMETER_NAMES = ["learning_rate", "min_samples_leaf", "l2_regularization", "class_weight"]

# A race of our default, warm start off and random search on a cheap stand-in for a
# gradient-boosting objective; an earlier study of a similar task is the past it may learn from.
RACE_CELL = """\
import math
from sklearn.datasets import make_classification
from jupyter_metahpo import tune, choice, intrange, loguniform
from jupyter_metahpo.racing import race
hgb_space = {"learning_rate": loguniform(1e-3, 1.0), "min_samples_leaf": intrange(1, 100),
             "l2_regularization": loguniform(1e-6, 10.0), "class_weight": choice(None, "balanced")}
def hgb_like(learning_rate, min_samples_leaf, l2_regularization, class_weight):
    return ((math.log10(learning_rate) + 1.3) ** 2 + ((min_samples_leaf - 20) / 40) ** 2
            + 0.05 * abs(math.log10(l2_regularization) + 2) + (0.0 if class_weight == "balanced" else 0.2))
tune(hgb_like, hgb_space, 12, data=make_classification(300, random_state=1), name="earlier", seed=1)
results = race(hgb_like, hgb_space, data=make_classification(250, random_state=2), n_trials=10, seed=0)
print("FIRST", *(r.trials[0].origin.source for r in results.values()))"""


def assert_every_label_readable(view, parameters) -> None:
    """Every text of the comparison's pictures lies inside its picture, and no two axis labels overlap."""
    boxes = text_boxes(view)
    assert boxes, "the comparison drew no text"
    for b in boxes:
        assert b["left"] >= -0.5 and b["right"] <= b["width"] + 0.5, b  # not cut at the sides
        assert b["top"] >= -0.5 and b["bottom"] <= b["height"] + 0.5, b  # nor at the top or bottom
    axes = [b for b in boxes if b["svg"] == "metahpo-parcoords" and b["title"]]
    assert [b["title"] for b in axes] == parameters  # every axis is labelled, with its full name on hover
    for b in axes:
        assert b["text"].replace("|", "") == b["title"], b  # shown whole (wrapped if need be), not cut
    ordered = sorted(axes, key=lambda b: b["left"])
    for a, b in zip(ordered, ordered[1:]):
        assert a["right"] <= b["left"], (a, b)


def test_live_widget_updates_and_stop_ends_the_study_with_its_trials_stored(
    browser, lab_with_subshell_comms, tmp_path
):
    lab = lab_with_subshell_comms
    write_notebook(
        lab.root / "live.ipynb",
        [
            SETUP,
            metatune_cell("--trials 200 --name browser-demo --seed 0", sleep=0.4),
            store_check("browser-demo"),
            RACE_CELL,
            "%metatune_compare browser-demo",
        ],
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        nb = NotebookPage(page, lab, "live.ipynb")
        widget = run_study_until_live(nb)
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
        assert "origin" in widget.inner_text() and re.search(r"\bgp\b", widget.inner_text())
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
        race_view.locator(".metahpo-race-stop[disabled]").wait_for(state="attached", timeout=180_000)
        race_view = nb.cell(3).locator(".metahpo-compare")  # the final frame (the race displays itself again)
        assert "Race finished" in race_view.locator(".metahpo-race-stop").inner_text()
        assert race_view.locator("svg.metahpo-curves path").count() == 3
        assert_every_label_readable(race_view, PARAMETER_NAMES)
        save_image(race_view, tmp_path, "compare-widget.png")
        racers = {r.name: len(ExperienceStore(lab.store).trials(r.id)) for r in ExperienceStore(lab.store).studies()}
        assert {k: v for k, v in racers.items() if k.startswith("race/")} == {
            "race/default": 10, "race/none": 10, "race/random": 10
        }  # the race is experience too
        found = nb.wait_for_output(3, r"FIRST (\S+) (\S+) (\S+)")
        assert found.groups() == ("warm-start", "sobol", "random")  # our default learned from the earlier study

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
