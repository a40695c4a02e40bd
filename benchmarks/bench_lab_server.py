"""How fast the lab extension's list route answers on a 100,000-trial store (goal: < 300 ms).

    python benchmarks/bench_lab_server.py                # 1,000 x 100 and 10,000 x 10 trials
    python benchmarks/bench_lab_server.py --no-save      # print only

For each shape (studies x trials per study, 100,000 trials in all) the store is built
with the bulk-import path (``ExperienceStore.bulk_import``, one transaction), then a
real ``jupyter server`` with the ``jupyter_metahpo.server`` extension is started on it,
and ``GET {base_url}metahpo/api/studies`` is timed over HTTP (token in the header), as
the panel calls it:

- ``first``: the server's first list call (it opens the store and reads the summaries);
- ``poll``: the same page again, nothing changed (what the panel's 1 s poll costs);
- ``after a trial``: the page after one more trial was appended to one study;
- ``search+sort``: ``q=study-7&sort=best_value&order=asc`` (a filter and a sort);
- ``no sparklines``: ``sparkline=0``.

Medians of 15 calls (``first``: one call, each in a fresh server) are quoted, with
the page size 200, the panel's. Figures go to ``benchmarks/results/lab_server.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))  # this checkout's package and benchmarks._command

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks._command import command_line  # noqa: E402
from jupyter_metahpo.space import choice, intrange, loguniform  # noqa: E402
from jupyter_metahpo.store import ExperienceStore  # noqa: E402
from jupyter_metahpo.trial import FrozenTrial, Origin  # noqa: E402

RESULTS = Path(__file__).parent / "results"
SPACE = {"lr": loguniform(1e-4, 1e-1), "depth": intrange(1, 8), "kind": choice("a", "b", "c")}
SHAPES = [(1_000, 100), (10_000, 10)]
REPEATS = 15
PAGE = 200


def build_store(folder: Path, n_studies: int, per_study: int, seed: int = 0) -> float:
    """A store of ``n_studies`` imported studies of ``per_study`` trials each; returns seconds taken."""
    rng = np.random.default_rng(seed)
    store = ExperienceStore(folder, durable=False)
    started = time.perf_counter()
    with store.bulk_import() as batch:
        for k in range(n_studies):
            frame = pd.DataFrame({
                "lr": 10 ** rng.uniform(-4, -1, per_study),
                "depth": rng.integers(1, 9, per_study),
                "kind": rng.choice(["a", "b", "c"], per_study),
                "value": rng.normal(0.5, 0.2, per_study),
            })  # fmt: skip
            batch.import_dataframe(frame, space=SPACE, name=f"study-{k}", task=f"task-{k % 50}")
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``jupyter server`` with the extension on ``store``, in its own temporary folders."""

    def __init__(self, store: Path, base: Path) -> None:
        self.port, self.token = _free_port(), secrets.token_hex(16)
        config = base / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_metahpo.server": True}}})
        )
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
               "PYTHONPATH": str(REPOSITORY)}  # fmt: skip
        command = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   "--ServerApp.allow_root=True", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={base}",
                   f"--MetaHPOServer.store_path={store}"]  # fmt: skip
        self.log = open(base / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/api/status")
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {base / 'server.log'}") from None
                time.sleep(0.2)

    def get(self, path: str) -> tuple[float, dict]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers={"Authorization": f"token {self.token}"})  # fmt: skip
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as reply:
            body = reply.read()
        return (time.perf_counter() - started) * 1000, json.loads(body)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


LIST = f"/metahpo/api/studies?limit={PAGE}"


def measure_shape(n_studies: int, per_study: int, work: Path) -> dict:
    store_dir = work / f"store-{n_studies}x{per_study}"
    build_seconds = build_store(store_dir, n_studies, per_study)
    server = Server(store_dir, work / f"server-{n_studies}")
    try:
        first, body = server.get(LIST)
        assert body["total"] == n_studies, body["total"]
        poll = [server.get(LIST)[0] for _ in range(REPEATS)]
        after = []
        store = ExperienceStore(store_dir, durable=False)
        session = store.open_study("study-0", SPACE, "minimize", task="task-0")
        for i in range(REPEATS):
            trial = FrozenTrial(number=per_study + i, config={"lr": 0.01, "depth": 3, "kind": "a"}, state="complete",
                                origin=Origin("manual", "benchmark"), value=0.1, started_at=time.time(),
                                finished_at=time.time())  # fmt: skip
            session.record_trial(trial)
            after.append(server.get(LIST)[0])
        session.finish("finished")
        search = [server.get(LIST + "&q=study-7&sort=best_value&order=asc")[0] for _ in range(REPEATS)]
        bare = [server.get(LIST + "&sparkline=0")[0] for _ in range(REPEATS)]
    finally:
        server.stop()
    return {
        "shape": f"{n_studies:,} x {per_study}",
        "build_s": build_seconds,
        "first": first,
        "poll": statistics.median(poll),
        "after a trial": statistics.median(after),
        "search+sort": statistics.median(search),
        "no sparklines": statistics.median(bare),
    }


def table(rows: list[dict]) -> str:
    columns = ["first", "poll", "after a trial", "search+sort", "no sparklines"]
    lines = [
        "| store (studies x trials) | build (bulk import) | " + " | ".join(f"{c} (ms)" for c in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for r in rows:
        lines.append(f"| {r['shape']} | {r['build_s']:.1f} s | " + " | ".join(f"{r[c]:.0f}" for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-save", action="store_true", help="print the table only")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        for n_studies, per_study in SHAPES:
            rows.append(measure_shape(n_studies, per_study, Path(tmp)))
            print(table(rows[-1:]), flush=True)
    text = table(rows)
    print(text)
    if not args.no_save:
        header = (
            "# The lab extension's list route on a 100,000-trial store\n\n"
            f"Command: `{command_line(__file__, sys.argv[1:])}`\n\n"
            f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}.\n"
            f"`GET metahpo/api/studies?limit={PAGE}` over HTTP on a real jupyter_server; medians of {REPEATS} "
            "calls (first: one call). Goal: under 300 ms.\n\n"
            "`first` is the server's first call after the bulk import: it opens the store and builds its summaries "
            "cache by reading every trial log once (the store's own cost, paid once: the cache is saved); every "
            "later call reads the index and the cache and stats only the logs of running studies.\n\n"
        )
        (RESULTS / "lab_server.md").write_text(header + text + "\n")


if __name__ == "__main__":
    main()
