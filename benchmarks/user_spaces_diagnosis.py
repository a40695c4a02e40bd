"""Why the user-space benchmark misses where it misses: our warm start rerun with one thing changed.

    python benchmarks/user_spaces_diagnosis.py hgb-exact-classifiers   # ~1 min each
    python benchmarks/user_spaces_diagnosis.py svm-subset-class-weight-none
    python benchmarks/user_spaces_diagnosis.py rf-subset-without-hgb
    python benchmarks/user_spaces_diagnosis.py rf-subset-bootstrap-true
    python benchmarks/user_spaces_diagnosis.py rf-ranges-clip-all        # and rf-ranges, hgb-ranges[-clip-all]

Each runs ``ours: default`` on the same held-out pools and seeds as
``bench_user_spaces.py --pools-per-family 8 --seeds 0 1 2`` and prints its mean regret at
1/5/10/25, to set beside that run's table (``results/user_spaces.md``):

- ``hgb-exact-classifiers``: the built-in HGB space with only the classifier pools as
  the past, which is all a partial match (cases a, d, e) may use (``is_source``);
- ``svm-subset-class-weight-none``: case c of SVM (C and gamma; the cell fixes
  ``class_weight=None``) with the past trials restricted to ``class_weight=None``;
- ``rf-subset-without-hgb``: case c of the random forest without the HGB pools that its
  two parameter names let in (relatedness' ``space`` evidence);
- ``rf-subset-bootstrap-true``: case c of the random forest with the past trials
  restricted to ``bootstrap=True`` (the cell's value);
- ``rf-ranges``, ``hgb-ranges``: case b (other ranges) as the benchmark runs it, and
  ``...-clip-all`` with every past value outside the user's ranges clipped into them
  instead of dropped beyond ``compat.CLIP_TOLERANCE``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks.bench_prior_loo import ours_sampler, pick_tasks  # noqa: E402
from benchmarks.bench_user_spaces import META_FEATURE_CACHE, load_studies  # noqa: E402
from benchmarks._loo.methods import OursWarm  # noqa: E402
from benchmarks._loo.runner import leave_one_out_jobs, run_one  # noqa: E402
from benchmarks._loo.user_runner import UserOurs, _run, user_tasks  # noqa: E402
from benchmarks._loo.user_spaces import family_cases  # noqa: E402

SEEDS = (0, 1, 2)


def only_trials(study, parameter, value):
    """The study with only the trials whose ``parameter`` is ``value`` (unchanged when its space lacks it)."""
    if parameter not in study.space:
        return study
    keep = [i for i, config in enumerate(study.configs) if config[parameter] is value]
    return dataclasses.replace(study, configs=tuple(study.configs[i] for i in keep),
                               values=tuple(study.values[i] for i in keep))


def exact_space(family, past_filter):
    def run(task, past):
        return [run_one(OursWarm("ours", ours_sampler, "default"), task, past_filter(past), 25, s).curve for s in SEEDS]
    return family, run


def user_case(family, case, past_filter):
    def run(task, past):
        user = user_tasks(task, {case: family_cases(family)[case]})[0]
        return [_run(UserOurs(), user, past_filter(past), 25, s, "ours", user.key, family).curve for s in SEEDS]
    return family, run


def clipping_everything(family, case):
    """Case ``case`` with every past value outside the user's range clipped into it (none dropped)."""
    family, plain = user_case(family, case, lambda past: past)

    def run(task, past):
        from jupyter_metahpo.meta import compat

        former, compat.CLIP_TOLERANCE = compat.CLIP_TOLERANCE, float("inf")
        try:
            return plain(task, past)
        finally:
            compat.CLIP_TOLERANCE = former
    return family, run


VARIANTS = {
    "hgb-exact-classifiers": exact_space(
        "hgb", lambda past: [s for s in past if s.extra.get("task_type") == "classification"]),
    "svm-subset-class-weight-none": user_case(
        "svm", "c", lambda past: [only_trials(s, "class_weight", None) for s in past]),
    "rf-subset-without-hgb": user_case(
        "random_forest", "c", lambda past: [s for s in past if s.extra.get("family") != "hgb"]),
    "rf-subset-bootstrap-true": user_case(
        "random_forest", "c", lambda past: [only_trials(s, "bootstrap", True) for s in past]),
    "rf-ranges": user_case("random_forest", "b", lambda past: past),
    "rf-ranges-clip-all": clipping_everything("random_forest", "b"),
    "hgb-ranges": user_case("hgb", "b", lambda past: past),
    "hgb-ranges-clip-all": clipping_everything("hgb", "b"),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", choices=sorted(VARIANTS))
    args = parser.parse_args(argv)
    family, run = VARIANTS[args.variant]
    studies, held_out = load_studies([family], META_FEATURE_CACHE)
    per_pool = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for task, past in leave_one_out_jobs(pick_tasks(held_out, 8), studies):
            per_pool.append(run(task, past))
    means = {t: float(np.mean([np.mean([curve[t - 1] for curve in curves]) for curves in per_pool]))
             for t in (1, 5, 10, 25)}
    print(f"{args.variant}: ours: default, mean regret over {len(per_pool)} pools, seeds {list(SEEDS)}: "
          + ", ".join(f"@{t} {v:.3f}" for t, v in means.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
