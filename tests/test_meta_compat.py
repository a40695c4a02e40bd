"""Carrying past studies into a new space: match, convert, clip or drop, report."""

from __future__ import annotations

import numpy as np

from jupyter_metahpo.experience import PastStudy
from jupyter_metahpo.meta.compat import transfer_studies, transfer_study, TransferReport
from jupyter_metahpo.meta.matching import match_spaces
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform


def _past(space, configs, values, study_id="s1", task="t1", direction="minimize"):
    return PastStudy.from_arrays(study_id, task, SearchSpace(space), direction, configs, values)


NEW = SearchSpace({"lr": loguniform(1e-3, 1e-1), "depth": intrange(2, 8), "kind": choice("a", "b")})


def test_extra_parameters_of_the_past_study_are_ignored_and_named():
    past = _past(
        {"lr": loguniform(1e-3, 1e-1), "depth": intrange(2, 8), "kind": choice("a", "b"), "extra": uniform(0, 1)},
        [{"lr": 0.01, "depth": 3, "kind": "a", "extra": 0.5}],
        [0.3],
    )
    moved = transfer_study(past, NEW)
    assert moved is not None
    assert moved.configs == ({"lr": 0.01, "depth": 3, "kind": "a"},)
    assert moved.ignored_parameters == ("extra",)
    assert moved.unit.shape == (1, 3)


def test_missing_parameter_or_other_kind_makes_a_study_incompatible_with_the_reason():
    report = TransferReport()
    missing = _past({"lr": loguniform(1e-3, 1e-1), "depth": intrange(2, 8)}, [{"lr": 0.01, "depth": 3}], [1.0], "m")
    other_kind = _past(
        {"lr": loguniform(1e-3, 1e-1), "depth": uniform(2, 8), "kind": choice("a", "b")},
        [{"lr": 0.01, "depth": 3.5, "kind": "a"}],
        [1.0],
        "k",
    )
    assert transfer_study(missing, NEW, report) is None
    assert transfer_study(other_kind, NEW, report) is None
    assert "no parameter ['kind']" in report.incompatible["m"]
    assert "depth is float there but int here" in report.incompatible["k"]
    assert "2 skipped as incompatible" in report.summary()


def test_along_a_match_a_study_sharing_too_few_parameters_is_incompatible_with_the_reason():
    # Partial-space transfer, along the match the compatibility pass found (meta.carry): sharing 2 of
    # the 3 parameters is enough (the third gets a placeholder that the warm start replaces); 1 shared
    # parameter, or a kind that cannot convert, is not.
    report = TransferReport()
    two = _past({"lr": loguniform(1e-3, 1e-1), "depth": intrange(2, 8)}, [{"lr": 0.01, "depth": 3}], [1.0], "two")
    one = _past({"lr": loguniform(1e-3, 1e-1), "other": intrange(2, 8)}, [{"lr": 0.01, "other": 3}], [1.0], "one")
    kinds = _past(
        {"lr": loguniform(1e-3, 1e-1), "depth": choice("x", "y"), "kind": uniform(0, 1)},
        [{"lr": 0.01, "depth": "x", "kind": 0.5}],
        [1.0],
        "kinds",
    )
    moved = transfer_study(two, NEW, report, match=match_spaces(NEW, two.space))
    assert moved is not None and moved.filled == ("kind",) and list(moved.columns) == [0, 1]
    assert transfer_study(one, NEW, report, match=match_spaces(NEW, one.space)) is None
    assert transfer_study(kinds, NEW, report, match=match_spaces(NEW, kinds.space)) is None
    assert "it shares 1 of your parameters (lr); 2 are needed" in report.incompatible["one"]
    assert "your depth is an integer range, their depth is a choice" in report.incompatible["kinds"]
    assert "2 skipped as incompatible" in report.summary()


def test_values_near_the_bounds_are_clipped_far_ones_and_unknown_options_dropped():
    wider = {"lr": loguniform(1e-7, 1.0), "depth": intrange(1, 20), "kind": choice("a", "b", "c")}
    configs = [
        {"lr": 0.01, "depth": 5, "kind": "a"},  # inside: kept as is
        {"lr": 0.15, "depth": 5, "kind": "b"},  # a little above 0.1 on the log scale: clipped to 0.1
        {"lr": 0.01, "depth": 9, "kind": "a"},  # one above 8 (within one range-width): clipped to 8
        {"lr": 1e-6, "depth": 5, "kind": "a"},  # far below 1e-3 (1.5 log ranges): dropped
        {"lr": 0.01, "depth": 5, "kind": "c"},  # option not offered any more: dropped
    ]
    moved, report = transfer_studies([_past(wider, configs, [1, 2, 3, 4, 5])], NEW)
    (t,) = moved
    assert [dict(c) for c in t.configs] == [
        {"lr": 0.01, "depth": 5, "kind": "a"},
        {"lr": 0.1, "depth": 5, "kind": "b"},
        {"lr": 0.01, "depth": 8, "kind": "a"},
    ]
    assert list(t.values) == [1, 2, 3]
    assert (t.n_clipped, t.n_dropped) == (2, 2)
    assert report.clipped == {"lr": 1, "depth": 1}
    assert report.dropped == {"lr outside the new bounds": 1, "kind='c' not an option": 1}
    assert "2 trials dropped" in report.summary() and "2 trials clipped" in report.summary()


def test_scores_point_higher_is_better_whatever_the_direction():
    space = {"lr": loguniform(1e-3, 1e-1), "depth": intrange(2, 8), "kind": choice("a", "b")}
    configs = [{"lr": 0.01, "depth": d, "kind": "a"} for d in (2, 3, 4)]
    low = transfer_study(_past(space, configs, [3.0, 1.0, 2.0]), NEW)
    high = transfer_study(_past(space, configs, [3.0, 1.0, 2.0], direction="maximize"), NEW)
    assert low.best_index == 1 and high.best_index == 0
    np.testing.assert_allclose(low.normalised, [0.0, 1.0, 0.5])


def test_a_study_with_no_trial_left_is_reported_not_used():
    space = {"lr": loguniform(1e-3, 1e-1), "depth": intrange(2, 8), "kind": choice("a", "z")}
    moved, report = transfer_studies([_past(space, [{"lr": 0.01, "depth": 3, "kind": "z"}], [1.0])], NEW)
    assert moved == []
    assert "none of its trials" in report.incompatible["s1"]
