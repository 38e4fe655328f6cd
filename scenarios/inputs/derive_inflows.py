"""Derive monthly inflows into Mexico by nationality from observed series.

Writes ``mexico-2019-inflows.csv`` (columns: month, nationality, persons, basis) from the
observed data shipped with corridor (``corridor/data/observed/observed.csv``; every value
there has its source). Run from the repository root::

    python scenarios/inputs/derive_inflows.py

The rule (an assumption, with reasons):

    inflow(n, m) = USBP southwest encounters of nationality n in month m+1
                 + Mexico's UPM events (presentations) in month m x n's share of the
                   non-Mexican USBP encounters of month m+1

* People who reach the US border were counted by the US about a month after entering
  Mexico (2,000-3,800 km by bus, foot and train: 2-5 weeks), hence the one-month lead.
* People stopped in Mexico are counted by Mexico's UPM events; the UPM does not break
  2019 monthly events down by nationality in our data, so they are split like the US
  encounters of the same cohort.
* Mexican nationals are left out: they do not cross Mexico's southern border.
* "Other (not MX/GT/HN/SV)" in the DHS table includes Nicaragua, Cuba, Venezuela,
  Ecuador, Colombia and Haiti, which are listed separately; "Other" here is the rest.
* Mexico's 2019 monthly events are known for January to 24 June; the rest of the annual
  total (182,940) is spread evenly over 25 June - 31 December, by days.

The two counts overlap (people caught in Mexico who later reach the US; repeat attempts
in both) and both miss people never counted (those who evade the US Border Patrol, or
settle in Mexico unseen). The scenario's ``inflow_multiplier`` (1.0 by default) is the
parameter calibration fits to correct the net bias.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from importlib import resources
from pathlib import Path

NATIONALITIES = [
    "Guatemala",
    "Honduras",
    "El Salvador",
    "Nicaragua",
    "Cuba",
    "Venezuela",
    "Ecuador",
    "Colombia",
    "Haiti",
]
INSIDE_OTHER = ["Nicaragua", "Cuba", "Venezuela", "Ecuador", "Colombia", "Haiti"]
YEAR = 2019


def _next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    return f"{y + (m == 12)}-{1 if m == 12 else m + 1:02d}"


def main() -> None:
    observed = Path(str(resources.files("corridor") / "data" / "observed" / "observed.csv"))
    with observed.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    us: dict[tuple[str, str], float] = {}
    for r in rows:
        if r["series"] != "usbp_sw_encounters" or r["geography"] != "US Southwest land border":
            continue
        month = r["period_start"][:7]
        b = r["breakdown"]
        nat = b.split("=", 1)[1] if b.startswith("citizenship=") else "total"
        us[(month, nat)] = float(r["value"])

    mx_month: dict[str, float] = {}
    annual = None
    for r in rows:
        if r["series"] != "mx_irregular_events" or r["geography"] != "Mexico" or r["breakdown"]:
            continue
        if r["period_start"] == f"{YEAR}-01-01" and r["period_end"] == f"{YEAR}-12-31":
            annual = float(r["value"])
        elif r["period_start"].startswith(str(YEAR)):
            mx_month[r["period_start"][:7]] = float(r["value"])
    assert annual is not None and "2019-06" in mx_month, "observed.csv lacks Mexico's 2019 events"
    # June is known for 1-24 June only; spread the rest of the year over 25 June - 31 Dec.
    rest_days = (dt.date(YEAR, 12, 31) - dt.date(YEAR, 6, 24)).days
    per_day = (annual - sum(mx_month.values())) / rest_days
    mx_month["2019-06"] += 6 * per_day
    for m in range(7, 13):
        days = (dt.date(YEAR + (m == 12), m % 12 + 1, 1) - dt.date(YEAR, m, 1)).days
        mx_month[f"{YEAR}-{m:02d}"] = per_day * days

    out = Path(__file__).with_name(f"mexico-{YEAR}-inflows.csv")
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for m in range(1, 13):
        month = f"{YEAR}-{m:02d}"
        lead = _next_month(month)
        by_nat = {n: us[(lead, n)] for n in NATIONALITIES}
        by_nat["Other"] = us[(lead, "Other (not MX/GT/HN/SV)")] - sum(us[(lead, n)] for n in INSIDE_OTHER)
        total = sum(by_nat.values())
        for nat, count in by_nat.items():
            table[month][nat] = count + mx_month[month] * count / total
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["month", "nationality", "persons", "basis"])
        for month, by_nat in table.items():
            for nat, persons in by_nat.items():
                w.writerow(
                    [
                        month,
                        nat,
                        round(persons),
                        f"usbp_sw_encounters {_next_month(month)} + "
                        f"mx_irregular_events {month} share (observed.csv)",
                    ]
                )
    print(f"wrote {out}: {sum(sum(v.values()) for v in table.values()):,.0f} persons")


if __name__ == "__main__":
    main()
