"""The ``%%metatune`` cell that resumes a stored study, as text for the notebook.

The magic resumes a study by name (``--name NAME``: the latest study of that name over
the same space and direction continues, see ``ExperienceStore.open_study``). The store
keeps the space, the direction, the metric and the objective's name, but not the
objective's code; so the cell holds the exact space, and a function of that name whose
body says to paste the objective back. (The lab extension first looks for the study's
own cell in the open notebook and copies that one when it finds it.)
"""

from __future__ import annotations

import keyword
import shlex
from typing import Any

from ..store import StudyRecord

__all__ = ["resume_cell", "magic_line"]


def _identifier(name: Any) -> bool:
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def magic_line(study: StudyRecord) -> str:
    """``%%metatune --name NAME --resume [--maximize] [--metric M]`` for a named study."""
    if not study.name:
        raise ValueError(f"the study {study.id} has no name; only a named study can be resumed (--name).")
    words = ["%%metatune", "--name", shlex.quote(study.name), "--resume"]
    if study.direction.value == "maximize":
        words.append("--maximize")
    if study.metric:
        words += ["--metric", shlex.quote(study.metric)]
    return " ".join(words)


def resume_cell(study: StudyRecord) -> str | None:
    """The cell's text, or ``None`` for an unnamed study (it cannot be resumed by name)."""
    if not study.name:
        return None
    space = study.space
    entries = ",\n".join(f"    {name!r}: {parameter!r}" for name, parameter in space.items())
    function = study.objective if _identifier(study.objective) else "objective"
    names = list(space.names)
    arguments = ", ".join(names) if all(_identifier(n) for n in names) else "**config"
    return (
        f"{magic_line(study)}\n"
        f"# Resumes the stored study {study.name!r} (id {study.id}): same name, space and direction.\n"
        f"# The store keeps no code: put the objective's body back in {function}().\n"
        f"space = {{\n{entries},\n}}\n"
        f"def {function}({arguments}):\n"
        f"    raise NotImplementedError({('paste the objective of the study ' + repr(study.name) + ' here')!r})\n"
    )
