"""A matplotlib figure that a notebook shows once.

``TuningResult.plot()`` returns the figure it draws, made by pyplot like the one
``plt.subplots()`` makes, so that ``plt.show()`` shows it in a script and a notebook
shows it without being asked. In a notebook with the inline backend a plain pyplot
figure returned as the cell's value is shown twice: once as the value, once more when
the backend draws the cell's open figures at its end (and printing the ``Axes`` instead,
as pandas does, shows a stray ``<Axes: ...>`` line). This figure shows itself once:
the first time it is displayed, it leaves pyplot's list of open figures, so the
end-of-cell drawing skips it. Under a window or widget backend, which shows the figure
itself, it is not shown again; a figure pyplot no longer holds shows as a PNG image.

This module imports matplotlib as it loads: :mod:`jupyter_metahpo.result` loads it on
first use (:class:`~jupyter_metahpo._imports.LazyImport`).
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib import pyplot
from matplotlib._pylab_helpers import Gcf
from matplotlib.figure import Figure

from ._imports import LazyImport

__all__ = ["PyplotFigure"]

ipython_display = LazyImport("IPython.display")


class PyplotFigure(Figure):
    """A pyplot figure that a notebook shows once, whether or not it is the cell's value."""

    def _ipython_display_(self) -> None:
        held = any(manager.canvas.figure is self for manager in Gcf.get_all_fig_managers())
        if held and "inline" not in matplotlib.get_backend():
            return  # a window or a widget (ipympl) shows it already
        if held:
            pyplot.close(self)  # shown now: the inline backend's end-of-cell drawing must not show it again
        image = io.BytesIO()
        self.savefig(image, format="png", bbox_inches="tight")
        ipython_display.display({"image/png": image.getvalue(), "text/plain": repr(self)}, raw=True)
