"""The warm-start stage: a meta-learning strategy's proposals, served as a sampler.

:class:`WarmStartSampler` asks its strategy once (on the first ``suggest``) for up to
``k`` configurations, then hands them out in order, skipping any the study has
already tried or is running (so a resumed study does not repeat them). It returns
fewer than ``n`` suggestions when it runs short and none once it is done, which is
what :class:`~jupyter_metahpo.samplers.DefaultSampler` expects of its ``warm_start``
stage. Every suggestion's origin is ``Origin("warm-start", reason, details)`` with
the strategy, source task(s) and study ids, similarity and predicted value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._imports import LazyImport
from ..experience import PastStudy
from ..meta.compat import TransferReport, TransferredStudy, transfer_studies
from ..meta.strategies import Proposal, TaskDescription, WarmStartStrategy, make_strategy
from ..space import SearchSpace
from ..trial import Origin
from .base import History, Sampler, Suggestion

qmc = LazyImport("scipy.stats.qmc", install="pip install scipy")

__all__ = ["WarmStartSampler", "fill_unseen"]


class WarmStartSampler(Sampler):
    """Serve a warm-start strategy's proposals as the first trials of a study.

    Parameters
    ----------
    strategy:
        A :class:`~jupyter_metahpo.meta.strategies.WarmStartStrategy` or its name
        (``"default"``, ``"nearest"``, ``"neural"``, ``"portfolio"``).
    past:
        The past studies the strategy may learn from, as stored or already carried
        into the study's space (:class:`~jupyter_metahpo.meta.compat.TransferredStudy`).
    task:
        The new task's description (name, meta-features).
    k:
        How many warm-start configurations at most.
    report:
        What the compatibility pass did with ``past`` (when the caller ran it, as the
        study pipeline does); shown in each suggestion's details.
    """

    name = "warm-start"

    def __init__(
        self,
        strategy: str | WarmStartStrategy,
        past: Sequence[PastStudy | TransferredStudy],
        task: TaskDescription | None = None,
        k: int = 5,
        seed: int | None = None,
        report: TransferReport | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"`k` must be a non-negative integer, but got k={k!r}.")
        self.strategy = make_strategy(strategy, seed=seed)
        self.seed = seed
        self.past = list(past)
        self.task = task or TaskDescription()
        self.k = k
        self.proposals_: list[Proposal] | None = None
        self.report_: TransferReport | None = report
        self.defaults = dict(defaults or {})

    def plan(self, space) -> list[Proposal]:
        """The strategy's proposals for ``space`` (computed once, then reused).

        A parameter that a proposal's past study never saw holds a placeholder there.
        A choice under which the objective uses the parameters the study informs takes
        that value (``classifier="SVC"`` for an SVM study informing ``svc_c``:
        :attr:`.TransferredStudy.branch`); another parameter takes its estimator's default
        when ``defaults`` has one (the value the past ran it at), and otherwise the value
        of the space's own scrambled Sobol design (the i-th point for the i-th proposal),
        never a made-up one; the reason says so.
        """
        if self.proposals_ is None:
            carried, report = transfer_studies(self.past, space)
            self.report_ = self.report_ or report  # the study pipeline's report, when it handed one over
            proposals = self.strategy.propose(self.task, space, carried, self.k) if self.k else []
            self.proposals_ = fill_unseen(proposals, carried, space, self.seed, self.defaults)
        return self.proposals_

    def suggest(self, history: History, n: int = 1) -> list[Suggestion]:
        plan = self.plan(history.space)
        seen = [dict(c) for c in history.seen_configs()]
        out: list[Suggestion] = []
        for proposal in plan:
            if len(out) >= n:
                break
            config = dict(proposal.config)
            if any(_same(config, other) for other in seen):
                continue
            seen.append(config)
            out.append(Suggestion(config, Origin(self.name, proposal.reason, _details(proposal, self.report_))))
        return out

    def __repr__(self) -> str:
        return f"WarmStartSampler(strategy={self.strategy!r}, past={len(self.past)} studies, k={self.k})"


def fill_unseen(
    proposals: Sequence[Proposal], carried: Sequence[TransferredStudy], space: SearchSpace, seed: int | None,
    defaults: Mapping[str, Any] | None = None,
) -> list[Proposal]:
    """Each proposal with the parameters its past studies never saw set to the branch that uses what they
    informed, the optimiser and activation they ran, their defaults or the Sobol design."""
    unseen = {t.study.study_id: t.filled for t in carried}
    if not any(unseen.values()):
        return list(proposals)
    branches = {t.study.study_id: t.branch for t in carried}
    ran_as = {t.study.study_id: t.ran_as for t in carried}
    unused_by = {t.study.study_id: set(t.unused) for t in carried}
    defaults = defaults or {}
    power = max(int(np.ceil(np.log2(max(len(proposals), 1)))), 0)  # Sobol points come in powers of 2
    design = space.decode(qmc.Sobol(d=len(space), scramble=True, seed=seed).random_base2(power)[: len(proposals)])
    out = []
    for i, proposal in enumerate(proposals):
        ids = _source_ids(proposal)
        filled = _unseen_by(ids, proposal.config, unseen)
        if not filled:
            out.append(proposal)
            continue
        branch = {name: value for name, value in _agreed(ids, branches).items() if name in filled}
        ran = {name: found for name, found in _agreed(ids, ran_as).items() if name in filled and name not in branch}
        # Left unused by that branch: any valid value will do (the space's design), and it is not "as they ran".
        unused = [name for name in filled
                  if name not in branch and name not in ran and ids and all(name in unused_by.get(j, ()) for j in ids)]
        rest = [name for name in filled if name not in branch and name not in ran and name not in unused]
        at_default = [name for name in rest if name in defaults]
        from_design = [name for name in rest if name not in defaults]
        config = {
            name: branch[name] if name in branch else ran[name].option if name in ran
            else defaults[name] if name in at_default
            else design[i][name] if name in from_design or name in unused else value
            for name, value in proposal.config.items()
        }
        reason = proposal.reason
        if branch:
            shown = ", ".join(f"{name}={value!r}" for name, value in branch.items())
            reason += f"; {shown}: the branch of your objective that uses what the past study informs"
        for name, found in ran.items():
            reason += f"; {found.describe(name)}"
        if unused:
            reason += f"; {', '.join(unused)} not used in that branch (from the space's design)"
        if at_default:
            shown = ", ".join(f"{name}={defaults[name]!r}" for name in at_default)
            reason += f"; {shown}: the estimator's default, as the past study ran it"
        if from_design:
            reason += f"; {', '.join(from_design)} from the space's Sobol design (not in the past study)"
        out.append(Proposal(config, reason, {**proposal.details, "filled": list(filled)}))
    return out


def _source_ids(proposal: Proposal) -> list[str]:
    """The past studies behind a proposal: one, several, or none for a prediction from every study."""
    sources = proposal.details.get("source_study")
    return [i for i in (sources if isinstance(sources, (list, tuple)) else [sources]) if i is not None]


def _agreed(ids: Sequence[str], values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The choices every one of the past studies ``ids`` sets to one value (a branch, an optimiser), and that
    value (none for no study)."""
    if not ids:
        return {}
    found = [values.get(i, {}) for i in ids]
    return {name: value for name, value in found[0].items() if all(name in f and f[name] == value for f in found)}


def _unseen_by(ids: Sequence[str], config: Mapping[str, Any], unseen: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The parameters of ``config`` none of the past studies ``ids`` saw (one source, or, with no ids, every
    source of a prediction)."""
    found = [set(unseen.get(i, ())) for i in ids]
    if not found:  # a prediction from every study (the neural model): what any of them lacked
        found = [set(names) for names in unseen.values()]
    names = set.union(*found) if found else set()
    return [name for name in config if name in names]


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_equal(a[key], b[key]) for key in a)


def _equal(x: Any, y: Any) -> bool:
    if isinstance(x, float) or isinstance(y, float):
        try:
            return abs(float(x) - float(y)) <= 1e-12 * max(1.0, abs(float(x)))
        except (TypeError, ValueError):
            return False
    return type(x) is type(y) and x == y


def _details(proposal: Proposal, report: TransferReport | None) -> dict[str, Any]:
    details = dict(proposal.details)
    if report is not None and (report.dropped_trials or report.clipped_trials or report.incompatible):
        details["transfer_report"] = report.summary()
    return details
