"""Scenario loading: validation, clear errors with path and line, overrides, digests."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

import corridor
from corridor.errors import ScenarioError
from corridor.scenario import apply_overrides, load_scenario, parse_override
from corridor.scenario.loading import validate_data

from .conftest import SHIPPED_SCENARIO, base_scenario_data, set_path, write_yaml


def problems_of(exc: pytest.ExceptionInfo[ScenarioError]) -> dict[str, tuple[int | None, str]]:
    return {path: (line, msg) for path, line, msg in exc.value.problems}


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of ``path`` containing ``text``."""
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return i
    raise AssertionError(text)


# --------------------------------------------------------------------------- valid scenarios


def test_small_scenario_validates(scenario_data: dict[str, Any]) -> None:
    sc = validate_data(scenario_data)
    assert sc.name == "small"
    assert sc.horizon.start == dt.date(2019, 3, 1) and sc.horizon.end == dt.date(2019, 4, 9)
    assert sc.horizon.days == 40
    assert sc.nationalities == ["Honduras", "Guatemala", "Cuba"]
    assert sc.inflow_multiplier == 1.0
    assert sc.events == []


def test_nationalities_in_order_of_first_mention(scenario_data: dict[str, Any]) -> None:
    extra = dict(scenario_data["inflows"][0], entry={"Ciudad Tecun Uman": 1.0}, persons_per_day=5)
    scenario_data["inflows"].append(extra)  # a second Honduras inflow
    assert validate_data(scenario_data).nationalities == ["Honduras", "Guatemala", "Cuba"]


def test_load_from_yaml_matches_the_dict(scenario_file: Path, scenario_data: dict[str, Any]) -> None:
    from_file = load_scenario(scenario_file)
    from_dict = validate_data(scenario_data)
    assert from_file.model_dump() == from_dict.model_dump()
    assert from_file.base_dir == scenario_file.parent.resolve()


def test_sha256_is_the_file_digest_and_changes_with_overrides(scenario_file: Path) -> None:
    plain = load_scenario(scenario_file)
    assert plain.sha256 == hashlib.sha256(scenario_file.read_bytes()).hexdigest()
    over = load_scenario(scenario_file, {"policy.bus_south_share": 0.5})
    assert over.sha256 != plain.sha256
    assert load_scenario(scenario_file, ["policy.bus_south_share=0.5"]).sha256 == over.sha256
    assert load_scenario(scenario_file, {"policy.bus_south_share": 0.6}).sha256 != over.sha256


def test_shipped_scenario_loads_and_compiles(network: corridor.Network) -> None:
    sc = load_scenario(SHIPPED_SCENARIO)
    assert sc.name == "mexico-2019"
    assert sc.horizon.days == 365
    assert len(sc.nationalities) == 10
    timeline = corridor.compile_timeline(sc, network)
    assert timeline.arrivals_persons.sum() > 100_000
    # Every provenance entry names a path that exists in the scenario.
    data = sc.model_dump(by_alias=True)
    for path in sc.provenance:
        node: Any = data
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]


# --------------------------------------------------------------------------- errors


def test_unknown_key_names_the_path_and_line(tmp_path: Path, scenario_data: dict[str, Any]) -> None:
    scenario_data["policy"]["raid_probabilty_per_day"] = scenario_data["policy"].pop(
        "raid_probability_per_day"
    )
    file = write_yaml(tmp_path / "typo.yaml", scenario_data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    found = problems_of(info)
    assert "policy.raid_probabilty_per_day" in found
    line, msg = found["policy.raid_probabilty_per_day"]
    assert line == line_of(file, "raid_probabilty_per_day:")
    assert "unknown key" in msg
    # The correctly spelled field is now missing, and is reported too.
    assert "policy.raid_probability_per_day" in found
    text = str(info.value)
    assert str(file) in text and f"policy.raid_probabilty_per_day (line {line})" in text


def test_unknown_keys_are_all_reported(tmp_path: Path, scenario_data: dict[str, Any]) -> None:
    scenario_data["descripton"] = "x"
    scenario_data["behaviour"]["speed_km_per_dya"] = 3
    file = write_yaml(tmp_path / "typos.yaml", scenario_data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    found = problems_of(info)
    assert found["descripton"][0] == line_of(file, "descripton:")
    assert found["behaviour.speed_km_per_dya"][0] == line_of(file, "speed_km_per_dya:")


def test_unknown_section_is_reported_at_its_own_line(tmp_path: Path, scenario_data: dict[str, Any]) -> None:
    scenario_data["horizn"] = {"start": "2019-01-01"}
    file = write_yaml(tmp_path / "typos.yaml", scenario_data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert problems_of(info)["horizn"][0] == line_of(file, "horizn:")


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("policy.raid_probability_per_day", "high", ["valid number", "high"]),
        ("policy.raid_probability_per_day", 1.5, ["less than or equal to 1"]),
        ("policy.detention_mean_stay_days", -1, ["greater than 0"]),
        ("policy.detention_capacity_unknown", -10, ["greater than or equal to 0"]),
        ("policy.detention_overflow_max_ratio", 0.5, ["greater than or equal to 1"]),
        ("inflows.1.persons_per_day", -5, ["greater than or equal to 0"]),
        ("inflow_multiplier", 0, ["greater than 0"]),
        ("behaviour.rest_days_after_arrival", 1.5, ["integer"]),
        ("population.group_size_mean", 0.5, ["greater than or equal to 1"]),
        ("population.minor_share", -0.1, ["greater than or equal to 0"]),
    ],
)
def test_wrong_type_or_value_names_the_field(
    tmp_path: Path, scenario_data: dict[str, Any], path: str, value: Any, words: list[str]
) -> None:
    file = write_yaml(tmp_path / "bad.yaml", set_path(scenario_data, path, value))
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    found = problems_of(info)
    assert path in found, found
    line, msg = found[path]
    assert line is not None
    for w in words:
        assert w in msg


def test_end_before_start(tmp_path: Path, scenario_data: dict[str, Any]) -> None:
    scenario_data["horizon"] = {"start": "2019-05-01", "end": "2019-04-30"}
    file = write_yaml(tmp_path / "backwards.yaml", scenario_data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    found = problems_of(info)
    assert "horizon" in found
    line, msg = found["horizon"]
    assert "before start" in msg and "2019-04-30" in msg
    assert line is not None and line_of(file, "horizon:") <= line <= line_of(file, "end:")


def test_one_day_horizon_is_valid(scenario_data: dict[str, Any]) -> None:
    scenario_data["horizon"] = {"start": "2019-05-01", "end": "2019-05-01"}
    assert validate_data(scenario_data).horizon.days == 1


def test_bad_date(scenario_data: dict[str, Any]) -> None:
    scenario_data["horizon"]["end"] = "2019-02-30"
    with pytest.raises(ScenarioError) as info:
        validate_data(scenario_data)
    assert "horizon.end" in problems_of(info)


@pytest.mark.parametrize(
    "rates",
    [
        {},
        {"persons_per_day": 5, "monthly_persons": {"2019-03": 100}},
        {"persons_per_day": 5, "file": "x.csv"},
    ],
)
def test_inflow_needs_exactly_one_rate(scenario_data: dict[str, Any], rates: dict[str, Any]) -> None:
    inflow = scenario_data["inflows"][2]
    del inflow["persons_per_day"]
    inflow.update(rates)
    with pytest.raises(ScenarioError) as info:
        validate_data(scenario_data)
    found = problems_of(info)
    assert "inflows.2" in found
    assert "exactly one of persons_per_day, monthly_persons, file" in found["inflows.2"][1]


def test_bad_month_key(scenario_data: dict[str, Any]) -> None:
    inflow = scenario_data["inflows"][0]
    del inflow["persons_per_day"]
    inflow["monthly_persons"] = {"2019-3": 100}
    with pytest.raises(ScenarioError) as info:
        validate_data(scenario_data)
    (path,) = problems_of(info)
    assert path.startswith("inflows.0.monthly_persons")
    assert "YYYY-MM" in str(info.value)


def test_missing_required_section(scenario_data: dict[str, Any]) -> None:
    del scenario_data["hazards"]
    with pytest.raises(ScenarioError) as info:
        validate_data(scenario_data)
    assert problems_of(info)["hazards"][1] == "required field missing"


def test_empty_entry_and_empty_inflows(scenario_data: dict[str, Any]) -> None:
    scenario_data["inflows"][0]["entry"] = {}
    with pytest.raises(ScenarioError) as info:
        validate_data(scenario_data)
    assert "inflows.0.entry" in problems_of(info)
    scenario_data["inflows"] = []
    with pytest.raises(ScenarioError) as info:
        validate_data(scenario_data)
    assert "inflows" in problems_of(info)


def test_provenance_needs_exactly_one_of_source_or_assumption(scenario_data: dict[str, Any]) -> None:
    scenario_data["provenance"] = {"policy.raid_probability_per_day": {"source": "a", "assumption": "b"}}
    with pytest.raises(ScenarioError) as info:
        validate_data(scenario_data)
    assert "provenance.policy.raid_probability_per_day" in problems_of(info)

    scenario_data["provenance"] = {
        "policy": {"assumption": "all of it"},
        "policy.bus_south_share": {"source": "s"},
    }
    sc = validate_data(scenario_data)
    assert sc.provenance_of("policy.bus_south_share").source == "s"
    assert sc.provenance_of("policy.checkpoint_intensity.Chiapas").assumption == "all of it"
    assert sc.provenance_of("behaviour.settle_share") is None


def test_unreadable_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhorizon: {start: 2019-01-01\n  end: [\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    ((_, line, msg),) = info.value.problems
    assert "not valid YAML" in msg and line is not None
    bad.write_text("- a\n- b\n")
    with pytest.raises(ScenarioError, match="mapping"):
        load_scenario(bad)


# --------------------------------------------------------------------------- overrides


def test_overrides_apply_before_validation(scenario_file: Path) -> None:
    sc = load_scenario(
        scenario_file,
        [
            "policy.bus_south_share=0.75",
            "inflows.0.persons_per_day=12",
            "policy.checkpoint_intensity.Oaxaca=2",
            "horizon.end=2019-03-20",
        ],
    )
    assert sc.policy.bus_south_share == 0.75
    assert sc.inflows[0].persons_per_day == 12
    assert sc.policy.checkpoint_intensity == {"default": 1.0, "Chiapas": 3.0, "Oaxaca": 2.0}
    assert sc.horizon.days == 20


def test_override_typo_is_an_error_naming_the_path(scenario_file: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file, ["policy.bus_south_shar=0.5"])
    found = problems_of(info)
    assert "policy.bus_south_shar" in found
    line, msg = found["policy.bus_south_shar"]
    assert line is None  # not a line of the file
    assert "unknown key" in msg


def test_override_with_bad_value_names_the_path(scenario_file: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file, {"policy.bus_south_share": 2})
    assert "policy.bus_south_share" in problems_of(info)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a.b=3", ("a.b", 3)),
        ("a.b=0.5", ("a.b", 0.5)),
        ("a=true", ("a", True)),
        ("a=[x, y]", ("a", ["x", "y"])),
        ("a.Baja California=2", ("a.Baja California", 2)),
        ("a=", ("a", "")),
        ("a=x=y", ("a", "x=y")),
    ],
)
def test_parse_override(text: str, expected: tuple[str, Any]) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["no_equals", "=3", "a..b=3", "a.=3"])
def test_parse_override_rejects_malformed(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_override(text)


def test_apply_overrides_copies_and_indexes_lists() -> None:
    data = base_scenario_data()
    out = apply_overrides(data, {"inflows.1.nationality": "Belize", "policy.new.deep": 1})
    assert out["inflows"][1]["nationality"] == "Belize"
    assert out["policy"]["new"] == {"deep": 1}
    assert data["inflows"][1]["nationality"] == "Guatemala"  # the input is not changed
    with pytest.raises(ScenarioError, match="no list item"):
        apply_overrides(data, {"inflows.7.nationality": "x"})
    with pytest.raises(ScenarioError, match="scalar"):
        apply_overrides(data, {"policy.bus_south_share.x": 1})
