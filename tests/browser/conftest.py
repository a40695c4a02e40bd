"""A real JupyterLab or Notebook 7 in temporary folders, driven by Debian's Chromium through Playwright.

The browser tests skip, saying why, when Chromium, Playwright or the front end is
missing (``apt-get install -y chromium`` and ``pip install playwright notebook``
provide them; never ``playwright install``). Each server runs on 127.0.0.1 with a
random token, its own root, settings and experience store, and is ended by its own
process id.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("METAHPO_CHROMIUM", "/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCH_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return "Chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed"
    return None


def _missing_notebook() -> str | None:
    try:
        import notebook
    except ImportError:
        return "Notebook 7 is not installed (pip install 'notebook>=7.4')"
    # 7.4 is the first to send widget messages on a kernel subshell, which the Stop test relies on.
    major, minor = (int(part) for part in notebook.__version__.split(".")[:2])
    if (major, minor) < (7, 4):
        return f"Notebook {notebook.__version__} is installed; these tests need >= 7.4 (pip install 'notebook>=7.4')"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            why = reason or (_missing_notebook() if "notebook7" in item.fspath.basename else None)
            if why:
                item.add_marker(pytest.mark.skip(reason=why))
    # Browser tests last: Playwright's sync API keeps an event loop in the main thread.
    items.sort(key=lambda i: "tests/browser" in str(i.fspath).replace(os.sep, "/"))


# pytest-jupyter (when installed for the server-extension tests) has autouse fixtures
# that fail while Playwright's loop runs; these tests need neither.
@pytest.fixture
def jp_asyncio_loop():
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield None


@dataclass
class Jupyter:
    """A running server: JupyterLab (``frontend="lab"``) or Notebook 7 (``"notebook"``)."""

    url: str
    token: str
    root: Path
    settings: Path
    store: Path
    frontend: str = "lab"

    def notebook_url(self, name: str) -> str:
        if self.frontend == "notebook":
            return f"{self.url}notebooks/{name}?token={self.token}"
        return f"{self.url}lab/tree/{name}?reset&token={self.token}"  # ?reset: no old tabs restored


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path, extra: dict[str, dict]) -> None:
    quiet = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false"}}
    for plugin, values in {**quiet, **extra}.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


# What differs between the two front ends' command lines; everything else is shared.
_FRONTENDS = {
    "lab": lambda base: [
        "jupyter", "lab", f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.expose_app_in_browser=True",
    ],
    "notebook": lambda base: [
        "notebook", f"--JupyterNotebookApp.workspaces_dir={base / 'workspaces'}",
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ],
}  # fmt: skip


def start_jupyter(base: Path, frontend: str = "lab", settings_overrides: dict[str, dict] | None = None):
    """Start JupyterLab or Notebook 7; returns (Jupyter, process). The caller ends it with stop_jupyter."""
    root, settings = base / "root", base / "settings"
    for folder in (root, settings, base / "config", base / "runtime", base / "workspaces"):
        folder.mkdir(parents=True, exist_ok=True)
    _write_settings(settings, settings_overrides or {})
    port, token = _free_port(), secrets.token_hex(16)
    store = base / "metahpo-home"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_METAHPO_HOME": str(store),
        # The kernel imports this checkout's package, whatever copy is installed (an editable
        # install may point at another worktree).
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    command = [
        sys.executable, "-m", *_FRONTENDS[frontend](base), "--no-browser",
        "--ServerApp.ip=127.0.0.1", "--ServerApp.allow_root=True", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    log_path = base / f"{frontend}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_jupyter(process)
            raise RuntimeError(f"Jupyter ({frontend}) did not start; see {log_path}:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    return Jupyter(url=url, token=token, root=root, settings=settings, store=store, frontend=frontend), process


def stop_jupyter(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and its kernels
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def lab_with_subshell_comms(tmp_path):
    lab, process = start_jupyter(tmp_path / "lab")
    try:
        yield lab
    finally:
        stop_jupyter(process)


@pytest.fixture
def lab_without_subshell_comms(tmp_path):
    settings = {"@jupyterlab/apputils-extension/kernels-settings": {"commsOverSubshells": "disabled"}}
    lab, process = start_jupyter(tmp_path / "lab", "lab", settings)
    try:
        yield lab
    finally:
        stop_jupyter(process)


@pytest.fixture
def notebook7(tmp_path):
    """Notebook 7 with its default settings (widget messages on a kernel subshell)."""
    server, process = start_jupyter(tmp_path / "notebook7", "notebook")
    try:
        yield server
    finally:
        stop_jupyter(process)


@pytest.fixture(scope="module")
def jupyter_starter():
    """``(start_jupyter, stop_jupyter)``, for tests that start a server with more settings
    (tests/browser/lab_server.py: this checkout's lab and server extensions)."""
    return start_jupyter, stop_jupyter
