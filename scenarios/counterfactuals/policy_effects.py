"""What each policy did, with the demand model: scenario minus counterfactual, month by month.

    python scenarios/counterfactuals/policy_effects.py [--seeds 2] [--draws N] [--agents 100000]

For each policy, runs mexico-2018-2024 and its counterfactual over the same seeds (common
random numbers, ``corridor.report.comparison.compare``) around the policy's date, for each
draw the backtest kept at the last origin before the policy (its posterior: the prior draws of
``backtests/mexico-2018-2024/backtest.json`` closest to the data before that origin, with the
demand scales, interdiction factors, asylum application ratio and legal-pathway uptake its
pilots fitted;
``scores.parquet``). Writes ``backtests/mexico-2018-2024/policy_effects.csv``: per policy and
month, the simulated US Border Patrol encounters (of the simulated nationalities: Mexican nationals are not
simulated) with the policy and without it, and the paired difference (median and 5-95% over
the kept draws and the seeds: the interval is over the posterior and the seeds; with the
defaults, 10 kept draws x 2 seeds = 20 paired differences a month, so the 5% and 95% are close
to their smallest and largest). Within a
draw both runs use the same persons per agent, so that they are identical before the
policy's date, and the draw's overrides of an event act on the same event in the
counterfactual, which may drop earlier ones (``corridor.report.comparison.follow_events``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from corridor.backtest.origins import monthly_histories
from corridor.backtest.posteriors import kept_draws, origin_fit
from corridor.calibrate.priors import prior_sample
from corridor.geography import load_network
from corridor.observations.reader import load_observed
from corridor.report.comparison import compare
from corridor.report.effects import policy_effects_page, read_policy_effects
from corridor.report.figures import bounds
from corridor.runner.executors import make_executor
from corridor.runner.single import choose_scale
from corridor.scenario import load_scenario
from corridor.timeline import compile_timeline

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "mexico-2018-2024.yaml"
SCORES = HERE.parent.parent / "backtests" / "mexico-2018-2024" / "scores.parquet"
#: policy -> (counterfactual file, backtest origin whose fitted scales are used, first and last month)
POLICIES = {
    "June 2019 deal and National Guard": ("mexico-2018-2024-no-deal.yaml", "2019-06", "2018-07", "2019-12"),
    "CBP One only north of the 19th parallel": (
        "mexico-2018-2024-cbp-one-anywhere.yaml",
        "2022-12",
        "2021-09",
        "2023-11",
    ),
    "Busing south from 28 December 2023": (
        "mexico-2018-2024-no-busing-2024.yaml",
        "2023-09",
        "2022-05",
        "2024-06",
    ),
}


def _posterior(origin: str, start: str, end: str, draws: int | None) -> list[dict[str, object]]:
    """The overrides of each draw the backtest kept at ``origin`` (at most ``draws`` of them),
    run from ``start`` to the end of ``end`` with inputs cut at the origin."""
    info = json.loads((SCORES.parent / "backtest.json").read_text(encoding="utf-8"))
    sc = load_scenario(SCENARIO)
    prior = prior_sample(sc.priors, int(info["draws"]), seed=int(info["seed"]))  # as the backtest drew them
    _, kept = kept_draws(origin_fit(pd.read_parquet(SCORES), origin), sc, prior, draws)
    last = pd.Period(end, freq="M").end_time
    window = {
        "horizon.start": f"{start}-01",
        "horizon.end": f"{last:%Y-%m-%d}",
        "inputs_cutoff": f"{origin}-01",
    }
    return [{**draw, **window} for draw in kept]


def _scale(overrides: dict[str, object], agents: int) -> float:
    """Persons per agent of the scenario with the policy, used for both runs: a policy that
    changes how many set out must not change the scale (the runs would differ from day 0)."""
    timeline = compile_timeline(load_scenario(SCENARIO, overrides), load_network())
    return choose_scale(timeline, agents, None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=2, help="Seeds per kept draw.")
    parser.add_argument("--draws", type=int, default=None, help="At most this many kept draws (all).")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument(
        "--page-only", action="store_true", help="Only draw policy-effects.html from the CSV written before."
    )
    args = parser.parse_args()
    if args.page_only:
        print(write_page())
        return
    rows = []
    with make_executor(None, None, preload=["corridor.report.comparison"]) as executor:
        for policy, (counterfactual, origin, start, end) in POLICIES.items():
            frames = []
            posterior = _posterior(origin, start, end, args.draws)
            for draw, overrides in enumerate(posterior):
                result = compare(
                    [SCENARIO, HERE / counterfactual],
                    seeds=range(args.seeds),
                    scale=_scale(overrides, args.agents),
                    overrides=overrides,
                    executor=executor,
                )
                actual, without = result.scenarios
                monthly = result.monthly["us_encounters"].unstack("scenario")
                frames.append(
                    pd.DataFrame({"with": monthly[actual], "without": monthly[without], "draw": draw})
                )
            both = pd.concat(frames)
            both["difference"] = both["with"] - both["without"]
            for month, group in both.groupby(level="month"):
                low, high = bounds(group["difference"].to_numpy())  # the range below 20 pairs
                rows.append(
                    {
                        "policy": policy,
                        "month": str(month),
                        "fitted_at_origin": origin,
                        "us_encounters_with": float(group["with"].median()),
                        "us_encounters_without": float(group["without"].median()),
                        "difference_median": float(group["difference"].median()),
                        "difference_q05": float(low),
                        "difference_q95": float(high),
                        "draws": len(posterior),
                        "seeds": args.seeds,
                    }
                )
            print(f"{policy}: done", flush=True)
    out = SCORES.parent / "policy_effects.csv"
    pd.DataFrame(rows).to_csv(out, index=False)
    print(f"wrote {out} and {write_page()}")


def _observed_simulated_nationalities() -> pd.Series:
    """Observed US Border Patrol encounters minus Mexican nationals', by month (held-out
    months are never read): the part of the total the runs simulate."""
    histories = monthly_histories(load_observed())
    where = "US Southwest land border"
    total = histories[("usbp_sw_encounters", where, "")]
    mexican = histories[("usbp_sw_encounters", where, "citizenship=Mexico")]
    return (total - mexican).dropna()


def write_page() -> Path:
    """Draw ``policy-effects.html`` beside ``policy_effects.csv``."""
    folder = SCORES.parent
    note = (
        "The model's forecasts of these counts are far from exact (docs/backtest.md: a median log "
        "error of 0.14-0.30 on the US total and 0.24-0.88 by nationality, by horizon); months from "
        "December 2023 are held out and were compared with nothing. Made by "
        "<code>python scenarios/counterfactuals/policy_effects.py</code>."
    )
    return policy_effects_page(
        read_policy_effects(folder / "policy_effects.csv"),
        folder / "policy-effects.html",
        observed=_observed_simulated_nationalities(),
        note=note,
    )


if __name__ == "__main__":
    main()
