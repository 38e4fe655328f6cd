"""Seconds per simulated day of the Flee kernel on a real-format conflict with daily spawning.

    python benchmarks/flee_per_day.py [--label after] [--sizes 1e3 1e4 1e5 1e6]
        [--kernel vectorised compiled]
        [--conflict tests/data/flee-conflict-mini] [--flee-python /tmp/flee-venv/bin/python
         --flee-sizes 1e3 1e4 --seeds 3]

The workload is a whole Flee 3.1 conflict folder (input_csv/, source_data/, simsetting.yml)
run as Flee's runscripts/run.py runs it: camps start at their day-0 registration counts,
people are spawned every day from the registration total (with the corrections), conflict
zones start and end as conflicts.csv says, closures act on their days. To reach N agents the
registration counts, populations and capacities are multiplied by N / (the agents of the
unscaled run), in a scaled copy of the folder.

For each size it times the day loop alone (set-up and imports excluded), in CPU seconds
(``time.process_time``) and wall seconds, and reports both per simulated day. With
``--flee-python`` (a Python with ``flee==3.1`` installed; never corridor's environment) it
runs Flee 3.1 on the same scaled folders, timed the same way, and reports both ARDs (Flee's
formula, ``corridor.flee.flee_ard``) and the CPU ratio. Prints a table and appends one JSON
line per run to ``benchmarks/results/flee_per_day.jsonl``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from corridor.flee.conflict import load_flee_conflict  # noqa: E402
from corridor.flee.run import flee_ard, run_flee_conflict, write_out_csv  # noqa: E402
from corridor.provenance import machine, versions  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "flee_per_day.jsonl"

#: Flee 3.1's runscripts/run.py day loop (Flee 3.1's run.py reads a sim_period file given as
#: its third argument; conflicts.csv is read when present), timed around the loop only.
FLEE_SCRIPT = r"""
import json, os, sys, time, random
import numpy as np
from flee import flee, spawning, InputGeography
from flee.datamanager import handle_refugee_data, read_period
from flee.SimulationSettings import SimulationSettings
import flee.postprocessing.analysis as a

inp, src, period, yml, out, seed = sys.argv[1:7]
random.seed(int(seed)); np.random.seed(int(seed))
start_date, end_time = read_period.read_conflict_period(period)
SimulationSettings.ReadFromYML(yml)
conflicts = os.path.join(inp, "conflicts.csv")
SimulationSettings.ConflictInputFile = conflicts if os.path.exists(conflicts) else ""
e = flee.Ecosystem()
ig = InputGeography.InputGeography()
if SimulationSettings.ConflictInputFile:
    ig.ReadConflictInputCSV(conflicts)
ig.ReadLocationsFromCSV(os.path.join(inp, "locations.csv"))
ig.ReadLinksFromCSV(os.path.join(inp, "routes.csv"))
ig.ReadClosuresFromCSV(os.path.join(inp, "closures.csv"))
e, lm = ig.StoreInputGeographyInEcosystem(e)
d = handle_refugee_data.RefugeeTable(csvformat="generic", data_directory=src, start_date=start_date,
    data_layout="data_layout.csv",
    population_scaledown_factor=SimulationSettings.optimisations["PopulationScaleDownFactor"])
d.ReadL1Corrections(os.path.join(inp, "registration_corrections.csv"))
camps = e.get_camp_names()
header = "Day,Date,"
for l in camps:
    spawning.add_initial_refugees(e, d, lm[l])
    header += "%s sim,%s data,%s error," % (l, l, l)
header += ("Total error,refugees in camps (UNHCR),total refugees (simulation),raw UNHCR refugee count,"
           "refugees in camps (simulation),refugee_debt")
lines = [header]
w0, c0 = time.perf_counter(), time.process_time()
for t in range(end_time):
    ig.AddNewConflictZones(e, t)
    new_refs, refugees_raw, refugee_debt = spawning.spawn_daily_displaced(e, t, d)
    spawning.refresh_spawn_weights(e)
    e.enact_border_closures(t)
    e.evolve()
    loc_data = [d.get_field(c, t) for c in camps]
    in_camps = sum(lm[c].numAgents for c in camps)
    row = "%s,%s" % (t, t)
    abs_errors = []
    for c, v in zip(camps, loc_data):
        row += ",%s,%s,%s" % (lm[c].numAgents, v, a.rel_error(lm[c].numAgents, v))
        abs_errors.append(a.abs_error(lm[c].numAgents, v))
    if refugees_raw > 0:
        row += ",%s,%s,%s,%s,%s,%s" % (float(np.sum(abs_errors)) / float(refugees_raw), int(sum(loc_data)),
                                       e.numAgents(), refugees_raw, in_camps, refugee_debt)
    else:
        row += ",0.0,0,%s,0,%s,0" % (e.numAgents(), in_camps)
    lines.append(row)
wall, cpu = time.perf_counter() - w0, time.process_time() - c0
open(out, "w").write("\n".join(lines) + "\n")
print(json.dumps({"loop_cpu_seconds": cpu, "loop_wall_seconds": wall, "days": end_time,
                  "agents": e.numAgents()}))
"""


def _scale_csv(path: Path, factor: float, column: int) -> None:
    """Multiply one integer column of a CSV (rows not starting with '#') by ``factor``."""
    rows = list(csv.reader(path.open(newline="")))
    for row in rows:
        if len(row) > column and row[0] and not row[0].startswith("#") and row[column].strip():
            row[column] = str(max(0, round(float(row[column]) * factor)))
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def scaled_copy(conflict: Path, factor: float, dest: Path) -> Path:
    """A copy of the conflict folder with counts, populations and capacities times ``factor``."""
    shutil.copytree(conflict, dest)
    _scale_csv(dest / "input_csv" / "locations.csv", factor, 7)
    for f in (dest / "source_data").glob("*.csv"):
        if f.name != "data_layout.csv":
            _scale_csv(f, factor, 1)
    return dest


def _paths(folder: Path) -> tuple[Path, Path, Path, Path]:
    return (
        folder / "input_csv",
        folder / "source_data",
        folder / "input_csv" / "sim_period.csv",
        folder / "simsetting.yml",
    )


def run_corridor(folder: Path, seed: int, out: Path, kernel: str = "vectorised") -> dict[str, Any]:
    conflict = load_flee_conflict(*_paths(folder))
    r = run_flee_conflict(conflict, seed=seed, kernel=kernel)
    ard = flee_ard(write_out_csv(r, out))
    return {
        "loop_cpu_seconds": r.loop_cpu_seconds,
        "loop_wall_seconds": r.loop_wall_seconds,
        "days": len(r.dates),
        "agents": int(r.agents[-1]),
        "ard": ard,
        "kernel": r.kernel,
        "setup_seconds": r.setup_seconds,
    }


def run_flee(python: str, folder: Path, seed: int, out: Path, script: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [python, str(script), *map(str, _paths(folder)), str(out / "out.csv"), str(seed)],
        capture_output=True,
        text=True,
        check=True,
    )
    rec: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    rec["ard"] = flee_ard(out / "out.csv")
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conflict", type=Path, default=ROOT / "tests" / "data" / "flee-conflict-mini")
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 1e5, 1e6])
    ap.add_argument("--label", default="after", help="before/after: which kernel this measures")
    ap.add_argument("--seeds", type=int, default=1, help="runs per size and engine")
    ap.add_argument("--flee-python", help="a Python with flee==3.1 (a separate venv)")
    ap.add_argument("--flee-sizes", nargs="*", type=float, default=[1e3, 1e4])
    ap.add_argument(
        "--kernel",
        nargs="+",
        default=["vectorised"],
        choices=["vectorised", "compiled"],
        help="corridor's Flee kernel(s) to time (compiled: numba; its JIT is set-up, not timed)",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = run_corridor(args.conflict, 0, tmp / "base")["agents"]
        script = tmp / "run_flee.py"
        script.write_text(FLEE_SCRIPT)
        records: list[dict[str, Any]] = []
        for size in args.sizes:
            n = int(size)
            folder = scaled_copy(args.conflict, n / base, tmp / f"c{n}")
            engines = [f"corridor-{k}" if k != "vectorised" else "corridor" for k in args.kernel]
            if args.flee_python and size in args.flee_sizes:
                engines.append("flee")
            for engine in engines:
                for seed in range(args.seeds):
                    out = tmp / f"out-{engine}-{n}-{seed}"
                    out.mkdir()
                    if engine.startswith("corridor"):
                        kernel = engine.partition("-")[2] or "vectorised"
                        rec = run_corridor(folder, seed, out, kernel)
                    else:
                        rec = run_flee(args.flee_python, folder, seed, out, script)
                    rec.update(
                        bench="flee-per-day",
                        engine=engine,
                        label=args.label if engine.startswith("corridor") else "flee-3.1",
                        conflict=args.conflict.name,
                        target_agents=n,
                        seed=seed,
                        cpu_s_per_day=rec["loop_cpu_seconds"] / rec["days"],
                        wall_s_per_day=rec["loop_wall_seconds"] / rec["days"],
                        machine=machine(),
                        versions=versions(),
                    )
                    records.append(rec)
                    print(
                        json.dumps({k: rec[k] for k in ("engine", "agents", "days", "cpu_s_per_day", "ard")}),
                        flush=True,
                    )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a") as f:
            for rec in records:
                f.write(json.dumps(rec) + "\n")
    _table(records)


def _table(records: list[dict[str, Any]]) -> None:
    print("\n| engine | agents | days | CPU s/day | wall s/day | ARD rescaled | ARD normal | runs |")
    print("|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["engine"], r["target_agents"]) for r in records}, key=lambda k: (k[1], k[0]))
    for engine, n in keys:
        rs = [r for r in records if r["engine"] == engine and r["target_agents"] == n]
        print(
            f"| {engine} | {statistics.mean(r['agents'] for r in rs):,.0f} | {rs[0]['days']} "
            f"| {statistics.mean(r['cpu_s_per_day'] for r in rs):.4f} "
            f"| {statistics.mean(r['wall_s_per_day'] for r in rs):.4f} "
            f"| {statistics.mean(r['ard']['rescaled'] for r in rs):.4f} "
            f"| {statistics.mean(r['ard']['normal'] for r in rs):.4f} | {len(rs)} |"
        )
        if engine.startswith("corridor"):
            fl = [r for r in records if r["engine"] == "flee" and r["target_agents"] == n]
            if fl:
                ratio = statistics.mean(r["loop_cpu_seconds"] for r in fl) / statistics.mean(
                    r["loop_cpu_seconds"] for r in rs
                )
                print(f"| ratio Flee/{engine} CPU | | | {ratio:.1f}x | | | | |")


if __name__ == "__main__":
    main()
