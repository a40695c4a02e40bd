"""A first run: tune an RBF support vector classifier on scikit-learn's wine data.

    python -m jupyter_metahpo.demo [--trials 20] [--seed 0] [--store PATH] [--strategy default]

The task is described by its data (meta-features), so the first trials come warm from
the most similar tasks of the bundled prior and your own past studies; each trial's
origin says where it came from. The study is recorded in your experience store
(``metahpo list`` shows it) unless ``--store none`` is given.
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_wine
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .api import tune
from .builtin_spaces import get_builtin_space


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_metahpo.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="number of trials (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--store", default=None, help="experience store folder, or 'none' to record nothing")
    parser.add_argument("--strategy", default="default", help="warm-start strategy, or 'none' for a cold start")
    args = parser.parse_args(argv)

    X, y = load_wine(return_X_y=True)
    svc = get_builtin_space("svc")

    def balanced_accuracy(**config):
        model = make_pipeline(StandardScaler(), svc.build(config))
        return cross_val_score(model, X, y, cv=3, scoring="balanced_accuracy").mean()

    result = tune(
        balanced_accuracy,
        svc.space,
        n_trials=args.trials,
        direction="maximize",
        seed=args.seed,
        data=(X, y),
        strategy=args.strategy,
        name="demo: SVC on wine",
        store=False if args.store == "none" else args.store,
        resume=False,
        progress=True,
    )
    print()
    columns = ["number", "value", *svc.space, "origin", "source_task"]
    top = result.dataframe.sort_values("value", ascending=False).head(5)
    print(top[[c for c in columns if c in top.columns]].to_string(index=False))
    if result.study_id is not None:
        print(f"\nRecorded as study {result.study_id}; `metahpo list` shows your studies.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
