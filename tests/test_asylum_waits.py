"""Asylum waits as a distribution: decided, abandoned and pending claims by days waited."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from corridor.metrics import ASYLUM_WAIT_EDGES, _median_of_bins


def test_median_of_bins_interpolates_within_the_bin() -> None:
    edges = np.array([0.0, 10.0, 20.0, 40.0])
    assert _median_of_bins(np.array([0.0, 4.0, 0.0, 0.0]), edges) == pytest.approx(15.0)
    assert _median_of_bins(np.array([2.0, 2.0, 0.0, 0.0]), edges) == pytest.approx(10.0)
    assert _median_of_bins(np.array([1.0, 0.0, 0.0, 5.0]), edges) == 40.0  # in the open last bin
    assert np.isnan(_median_of_bins(np.zeros(4), edges))


def test_the_distribution_holds_every_claim(shipped_run: dict[str, Any]) -> None:
    results = shipped_run["results"]
    waits = results.asylum_waits()
    assert list(waits.index) == ["decided", "abandoned", "pending"]
    # Every claim decided or abandoned in the year, and every one pending at its end, is counted.
    assert waits.loc["decided", "claims"] == pytest.approx(results.total("asylum_decisions").sum())
    assert waits.loc["abandoned", "claims"] == pytest.approx(results.total("asylum_abandoned").sum())
    assert waits.loc["pending", "claims"] == pytest.approx(results.total("asylum_pending")[-1])
    assert waits.loc["decided", "claims"] > 0 and waits.loc["pending", "claims"] > 0
    # The mean wait of decided claims (from person-days) lies within the bins that hold them.
    counts = results.asylum_wait_counts[:, 0].sum(axis=0).astype(float)
    edges = np.asarray(ASYLUM_WAIT_EDGES, dtype=float)
    mean = results.total("asylum_wait_person_days").sum() / results.total("asylum_decisions").sum()
    low = (counts * edges).sum() / counts.sum()
    high = (counts[:-1] * edges[1:]).sum() / counts.sum() + counts[-1] * 10_000 / counts.sum()
    assert low <= mean <= high
    shares = waits[["share_over_30_days", "share_over_90_days", "share_over_180_days"]].to_numpy()
    assert np.all(np.diff(shares, axis=1) <= 0) and np.all((shares >= 0) & (shares <= 1))


def test_a_period_reads_its_own_days(shipped_run: dict[str, Any]) -> None:
    results = shipped_run["results"]
    july = results.asylum_waits("2019-07-01", "2019-07-31")
    days = (results.dates >= "2019-07-01") & (results.dates <= "2019-07-31")
    assert july.loc["decided", "claims"] == pytest.approx(results.total("asylum_decisions")[days].sum())
    last = int(np.flatnonzero(days)[-1])
    assert july.loc["pending", "claims"] == pytest.approx(results.total("asylum_pending")[last])
