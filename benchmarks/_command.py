"""The command that reproduces a benchmark's results, for the header of its output files."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path


def command_line(script: str, argv: Sequence[str] | None = None) -> str:
    """``python benchmarks/<script> <arguments>``, quoted to paste into a shell (method names hold spaces).

    ``argv`` defaults to this process's own arguments.
    """
    arguments = shlex.join(sys.argv[1:] if argv is None else argv)
    return f"python benchmarks/{Path(script).name} {arguments}".rstrip()
