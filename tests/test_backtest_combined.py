"""corridor_combined: the anchored forecast and persistence, weighted by the record of earlier
origins (corridor.backtest.combined)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from corridor.backtest.combined import COMBINED, PRIOR_PAIRS, combined_forecasts
from corridor.backtest.simulated import ANCHORED
from corridor.errors import BacktestError

SERIES = ("usbp_sw_encounters", "US Southwest land border")


def _rows(origin: str, horizons: int, anchored: float, persistence: float, observed: float) -> list[dict]:
    """Anchored and persistence rows of one origin, for the total and one nationality."""
    out = []
    start = pd.Period(origin, freq="M")
    for h in range(1, horizons + 1):
        month = start + (h - 1)
        for breakdown in ("", "citizenship=Honduras"):
            for method, median in ((ANCHORED, anchored), ("persistence", persistence)):
                out.append(
                    {
                        "origin": origin,
                        "horizon": h,
                        "series": SERIES[0],
                        "geography": SERIES[1],
                        "breakdown": breakdown,
                        "period_start": month.start_time,
                        "period_end": month.end_time.normalize(),
                        "observed": observed,
                        "method": method,
                        "median": median,
                        "q05": median / 2,
                        "q95": median * 2,
                        "how": method,
                    }
                )
    return out


def _scores(anchored_right: bool, origins: int = 8, horizons: int = 2) -> pd.DataFrame:
    """Monthly origins from January 2020; persistence always 1 below the truth in log1p, the
    anchored forecast right, or (not right) 1 above persistence and 1 below it by turns."""
    rows = []
    truth = 1000.0
    persistence = np.expm1(np.log1p(truth) - 1.0)
    for i in range(origins):
        origin = f"{pd.Period('2020-01', freq='M') + i}"
        anchored = (
            truth if anchored_right else np.expm1(np.log1p(persistence) + (1.0 if i % 2 == 0 else -1.0))
        )
        rows += _rows(origin, horizons, anchored, persistence, truth)
    return pd.DataFrame(rows)


def test_without_a_record_the_two_count_equally() -> None:
    scores = _scores(anchored_right=True, origins=1)
    out = combined_forecasts(scores)
    assert set(out["method"]) == {COMBINED}
    # Half-way in log1p between anchored (1000) and persistence (log1p(1000) - 1).
    assert out["median"].to_numpy() == pytest.approx(np.expm1(np.log1p(1000.0) - 0.5))
    assert out["how"].str.contains("x 0.50").all()
    assert out["abs_log_error"].to_numpy() == pytest.approx(0.5)


def test_the_weight_follows_the_record_of_earlier_origins() -> None:
    right = combined_forecasts(_scores(anchored_right=True))
    useless = combined_forecasts(_scores(anchored_right=False))
    last = "2020-08"
    # By August, origins January to July have their horizon-1 month ended before it. In log1p
    # e = observed - persistence = 1; d = anchored - persistence is 1 (anchored right: slope 1)
    # or +1, -1, ..., +1 (useless: slope 1/7). The slope is shrunk toward 1/2.
    n = 7
    at = (right["origin"] == last) & (right["horizon"] == 1) & (right["breakdown"] == "")
    r, u = right[at], useless[at.to_numpy()]
    assert r["how"].iloc[0].endswith(f"({n} pairs of earlier origins)")
    w = (n * 1.0 + PRIOR_PAIRS * 0.5) / (n + PRIOR_PAIRS)
    assert r["median"].iloc[0] == pytest.approx(np.expm1(np.log1p(1000.0) - 1.0 + w))
    w_useless = (n * (1 / 7) + PRIOR_PAIRS * 0.5) / (n + PRIOR_PAIRS)
    assert f"anchored x {w_useless:.2f}" in u["how"].iloc[0]
    # August's useless anchored forecast is 1 below persistence: given little weight, it costs
    # little; the right one, given much, gains much.
    assert u["abs_log_error"].iloc[0] == pytest.approx(1.0 + w_useless)
    assert r["abs_log_error"].iloc[0] == pytest.approx(1.0 - w)
    # Early origins have no record yet.
    first = right[right["origin"] == "2020-01"]
    assert first["how"].str.contains(r"\(0 pairs").all()


def test_no_row_of_the_record_at_or_after_the_origin_is_read() -> None:
    scores = _scores(anchored_right=True)
    origin = "2020-06"
    before = combined_forecasts(scores)
    poisoned = scores.copy()
    late = poisoned["period_end"] >= pd.Period(origin, freq="M").start_time
    poisoned.loc[late & (poisoned["origin"] != origin), "observed"] = 10.0**9
    poisoned.loc[late & (poisoned["origin"] != origin), "median"] = 1.0
    after = combined_forecasts(poisoned)
    keep = ["horizon", "breakdown", "median", "q05", "q95", "how"]
    a = before[before["origin"] == origin][keep].reset_index(drop=True)
    b = after[after["origin"] == origin][keep].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_a_later_origin_reads_a_given_record_and_goes_beyond_its_horizons() -> None:
    """Horizon 1 of the record: anchored right; horizon 2: anchored useless. A later origin
    forecasting 4 months takes horizon 2's weight at 3 and 4, with its spread grown."""
    truth = 1000.0
    persistence = np.expm1(np.log1p(truth) - 1.0)
    rows = []
    for i in range(8):
        origin = f"{pd.Period('2020-01', freq='M') + i}"
        useless = np.expm1(np.log1p(persistence) + (1.0 if i % 2 == 0 else -1.0))
        for row in _rows(origin, 2, truth, persistence, truth):
            if row["horizon"] == 2 and row["method"] == ANCHORED:
                row.update(median=useless, q05=useless / 2, q95=useless * 2)
            rows.append(row)
    record = pd.DataFrame(rows)
    new = pd.DataFrame(_rows("2021-01", 4, 1000.0, persistence, np.nan))
    out = combined_forecasts(new, record, require_record=True)
    total = out[out["breakdown"] == ""].set_index("horizon")
    n, k = 8, PRIOR_PAIRS
    w1 = (n * 1.0 + k * 0.5) / (n + k)
    w2 = (n * 0.0 + k * 0.5) / (n + k)  # d = +1, -1, ... against e = 1: slope 0
    assert f"anchored x {w1:.2f}" in total.loc[1, "how"]
    for h in (2, 3, 4):
        assert f"anchored x {w2:.2f}" in total.loc[h, "how"]
    # The spread: the target's mean square left at horizon 2, (1 - w2 d)^2 averaged over
    # d = +1, -1 (4 each), grown by 3/2 and 4/2 beyond it, shrunk toward the methods' own.
    left = np.mean([(1 - w2 * d) ** 2 for d in (1.0, -1.0) * 4])
    own = np.mean(
        [(np.log1p(2 * m) - np.log1p(m / 2)) / (2 * 1.6448536269514722) for m in (1000.0, persistence)]
    )
    for h, grow in ((2, 1.0), (3, 1.5), (4, 2.0)):
        sigma = np.sqrt((n * left * grow + k * own**2) / (n + k))
        half = np.log1p(total.loc[h, "q95"]) - np.log1p(total.loc[h, "median"])
        assert half == pytest.approx(1.6448536269514722 * sigma)
    assert out["abs_log_error"].isna().all()  # nothing observed yet


def test_a_forecast_needing_a_record_refuses_an_empty_one() -> None:
    new = pd.DataFrame(_rows("2021-01", 2, 1000.0, 900.0, np.nan))
    later = _scores(anchored_right=True).assign(origin="2022-01")
    with pytest.raises(BacktestError, match="track record"):
        combined_forecasts(new, later, require_record=True)
