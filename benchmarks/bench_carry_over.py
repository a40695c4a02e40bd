"""What partial-space transfer adds to the start of a study: the compatibility pass, timed.

    python benchmarks/bench_carry_over.py                 # the full prior + a 1,000-study store
    python benchmarks/bench_carry_over.py --store-studies 100 --repeats 3

Before partial-space transfer, a study's compatibility pass matched past spaces by name
and kind only (``meta.compat.transfer_studies``). Now it also matches by alias and by the
estimator arguments the objective sets, converts kinds, and asks for evidence of
relatedness (comparing objective sources). The past studies are the bundled prior (458)
plus a store of ``--store-studies`` studies of 30 trials each, of several spaces and
objectives, each with a recorded objective source (what ``tune`` writes); they are made
in memory, since reading the store is the same before and after (and is issue 20's
benchmark). For three spaces a user writes (the random forest cell with its own names,
a PyTorch loop's space, a space matching no past study), it times:

* ``name only``: the former pass (name-and-kind matching, no relatedness);
* ``carry_over``: the pass now (``meta.carry.carry_over``) with the user's objective source;
* ``describe``: reading the objective's source (``meta.source.describe_objective``);

and prints the medians and the added time, ``carry_over + describe - name only``
(the issue's goal: under 0.3 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._command import command_line  # noqa: E402
from jupyter_metahpo.experience import PastStudy  # noqa: E402
from jupyter_metahpo.meta.carry import carry_over  # noqa: E402
from jupyter_metahpo.meta.compat import transfer_studies  # noqa: E402
from jupyter_metahpo.meta.relatedness import StudyContext  # noqa: E402
from jupyter_metahpo.meta.source import describe_objective  # noqa: E402
from jupyter_metahpo.meta.strategies import TaskDescription  # noqa: E402
from jupyter_metahpo.prior.load import load_prior  # noqa: E402
from jupyter_metahpo.space import SearchSpace, choice, intrange, loguniform, uniform  # noqa: E402

RF_CELL = """
def train(trees, depth, leaf, max_features):
    model = RandomForestClassifier(n_estimators=trees, max_depth=depth, min_samples_leaf=leaf,
                                   max_features=max_features, random_state=0)
    return cross_val_score(model, X, y, cv=3).mean()
"""
TORCH_CELL = """
def train(lr, hidden, wd, bs, epochs):
    net = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
    for epoch in range(epochs):
        for xb, yb in DataLoader(data, batch_size=bs, shuffle=True):
            opt.zero_grad(); loss_fn(net(xb), yb).backward(); opt.step()
    return accuracy(net)
"""
HGB_SUBSET_CELL = """
def train(lr, leaves, leaf):
    model = HistGradientBoostingClassifier(learning_rate=lr, max_leaf_nodes=leaves, min_samples_leaf=leaf,
                                           max_iter=100)
    return cross_val_score(model, X, y, cv=3).mean()
"""
SVC_SUBSET_CELL = """
def train(C, gamma):
    return cross_val_score(SVC(C=C, gamma=gamma, class_weight=None), X, y, cv=3).mean()
"""
ODD_CELL = """
def score(alpha, beta):
    return simulate(alpha=alpha, beta=beta)
"""

USER_SPACES = {
    "random forest cell": (RF_CELL, SearchSpace({
        "trees": intrange(10, 300, log=True), "depth": intrange(2, 20), "leaf": intrange(1, 20),
        "max_features": choice("sqrt", "log2", None),
    })),
    "PyTorch loop": (TORCH_CELL, SearchSpace({
        "lr": loguniform(1e-4, 1e-1), "hidden": intrange(16, 512, log=True), "wd": loguniform(1e-6, 1e-2),
        "bs": choice(16, 32, 64, 128), "epochs": intrange(5, 50),
    })),
    # Subsets with fixed values: every past study is read at them (meta/slicing.py), the pass's costliest case.
    "HGB subset, max_iter=100": (HGB_SUBSET_CELL, SearchSpace({
        "lr": loguniform(1e-3, 1.0), "leaves": intrange(4, 256, log=True), "leaf": intrange(1, 100, log=True),
    })),
    "SVC subset, class_weight=None": (SVC_SUBSET_CELL, SearchSpace({
        "C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-4, 1.0),
    })),
    "no past match": (ODD_CELL, SearchSpace({"alpha": uniform(0, 1), "beta": loguniform(1e-3, 1.0)})),
}

#: The spaces and objectives of the synthetic store: a user's earlier studies.
STORE_SPACES = [
    (RF_CELL, USER_SPACES["random forest cell"][1]),
    (TORCH_CELL, USER_SPACES["PyTorch loop"][1]),
    ("def f(x, y):\n    return x ** 2 + y ** 2\n", SearchSpace({"x": uniform(-3, 3), "y": uniform(-3, 3)})),
    ("def g(C, gamma):\n    return cross_val_score(SVC(C=C, gamma=gamma), X, y).mean()\n",
     SearchSpace({"C": loguniform(1e-3, 1e3), "gamma": loguniform(1e-4, 1.0)})),
]


def store_studies(n: int, trials: int, seed: int = 0) -> list[PastStudy]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cell, space = STORE_SPACES[i % len(STORE_SPACES)]
        source = describe_objective(cell, space.names)
        configs = [space.sample(rng) for _ in range(trials)]
        out.append(PastStudy.from_arrays(
            f"store-{i}", f"task-{i}", space, "maximize", configs, rng.random(trials).tolist(),
            extra={"name": f"study {i}", "objective_source": None if source is None else source.to_json()},
        ))
    return out


def median_seconds(function, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``function()``: the CPU time is what the pass itself
    costs when other jobs share the cores (the wall clock then also counts their turns)."""
    walls, cpus = [], []
    for _ in range(repeats):
        began, began_cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store-studies", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=30, help="trials per store study")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    past = load_prior() + store_studies(args.store_studies, args.trials)
    print(f"{command_line(__file__, argv)}\n{len(past)} past studies (the prior and {args.store_studies} of a store)\n")
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores); wall s, CPU s in brackets\n")
    print("| user space | name only (s) | carry_over (s) | describe (s) | added (s) | sources |")
    print("|---|---|---|---|---|---|")
    for label, (cell, space) in USER_SPACES.items():
        source = describe_objective(cell, space.names)
        context = StudyContext(task=TaskDescription(), source=source)
        name_only = median_seconds(lambda: transfer_studies(past, space), args.repeats)
        carried = median_seconds(lambda: carry_over(past, space, context), args.repeats)
        describe = median_seconds(lambda: describe_objective(cell, space.names), args.repeats)
        usable, _ = carry_over(past, space, context)
        added = [c + d - n for c, d, n in zip(carried, describe, name_only)]
        cells = [f"{wall:.3f} [{cpu:.3f}]" for wall, cpu in (name_only, carried, describe, added)]
        print(f"| {label} | {' | '.join(cells)} | {len(usable)} |")


if __name__ == "__main__":
    main()
