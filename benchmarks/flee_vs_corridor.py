"""Peer comparison: Flee 3.1 and corridor's movement-only kernel on the same Flee network.

    python benchmarks/flee_vs_corridor.py            # from the repository root, corridor's venv active

1. Creates (if missing) a separate virtual environment for Flee, ``benchmarks/.flee-venv``
   (git-ignored), with ``pip install flee==3.1``; Flee is not a dependency of corridor.
2. Writes Flee's simulation script for the network there (Flee's standard run loop: read
   the input, place N people at the conflict zones, ``for t in range(T): e.evolve()``;
   agent-steps = agents alive at each step, summed).
3. Runs Flee and ``corridor bench flee-network`` alternately, each in its own process, at
   N = 10^4, 10^5 (both) and 10^6 (corridor; Flee only if it would finish within
   ``--flee-max-seconds``, otherwise Flee runs a shortened horizon at 10^6 and its time
   for T days is extrapolated from it, marked ``"extrapolated": true``), T = 100 days.
4. Compares outcomes at N = 10^4 (share of people in each camp, in towns and in transit
   after T days, over ``--outcome-seeds`` seeds of each).

Prints one JSON line per case, one per ratio (corridor / Flee agent-steps per second) and
one for the outcome comparison, and writes them all to
``benchmarks/results/flee_vs_corridor.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = ROOT / "src" / "corridor" / "data" / "flee_corridor"
FLEE_VERSION = "3.1"

FLEE_SCRIPT = r'''"""Flee 3.1 run for corridor's peer comparison (written by benchmarks/flee_vs_corridor.py).

usage: python run_flee.py INPUT_DIR N DAYS SEED CAPACITIES_FOR|none SIMSETTING_YML [--daily]
"""
import json
import os
import platform
import random
import resource
import sys
import time
from importlib.metadata import version

import numpy as np
from flee import InputGeography, flee
from flee.SimulationSettings import SimulationSettings


def main():
    inp, n, days, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    capacities_for = None if sys.argv[5] == "none" else int(sys.argv[5])
    daily_out = "--daily" in sys.argv[7:]
    t_setup = time.perf_counter()
    SimulationSettings.ReadFromYML(sys.argv[6])
    random.seed(seed)
    np.random.seed(seed)

    e = flee.Ecosystem()
    ig = InputGeography.InputGeography()
    ig.ReadLocationsFromCSV(os.path.join(inp, "locations.csv"))
    ig.ReadLinksFromCSV(os.path.join(inp, "routes.csv"))
    closures = os.path.join(inp, "closures.csv")
    if os.path.exists(closures):
        ig.ReadClosuresFromCSV(closures)
    else:
        ig.closures = []
    e, lm = ig.StoreInputGeographyInEcosystem(e)
    camps = e.get_camp_names()
    if capacities_for is not None:
        for name in camps:
            if lm[name].capacity > 0:
                lm[name].capacity = lm[name].capacity * n // capacities_for
    # N people at the conflict zones on day 0, by Flee's spawn weights (population x intensity).
    for loc in e.pick_spawn_locations(n):
        e.addAgent(location=loc, attributes={})
    setup = time.perf_counter() - t_setup

    steps = 0
    daily = []
    t0 = time.perf_counter()
    for t in range(days):
        ig.AddNewConflictZones(e, t)
        e.enact_border_closures(t)
        e.evolve()
        steps += len(e.agents)  # agents alive at this step
        if daily_out:
            daily.append([loc.numAgents for loc in e.locations])
    wall = time.perf_counter() - t0

    travelling = sum(1 for a in e.agents if a.travelling)
    counts = {loc.name: loc.numAgents for loc in e.locations}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    camp_n = sum(counts[c] for c in camps)
    record = {
        "bench": "flee-network",
        "engine": "flee",
        "versions": {"flee": version("flee"), "python": platform.python_version(), "numpy": np.__version__},
        "input": inp,
        "n_agents": n,
        "days": days,
        "seed": seed,
        "camp_capacity": {c: lm[c].capacity for c in camps},
        "setup_seconds": setup,
        "wall_seconds": wall,
        "agent_steps": steps,
        "agent_steps_per_s": steps / wall if wall > 0 else None,
        "peak_rss_bytes": peak,
        "outcome": {
            "camp_share": {c: counts[c] / n for c in camps},
            "in_camps_share": camp_n / n,
            "in_transit_share": travelling / n,
            "elsewhere_share": 1.0 - (camp_n + travelling) / n,
            "place_counts": counts,
        },
    }
    if daily_out:
        record["daily_counts"] = daily
        record["names"] = [loc.name for loc in e.locations]
    print(json.dumps(record))


if __name__ == "__main__":
    main()
'''

# Flee's defaults (SimulationSettings.ReadFromYML), written out so the run does not depend on
# a simsetting.yml in the working directory. Logging off, as in a production run.
FLEE_SETTINGS = """\
log_levels:
  agent: 0
  link: 0
  camp: 0
  init: 0
  conflict: 0
  idp_totals: 0
spawn_rules:
  take_from_population: False
move_rules:
  max_move_speed: 360.0
  max_walk_speed: 35.0
  camp_movechance: 0.001
  conflict_movechance: 1.0
  default_movechance: 0.3
  idpcamp_movechance: 0.1
  awareness_level: 1
  capacity_buffer: 0.9
  softening: 10.0
  weight_softening: 0.0
  weight_power: 1.0
  distance_power: 1.0
  camp_weight: 1.0
  foreign_weight: 1.0
optimisations:
  hasten: 1
"""


# Small networks where Flee's rules are hard to get right: links longer than a day's travel
# (people stay on a link overnight) and camps that fill (capacity multiplier, refusals, order).
VALIDATION_NETWORKS: dict[str, tuple[str, str, int, int]] = {
    "long-links": (
        "A,R,X,0,0,conflict_zone,0,1000\nB,R,X,0,0,town,,100\nC,R,X,0,0,camp,,0\n"
        "D,R,X,0,0,town,,100\nE,R,Y,0,0,camp,,0\n",
        "A,B,400,0\nB,C,500,0\nB,D,100,0\nD,C,50,0\nD,E,800,0\nA,D,90,0\n",
        5_000,
        30,
    ),
    "filling-camps": (
        "A,R,X,0,0,conflict_zone,0,1000\nB,R,X,0,0,town,,100\nC,R,X,0,0,camp,,300\n"
        "D,R,X,0,0,town,,100\nE,R,X,0,0,camp,,600\n",
        "A,B,120,0\nB,C,80,0\nB,D,200,0\nD,E,150,0\nA,D,300,0\n",
        2_000,
        40,
    ),
}


def validate_small(py: Path, work: Path, seeds: int) -> list[dict[str, Any]]:
    """Daily shares per location, Flee vs corridor, on ``VALIDATION_NETWORKS`` (mean over seeds)."""
    import numpy as np

    from corridor.flee import load_flee_network
    from corridor.flee.kernel import run_flee_movement

    out = []
    for name, (locations, routes, n, days) in VALIDATION_NETWORKS.items():
        folder = work / "validation" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "locations.csv").write_text(
            "#name,region,country,gps_x,gps_y,location_type,conflict_date,pop/cap\n" + locations
        )
        (folder / "routes.csv").write_text("#name1,name2,distance,forced_redirection\n" + routes)
        fnet = load_flee_network(folder)
        flee_daily, corr_daily, flee_peak, corr_peak = [], [], [], []
        for seed in range(seeds):
            rec = run_json([*flee_cmd(py, work, folder, n, days, seed, None), "--daily"])
            d = np.asarray(rec["daily_counts"], dtype=float)
            flee_daily.append(d)
            flee_peak.append(d.max(axis=0))
            r = run_flee_movement(fnet, n, days, seed=seed)
            corr_daily.append(r.daily_counts.astype(float))
            corr_peak.append(r.daily_counts.max(axis=0))
        f, c = np.mean(flee_daily, axis=0) / n, np.mean(corr_daily, axis=0) / n
        sd = np.std(flee_daily, axis=0, ddof=1) / n
        diff = np.abs(f - c)
        out.append(
            {
                "case": "validation",
                "network": name,
                "n_agents": n,
                "days": days,
                "seeds": seeds,
                "max_abs_diff_daily_share": float(diff.max()),
                "mean_abs_diff_daily_share": float(diff.mean()),
                "flee_run_sd_daily_share_mean": float(sd.mean()),
                "standard_error_of_difference_mean": float(sd.mean() * math.sqrt(2 / seeds)),
                "final_share": {
                    loc: {"flee": float(f[-1, i]), "corridor": float(c[-1, i])}
                    for i, loc in enumerate(fnet.names)
                },
                "in_transit_final": {"flee": float(1 - f[-1].sum()), "corridor": float(1 - c[-1].sum())},
                "camp_max_end_of_day_count": {
                    fnet.names[i]: {
                        "capacity": int(fnet.capacity[i]),
                        "flee": int(np.max(flee_peak, axis=0)[i]),
                        "corridor": int(np.max(corr_peak, axis=0)[i]),
                    }
                    for i in fnet.camps
                },
            }
        )
    return out


def log(msg: str) -> None:
    print(f"[flee_vs_corridor] {msg}", file=sys.stderr, flush=True)


def ensure_flee_venv(where: Path) -> Path:
    """The Flee environment's python, creating the environment and installing Flee if needed."""
    py = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    check = [
        str(py),
        "-c",
        "from importlib.metadata import version; import flee.flee; print(version('flee'))",
    ]
    if py.exists():
        got = subprocess.run(check, capture_output=True, text=True)
        if got.returncode == 0 and got.stdout.strip() == FLEE_VERSION:
            return py
    log(f"creating {where} and installing flee=={FLEE_VERSION} (once)")
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    subprocess.run([str(py), "-m", "pip", "install", "-q", f"flee=={FLEE_VERSION}"], check=True)
    got = subprocess.run(check, capture_output=True, text=True)
    if got.returncode != 0:
        raise SystemExit(f"flee did not install in {where}:\n{got.stderr}")
    return py


def run_json(cmd: list[str], timeout: float | None = None) -> dict[str, Any]:
    """Run ``cmd`` and parse the last JSON line of its standard output.

    Adds the 1-minute load average before and after, so that contention shows in the record.
    """
    before = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    after = os.getloadavg()[0]
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-4000:]}")
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise SystemExit(f"no JSON output from: {' '.join(cmd)}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    rec = dict(json.loads(lines[-1]))
    rec["load_average_1m"] = [round(before, 2), round(after, 2)]
    return rec


def flee_cmd(py: Path, work: Path, inp: Path, n: int, days: int, seed: int, cap_for: int | None) -> list[str]:
    return [
        str(py),
        str(work / "run_flee.py"),
        str(inp),
        str(n),
        str(days),
        str(seed),
        "none" if cap_for is None else str(cap_for),
        str(work / "simsetting.yml"),
    ]


def corridor_cmd(inp: Path, n: int, days: int, seed: int, cap_for: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "corridor.cli", "bench", "flee-network", "--flee-input", str(inp)]
    cmd += ["--agents", str(n), "--days", str(days), "--seed", str(seed)]
    if cap_for is not None:
        cmd += ["--capacities-for", str(cap_for)]
    return cmd


def brief(rec: dict[str, Any]) -> dict[str, Any]:
    """A case line: the record without the per-place counts."""
    out = {k: v for k, v in rec.items() if k != "outcome"}
    o = rec["outcome"]
    out["outcome"] = {
        k: o[k] for k in ("camp_share", "in_camps_share", "in_transit_share", "elsewhere_share")
    }
    return out


def emit(rec: dict[str, Any], sink: list[dict[str, Any]]) -> None:
    sink.append(rec)
    print(json.dumps(rec), flush=True)


def outcome_comparison(
    flee_runs: list[dict[str, Any]], corr_runs: list[dict[str, Any]], corr_other: list[dict[str, Any]]
) -> dict[str, Any]:
    """Shares of people per camp, in towns and in transit after T days: mean and spread over seeds."""

    def shares(rec: dict[str, Any]) -> dict[str, float]:
        o, n = rec["outcome"], rec["n_agents"]
        s = {f"camp {k}": float(v) for k, v in o["camp_share"].items()}
        s["all camps"] = float(o["in_camps_share"])
        s["in transit"] = float(o["in_transit_share"])
        s["towns and conflict zones"] = float(o["elsewhere_share"])
        s.update({f"place {k}": c / n for k, c in o["place_counts"].items()})
        return s

    def stats(runs: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
        table = [shares(r) for r in runs]
        out = {}
        for key in table[0]:
            xs = [t[key] for t in table]
            mean = sum(xs) / len(xs)
            sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else float("nan")
            out[key] = (mean, sd)
        return out

    f, c, c2 = stats(flee_runs), stats(corr_runs), stats(corr_other)
    rows = {
        k: {"flee": f[k][0], "flee_sd": f[k][1], "corridor": c[k][0], "corridor_sd": c[k][1]}
        for k in f
        if not k.startswith("place ")
    }
    places = [k for k in f if k.startswith("place ")]
    tvd = 0.5 * sum(abs(f[k][0] - c[k][0]) for k in places)
    # The same statistic between corridor on these seeds and on as many other seeds: how far
    # two sets of runs of one model differ by chance alone.
    floor = 0.5 * sum(abs(c2[k][0] - c[k][0]) for k in places)
    return {
        "case": "outcome",
        "n_agents": flee_runs[0]["n_agents"],
        "days": flee_runs[0]["days"],
        "seeds": len(flee_runs),
        "shares": rows,
        "total_variation_distance_by_location": tvd,
        "noise_floor_corridor_vs_corridor_other_seeds": floor,
        "mean_location_index": {
            "flee": _mean_index(flee_runs),
            "corridor": _mean_index(corr_runs),
        },
    }


def _mean_index(runs: list[dict[str, Any]]) -> float:
    """Mean position of people along the file's location order (a coarse 'how far they got')."""
    total = 0.0
    for r in runs:
        counts = list(r["outcome"]["place_counts"].values())
        total += sum(i * c for i, c in enumerate(counts)) / max(sum(counts), 1)
    return total / len(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="Flee input folder")
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--capacities-for",
        type=int,
        default=10_000,
        help="agent count the file's camp capacities are for (shared network: 10000; 0: as written)",
    )
    ap.add_argument("--flee-max-seconds", type=float, default=600.0, help="longest Flee run allowed")
    ap.add_argument(
        "--flee-partial-seconds",
        type=float,
        default=240.0,
        help="time budget of the shortened Flee run used to extrapolate a case too long to run",
    )
    ap.add_argument("--outcome-seeds", type=int, default=3, help="seeds per engine for the outcome check")
    ap.add_argument(
        "--validation-seeds", type=int, default=8, help="seeds per engine on the small networks (0: skip)"
    )
    ap.add_argument("--flee-venv", type=Path, default=ROOT / "benchmarks" / ".flee-venv")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "flee_vs_corridor.jsonl")
    args = ap.parse_args()
    cap_for = args.capacities_for or None
    inp = args.input.resolve()

    py = ensure_flee_venv(args.flee_venv)
    work = args.flee_venv / "work"
    work.mkdir(exist_ok=True)
    (work / "run_flee.py").write_text(FLEE_SCRIPT)
    (work / "simsetting.yml").write_text(FLEE_SETTINGS)

    lines: list[dict[str, Any]] = []
    flee_rate: dict[int, float] = {}
    corr_rate: dict[int, float] = {}
    outcome_flee: list[dict[str, Any]] = []
    outcome_corr: list[dict[str, Any]] = []
    started = time.time()
    for n in sorted(args.sizes):
        # Flee: run it, or a shortened horizon to extrapolate from when it would take too long.
        known = [flee_rate[m] for m in sorted(flee_rate)]
        est = n * args.days / known[-1] if known else 0.0
        if est <= args.flee_max_seconds:
            log(f"Flee N={n} T={args.days} (estimated {est:.0f} s)")
            rec = run_json(flee_cmd(py, work, inp, n, args.days, args.seed, cap_for))
            rec.update(case="run", extrapolated=False)
        else:
            short = max(1, min(args.days, int(args.flee_partial_seconds * known[-1] / n)))
            log(
                f"Flee N={n}: ~{est:.0f} s for {args.days} days > {args.flee_max_seconds:.0f} s; "
                f"running {short} days to extrapolate"
            )
            rec = run_json(flee_cmd(py, work, inp, n, short, args.seed, cap_for))
            rate = rec["agent_steps_per_s"]
            rec.update(
                case="run",
                extrapolated=True,
                days_run=short,
                days=args.days,
                wall_seconds_run=rec["wall_seconds"],
                wall_seconds=n * args.days / rate,
                agent_steps=n * args.days,
                note=f"Flee would take about {n * args.days / rate:.0f} s for {args.days} days, over the "
                f"{args.flee_max_seconds:.0f} s limit: it ran {short} days at this N; its agent-steps/s "
                f"are measured over those days and its time for {args.days} days extrapolated from them. "
                "The outcome fields are after the days run.",
            )
        flee_rate[n] = rec["agent_steps_per_s"]
        if n == 10_000:
            outcome_flee.append(rec)
        emit(brief(rec), lines)

        log(f"corridor N={n} T={args.days}")
        crec = run_json(corridor_cmd(inp, n, args.days, args.seed, cap_for))
        crec["case"] = "run"
        corr_rate[n] = crec["agent_steps_per_s"]
        if n == 10_000:
            outcome_corr.append(crec)
        emit(brief(crec), lines)
        emit(
            {
                "case": "ratio",
                "n_agents": n,
                "days": args.days,
                "flee_agent_steps_per_s": flee_rate[n],
                "corridor_agent_steps_per_s": corr_rate[n],
                "corridor_over_flee": corr_rate[n] / flee_rate[n],
                "flee_extrapolated": bool(rec.get("extrapolated")),
            },
            lines,
        )

    # Outcomes at N = 10^4: more seeds of each, alternately.
    n = 10_000
    for k in range(1, args.outcome_seeds):
        log(f"outcome check: seed {args.seed + k}")
        outcome_flee.append(run_json(flee_cmd(py, work, inp, n, args.days, args.seed + k, cap_for)))
        outcome_corr.append(run_json(corridor_cmd(inp, n, args.days, args.seed + k, cap_for)))
    if outcome_flee and outcome_corr:
        other = [
            run_json(corridor_cmd(inp, n, args.days, args.seed + 1000 + k, cap_for))
            for k in range(len(outcome_corr))
        ]
        emit(outcome_comparison(outcome_flee, outcome_corr, other), lines)

    if args.validation_seeds > 0:
        log(f"validation on small networks ({args.validation_seeds} seeds each)")
        for rec in validate_small(py, work, args.validation_seeds):
            emit(rec, lines)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in lines))
    log(f"wrote {args.out} ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
