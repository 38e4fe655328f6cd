"""What a calibration folder holds, and the error calibration raises."""

from __future__ import annotations

from pathlib import Path

#: Files written into the output folder.
DB_NAME = "calibration.db"


def calibration_outputs(name: str, db_path: Path) -> tuple[str, ...]:
    """What a calibration folder holds: the database (and SQLite's journal files beside it),
    its spec (the folder's marker), the posterior, summary, calibrated scenario and checks."""
    db = db_path.name
    return (
        db,
        f"{db}-journal",
        f"{db}-wal",
        f"{db}-shm",
        db_path.stem + "_spec.json",
        POSTERIOR_NAME,
        SUMMARY_NAME,
        f"{name}-calibrated.yaml",
        "validation",
        "predictive",
    )


POSTERIOR_NAME = "posterior.parquet"
SUMMARY_NAME = "calibration.json"


#: pyabc's tables (pyabc.storage.db_model): a database without them was not written by pyabc.
PYABC_TABLES = (
    "abc_smc",
    "populations",
    "models",
    "particles",
    "parameters",
    "samples",
    "summary_statistics",
    "version",
)
_MOVE_AWAY = "move it away or use another --out"
