"""Peak memory of ``ExperienceStore.import_csv`` against the size of the CSV file.

    python benchmarks/bench_csv_import.py                 # a 50 MB CSV (about a minute per size)
    python benchmarks/bench_csv_import.py --mb 5 50       # several sizes
    python benchmarks/bench_csv_import.py --no-save       # print only

Each size is measured in a fresh Python process: it imports the package and pandas,
records its peak resident memory so far (``ru_maxrss``, the baseline), runs one
``import_csv`` into an empty store, and records the peak again. The figure is the peak
during the import minus the baseline, against the file's size (goal: at most 3x).

The CSV has a log-scaled float (``lr``), an integer (``depth``), a three-valued text
column (``kind``), a float (``dropout``) and the value column (``loss``), with one
row in 500 lacking its value (a failed trial), generated with a fixed seed.

Figures go to ``benchmarks/results/csv_import.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))  # this checkout's package and benchmarks._command

from benchmarks._command import command_line  # noqa: E402

RESULTS = Path(__file__).parent / "results"

#: Run in the child: import, measure the baseline, import the CSV, measure the peak.
_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import pandas  # noqa: F401  (part of the baseline: any import_csv caller has it loaded)
from jupyter_metahpo.store import ExperienceStore
from jupyter_metahpo.store import importers  # noqa: F401
csv, store_dir = sys.argv[2], sys.argv[3]
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.perf_counter()
try:
    report = ExperienceStore(store_dir, durable=False).import_csv(csv, value="loss")
    outcome = f"{report.trials_added} trials"
except Exception as error:  # a size cap refusal is a result too
    outcome = f"{type(error).__name__}: {str(error)[:160]}"
seconds = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "seconds": seconds, "outcome": outcome}))
"""


def write_csv(path: Path, megabytes: float, seed: int = 0) -> int:
    """A CSV of about ``megabytes`` MB; returns its number of rows."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    rows = 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("lr,depth,kind,dropout,loss\n")
        while handle.tell() < target:
            lines = []
            for _ in range(10_000):
                rows += 1
                loss = "" if rows % 500 == 0 else f"{rng.uniform(0.05, 2.0):.6f}"
                lines.append(
                    f"{10 ** rng.uniform(-5, -1):.8g},{rng.randint(1, 12)},{rng.choice(('adam', 'sgd', 'rmsprop'))},"
                    f"{rng.uniform(0.0, 0.5):.6f},{loss}\n"
                )
            handle.write("".join(lines))
    return rows


def measure(csv: Path, package_root: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="csv-import-store-") as store_dir:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(package_root), str(csv), store_dir],
            capture_output=True, text=True, check=False,
        )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[50.0], help="CSV sizes in MB")
    parser.add_argument("--package-root", type=Path, default=REPOSITORY,
                        help="the checkout whose jupyter_metahpo is measured (e.g. an older one, for a before/after)")
    parser.add_argument("--out", type=Path, default=RESULTS / "csv_import.md")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="csv-import-") as folder:
        for megabytes in args.mb:
            csv = Path(folder) / f"runs-{megabytes:g}mb.csv"
            rows = write_csv(csv, megabytes)
            size = csv.stat().st_size
            result = measure(csv, args.package_root)
            if "error" in result:
                rows_out.append(f"| {size / 1e6:.1f} | {rows:,} | - | - | - | - | failed: {result['error']} |")
            else:
                used = (result["peak_kib"] - result["baseline_kib"]) * 1024
                rows_out.append(
                    f"| {size / 1e6:.1f} | {rows:,} | {result['baseline_kib'] / 1024:.0f} | {used / 1e6:.0f} | "
                    f"{used / size:.2f}x | {result['seconds']:.1f} | {result['outcome']} |"
                )
            print(rows_out[-1], flush=True)
    table = "\n".join([
        "| CSV MB | rows | baseline RSS MiB | peak RSS during import - baseline, MB | / file size | seconds | outcome |",
        "|---:|---:|---:|---:|---:|---:|---|",
        *rows_out,
    ])
    text = (
        f"# CSV import: peak memory against file size\n\n{table}\n\n"
        f"Package measured: {args.package_root}\n"
        f"Command: {command_line(__file__, argv)}\n"
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}\n"
    )
    print(text)
    if not args.no_save:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
