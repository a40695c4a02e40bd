"""Where past studies come from: one function that gathers them for a new study.

Sources, in order: the studies given explicitly (``past=``), the user's experience
store, and the bundled prior. Duplicates (same study id) are kept once, first seen
wins. Compatibility with the new space is judged later, by :mod:`.compat`, because
a past space may have more parameters than the new one and still be usable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..experience import PastStudy

__all__ = ["gather_past_studies", "check_past"]


def check_past(past: Iterable[PastStudy] | None) -> list[PastStudy]:
    """``past`` as a list, or a clear error naming the item that is not a PastStudy."""
    if past is None:
        return []
    if isinstance(past, PastStudy):
        return [past]
    out = list(past)
    for i, item in enumerate(out):
        if not isinstance(item, PastStudy):
            raise TypeError(
                f"`past` must be a list of jupyter_metahpo.experience.PastStudy records (as returned by "
                f"ExperienceStore.past_studies() or jupyter_metahpo.prior.load_prior()), but item {i} is "
                f"{type(item).__name__}."
            )
    return out


def gather_past_studies(
    *,
    past: Iterable[PastStudy] | None = None,
    store: Any = None,
    prior: bool = True,
    exclude: Sequence[str] = (),
) -> list[PastStudy]:
    """Every past study a new study may learn from.

    Parameters
    ----------
    past:
        Past studies given explicitly; they come first.
    store:
        The experience store to read: ``None`` for the user's default store, a folder
        path, an :class:`~jupyter_metahpo.store.ExperienceStore`, or ``False`` to skip it.
    prior:
        Whether to add the bundled prior (``jupyter_metahpo.prior.load_prior``).
    exclude:
        Study ids to leave out (the study being run, when it resumes).
    """
    studies = check_past(past)
    if store is not False:
        from ..store import open_store

        experience = open_store(store)
        if experience is not None:
            studies.extend(experience.past_studies(exclude=tuple(exclude)))
    if prior:
        from ..prior.load import load_prior

        studies.extend(load_prior())
    seen: set[str] = set()
    unique = []
    for study in studies:
        if study.study_id in seen or study.study_id in exclude:
            continue
        seen.add(study.study_id)
        unique.append(study)
    return unique
