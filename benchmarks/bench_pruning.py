"""Pruning on recorded learning curves: epochs spent against regret, leave one task out.

    python benchmarks/bench_pruning.py                      # every dataset with curves, seeds 0-4
    python benchmarks/bench_pruning.py --quick              # 6 datasets per space, 2 seeds
    python benchmarks/bench_pruning.py --part predict       # how well each curve model predicts finals
    python benchmarks/bench_pruning.py --part sweep         # the meta-learned pruner's p, model and schedule
    python benchmarks/bench_pruning.py --part select --seeds 3   # p and calibration, chosen on the development datasets
    python benchmarks/bench_pruning.py --part bounds        # oracle pruners that know the finals, beside ours
    python benchmarks/bench_pruning.py --part tradeoff      # per curve model: records stopped vs losers' epochs saved
    python benchmarks/bench_pruning.py --part classifier --seeds 3   # the classifier's p (development / held-out)
    nice -n 5 python benchmarks/bench_pruning.py --live --seeds 3   # notebook 3's CNN, trained here (CPU)
    python benchmarks/bench_pruning.py --source lcdb --seeds 3      # LCDB's curves (pip install lcdb)

The tasks are the torch MLP spaces' datasets whose per-epoch curves the prior build
recorded (``prior-build/runs/<space>/curves/``, or ``--runs DIR``; see
``jupyter_metahpo/prior/curves.py`` for what a curve is: the mean over the 3 CV folds
of the held-out score after each epoch, ending at the configuration's score). Each
held-out dataset is a replay: a seeded random order of its 64 pool configurations is
tried one after another, each trial "training" by reporting its recorded curve one
epoch at a time and asking the pruner after every epoch; a pruned trial has spent the
epochs it reported. Every method sees the same datasets, orders and curves:

- no pruning; our median, successive halving (ASHA) and meta-learned pruners, each
  through the real API (a ``Study``, an objective with a ``trial`` parameter,
  ``trial.report`` / ``trial.should_prune`` / ``TrialPruned``);
- Optuna's ``MedianPruner`` and ``HyperbandPruner`` (defaults), fed the same curves
  through ask/tell and ``trial.report`` / ``trial.should_prune``.

The meta-learned pruner's past is the other datasets of the same space (the held-out
one is never in it) plus the study's own finished curves, as in a real study. "ours:
meta-learned" is the package's default (the classifier of "beats the best", p 0.93);
"regression (before)" the final-value regression at p 0.8 it replaced.

The live part (``--live``) trains notebook 3's digits CNN instead (``_digits_cnn.py``):
a seeded pool of configurations, each trained on the clean, noisy and noisier digits,
its validation accuracy recorded after every epoch; then every method above is replayed
on those curves, 16 trials per seed, leaving one task out for the meta-learned pruner.
Training is deterministic, so the replay is what a live run does; the part also runs the
meta-learned pruner live on one task and seed and says whether it matched its replay.

Reported: the normalised regret ``(best - incumbent) / (best - worst)`` over the pool
after 32 trials and the epochs they took; the regret at fixed epoch budgets (the
order continues up to 64 trials while epochs remain); the epochs each method needs to
reach the regret no pruning has after 32 trials; and how often the configuration that
is best among the first 32 was pruned. Medians over datasets and seeds; the machine
is noisy but nothing here is timed. The datasets the meta-learned pruner's settings were
chosen on (``DEVELOPMENT_DATASETS``) are reported apart from the others, and ``spending``
says where each method's epochs went until it reached no pruning's regret.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks._command import command_line  # noqa: E402
from jupyter_metahpo import Study, TrialPruned, intrange  # noqa: E402
from jupyter_metahpo.prior.curves import TaskCurves, read_curve_runs  # noqa: E402
from jupyter_metahpo.prior.runs import resolve_runs_dir  # noqa: E402
from jupyter_metahpo.pruners import MedianPruner, MetaLearnedPruner, NopPruner, SuccessiveHalvingPruner  # noqa: E402
from jupyter_metahpo.pruners.curves import PREDICTORS, CurveLibrary, LearningCurve  # noqa: E402
from jupyter_metahpo.samplers.base import Sampler, Suggestion  # noqa: E402
from jupyter_metahpo.trial import Origin, TrialState  # noqa: E402

SPACES = ("torch_mlp_classifier", "torch_mlp_regressor")
TRIALS = 32  # trials of the "final regret" comparison; the replay goes on to the whole pool
BUDGETS = (0.25, 0.5, 0.75, 1.0)  # epoch budgets, as shares of no pruning's epochs over TRIALS trials

#: The datasets whose curves the prior build had recorded when the meta-learned pruner's settings were
#: first chosen (``--part sweep`` and ``--part select``, 51 curve files): every later choice is made on
#: these too, and the other datasets of the finished build (46) are reported apart as never chosen on.
DEVELOPMENT_DATASETS = {
    "torch_mlp_classifier": frozenset(
        "keel_australian keel_bupa keel_contraceptive keel_crx keel_german keel_ionosphere keel_mammographic "
        "keel_movement_libras keel_pima keel_tic-tac-toe keel_twonorm keel_vehicle keel_vowel rd_AER_CreditCard "
        "rd_AER_HMDA rd_modeldata_attrition rd_modeldata_lending_club rd_modeldata_stackoverflow "
        "rd_modeldata_wa_churn sk_breast_cancer".split()),
    "torch_mlp_regressor": frozenset(
        "islp_College islp_Wage rd_AER_CASchools rd_AER_CollegeDistance rd_AER_HousePrices rd_AER_NMES1988 "
        "rd_AER_RecreationDemand rd_ISLR_Carseats rd_ISLR_Credit rd_MASS_Boston rd_MASS_nlschools "
        "rd_carData_Salaries rd_datasets_quakes rd_modeldata_Sacramento rd_modeldata_biomass "
        "rd_modeldata_car_prices rd_modeldata_check_times rd_modeldata_concrete rd_openintro_bdims "
        "rd_openintro_births14 rd_openintro_yrbss rd_palmerpenguins_penguins sk_diabetes sm_fair wd_airfare "
        "wd_catholic wd_expendshares wd_fertil2 wd_gpa2 wd_mlb1 wd_pntsprd".split()),
}


def is_development(space: str, task: str) -> bool:
    """Whether a dataset is one the meta-learned pruner's settings were chosen on."""
    return task in DEVELOPMENT_DATASETS.get(space, ())


# The tasks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplayTask:
    space: str
    curves: TaskCurves

    @property
    def name(self) -> str:
        return self.curves.task

    @property
    def finals(self) -> np.ndarray:
        return np.asarray(self.curves.finals)

    def order(self, seed: int) -> np.ndarray:
        """The seeded order in which the pool's configurations are tried (the same for every method)."""
        rng = np.random.default_rng([seed, zlib.crc32(f"{self.space}/{self.name}".encode())])
        return rng.permutation(len(self.curves))


def load_tasks(runs_dir: Path, spaces: Sequence[str], per_space: int | None) -> list[ReplayTask]:
    tasks = []
    for space in spaces:
        found = [ReplayTask(space, t) for t in read_curve_runs(runs_dir, space)]
        found = [t for t in found if np.ptp(t.finals) > 1e-9]  # a pool scoring one value everywhere has no regret
        tasks += found[:per_space] if per_space else found
    return tasks


def past_curves(tasks: Sequence[ReplayTask], held_out: ReplayTask) -> list[LearningCurve]:
    """Every curve of the held-out task's space, the held-out task's own left out."""
    return [
        LearningCurve(tuple(range(len(c))), tuple(c), f, task=t.name)
        for t in tasks if t.space == held_out.space and t.name != held_out.name
        for c, f in zip(t.curves.curves, t.curves.finals)
    ]


# One replay -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Replay:
    """One method on one task and order: per trial, the pool index, the epochs it ran and whether it completed."""

    indices: tuple[int, ...]
    epochs: tuple[int, ...]
    complete: tuple[bool, ...]


class FixedOrder(Sampler):
    """Proposes the pool indices in the replay's order (the sampler is not what is compared here)."""

    name = "replay"

    def __init__(self, order: Sequence[int]) -> None:
        self.order = [int(i) for i in order]

    def suggest(self, history, n=1):
        start = history.n_taken
        return [Suggestion({"config": self.order[start + i]}, Origin("manual", "replay order")) for i in range(n)]


def replay_ours(task: ReplayTask, order: Sequence[int], pruner) -> Replay:
    """Our pruner through the real API: a Study, an objective that reports each epoch and asks."""
    curves = task.curves.curves

    def train(config, trial):
        curve = curves[config]
        for epoch, value in enumerate(curve):
            trial.report(float(value), epoch)
            if trial.should_prune():
                raise TrialPruned()
        return float(task.curves.finals[config])

    study = Study({"config": intrange(0, len(curves) - 1)}, direction="maximize", sampler=FixedOrder(order),
                  pruner=pruner)
    for _ in order:
        study.run_trial(train)
    trials = study.trials
    return Replay(
        tuple(t.config["config"] for t in trials),
        tuple(len(t.intermediate_values) for t in trials),
        tuple(t.state is TrialState.COMPLETE for t in trials),
    )


def replay_optuna(task: ReplayTask, order: Sequence[int], make_pruner: Callable[[], object]) -> Replay:
    """An Optuna pruner, fed the same curves through ask/tell and trial.report / trial.should_prune."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # A fixed name: Optuna's HyperbandPruner assigns brackets by a hash of the study's name and the
    # trial's number, so a random name made its column move from run to run.
    study = optuna.create_study(study_name="replay", direction="maximize", pruner=make_pruner(),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    epochs, complete = [], []
    for index in order:
        trial = study.ask()
        curve = task.curves.curves[index]
        pruned = False
        for epoch, value in enumerate(curve):
            trial.report(float(value), epoch)
            if trial.should_prune():
                pruned = True
                break
        epochs.append(epoch + 1)
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, float(task.curves.finals[index]))
        complete.append(not pruned)
    return Replay(tuple(int(i) for i in order), tuple(epochs), tuple(complete))


#: Ours as the package has it (``model="auto"``: the classifier of "beats the best" at p 0.93 when the past
#: holds curves of 10 tasks or more, as on the prior's pools and LCDB; the regression otherwise, as on the live
#: CNN's two past tasks), and as it was before: the final-value regression at p 0.8 with the task calibration.
OURS = {"ours: meta-learned": {}, "ours: meta-learned, regression (before)": {"model": "regression"}}


def methods(meta_settings: dict[str, dict]) -> dict[str, Callable]:
    """Method name -> ``run(task, order, past)``."""
    import optuna

    table: dict[str, Callable] = {
        "no pruning": lambda task, order, past: replay_ours(task, order, NopPruner()),
        "median": lambda task, order, past: replay_ours(task, order, MedianPruner()),
        "successive halving": lambda task, order, past: replay_ours(task, order, SuccessiveHalvingPruner()),
    }
    for label, settings in meta_settings.items():
        table[label] = lambda task, order, past, s=settings: replay_ours(task, order, MetaLearnedPruner(past=past, **s))
    table["Optuna MedianPruner"] = lambda task, order, past: replay_optuna(task, order, optuna.pruners.MedianPruner)
    table["Optuna HyperbandPruner"] = lambda task, order, past: replay_optuna(task, order, optuna.pruners.HyperbandPruner)
    return table


# Scores of one replay ------------------------------------------------------------------------
def regret_after(task: ReplayTask, replay: Replay, n_trials: int | None = None, epoch_budget: float | None = None) -> float:
    """Normalised regret of the best complete trial within the first ``n_trials`` / within ``epoch_budget`` epochs."""
    finals = task.finals
    best, worst = finals.max(), finals.min()
    spent, incumbent = 0, -np.inf
    for k, (index, epochs, complete) in enumerate(zip(replay.indices, replay.epochs, replay.complete)):
        if n_trials is not None and k >= n_trials:
            break
        spent += epochs
        if epoch_budget is not None and spent > epoch_budget:
            break
        if complete:
            incumbent = max(incumbent, finals[index])
    return 1.0 if incumbent == -np.inf else float((best - incumbent) / (best - worst))


def epochs_within(replay: Replay, n_trials: int) -> int:
    return int(sum(replay.epochs[:n_trials]))


def epochs_to_reach(task: ReplayTask, replay: Replay, target: float) -> float:
    """Epochs until the regret first falls to ``target`` (inf if it never does within the pool)."""
    finals = task.finals
    best, worst = finals.max(), finals.min()
    spent, incumbent = 0, -np.inf
    for index, epochs, complete in zip(replay.indices, replay.epochs, replay.complete):
        spent += epochs
        if complete:
            incumbent = max(incumbent, finals[index])
            if (best - incumbent) / (best - worst) <= target + 1e-12:
                return float(spent)
    return float("inf")


def best_was_pruned(task: ReplayTask, replay: Replay, n_trials: int) -> bool:
    """Whether the best configuration among the first ``n_trials`` of the order was pruned."""
    indices = replay.indices[:n_trials]
    position = int(np.argmax(task.finals[list(indices)]))
    return not replay.complete[position]


def spending(task: ReplayTask, reference: Replay, replay: Replay, target: float) -> dict[str, float] | None:
    """Where a method's epochs went until it reached ``target``, in epochs (``None`` if it never did).

    A trial is a *record* when its final beats every earlier one of the order (no pruning's
    incumbent would move); no pruning reaches ``target`` at a record, ``k``. Up to the trial
    where the method reaches ``target``: records it completed (what even a perfect pruner pays),
    records it pruned (a mistake), other trials it completed (kept too long), the first epoch
    of other trials it pruned (what a pruner that judges after one epoch pays) and their later
    epochs (pruned late), and every trial after ``k`` (spent because something was pruned wrongly).
    """
    finals = task.finals
    best, worst = finals.max(), finals.min()
    spent = dict.fromkeys(("records completed", "records pruned", "others completed", "others' first epoch",
                           "others pruned later", "after no pruning's trial"), 0.0)
    incumbent, record, reached_at = -np.inf, [], None
    for k, index in enumerate(reference.indices):
        record.append(finals[index] > incumbent)
        incumbent = max(incumbent, finals[index])
        if reached_at is None and (best - incumbent) / (best - worst) <= target + 1e-12:
            reached_at = k
    incumbent = -np.inf
    for k, (index, epochs, complete) in enumerate(zip(replay.indices, replay.epochs, replay.complete)):
        if k > reached_at:
            spent["after no pruning's trial"] += epochs
        elif record[k]:
            spent["records completed" if complete else "records pruned"] += epochs
        elif complete:
            spent["others completed"] += epochs
        else:
            spent["others' first epoch"] += min(epochs, 1)
            spent["others pruned later"] += epochs - min(epochs, 1)
        if complete:
            incumbent = max(incumbent, finals[index])
            if (best - incumbent) / (best - worst) <= target + 1e-12:
                return spent
    return None


def oracle_replay(task: ReplayTask, order: Sequence[int], after: int, margin: float = 0.0,
                  last_record_only: bool = False) -> Replay:
    """A pruner that knows every final: it stops, after ``after`` epochs, each trial that will not beat the
    best complete one, and completes the others (a bound, not a method: no real pruner knows the finals).

    ``margin`` (a share of the pool's range of finals) completes only the trials that will beat the best
    complete one by more than that; ``last_record_only`` completes only the first trial and the best of the
    first :data:`TRIALS` (the order's last record among them): the intermediate records are stopped too.
    """
    finals, curves = task.finals, task.curves.curves
    spread = float(finals.max() - finals.min())
    best_of_trials = max(finals[i] for i in order[:TRIALS])
    incumbent, epochs, complete = -np.inf, [], []
    for index in order:
        length = len(curves[index])
        if incumbent == -np.inf:
            improves = True
        elif last_record_only:
            improves = finals[index] >= best_of_trials and finals[index] > incumbent
        else:
            improves = finals[index] > incumbent + margin * spread
        epochs.append(length if improves else min(after, length))
        complete.append(bool(improves))
        incumbent = max(incumbent, finals[index]) if improves else incumbent
    return Replay(tuple(int(i) for i in order), tuple(epochs), tuple(complete))


#: The oracles of ``--part bounds``: how many epochs each runs of a trial it will stop.
ORACLE_EPOCHS = (1, 2, 3, 5, 9)
#: ... and, stopping after 2 and 5 epochs, the records they complete: only those that beat the best by these
#: shares of the pool's range, or only the last one (the best of the first TRIALS).
ORACLE_MARGINS = (0.01, 0.02)


def oracles() -> dict[str, Callable]:
    table = {f"oracle, stops after {m} epoch{'s' if m > 1 else ''}": (lambda task, order, past, m=m: oracle_replay(task, order, m))
             for m in ORACLE_EPOCHS}
    for m in (2, 5):
        for margin in ORACLE_MARGINS:
            table[f"oracle, stops after {m} epochs, completes records by > {margin:g} of the range"] = (
                lambda task, order, past, m=m, margin=margin: oracle_replay(task, order, m, margin=margin))
        table[f"oracle, stops after {m} epochs, completes only the last record"] = (
            lambda task, order, past, m=m: oracle_replay(task, order, m, last_record_only=True))
    return table


# The comparison ------------------------------------------------------------------------------
def compare(tasks: Sequence[ReplayTask], seeds: Sequence[int], table: dict[str, Callable],
            n_trials: int = TRIALS) -> dict:
    rows: dict[str, list[dict]] = defaultdict(list)
    seconds: dict[str, float] = defaultdict(float)
    for n, task in enumerate(tasks, 1):
        past = past_curves(tasks, task)
        for seed in seeds:
            order = task.order(seed)
            replays = {}
            for name, run in table.items():
                began = time.process_time()
                replays[name] = run(task, order, past)
                seconds[name] += time.process_time() - began
            reference = replays["no pruning"]
            base_epochs = epochs_within(reference, n_trials)
            target = regret_after(task, reference, n_trials)
            base_reach = epochs_to_reach(task, reference, target)
            for name, replay in replays.items():
                reach = epochs_to_reach(task, replay, target)
                spent = spending(task, reference, replay, target)
                rows[name].append({
                    "spent": None if spent is None else {k: v / base_reach for k, v in spent.items()},
                    "task": task.name, "space": task.space, "seed": seed,
                    "regret": regret_after(task, replay, n_trials),
                    "epochs": epochs_within(replay, n_trials) / base_epochs,
                    "to_target": reach / base_epochs,
                    "reach_ratio": reach / base_reach,
                    "best_pruned": best_was_pruned(task, replay, n_trials),
                    "n_pruned": n_trials - sum(replay.complete[:n_trials]),
                    **{f"regret@{b:g}": regret_after(task, replay, epoch_budget=b * base_epochs) for b in BUDGETS},
                })
        print(f"  {n}/{len(tasks)} {task.space}/{task.name}", file=sys.stderr, flush=True)
    return {"rows": dict(rows), "cpu_seconds": dict(seconds), "n_trials": n_trials}


def columns(n_trials: int = TRIALS) -> str:
    """What the table's columns mean."""
    return f"""Columns (medians over datasets and seeds unless said): normalised regret after {n_trials} trials; epochs
those {n_trials} trials ran, as a share of no pruning's; epochs until the regret first reaches the one no pruning has
after {n_trials} trials (the order goes on to the whole pool), as a share of no pruning's {n_trials}-trial epochs, and how
often it is reached at all (for no pruning itself this is where its best of {n_trials} came, about half way); the same
epochs divided by the epochs no pruning needed to reach it, run by run (the goal's figure: 1.00 is no saving); the mean
regret within an epoch budget of 0.25 to 1 times no pruning's {n_trials}-trial epochs; how often the best of the first
{n_trials} configurations was pruned (mean); the share of the {n_trials} trials pruned; CPU seconds of the whole method."""


COLUMNS = columns()


def summary_table(result: dict, space: str | None = None, where: Callable[[dict], bool] | None = None) -> str:
    """One row per method: medians (means where said) over the runs of ``space`` (all when ``None``) that ``where`` keeps."""
    n_trials = result.get("n_trials", TRIALS)
    header = ("method", f"regret@{n_trials} (median / mean)", f"epochs@{n_trials}",
              f"epochs to no pruning's regret / its {n_trials}-trial epochs",
              "... / its epochs to that regret (run by run)",
              *(f"regret @{b:g}x epochs" for b in BUDGETS), "best pruned", "pruned / trial", "CPU s")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, rows in result["rows"].items():
        rows = [r for r in rows if (space is None or r["space"] == space) and (where is None or where(r))]
        if not rows:
            continue
        reach = np.array([r["to_target"] for r in rows])
        reached = np.isfinite(reach)
        regret = np.array([r["regret"] for r in rows])
        cells = [
            name,
            f"{np.median(regret):.3f} / {regret.mean():.3f}",
            f"{np.median([r['epochs'] for r in rows]):.2f}",
            f"{np.median(np.where(reached, reach, np.inf)):.2f} ({reached.mean():.0%} reach it)",
            f"{np.median([r['reach_ratio'] for r in rows]):.2f}",
            *(f"{np.mean([r[f'regret@{b:g}'] for r in rows]):.3f}" for b in BUDGETS),
            f"{np.mean([r['best_pruned'] for r in rows]):.0%}",
            f"{np.mean([r['n_pruned'] for r in rows]) / n_trials:.2f}",
            f"{result['cpu_seconds'].get(name, 0.0):.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spending_table(result: dict, where: Callable[[dict], bool] | None = None) -> str:
    """Where each method's epochs went until it reached no pruning's regret (``spending``): the means over
    the runs that reached it, as shares of the epochs no pruning needed."""
    parts = ("records completed", "records pruned", "others completed", "others' first epoch", "others pruned later",
             "after no pruning's trial")
    lines = ["| method | runs that reach it | " + " | ".join(parts) + " | total |", "|---|---|" + "---|" * (len(parts) + 1)]
    for name, rows in result["rows"].items():
        rows = [r for r in rows if where is None or where(r)]
        spent = [r["spent"] for r in rows if r.get("spent") is not None]
        if not spent:
            continue
        means = [np.mean([s[p] for s in spent]) for p in parts]
        lines.append(f"| {name} | {len(spent) / len(rows):.0%} | " + " | ".join(f"{m:.3f}" for m in means)
                     + f" | {sum(means):.3f} |")
    return "\n".join(lines)


def held_out(row: dict) -> bool:
    return not is_development(row["space"], row["task"])


def development(row: dict) -> bool:
    return is_development(row["space"], row["task"])


# How well the curve models predict finals ----------------------------------------------------------
def predict_part(tasks: Sequence[ReplayTask], steps: Sequence[int] = (1, 2, 4, 8, 16)) -> str:
    """Leave one task out: each model predicts each curve's final from its first epochs.

    Error in units of the held-out task's spread of finals (90th minus 10th percentile, or the whole
    range where most of the pool scores the same);
    coverage: how often the final falls inside the predicted 90% interval.
    """
    lines = [
        "| space | model | " + " | ".join(f"epoch {s + 1}: median error, 90% coverage" for s in steps) + " |",
        "|---|---|" + "---|" * len(steps),
    ]
    for space in SPACES:
        space_tasks = [t for t in tasks if t.space == space]
        if not space_tasks:
            continue
        errors: dict[str, dict[int, list]] = {name: defaultdict(list) for name in PREDICTORS}
        for task in space_tasks:
            library = CurveLibrary(past_curves(space_tasks, task))
            fitted = {name: cls().fit(library) for name, cls in PREDICTORS.items()}
            finals = task.finals
            # Most of a pool can score the same (balanced accuracy 0.5: a network that learnt nothing).
            spread = (np.percentile(finals, 90) - np.percentile(finals, 10)) or np.ptp(finals)
            for curve, final in zip(task.curves.curves, finals):
                for step in steps:
                    if step >= len(curve) - 1:  # the curve's end: its final is known
                        break
                    for name, model in fitted.items():
                        p = model.predict(list(range(step + 1)), list(curve[: step + 1]))
                        if p is not None:
                            inside = abs(final - p.mean) <= 1.645 * p.sd
                            errors[name][step].append((abs(final - p.mean) / spread, inside))
        for name, by_step in errors.items():
            cells = []
            for step in steps:
                found = np.array(by_step[step]) if by_step[step] else np.empty((0, 2))
                cells.append(f"{np.median(found[:, 0]):.3f}, {found[:, 1].mean():.0%}" if len(found) else "-")
            lines.append(f"| {space} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


ORACLE = "oracle (knows the finals)"


def tradeoff_part(tasks: Sequence[ReplayTask], seeds: Sequence[int], thresholds=(0.6, 0.7, 0.8, 0.9, 0.95),
                  steps: Sequence[int] = (1, 2, 4, 8, 16), n_trials: int = TRIALS,
                  groups: dict[str, Callable[[ReplayTask], bool]] | None = None) -> str:
    """What each curve model could buy, without replaying a pruner: records stopped against others' epochs saved.

    For every trial after the first of each seeded order (up to ``n_trials``), the incumbent
    is no pruning's (the best final before it); the model, fitted on the other datasets of the
    space (no task calibration, no own curves), gives the probability that the trial ends below
    it at the steps the pruner judges (``steps``: its 2nd, 3rd, 5th, 9th, 17th report). A
    threshold stops the trial at the first of those steps where the probability reaches it.
    Shown: the share of records (trials that beat the incumbent) stopped, and the share of the
    other trials' epochs saved. The oracle row knows the finals: it stops every other trial at
    the first judged step and no record. A minute, not an hour: a quick screen of a model before the replays. One table
    per group of datasets (``groups``: name -> which tasks; the past is every other dataset).
    """
    groups = groups or {"all datasets": lambda task: True}
    # per group, model and threshold: [records, records stopped, others' epochs, others' epochs saved]
    names = (*PREDICTORS, ORACLE)
    counts = {(g, name, q): np.zeros(4) for g in groups for name in names for q in thresholds}
    for task in tasks:
        inside = [g for g, keep in groups.items() if keep(task)]
        if not inside:
            continue
        library = CurveLibrary(past_curves(tasks, task))
        fitted = {name: cls().fit(library) for name, cls in PREDICTORS.items()}
        curves, finals = task.curves.curves, task.finals
        for seed in seeds:
            order = task.order(seed)[:n_trials]
            for k in range(1, len(order)):
                incumbent, index = finals[order[:k]].max(), order[k]
                curve, record = curves[index], finals[index] > finals[order[:k]].max()
                judged = [s for s in steps if s < len(curve) - 1]
                for name in names:
                    below = []
                    for s in judged:
                        if name == ORACLE:
                            below.append(0.0 if record else 1.0)
                            continue
                        p = fitted[name].predict(list(range(s + 1)), list(curve[: s + 1]))
                        below.append(0.0 if p is None else p.probability_below(incumbent))
                    for q in thresholds:
                        stop = next((s for s, b in zip(judged, below) if b >= q), None)
                        for g in inside:
                            c = counts[(g, name, q)]
                            if record:
                                c[0] += 1
                                c[1] += stop is not None
                            else:
                                c[2] += len(curve)
                                c[3] += 0 if stop is None else len(curve) - (stop + 1)
    lines = []
    for g in groups:
        lines += [f"{g}:", "", "| model | " + " | ".join(f"p = {q:g}: records stopped, others' epochs saved"
                                                     for q in thresholds) + " |", "|---|" + "---|" * len(thresholds)]
        for name in names:
            cells = [f"{c[1] / max(c[0], 1):.0%}, {c[3] / max(c[2], 1):.0%}"
                     for c in (counts[(g, name, q)] for q in thresholds)]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip()


# The classifier of "will this trial beat the best?" (the package's default model): its p ----------------------
#: The thresholds of ``--part classifier``.
CLASSIFIER_P = (0.93, 0.95, 0.97)


def classifier_part(tasks: Sequence[ReplayTask], seeds: Sequence[int]) -> list[str]:
    """The meta-learned pruner's classifier (``BeatsBestClassifier``) at several p, beside the regression it replaced,
    no pruning and median pruning; development and held-out datasets apart (p is chosen on the development ones)."""
    settings = {"ours: meta-learned, regression (before)": {"model": "regression"},
                **{f"ours: classifier, p={p:g}": {"model": "classifier", "p": p} for p in CLASSIFIER_P}}
    every = methods(settings)
    table = {name: every[name] for name in ("no pruning", "median", *settings)}
    result = compare(tasks, seeds, table)
    n_dev = sum(is_development(t.space, t.name) for t in tasks)
    return [f"The {n_dev} development datasets:", "", summary_table(result, where=development), "",
            f"The {len(tasks) - n_dev} held-out datasets:", "", summary_table(result, where=held_out), "",
            "Where the epochs went (all datasets):", "", spending_table(result)]


# Live runs of notebook 3's digits CNN ----------------------------------------------------------------
LIVE_SPACE = "digits_cnn"


def live_pool(size: int, seed: int = 0) -> list[dict]:
    """The configurations every live task trains: drawn once from the notebook's space (seeded)."""
    from benchmarks._digits_cnn import space
    from jupyter_metahpo.space import as_search_space

    drawn = as_search_space(space()).sample(np.random.default_rng(seed), n=size)
    return [{k: v.item() if hasattr(v, "item") else v for k, v in c.items()} for c in drawn]  # plain, for JSON


def record_live_curves(pool: Sequence[dict], epochs: int, cache: Path | None) -> list[ReplayTask]:
    """Every pool configuration trained on every digits task, its validation accuracy after each epoch.

    Training is deterministic (one thread, ``torch.manual_seed``), so a pruned trial's
    curve is the first epochs of its full curve: each method replayed on these curves
    runs what it would have run live (``live_check`` runs one method live and compares).
    Curves already in ``cache`` (same pool, epochs) are read instead of trained again.
    """
    from benchmarks._digits_cnn import TASKS, train

    stored = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    key = json.dumps({"pool": pool, "epochs": epochs}, sort_keys=True)
    curves_by_task = stored.get(key, {})
    tasks = []
    for name in TASKS:
        if name not in curves_by_task:
            began = time.time()
            curves_by_task[name] = [train(name, config, epochs) for config in pool]
            print(f"  trained {len(pool)} CNNs on {name} ({epochs} epochs) in {time.time() - began:.0f} s",
                  file=sys.stderr, flush=True)
            if cache is not None:
                cache.write_text(json.dumps({key: curves_by_task}))
        curves = tuple(np.asarray(c, dtype=float) for c in curves_by_task[name])
        tasks.append(ReplayTask(LIVE_SPACE, TaskCurves(
            space=LIVE_SPACE, task=name, task_type="classification", metric="accuracy",
            indices=tuple(range(len(pool))), configs=tuple(pool), curves=curves,
            finals=tuple(float(c[-1]) for c in curves),
        )))
    return tasks


def live_check(task: ReplayTask, seed: int, epochs: int, past: list[LearningCurve], n_trials: int) -> str:
    """Run the meta-learned pruner live (really training, through a Study) and compare with its replay."""
    from benchmarks._digits_cnn import train as train_cnn

    order = task.order(seed)[:n_trials]
    replay = replay_ours(task, order, MetaLearnedPruner(past=past))

    def objective(config, trial):
        def on_epoch(epoch, accuracy):
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise TrialPruned()
        return train_cnn(task.name, task.curves.configs[config], epochs, on_epoch=on_epoch)[-1]

    study = Study({"config": intrange(0, len(task.curves) - 1)}, direction="maximize", sampler=FixedOrder(order),
                  pruner=MetaLearnedPruner(past=past))
    for _ in order:
        study.run_trial(objective)
    live_epochs = tuple(len(t.intermediate_values) for t in study.trials)
    live_complete = tuple(t.state is TrialState.COMPLETE for t in study.trials)
    same = live_epochs == replay.epochs and live_complete == replay.complete
    return (f"Live check ({task.name}, seed {seed}, {n_trials} trials, the meta-learned pruner really training): "
            f"{sum(live_epochs)} epochs, {live_complete.count(False)} pruned; its replay on the recorded curves: "
            f"{sum(replay.epochs)} epochs, {replay.complete.count(False)} pruned; "
            + ("the same trial by trial." if same else "DIFFERENT (training is not deterministic here)."))


def live_part(args, argv) -> int:
    """Notebook 3's CNN on three digits tasks, each pruner replayed on the same live-recorded curves."""
    pool = live_pool(args.live_pool)
    began = time.time()
    tasks = record_live_curves(pool, args.live_epochs, args.live_cache)
    trained = time.time() - began
    seeds = list(range(args.seeds))
    table = methods(OURS)
    result = compare(tasks, seeds, table, n_trials=args.live_trials)
    check = live_check(tasks[1], 0, args.live_epochs, past_curves(tasks, tasks[1]), args.live_trials)
    text = [
        f"Command: `{command_line(__file__, argv)}`",
        f"Notebook 3's digits CNN (benchmarks/_digits_cnn.py) on {', '.join(t.name for t in tasks)}: a pool of "
        f"{len(pool)} configurations drawn from its space, each trained {args.live_epochs} epochs on each task "
        f"({trained:.0f} s, one thread, CPU); seeds {seeds}: per seed a random order of the pool, the same for "
        f"every method, {args.live_trials} trials compared. Leave one task out: the meta-learned pruner's past is "
        "the other two tasks' curves (and the study's own). Optuna's pruners are fed the same curves.",
        "",
        check,
        "",
        columns(args.live_trials),
        "",
        summary_table(result),
    ]
    for task in tasks:
        text += ["", f"{task.name} (pool best {max(task.finals):.3f}, worst {min(task.finals):.3f}):", "",
                 summary_table({**result, "rows": {k: [r for r in v if r["task"] == task.name]
                                                   for k, v in result["rows"].items()}})]
    print("\n".join(text))
    out = args.out or ROOT / "results" / "pruning_live.md"
    out.write_text("\n".join(text) + "\n")
    return 0


# LCDB: learning curves over training set sizes, shipped in a PyPI package ---------------------------
LCDB_SPACE = "lcdb"
LCDB_TRIALS = 12  # of a pool of 12-20 learners per dataset


def lcdb_csv(metric: str = "accuracy") -> Path:
    """The curve table the ``lcdb`` package ships (``pip install lcdb``), found without importing it:
    its ``__init__`` imports ``openml``, which reading the table does not need."""
    import importlib.util

    spec = importlib.util.find_spec("lcdb")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("--source lcdb needs the lcdb package: pip install lcdb (it ships its curves: ~460 MB).")
    path = Path(next(iter(spec.submodule_search_locations))) / f"database-{metric}.csv"
    if not path.exists():
        raise SystemExit(f"the lcdb package has no {path.name} at {path.parent}; reinstall it: pip install lcdb")
    return path


def load_lcdb_tasks(n_datasets: int | None, min_learners: int = LCDB_TRIALS) -> list[ReplayTask]:
    """LCDB's datasets as replay tasks: the "configurations" are its learners (scikit-learn's defaults),
    a "step" is the next training set size (16, 23, 32, ... samples: LCDB's anchors), the value the
    validation accuracy there, averaged over LCDB's splits. Only learners with a value at every anchor of
    their dataset are kept, and datasets with at least ``min_learners`` such learners (the first
    ``n_datasets`` by OpenML id)."""
    import pandas as pd

    table = pd.read_csv(lcdb_csv(), usecols=["openmlid", "learner", "size_train", "score_valid"])
    means = table.groupby(["openmlid", "learner", "size_train"], sort=True)["score_valid"].mean()
    tasks = []
    for openmlid, per_dataset in means.groupby(level="openmlid", sort=True):
        anchors = sorted(per_dataset.index.get_level_values("size_train").unique())
        curves, learners = [], []
        for learner, per_learner in per_dataset.groupby(level="learner", sort=True):
            values = per_learner.droplevel(["openmlid", "learner"]).reindex(anchors).to_numpy(dtype=float)
            if len(anchors) >= 3 and np.isfinite(values).all():
                curves.append(values)
                learners.append({"learner": str(learner)})
        if len(curves) < min_learners or np.ptp([c[-1] for c in curves]) <= 1e-9:
            continue
        tasks.append(ReplayTask(LCDB_SPACE, TaskCurves(
            space=LCDB_SPACE, task=f"openml-{openmlid}", task_type="classification", metric="accuracy",
            indices=tuple(range(len(curves))), configs=tuple(learners), curves=tuple(curves),
            finals=tuple(float(c[-1]) for c in curves),
        )))
        if n_datasets is not None and len(tasks) >= n_datasets:
            break
    return tasks


def lcdb_part(args, argv) -> int:
    """Every method on LCDB's curves (leave one dataset out), as the prior's curves are compared."""
    began = time.time()
    tasks = load_lcdb_tasks(args.lcdb_datasets)
    seeds = list(range(args.seeds))
    result = compare(tasks, seeds, methods(OURS), n_trials=LCDB_TRIALS)
    text = [
        f"Command: `{command_line(__file__, argv)}`",
        f"LCDB (the lcdb package's database-accuracy.csv, read offline): {len(tasks)} datasets with at least "
        f"{LCDB_TRIALS} learners whose curve reaches the dataset's largest training set, seeds {seeds}; "
        f"{time.time() - began:.0f} s of wall time. A configuration is a learner, a step the next training set "
        "size (16, 23, 32, ... samples), so \"epochs\" below count training set sizes tried, not compute "
        "(a step costs about its size). Leave one dataset out: the meta-learned pruner's past is the other "
        "datasets' curves.",
        "",
        columns(LCDB_TRIALS),
        "",
        summary_table(result),
    ]
    print("\n".join(text))
    out = args.out or ROOT / "results" / "pruning_lcdb.md"
    out.write_text("\n".join(text) + "\n")
    return 0


# Choosing the meta-learned pruner's settings on the development datasets ------------------------------
#: The candidates of ``--part select``: the regression's p and the weight of its task calibration (0: off).
SELECT_CANDIDATES = {f"meta p={p:g} calibration={c:g}": {"model": "regression", "p": p, "calibration": c}
                     for p in (0.8, 0.9) for c in (0, 3, 10)}
#: How much more mean regret after TRIALS trials than no pruning a candidate may have to be chosen.
SELECT_REGRET_SLACK = 0.003


def split_for_selection(tasks: Sequence[ReplayTask]) -> tuple[list[ReplayTask], list[ReplayTask]]:
    """The development datasets to choose settings on, and the others to test them on."""
    choose = [t for t in tasks if is_development(t.space, t.name)]
    return choose, [t for t in tasks if not is_development(t.space, t.name)]


def goal_ratio(rows: Sequence[dict]) -> float:
    """The goal's figure: the median, over runs, of the epochs to reach no pruning's regret over no pruning's own."""
    return float(np.median([r["reach_ratio"] for r in rows]))


def chosen_setting(result: dict, slack: float = SELECT_REGRET_SLACK) -> str:
    """The candidate with the lowest goal ratio (``goal_ratio``) among those whose mean regret after TRIALS
    trials is within ``slack`` of no pruning's and that prune the best of TRIALS no more often than the
    current default (the rule is fixed before looking at the test datasets)."""
    rows = result["rows"]
    limit = np.mean([r["regret"] for r in rows["no pruning"]]) + slack
    default = next(name for name, s in SELECT_CANDIDATES.items() if s["p"] == 0.8 and s["calibration"] == 10)
    pruned_limit = np.mean([r["best_pruned"] for r in rows[default]])
    fine = [name for name in SELECT_CANDIDATES
            if np.mean([r["regret"] for r in rows[name]]) <= limit
            and np.mean([r["best_pruned"] for r in rows[name]]) <= pruned_limit]
    return min(fine or [default], key=lambda name: goal_ratio(rows[name]))


def select_part(tasks: Sequence[ReplayTask], seeds: Sequence[int], argv) -> list[str]:
    """Choose among SELECT_CANDIDATES on the development datasets; compare the choice on the others."""
    choose, test = split_for_selection(tasks)
    base = methods({})
    candidates = {k: v for k, v in methods(SELECT_CANDIDATES).items() if k in SELECT_CANDIDATES}
    on_choose = compare(choose, seeds, {"no pruning": base["no pruning"], **candidates})
    chosen = chosen_setting(on_choose)
    finalists = {"ours: meta-learned (p=0.8, calibration=10)": {"model": "regression", "p": 0.8, "calibration": 10},
                 f"ours: chosen, {chosen}": SELECT_CANDIDATES[chosen]}
    on_test = compare(test, seeds, methods(finalists), n_trials=TRIALS)
    return [
        f"Development datasets ({len(choose)}, seeds {list(seeds)}): every candidate; rule: the lowest median "
        f"run-by-run ratio (epochs to no pruning's {TRIALS}-trial regret over no pruning's own) among those within "
        f"{SELECT_REGRET_SLACK} mean regret of no pruning that prune the best of {TRIALS} no more often than "
        f"p=0.8, calibration=10. Chosen: **{chosen}**.",
        "", summary_table(on_choose), "",
        f"Held-out datasets ({len(test)}, same seeds): the choice beside the default before and the peers.",
        "", summary_table(on_test),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=None, help="the prior's runs folder (default: prior-build/runs)")
    parser.add_argument("--spaces", nargs="+", default=list(SPACES), choices=SPACES)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--quick", action="store_true", help="6 datasets per space, 2 seeds")
    parser.add_argument("--part", choices=("compare", "predict", "sweep", "live", "select", "bounds", "tradeoff", "classifier"), default="compare")
    parser.add_argument("--source", choices=("prior", "lcdb"), default="prior",
                        help="compare on the prior's recorded curves (default) or on LCDB's (pip install lcdb)")
    parser.add_argument("--lcdb-datasets", type=int, default=40, help="lcdb: datasets compared (default 40)")
    parser.add_argument("--live", action="store_true", help="the live part: notebook 3's CNN (same as --part live)")
    parser.add_argument("--live-pool", type=int, default=32, help="live: configurations trained per task")
    parser.add_argument("--live-trials", type=int, default=16, help="live: trials compared per seed")
    parser.add_argument("--live-epochs", type=int, default=10, help="live: epochs per training (the notebook's)")
    parser.add_argument("--live-cache", type=Path, default=ROOT / "results" / "pruning_live_curves.json",
                        help="live: the recorded curves (read when they match, else trained and written)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the tables' file (default: results/pruning.md, pruning_sweep.md, pruning_predict.md by part)")
    parser.add_argument("--json", type=Path, default=None, help="also write every run's scores here")
    args = parser.parse_args(argv)
    if args.live or args.part == "live":
        return live_part(args, argv)
    if args.source == "lcdb":
        return lcdb_part(args, argv)
    runs_dir = resolve_runs_dir(args.runs)
    tasks = load_tasks(runs_dir, args.spaces, 6 if args.quick else None)
    seeds = range(2 if args.quick else args.seeds)
    counts = {s: sum(t.space == s for t in tasks) for s in args.spaces}
    print(f"{len(tasks)} datasets with curves ({counts}), seeds {list(seeds)}", file=sys.stderr)
    out = args.out or ROOT / "results" / {"compare": "pruning.md", "sweep": "pruning_sweep.md",
                                           "predict": "pruning_predict.md", "select": "pruning_select.md",
                                           "bounds": "pruning_bounds.md", "tradeoff": "pruning_tradeoff.md",
                                           "classifier": "pruning_classifier.md"}[args.part]
    header = [
        f"Command: `{command_line(__file__, argv)}`",
        f"{len(tasks)} datasets ({', '.join(f'{s}: {n}' for s, n in counts.items())}), seeds {list(seeds)}",
        "",
    ]
    if args.part == "predict":
        text = header + [(predict_part.__doc__ or "").strip().splitlines()[0], "", predict_part(tasks)]
        print("\n".join(text))
        if not args.quick:
            out.write_text("\n".join(text) + "\n")
        return 0
    if args.part == "classifier":
        text = header + classifier_part(tasks, list(seeds))
        print("\n".join(text))
        if not args.quick:
            out.write_text("\n".join(text) + "\n")
        return 0
    if args.part == "tradeoff":
        groups = {"all datasets": lambda t: True,
                  "development datasets": lambda t: is_development(t.space, t.name),
                  "held-out datasets": lambda t: not is_development(t.space, t.name)}
        text = header + [(tradeoff_part.__doc__ or "").strip().splitlines()[0], "", tradeoff_part(tasks, list(seeds), groups=groups)]
        print("\n".join(text))
        if not args.quick:
            out.write_text("\n".join(text) + "\n")
        return 0
    if args.part == "select":
        text = header[:-1] + [""] + select_part(tasks, list(seeds), argv)
        print("\n".join(text))
        out.write_text("\n".join(text) + "\n")
        return 0
    if args.part == "sweep":  # the p, model and schedule of ours (chosen: regression, doubling, p = 0.8)
        meta = {
            f"meta p={p:g} {model} {schedule}": {"p": p, "model": model, "schedule": schedule}
            for model in PREDICTORS for schedule in ("doubling", "every") for p in (0.8, 0.9, 0.95, 0.99)
        }
        table = {"no pruning": methods({})["no pruning"], **{k: v for k, v in methods(meta).items() if k in meta}}
    elif args.part == "bounds":  # what a pruner that knew the finals would spend, beside the methods
        every = methods({"ours: meta-learned": {}})
        table = {name: every[name] for name in ("no pruning", "median", "ours: meta-learned")} | oracles()
    else:
        table = methods(OURS)
    began = time.time()
    result = compare(tasks, list(seeds), table)
    text = header[:-1] + [f"{time.time() - began:.0f} s of wall time", "", COLUMNS, "", summary_table(result)]
    for space in args.spaces:
        text += ["", f"{space}:", "", summary_table(result, space)]
    if args.part != "sweep":
        n_held = len({t.name for t in tasks if not is_development(t.space, t.name)})
        text += ["", f"The {n_held} datasets no setting was chosen on (not in DEVELOPMENT_DATASETS):", "",
                 summary_table(result, where=held_out),
                 "", f"The {len(tasks) - n_held} datasets the settings were chosen on:", "",
                 summary_table(result, where=development),
                 "", "Where the epochs went until no pruning's regret was reached (`spending`; means over the runs "
                 "that reach it, as shares of the epochs no pruning needed; all datasets):", "", spending_table(result),
                 "", "The same on the held-out datasets:", "", spending_table(result, where=held_out)]
    print("\n".join(text))
    if not args.quick:
        out.write_text("\n".join(text) + "\n")
    if args.json:
        args.json.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
