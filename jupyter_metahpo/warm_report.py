"""What the warm start used, in words: which past studies, on which parameters, and why; or why none.

The study pipeline leaves a plain dict in the study's context (``info["warm_start"]``,
see :meth:`jupyter_metahpo.pipeline.Experience.summary`); :class:`WarmStartSummary`
reads it for people. The text progress, the live widget, ``TuningResult.warm_start``
and the race all show the same sentences.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import median
from typing import Any

__all__ = ["WarmStartSummary"]

#: Sources listed one by one; the rest are counted.
_LISTED = 3
#: A fixed value is flagged when it costs a past study at least this share of its score range (by its model) ...
COSTLY_SHARE = 0.10
#: ... in at least this share (and two) of the sources that speak for the new task (the nearest by meta-features).
COSTLY_STUDIES = 0.5


@dataclass(frozen=True)
class WarmStartSummary:
    """The warm start of one study: its sources grouped as a person knows them, or the cold-start reason.

    ``groups`` holds one entry per built-in space of the prior (its datasets together)
    and one per study of the store; each says how many studies, which parameters they
    share with the new space (and how), which parameters they never saw, and the
    evidence that they are related.
    """

    n_past: int
    n_sources: int
    n_unrelated: int
    groups: tuple[Mapping[str, Any], ...]
    cold: str | None
    strategy: str | None = None
    #: The reason most of those left out were left out for, and how many (``None`` for an older study's summary).
    unrelated_reason: tuple[str, int] | None = None

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> WarmStartSummary | None:
        """The summary of a study's context (``TuningResult.info``); None when no warm start was tried."""
        data = info.get("warm_start")
        if not isinstance(data, Mapping):
            return None
        return cls(
            n_past=int(data.get("n_past", 0)),
            n_sources=int(data.get("n_sources", 0)),
            n_unrelated=int(data.get("n_unrelated", 0)),
            groups=tuple(_groups(data.get("sources") or {}, data.get("defaults") or {})),
            cold=data.get("cold"),
            strategy=info.get("warm_start_strategy"),
            unrelated_reason=_reason_and_count(data.get("unrelated_reason")),
        )

    @property
    def is_cold(self) -> bool:
        return self.cold is not None

    def headline(self) -> str:
        """One line: what the study starts from."""
        if self.cold is not None:
            return self.cold
        parts = [_describe_group(g) for g in self.groups[:_LISTED]]
        more = len(self.groups) - _LISTED
        if more > 0:
            parts.append(f"and {more} more")
        return f"warm start from {self.n_sources} of {self.n_past} past studies: " + "; ".join(parts)

    def lines(self) -> list[str]:
        """The headline, then one line per group of sources, then what was left out."""
        if self.cold is not None:
            return [self.cold]
        out = [f"warm start from {self.n_sources} of {self.n_past} past studies"]
        out += [f"- {_describe_group(g)}" for g in self.groups]
        if self.n_unrelated:
            out.append(f"- left out: {self._left_out()}")
        out += [f"- note: {note}" for note in self.notes()]
        return out

    def _left_out(self) -> str:
        """The studies that share parameters but were not used, and the reason most of them were left out for."""
        text = f"{self.n_unrelated} that share parameters, without the evidence a transfer needs"
        if self.unrelated_reason is not None:
            reason, count = self.unrelated_reason
            text += f" ({count} of them: {reason})" if count < self.n_unrelated else f" (each: {reason})"
        return text

    def notes(self) -> list[str]:
        """Values the objective fixes that cost the past studies nearest its data a good part of their score.

        A subset cell cannot do better than its fixed values allow; when the related past
        studies of data like the user's (the nearest by meta-features, as the compatibility
        pass marked them) did clearly better with another value, by their models, the user
        should hear it, and can tune the parameter or fix that value.
        """
        costs: dict[str, list[tuple[float, str]]] = {}
        nearest = False
        for group in self.groups:
            nearest = nearest or bool(group.get("costs_by_features"))
            for setting, values in (group.get("costs") or {}).items():
                costs.setdefault(setting, []).extend(values)
        whose = "the {n} related past studies nearest your data (by meta-features)" if nearest else (
            "{n} related past studies that varied it")
        out = []
        for setting, values in costs.items():
            costly = [(cost, best) for cost, best in values if cost >= COSTLY_SHARE]
            if len(costly) < max(2, COSTLY_STUDIES * len(values)):
                continue
            name = setting.split("=", 1)[0]
            bests = [best for _, best in costly]
            usual = max(sorted(set(bests)), key=bests.count)
            typical = median(cost for cost, _ in values)
            out.append(
                f"your fixed {setting} costs {len(costly)} of {whose.format(n=len(values))} "
                f"{COSTLY_SHARE:.0%} or more of their score range, by their models (median {typical:.0%}); their "
                f"best trials ran {name}={usual} ({bests.count(usual)} of {len(costly)}): add {name} to your space, "
                f"or fix that value"
            )
        return out

    def notes_html(self) -> str:
        """:meth:`notes` as HTML, one ``<div>`` each (the result's view and the live widget show them alike)."""
        return "".join(f"<div><b>note</b>: {html.escape(note)}</div>" for note in self.notes())

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        if self.cold is not None:
            return f"<div class='metahpo-warm'><b>cold start</b>: {html.escape(self.cold.removeprefix('cold: '))}</div>"
        items = "".join(f"<li>{html.escape(_describe_group(g))}</li>" for g in self.groups)
        left = (
            f"<div>left out: {html.escape(self._left_out())}</div>"
            if self.n_unrelated else ""
        )
        return (
            f"<div class='metahpo-warm'><b>warm start</b> from {self.n_sources} of {self.n_past} past studies"
            f"<ul>{items}</ul>{left}{self.notes_html()}</div>"
        )


def _reason_and_count(value: Any) -> tuple[str, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return str(value[0]), int(value[1])
    return None


def _groups(sources: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sources grouped: the prior's by built-in space, the store's one by one; biggest first.

    ``defaults`` are the parameters the past never saw that the warm start sets to their
    estimator's default; a source's ``branch`` the choices it sets to the branch of the
    objective that uses what it informs (the others come from the space's own design).
    """
    groups: dict[str, dict[str, Any]] = {}
    for entry in sources.values():
        space_name = entry.get("space_name")
        key = f"prior:{space_name}" if space_name else f"study:{entry.get('label')}"
        branch = {str(name): (value, list(used)) for name, value, used in entry.get("branch") or []}
        unused = [str(name) for name in entry.get("unused_in_branch") or []]
        ran_as = {str(name): (option, str(ran), bool(kin)) for name, option, ran, kin in entry.get("ran_as") or []}
        placed = {*branch, *unused, *ran_as}  # said apart: the branch, what it leaves unused, the class they ran
        group = groups.setdefault(key, {
            "name": f"the built-in {space_name} prior" if space_name else str(entry.get("label")),
            "count": 0,
            "shared": list(entry.get("shared") or []),
            "filled": [name for name in entry.get("filled") or [] if name not in defaults and name not in placed],
            "unused": unused,
            "defaulted": [f"{name}={defaults[name]!r}" for name in entry.get("filled") or []
                          if name in defaults and name not in placed],
            "ran_as": [f"{name}={option!r}, the nearest to the {ran} they ran" if kin
                       else f"{name}={option!r}, the {ran} they ran"
                       for name, (option, ran, kin) in ran_as.items()],
            "branched": [f"{name}={value!r} (where your {', '.join(used)} {'is' if len(used) == 1 else 'are'} used)"
                         for name, (value, used) in branch.items()],
            "evidence": [],
            "predicted_at": [],
            "costs": {},
        })
        group["count"] += 1
        if entry.get("fixed_costs"):
            group["costs_by_features"] = entry.get("costs_by") == "meta-features"
            for item in entry["fixed_costs"]:
                group["costs"].setdefault(item["setting"], []).append((float(item["cost"]), str(item["best"])))
        if entry.get("predicted_at") and entry["predicted_at"] not in group["predicted_at"]:
            group["predicted_at"].append(entry["predicted_at"])
        for item in entry.get("evidence") or []:
            if item.get("detail") not in group["evidence"]:
                group["evidence"].append(item.get("detail"))
    return sorted(groups.values(), key=lambda g: -g["count"])


def _describe_group(group: Mapping[str, Any]) -> str:
    count = group["count"]
    who = f"{group['name']} ({count} datasets)" if count > 1 else str(group["name"])
    text = f"{who}, on {', '.join(group['shared'])}"
    if group.get("branched"):
        # The objective reads what they inform only in one branch of a choice: their configurations run there.
        text += f"; their configurations in your {', '.join(group['branched'])}"
    if group.get("unused"):
        text += f"; your {', '.join(group['unused'])} not used there"
    if group.get("ran_as"):
        # They never varied it, and the optimiser or activation they ran (or its nearest kin) is one of your options.
        text += f"; their configurations at your {'; '.join(group['ran_as'])}"
    if group.get("defaulted"):
        # The past never varied these: its configurations carry over at the value it ran, the estimator's default.
        text += f"; their configurations at your {', '.join(group['defaulted'])} (the estimator's default, as they ran)"
    if group["filled"]:
        text += f"; your {', '.join(group['filled'])} from the space's own design (not in their space)"
    if group.get("predicted_at"):
        text += (f"; their scores predicted at your {' / '.join(group['predicted_at'])} (fixed in your objective "
                 "or its estimator's default; they varied it)")
    if group["evidence"]:
        text += f"; why: {', '.join(group['evidence'])}"
    return text
