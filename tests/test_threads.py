"""limit_threads: the one thread limiter, for torch and the native pools, restored afterwards."""

from __future__ import annotations

import subprocess
import sys

import pytest
import threadpoolctl
import torch

from jupyter_metahpo._threads import limit_threads


def _native(api: str) -> list[int]:
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == api]


@pytest.fixture
def three_torch_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield
    torch.set_num_threads(before)


def test_torch_and_blas_are_limited_inside_and_restored_after(three_torch_threads):
    blas_before = _native("blas")
    with limit_threads(1):
        assert torch.get_num_threads() == 1
        assert _native("blas") and set(_native("blas")) == {1}
    assert torch.get_num_threads() == 3
    assert _native("blas") == blas_before


def test_settings_are_restored_when_the_block_raises(three_torch_threads):
    with pytest.raises(RuntimeError, match="boom"):
        with limit_threads(2):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 3


def test_native_none_limits_torch_only_and_none_limits_nothing(three_torch_threads):
    blas_before = _native("blas")
    with limit_threads(1, native=None):
        assert torch.get_num_threads() == 1
        assert _native("blas") == blas_before
    with limit_threads(None):
        assert torch.get_num_threads() == 3


def test_bad_limits_are_refused_with_the_rule():
    with pytest.raises(ValueError, match=r"`n` must be a positive integer or None, but got n=0"):
        with limit_threads(0):
            pass
    with pytest.raises(ValueError, match=r"`native` must be one of \('blas', 'openmp', 'all'\) or None"):
        with limit_threads(1, native="gpu"):
            pass


def test_it_does_not_import_torch():
    code = (
        "import sys; from jupyter_metahpo._threads import limit_threads\n"
        "with limit_threads(1, native='all'): pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_native_pools_are_looked_up_again_only_after_new_imports(monkeypatch):
    # Finding the pools walks every loaded library (milliseconds): once per import, not per block.
    import types

    from jupyter_metahpo import _threads

    made = []
    real = _threads.ThreadpoolController

    def counting():
        made.append(1)
        return real()

    monkeypatch.setattr(_threads, "ThreadpoolController", counting)
    monkeypatch.setattr(_threads, "_controller", None)
    for _ in range(3):
        with limit_threads(1):
            assert set(_native("blas")) == {1}
    assert len(made) == 1
    monkeypatch.setitem(sys.modules, "a_module_with_its_own_blas", types.ModuleType("a_module_with_its_own_blas"))
    with limit_threads(1):
        pass
    assert len(made) == 2
