"""Leave one task out: what a meta-model may see when a task is held out.

A held-out task's *group* is its dataset, widened to everything that is the same
data under another name: the same data fingerprint, or a pair known to be the same
(``KNOWN_DUPLICATES``). Every past study of the group is hidden, whichever search
space or estimator family it used, so no meta-model ever sees the held-out data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from jupyter_metahpo.experience import PastStudy

#: Datasets that are the same data under two names (shared/datasets.md).
KNOWN_DUPLICATES: tuple[frozenset[str], ...] = (frozenset({"keel_titanic", "rd_carData_TitanicSurvival"}),)


def dataset_of(study: PastStudy) -> str:
    """The dataset a prior study was run on (``extra["dataset"]``, else its task name)."""
    return str((study.extra or {}).get("dataset") or study.task_name)


def duplicate_groups(studies: Iterable[PastStudy], known: Sequence[frozenset[str]] = KNOWN_DUPLICATES) -> dict[str, str]:
    """Dataset name -> group name, joining datasets with equal fingerprints and known duplicates.

    A small union-find: the group's name is the alphabetically first dataset in it, so
    the result does not depend on the order of ``studies``.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            low, high = sorted((ra, rb))
            parent[high] = low

    by_fingerprint: dict[str, str] = {}
    for study in studies:
        name = dataset_of(study)
        find(name)
        if study.data_fingerprint:
            first = by_fingerprint.setdefault(study.data_fingerprint, name)
            union(first, name)
    for pair in known:
        present = [name for name in pair if name in parent]
        for other in present[1:]:
            union(present[0], other)
    return {name: find(name) for name in parent}


def meta_train(held_out_group: str, studies: Sequence[PastStudy], groups: Mapping[str, str]) -> list[PastStudy]:
    """Every study whose data is not in the held-out group."""
    return [s for s in studies if groups.get(dataset_of(s), dataset_of(s)) != held_out_group]
