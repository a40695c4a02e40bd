"""Code defined as IPython defines a cell's, so that ``inspect`` (and the source reader) can read it."""

from __future__ import annotations

import linecache
from typing import Any


def run_cell(text: str, filename: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run ``text`` in ``namespace``, compiled under ``filename`` with its lines in ``linecache``; the namespace."""
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - test code
    return namespace
