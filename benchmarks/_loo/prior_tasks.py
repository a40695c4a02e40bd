"""The bundled prior's pools as benchmark tasks: one task per (space, dataset).

Read from the prior's raw run files (``prior-build/runs/<space>/<dataset>.jsonl`` of the repository),
so the benchmark can run while the build is still going: only pools that are
finished (every pool index evaluated; failed evaluations are left out of the pool)
become tasks. Meta-features of each dataset are computed with the project's
``compute_meta_features`` and cached by data fingerprint, because the run files do
not carry them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_metahpo.builtin_spaces import FAMILIES, get_builtin_space
from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.prior.runs import read_run, resolve_runs_dir
from jupyter_metahpo.space import SearchSpace

from .pool import PoolTask


def _describe(header: dict[str, Any]) -> dict[str, Any]:
    return dict(header.get("dataset") or {})


def read_prior_studies(
    families: Sequence[str] | None = None,
    runs_dir: Path | None = None,
    min_share: float = 1.0,
) -> tuple[list[PastStudy], dict[str, dict[str, int]]]:
    """Past studies from finished pools, and per space how many pools are finished / started.

    A pool counts as finished when at least ``min_share`` of its indices have a
    record (score or failure). Families default to all built-in families; ``runs_dir``
    to the repository's ``prior-build/runs`` (``RunsDirNotFoundError`` when there is none).
    """
    runs_dir = resolve_runs_dir(runs_dir)
    studies: list[PastStudy] = []
    coverage: dict[str, dict[str, int]] = {}
    for family in families or sorted(FAMILIES):
        for space_name in FAMILIES[family]:
            folder = runs_dir / space_name
            counts = {"finished": 0, "started": 0}
            coverage[space_name] = counts
            for path in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
                record = read_run(path)
                if record.header is None:
                    continue
                counts["started"] += 1
                pool_size = int(record.header.get("pool_size") or 0)
                if pool_size == 0 or len(record.evals) < min_share * pool_size:
                    continue
                study = _study_from_run(space_name, family, path.stem, record)
                if study is not None:
                    counts["finished"] += 1
                    studies.append(study)
    return studies, coverage


def _study_from_run(space_name: str, family: str, dataset: str, record: Any) -> PastStudy | None:
    header = record.header
    space = SearchSpace.from_json(header["space_json"]) if "space_json" in header else get_builtin_space(space_name).space
    evals = [record.evals[i] for i in sorted(record.evals) if record.evals[i].get("score") is not None]
    if len(evals) < 2:
        return None
    describe = _describe(header)
    return PastStudy.from_arrays(
        f"prior:{space_name}:{dataset}",
        dataset,
        space,
        "maximize",
        [space.validate_config(e["config"]) for e in evals],
        [float(e["score"]) for e in evals],
        data_fingerprint=describe.get("fingerprint"),
        source="prior",
        extra={**describe, "dataset": dataset, "space_name": space_name, "family": family,
               # as the bundled prior's studies carry it (prior.load): relatedness compares it
               "task_type": get_builtin_space(space_name).task,
               "pool_index": [int(e["index"]) for e in evals]},
    )


def with_meta_features(studies: Sequence[PastStudy], cache_path: Path | None) -> list[PastStudy]:
    """The studies with ``meta_features`` filled in (computed once per dataset, cached by fingerprint)."""
    import dataclasses

    from jupyter_metahpo.meta.features import compute_meta_features
    from jupyter_metahpo.prior.datasets import load_dataset

    cache: dict[str, Any] = {}
    if cache_path is not None and cache_path.exists():
        cache = json.loads(cache_path.read_text())
    out = []
    changed = False
    for study in studies:
        key = f"{study.task_name}:{study.data_fingerprint}"
        if key not in cache:
            data = load_dataset(study.task_name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                features = compute_meta_features(data.X, data.y)
            cache[key] = {"values": dict(features.values), "feature_set": features.feature_set}
            changed = True
        entry = cache[key]
        out.append(dataclasses.replace(study, meta_features=entry["values"], meta_feature_set=entry["feature_set"]))
    if changed and cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
    return out


def tasks_from_studies(studies: Sequence[PastStudy]) -> list[PoolTask]:
    """Every study as a held-out task (its pool and scores)."""
    from .split import duplicate_groups

    groups = duplicate_groups(studies)
    tasks = []
    for study in studies:
        extra = dict(study.extra or {})
        space_name = extra.get("space_name", study.study_id)
        dataset = extra.get("dataset", study.task_name)
        tasks.append(
            PoolTask(f"{space_name}/{dataset}", extra.get("family", space_name), dataset, study, groups[dataset], extra)
        )
    return tasks
