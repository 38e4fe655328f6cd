"""The page of what each policy did (corridor.report.effects)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from corridor.errors import OutputError
from corridor.report.effects import policy_effects_page, read_policy_effects


def _effects() -> pd.DataFrame:
    months = ["2019-04", "2019-05", "2019-06", "2019-07"]
    deal = pd.DataFrame(
        {
            "policy": "The deal",
            "month": months,
            "fitted_at_origin": "2019-06",
            "us_encounters_with": [50_000, 60_000, 55_000, 30_000],
            "us_encounters_without": [50_000, 60_000, 61_000, 70_000],
            "difference_median": [0.0, 0.0, -6_000, -40_000],
            "difference_q05": [0.0, 0.0, -9_000, -52_000],
            "difference_q95": [0.0, 0.0, 1_000, -21_000],
            "draws": 10,
            "seeds": 2,
        }
    )
    noise = deal.assign(
        policy="A rule",
        difference_median=[0.0, 0.0, 300, -200],
        difference_q05=[0.0, 0.0, -2_000, -2_500],
        difference_q95=[0.0, 0.0, 2_400, 1_900],
    )
    return pd.concat([deal, noise], ignore_index=True)


def test_the_page_says_each_policys_largest_month_and_whether_it_is_told_from_noise(tmp_path: Path) -> None:
    csv = tmp_path / "policy_effects.csv"
    _effects().to_csv(csv, index=False)
    observed = pd.Series([48_000.0, 59_000.0], index=pd.PeriodIndex(["2019-04", "2019-05"], freq="M"))
    page = policy_effects_page(read_policy_effects(csv), tmp_path / "p.html", observed=observed).read_text()
    assert page.index("The deal") < page.index("A rule")  # in the table's order
    assert "-40,000 in July 2019 (5-95% over 20 runs: -52,000 to -21,000, 57% of the 70,000" in page
    assert "The interval excludes 0 in 1 month, the first July 2019." in page
    assert "In no month does the interval exclude 0" in page  # the rule: noise only
    # The table starts where the runs first differ; before that they are the same to the person.
    assert "<td>2019-06</td>" in page and "<td>2019-05</td>" not in page
    assert "Until 2019-05 the two are the same to the person" in page
    assert "observed (the nationalities simulated)" in page


def test_the_same_effects_give_the_same_page_byte_for_byte(tmp_path: Path) -> None:
    first = policy_effects_page(_effects(), tmp_path / "a.html").read_bytes()
    assert policy_effects_page(_effects(), tmp_path / "b.html").read_bytes() == first
    assert first.count(b'class="plotly-graph-div"') == 4  # two figures a policy, each its own id


def test_a_policy_that_changed_nothing_is_said_so(tmp_path: Path) -> None:
    effects = _effects()
    effects = effects[effects["policy"] == "The deal"].assign(
        us_encounters_with=effects["us_encounters_without"],
        difference_median=0.0,
        difference_q05=0.0,
        difference_q95=0.0,
    )
    page = policy_effects_page(effects, tmp_path / "p.html").read_text()
    assert "Largest monthly effect on US Border Patrol encounters: 0 in" in page
    assert "In no month does the interval exclude 0" in page


def test_a_file_that_is_not_a_policy_effects_table_is_refused_in_one_line(tmp_path: Path) -> None:
    csv = tmp_path / "policy_effects.csv"
    _effects().drop(columns=["difference_q95"]).to_csv(csv, index=False)
    refused = r"policy_effects.csv: not a policy_effects.csv \(no column difference_q95\)"
    with pytest.raises(OutputError, match=refused):
        read_policy_effects(csv)
    with pytest.raises(OutputError, match="cannot read"):
        read_policy_effects(tmp_path / "missing.csv")
