"""Plain-text progress: the same events the notebook widget shows, printed as lines."""

from __future__ import annotations

import sys
from typing import TextIO

from .study import StudySnapshot
from .trial import TrialState
from .warm_report import WarmStartSummary

__all__ = ["TextProgress"]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


class TextProgress:
    """A study callback that prints one line per finished trial and a summary at the end."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, snap: StudySnapshot) -> None:
        if snap.event == "start":
            budget = f"{snap.n_trials} trials" if snap.n_trials else f"{snap.timeout:g} s"
            self._print(f"Tuning {snap.name or 'study'}: {len(snap.space)} parameters, {snap.direction.value}, budget {budget}")
            warm = WarmStartSummary.from_info(snap.info)
            if warm is not None:
                self._print(warm.headline())
        elif snap.event == "trial_end" and snap.current is not None:
            t = snap.current
            total = f"/{snap.n_trials}" if snap.n_trials else ""
            outcome = _fmt(t.value) if t.state is TrialState.COMPLETE else f"failed: {_last_line(t.error)}"
            best = snap.best_trial.value if snap.best_trial else None
            self._print(
                f"[{t.number + 1:>3}{total}] {outcome:<14} best {_fmt(best):<10} "
                f"{t.origin.source:<10} {t.duration or 0:5.1f}s"
            )
        elif snap.event == "end":
            best = snap.best_trial
            self._print(f"Done ({snap.status}) after {snap.elapsed:.1f}s: best value {_fmt(best.value if best else None)}")
            if best is not None:
                self._print(f"Best configuration: {dict(best.config)}")

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


def _last_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[-1][:60] if text else ""
