"""The bundled prior: experience of the built-in spaces on real datasets.

- :mod:`.datasets` loads the real datasets (from installed packages, never copied here);
- :mod:`.protocol` fixes how a configuration is evaluated (pool, preprocessing, CV, metric);
- :mod:`.build` runs the resumable build into the repository's ``prior-build/runs/``
  (``python -m jupyter_metahpo.prior build``; :mod:`.runs` says where the runs are);
- :mod:`.assemble` packs the runs into ``data/`` (the package data, the only part that ships);
- :mod:`.load` reads that data back as :class:`~jupyter_metahpo.experience.PastStudy` records.

Only :mod:`.load` is needed at run time; importing this package imports nothing heavy.
"""

from __future__ import annotations

from .load import available_prior_spaces, load_prior, load_prior_table

__all__ = ["load_prior", "load_prior_table", "available_prior_spaces"]
