"""The pure parts behind the routes: the study rows, best-so-far series, the resume cell, list arguments."""

from __future__ import annotations

import shlex

import pytest

from jupyter_metahpo.cell import CELL_BUILTINS
from jupyter_metahpo.server.resume import resume_cell
from jupyter_metahpo.server.views import BadRequest, ListQuery
from jupyter_metahpo.space import SearchSpace
from jupyter_metahpo.store.listing import best_so_far, study_rows, thin_series


def test_rows_of_running_and_ended_studies(store, add_study):
    ended = add_study(store, "ended", [0.3, 0.1])
    running = add_study(store, "running", [0.5], finish=None, task=None)
    rows = {r["id"]: r for r in study_rows(store)}
    assert rows[ended]["updated_at"] == store.study(ended).ended_at  # no stat for an ended study
    log_time = store.log_path(running).stat().st_mtime
    assert rows[running]["updated_at"] == max(log_time, rows[running]["started_at"])
    assert rows[running]["task"] is None and rows[running]["status"] == "running"
    assert (rows[ended]["n_trials"], rows[ended]["best_value"]) == (2, 0.1)


@pytest.mark.parametrize(("direction", "expected"), [("minimize", [[1, 0.5], [3, 0.2]]), ("maximize", [[1, 0.5], [2, 0.9]])])
def test_best_so_far_counts_only_complete_improvements(store, add_study, direction, expected):
    sid = add_study(store, "s", [0.5, 0.9, 0.2, None, 0.4], direction=direction)
    assert [p[:2] for p in best_so_far(store, sid, direction == "maximize")] == expected


def test_thin_series_keeps_both_ends():
    series = [[i, float(i)] for i in range(100)]
    thinned = thin_series(series, 10)
    assert len(thinned) == 10 and thinned[0] == series[0] and thinned[-1] == series[-1]
    assert thin_series(series[:3], 10) == series[:3]
    with pytest.raises(ValueError, match="at least 2"):
        thin_series(series, 1)


def test_the_resume_cell_rebuilds_the_stored_space_and_names_the_study(store, add_study):
    sid = add_study(store, "credit hgb", [0.3], direction="maximize")
    record = store.study(sid)
    cell = resume_cell(record)
    line, body = cell.split("\n", 1)
    assert shlex.split(line) == ["%%metatune", "--name", "credit hgb", "--resume", "--maximize"]
    namespace = dict(CELL_BUILTINS)
    exec(compile(body, "<resume cell>", "exec"), namespace)
    assert SearchSpace(namespace["space"]) == record.space
    with pytest.raises(NotImplementedError, match="credit hgb"):
        namespace["train"](lr=0.01, depth=2, kind="a")


def test_an_unnamed_study_has_no_resume_cell(store, add_study):
    assert resume_cell(store.study(add_study(store, None, [0.3]))) is None


def test_list_arguments():
    query = ListQuery.parse({"q": [" Credit  HGB "], "sort": ["name"], "1712345678901": [""]})  # a cache-buster key
    assert query.words == ("credit", "hgb") and query.sort == "name" and not query.descending
    with pytest.raises(BadRequest, match="given 2 times"):
        ListQuery.parse({"sort": ["name", "task"]})
    with pytest.raises(BadRequest, match="at most 200"):
        ListQuery.parse({"q": ["x" * 201]})
