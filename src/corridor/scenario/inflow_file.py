"""An inflow's monthly persons read from a CSV file (``inflows.K.file``): one owner of that format."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from corridor.errors import ScenarioError, TextFileError, excerpt
from corridor.scenario.schema import MONTH_PATTERN, Scenario
from corridor.textfile import read_text

__all__ = ["MAX_INFLOW_FILE_BYTES", "read_monthly_inflow"]

#: An inflow CSV is a few KB (a row per month and nationality); this bounds what is read.
MAX_INFLOW_FILE_BYTES = 20_000_000


def read_monthly_inflow(scenario: Scenario, index: int, name: str) -> dict[str, float]:
    """Persons per month (``YYYY-MM``) of inflow ``index`` from its CSV file ``name`` (relative
    to the scenario's folder): columns ``month``, ``nationality`` and ``persons``; rows of the
    inflow's nationality only, rows of one month added up.

    Raises
    ------
    ScenarioError
        Naming ``inflows.<index>.file``: an unreadable or oversized file, a bad row (with its
        line), or no row of the nationality.
    """
    field = f"inflows.{index}.file"
    path = Path(name)
    if not path.is_absolute() and scenario.base_dir is not None:
        path = scenario.base_dir / path
    try:
        text = read_text(path, MAX_INFLOW_FILE_BYTES, "an inflow CSV")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except TextFileError as exc:  # the message names the file
        raise ScenarioError([(field, None, str(exc))]) from None
    except csv.Error as exc:
        raise ScenarioError([(field, None, f"{path}: not a CSV file ({exc})")]) from None
    out: dict[str, float] = {}
    nationality = scenario.inflows[index].nationality
    expected = "expected columns 'month' (YYYY-MM), 'nationality' and 'persons' (a finite number >= 0)"
    for n, row in enumerate(rows, start=2):
        try:
            month, nat, persons = row["month"], row["nationality"], float(row["persons"])
        except (KeyError, TypeError, ValueError):
            raise ScenarioError([(field, None, f"{path.name} line {n}: {expected}")]) from None
        if not (math.isfinite(persons) and persons >= 0):
            raise ScenarioError(
                [(field, None, f"{path.name} line {n}, column persons: {expected} (got {excerpt(persons)})")]
            )
        if not isinstance(month, str) or not MONTH_PATTERN.match(month):
            raise ScenarioError(
                [
                    (
                        field,
                        None,
                        f"{path.name} line {n}, column month: {excerpt(month)} is not YYYY-MM (01-12)",
                    )
                ]
            )
        if nat == nationality:  # rows of one month add up (parts of a flow)
            out[month] = out.get(month, 0.0) + persons
    if not out:
        raise ScenarioError([(field, None, f"{path.name} has no rows for nationality {nationality!r}")])
    return out
