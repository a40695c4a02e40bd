"""What an install gives Jupyter (issue 22): the server extension enabled, the lab extension listed.

The first test asks the installed Jupyter itself (as a user would after ``pip install``);
the second builds the wheel a user would download and reads what it puts where.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILT = REPO / "jupyter_metahpo" / "labextension" / "static"


def _jupyter(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listing = done.stdout + done.stderr  # both commands print their listing on stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", listing)  # without the terminal colours


def _installed_from_this_checkout() -> bool:
    import jupyter_metahpo

    return Path(jupyter_metahpo.__file__).resolve().parent == REPO / "jupyter_metahpo"


@pytest.mark.slow
def test_jupyter_lists_both_extensions_enabled():
    if not BUILT.is_dir() or not _installed_from_this_checkout():
        pytest.skip("needs this checkout installed (pip install -e .) with its lab extension built")
    server = _jupyter("server", "extension", "list")
    assert "jupyter_metahpo.server" in server and "enabled" in server.split("jupyter_metahpo.server", 1)[1][:40]
    lab = " ".join(_jupyter("labextension", "list").split())
    assert "jupyter-metahpo v" in lab and "enabled OK" in lab.split("jupyter-metahpo v", 1)[1][:60]


@pytest.mark.slow
def test_the_wheel_ships_the_prebuilt_lab_extension_and_enables_the_server_part(tmp_path):
    if not BUILT.is_dir():
        pytest.skip("the lab extension is not built here: cd labextension && jlpm install && jlpm build")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("jupyter_metahpo-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        data = next(n for n in names if n.endswith(".data/data/etc/jupyter/jupyter_server_config.d/jupyter_metahpo.json"))
        config = json.loads(archive.read(data))
    lab = [n for n in names if "/share/jupyter/labextensions/jupyter-metahpo/" in n]
    assert any(n.endswith("/package.json") for n in lab)
    assert any("/static/remoteEntry." in n for n in lab)  # the built bundle JupyterLab loads
    assert config["ServerApp"]["jpserver_extensions"]["jupyter_metahpo.server"] is True
    assert not any(n.startswith("labextension/") or "/node_modules/" in n for n in names)  # no sources, no node
