"""HTML and SVG for the widgets, built from frozen snapshots with no widget library.

Everything here is a pure function of trials: the live widget, the comparison widget
and the static copy left in a saved notebook all draw the same pictures. Plots are
hand-written SVG rather than matplotlib images: an SVG of a few hundred points is a
few kilobytes of text and takes well under a millisecond to build, where a matplotlib
PNG costs tens of milliseconds per redraw (``benchmarks/widget_render.py`` measures
both), and SVG stays sharp and readable in a saved notebook.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..result import best_so_far
from ..study import ClusterView, last_error_line
from ..trial import Direction, FrozenTrial, TrialState

__all__ = [
    "ORIGIN_COLOURS",
    "Series",
    "format_seconds",
    "format_value",
    "estimate_seconds_left",
    "status_line",
    "trouble_html",
    "output_details_html",
    "output_summary",
    "output_body_html",
    "best_html",
    "top_trials_html",
    "origins_html",
    "best_so_far_svg",
    "learning_curves_svg",
    "pruned_html",
    "curves_svg",
    "parallel_coordinates_svg",
    "configs_side_by_side_html",
]

#: One colour per origin source, so a point's colour says where its configuration came from.
ORIGIN_COLOURS = {
    "warm-start": "#d62728",
    "sobol": "#1f77b4",
    "random": "#7f7f7f",
    "gp": "#2ca02c",
    "manual": "#9467bd",
    "imported": "#8c564b",
}
_FALLBACK_COLOURS = ["#ff7f0e", "#17becf", "#bcbd22", "#e377c2", "#393b79", "#637939"]
#: Colours of the studies in a comparison, in order.
SERIES_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"]
SERIES_DASHES = ["none", "7 4", "2 3", "10 3 2 3"]
#: ipywidgets' HTML uses the 28 px line height of its controls; text blocks read better tighter.
TEXT_STYLE = "line-height:1.4"

#: Axes of a parallel-coordinates view stand at least this far apart (px), room for a label.
MIN_AXIS_GAP = 96

#: Past this many points a scatter keeps only the most recent ones: the curve stays
#: complete (it has one point per improvement) and the SVG stays small.
MAX_SCATTER_POINTS = 250


def origin_colour(source: str) -> str:
    if source in ORIGIN_COLOURS:
        return ORIGIN_COLOURS[source]
    return _FALLBACK_COLOURS[sum(map(ord, source)) % len(_FALLBACK_COLOURS)]


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def format_value(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def format_seconds(seconds: float | None) -> str:
    """``3.2 s``, ``4 min 05 s``, ``1 h 02 min``: short and exact enough for a progress line."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_config(config: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_cell(v)}" for k, v in config.items())


def estimate_seconds_left(
    n_done: int, n_total: int | None, elapsed: float, timeout: float | None
) -> float | None:
    """Time left: the mean time per finished trial times the trials left, capped by the timeout."""
    by_trials = None
    if n_total is not None and n_done > 0:
        by_trials = max(0, n_total - n_done) * elapsed / n_done
    by_time = None if timeout is None else max(0.0, timeout - elapsed)
    candidates = [x for x in (by_trials, by_time) if x is not None]
    return min(candidates) if candidates else None


def status_line(
    *,
    n_done: int,
    n_total: int | None,
    n_failed: int,
    elapsed: float,
    seconds_left: float | None,
    latency: float | None,
    status: str,
    n_pruned: int = 0,
) -> str:
    total = f"/{n_total}" if n_total else ""
    parts = [f"<b>{n_done}{total}</b> trials", f"{esc(format_seconds(elapsed))} elapsed"]
    if status == "running":
        parts.append(f"~{esc(format_seconds(seconds_left))} left")
    if n_pruned:
        parts.append(f"{n_pruned} pruned")
    if n_failed:
        parts.append(f"{n_failed} failed")
    if latency is not None:
        parts.append(f"suggestion {latency * 1000:.0f} ms (median)")
    return f"<div style='{TEXT_STYLE}'>{' · '.join(parts)}</div>"


def median_latency(trials: Sequence[FrozenTrial]) -> float | None:
    latencies = [t.suggest_seconds for t in trials if t.suggest_seconds is not None]
    return statistics.median(latencies) if latencies else None


def trouble_html(trials: Sequence[FrozenTrial]) -> str:
    """What went wrong, under the status line: the latest error, and how much the objective warned and printed.

    The error is the line that says what happened (a traceback's last line), its whole
    text on hover; the warnings and output themselves are in :func:`output_details_html`.
    """
    lines = []
    n_warnings, n_printed = _noise_counts(trials)
    if n_warnings or n_printed:
        lines.append(f"<div class='metahpo-noise'>⚠ {esc(_noise_words(n_warnings, n_printed))} (collapsed below)</div>")
    failed = next((t for t in reversed(trials) if t.state is TrialState.FAILED), None)
    if failed is not None:
        line = shorten(last_error_line(failed.error), 160)
        lines.append(
            f"<div class='metahpo-error' style='color:#a31515' title='{esc(failed.error or '')}'>"
            f"latest error (trial {failed.number + 1}): {esc(line)}</div>"
        )
    return f"<div style='{TEXT_STYLE};font-size:90%'>{''.join(lines)}</div>" if lines else ""


def pruned_html(trials: Sequence[FrozenTrial]) -> str:
    """Why the latest pruned trial was stopped, under the status line (its whole reason on hover)."""
    pruned = next((t for t in reversed(trials) if t.state is TrialState.PRUNED), None)
    if pruned is None:
        return ""
    where = "" if pruned.last_step is None else f" at step {pruned.last_step}"
    reason = pruned.prune_reason or "pruned"
    return (
        f"<div class='metahpo-pruned' style='{TEXT_STYLE};font-size:90%;color:#555' title='{esc(reason)}'>"
        f"trial {pruned.number + 1} pruned{esc(where)}: {esc(shorten(reason, 160))}</div>"
    )


def cluster_html(cluster: ClusterView | None, trials: Sequence[FrozenTrial], now: float) -> str:
    """A parallel study's workers: which trial each runs and for how long, and the Dask dashboard's link."""
    if cluster is None:
        return ""
    running = {t.number: t for t in trials if t.state is TrialState.RUNNING}
    by_worker: dict[str, list[FrozenTrial]] = {worker: [] for worker in cluster.workers}
    for number, worker in sorted(cluster.placement.items()):
        if number in running:
            by_worker.setdefault(worker, []).append(running[number])
    waiting = sorted(set(running) - set(cluster.placement))
    n_workers = len(by_worker)
    head = f"Dask: {n_workers} worker{'s' * (n_workers != 1)}, {len(running)} trial{'s' * (len(running) != 1)} running"
    link = (
        f" · <a href='{esc(cluster.dashboard)}' target='_blank' rel='noopener' class='metahpo-dashboard'>dashboard</a>"
        if cluster.dashboard else ""
    )
    rows = []
    for worker, held in by_worker.items():
        doing = ", ".join(
            f"trial {t.number + 1} ({format_seconds(max(now - t.started_at, 0.0) if t.started_at else None)})"
            for t in held
        ) or "idle"
        rows.append(f"<tr><td style='padding-right:8px'>{esc(_short_address(worker))}</td><td>{esc(doing)}</td></tr>")
    if waiting:
        numbers = number_ranges([n + 1 for n in waiting])
        label = "trial" if len(waiting) == 1 else "trials"
        rows.append(f"<tr><td style='padding-right:8px'>not yet placed</td><td>{label} {esc(numbers)}</td></tr>")
    table = f"<table style='font-size:90%;border-collapse:collapse'>{''.join(rows)}</table>" if rows else ""
    return f"<div class='metahpo-workers' style='{TEXT_STYLE};margin-top:4px'>{esc(head)}{link}{table}</div>"


def _short_address(address: str) -> str:
    """``tcp://127.0.0.1:40123`` as ``127.0.0.1:40123``: the protocol says nothing to a reader."""
    return address.split("://", 1)[-1]


def _noise_counts(trials: Sequence[FrozenTrial]) -> tuple[int, int]:
    """Warnings raised (distinct per trial, summed over trials) and trials that printed."""
    return sum(len(t.warnings) for t in trials), sum(1 for t in trials if t.output)


def _noise_words(n_warnings: int, n_printed: int) -> str:
    parts = []
    if n_warnings:
        parts.append(f"{n_warnings} warning{'s' * (n_warnings != 1)}")
    if n_printed:
        parts.append(f"output in {n_printed} trial{'s' * (n_printed != 1)}")
    return ", ".join(parts)


def output_details_html(trials: Sequence[FrozenTrial]) -> str:
    """The objective's warnings and prints, collapsed (an HTML ``<details>``): closed, it is one line."""
    summary = output_summary(trials)
    if summary is None:
        return ""
    return (
        f"<details class='metahpo-output' style='{TEXT_STYLE};font-size:90%;max-width:850px'>"
        f"<summary>{esc(summary)}</summary>{output_body_html(trials)}</details>"
    )


def output_summary(trials: Sequence[FrozenTrial]) -> str | None:
    """``4 warnings, output in 4 trials``; ``None`` when the objective was silent."""
    n_warnings, n_printed = _noise_counts(trials)
    return _noise_words(n_warnings, n_printed) if (n_warnings or n_printed) else None


def output_body_html(trials: Sequence[FrozenTrial], max_kinds: int = 10) -> str:
    """Each distinct warning once, with the trials that raised it; then the latest trial's
    output, in a box of bounded height that scrolls (every trial's is in ``trial.output``
    and ``result.dataframe["output"]``)."""
    raised: dict[str, list[int]] = {}
    for t in trials:
        for warning in t.warnings:
            raised.setdefault(warning, []).append(t.number + 1)
    items = "".join(
        f"<li><code>{esc(shorten(text, 200))}</code> — trial{'s' * (len(numbers) != 1)} {esc(number_ranges(numbers))}</li>"
        for text, numbers in list(raised.items())[:max_kinds]
    )
    more = f"<li>… and {len(raised) - max_kinds} more kinds</li>" if len(raised) > max_kinds else ""
    body = f"<ul style='margin:2px 0 4px 18px;padding:0'>{items}{more}</ul>" if items else ""
    printed = next((t for t in reversed(trials) if t.output), None)
    if printed is not None:
        body += (
            f"<div>Output of trial {printed.number + 1} (the latest that printed):</div>"
            f"<pre style='max-height:12em;overflow:auto;margin:2px 0;padding:4px;background:#f6f6f6;"
            f"font-size:11px;white-space:pre-wrap'>{esc(printed.output)}</pre>"
        )
    return f"<div style='{TEXT_STYLE};font-size:90%;max-width:850px'>{body}</div>"


def number_ranges(numbers: Sequence[int]) -> str:
    """``1–4, 7, 9–10``: sorted trial numbers with runs joined."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def best_html(best: FrozenTrial | None, metric: str | None, direction: Direction, *, running: bool = True) -> str:
    if best is None:
        words = "No complete trial yet." if running else "No trial completed."
        return f"<div class='metahpo-best' style='{TEXT_STYLE}'>{words}</div>"
    config = "".join(
        f"<tr><td style='padding:0 8px 0 0'><code>{esc(k)}</code></td><td>{esc(_cell(v))}</td></tr>"
        for k, v in best.config.items()
    )
    return (
        f"<div class='metahpo-best' style='{TEXT_STYLE}'>Best {esc(metric or 'value')} ({esc(direction.value)}): "
        f"<b>{esc(format_value(best.value))}</b> at trial {best.number + 1} "
        f"<span style='color:{origin_colour(best.origin.source)}'>[{esc(best.origin.source)}]</span>"
        f"<table style='margin-top:2px'>{config}</table></div>"
    )


def _cell(value: Any) -> str:
    return format_value(value) if isinstance(value, float) else repr(value)


def _table_cell(value: Any) -> str:
    """A value in the trials table: 4 significant digits for a float, so that columns stay narrow."""
    return f"{value:.4g}" if isinstance(value, float) else repr(value)


def _is_numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: Cells of the trials table: room between columns, so that neighbouring numbers never run together.
_TD = "padding:1px 8px"
_NUM = f"{_TD};text-align:right;font-variant-numeric:tabular-nums"


def ranked(trials: Sequence[FrozenTrial], direction: Direction) -> list[FrozenTrial]:
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    sign = -1.0 if direction is Direction.MAXIMIZE else 1.0
    return sorted(complete, key=lambda t: (sign * t.value, t.number))  # type: ignore[operator]


def top_trials_html(trials: Sequence[FrozenTrial], direction: Direction, names: Sequence[str], k: int = 5) -> str:
    top = ranked(trials, direction)[:k]
    if not top:
        return ""
    numeric = {n: all(_is_numeric(t.config.get(n)) for t in top) for n in names}
    head = "".join(f"<th style='{_NUM if numeric[n] else _TD}'>{esc(n)}</th>" for n in names)
    rows = []
    for t in top:
        cells = "".join(
            f"<td style='{_NUM if numeric[n] else _TD}'>{esc(_table_cell(t.config.get(n)))}</td>" for n in names
        )
        reason = esc(t.origin.reason or t.origin.source)
        rows.append(
            f"<tr><td style='{_NUM}'>{t.number + 1}</td><td style='{_NUM}'><b>{esc(_table_cell(t.value))}</b></td>"
            f"{cells}<td title='{reason}' style='{_TD};color:{origin_colour(t.origin.source)}'>"
            f"{esc(t.origin.source)}</td></tr>"
        )
    return (
        f"<table class='metahpo-top' style='border-collapse:collapse;font-size:12px;{TEXT_STYLE}'>"
        f"<tr><th style='{_NUM}'>#</th><th style='{_NUM}'>value</th>{head}<th style='{_TD}'>origin</th></tr>"
        f"{''.join(rows)}</table>"
    )


def origins_html(trials: Sequence[FrozenTrial]) -> str:
    """Where the trials came from: counts per source, and the provenance of warm starts."""
    if not trials:
        return ""
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.origin.source] = counts.get(t.origin.source, 0) + 1
    chips = " ".join(
        f"<span style='color:{origin_colour(s)}'>■</span> {esc(s)} {n}" for s, n in counts.items()
    )
    lines = [f"<div class='metahpo-origins'>Origins: {chips}</div>"]
    warm = [t for t in trials if t.origin.source == "warm-start" and t.origin.reason]
    for t in warm[:5]:
        lines.append(f"<div style='font-size:12px'>trial {t.number + 1}: {esc(t.origin.reason)}</div>")
    last = trials[-1]
    if last.origin.reason and last.origin.source != "warm-start":
        lines.append(
            f"<div style='font-size:12px;color:#555'>latest (trial {last.number + 1}, {esc(last.origin.source)}): "
            f"{esc(last.origin.reason)}</div>"
        )
    return f"<div style='{TEXT_STYLE}'>{''.join(lines)}</div>"


# SVG ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to pixels inside a plot area with margins for the axes."""

    width: int
    height: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    left: int = 56
    right: int = 10
    top: int = 10
    bottom: int = 28

    def x(self, value: float) -> float:
        lo, hi = self.x_range
        return self.left + (value - lo) / ((hi - lo) or 1.0) * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        lo, hi = self.y_range
        return self.height - self.bottom - (value - lo) / ((hi - lo) or 1.0) * (self.height - self.top - self.bottom)

    def axes(self, x_label: str, y_label: str) -> str:
        x0, x1 = self.left, self.width - self.right
        y0, y1 = self.height - self.bottom, self.top
        lo, hi = self.y_range
        xlo, xhi = self.x_range
        return (
            f"<line x1='{x0}' y1='{y0}' x2='{x1}' y2='{y0}' stroke='#999'/>"
            f"<line x1='{x0}' y1='{y0}' x2='{x0}' y2='{y1}' stroke='#999'/>"
            f"<text x='{x0 - 4}' y='{y1 + 8}' text-anchor='end'>{esc(format_value(hi))}</text>"
            f"<text x='{x0 - 4}' y='{y0}' text-anchor='end'>{esc(format_value(lo))}</text>"
            f"<text x='{x0}' y='{y0 + 14}'>{esc(_tick(xlo))}</text>"
            f"<text x='{x1}' y='{y0 + 14}' text-anchor='end'>{esc(_tick(xhi))}</text>"
            f"<text x='{(x0 + x1) / 2}' y='{y0 + 22}' text-anchor='middle'>{esc(x_label)}</text>"
            f"<text x='12' y='{(y0 + y1) / 2}' text-anchor='middle' transform='rotate(-90 12 {(y0 + y1) / 2})'>"
            f"{esc(y_label)}</text>"
        )


def _tick(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _svg(width: int, height: int, body: str, css_class: str) -> str:
    return (
        f"<svg class='{css_class}' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' style='font:10px sans-serif'>{body}</svg>"
    )


def _padded(lo: float, hi: float) -> tuple[float, float]:
    if lo == hi:
        pad = abs(lo) * 0.05 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _steps(points: Sequence[tuple[float, float]], frame: _Frame) -> str:
    """A step line (held value until the next improvement) as an SVG path."""
    if not points:
        return ""
    parts = [f"M{frame.x(points[0][0]):.1f},{frame.y(points[0][1]):.1f}"]
    prev_y = points[0][1]
    for x, y in points[1:]:
        parts.append(f"H{frame.x(x):.1f}")
        if y != prev_y:
            parts.append(f"V{frame.y(y):.1f}")
        prev_y = y
    return "".join(parts)


def best_so_far_svg(
    trials: Sequence[FrozenTrial],
    direction: Direction,
    *,
    n_total: int | None = None,
    metric: str | None = None,
    width: int = 460,
    height: int = 200,
) -> str:
    """Every complete trial as a point coloured by origin, and the best so far as a step line."""
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    if not complete:
        return _svg(width, height, "<text x='60' y='100'>waiting for the first complete trial…</text>", "metahpo-plot")
    values = [t.value for t in complete]
    # The x axis grows with the study (not to the whole budget): early trials stay readable.
    frame = _Frame(
        width,
        height,
        (1.0, float(max(len(trials), min(n_total or 10, 10), 2))),
        _padded(min(values), max(values)),  # type: ignore[type-var]
    )
    shown = complete[-MAX_SCATTER_POINTS:]
    dots = "".join(
        f"<circle cx='{frame.x(t.number + 1):.1f}' cy='{frame.y(t.value):.1f}' r='3' "  # type: ignore[arg-type]
        f"fill='{origin_colour(t.origin.source)}' fill-opacity='0.75'><title>trial {t.number + 1}: "
        f"{esc(format_value(t.value))} · {esc(t.origin.source)}{': ' + esc(t.origin.reason) if t.origin.reason else ''}"
        f"</title></circle>"
        for t in shown
    )
    curve = best_so_far(trials, direction)
    points = [(i + 1.0, v) for i, v in enumerate(curve) if v is not None]
    path = f"<path d='{_steps(points, frame)}' fill='none' stroke='black' stroke-width='1.5'/>"
    return _svg(width, height, frame.axes("trial", metric or "value") + dots + path, "metahpo-plot")


#: Learning curves drawn at most (the best, the running ones and the most recent others) and
#: points per curve (evenly spaced, the last kept): the SVG stays a few kilobytes.
MAX_CURVES = 60
MAX_CURVE_POINTS = 120
#: How each kind of curve is drawn: colour (None: the origin's), width, opacity.
PRUNED_COLOUR = "#b5b5b5"
RUNNING_COLOUR = "#ff7f0e"


def learning_curves_svg(
    trials: Sequence[FrozenTrial],
    direction: Direction,
    *,
    metric: str | None = None,
    width: int = 460,
    height: int = 200,
) -> str:
    """Every trial's reported learning curve: complete ones in their origin's colour, pruned ones
    grey, the best in black and a running one in orange; ``""`` while no trial reported one.

    Each curve is a ``polyline`` of class ``metahpo-curve-<state>`` (``running``, ``complete``,
    ``pruned``), the best's with ``metahpo-curve-best`` too, in an ``svg.metahpo-learning-curves``.
    """
    with_curves = [t for t in trials if t.intermediate_values and t.state is not TrialState.FAILED]
    if not with_curves:
        return ""
    best = next(iter(ranked(trials, direction)), None)
    running = [t for t in with_curves if t.state is TrialState.RUNNING]
    others = [t for t in with_curves if t is not best and t.state is not TrialState.RUNNING]
    shown = others[-(MAX_CURVES - 1 - len(running)):] + ([best] if best is not None and best.intermediate_values else [])
    shown += running
    bulk = _bulk_values(shown)
    if not len(bulk):
        return ""
    lo, hi = float(np.min(bulk)), float(np.max(bulk))
    steps = [s for t in shown for s in t.intermediate_values]
    frame = _Frame(width, height, (float(min(steps)), float(max(max(steps), min(steps) + 1))), _padded(lo, hi), top=24)
    y_lo, y_hi = frame.y_range
    lines = []
    for t in shown:
        colour, stroke, opacity = _curve_style(t, best)
        points = _thinned(list(t.intermediate_values.items()), MAX_CURVE_POINTS)
        path = " ".join(
            f"{frame.x(s):.1f},{frame.y(min(max(v, y_lo), y_hi)):.1f}" for s, v in points if math.isfinite(v)
        )
        title = f"trial {t.number + 1} ({t.state.value}): {format_value(list(t.intermediate_values.values())[-1])} at step {t.last_step}"
        if t.prune_reason and t.state is TrialState.PRUNED:
            title += f"; {t.prune_reason}"
        best_class = " metahpo-curve-best" if t is best else ""
        lines.append(
            f"<polyline class='metahpo-curve-{t.state.value}{best_class}' points='{path}' fill='none' stroke='{colour}' "
            f"stroke-width='{stroke}' stroke-opacity='{opacity}'><title>{esc(title)}</title></polyline>"
        )
    n_pruned = sum(t.state is TrialState.PRUNED for t in trials)
    keys = [("black", "best")] if best is not None and best.intermediate_values else []
    keys += [(RUNNING_COLOUR, "running")] if running else []
    keys += [("#888", f"pruned ({n_pruned})")] if n_pruned else []
    legend = f"<text x='{width - 12}' y='12' text-anchor='end'>" + "".join(
        f"<tspan fill='{colour}'> — {esc(label)}</tspan>" for colour, label in keys
    ) + "</text>"
    # Two classes: "metahpo-curves" styles it as the other plots; "metahpo-learning-curves" finds it (front-end tests).
    return _svg(width, height, frame.axes("step", metric or "value") + "".join(lines) + legend,
                "metahpo-curves metahpo-learning-curves")


def _bulk_values(trials: Sequence[FrozenTrial]) -> np.ndarray:
    """The finite values of the curves that are not far off the others: a diverged curve (a loss
    of 1e9) must not flatten every other one. A curve is far off when its median lies more than
    ten median deviations from the median of all curves' medians; it is then drawn clipped."""
    curves = [np.array([v for v in t.intermediate_values.values() if math.isfinite(v)]) for t in trials]
    curves = [c for c in curves if len(c)]
    if not curves:
        return np.empty(0)
    levels = np.array([np.median(c) for c in curves])
    centre = np.median(levels)
    spread = np.median(np.abs(np.concatenate(curves) - centre)) or 1e-12
    kept = [c for c, level in zip(curves, levels) if abs(level - centre) <= 10 * spread]
    return np.concatenate(kept or curves)


def _curve_style(trial: FrozenTrial, best: FrozenTrial | None) -> tuple[str, float, float]:
    if trial.state is TrialState.RUNNING:
        return RUNNING_COLOUR, 2.0, 1.0
    if trial is best:
        return "black", 2.0, 1.0
    if trial.state is TrialState.PRUNED:
        return PRUNED_COLOUR, 1.0, 0.8
    return origin_colour(trial.origin.source), 1.0, 0.6


def _thinned(points: list[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
    if len(points) <= limit:
        return points
    return [points[round(i * (len(points) - 1) / (limit - 1))] for i in range(limit)]


@dataclass(frozen=True)
class Series:
    """One study in a comparison: its name, direction and trials."""

    name: str
    direction: Direction
    trials: tuple[FrozenTrial, ...]

    def curve(self, by: str = "trial") -> list[tuple[float, float]]:
        """Best-so-far points, x being the trial number or seconds since the study began."""
        values = best_so_far(self.trials, self.direction)
        start = min((t.started_at for t in self.trials if t.started_at is not None), default=0.0)
        points: list[tuple[float, float]] = []
        for t, v in zip(self.trials, values):
            if v is None:
                continue
            if by == "time":
                if t.finished_at is None:
                    continue
                points.append((t.finished_at - start, v))
            else:
                points.append((t.number + 1.0, v))
        return points


#: Rough width of one character of the plots' 10 px sans-serif font, for laying out text
#: without a browser: generous, so that an estimate errs towards too much room.
CHAR_WIDTH = 6.2
#: Longest study name a legend shows in full; longer ones end with an ellipsis (full name on hover).
LEGEND_CHARS = 26


def shorten(text: str, max_chars: int) -> str:
    """``text`` itself when it fits, else cut with an ellipsis (the caller shows the full text on hover)."""
    return text if len(text) <= max_chars else text[: max(1, max_chars - 1)] + "…"


def curves_svg(series: Sequence[Series], *, by: str = "trial", width: int = 520, height: int = 240) -> str:
    """Best-so-far curves of several studies on one plot, by trial or by time, with a legend.

    ``width`` is the plot's; the legend sits to its right, outside the plotted area, so it
    never hides a curve. The margins leave room for the tick labels at the top and bottom.
    """
    if by not in ("trial", "time"):
        raise ValueError(f"`by` must be 'trial' or 'time', but got by={by!r}.")
    curves = [(s, s.curve(by)) for s in series]
    points = [p for _, c in curves for p in c]
    if not points:
        return _svg(width, height, "<text x='60' y='100'>no complete trials to compare</text>", "metahpo-curves")
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    longest = max(len(shorten(s.name, LEGEND_CHARS)) for s in series)
    legend_width = math.ceil(40 + CHAR_WIDTH * longest)
    frame = _Frame(
        width + legend_width,
        height,
        (min(1.0, min(xs)) if by == "trial" else 0.0, max(max(xs), 1.0)),
        _padded(min(ys), max(ys)),
        top=16,  # the top tick label (drawn 8 px below the axis' end) stays inside the picture
        right=legend_width,
        bottom=32,
    )
    body = [frame.axes("trial" if by == "trial" else "seconds", "best so far")]
    legend_x = width + 12
    for i, (s, c) in enumerate(curves):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        # Dashes tell apart curves that overlap (strategies sharing an initial design).
        dash = SERIES_DASHES[i % len(SERIES_DASHES)]
        body.append(
            f"<path d='{_steps(c, frame)}' fill='none' stroke='{colour}' stroke-width='2' stroke-dasharray='{dash}'>"
            f"<title>{esc(s.name)}</title></path>"
        )
        row = frame.top + 6 + 16 * i
        body.append(
            f"<g class='metahpo-legend'><title>{esc(s.name)}</title>"
            f"<line x1='{legend_x}' y1='{row}' x2='{legend_x + 20}' y2='{row}' stroke='{colour}' stroke-width='2' "
            f"stroke-dasharray='{dash}'/>"
            f"<text x='{legend_x + 24}' y='{row + 4}'>{esc(shorten(s.name, LEGEND_CHARS))}</text></g>"
        )
    return _svg(frame.width, height, "".join(body), "metahpo-curves")


def axis_label_lines(name: str, max_chars: int, max_lines: int = 2) -> list[str]:
    """A parameter's name on at most ``max_lines`` lines of ``max_chars``, broken after ``_``, ``.`` or ``-``.

    Only a name that cannot fit even so is shortened, with an ellipsis on its last line.
    """
    if len(name) <= max_chars:
        return [name]
    pieces: list[str] = []
    word = ""
    for char in name:  # words keep their separator, so the lines read back as the name
        word += char
        if char in "_.-":
            pieces.append(word)
            word = ""
    if word:
        pieces.append(word)
    lines: list[str] = []
    for piece in pieces:
        while len(piece) > max_chars:  # one word longer than a line: cut it
            if lines and len(lines[-1]) < max_chars:
                room = max_chars - len(lines[-1])
                lines[-1] += piece[:room]
                piece = piece[room:]
            else:
                lines.append(piece[:max_chars])
                piece = piece[max_chars:]
        if lines and len(lines[-1]) + len(piece) <= max_chars:
            lines[-1] += piece
        elif piece:
            lines.append(piece)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [shorten("".join(lines[max_lines - 1 :]), max_chars)]
    return lines


def parallel_coordinates_svg(
    series: Sequence[Series], names: Sequence[str], *, width: int = 520, height: int = 240, max_lines: int = 300
) -> str:
    """One polyline per complete trial across the parameters' axes (unit scale), coloured by study.

    Values are placed by each parameter's own scale when all studies share a space;
    otherwise by rank within the shown trials. The best trial of each study is drawn bold.
    Every axis is labelled in full: the picture widens so that axes stand at least
    :data:`MIN_AXIS_GAP` apart, a long name wraps onto two lines, and only a name longer
    than two lines is shortened (its full name shows on hover).
    """
    if not names:
        return _svg(width, height, "<text x='20' y='100'>no shared parameters</text>", "metahpo-parcoords")
    max_chars = int((MIN_AXIS_GAP - 8) / CHAR_WIDTH)
    labels = [axis_label_lines(name, max_chars) for name in names]
    half = [CHAR_WIDTH * max(len(line) for line in lines) / 2 for lines in labels]
    # The first and last labels are centred on their axes: the margins hold their halves.
    left, right = int(max(20, half[0] + 6)), int(max(20, half[-1] + 6))
    n_lines = max(len(lines) for lines in labels)
    top, bottom = 12 + 12 * n_lines, 20
    width = max(width, int(left + right + MIN_AXIS_GAP * (len(names) - 1)))
    step = (width - left - right) / max(len(names) - 1, 1)
    axes_x = [left + i * step for i in range(len(names))]
    unit_of = _unit_scalers(series, names)
    body = []
    for x, name, lines in zip(axes_x, names, labels):
        body.append(f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{height - bottom}' stroke='#bbb'/>")
        first_y = top - 8 - 12 * (len(lines) - 1)
        spans = "".join(
            f"<tspan x='{x:.1f}' y='{first_y + 12 * k}'>{esc(line)}</tspan>" for k, line in enumerate(lines)
        )
        body.append(
            f"<text class='metahpo-axis-label' text-anchor='middle'><title>{esc(name)}</title>{spans}</text>"
        )
    for i, s in enumerate(series):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        complete = ranked(s.trials, s.direction)
        for rank, t in enumerate(reversed(complete[:max_lines])):
            is_best = rank == min(len(complete), max_lines) - 1
            ys = []
            for x, name in zip(axes_x, names):
                u = unit_of[name](t.config.get(name))
                ys.append(f"{x:.1f},{top + (1 - u) * (height - top - bottom):.1f}")
            body.append(
                f"<polyline points='{' '.join(ys)}' fill='none' stroke='{colour}' "
                f"stroke-opacity='{1.0 if is_best else 0.25}' stroke-width='{2.5 if is_best else 1}'>"
                f"<title>{esc(s.name)} trial {t.number + 1}: {esc(format_value(t.value))}</title></polyline>"
            )
    return _svg(width, height, "".join(body), "metahpo-parcoords")


def _unit_scalers(series: Sequence[Series], names: Sequence[str]):
    """For each parameter, a function mapping a value to [0, 1] over the values shown."""
    scalers = {}
    for name in names:
        values = [t.config.get(name) for s in series for t in s.trials if name in t.config]
        numeric = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numeric and len(numeric) == len(values):
            lo, hi = min(numeric), max(numeric)
            positive = lo > 0 and hi / lo > 100  # spans decades: a log axis shows it better
            if positive:
                lo, hi = math.log(lo), math.log(hi)
            scalers[name] = _numeric_scaler(lo, hi, positive)
        else:
            levels = sorted({repr(v) for v in values})
            scalers[name] = _level_scaler(levels)
    return scalers


def _numeric_scaler(lo: float, hi: float, log: bool):
    def scale(value: Any) -> float:
        if value is None:
            return 0.5
        v = math.log(float(value)) if log else float(value)
        return 0.5 if hi == lo else (v - lo) / (hi - lo)

    return scale


def _level_scaler(levels: list[str]):
    def scale(value: Any) -> float:
        if len(levels) <= 1:
            return 0.5
        return levels.index(repr(value)) / (len(levels) - 1) if repr(value) in levels else 0.5

    return scale


def configs_side_by_side_html(series: Sequence[Series]) -> str:
    """The best configuration of each study in one table: a column per study."""
    bests = [ranked(s.trials, s.direction)[:1] for s in series]
    names: list[str] = []
    for b in bests:
        for t in b:
            names.extend(n for n in t.config if n not in names)
    head = "".join(
        f"<th style='color:{SERIES_COLOURS[i % len(SERIES_COLOURS)]}'>{esc(s.name)}</th>" for i, s in enumerate(series)
    )
    rows = ["<tr><td>best value</td>" + "".join(
        f"<td><b>{esc(format_value(b[0].value)) if b else '—'}</b></td>" for b in bests
    ) + "</tr>"]
    rows.append("<tr><td>at trial</td>" + "".join(f"<td>{b[0].number + 1 if b else '—'}</td>" for b in bests) + "</tr>")
    rows.append("<tr><td>trials</td>" + "".join(f"<td>{len(s.trials)}</td>" for s in series) + "</tr>")
    for name in names:
        cells = "".join(
            f"<td>{esc(_cell(b[0].config[name])) if b and name in b[0].config else '—'}</td>" for b in bests
        )
        rows.append(f"<tr><td><code>{esc(name)}</code></td>{cells}</tr>")
    return (
        # Spacing between columns: a long value never runs into the parameter's name.
        f"<table class='metahpo-configs' style='border-collapse:separate;border-spacing:10px 0;font-size:12px;"
        f"{TEXT_STYLE}'><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )
