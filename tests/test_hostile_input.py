"""Bad and hostile input to the scenario loader and the CLI: one-line errors, exit 2, nothing
written, nothing lost, in seconds and in little memory.

The property tests mutate a small valid scenario the way a careless editor or a hostile
user would (non-finite or mistyped numbers, unknown keys, alias bombs, deep nesting, other
encodings, truncation, random bytes); the example tests pin each case users reported.
"""

from __future__ import annotations

import copy
import gzip
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.errors import ScenarioError
from corridor.runner.single import check_run_size, estimate_peak_bytes
from corridor.scenario import load_scenario
from corridor.yamltext import MAX_YAML_DEPTH

from .conftest import SHIPPED_SCENARIO, base_scenario_data, write_yaml

runner = CliRunner()
PROFILE = settings(
    max_examples=40,
    deadline=3000,  # ms per example: every refusal is quick
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Python allocations one load may make (tracemalloc's peak): a bomb or a deep document
#: would need far more.
MEMORY_CAP_BYTES = 50_000_000


def numeric_leaves(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the int and float values (not booleans) in raw scenario data."""
    out: list[str] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in items:
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out.append(path)
        else:
            out += numeric_leaves(value, path)
    return out


def set_leaf(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the leaf at ``dotted`` (dict keys and list indices) replaced.

    Keys inside ``events.N.set`` contain dots themselves, so the path is walked greedily.
    """
    out = copy.deepcopy(data)
    node: Any = out
    parts = dotted.split(".")
    i = 0
    while i < len(parts):
        if isinstance(node, list):
            key: Any = int(parts[i])
            j = i + 1
        else:
            j = next(k for k in range(len(parts), i, -1) if ".".join(parts[i:k]) in node)
            key = ".".join(parts[i:j])
        if j == len(parts):
            node[key] = value
            return out
        node, i = node[key], j
    raise AssertionError(dotted)


BASE = base_scenario_data()
LEAVES = numeric_leaves(BASE)
#: Values no numeric field accepts.
BAD_NUMBERS = [float("inf"), float("-inf"), float("nan"), "not a number", [1, 2], {"a": 1}]


def cli(args: list[str], cwd: Path) -> tuple[int, str, float]:
    """Run the CLI in-process in ``cwd``: exit code, combined output, seconds."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        start = time.perf_counter()
        result = runner.invoke(app, args)
        seconds = time.perf_counter() - start
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output, seconds


def assert_clean_refusal(code: int, output: str, names: str, folder: Path, before: set[str]) -> None:
    """Exit 2, one line starting 'error:' naming ``names``, no traceback, nothing new in ``folder``."""
    lines = output.strip().splitlines()
    assert code == 2, output
    assert "Traceback" not in output
    assert len(lines) == 1, output
    assert lines[0].startswith("error:"), output
    assert names in lines[0], output
    assert {str(p.relative_to(folder)) for p in folder.rglob("*")} == before


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def load_bounded(path: Path) -> ScenarioError | corridor.Scenario:
    """load_scenario under tracemalloc: the scenario or the ScenarioError; anything else fails."""
    tracemalloc.start()
    try:
        try:
            return load_scenario(path)
        except ScenarioError as exc:
            return exc
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            assert peak < MEMORY_CAP_BYTES, f"{peak:,} bytes to load {path.name}"
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------- properties


@PROFILE
@given(leaf=st.sampled_from(LEAVES), bad=st.sampled_from(BAD_NUMBERS))
def test_a_bad_number_anywhere_is_one_line_naming_the_field(
    tmp_path_factory: pytest.TempPathFactory, leaf: str, bad: Any
) -> None:
    folder = tmp_path_factory.mktemp("bad-number")
    write_yaml(folder / "s.yaml", set_leaf(BASE, leaf, bad))
    before = listing(folder)
    code, output, seconds = cli(["run", "s.yaml", "--out", "out", "--agents", "500", "--quiet"], folder)
    # The field's own name is in the message (a key under events.N.set is named within it).
    assert_clean_refusal(code, output, leaf.split(".")[-1], folder, before)
    assert seconds < 3


@PROFILE
@given(
    where=st.sampled_from(["", "policy", "behaviour", "population", "hazards", "horizon"]),
    key=st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=200),
)
def test_an_unknown_key_is_named_short_and_nothing_else_is_echoed(
    tmp_path_factory: pytest.TempPathFactory, where: str, key: str
) -> None:
    data = copy.deepcopy(BASE)
    node = data
    for part in where.split(".") if where else []:
        node = node[part]
    if key in node or key == "base":
        return
    node[key] = "value"
    folder = tmp_path_factory.mktemp("unknown-key")
    write_yaml(folder / "s.yaml", data)
    result = load_bounded(folder / "s.yaml")
    assert isinstance(result, ScenarioError)
    message = str(result)
    assert len(message.splitlines()) == 1
    assert "unknown key" in message
    assert len(message) < 400  # a 200-character key is quoted as a short excerpt


def _bomb(levels: int, fan: int) -> str:
    text = "{l0: &l0 [" + ", ".join(['"lol"'] * fan) + "]"
    for i in range(1, levels):
        text += f", l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]"
    return text + "}"


@st.composite
def malformed_documents(draw: st.DrawFn) -> bytes:
    """Bytes of a scenario file broken in one of the ways users have hit."""
    text = yaml.safe_dump(BASE, sort_keys=False, allow_unicode=True)
    kind = draw(st.sampled_from(["bomb", "deep", "latin1", "utf16", "gzip", "nul", "truncate", "junk"]))
    if kind == "bomb":
        section = draw(st.sampled_from(["x_bomb", "description"]))
        return (text + f"\n{section}: {_bomb(draw(st.integers(6, 9)), draw(st.integers(8, 12)))}\n").encode()
    if kind == "deep":
        depth = draw(st.integers(MAX_YAML_DEPTH + 1, 3000))
        return (text + "\nx_deep: " + "[" * depth + "]" * depth + "\n").encode()
    if kind == "latin1":
        return text.replace("name: ", "description: Tecún Umán\nname: ", 1).encode("latin-1")
    if kind == "utf16":
        return text.encode(draw(st.sampled_from(["utf-16", "utf-32"])))
    if kind == "gzip":
        return gzip.compress(text.encode())
    if kind == "nul":
        cut = draw(st.integers(0, len(text)))
        return (text[:cut] + "\x00" + text[cut:]).encode()
    if kind == "truncate":
        return text.encode()[: draw(st.integers(0, len(text) - 1))]
    return draw(st.binary(min_size=0, max_size=2000))


@PROFILE
@given(document=malformed_documents())
def test_a_malformed_document_is_a_scenario_error_or_a_scenario_never_a_crash(
    tmp_path_factory: pytest.TempPathFactory, document: bytes
) -> None:
    folder = tmp_path_factory.mktemp("malformed")
    (folder / "s.yaml").write_bytes(document)
    start = time.process_time()
    result = load_bounded(folder / "s.yaml")
    # A guard against documents that blow up (aliases, nesting), not a speed test: CPU time,
    # which a loaded machine does not inflate much, and far above a normal load's 0.1 s.
    assert time.process_time() - start < 10
    if isinstance(result, ScenarioError):
        message = str(result)
        assert "s.yaml" in message.splitlines()[0]
        assert len(message) < 2000


@settings(max_examples=12, deadline=5000, derandomize=True)
@given(document=malformed_documents().filter(lambda d: not d.startswith(b"name")))
def test_the_cli_refuses_malformed_documents_in_one_line_and_writes_nothing(document: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "s.yaml").write_bytes(document)
        before = listing(folder)
        code, output, seconds = cli(["run", "s.yaml", "--quiet", "--agents", "500"], folder)
        if code == 0:  # a truncation that left a valid scenario (possible, rare): it ran
            return
        assert_clean_refusal(code, output, "s.yaml", folder, before)
        assert seconds < 3


# --------------------------------------------------------------------------- the reported cases


def _capped(
    args: list[str], cwd: Path, memory_bytes: int = 1_500_000_000
) -> subprocess.CompletedProcess[str]:
    """Run the corridor CLI in a fresh process under an address-space cap and a time limit."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return subprocess.run(
        [sys.executable, "-m", "corridor.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=cap,
        check=False,
    )


def test_billion_laughs_under_a_memory_cap_is_refused_in_seconds(tmp_path: Path) -> None:
    event = {"date": "2019-01-10", "name": "bomb", "set": {"raid_probability_per_day": "BOMB"}}
    text = yaml.safe_dump(BASE | {"events": [event]}, sort_keys=False)
    assert text.count("BOMB") == 1
    text = text.replace("BOMB", _bomb(9, 9))
    (tmp_path / "bomb.yaml").write_text(text)
    start = time.perf_counter()
    proc = _capped(["run", "bomb.yaml", "--quiet"], tmp_path)
    assert time.perf_counter() - start < 30
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "expands to more than" in proc.stderr and "bomb.yaml" in proc.stderr
    # The same value through --set.
    proc = _capped(["run", str(SHIPPED_SCENARIO), "--quiet", f"--set=policy.x={_bomb(9, 9)}"], tmp_path)
    assert proc.returncode == 2 and "expands to more than" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.yaml"]


def test_base_that_is_not_a_scenario_prints_none_of_its_lines(tmp_path: Path) -> None:
    secret_lines = [f"user{i}:$6$saltsalt$hashhashhash{i}:19000:0:99999:7:::" for i in range(24)]
    secrets = tmp_path / "secrets.yaml"  # even named .yaml, it is no scenario
    secrets.write_text("\n".join(f"{line.split(':')[0]}: '{line}'" for line in secret_lines) + "\n")
    (tmp_path / "v1.yaml").write_text("base: secrets.yaml\n")
    (tmp_path / "v2.yaml").write_text("base: /etc/passwd\n")
    (tmp_path / "v3.yaml").write_text("base: v3.yaml\n")
    for variant, expected in (
        ("v1.yaml", "is not a corridor scenario"),
        ("v2.yaml", "not a .yaml or .yml scenario file"),
        ("v3.yaml", "cannot itself have a base"),
    ):
        code, output, _ = cli(["run", variant, "--quiet"], tmp_path)
        assert code == 2 and expected in output, output
        assert len(output.strip().splitlines()) == 1, output
        assert not any(s in output for line in secret_lines for s in line.split(":")[1:3])
        assert "hashhash" not in output and "root:" not in output


def test_out_refuses_a_folder_with_a_foreign_file_and_force_keeps_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "README.md").write_text("readme")
    (project / "src" / "main.py").write_text("code")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    code, output, _ = cli(["run", str(SHIPPED_SCENARIO), "--out", ".", "--agents", "1000"], project)
    assert code == 2 and "--out . holds 'README.md', 'src'" in output, output
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before
    assert listing(project) == {"README.md", "src", "src/main.py"}
    code, output, _ = cli(
        ["run", str(SHIPPED_SCENARIO), "--out", ".", "--agents", "1000", "--force"], project
    )
    assert code == 0, output
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and p in before} == before
    assert listing(project) == {
        "README.md",
        "src",
        "src/main.py",
        "daily.parquet",
        "metrics.csv",
        "routes.csv",
        "run.json",
    }


@pytest.mark.parametrize("name", ["/tmp/victim", "../..", "a/b", "..", ".hidden", ""])
def test_a_scenario_name_is_a_name_not_a_path(tmp_path: Path, name: str) -> None:
    write_yaml(tmp_path / "s.yaml", BASE | {"name": name})
    before = listing(tmp_path)
    code, output, _ = cli(["run", "s.yaml", "--quiet", "--agents", "500"], tmp_path)
    assert_clean_refusal(code, output, "name", tmp_path, before)
    write_yaml(tmp_path / "ok.yaml", BASE)
    before = listing(tmp_path)
    code, output, _ = cli(["run", "ok.yaml", "--quiet", "--set", f"name={name}"], tmp_path)
    assert_clean_refusal(code, output, "name", tmp_path, before)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--agents", str(10**9)], "GiB"),
        (["--scale", "1e-6"], "GiB"),
        (["--set", "horizon.end=2118-12-31"], "horizon"),
        (["--scale", "inf"], "options.scale"),
        (["--scale", "nan"], "options.scale"),
        (["--scale", "0"], "options.scale"),
        (["--set", "horizon.start=2030-01-01", "--set", "horizon.end=2030-12-31"], "no one enters"),
        (["--set", "inflow_multiplier=.inf"], "inflow_multiplier"),
        (["--set", "policy.detention_capacity_unknown=.inf"], "detention_capacity_unknown"),
    ],
)
def test_too_large_or_nonsense_runs_are_refused_up_front(tmp_path: Path, args: list[str], names: str) -> None:
    before = listing(tmp_path)
    code, output, seconds = cli(["run", str(SHIPPED_SCENARIO), "--quiet", *args], tmp_path)
    assert_clean_refusal(code, output, names, tmp_path, before)
    assert seconds < 5


def test_memory_estimate_grows_with_agents_and_days_and_is_checked(
    network: corridor.Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    timeline = corridor.compile_timeline(validate_base(), network)
    one, two = estimate_peak_bytes(timeline, 10**6), estimate_peak_bytes(timeline, 2 * 10**6)
    assert two - one == one - estimate_peak_bytes(timeline, 0) > 0
    persons = float(timeline.arrivals_persons.sum())
    assert check_run_size(timeline, persons / 1000) == 1000
    monkeypatch.setattr("corridor.runner.single.available_memory_bytes", lambda: 10**6)
    with pytest.raises(ScenarioError, match=r"need about .* GiB of memory, and 0\.00 GiB is available"):
        check_run_size(timeline, persons / 1000)


def validate_base() -> corridor.Scenario:
    from corridor.scenario.loading import validate_data

    return validate_data(BASE)


def test_negative_seed_is_refused(tmp_path: Path) -> None:
    code, output, _ = cli(["run", str(SHIPPED_SCENARIO), "--seed", "-1", "--quiet"], tmp_path)
    assert code == 2 and "--seed" in output
    with pytest.raises(ScenarioError, match="seed must be a whole number >= 0"):
        corridor.simulate(SHIPPED_SCENARIO, seed=-1, agents=100)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("month,nationality,persons\n2019-01,Guatemala,nan\n", "column persons"),
        ("month,nationality,persons\n2019-01,Guatemala,inf\n", "column persons"),
        ("month,nationality,persons\n2019-01,Guatemala,-5\n", "column persons"),
        ("month,nationality,persons\n2019-13,Guatemala,5\n", "column month"),
    ],
)
def test_inflow_csv_values_must_be_finite_and_months_real(
    tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / "in.csv").write_text(content)
    data = copy.deepcopy(BASE)
    data["inflows"][0] = {k: v for k, v in data["inflows"][0].items() if k in ("nationality", "entry")}
    data["inflows"][0]["file"] = "in.csv"
    write_yaml(tmp_path / "s.yaml", data)
    before = listing(tmp_path)
    code, output, _ = cli(["run", "s.yaml", "--quiet"], tmp_path)
    assert_clean_refusal(code, output, expected, tmp_path, before)


def test_inflow_file_that_is_a_device_or_a_fifo_is_refused_without_reading(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    for target in ("/dev/zero", str(tmp_path / "pipe"), str(tmp_path)):
        data = copy.deepcopy(BASE)
        data["inflows"][0] = {k: v for k, v in data["inflows"][0].items() if k in ("nationality", "entry")}
        data["inflows"][0]["file"] = target
        write_yaml(tmp_path / "s.yaml", data)
        code, output, seconds = cli(["run", "s.yaml", "--quiet"], tmp_path)
        assert code == 2 and "inflows.0.file" in output and seconds < 3, output


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    text = yaml.safe_dump(BASE, sort_keys=False) + "inflow_multiplier: 1.0\ninflow_multiplier: 50.0\n"
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"key 'inflow_multiplier' given twice \(lines \d+ and \d+\)"):
        load_scenario(tmp_path / "s.yaml")


def test_a_scale_leaving_no_agent_is_refused(tmp_path: Path) -> None:
    before = listing(tmp_path)
    code, output, _ = cli(["run", str(SHIPPED_SCENARIO), "--quiet", "--scale", "1e300"], tmp_path)
    assert_clean_refusal(code, output, "fewer than one agent", tmp_path, before)


@pytest.mark.parametrize(
    ("command", "existing"),
    [
        (["validate", str(SHIPPED_SCENARIO), "--runs", "1", "--agents", "500"], "validation.json"),
        (
            ["sensitivity", str(SHIPPED_SCENARIO), "--agents", "500", "--trajectories", "2"],
            "sensitivity.json",
        ),
        (["compare", str(SHIPPED_SCENARIO), "--seeds", "1", "--agents", "500"], "compare_summary.csv"),
    ],
)
def test_every_command_refuses_a_folder_of_user_files_before_running(
    tmp_path: Path, command: list[str], existing: str
) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    (tmp_path / existing).write_text("a file that happens to share corridor's name")
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    code, output, seconds = cli([*command, "--out", "."], tmp_path)
    assert code == 2 and "thesis.tex" in output and "nothing was changed" in output, output
    assert seconds < 10  # refused before any simulation
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_forecast_never_replaces_a_file_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "notes.parquet").write_text("mine")
    targets = tmp_path / "targets.csv"
    targets.write_text("series,geography,breakdown\nusbp_sw_encounters,US southwest border,\n")
    args = ["forecast", str(SHIPPED_SCENARIO), "--targets", str(targets), "--start", "2019-06"]
    code, output, _ = cli([*args, "--end", "2019-06", "--out", "notes.parquet"], tmp_path)
    assert code == 2 and "is not a corridor output" in output, output
    assert (tmp_path / "notes.parquet").read_text() == "mine"


def test_an_observed_file_with_a_header_and_no_rows_is_refused(tmp_path: Path) -> None:
    from corridor.errors import EvidenceError
    from corridor.evidence import load_observed

    shipped = corridor.observations.observed_files()[0]
    header = shipped.read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "empty.csv").write_text(header + "\n")
    with pytest.raises(EvidenceError, match=r"empty\.csv: a header and no rows"):
        load_observed([tmp_path / "empty.csv"])


@pytest.mark.parametrize(
    "path", ["inflow_multiplier", "policy.checkpoint_intensity.Chiapas", "behaviour.settle_share"]
)
def test_a_boolean_is_not_a_number(path: str) -> None:
    with pytest.raises(ScenarioError, match=r"expected a number, not True"):
        load_scenario(SHIPPED_SCENARIO, [f"{path}=true"])
