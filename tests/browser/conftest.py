"""A real JupyterLab in temporary folders, driven by Debian's Chromium through Playwright.

The browser tests skip, saying why, when Chromium or Playwright is missing
(``apt-get install -y chromium`` and ``pip install playwright`` provide them; never
``playwright install``). Each server runs on 127.0.0.1 with a random token and is
ended by its own process id.
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


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
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
class Lab:
    url: str
    token: str
    root: Path
    settings: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}lab/tree/{name}?reset&token={self.token}"


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


def start_lab(base: Path, settings_overrides: dict[str, dict] | None = None):
    """Start JupyterLab; returns (Lab, process). The caller ends it with stop_lab."""
    root, settings = base / "root", base / "settings"
    for folder in (root, settings, base / "config", base / "runtime", base / "workspaces"):
        folder.mkdir(parents=True, exist_ok=True)
    _write_settings(settings, settings_overrides or {})
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_METAHPO_HOME": str(base / "metahpo-home"),
    }
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", "--ServerApp.allow_root=True", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = open(base / "lab.log", "wb")  # noqa: SIM115 - closed with the process
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
            stop_lab(process)
            raise RuntimeError(f"JupyterLab did not start; see {base / 'lab.log'}:\n{(base / 'lab.log').read_text()[-3000:]}")
        time.sleep(0.3)
    return Lab(url=url, token=token, root=root, settings=settings), process


def stop_lab(process: subprocess.Popen) -> None:
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
    lab, process = start_lab(tmp_path / "lab")
    try:
        yield lab
    finally:
        stop_lab(process)


@pytest.fixture
def lab_without_subshell_comms(tmp_path):
    settings = {"@jupyterlab/apputils-extension/kernels-settings": {"commsOverSubshells": "disabled"}}
    lab, process = start_lab(tmp_path / "lab", settings)
    try:
        yield lab
    finally:
        stop_lab(process)
