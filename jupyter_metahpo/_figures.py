"""A matplotlib figure that a notebook shows once.

``TuningResult.plot()`` returns the figure it draws, made by pyplot like the one
``plt.subplots()`` makes: ``plt.show()`` shows it in a script, and a notebook's
backend shows it when the cell ends. Returned as the cell's value, a plain pyplot
figure would then be shown twice (once as the value, once by the backend), so this
one shows itself only when pyplot no longer holds it (closed, or shown in an earlier
cell): then as a PNG image.

This module imports matplotlib as it loads: :mod:`jupyter_metahpo.result` loads it on
first use (:class:`~jupyter_metahpo._imports.LazyImport`).
"""

from __future__ import annotations

import io

from matplotlib._pylab_helpers import Gcf
from matplotlib.figure import Figure

from ._imports import LazyImport

__all__ = ["PyplotFigure"]

ipython_display = LazyImport("IPython.display")


class PyplotFigure(Figure):
    """A pyplot figure that does not show itself again in a notebook where pyplot shows it."""

    def _ipython_display_(self) -> None:
        if any(manager.canvas.figure is self for manager in Gcf.get_all_fig_managers()):
            return  # pyplot holds it: its backend shows it (the inline backend when the cell ends)
        image = io.BytesIO()
        self.savefig(image, format="png", bbox_inches="tight")
        ipython_display.display({"image/png": image.getvalue(), "text/plain": repr(self)}, raw=True)
