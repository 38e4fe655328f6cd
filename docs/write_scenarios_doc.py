"""Regenerate the field reference in docs/scenarios.md from the pydantic models.

    python docs/write_scenarios_doc.py

tests/test_docs.py fails when the committed file is out of date.
"""

from pathlib import Path

from corridor.scenario.reference import fields_reference

BEGIN, END = "<!-- fields:begin -->", "<!-- fields:end -->"


def render(text: str) -> str:
    """``text`` with the generated reference between the markers."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{fields_reference()}\n{END}{tail}"


if __name__ == "__main__":
    path = Path(__file__).with_name("scenarios.md")
    path.write_text(render(path.read_text()))
    print(f"updated {path}")
