"""The index file's text: one document per line, so that a rewrite re-encodes only what changed.

The index's snapshot (``index.json``) is a TinyDB document, rewritten whole and atomically
when its journal is compacted (journal.py), an import commits or damage is repaired.
Encoding thousands of studies again for each rewrite cost a visible share of it in a
large store. The store writes the file with one document per line::

    {
    "_meta": {
    "1": {"schema_version": 1}
    },
    "studies": {
    "1": {"id": "...", ...},
    "2": {"id": "...", ...}
    }
    }

which is still plain JSON (TinyDB, ``json.load`` and older versions read it as before),
and keeps each document's text beside the parsed index (:class:`IndexText`). A rewrite
then encodes only the documents that differ from those texts and joins the rest. A file
in any other layout (written by an older version or by hand) is read as JSON as always;
its first rewrite encodes everything and puts it in this layout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["IndexText", "encode_index", "read_line_texts"]

#: ``"key": ``, a JSON string and the separator that opens a table or a document line.
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)": ')

#: ``{table: {key: (document, its line)}}``: what the last read or write of the file held; a
#: line is ``"key": {document}`` without the separating comma.
IndexText = dict[str, dict[str, tuple[Any, str]]]


def _quoted(key: str) -> str:
    return f'"{key}"' if key.isalnum() and key.isascii() else json.dumps(key)


def encode_index(data: Mapping[str, Mapping[str, Any]], previous: IndexText | None) -> tuple[str, IndexText]:
    """The index's text in the one-document-per-line layout, and each document's line.

    A document equal to the one ``previous`` holds under the same table and key keeps
    its line: the test is cheap, since an unchanged document shares its nested values
    with the one read (see ``ExperienceStore._memory_index``).
    """
    previous = previous or {}
    texts: IndexText = {}
    parts = []
    for table, docs in data.items():
        before = previous.get(table, {})
        table_texts = texts[table] = {}
        lines = []
        for key, doc in docs.items():
            old = before.get(key)
            line = old[1] if old is not None and old[0] == doc else f"{_quoted(key)}: {json.dumps(doc)}"
            table_texts[key] = (doc, line)
            lines.append(line)
        body = ",\n".join(lines)
        parts.append(f"{_quoted(table)}: {{\n{body}\n}}" if lines else f"{_quoted(table)}: {{\n}}")
    return "{\n" + ",\n".join(parts) + "\n}\n", texts


def read_line_texts(text: str, data: Mapping[str, Mapping[str, Any]]) -> IndexText | None:
    """Each document's line in a file of the one-document-per-line layout; ``None`` for another layout.

    ``data`` is the file already parsed as JSON: the lines are kept only when every
    table and document of it is found on a line of its own, so a file in another layout
    (or edited by hand) only loses the shortcut, never a document.
    """
    lines = text.split("\n")
    if not lines or lines[0] != "{":
        return None
    texts: IndexText = {}
    table: dict[str, tuple[Any, str]] | None = None
    docs: Mapping[str, Any] = {}
    for line in lines[1:]:
        if line in ("}", "},", ""):
            table = None if line != "" else table
            continue
        found = _KEY.match(line)
        if found is None:
            return None
        key = found.group(1)
        if "\\" in key:  # an escape: decode it (the store's own keys are digits)
            key = json.loads(f'"{key}"')
        rest = line[found.end():]
        if table is None:  # a table opens: "name": {
            if rest != "{" or key not in data or key in texts:
                return None
            table, docs = texts.setdefault(key, {}), data[key]
            continue
        line = line[:-1] if line.endswith(",") else line
        if key not in docs or not (rest.startswith("{") and line.endswith("}")):
            return None
        table[key] = (docs[key], line)
    complete = set(texts) == set(data) and all(len(texts[name]) == len(data[name]) for name in data)
    return texts if complete else None
