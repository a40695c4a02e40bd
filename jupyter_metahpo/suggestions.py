"""``suggest``: the configurations a strategy would try first, with reasons, running nothing.

It prepares the task and the past as ``tune`` does (:mod:`jupyter_metahpo.pipeline`),
then asks the strategy once.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._imports import LazyImport
from .experience import PastStudy
from .meta.compat import TransferReport
from .meta.features import MetaFeatures
from .meta.strategies import Proposal, TaskDescription, WarmStartStrategy, make_strategy
from .pipeline import Experience, check_past, open_store, plan_task
from .result import keep_values_exactly
from .samplers.warm_start import fill_unseen
from .space import SearchSpace
from .meta.declared_space import given_or_declared_space

pd = LazyImport("pandas")

__all__ = ["suggest", "Suggestions"]


@dataclass(frozen=True)
class Suggestions:
    """What :func:`suggest` returns: proposals best first, and how the past was used."""

    proposals: tuple[Proposal, ...]
    strategy: str
    task: TaskDescription
    n_past: int
    report: TransferReport
    meta_features: MetaFeatures | None = None

    @property
    def configs(self) -> list[dict[str, Any]]:
        return [dict(p.config) for p in self.proposals]

    @property
    def reasons(self) -> list[str]:
        return [p.reason for p in self.proposals]

    def __iter__(self) -> Iterator[Proposal]:
        return iter(self.proposals)

    def __len__(self) -> int:
        return len(self.proposals)

    def __getitem__(self, index: int) -> Proposal:
        return self.proposals[index]

    @property
    def dataframe(self):
        """One row per proposal: the parameters, then strategy, source task, similarity, predicted value, reason."""
        rows = []
        for rank, p in enumerate(self.proposals, start=1):
            row: dict[str, Any] = {"rank": rank, **dict(p.config)}
            for key in ("strategy", "source_task", "similarity", "predicted"):
                row[key] = p.details.get(key)
            row["reason"] = p.reason
            rows.append(row)
        with_none = {name for p in self.proposals for name, value in p.config.items() if value is None}
        return keep_values_exactly(pd.DataFrame(rows), rows, sorted(with_none))

    def __repr__(self) -> str:
        lines = [f"Suggestions(strategy={self.strategy!r}, {len(self.proposals)} configs from {self.n_past} past studies)"]
        for rank, p in enumerate(self.proposals, start=1):
            lines.append(f"  {rank}. {dict(p.config)!r}\n     why: {p.reason}")
        if not self.proposals:
            lines.append(f"  nothing to propose: {self.report.summary()}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{rank}</td><td><code>{html.escape(repr(dict(p.config)))}</code></td>"
            f"<td>{html.escape(p.reason)}</td></tr>"
            for rank, p in enumerate(self.proposals, start=1)
        )
        return (
            f"<b>{len(self.proposals)} configs</b> by strategy <code>{html.escape(self.strategy)}</code> from "
            f"{self.n_past} past studies ({html.escape(self.report.summary())})"
            f"<table><tr><th>#</th><th>config</th><th>why</th></tr>{rows}</table>"
        )


def suggest(
    space: SearchSpace | Mapping[str, Any] | None = None,
    data: Any = None,
    k: int = 5,
    *,
    strategy: str | WarmStartStrategy = "default",
    store: Any = None,
    past: Iterable[PastStudy] | None = None,
    prior: bool = True,
    name: str | None = None,
    seed: int = 0,
    objective: Any = None,
) -> Suggestions:
    """The ``k`` configurations ``strategy`` would try first on this task, each with its reason.

    Nothing is evaluated and nothing is written. ``data=(X, y)`` describes the task by
    its meta-features; without it the task is described by ``name`` and the space
    alone. Past studies come from ``past``, the experience store (``store=False``
    skips it) and the bundled prior (``prior=False`` skips it); as in ``tune``, only
    related ones are used (``objective=``, the training function, is read for evidence:
    the estimator it builds, similar code in past studies). Without ``space``, the space is
    read from an Optuna-style ``objective``'s ``trial.suggest_*`` calls.

    >>> suggest(space, data=(X, y), k=3)          # doctest: +SKIP
    Suggestions(strategy='default', 3 configs from 42 past studies)
      1. {'learning_rate': 0.05, ...}
         why: best config of 'credit', the #1 most similar past task by meta-features ...
    """
    space = given_or_declared_space(space, objective, "suggest")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"`k` must be a positive integer, but got k={k!r}.")
    chosen = make_strategy(strategy, seed=seed)
    plan = plan_task(name, None, data, chosen, objective, space)
    past = check_past(past)
    context = plan.study_context(past)
    experience = Experience.gather(space, past, open_store(store), context=context, prior=prior)
    # What tune() would try: a parameter the past never saw set as the warm start sets it, not the placeholder.
    proposals = fill_unseen(chosen.propose(plan.description, space, experience.usable, k), experience.usable, space,
                            seed, experience.defaults)
    return Suggestions(
        tuple(proposals), chosen.name, plan.description, experience.n_past, experience.report, plan.features
    )
