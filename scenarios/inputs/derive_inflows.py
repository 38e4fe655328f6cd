"""Derive monthly inflows into Mexico by nationality from observed series.

Writes ``mexico-2019-inflows.csv`` and ``mexico-2023-24-inflows.csv`` (columns: month,
nationality, persons, basis) from the observed data shipped with corridor
(``corridor/data/observed/observed.csv``; every value there has its source). Run from the
repository root::

    python scenarios/inputs/derive_inflows.py

2019
----
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

July 2023 - June 2024
---------------------
Outcomes for periods ending on or after 1 December 2023 are held out (the forecast test):
this derivation reads no US encounter, Mexican enforcement or COMAR figure of those periods.

* Nationalities that come through the Darien gap (Venezuela, Ecuador, Colombia, Haiti and
  the rest, "Other"): Panama's Darien entries of month m-1 (about a month from Darien to
  Mexico's southern border), times ``DARIEN_REACH`` (an assumption: most go on to Mexico).
  Panama publishes cumulative totals over irregular periods; monthly values are spread
  evenly by day within each known interval (2023: Jan-Feb, Mar-Jun, Jul, Aug, Sep-Dec;
  2024: 1 Jan-20 May, 21 May-23 Oct). Nationality shares: Jan-Jul 2023 shares for 2023,
  the 2024 annual shares for 2024.
* The Darien count misses those who fly to Central America or Mexico (most Colombians, many
  of "Other"), while everyone met by the US Border Patrol between ports in month m+1 entered
  Mexico before: both are lower bounds of the inflow. For entry months up to October 2023
  the inflow of these nationalities is the larger of the Darien-based value and USBP
  encounters of month m+1 times ``CA_MEXICO_FACTOR`` ("Other": the DHS "Other (not
  MX/GT/HN/SV)" minus the nationalities listed separately); for later months, the
  Darien-based value times the ratio of the two over July-October 2023 when above 1 (an
  assumption: the share arriving by air stays as it was before the held-out period).
* Central Americans and Cubans (who do not cross the Darien): USBP encounters of month
  m+1 times ``CA_MEXICO_FACTOR`` (those stopped or staying in Mexico), for entry months up to
  October 2023 (encounters up to November 2023); for later months, the mean of July-October
  2023 (a persistence forecast: later encounters are held out).
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


DARIEN_REACH = 0.9
CA_MEXICO_FACTOR = 1.3
CA_2023 = ["Guatemala", "Honduras", "El Salvador", "Nicaragua", "Cuba"]
HELD_OUT_FROM = "2023-12-01"
OTHER_US = "Other (not MX/GT/HN/SV)"


def _read_observed() -> list[dict[str, str]]:
    observed = Path(str(resources.files("corridor") / "data" / "observed" / "observed.csv"))
    with observed.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _spread(total: float, start: dt.date, end: dt.date) -> dict[str, float]:
    """Spread ``total`` evenly by day over [start, end] and sum by month."""
    days = (end - start).days + 1
    out: dict[str, float] = defaultdict(float)
    for k in range(days):
        d = start + dt.timedelta(days=k)
        out[f"{d:%Y-%m}"] += total / days
    return out


def _value(rows: list[dict[str, str]], series: str, start: str, end: str, breakdown: str = "") -> float:
    hits = [r for r in rows if r["series"] == series and r["period_start"] == start and r["period_end"] == end
            and r["breakdown"] == breakdown]
    assert hits, f"observed.csv has no {series} {start}..{end} {breakdown}"
    return float(hits[0]["value"])


def derive_2023_24() -> None:
    """Inflows July 2023 - June 2024 (see the module docstring)."""
    rows = _read_observed()
    d = dt.date
    dar = "darien_crossings"
    jan_jul = _value(rows, dar, "2023-01-01", "2023-07-31")
    jan_feb = _value(rows, dar, "2023-01-01", "2023-02-28")
    july = _value(rows, dar, "2023-07-01", "2023-07-31", "")
    august = _value(rows, dar, "2023-08-01", "2023-08-31")
    year_2023 = _value(rows, dar, "2023-01-01", "2023-12-31")
    to_may20 = _value(rows, dar, "2024-01-01", "2024-05-20")
    to_oct23 = _value(rows, dar, "2024-01-01", "2024-10-23")
    monthly: dict[str, float] = defaultdict(float)
    for part in (
        _spread(jan_feb, d(2023, 1, 1), d(2023, 2, 28)),
        _spread(jan_jul - jan_feb - july, d(2023, 3, 1), d(2023, 6, 30)),
        _spread(july, d(2023, 7, 1), d(2023, 7, 31)),
        _spread(august, d(2023, 8, 1), d(2023, 8, 31)),
        _spread(year_2023 - jan_jul - august, d(2023, 9, 1), d(2023, 12, 31)),
        _spread(to_may20, d(2024, 1, 1), d(2024, 5, 20)),
        _spread(to_oct23 - to_may20, d(2024, 5, 21), d(2024, 10, 23)),
    ):
        for month, v in part.items():
            monthly[month] += v
    shares_2023 = {n: _value(rows, dar, "2023-01-01", "2023-07-31", f"nationality={n}") / jan_jul
                   for n in ("Venezuela", "Ecuador", "Haiti", "Colombia")}
    year_2024 = _value(rows, dar, "2024-01-01", "2024-12-31")
    shares_2024 = {n: _value(rows, dar, "2024-01-01", "2024-12-31", f"nationality={n}") / year_2024
                   for n in ("Venezuela", "Ecuador", "Haiti", "Colombia")}

    us: dict[tuple[str, str], float] = {}
    for r in rows:
        if (r["series"] == "usbp_sw_encounters" and r["geography"] == "US Southwest land border"
                and r["breakdown"].startswith("citizenship=") and r["period_end"] < HELD_OUT_FROM):
            us[(r["period_start"][:7], r["breakdown"].split("=", 1)[1])] = float(r["value"])

    months = [f"2023-{m:02d}" for m in range(7, 13)] + [f"2024-{m:02d}" for m in range(1, 7)]
    table: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
    for month in months:
        y, m = int(month[:4]), int(month[5:])
        prev = f"{y - (m == 1)}-{12 if m == 1 else m - 1:02d}"
        shares = shares_2023 if prev.startswith("2023") else shares_2024
        darien = monthly[prev] * DARIEN_REACH
        for nat, share in shares.items():
            table[month][nat] = (darien * share, f"darien_crossings {prev} x {DARIEN_REACH} x share")
        table[month]["Other"] = (darien * (1 - sum(shares.values())), f"darien_crossings {prev} x {DARIEN_REACH} x rest")
    known = [m for m in months if (_next_month(m), "Guatemala") in us]
    for month in known:
        nxt = _next_month(month)
        us[(nxt, "Other")] = us[(nxt, OTHER_US)] - sum(us[(nxt, n)] for n in INSIDE_OTHER)
    for nat in [*shares_2023, "Other"]:
        # The Darien count misses those who fly to Central America or Mexico (most Colombians,
        # many of "Other"), and people met at the US border one month later must have entered
        # Mexico: both are lower bounds. Known months take the larger; later months the Darien
        # count times the ratio of the two over the known months (at least 1).
        us_based = {m: us[(_next_month(m), nat)] * CA_MEXICO_FACTOR for m in known}
        ratio = max(1.0, sum(us_based.values()) / sum(table[m][nat][0] for m in known))
        for month in months:
            darien_value, basis = table[month][nat]
            if month in known and us_based[month] > darien_value:
                table[month][nat] = (
                    us_based[month],
                    f"usbp_sw_encounters {_next_month(month)} x {CA_MEXICO_FACTOR} (above the Darien count)",
                )
            elif month not in known and ratio > 1.0:
                table[month][nat] = (
                    darien_value * ratio,
                    f"{basis} x {ratio:.2f} (US-based over Darien-based, {known[0]}..{known[-1]})",
                )
    for nat in CA_2023:
        for month in known:
            table[month][nat] = (us[(_next_month(month), nat)] * CA_MEXICO_FACTOR,
                                 f"usbp_sw_encounters {_next_month(month)} x {CA_MEXICO_FACTOR}")
        mean = sum(table[m][nat][0] for m in known) / len(known)
        for month in months:
            if month not in known:
                table[month][nat] = (mean, f"mean of {known[0]}..{known[-1]} (later encounters held out)")
    out = Path(__file__).with_name("mexico-2023-24-inflows.csv")
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["month", "nationality", "persons", "basis"])
        for month in months:
            for nat, (persons, basis) in table[month].items():
                w.writerow([month, nat, round(persons), basis])
    print(f"wrote {out}: {sum(v[0] for t in table.values() for v in t.values()):,.0f} persons")


def main() -> None:
    rows = _read_observed()

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
    derive_2023_24()
