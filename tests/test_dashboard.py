"""corridor dashboard: the levers, the cache, the YAML download, and the page in a real browser.

The browser test drives headless Chromium with selenium (Debian's ``chromium`` and
``chromium-driver``; .ci/run installs them): it loads the page, moves a lever, runs, and
checks that the map and the charts change; then gives a bad lever value and checks that the
page shows the error and the server still runs. With ``CORRIDOR_SCREENSHOTS=<folder>`` it
saves dashboard-before.png and dashboard-after.png there (docs/images for the docs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import corridor
from corridor.dashboard import DEFAULT_AGENTS, find_scenarios
from corridor.dashboard.cache import RunCache
from corridor.dashboard.levers import LEVERS, apply_levers, default_levers, lever_changes, scenario_yaml
from corridor.errors import ScenarioError, WorkflowError
from corridor.report.html import DIFFERENCE_FEWER, DIFFERENCE_MORE, EDITED_RUN

ROOT = Path(__file__).resolve().parents[1]
S2019 = ROOT / "scenarios" / "mexico-2019.yaml"
S2023 = ROOT / "scenarios" / "mexico-2023-24.yaml"


@pytest.fixture(scope="module")
def sc2019() -> corridor.Scenario:
    return corridor.load_scenario(S2019)


# ------------------------------------------------------------------------------- levers
def test_default_levers_leave_the_scenario_unchanged(sc2019: corridor.Scenario) -> None:
    defaults = default_levers(sc2019)
    # The 2019 visa window: opened 17 January, cancelled 1 February (15 days).
    assert defaults == {"enforcement": 1.0, "bus_south": 0.0, "cbp_one": 0.0, "comar": 1.0, "visa_days": 15.0}
    assert apply_levers(sc2019, defaults) is sc2019
    assert apply_levers(sc2019, {}) is sc2019
    sc2023 = corridor.load_scenario(S2023)
    assert default_levers(sc2023)["bus_south"] == 0.3
    assert apply_levers(sc2023, default_levers(sc2023)) is sc2023


def test_multipliers_scale_the_start_and_every_scheduled_change(sc2019: corridor.Scenario) -> None:
    edited = apply_levers(sc2019, {"enforcement": 2.0, "comar": 0.5})
    assert edited.policy.checkpoint_intensity == {
        k: 2 * v for k, v in sc2019.policy.checkpoint_intensity.items()
    }
    deal = next(e for e in edited.events if "checkpoint_intensity.Chiapas" in e.set)
    assert deal.date.isoformat() == "2019-06-10"
    assert deal.set["checkpoint_intensity.Chiapas"] == 12.0  # 6 in the scenario
    assert deal.set["raid_probability_per_day"] == 0.002  # not an intensity: kept
    assert [o.decisions_per_day for o in edited.policy.asylum.offices] == [10.0, 6.0, 2.0, 2.0]
    assert edited.name == "mexico-2019-dashboard"
    assert edited.sha256 != sc2019.sha256
    assert "corridor dashboard" in (
        edited.provenance_of("policy.checkpoint_intensity.Chiapas").assumption or ""
    )
    assert sc2019.policy.checkpoint_intensity["Chiapas"] == 3.0  # the original is untouched


def test_comar_capacity_scales_the_scheduled_office_changes() -> None:
    sc = corridor.load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml")
    edited = apply_levers(sc, {"comar": 2.0})

    def steps(scenario: corridor.Scenario) -> list[tuple[str, str, float]]:
        return [
            (e.date.isoformat(), k, float(v))
            for e in scenario.events
            for k, v in e.set.items()
            if "offices" in k
        ]

    assert steps(edited) == [(d, k, 2 * v) for d, k, v in steps(sc)]
    assert ("2021-03-11", "asylum.offices.0.decisions_per_day", 400.0) in steps(edited)


def test_held_values_replace_the_scheduled_changes() -> None:
    sc2023 = corridor.load_scenario(S2023)
    assert any("bus_south_share" in e.set for e in sc2023.events)
    edited = apply_levers(sc2023, {"bus_south": 0.6})
    assert edited.policy.bus_south_share == 0.6
    assert not any("bus_south_share" in e.set for e in edited.events)


def test_the_visa_window_is_rescheduled(sc2019: corridor.Scenario) -> None:
    edited = apply_levers(sc2019, {"visa_days": 60})
    window = sorted(
        (e.date.isoformat(), e.set["visas.window_open"])
        for e in edited.events
        if "visas.window_open" in e.set
    )
    assert window == [("2019-01-17", True), ("2019-03-18", False)]
    assert default_levers(edited)["visa_days"] == 60
    closed = apply_levers(sc2019, {"visa_days": 0})
    assert not any("visas.window_open" in e.set for e in closed.events)
    assert closed.policy.visas.window_open is False


@pytest.mark.parametrize(
    ("levers", "message"),
    [
        ({"bus_south": 1.5}, "Busing-south share must be between 0 and 1"),
        ({"enforcement": -1}, "Enforcement intensity must be between 0 and 5"),
        ({"comar": None}, "COMAR capacity: give a number"),
        ({"cbp_one": "many"}, "CBP One appointments: expected a number"),
        ({"visa_days": 2.5}, "a whole number of days"),
        ({"tariffs": 1}, "levers.tariffs: not a lever"),
    ],
)
def test_bad_lever_values_are_refused_by_name(
    sc2019: corridor.Scenario, levers: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        apply_levers(sc2019, levers)


def test_the_downloaded_yaml_loads_back_as_the_edited_scenario(
    sc2019: corridor.Scenario, tmp_path: Path
) -> None:
    edited = apply_levers(sc2019, {"enforcement": 1.5, "bus_south": 0.4, "visa_days": 30})
    text = scenario_yaml(edited, "edited in a test\nsecond line")
    assert text.startswith("# edited in a test\n# second line\nname: mexico-2019-dashboard\n")
    elsewhere = tmp_path / "downloads" / "edited.yaml"  # saved far from scenarios/: inflow paths are absolute
    elsewhere.parent.mkdir()
    elsewhere.write_text(text)
    back = corridor.load_scenario(elsewhere)
    assert back.model_dump(exclude={"inflows"}) == edited.model_dump(exclude={"inflows"})
    assert [Path(i.file or "").resolve() for i in back.inflows] == [
        (S2019.parent / (i.file or "")).resolve() for i in sc2019.inflows
    ]
    assert lever_changes(back, default_levers(edited)) == {}


# ------------------------------------------------------------------------------- runs and cache
def test_runs_are_cached_by_parameter_set(sc2019: corridor.Scenario) -> None:
    cache = RunCache()
    base = cache.run(sc2019, {}, seed=3, agents=800)
    again = cache.run(sc2019, {"bus_south": 0.0, "enforcement": 1}, seed=3, agents=800)  # the defaults
    assert (base.cached, again.cached, cache.simulated) == (False, True, 1)
    edited = cache.run(sc2019, {"bus_south": 0.8}, seed=3, agents=800)
    other_seed = cache.run(sc2019, {"bus_south": 0.8}, seed=4, agents=800)
    assert (edited.cached, other_seed.cached, cache.simulated) == (False, False, 3)
    # Same seed: the busing lever moves people south that the unchanged run deported.
    assert base.view.monthly["bused_south"].sum() == 0
    assert edited.view.monthly["bused_south"].sum() > 0
    assert edited.view.info["seed"] == 3


def test_the_download_button_gives_the_edited_scenario(tmp_path: Path) -> None:
    import dash

    from corridor.dashboard.app import Callbacks

    calls = Callbacks()
    values = {**default_levers(corridor.load_scenario(S2019)), "comar": 2.0}
    data, status = calls.download(1, str(S2019), *(values[lever.key] for lever in LEVERS))
    assert data["filename"] == "mexico-2019-dashboard.yaml"
    (tmp_path / data["filename"]).write_text(data["content"])
    back = corridor.load_scenario(tmp_path / data["filename"])
    assert [o.decisions_per_day for o in back.policy.asylum.offices] == [40.0, 24.0, 8.0, 8.0]
    # A bad value: nothing to download, the error in the status.
    values["comar"] = -2
    data, status = calls.download(2, str(S2019), *(values[lever.key] for lever in LEVERS))
    assert data is dash.no_update and "COMAR capacity must be between 0 and 10" in str(status)


def test_import_corridor_does_not_import_dash() -> None:
    code = "import sys, corridor, corridor.dashboard, corridor.dashboard.cache; print('dash' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_dash_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    import corridor.dashboard as dashboard

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "dash" else real(name, *a)
    )
    with pytest.raises(WorkflowError, match=r"pip install 'corridor\[dashboard\]'"):
        dashboard.serve([S2019])


def test_find_scenarios(tmp_path: Path) -> None:
    assert find_scenarios(folder=ROOT / "scenarios")[0] == ROOT / "scenarios" / "mexico-2019.yaml"
    with pytest.raises(ScenarioError, match="no scenario files"):
        find_scenarios(folder=tmp_path)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        find_scenarios([tmp_path / "nope.yaml"])


# ------------------------------------------------------------------------------- in a browser
def _browser() -> tuple[str, str]:
    chrome = next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    driver = shutil.which("chromedriver")
    if chrome is None or driver is None:
        pytest.skip(
            "headless browser test: chromium and chromedriver are not installed "
            "(apt-get install chromium chromium-driver)"
        )
    return chrome, driver


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The dashboard served on a free port of 127.0.0.1 in a thread, for this module."""
    _browser()
    from werkzeug.serving import make_server

    from corridor.dashboard import build_app

    app = build_app([S2019, S2023], seed=1)  # the default agents: the latency printed is the default's
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chrome, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1500,1900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


_FIGURE_DATA = """
const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
if (!gd || !gd._fullData) { return null; }
// _fullData: the traces as drawn, typed arrays sent by plotly.py decoded.
return gd._fullData.map(t => ({name: t.name || '', y: t.y ? Array.from(t.y) : null,
                          color: t.marker && t.marker.color && typeof t.marker.color === 'object'
                                 ? Array.from(t.marker.color) : null}));
"""


_STYLED = """
const colour = e => getComputedStyle(e).color;
return {run: getComputedStyle(document.getElementById('run')).backgroundColor,
        more: Array.from(document.querySelectorAll('#headline-table .corridor-more'), colour),
        fewer: Array.from(document.querySelectorAll('#headline-table .corridor-fewer'), colour),
        // Colours set inline on the page's own elements (plotly's and the dropdown's are theirs).
        inline: Array.from(document.querySelectorAll('.corridor-page [style]'))
                     .filter(e => !e.closest('.js-plotly-plot, .dash-dropdown')
                                  && /color|background/.test(e.getAttribute('style')))
                     .map(e => e.outerHTML.slice(0, 120))};
"""


def _rgb(hex_colour: str) -> str:
    """A ``#rrggbb`` colour as the browser reports a computed one."""
    r, g, b = (int(hex_colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _figure(driver: Any, graph_id: str) -> list[dict[str, Any]]:
    data = driver.execute_script(_FIGURE_DATA, f"#{graph_id}")
    assert data, f"#{graph_id} has no plotly figure"
    return list(data)


def _set(driver: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, element_id)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    box.send_keys(value)


def _wait_text(driver: Any, element_id: str, text: str, timeout: float = 40.0) -> float:
    """Seconds until the element's text contains ``text``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    start = time.perf_counter()
    WebDriverWait(driver, timeout).until(ec.text_to_be_present_in_element((By.ID, element_id), text))
    return time.perf_counter() - start


def _screenshot(driver: Any, name: str) -> None:
    folder = os.environ.get("CORRIDOR_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


def test_the_page_runs_a_lever_and_shows_errors(served: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served)
    _wait_text(browser, "status", "no lever changed", timeout=60)  # the unchanged scenario, run on load
    before_monthly = _figure(browser, "monthly")
    before_map = _figure(browser, "map")
    assert {t["name"] for t in before_monthly} >= {"unchanged scenario", "with your levers"}
    # No lever moved: both runs are one (cached) run.
    assert before_monthly[0]["y"] == before_monthly[1]["y"]
    assert {lever.key for lever in LEVERS} == {
        e.get_attribute("id").removeprefix("lever-")
        for e in browser.find_elements(By.CSS_SELECTOR, "input[id^=lever-]")
    }
    # Offline: everything the page loaded came from the dashboard's own server.
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(served) for url in loaded), [
        u for u in loaded if not u.startswith(served)
    ]
    _screenshot(browser, "dashboard-before.png")

    _set(browser, "lever-enforcement", "3")
    _set(browser, "lever-bus_south", "0.5")
    clicked = time.perf_counter()
    browser.find_element(By.ID, "run").click()
    _wait_text(browser, "status", "Enforcement intensity 3")
    _figure(browser, "difference")  # drawn
    latency = time.perf_counter() - clicked
    print(
        f"\ndashboard: click on Run to updated page: {latency:.1f} s "
        f"(mexico-2019, {DEFAULT_AGENTS:,} agents, one new run)"
    )
    after_monthly = _figure(browser, "monthly")
    after_map = _figure(browser, "map")
    # The unchanged run is the same; the edited one changed, and so did the map.
    assert after_monthly[0]["y"] == before_monthly[0]["y"]
    assert after_monthly[1]["y"] != before_monthly[1]["y"]
    colours = lambda fig: [t["color"] for t in fig if t["color"]]  # noqa: E731
    assert colours(after_map) and colours(after_map) != colours(before_map)
    table = browser.find_element(By.ID, "headline-table").text
    bused = next(line for line in table.splitlines() if line.startswith("Bused back"))
    assert bused.split()[-1].startswith("+")  # nobody is bused south in 2019 unless the lever says so
    # The style sheet (assets/corridor.css) is served and applied, in corridor.report.html's colours.
    styled = browser.execute_script(_STYLED)
    assert styled["run"] == _rgb(EDITED_RUN)
    assert styled["more"] and set(styled["more"]) == {_rgb(DIFFERENCE_MORE)}
    assert set(styled["fewer"]) <= {_rgb(DIFFERENCE_FEWER)}
    assert styled["inline"] == [], "inline styles: the page's styling belongs in assets/corridor.css"
    _screenshot(browser, "dashboard-after.png")

    _set(browser, "lever-bus_south", "1.5")
    browser.find_element(By.ID, "run").click()
    _wait_text(browser, "status", "Busing-south share must be between 0 and 1")
    assert browser.find_element(By.ID, "error").is_displayed()
    # The server is still up: a good value runs again.
    _set(browser, "lever-bus_south", "0.25")
    browser.find_element(By.ID, "run").click()
    _wait_text(browser, "status", "Busing-south share 0.25")
