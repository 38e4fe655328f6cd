"""Optional dependencies: the parts of corridor installed as extras, and a clear error without them.

The base install simulates, compares, validates, forecasts and writes reports. Calibration
(pyabc) and Dask clusters are extras (``pip install 'corridor[calibrate]'``,
``'corridor[cluster]'``, or ``'corridor[all]'``): pyabc alone brings about 30 packages
(scikit-learn, SQLAlchemy, IPython, ...). A command that needs one checks for it first and
says what to install, in one line, before doing anything.
"""

from __future__ import annotations

import importlib.util

from corridor.errors import CorridorError

__all__ = ["EXTRAS", "require"]

#: Module -> the extra that installs it.
EXTRAS: dict[str, str] = {"pyabc": "calibrate", "distributed": "cluster", "dask": "cluster"}


def require(module: str, purpose: str, error: type[CorridorError]) -> None:
    """Raise ``error`` naming the extra to install if ``module`` is not installed.

    Parameters
    ----------
    module : str
        A top-level module name, one of :data:`EXTRAS`.
    purpose : str
        What needs it, as the message's subject (``"corridor calibrate"``).
    error : type of CorridorError
        The error to raise (the workflow's own kind).
    """
    if importlib.util.find_spec(module) is None:
        raise error(
            f"{purpose} needs {module}, which is not installed: pip install 'corridor[{EXTRAS[module]}]'"
        )
