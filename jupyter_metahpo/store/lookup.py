"""Finding stored studies by what a person types: a study's name, its id, or an id prefix.

One rule everywhere (``metahpo show/export/forget``, ``%metatune_compare``): a name
means the studies of that name, the latest run first in line; otherwise the key is an
id, or a prefix of exactly one id (like git). Names win over ids: a name is what a
person chose, an id prefix could match by chance.
"""

from __future__ import annotations

from typing import Any

from .errors import UnknownStudyError
from .records import StudyRecord

__all__ = ["find_study", "find_studies"]


def find_studies(store: Any, key: str) -> tuple[StudyRecord, ...]:
    """Every study ``key`` can mean: all those named ``key`` (oldest first), else the one with that id.

    Raises :class:`UnknownStudyError` (a ``LookupError``) when nothing matches, listing
    some known names, or when an id prefix matches several studies.
    """
    named = store.studies(name=key)
    if named:
        return named
    try:
        return (store.study(key),)
    except UnknownStudyError:
        if key and sum(record.id.startswith(key) for record in store.studies()) > 1:
            raise  # the store's message: the prefix is ambiguous, give more characters
    known = sorted({record.name for record in store.studies() if record.name})
    hint = f" Known names: {', '.join(repr(n) for n in known[:10])}." if known else " The store has no named study yet."
    raise UnknownStudyError(
        f"no study named {key!r} (nor with that id) in the experience store {store.path}.{hint}"
    ) from None


def find_study(store: Any, key: str) -> StudyRecord:
    """The stored study named ``key`` (its latest run), or the one whose id is or starts with ``key``."""
    return find_studies(store, key)[-1]
