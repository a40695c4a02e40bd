"""Meta-feature timing: our ``mhpo-v1`` set against pymfe, at 10,000 x 100 by default.

Prints a table of seconds per call (median of ``--repeats`` for ours, one call per
pymfe configuration since those take much longer) and the ratio pymfe / ours.
The goal for ours is under 1 s at 10,000 x 100.

    python benchmarks/bench_metafeatures.py
    python benchmarks/bench_metafeatures.py --rows 20000 --columns 100 --skip-pymfe
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def make_data(rows: int, columns: int, seed: int = 0):
    from sklearn.datasets import make_classification

    X, y = make_classification(rows, columns, n_informative=min(10, columns), random_state=seed)
    return X, y


def make_mixed(rows: int, columns: int, seed: int = 0):
    """A DataFrame with 80% numeric and 20% text columns and 5% missing cells."""
    import pandas as pd

    X, y = make_data(rows, columns, seed)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(columns)])
    for j in range(0, columns, 5):
        frame[f"x{j}"] = np.where(X[:, j] > 0, "high", np.where(X[:, j] > -1, "mid", "low"))
    mask = rng.random(frame.shape) < 0.05
    frame = frame.mask(mask)
    return frame, y


def time_ours(X, y, repeats: int) -> tuple[float, int]:
    from jupyter_metahpo.meta.features import compute_meta_features

    compute_meta_features(X, y)  # warm imports (scikit-learn) outside the timing
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        features = compute_meta_features(X, y)
        times.append(time.perf_counter() - began)
    return float(np.median(times)), len(features.values)


def time_pymfe(X, y, groups, summary) -> tuple[float, int]:
    from pymfe.mfe import MFE

    began = time.perf_counter()
    mfe = MFE(groups=groups, summary=summary, random_state=0)
    mfe.fit(X, y, suppress_warnings=True)
    names, _ = mfe.extract(suppress_warnings=True)
    return time.perf_counter() - began, len(names)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-pymfe", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    X, y = make_data(args.rows, args.columns)
    print(f"Meta-feature extraction at {args.rows} x {args.columns} (seconds per call)")
    print(f"{'extractor':<52} {'seconds':>8} {'features':>9} {'x ours':>7}")
    ours, n_ours = time_ours(X, y, args.repeats)
    print(f"{'ours mhpo-v1, numeric (median of %d)' % args.repeats:<52} {ours:8.3f} {n_ours:9d} {1.0:7.2f}")
    mixed, mixed_y = make_mixed(args.rows, args.columns)
    ours_mixed, _ = time_ours(mixed, mixed_y, args.repeats)
    print(f"{'ours mhpo-v1, 20% text columns + 5% missing':<52} {ours_mixed:8.3f} {n_ours:9d} {ours_mixed / ours:7.2f}")
    if args.skip_pymfe:
        return
    for label, groups, summary in (
        ("pymfe general", ["general"], ["mean", "sd"]),
        ("pymfe landmarking", ["landmarking"], ["mean", "sd"]),
        ("pymfe info-theory", ["info-theory"], ["mean", "sd"]),
        ("pymfe statistical", ["statistical"], ["mean", "sd"]),
        ("pymfe general+statistical+info-theory+landmarking", ["general", "statistical", "info-theory", "landmarking"], ["mean", "sd"]),
    ):
        seconds, count = time_pymfe(X, y, groups, summary)
        print(f"{label:<52} {seconds:8.3f} {count:9d} {seconds / ours:7.2f}", flush=True)


if __name__ == "__main__":
    main()
