"""Dotted scenario paths (corridor.scenario.paths): reading, setting, scaling, normalising."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import corridor
from corridor.errors import ScenarioError
from corridor.scenario import load_scenario
from corridor.scenario.paths import (
    MISSING,
    apply_overrides,
    get_path,
    normalise_overrides,
    scale_numbers,
    scale_under,
    set_path,
)
from corridor.timeline import compile_timeline

from .conftest import REPO

DATA: dict[str, Any] = {
    "behaviour": {"settle_share": 0.1, "flags": [True, False]},
    "events": [{"date": "2019-05-01", "set": {"raid": 0.2}}],
    "n": 3,
}


def test_get_path_reads_keys_and_list_items() -> None:
    assert get_path(DATA, "behaviour.settle_share") == 0.1
    assert get_path(DATA, "events.0.set.raid") == 0.2
    assert get_path(DATA, "behaviour.flags.1") is False
    assert get_path(DATA, "behaviour") is DATA["behaviour"]


@pytest.mark.parametrize(
    "path", ["behaviour.nope", "events.1.date", "events.x", "n.inside", "behaviour.flags.-1"]
)
def test_get_path_that_leads_nowhere(path: str) -> None:
    assert get_path(DATA, path) is MISSING
    assert get_path(DATA, path, None) is None


def test_normalise_overrides_from_strings_and_mappings() -> None:
    assert normalise_overrides(None) == {}
    assert normalise_overrides({"a.b": 1}) == {"a.b": 1}
    got = normalise_overrides(["a.b=3", "c=[x, y]", "d.e=true", "f=0.5", "g="])
    assert got == {"a.b": 3, "c": ["x", "y"], "d.e": True, "f": 0.5, "g": ""}
    assert normalise_overrides(()) == {}


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["no_equals_sign"], "dotted.path=value"),
        (["a..b=1"], "empty segment"),
        ("a.b=1", "a list of 'dotted.path=value' strings"),
    ],
)
def test_normalise_overrides_refuses(overrides: Any, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        normalise_overrides(overrides)


def test_set_path_and_apply_overrides() -> None:
    out = apply_overrides(DATA, {"events.0.set.raid": 0.5, "new.key": 1})
    assert out["events"][0]["set"]["raid"] == 0.5 and out["new"] == {"key": 1}
    assert DATA["events"][0]["set"]["raid"] == 0.2  # a copy
    with pytest.raises(ScenarioError, match="no list item '3'"):
        set_path({"a": [1]}, "a.3", 0)
    with pytest.raises(ScenarioError, match="inside a scalar"):
        set_path({"a": 1}, "a.b", 0)


def test_scaling() -> None:
    assert scale_numbers({"a": 2, "b": [0.5, True, "x"]}, 1.5) == {"a": 3, "b": [0.75, True, "x"]}
    value = {"default": 0.1, "by": {"Honduras": 0.2}}
    assert scale_under(value, "by", 2.0) == {"default": 0.1, "by": {"Honduras": 0.4}}
    assert scale_under(value, "", 2.0) == {"default": 0.2, "by": {"Honduras": 0.4}}
    assert scale_under(value, "missing", 2.0) == value


def test_a_path_into_an_events_set_takes_the_policy_path_whole() -> None:
    # An event's set maps dotted policy paths to values, or fields to nested mappings.
    data: dict[str, Any] = {
        "events": [{"set": {"cbp_one.appointments_per_day": 1000, "asylum": {"offices": {"Tapachula": 1}}}}]
    }
    assert get_path(data, "events.0.set.cbp_one.appointments_per_day") == 1000
    assert get_path(data, "events.0.set.asylum.offices.Tapachula") == 1
    assert get_path(data, "events.0.set.cbp_one.uptake.default") is MISSING
    out = apply_overrides(
        data,
        {
            "events.0.set.cbp_one.appointments_per_day": 2000,  # the existing key
            "events.0.set.asylum.offices.Tapachula": 0,  # inside a nested field
            "events.0.set.cbp_one.uptake.default": 0.9,  # a new policy path, not a nested mapping
        },
    )
    assert out["events"][0]["set"] == {
        "cbp_one.appointments_per_day": 2000,
        "asylum": {"offices": {"Tapachula": 0}},
        "cbp_one.uptake.default": 0.9,
    }


def test_an_override_of_an_events_set_changes_only_that_field(network: corridor.Network) -> None:
    # Split at every dot, the override made a nested cbp_one mapping that replaced the whole
    # instrument when the event applied (uptake 0, the 19th-parallel rule off).
    path = REPO / "scenarios" / "mexico-2018-2024.yaml"
    plain = compile_timeline(load_scenario(path), network)
    changed = compile_timeline(
        load_scenario(path, overrides={"events.29.set.cbp_one.appointments_per_day": 2000}), network
    )
    day = plain.dates.get_loc(pd.Timestamp("2023-05-20"))
    before = plain.segments[plain.segment_of_day[day]].policy.cbp_one
    after = changed.segments[changed.segment_of_day[day]].policy.cbp_one
    assert (before.appointments_per_day, after.appointments_per_day) == (1000, 2000)
    assert after.model_copy(update={"appointments_per_day": 1000}) == before
