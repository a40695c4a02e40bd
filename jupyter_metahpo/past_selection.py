"""Which stored studies a warm start reads: the most relevant ones, chosen from the summaries alone.

Every study makes the store larger. Reading every trial of every stored study before
the first trial made a study's start grow with the store (tens of seconds and
gigabytes at a million trials), although the compatibility pass
(:func:`jupyter_metahpo.meta.carry.carry_over`) uses few of them and the transfer
refinement models at most 16. So the pipeline ranks the stored studies by what the
store's summaries already hold of each (``ExperienceStore.summaries()``: its
parameters' names and kinds, its task, meta-features and objective source
fingerprint, kept once per study: ``store/summaries.py``), and reads the trials of the
:data:`STORE_STUDY_LIMIT` most relevant only.

While the store holds at most that many candidates (studies with a complete trial,
other than the running one), every one is read, exactly as before: the limit changes
nothing until a store is larger than that.

The ranking only orders; the compatibility pass still decides, with the full
evidence, which of the chosen studies inform the new one. A past parameter counts as shared
by its name, its canonical name or the role its objective gave it (``SVC(C=reg)``: ``C``),
as matching links them. It puts first what would certainly qualify (:func:`_relevance`):

0. the same task (name or data fingerprint), or the same or similar objective code
   (the fingerprint, or a short sketch of the code's 3-grams);
1. studies that share enough parameters and have the evidence their match needs: the
   same estimator family, or every new parameter under its own name with data
   described alike or an unknown objective on one side;
2. studies sharing enough parameters with weaker evidence, then 3. with none, then
   4. studies sharing too few parameters to be carried over (kept for the cold start's
   explanation). Studies that share no parameter at all are never read.

Inside a tier: meta-features nearest the new task's first, then code similarity, more
shared parameters, more complete trials, and the most recent study.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .meta.compat import MIN_SHARED
from .meta.matching import canonical_name
from .meta.relatedness import SIMILAR_OBJECTIVE, StudyContext
from .meta.source import SOURCE_FORMAT
from .space import SearchSpace
from .store.records import StudySummary
from .store.summaries import SKETCH_SIZE

__all__ = ["STORE_STUDY_LIMIT", "StoreSelection", "select_store_studies"]

#: The most stored studies a warm start reads. The transfer refinement models at most 16
#: past studies and the portfolio spreads over 300 (with the bundled prior's); 100 keeps
#: the choice wide while bounding the start's time and memory.
STORE_STUDY_LIMIT = 100
#: Characters per shingle hash in a sketch (``source.py`` writes 8 hex digits).
_HASH_WIDTH = 8


@dataclass(frozen=True)
class StoreSelection:
    """The stored studies chosen for a warm start, oldest first, and how many were not read."""

    chosen: tuple[StudySummary, ...]
    n_candidates: int
    n_unread: int


@dataclass(frozen=True, order=True)
class _Relevance:
    """How relevant a stored study looks from its summary; smaller sorts first.

    ``tier`` (see the module docstring), then the negated meta-feature similarity, code
    similarity, shared parameters, complete trials and start time.
    """

    tier: int
    rank: tuple[float, ...]


class _NewStudy:
    """What the ranking needs of the new study, computed once for all candidates."""

    def __init__(self, space: SearchSpace, context: StudyContext) -> None:
        self.context = context
        self.names = tuple(space.names)
        self.kinds = {name: space[name].kind for name in self.names}
        roles = context.roles(space)
        # Each new parameter matches a past one by its name, its canonical name, or its role's (matching.py).
        self.keys = {
            name: {name, canonical_name(name)} | ({roles[name], canonical_name(roles[name])} if name in roles else set())
            for name in self.names
        }
        self.min_shared = min(MIN_SHARED, len(self.names))
        source = context.source
        self.fingerprint = source.fingerprint if source is not None else None
        self.families = frozenset(source.families) if source is not None else frozenset()
        self.sketch = tuple(sorted(source.shingles)[:SKETCH_SIZE]) if source is not None else ()
        self.exact_sketch = source is not None and len(source.shingles) <= SKETCH_SIZE
        self._shared_memo: dict[tuple[tuple[tuple[str, str], ...], tuple[str, ...]], tuple[int, bool]] = {}
        self._code_memo: dict[str, float] = {}

    def shared(self, parameters: tuple[tuple[str, str], ...], roles: tuple[str, ...] = ()) -> tuple[int, bool]:
        """How many new parameters a past space can inform (by name, or by what ``roles`` its objective's
        parameters set: a renamed ``SVC(C=reg)``), and whether all under their own name and kind."""
        key = (parameters, roles)
        found = self._shared_memo.get(key)
        if found is None:
            past_kinds = dict(parameters)
            past_keys = set(past_kinds) | {canonical_name(name) for name in past_kinds} | set(roles)
            linked = sum(1 for name in self.names if self.keys[name] & past_keys)
            complete = all(past_kinds.get(name) == kind for name, kind in self.kinds.items())
            found = self._shared_memo[key] = (linked, complete)
        return found

    def code_similarity(self, facts: Mapping[str, Any] | None) -> float:
        """The new objective's code similarity to a past study's, estimated from the sketches."""
        if facts is None or self.fingerprint is None or facts.get("format") != SOURCE_FORMAT:
            return 0.0
        if facts.get("fingerprint") == self.fingerprint:
            return 1.0
        text = str(facts.get("sketch") or "")
        found = self._code_memo.get(text)  # most stored studies share a few objectives
        if found is None:
            found = self._code_memo[text] = self._sketch_similarity(text)
        return found

    def _sketch_similarity(self, text: str) -> float:
        theirs = {text[i:i + _HASH_WIDTH] for i in range(0, len(text), _HASH_WIDTH)}
        ours = set(self.sketch)
        if not theirs or not ours:
            return 0.0
        if self.exact_sketch and len(theirs) < SKETCH_SIZE:
            return len(ours & theirs) / len(ours | theirs)  # both sketches are the whole 3-gram sets
        # Bottom-k estimate, as source.source_similarity does with the full sketches.
        sample = sorted(ours | theirs)[:SKETCH_SIZE]
        return sum(1 for h in sample if h in ours and h in theirs) / len(sample)


def _relevance(summary: StudySummary, new: _NewStudy, feature_similarity: float = 0.0) -> _Relevance | None:
    """How relevant ``summary``'s study looks to the new one; ``None`` when it shares no parameter."""
    source = summary.source_facts
    linked, complete = new.shared(summary.parameters, tuple(source.get("roles") or ()) if source is not None else ())
    if linked == 0:
        return None
    context = new.context
    task = summary.task
    code = new.code_similarity(source)
    same_data = task is not None and context.task.data_fingerprint is not None and (
        task.data_fingerprint == context.task.data_fingerprint
    )
    same_task = same_data or (context.task.name is not None and summary.task_name == context.task.name)
    families = frozenset(source["families"]) if source is not None else frozenset()
    same_family = bool(new.families & families)
    other_family = bool(new.families) and bool(families) and not same_family
    data_alike = (
        context.task.has_meta_features and task is not None and task.meta_features is not None
        and task.meta_feature_set == context.task.meta_feature_set and not other_family
    )
    unknown_code = context.source is None or source is None
    if same_task or code >= SIMILAR_OBJECTIVE:
        tier = 0
    elif linked < new.min_shared and not same_family:  # one shared parameter is enough of the same family's
        tier = 4
    elif same_family or (complete and (data_alike or (unknown_code and linked >= 2))):
        tier = 1
    elif data_alike or (complete and linked >= 2):
        tier = 2
    else:
        tier = 3
    rank = (-feature_similarity, -code, -float(linked), -float(summary.n_complete), -float(summary.started_at))
    return _Relevance(tier, rank)


def _feature_similarities(summaries: Sequence[StudySummary], context: StudyContext) -> list[float]:
    """Each past task's meta-feature similarity to the new task, ``exp(-rms distance)`` of z-scored features.

    As the nearest-task strategy measures it (``meta/similarity.py``), over the new
    task's features; 0 for a study whose task has no meta-features of the same set.
    """
    task = context.task
    if not task.has_meta_features:
        return [0.0] * len(summaries)
    names = sorted(task.meta_features)
    every = operator.itemgetter(*names)
    rows, where = [], []
    by_task: dict[str, list[float]] = {}  # studies of one task share its row
    for i, summary in enumerate(summaries):
        theirs = summary.task
        if theirs is None or theirs.meta_features is None or theirs.meta_feature_set != task.meta_feature_set:
            continue
        row = by_task.get(theirs.id)
        if row is None:
            features = theirs.meta_features
            try:
                values = every(features)  # in C, when the task has every feature of the new one
                row = list(values) if len(names) > 1 else [values]
            except KeyError:
                row = [features.get(name, math.nan) for name in names]
            by_task[theirs.id] = row
        rows.append(row)
        where.append(i)
    out = [0.0] * len(summaries)
    if not rows:
        return out
    table = np.asarray(rows + [[float(task.meta_features[name]) for name in names]], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.nanmean(table, axis=0)
        scale = np.nanstd(table, axis=0)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        z = (table - centre) / scale
        squared = (z[:-1] - z[-1]) ** 2
        counts = np.sum(np.isfinite(squared), axis=1)
        rms = np.sqrt(np.nansum(squared, axis=1) / np.maximum(counts, 1))
    for i, distance, count in zip(where, rms, counts):
        out[i] = float(np.exp(-distance)) if count else 0.0
    return out


def select_store_studies(
    summaries: Iterable[StudySummary],
    space: SearchSpace,
    context: StudyContext,
    *,
    exclude: Sequence[str] = (),
    limit: int | None = STORE_STUDY_LIMIT,
) -> StoreSelection:
    """The stored studies a warm start reads: every candidate while there are at most ``limit``,
    else the ``limit`` most relevant (see the module docstring), in the store's order (oldest first).

    Candidates are the studies with a complete trial, other than those in ``exclude``
    (the running study). ``limit=None`` reads every candidate.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"the store study limit must be a positive integer or None, but got {limit!r}.")
    excluded = set(exclude)
    candidates = [s for s in summaries if s.study_id not in excluded and s.n_complete >= 1]
    if limit is None or len(candidates) <= limit:
        return StoreSelection(tuple(candidates), len(candidates), 0)
    new = _NewStudy(space, context)
    similarities = _feature_similarities(candidates, context)
    ranked = []
    for order, (summary, similarity) in enumerate(zip(candidates, similarities)):
        found = _relevance(summary, new, similarity)
        if found is not None:
            ranked.append((found, order))
    keep = sorted(order for _, order in sorted(ranked)[:limit])
    chosen = tuple(candidates[i] for i in keep)
    return StoreSelection(chosen, len(candidates), len(candidates) - len(chosen))

