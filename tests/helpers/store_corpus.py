"""Malformed import files, each built from a valid export (for tests and benchmarks/).

Every entry is ``(label, file bytes, text the error must contain)``. Importing any of
them must fail with :class:`~jupyter_metahpo.store.ImportValidationError` (naming
the bad record's location) and leave the store byte-for-byte unchanged.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

__all__ = ["malformed_corpus"]


def _edit(payload: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> bytes:
    data = copy.deepcopy(payload)
    change(data)
    return json.dumps(data).encode()


def _set(path: tuple, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _delete(path: tuple) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def malformed_corpus(payload: dict[str, Any]) -> list[tuple[str, bytes, str]]:
    """Broken variants of a valid export ``payload`` (at least one study with 2+ trials)."""
    text = json.dumps(payload).encode()
    trial = ("studies", 0, "trials", 1)
    return [
        ("truncated JSON", text[: len(text) // 2], "not valid JSON"),
        ("empty file", b"", "not valid JSON"),
        ("not UTF-8", b"\xff\xfe\x00garbage", "UTF-8"),
        ("a list, not an object", b"[1, 2, 3]", "must be a JSON object"),
        ("wrong format tag", _edit(payload, _set(("format",), "something-else")), "format"),
        ("schema version from the future", _edit(payload, _set(("schema_version",), 99)), "schema_version"),
        ("schema version as text", _edit(payload, _set(("schema_version",), "1")), "schema_version"),
        ("studies not a list", _edit(payload, _set(("studies",), {"a": 1})), "studies: must be a list"),
        ("study without a space", _edit(payload, _delete(("studies", 0, "space"))), "studies[0].space: is missing"),
        ("study id with a path", _edit(payload, _set(("studies", 0, "id"), "../../etc/passwd")), "studies[0].id"),
        ("bad direction", _edit(payload, _set(("studies", 0, "direction"), "sideways")), "studies[0].direction"),
        ("space with low > high", _edit(payload, _set(("studies", 0, "space"),
         {"version": 1, "parameters": {"x": {"type": "uniform", "low": 2.0, "high": 1.0}}})), "studies[0].space"),
        ("trial value as text", _edit(payload, _set((*trial, "value"), "0.5")), "studies[0].trials[1].value"),
        ("trial value too large (1e999 reads as inf)", text.replace(b'"value": ', b'"value": 1e999, "v0": ', 1),
         "studies[0].trials[0].value: must be a finite number"),
        ("NaN, which is not JSON", text.replace(b'"value": ', b'"value": NaN, "v0": ', 1), "NaN is not a JSON number"),
        ("trial without a config", _edit(payload, _delete((*trial, "config"))), "studies[0].trials[1].config: is missing"),
        ("config outside the space", _edit(payload, _set((*trial, "config"), {"nope": 1})), "studies[0].trials[1].config"),
        ("unknown trial state", _edit(payload, _set((*trial, "state"), "exploded")), "studies[0].trials[1].state"),
        ("complete trial without value", _edit(payload, _set((*trial, "value"), None)), "needs a finite value"),
        ("negative trial number", _edit(payload, _set((*trial, "number"), -3)), "studies[0].trials[1].number"),
        ("huge error text", _edit(payload, _set((*trial, "error"), "x" * 200_000)), "studies[0].trials[1].error"),
        ("duplicate trial id", _edit(payload, _set((*trial, "id"), payload["studies"][0]["trials"][0]["id"])),
         "appears twice"),
        ("task id not in the file", _edit(payload, _set(("studies", 0, "task_id"), "nosuchtask")), "studies[0].task_id"),
        ("meta-feature as text", _edit(payload, _set(("tasks",), [{"id": "t1", "name": "t", "meta_features": {"a": "big"},
                                                                   "created_at": 1.0}])), "tasks[0].meta_features"),
    ]
