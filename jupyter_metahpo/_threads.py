"""Thread limits for small numerical work, restored afterwards.

The samplers' GP fits, the acquisition search, the neural warm start and the
meta-features all work on small arrays (tens to a few thousand rows). For them thread
pools cost more in start-up, spinning and synchronisation than they save, most of all
on a busy machine with few cores; the figures are in ``benchmarks/results/threads.txt``
and ``benchmarks/results/samplers_notes.md``. :func:`limit_threads` caps the pools for
the duration of a block and restores the caller's settings, so a user's own torch or
NumPy code is unaffected.

This module imports nothing heavy: torch's pool is limited when torch is already
imported, or when the block says it runs torch (``torch=True``), which imports it.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController

__all__ = ["limit_threads", "NATIVE_POOLS"]

#: What ``native=`` may name: threadpoolctl's ``user_api`` for each choice (``None``: every pool).
NATIVE_POOLS = {"blas": "blas", "openmp": "openmp", "all": None}


@contextlib.contextmanager
def limit_threads(n: int | None = 1, *, native: str | None = "blas", torch: bool = False) -> Iterator[None]:
    """Run the block with at most ``n`` threads, then restore the previous settings.

    Parameters
    ----------
    n:
        The thread limit; ``None`` leaves every setting as it is.
    native:
        Which native thread pools (through threadpoolctl) are limited too, besides
        torch's intra-op pool: ``"blas"`` (NumPy's and SciPy's BLAS: L-BFGS-B and the
        GP's linear algebra call it on a few entries at a time), ``"openmp"``, ``"all"``
        (BLAS and OpenMP, e.g. scikit-learn's histogram gradient boosting), or ``None``
        (torch only).
    torch:
        The block runs torch: import it now, so that its pool is limited too even when
        this is its first use (torch is a LazyImport in the modules that use it).
    """
    if native is not None and native not in NATIVE_POOLS:
        raise ValueError(f"`native` must be one of {tuple(NATIVE_POOLS)} or None, but got native={native!r}.")
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive integer or None, but got n={n!r}.")
    with contextlib.ExitStack() as stack:
        stack.enter_context(_torch_threads(n, load=torch))
        if native is not None:
            stack.enter_context(_native_pools().limit(limits=n, user_api=NATIVE_POOLS[native]))
        yield


#: threadpoolctl's view of the loaded native pools, and how many modules were imported when it was taken.
_controller: tuple[int, ThreadpoolController] | None = None


def _native_pools() -> ThreadpoolController:
    """threadpoolctl's controller of the native thread pools, found again only after new imports.

    Finding them walks every loaded shared library (~3 ms, as long as a whole GP proposal's
    acquisition search), so the controller is kept while ``sys.modules`` does not grow: native
    libraries load with the modules that need them (NumPy's BLAS, torch's OpenMP).
    """
    global _controller
    if _controller is None or _controller[0] != len(sys.modules):
        _controller = (len(sys.modules), ThreadpoolController())
    return _controller[1]


@contextlib.contextmanager
def _torch_threads(n: int, load: bool) -> Iterator[None]:
    torch = importlib.import_module("torch") if load else sys.modules.get("torch")
    if torch is None:  # not imported: nothing in the block runs torch
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
