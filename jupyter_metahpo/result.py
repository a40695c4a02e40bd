"""What ``tune`` returns: the best configuration, every trial as a DataFrame, plots."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._imports import LazyImport
from .space import Choice, SearchSpace
from .trial import BestTrialMixin, Direction, FrozenTrial, TrialState
from .warm_report import WarmStartSummary

__all__ = ["TuningResult", "trials_to_dataframe", "best_so_far", "keep_values_exactly"]

# Loaded when a result is first shown as a table or a plot, not with the package.
pd = LazyImport("pandas")
plt = LazyImport("matplotlib.pyplot", install="pip install matplotlib")
figures = LazyImport("jupyter_metahpo._figures", install="pip install matplotlib")


def trials_to_dataframe(trials: Sequence[FrozenTrial], space: SearchSpace):
    """One row per trial: number, state, value, one column per parameter, then timing and origin.

    ``number`` counts from 1, as every display does (``FrozenTrial.number + 1``); ``error``
    is the line of a failed trial's error that says what went wrong; ``warnings`` and
    ``output`` are what the objective warned and printed during the trial; ``steps`` how
    many values it reported (``trial.report``) and ``prune_reason`` why it was pruned.
    """
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number + 1, "state": t.state.value, "value": t.value}
        for name in space.names:
            row[name] = t.config.get(name)
        for key, metric in t.metrics.items():
            if key not in row:
                row[f"metric:{key}"] = metric
        row["duration"] = t.duration
        row["suggest_seconds"] = t.suggest_seconds
        row["origin"] = t.origin.source
        row["reason"] = t.origin.reason
        row.update(_provenance(t.origin.details))
        row["error"] = t.error.strip().splitlines()[-1] if t.error else None
        row["warnings"] = "\n".join(t.warnings) or None
        row["output"] = t.output
        row["steps"] = len(t.intermediate_values)
        row["prune_reason"] = t.prune_reason
        rows.append(row)
    columns = ["number", "state", "value", *space.names]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(
            columns=columns
            + ["duration", "suggest_seconds", "origin", "reason", *PROVENANCE_COLUMNS, "error", "warnings", "output",
               "steps", "prune_reason"]
        )
    return keep_values_exactly(frame, rows, _choices_with_none(space))


def keep_values_exactly(frame, rows: Sequence[Mapping[str, Any]], names: Iterable[str]):
    """Rebuild the columns ``names`` of ``frame`` (made from ``rows``) with object dtype.

    pandas infers str or float for a column of options such as ``(None, 2, 4)`` and turns
    None into NaN (and 2 into 2.0); object dtype keeps every value exactly as it was used.
    """
    for name in names:
        frame[name] = pd.Series([row.get(name) for row in rows], index=frame.index, dtype=object)
    return frame


def _choices_with_none(space: SearchSpace) -> list[str]:
    return [
        name
        for name in space.names
        if isinstance(space[name], Choice) and any(option is None for option in space[name].options)
    ]


#: Warm-start and transfer provenance shown as columns (from ``Origin.details``).
PROVENANCE_COLUMNS = ("strategy", "source_task", "similarity", "predicted")


def _provenance(details: Any) -> dict[str, Any]:
    """Strategy, source task(s), similarity and predicted value of a trial's origin (None when absent)."""
    out: dict[str, Any] = {}
    for key in PROVENANCE_COLUMNS:
        value = details.get(key) if details else None
        if isinstance(value, (list, tuple)):  # several source tasks: one readable cell
            value = ", ".join(map(str, value))
        out[key] = value
    return out


def best_so_far(trials: Sequence[FrozenTrial], direction: Direction) -> list[float | None]:
    """The best value after each trial (None until a trial completes)."""
    best: float | None = None
    out: list[float | None] = []
    for t in trials:
        if t.state is TrialState.COMPLETE and (best is None or direction.is_better(t.value, best)):  # type: ignore[arg-type]
            best = t.value
        out.append(best)
    return out


#: The trials whose curves ``plot_curves`` draws (a failed trial's curve ends in an error, not a verdict).
CURVE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


def _origin_colours(sources: Iterable[str]) -> dict[str, Any]:
    """One colour of matplotlib's cycle per origin source, in order of first appearance."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colours: dict[str, Any] = {}
    for source in sources:
        colours.setdefault(source, cycle[len(colours) % len(cycle)])
    return colours


@dataclass(frozen=True)
class TuningResult(BestTrialMixin):
    """The outcome of :func:`jupyter_metahpo.tune`.

    Attributes
    ----------
    best_config, best_value, best_trial:
        The best complete trial (``None`` when no trial completed).
    trials:
        Every trial as frozen snapshots; :attr:`dataframe` gives them as a table.
    status:
        How the loop ended: ``"finished"``, ``"timeout"``, ``"stopped"`` or ``"interrupted"``.
    study_id:
        The study's id in the experience store (``None`` when nothing was stored).
    """

    space: SearchSpace
    direction: Direction
    trials: tuple[FrozenTrial, ...]
    status: str
    name: str | None = None
    metric: str | None = None
    study_id: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def dataframe(self):
        return trials_to_dataframe(self.trials, self.space)

    @property
    def warm_start(self) -> WarmStartSummary | None:
        """Which past studies the warm start used, on which parameters and why; or why it was cold.

        ``None`` when no warm start was tried (``strategy="none"``, or a sampler of your own).
        """
        return WarmStartSummary.from_info(self.info)

    @property
    def n_complete(self) -> int:
        return sum(t.state is TrialState.COMPLETE for t in self.trials)

    @property
    def n_failed(self) -> int:
        return sum(t.state is TrialState.FAILED for t in self.trials)

    def best_so_far(self) -> list[float | None]:
        return best_so_far(self.trials, self.direction)

    def plot(self, ax=None):
        """Convergence plot: every trial's value by origin, and the best so far as a step line.

        Returns the matplotlib ``Figure`` it made (``fig.savefig(...)``), a pyplot figure
        like ``plt.subplots()``'s: ``plt.show()`` shows it in a script, and a notebook
        shows it once, whether or not it is the cell's value. With ``ax=``, it draws into
        your axes and returns ``None`` (the figure is yours: it shows as you show it).
        """
        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(6, 3.5), FigureClass=figures.PyplotFigure)
        by_origin: dict[str, tuple[list[int], list[float]]] = {}
        for t in self.trials:
            if t.state is TrialState.COMPLETE:
                xs, ys = by_origin.setdefault(t.origin.source, ([], []))
                xs.append(t.number + 1)
                ys.append(t.value)  # type: ignore[arg-type]
        for source, (xs, ys) in by_origin.items():
            ax.scatter(xs, ys, s=18, alpha=0.7, label=source)
        curve = self.best_so_far()
        steps = [(i + 1, v) for i, v in enumerate(curve) if v is not None]
        if steps:
            ax.step([x for x, _ in steps], [y for _, y in steps], where="post", color="black", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(self.metric or "value")
        ax.set_title(f"{self.name or 'study'} ({self.direction.value})")
        ax.legend(loc="best", fontsize="small")
        return fig if own else None

    @property
    def n_pruned(self) -> int:
        return sum(t.state is TrialState.PRUNED for t in self.trials)

    def plot_curves(self, ax=None):
        """Every trial's learning curve (what it reported with ``trial.report(value, step)``).

        Complete trials are drawn in a colour per origin, pruned trials in grey (each ends
        where it was stopped), the best trial in black. Returns the figure as :meth:`plot`
        does (``None`` with ``ax=``). Raises ``ValueError`` when no trial reported a curve.
        """
        drawn = [t for t in self.trials if t.intermediate_values and t.state in CURVE_STATES]
        if not drawn:
            raise ValueError(
                "no trial reported a learning curve: give the objective a `trial` parameter and call "
                "trial.report(value, step) after each epoch."
            )
        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(6, 3.5), FigureClass=figures.PyplotFigure)
        best = self.best_trial
        labelled: set[str] = set()
        n_pruned = sum(t.state is TrialState.PRUNED for t in drawn)
        colours = _origin_colours(t.origin.source for t in drawn if t.state is TrialState.COMPLETE)
        for t in drawn:
            if t is best:
                continue
            pruned = t.state is TrialState.PRUNED
            label = f"pruned ({n_pruned})" if pruned else t.origin.source
            steps, values = zip(*t.intermediate_values.items())
            ax.plot(steps, values, color="0.72" if pruned else colours[t.origin.source], lw=0.9,
                    alpha=0.8 if pruned else 0.7, zorder=1 if pruned else 2, label=None if label in labelled else label)
            labelled.add(label)
        if best is not None and best.intermediate_values:
            steps, values = zip(*best.intermediate_values.items())
            ax.plot(steps, values, color="black", lw=2, zorder=3, label=f"best (trial {best.number + 1})")
        ax.set_xlabel("step")
        ax.set_ylabel(self.metric or "value")
        ax.set_title(f"{self.name or 'study'}: learning curves ({self.direction.value})")
        ax.legend(loc="best", fontsize="small")
        return fig if own else None

    def __repr__(self) -> str:
        text = (
            f"TuningResult(name={self.name!r}, status={self.status!r}, trials={len(self.trials)}, "
            f"best_value={self.best_value!r}, best_config={self.best_config!r})"
        )
        warm = self.warm_start
        return text if warm is None else f"{text}\n{warm.headline()}"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(repr(v))}</td></tr>"
            for k, v in (self.best_config or {}).items()
        )
        return (
            f"<b>{html.escape(self.name or 'study')}</b>: {html.escape(self.status)}, "
            f"{self.n_complete} complete / {self.n_failed} failed"
            f"{f' / {self.n_pruned} pruned' if self.n_pruned else ''} trials, best {self.direction.value[:3]} "
            f"value <b>{self.best_value!r}</b><table>{rows}</table>"
            f"{self.warm_start._repr_html_() if self.warm_start is not None else ''}"
        )
