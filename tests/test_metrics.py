"""Results: metric names against the docs, the tidy table, the xarray view, summary, identity check."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.metrics import FLOWS

from .conftest import EXIT_FLOWS, STATE_STOCKS, documented_metrics

#: Metrics the documentation promises (docs/metrics.md, README).
DOCUMENTED = (
    "present",
    "in_transit",
    "waiting",
    "detained",
    "arrivals",
    "detentions",
    "deportations",
    "bused_south",
    "released",
    "us_encounters",
    "us_released",
    "us_removed",
    "deaths",
    "settled",
    "returned_home",
    "exits",
    "detention_capacity",
)
TIDY_COLUMNS = ["date", "metric", "kind", "place", "nationality", "value"]


def metrics_in_docs() -> set[str]:
    """Metric names of the tables of docs/metrics.md, but for the table of columns."""
    sections = documented_metrics()
    return {name for title, names in sections.items() if title != "The accounting identity" for name in names}


def test_documented_metrics_are_produced(base_results: corridor.Results) -> None:
    names = base_results.metric_names()
    assert set(DOCUMENTED) <= set(names), set(DOCUMENTED) - set(names)
    assert len(names) == len(set(names))


def test_docs_list_exactly_the_metrics_produced(base_results: corridor.Results) -> None:
    documented = metrics_in_docs()
    assert set(DOCUMENTED) <= documented
    produced = set(base_results.metric_names())
    assert produced - documented == set(), "produced but not documented"
    assert documented - produced == set(), "documented but not produced"


def test_tidy_table_schema(base_results: corridor.Results, network: corridor.Network) -> None:
    frame = base_results.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(frame["date"])
    assert pd.api.types.is_float_dtype(frame["value"]) and frame["value"].dtype == np.float64
    for col in ("metric", "kind", "place", "nationality"):
        assert isinstance(frame[col].dtype, pd.CategoricalDtype), col
    assert list(frame["metric"].cat.categories) == base_results.metric_names()
    assert list(frame["place"].cat.categories) == network.place_names
    assert set(frame["nationality"].cat.categories) == {"Honduras", "Guatemala", "Cuba", "all"}
    # Zero rows are left out but for metrics zero all run long (one 0 a day, no place);
    # nothing undefined; one row per key.
    zero = frame["value"] == 0
    assert frame.loc[zero, "place"].isna().all() and frame.loc[~zero, "place"].notna().all()
    assert frame["value"].notna().all()
    assert not frame.duplicated(["date", "metric", "place", "nationality"]).any()
    dates = pd.DatetimeIndex(frame["date"])
    assert (dates == dates.normalize()).all()
    assert dates.min() >= base_results.dates[0] and dates.max() <= base_results.dates[-1]
    # Exactly the metrics without a nationality breakdown (the capacity among them) carry 'all'.
    ds = base_results.to_xarray()
    per_place = [m for m in base_results.metric_names() if "nationality" not in ds[m].dims]
    assert "detention_capacity" in per_place
    assert not set(per_place) & {"present", *STATE_STOCKS, "arrivals", "exits"}
    unbroken = frame["metric"].isin(per_place)
    assert (frame.loc[unbroken, "nationality"] == "all").all()
    assert (frame.loc[~unbroken & ~zero, "nationality"] != "all").all()
    assert (frame.loc[frame["metric"] == "detention_capacity", "nationality"] == "all").any()


def test_tidy_table_totals_match_results(base_results: corridor.Results) -> None:
    frame = base_results.to_frame()
    sums = frame.groupby("metric", observed=False)["value"].sum()
    for name in base_results.metric_names():
        assert sums[name] == pytest.approx(base_results.total(name).sum(), rel=1e-12, abs=1e-9), name
    # Spot-check cells against the arrays.
    flow = base_results.flow("arrivals")
    d, p, n = (int(i[0]) for i in np.nonzero(flow))
    row = frame[
        (frame["metric"] == "arrivals")
        & (frame["date"] == base_results.dates[d])
        & (frame["place"] == base_results.places[p])
        & (frame["nationality"] == base_results.nationalities[n])
    ]
    assert row["value"].tolist() == [flow[d, p, n]]


def test_xarray_view_has_the_same_totals(base_results: corridor.Results) -> None:
    ds = base_results.to_xarray()
    frame = base_results.to_frame()
    sums = frame.groupby("metric", observed=False)["value"].sum()
    assert set(base_results.metric_names()) <= set(ds.data_vars)
    assert list(ds["date"].values) == list(base_results.dates.values)
    assert list(ds["place"].values) == base_results.places
    assert list(ds["nationality"].values) == base_results.nationalities
    for name in base_results.metric_names():
        assert float(ds[name].sum()) == pytest.approx(sums[name], rel=1e-12, abs=1e-9), name
    assert ds["present"].dims == ("date", "place", "nationality")
    np.testing.assert_allclose(
        ds["arrivals"].sum(("place", "nationality")).values, base_results.total("arrivals")
    )


def test_present_is_the_sum_of_the_state_stocks(base_results: corridor.Results) -> None:
    parts = sum(base_results.stock(s) for s in STATE_STOCKS)
    np.testing.assert_array_equal(parts, base_results.stock("present"))


def test_exits_is_the_sum_of_the_documented_exit_flows(base_results: corridor.Results) -> None:
    parts = sum(base_results.flow(f) for f in EXIT_FLOWS)
    np.testing.assert_array_equal(parts, base_results.flow("exits"))
    assert base_results.total("exits").sum() > 0


def test_values_are_persons(base_results: corridor.Results) -> None:
    k = base_results.scale
    assert k == pytest.approx(base_results.info["scale_persons_per_agent"])
    np.testing.assert_allclose(
        base_results.flow("arrivals"), base_results.flows[:, FLOWS.index("arrivals")] * k
    )


def test_summary(base_results: corridor.Results) -> None:
    s = base_results.summary().set_index("metric")
    for name in ("arrivals", "interdictions", "deportations", "exits"):
        assert s.loc[name, "kind"] == "flow"
        assert s.loc[name, "total"] == pytest.approx(base_results.total(name).sum())
    for name in ("present", *STATE_STOCKS):
        series = base_results.total(name)
        assert s.loc[name, "kind"] == "stock"
        assert s.loc[name, "end"] == pytest.approx(series[-1])
        assert s.loc[name, "peak"] == pytest.approx(series.max())


def test_identity_check_detects_broken_books(base_results: corridor.Results) -> None:
    assert base_results.identity_check()["holds"]
    flows = base_results.flows.copy()
    flows[5, FLOWS.index("arrivals"), 0, 0] += 1  # an arrival that never shows up in the stocks
    broken = dataclasses.replace(base_results, flows=flows)
    check = broken.identity_check()
    assert not check["holds"]
    assert check["max_abs_gap_present_vs_arrivals_minus_exits"] == pytest.approx(base_results.scale)

    present = base_results.present_agents.copy()
    present[-1] += 2
    check = dataclasses.replace(base_results, present_agents=present).identity_check()
    assert not check["holds"]
    assert check["max_abs_gap_states_vs_present"] == pytest.approx(2 * base_results.scale)


def test_unknown_metric_names_raise_corridor_errors(base_results: corridor.Results) -> None:
    from corridor.errors import CorridorError, InputError

    for get in (base_results.per_place, base_results.flow, base_results.stock):
        with pytest.raises(InputError, match="unknown"):
            get("no_such_metric")
    with pytest.raises(CorridorError):
        base_results.values("no_such_metric")
