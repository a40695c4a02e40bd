"""What an objective reports while it runs: the ``trial`` handle, and pruned trials.

An objective with a parameter named ``trial`` receives a :class:`Trial` (Optuna's
names): ``trial.report(value, step)`` records a point of its learning curve,
``trial.should_prune()`` asks the study's pruner whether to stop, and
``raise TrialPruned()`` stops it. The study keeps the curve on the running
:class:`~jupyter_metahpo.trial.FrozenTrial` (``intermediate_values``), so observers see
it grow, and ends a pruned trial with its last reported value (:func:`pruned_trial`).

How pruned trials count for the sampler (:func:`observations_for_sampler`): at their
last reported value, kept within the range of the complete trials' values. Optuna's
TPE ranks pruned trials behind the complete ones by step and value, while its GP
sampler leaves them out. Here they stay in: a GP that never saw a pruned trial would
propose its neighbourhood again, spending the epochs the pruner just saved. Kept
within the complete trials' range, a trial pruned after one epoch (whose value is
far below any finished one) does not stretch the GP's scale as an outlier would;
it counts like the worst complete trial, as a failed trial does.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from .suggest_calls import KERAS_TUNER_METHODS, declared_parameter
from .trial import FrozenTrial, TrialPruned, TrialState

__all__ = ["Trial", "TrialPruned", "Reporter", "pruned_trial", "observations_for_sampler", "reported_value", "reported_step"]


class Reporter(Protocol):
    """Where a :class:`Trial` handle sends its reports: the study running the trial."""

    def report(self, trial: int, value: float, step: int) -> FrozenTrial | None: ...

    def should_prune(self, trial: int) -> bool: ...


class Trial:
    """The handle an objective receives when it has a parameter named ``trial`` (or ``hp``, when it makes
    KerasTuner's calls).

    ``params`` is the configuration being tried (``trial.params["lr"]``), ``number``
    the trial's number (from 0, as stored). A handle made outside a study (a trial run
    by hand) keeps its curve itself and never prunes; on a Dask worker its reporter
    sends the curve to the kernel (:mod:`jupyter_metahpo.parallel_reports`).
    """

    def __init__(
        self,
        number: int | None,
        params: Mapping[str, Any],
        reporter: Reporter | None = None,
        on_report: Callable[[FrozenTrial], None] | None = None,
    ) -> None:
        self.number = number
        self.params = dict(params)
        self._reporter = reporter
        self._on_report = on_report
        self._curve: dict[int, float] = {}

    @property
    def intermediate_values(self) -> dict[int, float]:
        """The values reported so far, by step."""
        return dict(self._curve)

    def report(self, value: float, step: int) -> None:
        """Record ``value`` (the metric after ``step``: an epoch, an iteration) on the trial's curve.

        ``step`` is an integer >= 0; a step reported twice keeps its first value (with
        a warning), as in Optuna. A value that is not finite (a diverged loss) is kept
        as NaN: pruners count it as the worst value.
        """
        step = reported_step(step)
        value = reported_value(value)
        if step in self._curve:
            which = "this trial" if self.number is None else f"trial {self.number + 1}"
            warnings.warn(
                f"{which} already reported step {step}; the value {value!r} is ignored "
                "(report each step once).",
                UserWarning,
                stacklevel=2,
            )
            return
        self._curve[step] = value
        if self._reporter is None or self.number is None:
            return
        updated = self._reporter.report(self.number, value, step)
        if updated is not None and self._on_report is not None:
            self._on_report(updated)

    def should_prune(self) -> bool:
        """Whether the study's pruner says to stop now (then ``raise TrialPruned()``); never before a report."""
        if self._reporter is None or self.number is None or not self._curve:
            return False
        return bool(self._reporter.should_prune(self.number))

    # Optuna's suggest methods: the space was read from these calls before the study started
    # (jupyter_metahpo.suggest_calls), so each answers with the configuration being tried.
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float:
        """The value of ``name`` in this trial's configuration (Optuna's ``trial.suggest_float``)."""
        return self._suggested("suggest_float", (name, low, high), {"step": step, "log": log})

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        """The value of ``name`` in this trial's configuration (Optuna's ``trial.suggest_int``)."""
        return self._suggested("suggest_int", (name, low, high), {"step": step, "log": log})

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """The value of ``name`` in this trial's configuration (Optuna's ``trial.suggest_categorical``)."""
        return self._suggested("suggest_categorical", (name, choices), {})

    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        """Optuna's older ``suggest_uniform``: ``suggest_float(name, low, high)``."""
        return self._suggested("suggest_uniform", (name, low, high), {})

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        """Optuna's older ``suggest_loguniform``: ``suggest_float(name, low, high, log=True)``."""
        return self._suggested("suggest_loguniform", (name, low, high), {})

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        """Optuna's older ``suggest_discrete_uniform``: ``suggest_float(name, low, high, step=q)``."""
        return self._suggested("suggest_discrete_uniform", (name, low, high, q), {})

    # KerasTuner's HyperParameters methods, for a ``build_model(hp)`` handed this handle: read the same way.
    def Int(self, name: str, min_value: int, max_value: int, step: int | None = None, sampling: str = "linear",
            default: int | None = None, parent_name: str | None = None, parent_values: Any = None) -> int:  # noqa: N802
        """The value of ``name`` in this trial's configuration (KerasTuner's ``hp.Int``)."""
        return self._suggested("Int", (name, min_value, max_value), {"step": step, "sampling": sampling})

    def Float(self, name: str, min_value: float, max_value: float, step: float | None = None,  # noqa: N802
              sampling: str = "linear", default: float | None = None, parent_name: str | None = None,
              parent_values: Any = None) -> float:
        """The value of ``name`` in this trial's configuration (KerasTuner's ``hp.Float``)."""
        return self._suggested("Float", (name, min_value, max_value), {"step": step, "sampling": sampling})

    def Choice(self, name: str, values: Sequence[Any], ordered: bool | None = None, default: Any = None,  # noqa: N802
               parent_name: str | None = None, parent_values: Any = None) -> Any:
        """The value of ``name`` in this trial's configuration (KerasTuner's ``hp.Choice``)."""
        return self._suggested("Choice", (name, values), {})

    def Boolean(self, name: str, default: bool = False, parent_name: str | None = None,  # noqa: N802
                parent_values: Any = None) -> bool:
        """The value of ``name`` in this trial's configuration (KerasTuner's ``hp.Boolean``)."""
        return self._suggested("Boolean", (name,), {})

    def Fixed(self, name: str, value: Any, parent_name: str | None = None,  # noqa: N802
              parent_values: Any = None) -> Any:
        """``value``: KerasTuner's fixed, untuned hyperparameter (not in the search space)."""
        return value

    def conditional_scope(self, parent_name: str, parent_values: Any) -> contextlib.AbstractContextManager[None]:
        """KerasTuner's scope for parameters active under some of ``parent_name``'s values: here every parameter is
        in the space, and a trial that does not use one leaves it unused, so the scope changes nothing."""
        return contextlib.nullcontext()

    @property
    def values(self) -> dict[str, Any]:
        """The configuration being tried (KerasTuner's ``hp.values``; :attr:`params`)."""
        return dict(self.params)

    def get(self, name: str) -> Any:
        """The configuration's value of ``name`` (KerasTuner's ``hp.get``)."""
        if name not in self.params:
            known = ", ".join(self.params) or "none"
            raise KeyError(f"the study's search space has no parameter {name!r} (its parameters: {known}).")
        return self.params[name]

    def _suggested(self, method: str, args: tuple, kwargs: Mapping[str, Any]) -> Any:
        """The configuration's value for the call's parameter, checked against what the call allows."""
        name, parameter = declared_parameter(method, args, {k: v for k, v in kwargs.items() if v is not None})
        shown = f"{'hp' if method in KERAS_TUNER_METHODS else 'trial'}.{method}({name!r}, ...)"
        if name not in self.params:
            known = ", ".join(self.params) or "none"
            raise ValueError(
                f"{shown}: the study's search space has no parameter {name!r} (its parameters: "
                f"{known}). Add {name!r}: {parameter!r} to the space, or leave the space out of tune() "
                "(and out of the cell) so that it is read from the objective's suggest calls."
            )
        value = self.params[name]
        if not parameter.contains(value):
            raise ValueError(
                f"{shown} allows {parameter!r}, but the study's search space gave "
                f"{name}={value!r}: the space passed to tune() and this call disagree. Make them agree, or "
                "leave the space out so that it is read from the objective's suggest calls."
            )
        return value

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r}, reported={len(self._curve)})"


def reported_step(step: Any) -> int:
    """``step`` as an int >= 0, or a TypeError / ValueError that says what was given."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"`step` must be an integer (the epoch or iteration), but got step={step!r} ({type(step).__name__}).")
    if step < 0:
        raise ValueError(f"`step` must be >= 0, but got step={step!r}.")
    return int(step)


def reported_value(value: Any) -> float:
    """``value`` as a float (numpy scalars and one-element tensors too); NaN when not finite."""
    number = value
    item = getattr(value, "item", None)
    if not isinstance(value, numbers.Real) and callable(item):
        try:
            number = item()
        except (ValueError, RuntimeError, TypeError):
            number = value
    if isinstance(number, bool) or not isinstance(number, numbers.Real):
        raise TypeError(f"trial.report() needs a number, but got {value!r} ({type(value).__name__}).")
    number = float(number)
    return number if math.isfinite(number) else math.nan


def pruned_trial(trial: FrozenTrial, reason: str | None, finished_at: float) -> FrozenTrial:
    """``trial`` ended as pruned: its last reported value (when finite) and its curve kept.

    ``reason`` is the pruner's verdict; without one, the text given to ``TrialPruned``,
    else a plain "pruned by the objective".
    """
    step = trial.last_step
    last = None if step is None else trial.intermediate_values[step]
    where = "" if step is None else f" at step {step}"
    return trial.finish(
        state=TrialState.PRUNED,
        value=last if last is not None and math.isfinite(last) else None,
        prune_reason=trial.prune_reason or reason or f"pruned by the objective{where}",
        finished_at=finished_at,
    )


def observations_for_sampler(trials: Sequence[FrozenTrial]) -> tuple[FrozenTrial, ...]:
    """The finished trials as a sampler should see them: a pruned trial as complete at its last
    value held within the complete trials' range, or as failed when it has no value or no
    trial has completed (see the module's docstring for why)."""
    complete = [t.value for t in trials if t.state is TrialState.COMPLETE]
    low, high = (min(complete), max(complete)) if complete else (None, None)
    seen = []
    for trial in trials:
        if trial.state is not TrialState.PRUNED:
            seen.append(trial)
        elif trial.value is None or low is None:
            seen.append(trial.finish(state=TrialState.FAILED, error=trial.prune_reason))
        else:
            seen.append(trial.finish(state=TrialState.COMPLETE, value=min(max(trial.value, low), high)))
    return tuple(seen)
