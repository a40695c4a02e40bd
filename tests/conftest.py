"""Shared fixtures: every test runs against a temporary experience store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_REPOSITORY = Path(__file__).resolve().parent.parent

# The tests' helpers (tests/helpers/) import as ``helpers.<module>`` under any --import-mode.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))


def _untracked_files() -> set[str] | None:
    """Files git sees as new in the checkout (ignored ones excluded), or None outside a git checkout."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(_REPOSITORY), "status", "--porcelain", "--untracked-files=all"],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if listing.returncode != 0:
        return None
    return {line[3:] for line in listing.stdout.splitlines() if line.startswith("?? ")}


def pytest_sessionstart(session):
    session.config.stash[_UNTRACKED] = _untracked_files()


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when tests left new files in the checkout: they must write under temporary folders only.

    (A store once landed in a folder named ``'`` at the repository's root, from a path whose
    quotes were not removed, and was committed with the code.)
    """
    before, after = session.config.stash.get(_UNTRACKED, None), _untracked_files()
    if before is None or after is None:
        return
    left = sorted(after - before)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write("\n")
            reporter.write_line(
                f"tests left {len(left)} new file(s) in the checkout (write under tmp_path instead): "
                + ", ".join(left[:10]), red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_UNTRACKED = pytest.StashKey[set[str] | None]()


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory, monkeypatch):
    """Point the default experience store at a fresh temporary folder for each test.

    Tests must never write into the user's real store, nor its cache (the prior's past GPs).
    """
    home = tmp_path_factory.mktemp("metahpo-home")
    monkeypatch.setenv("JUPYTER_METAHPO_HOME", str(home))
    monkeypatch.setenv("JUPYTER_METAHPO_CACHE", str(tmp_path_factory.mktemp("metahpo-cache")))
    yield home


@pytest.fixture
def assert_gradient_matches_finite_differences():
    """``check(objective, vector)``: ``objective(v) -> (value, gradient)``; each gradient
    coordinate must match a central finite difference of the value."""

    def check(objective, vector, step=1e-6, rel=1e-5, abs=1e-7):
        _, grad = objective(vector)
        for i in range(len(vector)):
            up, down = vector.copy(), vector.copy()
            up[i] += step
            down[i] -= step
            numeric = (objective(up)[0] - objective(down)[0]) / (2 * step)
            assert grad[i] == pytest.approx(numeric, rel=rel, abs=abs), f"coordinate {i}"

    return check
