"""The acquisition benchmark (benchmarks/bench_acquisition.py) on a tiny budget.

Checks that a run produces one table row per method and one record per run (the GP
seen as a BoTorch model is tested in test_botorch_model.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_acquisition as bench  # noqa: E402


def test_tiny_run_has_a_row_per_method_and_a_record_per_run(tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    lines = bench.main(["--problems", "branin", "--seeds", "1", "--budget", "6", "--batches", "1",
                        "--raw-samples", "32", "--restarts", "2", "--out", str(out)])
    text = "\n".join(lines)
    for method in bench.SEQ_METHODS + bench.BATCH_METHODS:
        assert f"branin     {method}" in text
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == len(bench.SEQ_METHODS) + len(bench.BATCH_METHODS)
    n_init = 5  # default_n_initial(2)
    for r in records:
        expected = 6 if r["part"] == "seq" else n_init + bench.BATCH_Q
        assert len(r["values"]) == expected, r["method"]
        assert all(np.isfinite(r["values"]))
    # The same seed gives every method the same initial design.
    assert len({tuple(r["values"][:n_init]) for r in records}) == 1
    # The table is rebuilt from the records alone.
    again = bench.main(["--problems", "branin", "--out", str(out), "--table-only"])
    assert [line for line in again if line.startswith("branin")] == [
        line for line in lines if line.startswith("branin")
    ]


def test_resume_needs_a_file() -> None:
    with pytest.raises(SystemExit):
        bench.main(["--resume"])


def test_a_table_of_runs_not_made_yet_says_how_to_make_them(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "runs.jsonl"  # the runs files are not in git: a fresh clone has none
    with pytest.raises(SystemExit):
        bench.main(["--out", str(missing), "--table-only"])
    error = capsys.readouterr().err
    assert str(missing) in error and "without --table-only" in error
