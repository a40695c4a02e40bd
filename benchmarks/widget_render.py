"""What the live progress widget costs: redraw time (SVG vs matplotlib) and messages sent.

    python benchmarks/widget_render.py            # 1,000 trials of 10 ms (about 12 s)
    python benchmarks/widget_render.py --quick    # 200 trials of 10 ms

Prints two tables:

1. Time to draw the best-so-far plot after N trials: the widget's hand-written SVG
   against a matplotlib PNG (what an Output widget with a figure would redraw), with
   medians over repeats and their ratio.
2. A real study of 10 ms trials with the widget as its callback and a comm that
   counts messages: redraws, messages sent and the widget's share of the wall time,
   for the default throttle (0.25 s) and with no throttle.
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import time

import comm

from jupyter_metahpo import RandomSampler, StopSignal, Study, choice, intrange, loguniform, uniform
from jupyter_metahpo.widgets import _render as R
from jupyter_metahpo.widgets.progress import ProgressWidget

SPACE = {
    "lr": loguniform(1e-4, 1e-1),
    "depth": intrange(1, 12),
    "dropout": uniform(0.0, 0.5),
    "kind": choice("a", "b", "c"),
}


def objective(lr, depth, dropout, kind):
    return (lr - 0.01) ** 2 * 1e3 + abs(depth - 6) * 0.05 + dropout + (kind == "c") * 0.1


class CountingComm:
    sent = 0

    def __init__(self, *args, **kwargs):
        self.comm_id = "bench"
        self.kernel = "bench"

    def open(self, *args, **kwargs):
        pass

    def on_msg(self, *args, **kwargs):
        pass

    def send(self, *args, **kwargs):
        CountingComm.sent += 1

    def close(self, *args, **kwargs):
        pass


def trials_of(n: int):
    study = Study(SPACE, sampler=RandomSampler(0))
    study.optimize(objective, n)
    return study


def time_it(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def matplotlib_png(study) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jupyter_metahpo.result import TuningResult

    result = TuningResult(space=study.space, direction=study.direction, trials=study.trials, status="running")
    fig, ax = plt.subplots(figsize=(4.6, 2.0), dpi=100)
    result.plot(ax=ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def redraw_table(sizes: list[int], repeats: int) -> None:
    print("Best-so-far plot, one redraw (median of", repeats, "repeats)")
    print(f"{'trials':>7} {'SVG ms':>9} {'SVG kB':>8} {'PNG ms':>9} {'PNG kB':>8} {'PNG/SVG':>8}")
    for n in sizes:
        study = trials_of(n)
        svg_s = time_it(lambda: R.best_so_far_svg(study.trials, study.direction, n_total=n), repeats)
        png_s = time_it(lambda: matplotlib_png(study), repeats)
        svg_kb = len(R.best_so_far_svg(study.trials, study.direction, n_total=n)) / 1024
        png_kb = len(matplotlib_png(study)) / 1024
        print(f"{n:>7} {svg_s * 1e3:>9.2f} {svg_kb:>8.1f} {png_s * 1e3:>9.2f} {png_kb:>8.1f} {png_s / svg_s:>8.1f}")


def messages_table(n_trials: int, trial_seconds: float) -> None:
    comm.create_comm = lambda *a, **k: CountingComm()

    def sleepy(**config):
        time.sleep(trial_seconds)
        return objective(**config)

    print(f"\nA study of {n_trials} trials of {trial_seconds * 1e3:.0f} ms with the live widget")
    print(f"{'throttle s':>10} {'redraws':>8} {'messages':>9} {'msgs/trial':>11} {'wall s':>7} {'widget %':>9}")
    for interval in (0.25, 0.0):
        CountingComm.sent = 0
        view = ProgressWidget(StopSignal(), min_interval=interval)
        spent = [0.0]

        def timed(snap, view=view, spent=spent):
            began = time.perf_counter()
            view(snap)
            spent[0] += time.perf_counter() - began

        study = Study(SPACE, sampler=RandomSampler(0))
        began = time.perf_counter()
        study.optimize(sleepy, n_trials, callbacks=[timed])
        wall = time.perf_counter() - began
        print(
            f"{interval:>10.2f} {view.n_renders:>8} {CountingComm.sent:>9} {CountingComm.sent / n_trials:>11.2f} "
            f"{wall:>7.1f} {100 * spent[0] / wall:>9.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 trials instead of 1,000")
    args = parser.parse_args()
    n = 200 if args.quick else 1000
    redraw_table([10, 100, n], repeats=5 if args.quick else 15)
    messages_table(n, 0.010)


if __name__ == "__main__":
    main()
