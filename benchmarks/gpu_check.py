"""GPU check for parallel trials (issue 21): notebook 3's digits CNN on every visible GPU at once.

    python benchmarks/gpu_check.py                 # on a machine with GPUs; says so and exits 0 without one
    python benchmarks/gpu_check.py --cpu-workers 2 # the same path on CPU workers, to check the script itself

With ``n`` visible GPUs it starts a Dask cluster of ``n`` worker processes, worker ``i``
seeing only GPU ``i`` (``CUDA_VISIBLE_DEVICES``, as dask-cuda does) and offering the
resource ``{"GPU": 1}``, then runs ``tune(..., client=client, n_jobs=n, resources={"GPU": 1})``
on the CNN of ``notebooks/03-your-own-training-loop.ipynb`` (same model, same training
loop, ``cuda`` when the worker has one). It prints, per trial, the GPU it ran on and its
accuracy, and fails (exit 1) unless every trial completed on a GPU and every GPU ran one.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from jupyter_metahpo import choice, intrange, loguniform, tune  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _digits_cnn import make_cnn  # noqa: E402  (notebook 3's network, as the pruning benchmark trains it)

SPACE = {
    "learning_rate": loguniform(1e-4, 3e-2),
    "batch_size": choice(16, 32, 64, 128),
    "channels": intrange(4, 32, log=True),
    "hidden": intrange(16, 256, log=True),
}


def validation_accuracy(learning_rate: float, batch_size: int, channels: int, hidden: int, epochs: int = 10) -> float:
    """Notebook 3's training loop, on ``cuda`` when this worker has a GPU; prints where it ran."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    where = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    print(f"device={device.type} gpu={os.environ.get('CUDA_VISIBLE_DEVICES', '-')} name={where}")
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")
    X_train, X_val, y_train, y_val = train_test_split(images, digits.target, test_size=0.25, stratify=digits.target,
                                                      random_state=0)
    torch.manual_seed(0)
    model = make_cnn(channels, hidden).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    X_train = torch.from_numpy(X_train).unsqueeze(1).to(device)
    y_train = torch.from_numpy(y_train).long().to(device)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X_train), device=device)
        for start in range(0, len(X_train), batch_size):
            batch = order[start:start + batch_size]
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(X_val).unsqueeze(1).to(device)).argmax(dim=1).cpu().numpy()
    return float((predicted == y_val).mean())


def start_cluster(n_workers: int, gpus: bool):
    """One single-thread worker per GPU, each seeing only its own GPU and offering ``{"GPU": 1}``."""
    from distributed import Client, Nanny, Scheduler, SpecCluster

    def options(i: int) -> dict:
        if not gpus:
            return {"nthreads": 1}
        return {"nthreads": 1, "resources": {"GPU": 1}, "env": {"CUDA_VISIBLE_DEVICES": str(i)}}

    workers = {f"gpu-{i}" if gpus else f"cpu-{i}": {"cls": Nanny, "options": options(i)} for i in range(n_workers)}
    cluster = SpecCluster(scheduler={"cls": Scheduler, "options": {"dashboard_address": ":0"}}, workers=workers)
    return cluster, Client(cluster)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials-per-gpu", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cpu-workers", type=int, default=0,
                        help="without GPUs, run the same path on this many CPU workers (checks the script itself)")
    args = parser.parse_args(argv)
    n_gpus = torch.cuda.device_count()
    if n_gpus == 0 and not args.cpu_workers:
        print("no GPU is visible (torch.cuda.device_count() == 0): nothing to check here; run this where GPUs are.")
        return 0
    gpus = n_gpus > 0
    n = n_gpus if gpus else args.cpu_workers
    print(f"{n} {'GPU' if gpus else 'CPU worker'}{'s' * (n != 1)}: "
          + (", ".join(torch.cuda.get_device_name(i) for i in range(n)) if gpus else "no GPU (--cpu-workers)"))
    cluster, client = start_cluster(n, gpus)
    try:
        began = time.perf_counter()
        objective = lambda **config: validation_accuracy(epochs=args.epochs, **config)  # noqa: E731
        result = tune(objective, SPACE, n_trials=args.trials_per_gpu * n, direction="maximize", seed=0, store=False,
                      client=client, n_jobs=n, resources={"GPU": 1} if gpus else None)
        wall = time.perf_counter() - began
    finally:
        client.close()
        cluster.close()
    used = set()
    for trial in result.trials:
        where = (trial.output or "").strip().splitlines()[:1]
        print(f"trial {trial.number + 1}: {trial.state.value}, accuracy {trial.value}, {where[0] if where else '?'}")
        if where and "device=cuda" in where[0]:
            used.add(where[0].split("gpu=")[1].split()[0])
    complete = all(t.value is not None for t in result.trials)
    print(f"{len(result.trials)} trials in {wall:.1f} s, status {result.status}; best accuracy {result.best_value:.3f}")
    if not gpus:
        return 0 if complete else 1
    every_gpu = used == {str(i) for i in range(n)}
    print(f"GPUs that ran trials: {sorted(used)} of {n}; every trial complete on a GPU: {complete and every_gpu}")
    return 0 if complete and every_gpu else 1


if __name__ == "__main__":
    sys.exit(main())
