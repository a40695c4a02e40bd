"""Run small torch computations on one thread.

The meta-models and per-task GPs are tiny (tens to hundreds of points, a few thousand
weights). For them torch's intra-op thread pool costs far more in synchronisation
than it saves: on a busy 2-core machine a 300-step fit took ~9 s with 2 threads and
~0.5 s with one. The previous setting is restored afterwards, so the user's own
torch code is unaffected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
