"""Leave-one-task-out benchmark on pools of pre-evaluated configurations (HPO-B style).

- :mod:`.pool`: a held-out task's pool, exact normalised regret, snapping proposals
  to the nearest unused pool point.
- :mod:`.split`: which past tasks a meta-model may see when one task is held out.
- :mod:`.methods`: every method compared (ours, the peers) behind one small interface.
- :mod:`.runner`: runs methods over tasks and seeds.
- :mod:`.report`: regret/rank tables (markdown) and the regret-vs-trials plot.
- :mod:`.prior_tasks`: the bundled prior's (family, dataset) pools as tasks.
"""
