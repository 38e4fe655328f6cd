"""The mapping from observed series to simulated metrics (``data/evidence/mapping.yaml``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from corridor.errors import EvidenceError, TextFileError
from corridor.metrics import EXTRA_STOCKS, FLOWS, STOCKS
from corridor.packagedata import package_data
from corridor.textfile import read_text, shown

Statistic = Literal["sum", "rate", "end", "mean", "change"]
Observation = Literal["count", "minimum", "maximum"]

_FLOW_METRICS = frozenset({*FLOWS, "exits"})
_STOCK_METRICS = frozenset({"present", *STOCKS, *EXTRA_STOCKS})


# ----------------------------------------------------------------------------- mapping
class Rule(BaseModel):
    """One row of the mapping: which observed rows it takes, and how they compare.

    ``series``, ``geography`` and ``breakdown`` are regular expressions matched against
    the whole text of the row's fields. A rule either compares (``metric`` and
    ``statistic``) or skips (``skip`` gives the reason).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    series: str
    geography: str = ".*"
    breakdown: str = ""
    metric: str | None = None
    statistic: Statistic | None = None
    where: Literal["row", "mexico", "us_border"] = "row"
    nationalities: tuple[str, ...] | None = None
    subtract: str | None = None
    observation: Observation = "count"
    counts: Literal["events", "persons"] | None = None
    skip: str | None = None
    note: str = ""
    index: int = Field(default=0, exclude=True)

    @field_validator("series", "geography", "breakdown")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if (self.metric is None) == (self.skip is None):
            raise ValueError("give either metric (with statistic) or skip (the reason)")
        if self.metric is None:
            return self
        if self.statistic is None:
            raise ValueError(f"metric {self.metric!r} needs a statistic")
        if self.metric in _FLOW_METRICS:
            if self.statistic not in ("sum", "rate", "change"):
                raise ValueError(f"{self.metric} is a flow: statistic must be sum, rate or change")
        elif self.metric in _STOCK_METRICS:
            if self.statistic not in ("end", "mean", "change"):
                raise ValueError(f"{self.metric} is a stock: statistic must be end, mean or change")
        else:
            raise ValueError(f"unknown metric {self.metric!r} (see docs/metrics.md)")
        return self

    def matches(self, series: str, geography: str, breakdown: str) -> bool:
        """Whether the rule takes an observed row with these fields."""
        return (
            re.fullmatch(self.series, series) is not None
            and re.fullmatch(self.geography, geography) is not None
            and re.fullmatch(self.breakdown, breakdown) is not None
        )


def load_mapping(path: str | Path | None = None) -> list[Rule]:
    """Read the mapping from observed series to simulated metrics (default: the shipped one).

    Raises
    ------
    EvidenceError
        The file is not a YAML list of valid rules; the message names the rule and field.
    """
    file = Path(path) if path is not None else package_data("evidence", "mapping.yaml")
    text = _read_text(file, "a YAML mapping file", "UTF-8 YAML text")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EvidenceError(
            f"{shown(file)}: {' '.join(str(exc).split())}; expected a YAML list of rules"
        ) from None
    if not isinstance(raw, list):
        raise EvidenceError(f"{file}: the mapping must be a YAML list of rules")
    rules = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise EvidenceError(f"{file}: rule {i + 1} is not a mapping of fields")
        try:
            rules.append(Rule.model_validate({**item, "index": i}))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'rule'}: {e['msg']}" for e in exc.errors()
            )
            raise EvidenceError(f"{file}: rule {i + 1} (series {item.get('series')!r}): {problems}") from None
    return rules


def find_rule(rules: Sequence[Rule], series: str, geography: str, breakdown: str) -> Rule | None:
    """The first rule that takes an observed row with these fields, or None."""
    for rule in rules:
        if rule.matches(series, geography, breakdown):
            return rule
    return None


#: Observed (and mapping) files larger than this are refused unread; the shipped ones are
#: at most a few megabytes.
MAX_FILE_BYTES = 100 * 1024 * 1024


def _read_text(path: Path, what: str = "an observed CSV file", text: str = "UTF-8 text") -> str:
    """The text of a regular UTF-8 file of at most :data:`MAX_FILE_BYTES` (see
    :mod:`corridor.textfile`), or an EvidenceError naming it."""
    try:
        return read_text(path, MAX_FILE_BYTES, what, text)
    except TextFileError as exc:
        raise EvidenceError(str(exc)) from None
