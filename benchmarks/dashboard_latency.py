"""Time from a click on "Run" in ``corridor dashboard`` to the updated page, in a real browser.

Serves the dashboard on a free port of 127.0.0.1, opens it in headless Chromium (selenium,
Debian's ``chromium`` and ``chromium-driver``), waits for the unchanged scenario that the
page runs as it opens, then sets the enforcement lever to each of ``--values`` in turn
(each a new run: simulated, not cached), and once more to the first value (served from the
cache). Prints one JSON line per click: the lever value, whether it was cached, and the
seconds from the click to the page showing the new run's status and figures. Usage::

    python benchmarks/dashboard_latency.py [--scenario scenarios/mexico-2019.yaml]
        [--agents 20000] [--values 1.5 2 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from corridor.dashboard import build_app

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "mexico-2019.yaml")
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--values", type=float, nargs="+", default=[1.5, 2.0, 3.0])
    args = parser.parse_args()
    chrome, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chrome is None or driver_path is None:
        raise SystemExit("needs chromium and chromedriver (apt-get install chromium chromium-driver)")

    server = make_server("127.0.0.1", 0, build_app([args.scenario], agents=args.agents).server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1500,1900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    wait = WebDriverWait(driver, 120)
    try:
        start = time.perf_counter()
        driver.get(f"http://127.0.0.1:{server.server_port}/")
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "no lever changed"))
        print(
            json.dumps(
                {"what": "page load and the unchanged run", "seconds": round(time.perf_counter() - start, 2)}
            )
        )
        new_runs = []
        for k, value in enumerate([*args.values, args.values[0]]):
            box = driver.find_element(By.ID, "lever-enforcement")
            box.send_keys(Keys.CONTROL, "a")
            box.send_keys(Keys.BACKSPACE)
            box.send_keys(f"{value:g}")
            clicked = time.perf_counter()
            driver.find_element(By.ID, "run").click()
            wait.until(
                ec.text_to_be_present_in_element((By.ID, "status"), f"Enforcement intensity {value:g}.")
            )
            seconds = time.perf_counter() - clicked
            cached = k == len(args.values)
            if not cached:
                new_runs.append(seconds)
            record = {"scenario": args.scenario.stem, "agents": args.agents, "enforcement": value}
            print(json.dumps({**record, "cached": cached, "seconds": round(seconds, 2)}))
        print(
            json.dumps({"what": "median of the new runs", "seconds": round(statistics.median(new_runs), 2)})
        )
    finally:
        driver.quit()
        server.shutdown()


if __name__ == "__main__":
    main()
