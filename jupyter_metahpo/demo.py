"""A first run: tune an SVM on scikit-learn's breast-cancer data and print the best configuration.

    python -m jupyter_metahpo.demo [--trials 20] [--seed 0]
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_metahpo.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="number of trials (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from . import choice, loguniform, tune

    X, y = load_breast_cancer(return_X_y=True)
    space = {
        "C": loguniform(1e-3, 1e3),
        "gamma": loguniform(1e-5, 1e0),
        "kernel": choice("rbf", "sigmoid"),
    }

    def balanced_accuracy(C, gamma, kernel):
        model = make_pipeline(StandardScaler(), SVC(C=C, gamma=gamma, kernel=kernel))
        return cross_val_score(model, X, y, cv=3, scoring="balanced_accuracy").mean()

    result = tune(
        balanced_accuracy,
        space,
        n_trials=args.trials,
        direction="maximize",
        seed=args.seed,
        name="demo: SVC on breast cancer",
        progress=True,
    )
    print()
    print(result.dataframe[["number", "value", *space, "origin"]].sort_values("value", ascending=False).head(5).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
