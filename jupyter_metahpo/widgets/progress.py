"""The live progress widget: a study callback that renders the snapshots it is given.

It never calls a sampler or the study; it only draws :class:`StudySnapshot` objects.
Rendering is throttled (at most one redraw per ``min_interval`` seconds, plus the
start and the end) and each redraw sends its trait changes under ``hold_sync`` so a
study of 1,000 trials of 10 ms sends a few dozen messages, not thousands.

The Stop button only sets a :class:`~jupyter_metahpo.study.StopSignal`; the study
checks it between trials. For the click to reach the kernel while the cell is still
running, the front end must deliver widget messages while the kernel is busy:
JupyterLab 4.4+ and Notebook 7.4+ send widget messages to a kernel *subshell* (a
separate thread in ipykernel 7), where the button's handler runs at once.
``jupyter_metahpo.widgets.kernel_pump`` covers front ends that do not.

ipywidgets loads when the first view is built (:class:`~jupyter_metahpo._imports.LazyImport`),
so the magics can import this module without it: the view holds its ipywidgets box
(``widget``) rather than being one.
"""

from __future__ import annotations

import contextlib
import html
import statistics
import time
from collections.abc import Callable

from .._imports import LazyImport
from ..study import StopSignal, StudySnapshot
from ..trial import TrialState
from ..warm_report import WarmStartSummary
from . import _render as R

__all__ = ["ProgressWidget"]

W = LazyImport("ipywidgets")

_FINAL_WORDS = {
    "finished": "Finished",
    "stopped": "Stopped by the user",
    "timeout": "Time budget spent",
    "interrupted": "Interrupted",
    "failed": "Failed",
}


class ProgressWidget:
    """Live view of one study: progress, best so far, top trials, origins, Stop.

    Use it as a callback of :func:`jupyter_metahpo.tune` (or ``Study.optimize``)
    together with the same ``stop`` signal::

        stop = StopSignal()
        view = ProgressWidget(stop)
        display(view)
        tune(f, space, callbacks=[view], stop=stop)

    ``display(view)`` shows ``view.widget``, the ``ipywidgets.VBox`` that holds the
    parts (put ``view.widget`` in another container to lay it out with other widgets).

    Parameters
    ----------
    stop:
        The signal the Stop button sets; without one the button is hidden.
    min_interval:
        Smallest time in seconds between two redraws while the study runs.
    top_k:
        Rows of the top-trials table.
    clock:
        Where time comes from (monotonic seconds); tests pass a fake clock.
    """

    def __init__(
        self,
        stop: StopSignal | None = None,
        *,
        min_interval: float = 0.25,
        top_k: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not min_interval >= 0:
            raise ValueError(f"`min_interval` must be >= 0 seconds, but got min_interval={min_interval!r}.")
        self.stop_signal = stop
        self.min_interval = float(min_interval)
        self.top_k = int(top_k)
        self._clock = clock
        self._last_render: float | None = None
        self._pending: StudySnapshot | None = None
        self.last_snapshot: StudySnapshot | None = None
        self.n_renders = 0
        self._budget_note: str | None = None  # said at the start, kept in the title

        self.title = W.HTML(value="<b>metatune</b>: starting…")
        self.bar = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="420px"))
        self.stats = W.HTML()
        self.workers = W.HTML()  # a parallel study's Dask workers and what each runs
        self.best = W.HTML()
        self.plot = W.HTML()
        self.curves = W.HTML()  # learning curves, once a trial reports one (pruned trials grey)
        self.table = W.HTML()
        self.origins = W.HTML()
        self.warm = W.HTML()
        # The warnings and prints, folded: an Accordion keeps its open or closed state across
        # redraws (an HTML <details> would close again at every redraw); the static copy uses <details>.
        self.output = W.HTML()
        self.output_box = W.Accordion(children=[self.output], selected_index=None, layout=W.Layout(display="none"))
        self.stop_button = W.Button(
            description="Stop",
            icon="stop",
            button_style="danger",
            tooltip="End the study after the running trial; every finished trial is kept.",
            layout=W.Layout(width="auto", display="" if stop is not None else "none"),
        )
        self.stop_button.add_class("metahpo-stop")
        self.stop_button.on_click(self._on_stop_clicked)
        header = W.HBox([self.bar, self.stop_button])
        left = W.VBox([self.stats, self.workers, self.best, self.origins], layout=W.Layout(width="380px", margin="0 12px 0 0"))
        right = W.VBox([self.plot, self.curves], layout=W.Layout(min_width="470px"))
        middle = W.HBox([left, right])
        self._containers = (header, left, right, middle)
        self.widget = W.VBox([self.title, self.warm, header, middle, self.table, self.output_box])
        self.widget.add_class("metahpo-progress")

    def close(self) -> None:
        """Close the view and every part of it (each part is a widget with its own comm)."""
        parts = (
            self.title, self.warm, self.bar, self.stats, self.workers, self.best, self.plot, self.curves, self.table, self.origins,
            self.output, self.output_box, self.stop_button,
        )
        for part in (*parts, *self._containers):
            part.close()
        self.widget.close()

    # Callback -----------------------------------------------------------------------
    def __call__(self, snap: StudySnapshot) -> None:
        self.last_snapshot = snap
        self._budget_note = snap.budget_already_spent() or self._budget_note
        now = self._clock()
        if snap.event in ("start", "end", "workers") or self._due(now):  # "workers": at most once a second
            self._render(snap, now)
        elif snap.event == "trial_start" and self._pending is not None and self._trials_are_slow(snap):
            # The next redraw would wait for the end of a slow trial: show the last result now.
            self._render(snap, now)
        else:
            self._pending = snap

    def _due(self, now: float) -> bool:
        return self._last_render is None or now - self._last_render >= self.min_interval

    def _trials_are_slow(self, snap: StudySnapshot) -> bool:
        durations = [t.duration for t in snap.trials if t.duration is not None]
        return bool(durations) and statistics.median(durations[-5:]) >= self.min_interval

    def _on_stop_clicked(self, _button: W.Button) -> None:
        if self.last_snapshot is not None and self.last_snapshot.event == "end":
            return  # a click queued behind the finished cell: nothing left to stop
        if self.stop_signal is not None:
            self.stop_signal.set()
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping after this trial…"

    # Rendering ----------------------------------------------------------------------
    def _render(self, snap: StudySnapshot, now: float) -> None:
        self._last_render = now
        self._pending = None
        self.n_renders += 1
        parts = self.render_parts(snap)
        # Not the Stop button: its click handler may run at the same time in a subshell thread.
        held = (
            self.widget, self.title, self.warm, self.bar, self.stats, self.workers, self.best, self.plot, self.curves, self.table,
            self.origins, self.output, self.output_box,
        )
        with contextlib.ExitStack() as stack:
            for widget in held:
                stack.enter_context(widget.hold_sync())
            self.title.value = parts["title"]
            self.bar.max = max(parts["total"], 1)
            self.bar.value = min(parts["done"], self.bar.max)
            self.bar.bar_style = parts["bar_style"]
            self.stats.value = parts["stats"]
            self.workers.value = parts["workers"]
            self.best.value = parts["best"]
            self.plot.value = parts["plot"]
            self.curves.value = parts["curves"]
            self.table.value = parts["table"]
            self.origins.value = parts["origins"]
            self.warm.value = parts["warm"]
            summary = R.output_summary(snap.trials)
            if summary is not None:
                self.output.value = R.output_body_html(snap.trials)
                self.output_box.titles = (summary,)
                self.output_box.layout.display = ""
            if snap.event == "end":
                self.stop_button.disabled = True
                self.stop_button.description = _FINAL_WORDS.get(snap.status, snap.status)
                self.stop_button.button_style = ""

    def render_parts(self, snap: StudySnapshot) -> dict:
        """Everything the widget shows for ``snap``, as plain values (used by tests and the static copy)."""
        trials = snap.trials
        finished = [t for t in trials if t.state.is_finished]
        n_failed = sum(t.state is TrialState.FAILED for t in trials)
        done = len(finished)
        total = snap.n_trials or 0
        elapsed = snap.elapsed
        running = snap.status == "running"
        if running and snap.n_trials is None and snap.timeout:
            # Only a time budget: the bar shows time spent, in percent.
            total, done_for_bar = 100, int(min(100, 100 * elapsed / snap.timeout))
        else:
            done_for_bar = done
        name = html.escape(snap.name or "study")
        if running:
            state = "running"
            if snap.current is not None and snap.current.state is TrialState.RUNNING:
                state = f"running trial {snap.current.number + 1}"
        else:
            state = _FINAL_WORDS.get(snap.status, snap.status)
        note = f"<div style='font-weight:normal'>{html.escape(self._budget_note)}</div>" if self._budget_note else ""
        return {
            "title": f"<b>metatune · {name}</b> — {html.escape(state)}{note}",
            "done": done_for_bar,
            "total": total if total else max(done_for_bar, 1),
            "bar_style": "" if running else ("success" if snap.status in ("finished", "timeout") else "warning"),
            "stats": R.status_line(
                n_done=done,
                n_total=snap.n_trials,
                n_failed=n_failed,
                elapsed=elapsed,
                seconds_left=R.estimate_seconds_left(done, snap.n_trials, elapsed, snap.timeout),
                latency=R.median_latency(trials),
                status=snap.status,
                n_pruned=sum(t.state is TrialState.PRUNED for t in trials),
            )
            + R.pruned_html(finished)
            + R.trouble_html(finished),
            "workers": R.cluster_html(snap.cluster, trials, snap.now) if running else "",
            "best": R.best_html(snap.best_trial, snap.metric, snap.direction, running=running),
            "plot": R.best_so_far_svg(trials, snap.direction, n_total=snap.n_trials, metric=snap.metric),
            "curves": R.learning_curves_svg(trials, snap.direction, metric=snap.metric),
            "table": R.top_trials_html(trials, snap.direction, snap.space.names, k=self.top_k),
            "origins": R.origins_html(finished),
            "warm": _warm_html(snap),
            "output": R.output_details_html(finished),
        }

    # Saved notebooks --------------------------------------------------------------------
    def static_html(self) -> str:
        """The current view as plain HTML: what a saved notebook shows without widget state."""
        if self.last_snapshot is None:
            return "<div class='metahpo-progress metahpo-static'>metatune: not started</div>"
        p = self.render_parts(self.last_snapshot)
        return (
            f"<div class='metahpo-progress metahpo-static'><div>{p['title']}</div>{p['warm']}"
            f"<div style='display:flex;flex-wrap:wrap;gap:12px'>"
            f"<div style='width:380px'>{p['stats']}{p['workers']}{p['best']}{p['origins']}</div><div>{p['plot']}{p['curves']}</div></div>"
            f"{p['table']}{p['output']}</div>"
        )

    def static_bundle(self) -> dict:
        """The final output for the notebook: HTML and text, no live widget."""
        return {"text/html": self.static_html(), "text/plain": self.static_text()}

    def static_text(self) -> str:
        snap = self.last_snapshot
        if snap is None:
            return "metatune: not started"
        best = snap.best_trial
        value = R.format_value(best.value if best else None)
        config = R.format_config(best.config) if best else "—"
        return (
            f"metatune {snap.name or 'study'}: {snap.status}, {snap.n_finished} trials in "
            f"{R.format_seconds(snap.elapsed)}; best {value} with {config}"
        )

    def _repr_mimebundle_(self, **kwargs):
        # Besides the live view, carry a static copy: JupyterLab shows the widget while
        # the kernel lives; a saved notebook opened elsewhere (nbviewer, GitHub, nbconvert,
        # a notebook without widget state) shows the HTML and text instead.
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        bundle = dict(bundle)
        bundle["text/plain"] = self.static_text()
        bundle["text/html"] = self.static_html()
        return bundle


def _warm_html(snap: StudySnapshot) -> str:
    """Where the study starts from: its warm start's sources in one line, or why it is cold."""
    warm = WarmStartSummary.from_info(snap.info)
    if warm is None:
        return ""
    words = html.escape(warm.headline())
    return f"<div class='metahpo-warm' style='font-size:90%;max-width:850px'>{words}{warm.notes_html()}</div>"
