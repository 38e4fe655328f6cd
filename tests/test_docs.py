"""The documentation says what the code does: generated references are up to date."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import corridor

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scenarios_md_field_reference_matches_the_models() -> None:
    writer = _load(ROOT / "docs" / "write_scenarios_doc.py")
    doc = ROOT / "docs" / "scenarios.md"
    text = doc.read_text()
    assert writer.render(text) == text, (
        "docs/scenarios.md is out of date: run python docs/write_scenarios_doc.py"
    )  # type: ignore[attr-defined]


def test_scenarios_md_names_every_field_of_the_models() -> None:
    # Independent of the generator: every field of every model appears in the reference.
    from pydantic import BaseModel

    import corridor.scenario.instruments as instruments
    import corridor.scenario.schema as schema

    text = (ROOT / "docs" / "scenarios.md").read_text()
    models = [
        m
        for mod in (schema, instruments)
        for m in vars(mod).values()
        if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__ == mod.__name__
    ]
    assert len(models) > 10
    for model in models:
        for name, field in model.model_fields.items():
            if field.exclude:  # set by the loader (base_dir), not by a scenario file
                continue
            shown = field.alias or name
            assert f"`{shown}`" in text, f"{model.__name__}.{shown} is not documented in docs/scenarios.md"


def test_architecture_md_names_every_module() -> None:
    # docs/architecture.md has one line per module: a newcomer finds where a change goes.
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = Path(corridor.__file__).parent
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.name == "__init__.py" and rel.parent != Path("."):
            shown = f"{rel.parent.as_posix()}/"
        else:
            shown = rel.as_posix()
        assert re.search(rf"(^|[\s`/]){re.escape(shown)}", text, re.M) or rel.name in text, (
            f"docs/architecture.md does not mention {shown}"
        )
