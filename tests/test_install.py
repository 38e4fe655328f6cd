"""The base install: `import corridor` stays light, and corridor works without the extras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import base_scenario_data, write_yaml

#: Modules of the extras (and what pyabc brings) that `import corridor` must not load.
HEAVY = ("pyabc", "dask", "distributed", "sklearn", "sqlalchemy", "IPython", "matplotlib")
#: Runs corridor's command line with the extras' modules made unimportable.
WITHOUT_EXTRAS = (
    "import sys\n"
    "for name in ('pyabc', 'dask', 'distributed'):\n"
    "    sys.modules[name] = None  # import fails, as when not installed\n"
    "from corridor.cli import main\n"
    "sys.argv = ['corridor', *sys.argv[1:]]\n"
    "main()\n"
)


def _python(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def test_import_corridor_loads_no_extra() -> None:
    code = f"import sys, corridor; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = _python("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_runs_without_the_extras_and_says_what_to_install(tmp_path: Path) -> None:
    scenario = write_yaml(tmp_path / "small.yaml", base_scenario_data())
    run = _python("-c", WITHOUT_EXTRAS, "run", str(scenario), "--agents", "1500", "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "runs" / "small" / "daily.parquet").is_file()
    calibrate = _python(
        "-c", WITHOUT_EXTRAS, "calibrate", str(scenario), "--budget", "4", "--agents", "500", cwd=tmp_path
    )
    assert calibrate.returncode == 2
    assert "pip install 'corridor[calibrate]'" in calibrate.stderr and "Traceback" not in calibrate.stderr
