"""In a real browser: the live widget draws the learning curves as trials report, pruned ones grey.

A small ``%%metatune --pruner halving`` study in JupyterLab whose objective reports one
point per epoch. While it runs, the widget's curve plot shows the running trial's curve
(drawn from the ``"trial_report"`` snapshots); at its end every pruned trial's curve is
grey and the best one black, as the study's result says.
"""

from __future__ import annotations

import re
import textwrap

from browser_pages import SETUP, NotebookPage, save_image, write_notebook

from jupyter_metahpo.widgets._render import PRUNED_COLOUR

CURVES_CELL = textwrap.dedent(
    """\
    %%metatune --trials 8 --maximize --seed 0 --pruner halving --name curves --out curves_result
    space = {"x": uniform(0.0, 1.0)}
    def train(x, trial):
        for epoch in range(6):
            time.sleep(0.15)
            trial.report(x * (1 - 0.5 ** (epoch + 1)), epoch)
            if trial.should_prune():
                raise TrialPruned()
        return x * (1 - 0.5 ** 6)"""
)

RESULT_CELL = (
    "print('RESULT', sum(t.state.value == 'pruned' for t in curves_result.trials), "
    "curves_result.best_trial.number + 1)"
)

CURVE_PLOT = ".metahpo-progress svg.metahpo-learning-curves"


def test_the_widget_draws_the_curves_live_and_greys_the_pruned_trials(browser, lab_with_subshell_comms, tmp_path):
    lab = lab_with_subshell_comms
    write_notebook(
        lab.root / "curves.ipynb",
        [SETUP + "\nfrom jupyter_metahpo import TrialPruned", CURVES_CELL, RESULT_CELL],
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        nb = NotebookPage(page, lab, "curves.ipynb")
        nb.run(0)
        nb.run(1)
        widget = nb.cell(1).locator(".metahpo-progress")
        widget.wait_for(state="visible")
        # Live: a running trial's curve (orange) is drawn while the cell still runs.
        widget.locator("svg.metahpo-learning-curves polyline.metahpo-curve-running").first.wait_for(
            state="attached", timeout=60_000
        )
        widget.get_by_text("Finished").first.wait_for(timeout=120_000)
        nb.run(2)
        found = nb.wait_for_output(2, r"RESULT (\d+) (\d+)")
        n_pruned, best_number = int(found.group(1)), int(found.group(2))
        assert n_pruned >= 1, "the halving pruner stopped no trial: nothing to grey"

        plot = nb.cell(1).locator(CURVE_PLOT)
        pruned = plot.locator("polyline.metahpo-curve-pruned")
        assert pruned.count() == n_pruned
        assert {pruned.nth(i).get_attribute("stroke") for i in range(n_pruned)} == {PRUNED_COLOUR}
        assert plot.locator("polyline.metahpo-curve-running").count() == 0  # nothing runs any more
        best = plot.locator("polyline.metahpo-curve-best")
        assert best.count() == 1 and best.get_attribute("stroke") == "black"
        assert f"trial {best_number} (complete)" in best.locator("title").text_content()
        assert f"pruned ({n_pruned})" in plot.text_content()
        assert re.search(rf"\b{n_pruned} pruned\b", widget.inner_text())
        save_image(plot, tmp_path, "learning-curves.png")
    finally:
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        page.close()
