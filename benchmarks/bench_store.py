"""How the experience store's costs grow with its size, against a naive TinyDB file.

    python benchmarks/bench_store.py                 # 1k, 10k, 100k trials (about 1-2 minutes)
    python benchmarks/bench_store.py --sizes 1000    # a quick look

For each size the store is built by writing its files directly (fast), then measured
only through the public API:

* append: ``ExperienceStore.append_trial`` of one trial (durable: fsync), median and
  90th percentile over ``--appends`` appends spread over random studies;
* summaries: ``ExperienceStore.summaries()`` (every study's space signature, task
  meta-features and best trials) from a new store object, after the appends, from the
  same object, and cold (no cache file: a one-time rebuild);
* past studies: ``ExperienceStore.past_studies()`` for one space signature (what a
  warm start reads);
* naive: one ``TinyDB.insert`` into a single TinyDB file (default JSONStorage) that
  holds the same number of trial documents -- the layout the store avoids.

The table is printed and saved to ``benchmarks/results/bench_store.md``.
Goals at 100k trials: append <= 20 ms median, summaries <= 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for benchmarks._command

from benchmarks._command import command_line  # noqa: E402
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform  # noqa: E402
from jupyter_metahpo.store import ExperienceStore  # noqa: E402
from jupyter_metahpo.trial import FrozenTrial, Origin, TrialState  # noqa: E402

RESULTS = Path(__file__).parent / "results"
TRIALS_PER_STUDY = 100
#: A few space families, so ``past_studies(signature)`` selects a fraction of the store.
SPACES = [
    SearchSpace({"lr": loguniform(1e-4, 0.3), "depth": intrange(2, 12), "loss": choice("log_loss", "exponential")}),
    SearchSpace({"C": loguniform(1e-3, 1e3), "gamma": loguniform(1e-4, 1.0)}),
    SearchSpace({"n_estimators": intrange(10, 500, log=True), "max_features": uniform(0.1, 1.0)}),
    SearchSpace({"alpha": loguniform(1e-6, 1.0), "l1_ratio": uniform(0.0, 1.0), "fit_intercept": choice(True, False)}),
]


def trial_doc(rng: random.Random, space: SearchSpace, number: int) -> dict:
    config = space.sample(rng.randrange(2**31))
    started = 1.7e9 + number
    return {
        "type": "trial", "id": f"{rng.getrandbits(64):016x}", "number": number, "config": config,
        "state": "complete", "origin": {"source": "sobol", "reason": "initial design", "details": {}},
        "value": rng.random(), "metrics": {"accuracy": rng.random()}, "error": None,
        "started_at": started, "finished_at": started + 1.0, "suggest_seconds": 0.001, "recorded_at": started + 1.0,
    }


def build_store(root: Path, n_trials: int, seed: int = 0) -> tuple[ExperienceStore, list[str], dict]:
    """Write index.json and the study logs directly, as the store itself would have."""
    rng = random.Random(seed)
    n_studies = max(1, n_trials // TRIALS_PER_STUDY)
    (root / "trials").mkdir(parents=True)
    tasks, studies, sample_trial = {}, {}, None
    for s in range(n_studies):
        space = SPACES[s % len(SPACES)]
        task = {
            "id": f"task{s:012d}", "name": f"dataset-{s}", "meta_features": {f"mf{j}": rng.random() for j in range(30)},
            "meta_feature_set": "mhpo-v1", "data_fingerprint": f"{rng.getrandbits(64):016x}", "created_at": 1.7e9,
        }
        study = {
            "id": f"study{s:011d}", "name": f"study-{s}", "task_id": task["id"], "space": space.to_json(),
            "signature": space.signature, "objective": "train", "metric": None, "direction": "maximize",
            "settings": {"n_trials": TRIALS_PER_STUDY, "timeout": None, "seed": s, "sampler": None},
            "versions": {"python": "3.11", "jupyter-metahpo": "0.1.0"}, "status": "finished",
            "started_at": 1.7e9 + s, "ended_at": 1.7e9 + s + 100,
        }
        tasks[str(s + 1)], studies[str(s + 1)] = task, study
        lines = [{"type": "study", "schema_version": 1, **study, "task": task}]
        lines += [trial_doc(rng, space, i) for i in range(TRIALS_PER_STUDY)]
        lines.append({"type": "end", "status": "finished", "ended_at": study["ended_at"]})
        (root / "trials" / f"{study['id']}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        sample_trial = lines[1]
    index = {"_meta": {"1": {"schema_version": 1}}, "tasks": tasks, "studies": studies}
    (root / "index.json").write_text(json.dumps(index))
    return ExperienceStore(root), [s["id"] for s in studies.values()], sample_trial


def build_naive_tinydb(path: Path, n_trials: int, sample: dict) -> None:
    """One TinyDB file holding every trial as a document (TinyDB's own JSON layout)."""
    docs = {str(i + 1): dict(sample, number=i, id=f"{i:016x}") for i in range(n_trials)}
    path.write_text(json.dumps({"_default": docs}))


#: CPU seconds of the last ``timed`` call's runs. On a shared, loaded machine the wall
#: time includes waiting for a core; the CPU time is what the code itself costs.
LAST_CPU: list[float] = []


def timed(function, repeat: int) -> list[float]:
    out = []
    LAST_CPU.clear()
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        function()
        out.append(time.perf_counter() - began)
        LAST_CPU.append(time.process_time() - cpu)
    return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(n_trials: int, appends: int, naive_repeat: int, work: Path) -> dict:
    store, study_ids, sample = build_store(work / f"store-{n_trials}", n_trials)
    rng = random.Random(1)
    space = SPACES[0]
    trial_numbers = iter(range(TRIALS_PER_STUDY, 10**9))

    def fresh():  # what a new kernel sees: a new store object, the cache file as left on disk
        return ExperienceStore(store.path)

    cold = timed(lambda: (store._layout.summaries.unlink(missing_ok=True), fresh().summaries()), 3)
    append_times = []
    for _ in range(appends):
        study = study_ids[rng.randrange(0, len(study_ids), len(SPACES))]  # a study over SPACES[0]
        trial = FrozenTrial(next(trial_numbers), space.sample(rng.randrange(2**31)), TrialState.COMPLETE,
                            Origin("gp"), value=rng.random(), started_at=time.time(), finished_at=time.time())
        began = time.perf_counter()
        store.append_trial(study, trial)
        append_times.append(time.perf_counter() - began)
    after_appends = timed(lambda: fresh().summaries(), 3)  # reads the appended lines as deltas
    warm = timed(lambda: fresh().summaries(), 5)
    warm_cpu = list(LAST_CPU)
    same_object = fresh()
    same_object.summaries()
    warm_same = timed(same_object.summaries, 5)
    past = timed(lambda: fresh().past_studies(space.signature), 3)

    naive_path = work / f"naive-{n_trials}.json"
    build_naive_tinydb(naive_path, n_trials, sample)
    from tinydb import TinyDB

    db = TinyDB(naive_path)
    naive = timed(lambda: db.insert(dict(sample, id="new")), naive_repeat)
    db.close()
    summaries = store.summaries()
    assert sum(s.n_trials for s in summaries) == n_trials + appends, "the store lost or invented trials"
    return {
        "trials": n_trials,
        "studies": len(study_ids),
        "append_median_ms": 1e3 * statistics.median(append_times),
        "append_p90_ms": 1e3 * quantile(append_times, 0.9),
        "naive_insert_ms": 1e3 * statistics.median(naive),
        "summaries_cold_ms": 1e3 * statistics.median(cold),
        "summaries_after_appends_ms": 1e3 * statistics.median(after_appends),
        "summaries_warm_ms": 1e3 * statistics.median(warm),
        "summaries_warm_cpu_ms": 1e3 * statistics.median(warm_cpu),
        "summaries_same_object_ms": 1e3 * statistics.median(warm_same),
        "past_studies_ms": 1e3 * statistics.median(past),
        "past_studies_n": len(store.past_studies(space.signature)),
    }


def render(rows: list[dict], appends: int) -> str:
    lines = [
        f"Experience store vs a naive single TinyDB file (append: median / p90 of {appends} durable appends; "
        "summaries: median; ratio = naive insert / store append)",
        "",
        "| trials | studies | append median ms | append p90 ms | naive TinyDB insert ms | ratio | "
        "summaries ms (CPU ms) | after the appends ms | same object ms | cold rebuild ms | past_studies(sig) ms (n) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['trials']:,} | {r['studies']:,} | {r['append_median_ms']:.2f} | {r['append_p90_ms']:.2f} | "
            f"{r['naive_insert_ms']:.1f} | {r['naive_insert_ms'] / r['append_median_ms']:.0f}x | "
            f"{r['summaries_warm_ms']:.1f} ({r['summaries_warm_cpu_ms']:.0f}) | {r['summaries_after_appends_ms']:.1f} | {r['summaries_same_object_ms']:.1f} | "
            f"{r['summaries_cold_ms']:.0f} | {r['past_studies_ms']:.1f} ({r['past_studies_n']}) |"
        )
    big = max(rows, key=lambda r: r["trials"])
    lines += [
        "",
        "summaries: a new ExperienceStore object (as in a new kernel) with the cache file on disk, median of 5, "
        "wall time and (CPU time of this process); "
        "after the appends: the first such loads after the appends (they read the appended lines); same object: "
        "repeated loads in one kernel; cold rebuild: no cache file (after an upgrade or a deleted cache), once.",
        "",
        f"Goal at {big['trials']:,} trials: append <= 20 ms median -> {big['append_median_ms']:.2f} ms "
        f"({'met' if big['append_median_ms'] <= 20 else 'MISSED'}), {big['naive_insert_ms'] / big['append_median_ms']:.0f}x "
        f"faster than a naive TinyDB insert; summaries <= 200 ms -> {big['summaries_warm_ms']:.1f} ms "
        f"(after appends {big['summaries_after_appends_ms']:.1f} ms; CPU {big['summaries_warm_cpu_ms']:.0f} ms) "
        f"({'met' if max(big['summaries_warm_ms'], big['summaries_after_appends_ms']) <= 200 else 'MISSED in wall time'}).",
        f"Load average while measuring: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs "
        "(1 / 5 / 15 min); wall times above include waiting for a core.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--naive-repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_store.md")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-store-") as work:
        for size in args.sizes:
            row = measure(size, args.appends, args.naive_repeat, Path(work))
            rows.append(row)
            print(f"measured {size:,} trials", file=sys.stderr, flush=True)
    text = render(rows, args.appends)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        text + f"\n\nCommand: {command_line(__file__, argv)}\n"
        f"Machine: {__import__('platform').platform()}, {os.cpu_count()} CPUs (shared).\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
