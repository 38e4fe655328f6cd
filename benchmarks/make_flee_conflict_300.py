"""Write tests/data/flee-conflict-300: a synthetic 300-day conflict in Flee 3.1 / FabFlee's layout.

    python benchmarks/make_flee_conflict_300.py [--out tests/data/flee-conflict-300]

It extends ``tests/data/flee-conflict-mini`` (90 days) to 300 days, for the benchmark of the
whole ``corridor flee run`` command against Flee 3.1's whole run
(``benchmarks/flee_whole_command.py``). **Every number is made up** (see the folder's README):
the registration series are two smooth waves (logistic curves) sampled every 10 days, the first
from the conflict zones of the mini conflict, the second from a zone (A4) whose conflict starts
on day 150; a verification exercise lowers the total once (day 250), so Flee's refugee debt
acts. The mini conflict's camp closure (C2, days 30-59), link closure (T3-C2, days 0-9) and
level-1 correction (C1 on 2020-02-10) are kept. About 15,000 agents are in the run on day 299.

The output is deterministic (no random numbers, fixed formatting): ``tests/test_flee_300.py``
checks that this script reproduces the committed files byte for byte. The README beside them
is written by hand and is not touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "flee-conflict-300"

START = dt.date(2020, 1, 1)
DAYS = 300
#: Registration counts are given every STEP days, days 0 .. DAYS (as UNHCR's portal gives them
#: at irregular dates; Flee interpolates linearly in between).
STEP = 10

#: First wave (zones A1-A3): base + height * logistic((day - mid) / width).
WAVE1 = {"base": 300.0, "height": 9_200.0, "mid": 50.0, "width": 15.0}
#: Second wave (zone A4, from day 150): zero before, then a logistic rise from day 150.
WAVE2 = {"start": 150.0, "height": 5_600.0, "mid": 185.0, "width": 12.0}
#: A verification exercise: from this day the total is lower by this many (Flee's refugee debt).
VERIFICATION_DAY, VERIFICATION_DROP = 250, 400

#: Share of each wave registered in each camp (the rest stay in towns, unregistered).
CAMP_SHARES = {
    "C1": (0.40, 0.12),
    "C2": (0.25, 0.30),
    "C3": (0.18, 0.04),
    "C4": (0.00, 0.30),
}
#: C1's counts before the correction day are level-1 registrations: this share of the full
#: count (registration_corrections.csv rescales them, as Flee's ReadL1Corrections does).
C1_LEVEL1_SHARE, C1_CORRECTION_DAY = 0.5, 40

LOCATIONS = [
    # name, region, country, location_type, conflict_date, pop/cap
    ("A1", "North", "Aland", "conflict_zone", "0", 60_000),
    ("A2", "North", "Aland", "conflict_zone", "20", 40_000),
    ("A3", "East", "Aland", "town", "", 20_000),
    ("A4", "South", "Aland", "conflict_zone", "150", 50_000),
    ("T1", "North", "Aland", "town", "", 5_000),
    ("T2", "East", "Aland", "town", "", 5_000),
    ("T3", "South", "Aland", "town", "", 3_000),
    ("F1", "West", "Bland", "town", "", 2_000),
    ("C1", "West", "Bland", "camp", "", 9_000),
    ("C2", "South", "Bland", "camp", "", 5_000),
    ("C3", "East", "Aland", "idpcamp", "", 1_500),
    ("C4", "South", "Bland", "camp", "", 3_000),
]

ROUTES = [
    ("A1", "T1", 120),
    ("T1", "A2", 80),
    ("T1", "T3", 200),
    ("A2", "T2", 150),
    ("A3", "T2", 90),
    ("T2", "C3", 60),
    ("T3", "F1", 180),
    ("F1", "C1", 70),
    ("T3", "C2", 250),
    ("F1", "C2", 160),
    ("A1", "T3", 300),
    ("A4", "T3", 110),
    ("A4", "C4", 230),
]

#: (location, first day, first day after) of conflict intensity 1 in conflicts.csv.
CONFLICTS = {
    "A1": [(0, DAYS)],
    "A2": [(20, 220)],  # ends on day 220: Flee removes the zone (its value the day before is 1)
    "A3": [(40, 70)],
    "A4": [(150, DAYS)],
}

SIMSETTING = """\
# Flee 3.1 settings in FabFlee's layout (synthetic test values; see README.md)
log_levels:
  agent: 0
  link: 0
  camp: 0
  conflict: 0
  init: 0
  idp_totals: 0
spawn_rules:
  take_from_population: False
  insert_day0: True
  conflict_spawn_decay: [1.0, 0.8, 0.6]
move_rules:
  max_move_speed: 200.0
  max_walk_speed: 35.0
  foreign_weight: 1.0
  camp_weight: 2.0
  conflict_weight: 0.25
  conflict_movechance: 1.0
  camp_movechance: 0.001
  default_movechance: 0.3
  idpcamp_movechance: 0.1
  awareness_level: 1
  capacity_buffer: 0.9
  avoid_short_stints: True
  start_on_foot: False
  softening: 10.0
optimisations:
  hasten: 1
"""


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def wave1(day: int) -> float:
    """People displaced by the first wave by ``day``."""
    return WAVE1["base"] + WAVE1["height"] * _logistic((day - WAVE1["mid"]) / WAVE1["width"])


def wave2(day: int) -> float:
    """People displaced by the second wave (zone A4) by ``day``: 0 before its start."""
    if day < WAVE2["start"]:
        return 0.0
    at_start = _logistic((WAVE2["start"] - WAVE2["mid"]) / WAVE2["width"])
    now = _logistic((day - WAVE2["mid"]) / WAVE2["width"])
    return WAVE2["height"] * (now - at_start) / (1.0 - at_start)


def total(day: int) -> int:
    """The registration total on ``day`` (drives Flee's spawning)."""
    drop = VERIFICATION_DROP if day >= VERIFICATION_DAY else 0
    return round(wave1(day) + wave2(day)) - drop


def camp_count(camp: str, day: int) -> int:
    """Registrations in ``camp`` on ``day``."""
    s1, s2 = CAMP_SHARES[camp]
    count = s1 * wave1(day) + s2 * wave2(day)
    if camp == "C1" and day < C1_CORRECTION_DAY:
        count *= C1_LEVEL1_SHARE
    return round(count)


def files() -> dict[str, str]:
    """Relative path -> text of every data file of the folder (the README excepted)."""
    sample_days = range(0, DAYS + 1, STEP)

    def series(count: Callable[[int], int]) -> str:
        return "".join(f"{(START + dt.timedelta(days=d)).isoformat()},{count(d)}\n" for d in sample_days)

    out: dict[str, str] = {}
    out["input_csv/locations.csv"] = (
        "#name,region,country,gps_x,gps_y,location_type,conflict_date,pop/cap\n"
        + "".join(f"{n},{r},{c},0,0,{kind},{date},{pop}\n" for n, r, c, kind, date, pop in LOCATIONS)
    )
    out["input_csv/routes.csv"] = "#name1,name2,distance,forced_redirection\n" + "".join(
        f"{a},{b},{km},0\n" for a, b, km in ROUTES
    )
    out["input_csv/closures.csv"] = (
        "#closure_type,name1,name2,closure_start,closure_end\n"
        "camp,C2,,30,60\ncamp,C4,,0,150\nlink,T3,C2,0,10\n"
    )
    names = list(CONFLICTS)
    rows = ["#Day," + ",".join(names)]
    for day in range(DAYS):
        cells = ["1" if any(a <= day < b for a, b in CONFLICTS[n]) else "0" for n in names]
        rows.append(f"{day}," + ",".join(cells))
    out["input_csv/conflicts.csv"] = "\n".join(rows) + "\n"
    correction = START + dt.timedelta(days=C1_CORRECTION_DAY)
    out["input_csv/registration_corrections.csv"] = f"C1,{correction.isoformat()}\n"
    out["input_csv/sim_period.csv"] = f"StartDate,{START.isoformat()}\nLength,{DAYS}\n"
    out["source_data/data_layout.csv"] = "total,refugees.csv\n" + "".join(
        f"{c},{c}.csv\n" for c in CAMP_SHARES
    )
    out["source_data/refugees.csv"] = series(total)
    for camp in CAMP_SHARES:
        out[f"source_data/{camp}.csv"] = series(lambda d, c=camp: camp_count(c, d))  # type: ignore[misc]
    out["simsetting.yml"] = SIMSETTING
    return out


def write_conflict(dest: Path) -> list[Path]:
    """Write the data files under ``dest`` (created if needed); return their paths."""
    written = []
    for rel, text in files().items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default: %(default)s)")
    args = ap.parse_args()
    for path in write_conflict(args.out):
        print(path)


if __name__ == "__main__":
    main()
