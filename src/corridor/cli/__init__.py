"""The ``corridor`` command line. Thin: each command parses its options, calls the public
Python API and renders the result (rich, and progress bars, only here).

One module per group of commands, each registering on the one typer app of
:mod:`corridor.cli.app`: :mod:`~corridor.cli.simulate` (run, report, compare, export-hxl,
dashboard), :mod:`~corridor.cli.evidence` (validate, ensemble), :mod:`~corridor.cli.fit`
(calibrate, forecast, backtest, sensitivity) and :mod:`~corridor.cli.flee` (Flee's workloads,
benchmarks). :mod:`~corridor.cli.help` names option values in --help.
"""

from __future__ import annotations

# Importing a module registers its commands; --help lists them in this order.
# isort: off
from corridor.cli import simulate, evidence, fit, flee

# isort: on
from corridor.cli.app import app, main

__all__ = ["app", "evidence", "fit", "flee", "main", "simulate"]
