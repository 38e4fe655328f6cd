"""corridor: a simulator of migration through the Central America - Mexico - US corridor.

The public API is small:

- :func:`load_scenario` reads and validates a scenario YAML file;
- :func:`load_network` loads the corridor's geography (shipped with the package);
- :func:`simulate` runs a scenario and returns :class:`Results`
  (``.to_frame()`` tidy table, ``.to_xarray()``, ``.identity_check()``, ``.summary()``);
- :func:`write_run` writes a run's ``daily.parquet`` and ``run.json`` atomically;
- :func:`run_ensemble` runs a scenario many times (seeds, posterior draws; local processes
  or a Dask cluster) and writes every run and the quantiles across runs;
- :func:`validate` runs a scenario over several seeds and compares it with the observed
  data (:func:`load_observed`; held-out outcomes excluded by default), see docs/evidence.md;
- :func:`calibrate` fits a scenario's ``priors`` to the observed data (ABC-SMC with pyabc)
  and writes the posterior and a calibrated scenario, see docs/calibration.md;
- :func:`forecast` gives the median and 90% interval of observed series in months with no
  data from runs of a (calibrated) scenario, see docs/forecast.md.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from corridor.errors import (
    CalibrationError,
    EnsembleError,
    EvidenceError,
    ForecastError,
    GeographyError,
    OutputError,
    ScenarioError,
)

if _TYPE_CHECKING:
    from corridor._version import __version__
    from corridor.calibrate import CalibrationResult, calibrate
    from corridor.ensemble import EnsembleResult, run_ensemble
    from corridor.evidence import ValidationResult, load_observed, validate
    from corridor.forecast import ForecastResult, forecast, monthly_requests
    from corridor.geography import Network, load_network
    from corridor.metrics import Results
    from corridor.runner.single import simulate, write_run
    from corridor.scenario import Scenario, load_scenario
    from corridor.timeline import Timeline, compile_timeline

#: Where each public name lives. They are imported on first use (PEP 562), so that
#: ``import corridor`` (and every command's start-up) does not load NumPy, pandas, the
#: engine and the calibration modules before they are needed; nor ``importlib.metadata``
#: for the version (about 50 ms).
_LAZY: dict[str, str] = {
    "__version__": "corridor._version",
    "CalibrationResult": "corridor.calibrate",
    "calibrate": "corridor.calibrate",
    "EnsembleResult": "corridor.ensemble",
    "run_ensemble": "corridor.ensemble",
    "ValidationResult": "corridor.evidence",
    "load_observed": "corridor.evidence",
    "validate": "corridor.evidence",
    "ForecastResult": "corridor.forecast",
    "forecast": "corridor.forecast",
    "monthly_requests": "corridor.forecast",
    "Network": "corridor.geography",
    "load_network": "corridor.geography",
    "Results": "corridor.metrics",
    "simulate": "corridor.runner.single",
    "write_run": "corridor.runner.single",
    "Scenario": "corridor.scenario",
    "load_scenario": "corridor.scenario",
    "Timeline": "corridor.timeline",
    "compile_timeline": "corridor.timeline",
}


def __getattr__(name: str) -> _Any:
    """Import a public name's module on first use (see :data:`_LAZY`)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'corridor' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "CalibrationError",
    "CalibrationResult",
    "EnsembleError",
    "EnsembleResult",
    "EvidenceError",
    "ForecastError",
    "ForecastResult",
    "GeographyError",
    "Network",
    "OutputError",
    "Results",
    "Scenario",
    "ScenarioError",
    "Timeline",
    "ValidationResult",
    "__version__",
    "calibrate",
    "compile_timeline",
    "forecast",
    "load_network",
    "load_observed",
    "load_scenario",
    "monthly_requests",
    "run_ensemble",
    "simulate",
    "validate",
    "write_run",
]
