"""Every error corridor raises on purpose, in one tree.

::

    CorridorError                 anything corridor refuses or cannot do (a ValueError)
    ├── InputError                a file or option given to corridor is wrong
    │   ├── ScenarioError         a scenario YAML file, an override or a run option
    │   ├── GeographyError        a geography data file, or an unknown place
    │   │   └── FleeInputError    a Flee 3.1 input folder
    │   ├── EvidenceError         an observed-data or mapping file, or a comparison asked of it
    │   └── TextFileError         a file that is not the text file expected
    ├── OutputError               an output folder or file corridor must not write into
    ├── RunError                  a simulation failed in its worker (``.details``: the traceback)
    └── WorkflowError             a workflow cannot start, resume or finish
        ├── EnsembleError
        ├── CalibrationError
        ├── ForecastError
        ├── SensitivityError
        └── BacktestError

Messages quote what they were given with :func:`excerpt` (cut to 40 characters). Catch
:class:`CorridorError` to handle all of them: its message is one line (a
:class:`ScenarioError` listing several problems is a head line and one line per problem)
naming the file, field or option and what was expected; the command line prints it and exits
with status 2. Each module raises the kind it owns and re-exports it (``corridor.scenario.
ScenarioError`` is ``corridor.errors.ScenarioError``). Errors of Python or of a library that
reach a caller unchanged are bugs of corridor.

``CorridorError`` derives from :class:`ValueError`, so code written against corridor 0.1,
which raised plain ``ValueError`` subclasses, keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BacktestError",
    "CalibrationError",
    "CorridorError",
    "EnsembleError",
    "EvidenceError",
    "FleeInputError",
    "ForecastError",
    "GeographyError",
    "InputError",
    "OutputError",
    "RunError",
    "ScenarioError",
    "SensitivityError",
    "TextFileError",
    "WorkflowError",
    "excerpt",
]


class CorridorError(ValueError):
    """The root: anything corridor refuses or cannot do; ``str()`` says what and where."""


# --------------------------------------------------------------------------- inputs
class InputError(CorridorError):
    """A file or option given to corridor is wrong; nothing was simulated or written."""


#: Problems a ScenarioError lists (a file that is not a scenario would otherwise be echoed
#: line by line).
_MAX_PROBLEMS_SHOWN = 12


def _where(path: str, line: int | None) -> str:
    if not path:
        return f"line {line}: " if line else ""
    return path + (f" (line {line})" if line else "") + ": "


class ScenarioError(InputError):
    """A scenario could not be loaded or compiled, or a run option is invalid.

    Attributes
    ----------
    problems : list of (path, line, message)
        ``path`` is the dotted YAML path (``policy.checkpoint_intensity.Chiapas``),
        ``line`` the 1-based line in the file or None.
    """

    def __init__(
        self, problems: Sequence[tuple[str, int | None, str]], source: str = "", what: str = "scenario"
    ) -> None:
        self.problems = list(problems)
        self.source = source
        self.what = what
        super().__init__(self._format())

    def _format(self) -> str:
        head = f"invalid {self.what} {self.source}" if self.source else f"invalid {self.what}"
        shown = [_where(path, line) + msg for path, line, msg in self.problems[:_MAX_PROBLEMS_SHOWN]]
        if len(self.problems) == 1:
            return f"{head}: {shown[0]}"
        lines = [f"{head}: {len(self.problems)} problems", *(f"  {line}" for line in shown)]
        if len(self.problems) > _MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(self.problems) - _MAX_PROBLEMS_SHOWN} more")
        return "\n".join(lines)

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[list[tuple[str, int | None, str]], str, str]]:
        # Survives the trip back from a worker process (its __init__ takes no message).
        return (type(self), (self.problems, self.source, self.what))


class GeographyError(InputError):
    """A geography data file is malformed (the message names file, row and field), or a place
    asked for is not in the network."""


class FleeInputError(GeographyError):
    """A Flee input file is malformed; the message names file, line and column."""


class EvidenceError(InputError):
    """An observed-data or mapping file is malformed (the message names file, line and
    column), or a comparison cannot be made with them."""


class TextFileError(InputError):
    """A file that is not the text file expected; the message is one line naming it."""


# --------------------------------------------------------------------------- outputs
class OutputError(CorridorError):
    """An output folder or file that corridor must not write into (it holds other work)."""


# --------------------------------------------------------------------------- runs
class RunError(CorridorError):
    """A run failed in its worker: ``str()`` is the error, ``.details`` its traceback there.

    Workers raise this instead of the original exception, which may not survive the trip
    back to the parent process (an exception whose ``__init__`` takes other arguments than
    its message cannot be unpickled, and would break a process pool).
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message, details)

    def __str__(self) -> str:
        return str(self.args[0])

    @property
    def details(self) -> str:
        """The traceback in the worker."""
        return str(self.args[1])


# --------------------------------------------------------------------------- workflows
class WorkflowError(CorridorError):
    """A workflow (ensemble, calibration, forecast, sensitivity) cannot start, resume or finish."""


class EnsembleError(WorkflowError):
    """An ensemble could not be started, resumed or completed (bad options, a foreign folder...)."""


class CalibrationError(WorkflowError):
    """Calibration cannot start or continue (bad priors, no observations, a foreign or unreadable
    database)."""


class ForecastError(WorkflowError):
    """A forecast cannot be made as asked (message names the row and the reason)."""


class SensitivityError(WorkflowError):
    """Parameters or options of a sensitivity analysis that cannot be used."""


class BacktestError(WorkflowError):
    """A backtest cannot be made as asked: a history that is not a monthly series of counts, a
    value at or after the forecast origin (a leak of the future), or scores of malformed rows."""


def excerpt(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: what error messages quote of an input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"
