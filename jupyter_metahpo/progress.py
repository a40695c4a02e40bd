"""Plain-text progress: the same events the notebook widget shows, printed as lines."""

from __future__ import annotations

import sys
from typing import TextIO

from .study import StudySnapshot, last_error_line
from .trial import FrozenTrial, TrialState
from .warm_report import WarmStartSummary

__all__ = ["TextProgress"]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


class TextProgress:
    """A study callback that prints one line per finished trial and a summary at the end.

    Trials count from 1, as in every display. A trial whose objective printed or warned
    shows how much (the text itself is kept on the trial: ``trial.output``,
    ``trial.warnings``); when trials failed, the summary ends with the latest error.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, snap: StudySnapshot) -> None:
        if snap.event == "start":
            budget = f"{snap.n_trials} trials" if snap.n_trials else f"{snap.timeout:g} s"
            self._print(f"Tuning {snap.name or 'study'}: {len(snap.space)} parameters, {snap.direction.value}, budget {budget}")
            warm = WarmStartSummary.from_info(snap.info)
            if warm is not None:
                self._print(warm.headline())
                for note in warm.notes():
                    self._print(f"note: {note}")
            spent = snap.budget_already_spent()
            if spent is not None:
                self._print(spent)
        elif snap.event == "trial_end" and snap.current is not None:
            t = snap.current
            total = f"/{snap.n_trials}" if snap.n_trials else ""
            best = snap.best_trial.value if snap.best_trial else None
            self._print(
                f"[{t.number + 1:>3}{total}] {_outcome(t):<14} best {_fmt(best):<10} "
                f"{t.origin.source:<10} {t.duration or 0:5.1f}s{_noise(t)}{_pruned(t)}"
            )
        elif snap.event == "end":
            best = snap.best_trial
            self._print(f"Done ({snap.status}) after {snap.elapsed:.1f}s: best value {_fmt(best.value if best else None)}")
            if best is not None:
                self._print(f"Best configuration: {dict(best.config)}")
            n_pruned = sum(t.state is TrialState.PRUNED for t in snap.trials)
            if n_pruned:
                self._print(f"{n_pruned} of {len(snap.trials)} trials were pruned{_steps_saved(snap.trials)}")
            failed = snap.latest_failure
            if failed is not None:
                n_failed = sum(t.state is TrialState.FAILED for t in snap.trials)
                self._print(
                    f"{n_failed} of {len(snap.trials)} trials failed; the latest (trial {failed.number + 1}): "
                    f"{last_error_line(failed.error)}"
                )

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


def _outcome(trial: FrozenTrial) -> str:
    if trial.state is TrialState.COMPLETE:
        return _fmt(trial.value)
    if trial.state is TrialState.PRUNED:
        return f"pruned @{trial.last_step}" if trial.last_step is not None else "pruned"
    return f"failed: {_last_line(trial.error)}"


def _pruned(trial: FrozenTrial) -> str:
    """Why a pruned trial was stopped, e.g. `` · predicted final 0.81 ± 0.02 < best 0.93, from 14 past curves``."""
    return f" · {trial.prune_reason}" if trial.state is TrialState.PRUNED and trial.prune_reason else ""


def _steps_saved(trials) -> str:
    """How many steps the trials ran, against the longest curve times the number of trials."""
    lengths = [len(t.intermediate_values) for t in trials if t.intermediate_values]
    longest = max((len(t.intermediate_values) for t in trials if t.state is TrialState.COMPLETE), default=0)
    if not lengths or not longest:
        return ""
    return f" ({sum(lengths)} steps run, where {longest * len(lengths)} would run every trial to {longest} steps)"


def _last_line(text: str | None) -> str:
    return last_error_line(text)[:60]


def _noise(trial: FrozenTrial) -> str:
    """How much the objective warned and printed in this trial, e.g. `` · 2 warnings, 14 lines printed``."""
    parts = []
    if trial.warnings:
        parts.append(f"{len(trial.warnings)} warning{'s' * (len(trial.warnings) != 1)}")
    if trial.output:
        lines = trial.output.count("\n") or 1
        parts.append(f"{lines} line{'s' * (lines != 1)} printed")
    return f" · {', '.join(parts)}" if parts else ""
