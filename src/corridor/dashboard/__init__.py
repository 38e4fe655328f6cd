"""``corridor dashboard``: a local web page to explore a scenario's policy levers (Dash).

:func:`serve` starts it (``corridor dashboard`` calls it); :func:`build_app` makes the Dash
app without starting it. The levers (:mod:`corridor.dashboard.levers`), the runs' cache
(:mod:`corridor.dashboard.cache`) and the figures (:mod:`corridor.dashboard.figures`) do not
import Dash; Dash is imported only when the page is built, so ``import corridor`` does not
need the ``dashboard`` extra. See docs/dashboard.md.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from corridor.errors import ScenarioError, WorkflowError

if TYPE_CHECKING:
    import dash

__all__ = ["DEFAULT_AGENTS", "DEFAULT_HOST", "DEFAULT_PORT", "build_app", "find_scenarios", "serve"]

#: Where the page is served by default: this machine only.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
#: Agents per run on the page. A year of the 2019 scenario takes about 2 s at 20,000 agents and
#: 1.5 s at 3,000 (the cost per day dominates), with a third of the noise: docs/dashboard.md.
DEFAULT_AGENTS = 20_000


def _require_dash() -> None:
    if importlib.util.find_spec("dash") is None:
        raise WorkflowError(
            "corridor dashboard needs Dash, which is not installed: pip install 'corridor[dashboard]'"
        )


def find_scenarios(scenarios: Sequence[str | Path] = (), folder: str | Path = "scenarios") -> list[Path]:
    """The scenario files the page offers: ``scenarios`` if given, else ``folder``/*.yaml.

    Raises
    ------
    ScenarioError
        A given file that does not exist, or no scenario at all.
    """
    if scenarios:
        files = [Path(s) for s in scenarios]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise ScenarioError([("--scenario", None, f"no such scenario file {missing[0]}")])
        return files
    files = sorted(Path(folder).glob("*.yaml"))
    if not files:
        raise ScenarioError(
            [
                (
                    "--scenario",
                    None,
                    f"no scenario files in {folder}/: give --scenario FILE.yaml, or start the "
                    "dashboard in the corridor repository (scenarios/*.yaml)",
                )
            ]
        )
    # The quick 2019 scenario first: the page runs the first one as it opens.
    return sorted(files, key=lambda f: (f.stem != "mexico-2019", f.stem))


def build_app(
    scenarios: Sequence[str | Path] = (), *, agents: int = DEFAULT_AGENTS, seed: int = 1
) -> dash.Dash:
    """The dashboard's Dash app, not started (for tests or a WSGI server).

    Parameters
    ----------
    scenarios : sequence of path
        Scenario files offered (default: scenarios/*.yaml of the current folder).
    agents, seed : int
        The run options the page starts with.

    Raises
    ------
    WorkflowError
        Dash is not installed.
    ScenarioError
        No scenario file (see :func:`find_scenarios`).
    """
    _require_dash()
    from corridor.dashboard.app import build_app as build

    return build(find_scenarios(scenarios), agents=agents, seed=seed)


def serve(
    scenarios: Sequence[str | Path] = (),
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    agents: int = DEFAULT_AGENTS,
    seed: int = 1,
    debug: bool = False,
) -> None:
    """Serve the dashboard until interrupted.

    Parameters
    ----------
    scenarios : sequence of path
        Scenario files offered (default: scenarios/*.yaml of the current folder).
    host, port
        Where to listen; the default host, 127.0.0.1, serves this machine only (the page
        runs simulations on request: do not expose it to a network you do not trust).
    agents, seed : int
        The run options the page starts with.
    debug : bool
        Dash's debug mode (reloads on code changes, shows callback errors in the page).

    Raises
    ------
    WorkflowError
        Dash is not installed.
    ScenarioError
        No scenario file.
    """
    app = build_app(scenarios, agents=agents, seed=seed)
    app.run(host=host, port=port, debug=debug)
