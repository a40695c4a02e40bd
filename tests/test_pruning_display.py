"""Learning curves where users see them: the live widget, the static copy, text progress, ``plot_curves``."""

from __future__ import annotations

import io
import re

import matplotlib
import pytest

matplotlib.use("Agg")

from jupyter_metahpo import TrialPruned, TrialState, tune, uniform  # noqa: E402
from jupyter_metahpo.progress import TextProgress  # noqa: E402
from jupyter_metahpo.pruners import PruneDecision, Pruner  # noqa: E402
from jupyter_metahpo.widgets import _render as R  # noqa: E402
from jupyter_metahpo.widgets.progress import ProgressWidget  # noqa: E402

SPACE = {"x": uniform(0.0, 1.0)}


class OverHalf(Pruner):
    """Prunes trials with x > 0.5 at their third report, with a reason like the meta-learned pruner's."""

    def decide(self, trial, trials, direction):
        if trial.config["x"] > 0.5 and len(trial.intermediate_values) >= 3:
            return PruneDecision(True, f"predicted final {trial.config['x']:.2f} ± 0.01 < best 0.93, from 14 past curves")
        return PruneDecision(False)


def train(x, trial):
    for epoch in range(8):
        trial.report(x * (1 - 0.5 ** (epoch + 1)), epoch)
        if trial.should_prune():
            raise TrialPruned()
    return x


def run(**kwargs):
    return tune(train, SPACE, n_trials=5, store=False, seed=0, direction="maximize", pruner=OverHalf(), **kwargs)


def test_the_widget_draws_every_curve_live_and_greys_the_pruned_ones():
    view = ProgressWidget(min_interval=0)
    drawn_while_running = []

    def watch(snap):
        if snap.event == "trial_report":
            drawn_while_running.append(view.curves.value)

    result = run(callbacks=[view, watch])
    assert drawn_while_running and "metahpo-curve-running" in drawn_while_running[0]  # the running curve, live
    svg = view.curves.value
    n_pruned = sum(t.state is TrialState.PRUNED for t in result.trials)
    assert n_pruned and len(re.findall(r"class='metahpo-curve-pruned'[^>]*stroke='#b5b5b5'", svg)) == n_pruned
    assert len(re.findall("class='metahpo-curve-", svg)) == len(result.trials)
    assert f"pruned ({n_pruned})" in svg and "— best" in svg
    stats = view.stats.value
    assert f"{n_pruned} pruned" in stats
    last = [t for t in result.trials if t.state is TrialState.PRUNED][-1]
    assert f"trial {last.number + 1} pruned at step 2: predicted final" in stats and "from 14 past curves" in stats
    assert svg in view.static_html()  # a saved notebook keeps the curves


def test_no_curves_no_curve_plot():
    view = ProgressWidget(min_interval=0)
    tune(lambda x: x, SPACE, n_trials=2, store=False, seed=0, callbacks=[view])
    assert view.curves.value == "" and R.pruned_html(view.last_snapshot.trials) == ""


def test_one_diverged_curve_does_not_flatten_the_others():
    def diverges(x, trial):
        for epoch in range(60):
            trial.report(1e9 if x > 0.8 and epoch > 3 else x + 0.001 * epoch, epoch)
        return x

    result = tune(diverges, SPACE, n_trials=5, store=False, seed=0, direction="maximize")
    svg = R.learning_curves_svg(result.trials, result.direction)
    top = re.search(r"<text x='\d+' y='\d+' text-anchor='end'>([\d.e+]+)</text>", svg).group(1)
    assert float(top) < 10  # the axis follows the bulk of the values, not 1e9


def test_text_progress_says_where_and_why_a_trial_was_pruned():
    out = io.StringIO()
    result = run(progress=TextProgress(out))
    text = out.getvalue()
    pruned = [t for t in result.trials if t.state is TrialState.PRUNED]
    for t in pruned:
        assert re.search(rf"\[\s*{t.number + 1}/5\] pruned @2 .* · predicted final", text)
    assert f"{len(pruned)} of 5 trials were pruned ({sum(len(t.intermediate_values) for t in result.trials)} steps run, where 40 would" in text


def test_plot_curves_greys_pruned_trials_and_draws_the_best_in_black():
    from matplotlib.colors import to_rgba

    result = run()
    fig = result.plot_curves()
    lines = fig.axes[0].get_lines()
    assert len(lines) == len(result.trials)
    grey = [line for line in lines if to_rgba(line.get_color())[:3] == to_rgba("0.72")[:3]]
    assert len(grey) == result.n_pruned > 0
    best = [line for line in lines if line.get_label().startswith("best")]
    assert len(best) == 1 and to_rgba(best[0].get_color()) == to_rgba("black")
    assert list(best[0].get_xdata()) == list(range(8))
    assert f"pruned ({result.n_pruned})" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    with pytest.raises(ValueError, match="no trial reported a learning curve"):
        tune(lambda x: x, SPACE, n_trials=2, store=False, seed=0).plot_curves()
    matplotlib.pyplot.close("all")
