"""Reliability of the experience store under concurrent writers, kills, a full disk
and malformed imports.

    python benchmarks/store_reliability.py            # full size: 4 x 500 appends, 50 kills (~3-5 min)
    python benchmarks/store_reliability.py --quick    # 2 x 100 appends, 10 kills

1. Concurrent writers: 4 processes append 500 trials each to one study at once;
   every acknowledged trial must be present exactly once.
2. SIGKILL at random moments: a writer that opens (resumes) a study and appends is
   killed at a random time (before, during or after opening the study); a second kind
   of writer that keeps creating studies (one atomic index rewrite each) is killed too.
   After every kill the store must load, every acknowledged trial / study must be
   present, and at most the one trial in flight may be missing or present unacknowledged.
3. Full disk: the store lives on a small loop-mounted ext4 file system (root needed;
   falls back to a size-limited tmpfs, then to a simulated ENOSPC, and says which)
   that is then filled up; an append, a new study and an import must fail with an
   error naming the cause, and the previous store must load unchanged.
4. Malformed import files (wrong types, missing fields, huge values, wrong schema
   version, truncated JSON, ...): each must be rejected with the bad record's location,
   the store byte-for-byte unchanged.

Tables are printed and saved to ``benchmarks/results/store_reliability.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))  # for benchmarks._command and this checkout's package
sys.path.insert(0, str(REPOSITORY / "tests"))  # the writer process and the malformed files live with the tests

from benchmarks._command import command_line  # noqa: E402
from helpers.store_corpus import malformed_corpus  # noqa: E402
from helpers.store_writer import SPACE, writer_command  # noqa: E402
from jupyter_metahpo.store import ExperienceStore, ImportValidationError, StoreError, StoreWriteError  # noqa: E402
from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def writer(store: Path, study: str, count: int, name: str, *flags: str) -> subprocess.Popen:
    command = writer_command(store, study, count, name, *flags)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def snapshot(store: ExperienceStore) -> dict[str, bytes]:
    return {
        str(p.relative_to(store.path)): p.read_bytes()
        for p in sorted(store.path.rglob("*"))
        if p.is_file() and p.name not in ("summaries.json", ".lock")
    }


# 1. Concurrent writers ---------------------------------------------------------------------
def concurrent_writers(work: Path, processes: int, appends: int) -> tuple[str, bool]:
    store = ExperienceStore(work / "concurrent")
    study = store.open_study("shared", SPACE).study_id
    began = time.perf_counter()
    running = [writer(store.path, study, appends, f"w{i}") for i in range(processes)]
    failures = []
    for process in running:
        _, err = process.communicate()
        if process.returncode != 0:
            failures.append(err.strip().splitlines()[-1] if err.strip() else f"exit {process.returncode}")
    seconds = time.perf_counter() - began
    trials = store.trials(study)
    keys = Counter((t.trial.origin.details["writer"], t.trial.origin.details["i"]) for t in trials)
    expected = {(f"w{w}", i) for w in range(processes) for i in range(appends)}
    missing = len(expected - set(keys))
    duplicated = sum(1 for k, n in keys.items() if n > 1)
    ok = not failures and missing == 0 and duplicated == 0 and len(trials) == processes * appends
    text = table(
        ["processes", "appends each", "expected", "present", "missing", "duplicated", "writer errors", "wall s", "appends/s", "verdict"],
        [[processes, appends, processes * appends, len(trials), missing, duplicated, len(failures),
          f"{seconds:.1f}", f"{processes * appends / seconds:.0f}", "PASS" if ok else "FAIL"]],
    )
    return text, ok


# 2. Kills -------------------------------------------------------------------------------------
def kill_runs(work: Path, kills: int, seed: int) -> tuple[str, bool]:
    rng = random.Random(seed)
    store = ExperienceStore(work / "killed")
    rows, ok = [], True
    tallies = {"append": Counter(), "churn": Counter()}
    worst_lost = {"append": 0, "churn": 0}
    worst_extra = {"append": 0, "churn": 0}
    study_id = None
    torn_seen = 0
    for run in range(kills):
        kind = "churn" if run % 5 == 4 else "append"  # every fifth run hammers the index instead
        if kind == "append":
            process = writer(store.path, "killed", 10**6, f"run{run}", "--open")
        else:
            process = writer(store.path, f"churn{run}", 10**6, f"run{run}", "--churn")
        # Kill anywhere from start-up (before the store is touched) to deep in the writes.
        wait_for_first_line = rng.random() < 0.7
        if wait_for_first_line:
            first = process.stdout.readline()
            time.sleep(rng.uniform(0.0, 0.5))
        else:
            first = ""
            time.sleep(rng.uniform(0.0, 1.5))
        process.send_signal(signal.SIGKILL)
        # Read the rest through the same buffered reader: communicate() reads the raw pipe
        # and would miss lines that readline() already pulled into the buffer.
        rest = process.stdout.read()
        process.stderr.read()
        process.wait()
        lines = (first + rest).splitlines()
        acknowledged = {int(line.split()[1]) for line in lines if line.startswith("ok ")}
        torn_seen += _count_torn_tails(store)  # before the next writer repairs it
        try:
            store.summaries()
            loadable = True
        except StoreError as error:  # a corrupt file would be reported (and moved aside) here
            loadable, ok = False, False
            print(f"run {run}: store not loadable: {error}", file=sys.stderr)
        if kind == "append":
            if lines and lines[0].startswith("study "):
                study_id = lines[0].split()[1]
            present = set()
            if study_id is not None and loadable:
                present = {t.trial.origin.details["i"] for t in store.trials(study_id)
                           if t.trial.origin.details["writer"] == f"run{run}"}
        else:
            names = {s.name for s in store.studies()} if loadable else set()
            present = {i for i in acknowledged | {max(acknowledged, default=-1) + 1} if f"churn{run}-{i}" in names}
        lost = len(acknowledged - present)
        extra = len(present - acknowledged)
        worst_lost[kind] = max(worst_lost[kind], lost)
        worst_extra[kind] = max(worst_extra[kind], extra)
        phase = "before first write" if not acknowledged and not present else "while writing"
        tallies[kind][phase] += 1
        if lost or extra > 1:
            ok = False
        rows.append((kind, len(acknowledged), lost, extra, loadable))
    summary_rows = []
    for kind in ("append", "churn"):
        runs = [r for r in rows if r[0] == kind]
        if not runs:
            continue
        summary_rows.append([
            "append trials (resume, then append)" if kind == "append" else "create studies (index rewrites)",
            len(runs),
            ", ".join(f"{n} {p}" for p, n in sorted(tallies[kind].items())),
            f"{sum(r[1] for r in runs)}",
            "yes" if all(r[4] for r in runs) else "NO",
            worst_lost[kind],
            worst_extra[kind],
        ])
    text = table(
        ["writer killed", "kills", "killed when", "acknowledged writes", "loadable every time",
         "max acknowledged lost per kill", "max in-flight write kept per kill"],
        summary_rows,
    ) + (
        f"\n\nKills that left a torn (half-written) last line, ignored by readers and cut off by the next "
        f"append: {torn_seen}. Verdict: {'PASS' if ok else 'FAIL'}"
    )
    return text, ok


def _count_torn_tails(store: ExperienceStore) -> int:
    torn = 0
    for log in store.path.glob("trials/*.jsonl"):
        data = log.read_bytes()
        torn += bool(data) and not data.endswith(b"\n")
    return torn


# 3. Full disk -----------------------------------------------------------------------------------
@contextlib.contextmanager
def small_filesystem(work: Path, size_kib: int = 2048):
    """A size-limited folder: a loop-mounted ext4 image, else tmpfs; yields (path, how)."""
    mount_point = work / "small-fs"
    mount_point.mkdir()
    image = work / "small-fs.img"
    attempts = []
    try:
        with open(image, "wb") as handle:
            handle.truncate(size_kib * 1024)
        subprocess.run(["mkfs.ext4", "-q", "-m", "0", str(image)], check=True, capture_output=True)
        subprocess.run(["mount", "-o", "loop", str(image), str(mount_point)], check=True, capture_output=True)
        how = f"loop-mounted ext4 image of {size_kib} KiB (mkfs.ext4 -m 0; mount -o loop)"
    except (OSError, subprocess.CalledProcessError) as error:
        attempts.append(f"loop mount failed ({error})")
        try:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount_point)],
                           check=True, capture_output=True)
            how = f"tmpfs with size={size_kib}k (" + "; ".join(attempts) + ")"
        except (OSError, subprocess.CalledProcessError) as error2:
            attempts.append(f"tmpfs mount failed ({error2})")
            yield None, "; ".join(attempts)
            return
    try:
        yield mount_point, how
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)
        image.unlink(missing_ok=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    chunk = b"\0" * 4096
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    with contextlib.suppress(OSError):  # also take the last few bytes the chunked writes left
        with open(filler, "ab") as handle:
            while True:
                handle.write(b"\0")
                handle.flush()
    return filler


def _big_failed_trial(number: int) -> FrozenTrial:
    # A failed trial with a long traceback needs new disk blocks (a tiny line could fit in
    # the slack of the log's last block and succeed even on a full disk).
    return FrozenTrial(number, {"x": 0.5}, TrialState.FAILED, Origin("random"), error="Traceback\n" + "x" * 16_000,
                       started_at=time.time(), finished_at=time.time())


def full_disk(work: Path, simulate: bool) -> tuple[str, bool]:
    rows, ok = [], True
    with small_filesystem(work) if not simulate else contextlib.nullcontext((None, "simulated")) as (folder, how):
        if folder is None:
            how = f"simulated ENOSPC by patching os.write ({how})"
            folder = work / "simulated"
            folder.mkdir()
        store = ExperienceStore(folder / "store")
        session = store.open_study("before-full", SPACE)
        for i in range(5):
            session.record_trial(FrozenTrial(i, {"x": i / 10}, TrialState.COMPLETE, Origin("random"), value=float(i),
                                             started_at=time.time(), finished_at=time.time()))
        export = work / "to-import.json"
        other = ExperienceStore(work / "other")
        other.open_study("colleague", SPACE).record_trial(_big_failed_trial(0))
        other.export_json(export)
        store.summaries()  # the cache is derived data; it is not part of the comparison
        before = snapshot(store)
        filler = None
        restore = None
        if "simulated" in how:
            from jupyter_metahpo.store import storage

            def no_space(fd, data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            real = storage.os.write
            storage.os.write = no_space
            restore = lambda: setattr(storage.os, "write", real)  # noqa: E731
        else:
            filler = _fill(folder)
        operations = [
            ("append a trial", lambda: session.record_trial(_big_failed_trial(5))),
            ("open a new study (index rewrite)", lambda: store.open_study("during-full", SPACE)),
            ("finish the study (index rewrite)", lambda: session.finish("finished")),
            ("import a JSON export", lambda: store.import_json(export)),
        ]
        for label, operation in operations:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    operation()
                # The session's trial write failed first: finish() warns, so that the trial's error is the one raised.
                warned = [str(w.message) for w in caught if "ENOSPC" in str(w.message)]
                outcome, names_cause = "no error (fit in free slack)", "-"
                if warned:
                    outcome = "RuntimeWarning (the failed trial's error is the one raised)"
                    names_cause = "yes" if "disk is full" in warned[0] else "NO"
            except StoreWriteError as error:
                outcome = "StoreWriteError"
                names_cause = "yes" if "ENOSPC" in str(error) and "disk is full" in str(error) else "NO"
                message = str(error)
            except Exception as error:  # noqa: BLE001 - the point is to see which error escaped
                outcome, names_cause, message = f"{type(error).__name__} (unexpected)", "NO", str(error)
                ok = False
            unchanged = snapshot(ExperienceStore(store.path)) == before
            try:
                loads = len(ExperienceStore(store.path).trials(session.study_id)) == 5
            except StoreError:
                loads = False
            ok = ok and unchanged and loads and names_cause == "yes"
            rows.append([label, outcome, names_cause, "yes" if unchanged else "NO", "yes" if loads else "NO"])
        if restore is not None:
            restore()
        if filler is not None:
            filler.unlink()
        session.record_trial(_big_failed_trial(5))  # space is back: writing works again
        recovered = len(store.trials(session.study_id)) == 6
        ok = ok and recovered
        text = (
            f"File system: {how}.\n\n"
            + table(["operation on a full disk", "outcome", "error names the cause (ENOSPC, disk full)",
                     "previous store unchanged", "previous store loads"], rows)
            + f"\n\nExample message: {message.splitlines()[0][:240]}\n"
            + f"After freeing space, the next append works: {'yes' if recovered else 'NO'}. "
            + f"Verdict: {'PASS' if ok else 'FAIL'}"
        )
    return text, ok


# 4. Malformed imports ----------------------------------------------------------------------------
def malformed_imports(work: Path) -> tuple[str, bool]:
    source = ExperienceStore(work / "source")
    session = source.open_study("source", SPACE, task={"name": "t", "meta_features": {"rows": 10.0}})
    for i in range(3):
        session.record_trial(FrozenTrial(i, {"x": i / 10}, TrialState.COMPLETE, Origin("random"), value=float(i)))
    export = work / "valid.json"
    source.export_json(export)
    payload = json.loads(export.read_text())
    target = ExperienceStore(work / "target")
    target.open_study("mine", SPACE).record_trial(FrozenTrial(0, {"x": 0.1}, TrialState.COMPLETE, Origin("random"), value=1.0))
    before = snapshot(target)
    rows, ok = [], True
    for label, data, expected in malformed_corpus(payload):
        bad = work / "bad.json"
        bad.write_bytes(data)
        try:
            target.import_json(bad)
            outcome, detail = "ACCEPTED", ""
        except ImportValidationError as error:
            outcome = "rejected"
            detail = error.problems[0]
        except Exception as error:  # noqa: BLE001
            outcome, detail = f"{type(error).__name__} (unexpected)", str(error)
        unchanged = snapshot(target) == before
        good = outcome == "rejected" and expected in detail and unchanged
        ok = ok and good
        rows.append([label, outcome, detail[:110].replace("|", "/"), "yes" if unchanged else "NO", "PASS" if good else "FAIL"])
    accepted = target.import_json(export)
    text = table(["malformed file", "outcome", "first problem reported (location: reason)", "store unchanged", "verdict"], rows)
    text += f"\n\nThe valid file then imports: {accepted}."
    return text, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 x 100 appends and 10 kills")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--simulate-full-disk", action="store_true", help="patch os.write instead of mounting")
    parser.add_argument("--out", type=Path, default=RESULTS / "store_reliability.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.processes, args.appends, args.kills = 2, 100, 10
    sections, verdicts = [], {}
    work = Path(tempfile.mkdtemp(prefix="store-reliability-"))
    try:
        for title, run in [
            (f"1. {args.processes} processes x {args.appends} appends at once", lambda: concurrent_writers(work, args.processes, args.appends)),
            (f"2. {args.kills} writers killed with SIGKILL at random moments", lambda: kill_runs(work, args.kills, args.seed)),
            ("3. A full disk during writes", lambda: full_disk(work, args.simulate_full_disk)),
            ("4. Malformed import files", lambda: malformed_imports(work)),
        ]:
            began = time.perf_counter()
            text, ok = run()
            verdicts[title] = ok
            section = f"## {title}\n\n{text}\n\n({time.perf_counter() - began:.0f} s)"
            print(section + "\n", flush=True)
            sections.append(section)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    overall = "ALL PASS" if all(verdicts.values()) else "FAILURES: " + ", ".join(t for t, ok in verdicts.items() if not ok)
    print(overall)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Experience store reliability\n\n" + "\n\n".join(sections) + f"\n\n**{overall}**\n\n"
        f"Command: {command_line(__file__, argv)}\n"
    )
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
