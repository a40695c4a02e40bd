"""What the tests of the libraries' pruning callbacks share: a trial handle that records the two calls a callback
makes, and a study whose third trial cannot learn."""

from __future__ import annotations

from collections.abc import Callable


class RecordingTrial:
    """``report`` and ``should_prune``, recorded; the pruner says to stop from step ``prune_at`` on."""

    def __init__(self, prune_at: int | None = None) -> None:
        self.reports: list[tuple[int, float]] = []
        self.prune_at = prune_at

    def report(self, value: float, step: int) -> None:
        self.reports.append((step, value))

    def should_prune(self) -> bool:
        return self.prune_at is not None and self.reports[-1][0] >= self.prune_at


def run_study_with_a_trial_that_cannot_learn(train: Callable[..., float]):
    """``train(lr, trial)`` (5 epochs, reporting through a callback) tuned over two trials that learn, then one whose
    rate (1e-7) is too small to learn in 5 epochs, under the median pruner (after 2 complete trials, from epoch 1);
    checks that the complete trials kept their 5 epochs and the third was pruned at its first chance."""
    from jupyter_metahpo import tune
    from jupyter_metahpo.pruners import MedianPruner
    from jupyter_metahpo.samplers.base import Sampler, Suggestion
    from jupyter_metahpo.space import SearchSpace, choice
    from jupyter_metahpo.trial import Origin

    class Scripted(Sampler):
        name = "scripted"

        def suggest(self, history, n=1):
            rates = (3e-2, 3e-2, 1e-7)
            return [Suggestion({"lr": rates[history.n_taken + k]}, Origin("manual")) for k in range(n)]

    result = tune(train, SearchSpace({"lr": choice(3e-2, 1e-7)}), n_trials=3, direction="maximize",
                  sampler=Scripted(), pruner=MedianPruner(n_startup_trials=2, n_warmup_steps=1), store=False,
                  progress=False)
    complete = [t for t in result.trials if t.state == "complete"]
    assert [sorted(t.intermediate_values) for t in complete] == [[0, 1, 2, 3, 4]] * 2
    last = result.trials[-1]
    assert last.state == "pruned", (last.state, last.intermediate_values)
    assert sorted(last.intermediate_values) == [0, 1]
