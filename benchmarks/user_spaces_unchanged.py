"""Check that a change of our sampler leaves the user-space benchmark's other cases as they ran.

    python benchmarks/user_spaces_unchanged.py --cases a b d e f --pools-per-family 2 --seeds 0 1

``UserOurs.case_versions`` (``benchmarks/_loo/user_runner.py``) gives a new version to the
cases a change alters and keeps the stored runs of the others. This reruns our default
sampler on the stored runs of the cases it keeps, on the first pools of each family, and
compares every curve with the stored one; it prints the runs compared and those that differ,
and exits 1 when any differs or none was stored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._loo.cache import RunCache  # noqa: E402
from benchmarks._loo.runner import leave_one_out_jobs  # noqa: E402
from benchmarks._loo.user_runner import UserOurs, _jobs_for, _run, user_tasks  # noqa: E402
from benchmarks._loo.user_spaces import POOL_FAMILIES, family_cases  # noqa: E402
from benchmarks.bench_user_spaces import META_FEATURE_CACHE, RUN_CACHE, load_studies  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=["a", "b", "d", "e", "f"])
    parser.add_argument("--families", nargs="+", default=list(POOL_FAMILIES))
    parser.add_argument("--pools-per-family", type=int, default=2)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--budget", type=int, default=25)
    args = parser.parse_args(argv)

    from benchmarks.bench_prior_loo import pick_tasks

    studies, held_out = load_studies(args.families, META_FEATURE_CACHE)
    held_out = pick_tasks(held_out, args.pools_per_family)
    cache = RunCache(RUN_CACHE)
    ours = UserOurs()
    compared, differ = 0, []
    for pool, past in leave_one_out_jobs(held_out, studies):
        cases = {c: case for c, case in family_cases(pool.family).items() if c in args.cases}
        tasks = {task.key: task for task in user_tasks(pool, cases)}
        for job in _jobs_for(pool, past, cases, args.seeds, args.budget, references=False):
            if job.name != ours.name:
                continue
            record = cache.get(job.cache_key)
            if record is None:
                print(f"not stored: {job.key} seed {job.seed}")
                continue
            task = tasks[job.key]
            fresh = _run(ours, task, past, args.budget, job.seed, job.name, job.key, task.family)
            compared += 1
            # The cache stores curves rounded to 6 decimals.
            same = fresh.error is None and len(fresh.curve) == len(record["curve"]) and all(
                abs(a - b) <= 1e-6 for a, b in zip(fresh.curve, record["curve"]))
            if not same:
                differ.append(f"{job.key} seed {job.seed}")
            print(f"{'same' if same else 'DIFFERS'}: {job.key} seed {job.seed}", flush=True)
    print(f"\n{compared} runs compared, {len(differ)} differ" + (f": {', '.join(differ)}" if differ else ""))
    return 0 if compared and not differ else 1


if __name__ == "__main__":
    sys.exit(main())
