"""Scenario files: the pydantic models, YAML loading with clear errors, and overrides.

A scenario is a YAML file with a horizon, inflows, behaviour and hazard parameters, the
initial state of the policy instruments and a dated list of events that change them.
:func:`load_scenario` validates it and returns a :class:`Scenario`; every error names the
YAML path of the offending field, its line in the file where there is one, and what was
expected. Unknown keys are errors: a typo is never silently ignored.

:mod:`corridor.timeline` turns a Scenario into per-day arrays for the engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from corridor.textfile import TextFileError, read_text

__all__ = [
    "Behaviour",
    "Event",
    "Hazards",
    "Inflow",
    "Policy",
    "Population",
    "Prior",
    "RouteRef",
    "Scenario",
    "ScenarioError",
    "apply_overrides",
    "load_scenario",
    "parse_override",
]

DEFAULT = "default"
NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
#: A value per key (nationality, Mexican state, place...) with an optional ``default``.
Keyed = dict[str, NonNegative]
KeyedProbability = dict[str, Probability]


class ScenarioError(ValueError):
    """A scenario could not be loaded or compiled.

    Attributes
    ----------
    problems : list of (path, line, message)
        ``path`` is the dotted YAML path (``policy.checkpoint_intensity.Chiapas``),
        ``line`` the 1-based line in the file or None.
    """

    def __init__(
        self, problems: Sequence[tuple[str, int | None, str]], source: str = "", what: str = "scenario"
    ) -> None:
        self.problems = list(problems)
        self.source = source
        self.what = what
        super().__init__(self._format())

    def _format(self) -> str:
        head = f"invalid {self.what} {self.source}" if self.source else f"invalid {self.what}"
        shown = [_where(path, line) + msg for path, line, msg in self.problems[:_MAX_PROBLEMS_SHOWN]]
        if len(self.problems) == 1:
            return f"{head}: {shown[0]}"
        lines = [f"{head}: {len(self.problems)} problems", *(f"  {line}" for line in shown)]
        if len(self.problems) > _MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(self.problems) - _MAX_PROBLEMS_SHOWN} more")
        return "\n".join(lines)


def _where(path: str, line: int | None) -> str:
    if not path:
        return f"line {line}: " if line else ""
    return path + (f" (line {line})" if line else "") + ": "


#: Problems an error lists (a file that is not a scenario would otherwise be echoed line by line).
_MAX_PROBLEMS_SHOWN = 12


def excerpt(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: what error messages quote of an input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


def _numeric(tp: Any) -> bool:
    """Whether an annotation is a number (int or float), through Annotated and Optional."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _numeric(args[0])
    if origin in (Union, types.UnionType):
        return any(_numeric(a) for a in args if a is not type(None))
    return tp in (int, float)


def _numeric_values(tp: Any) -> bool:
    """Whether an annotation is a mapping of numbers (``Keyed``)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _numeric_values(args[0])
    return origin is dict and len(args) == 2 and _numeric(args[1])


class _Strict(BaseModel):
    # allow_inf_nan=False: every number of a scenario is finite (no 'inf' capacities).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        # pydantic's lax mode would read `true` as 1.0: a number field takes numbers only.
        if not isinstance(data, dict):
            return data
        for name, info in cls.model_fields.items():
            value = data.get(info.alias or name, data.get(name))
            if isinstance(value, bool) and _numeric(info.annotation):
                raise ValueError(f"{info.alias or name}: expected a number, not {value}")
            if isinstance(value, dict) and _numeric_values(info.annotation):
                for key, item in value.items():
                    if isinstance(item, bool):
                        raise ValueError(
                            f"{info.alias or name}.{excerpt(key)}: expected a number, not {item}"
                        )
        return data


class RouteRef(_Strict):
    """A route of the network, by its end places and mode (``road``, ``rail``, ``sea``, ``trek``)."""

    from_: str = Field(alias="from", description="One end (a place name).")
    to: str = Field(description="The other end.")
    mode: Literal["road", "rail", "sea", "trek"] | None = Field(
        default=None, description="Route mode; all modes between the two places when omitted."
    )
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


#: Longest horizon: the engine keeps days in 16-bit counters, and no observed series is longer.
MAX_HORIZON_DAYS = 10_000


class Horizon(_Strict):
    """Simulated dates, both inclusive."""

    start: dt.date = Field(description="First simulated day (YYYY-MM-DD).")
    end: dt.date = Field(description="Last simulated day, inclusive.")

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.days > MAX_HORIZON_DAYS:
            raise ValueError(
                f"{self.days:,} days from {self.start} to {self.end}; at most {MAX_HORIZON_DAYS:,} "
                "(about 27 years)"
            )
        return self

    @property
    def days(self) -> int:
        """Number of simulated days."""
        return (self.end - self.start).days + 1


MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class Inflow(_Strict):
    """People entering Mexico: one nationality, split over entry places.

    Exactly one of ``persons_per_day``, ``monthly_persons`` or ``file`` gives the rate.
    """

    nationality: str = Field(min_length=1, description="Label used in outputs and keyed parameters.")
    entry: dict[str, Annotated[float, Field(gt=0)]] = Field(
        description="Entry place -> relative weight (normalised to shares)."
    )
    persons_per_day: NonNegative | None = Field(default=None, description="Constant rate, persons/day.")
    monthly_persons: dict[str, NonNegative] | None = Field(
        default=None,
        description="'YYYY-MM' -> persons entering in that month, spread evenly over its days. "
        "Months of the horizon not listed get no arrivals.",
    )
    file: str | None = Field(
        default=None,
        description="CSV with columns 'month' (YYYY-MM), 'nationality' and 'persons'; the rows of this "
        "inflow's nationality are used, and rows of the same month add up (parts of one flow). Path "
        "relative to the scenario file.",
    )

    @field_validator("entry")
    @classmethod
    def _some_entry(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("at least one entry place is required")
        return v

    @field_validator("monthly_persons")
    @classmethod
    def _months(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        for key in v or {}:
            if not MONTH_PATTERN.match(key):
                raise ValueError(f"month {excerpt(key)} is not a month of the form YYYY-MM (01-12)")
        return v

    @model_validator(mode="after")
    def _one_rate(self) -> Inflow:
        given = [k for k in ("persons_per_day", "monthly_persons", "file") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of persons_per_day, monthly_persons, file "
                f"(got {', '.join(given) or 'none'})"
            )
        return self


class Population(_Strict):
    """Attributes drawn for each arriving person."""

    minor_share: Probability = Field(description="Share of arrivals under 18.")
    group_size_mean: Annotated[float, Field(ge=1, le=20)] = Field(
        description="Mean size of the family/travel groups people arrive in (persons). "
        "Groups share their draws when together, so they move, are caught and die together."
    )
    bus_access_share: KeyedProbability = Field(
        description="Per nationality (or 'default'): share with money or papers to ride buses."
    )
    destination_weights: dict[str, Annotated[float, Field(gt=0)]] = Field(
        description="Northern border city -> relative weight of being the person's target."
    )


class Behaviour(_Strict):
    """How people decide and move. Constant over the horizon."""

    speed_km_per_day: dict[Literal["foot", "bus", "rail", "sea", "trek"], Annotated[float, Field(gt=0)]]
    route_distance_weight: NonNegative = Field(
        description="Route choice: cost weight of travel time (per day of travel)."
    )
    route_risk_weight: NonNegative = Field(
        description="Route choice: cost weight of the death hazard (per expected death per 1000 people)."
    )
    route_enforcement_weight: NonNegative = Field(
        description="Route choice: cost weight of the interdiction probability (per 100%)."
    )
    route_choice_temperature: Annotated[float, Field(gt=0)] = Field(
        description="Route choice: spread of the logit over link costs (days-equivalent). "
        "Small values pick the cheapest link; large values spread people over all links toward the goal."
    )
    move_on_probability_per_day: Probability = Field(
        description="Chance a free person waiting at a place sets off again on a given day."
    )
    continue_probability: Probability = Field(
        description="Chance a traveller reaching a place with part of the day left goes straight on "
        "instead of stopping there."
    )
    rest_days_after_arrival: Annotated[int, Field(ge=0)] = Field(
        description="Days a person stays at a place before moving on may start."
    )
    give_up_probability_per_day: Probability = Field(
        description="Daily chance a waiting person gives up the journey, at the first attempt."
    )
    give_up_growth_per_attempt: NonNegative = Field(
        description="Relative increase of the give-up chance per earlier failed attempt."
    )
    settle_share: Probability = Field(
        description="Of those who give up, share who settle in Mexico (the rest return home)."
    )
    reentry_probability: KeyedProbability = Field(
        description="Per nationality: chance a person deported or removed comes back later."
    )
    reentry_delay_days: Annotated[int, Field(ge=1)] = Field(
        description="Mean days between deportation and a new entry (exponentially distributed)."
    )
    border_crossing_probability_per_day: Probability = Field(
        description="Daily chance a person waiting at their northern border city crosses between ports."
    )


class Hazards(_Strict):
    """Death on the way."""

    death_per_1000km: dict[Literal["foot", "bus", "rail", "sea", "trek"], NonNegative] = Field(
        description="Deaths and disappearances per 1000 person-km by travel mode."
    )
    river_crossing_death_probability: Probability = Field(
        default=0.0,
        description="Chance of death or disappearance per crossing between ports into the US "
        "(Rio Bravo, desert).",
    )


class AsylumOffice(_Strict):
    """A COMAR office: where people can file, from when, and how fast it decides."""

    place: str = Field(description="Place of the office (places.csv name).")
    opens: dt.date | None = Field(default=None, description="First day it takes applications (None: open).")
    closes: dt.date | None = Field(default=None, description="First day it no longer does (None: never).")
    decisions_per_day: NonNegative = Field(description="Cases decided per day (persons).")


class AsylumPolicy(_Strict):
    """Asylum in Mexico (COMAR). Applicants must stay in the state where they filed until decided."""

    offices: list[AsylumOffice] = Field(default_factory=list, description="The offices.")
    application_probability_per_day: KeyedProbability = Field(
        default_factory=lambda: {DEFAULT: 0.0},
        description="Per nationality: daily chance a free person waiting at an office's place files.",
    )
    recognition_share: KeyedProbability = Field(
        default_factory=lambda: {DEFAULT: 0.0},
        description="Per nationality: share of decisions that recognise the applicant.",
    )
    abandonment_probability_per_day: Probability = Field(
        default=0.0, description="Daily chance an applicant gives up waiting and moves on without papers."
    )
    settle_after_recognition_share: Probability = Field(
        default=0.0,
        description="Share of recognised refugees who settle in Mexico (the rest travel on with papers).",
    )
    papers_validity_days: Annotated[int, Field(ge=1)] = Field(
        default=365, description="Days the papers of a recognised refugee protect from detention."
    )


class VisaPolicy(_Strict):
    """Humanitarian visitor cards: a year to travel and work; holders are not detained while valid."""

    window_open: bool = Field(default=False, description="Whether cards are being issued.")
    places: list[str] = Field(default_factory=list, description="Places where cards are issued.")
    issued_per_day: NonNegative = Field(default=0.0, description="National issuing capacity, persons/day.")
    processing_days: Annotated[int, Field(ge=0)] = Field(
        default=5, description="Days an applicant waits at the issuing place before a card can be issued."
    )
    validity_days: Annotated[int, Field(ge=1)] = Field(default=365, description="Days a card is valid.")
    uptake: KeyedProbability = Field(
        default_factory=lambda: {DEFAULT: 0.0},
        description="Per nationality: share of people at an issuing place who queue for a card while open.",
    )


class MeteringPolicy(_Strict):
    """Metering at ports of entry: waitlists in northern border cities with a daily intake."""

    daily_intake: Keyed = Field(
        default_factory=dict, description="Northern border city -> asylum seekers let in per day (persons)."
    )
    join_share: KeyedProbability = Field(
        default_factory=lambda: {DEFAULT: 0.0},
        description="Per nationality: share of people reaching a metered city who put their name on "
        "the list.",
    )
    abandon_probability_per_day: Probability = Field(
        default=0.0,
        description="Daily chance someone on a list gives up waiting (and may cross between ports).",
    )


class CBPOnePolicy(_Strict):
    """CBP One appointments: a national daily number spread over ports, by lottery among registrants."""

    appointments_per_day: NonNegative = Field(
        default=0.0, description="National appointments per day (persons)."
    )
    uptake: KeyedProbability = Field(
        default_factory=lambda: {DEFAULT: 0.0},
        description="Per nationality: share of people who register and wait for an appointment.",
    )
    north_of_19th_only: bool = Field(
        default=False, description="Bookable only by people at places north of the 19th parallel."
    )
    travel_permit_days: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Days a booked person may travel to the port without being detained."
    )


class MPPPolicy(_Strict):
    """Remain in Mexico: people returned to a Mexican border city to wait for a US hearing."""

    cities: list[str] = Field(
        default_factory=list,
        description="Northern border cities where MPP returns happen; elsewhere the 'mpp' outcome share "
        "goes to release.",
    )
    hearing_delay_days: Annotated[float, Field(gt=0)] = Field(
        default=120.0, description="Mean days from return to the hearing (exponential)."
    )
    relief_share: Probability = Field(
        default=0.0,
        description="Share of hearings that grant relief (released into the US); the rest removed.",
    )
    abandon_probability_per_day: Probability = Field(
        default=0.0, description="Daily chance someone waiting under MPP gives up the hearing."
    )


class CaravanPolicy(_Strict):
    """How caravans move and how the state acts on them."""

    speed_km_per_day: Annotated[float, Field(gt=0)] = Field(
        default=20.0, description="Walking speed of a caravan (DESIGN: roughly 15-25 km a day)."
    )
    interdiction_factor: Probability = Field(
        default=0.2,
        description="Multiplier of each member's checkpoint and raid hazard while the group holds.",
    )
    dispersal_probability_per_day: Probability = Field(
        default=0.0, description="Daily chance the Guard breaks up a caravan on the move."
    )
    dispersal_detention_share: Probability = Field(
        default=0.3, description="Share of members detained when a caravan is broken up (the rest scatter)."
    )
    formation_places: list[str] = Field(
        default_factory=list, description="Southern cities where caravans may form when people pile up."
    )
    formation_threshold_persons: NonNegative | None = Field(
        default=None,
        description="Free or pending people at such a place that trigger a caravan (None: never).",
    )
    formation_share: Probability = Field(
        default=0.3, description="Share of them who leave with a caravan that forms by itself."
    )
    formation_cooldown_days: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Days after a caravan leaves a place before another can form there by itself."
    )
    target: str = Field(default="Mexico City", description="Where caravans head for before dispersing.")


class Policy(_Strict):
    """The state instruments. Events change these fields on their dates."""

    interdiction_per_100km: dict[Literal["foot", "bus", "rail", "sea", "trek"], NonNegative] = Field(
        description="Checkpoint hazard per 100 km travelled, by mode, at checkpoint intensity 1: "
        "p(caught on a link of L km) = 1 - exp(-h * L/100 * intensity)."
    )
    checkpoint_intensity: Keyed = Field(
        description="Mexican state (or 'default') -> multiplier of the checkpoint hazard on links "
        "ending in that state, and of the raid rate there."
    )
    raid_probability_per_day: Probability = Field(
        description="Daily chance a free person waiting in Mexico is caught in a raid, at intensity 1."
    )
    detention_capacity: Keyed = Field(
        default_factory=dict,
        description="Detention facility name -> capacity in persons, overriding the data.",
    )
    detention_capacity_unknown: NonNegative = Field(
        description="Capacity (persons) given to stations whose capacity no source states."
    )
    detention_overflow_max_ratio: Annotated[float, Field(ge=1)] = Field(
        description="Stated overflow rule: a station holds up to this multiple of its capacity; "
        "people caught beyond that are released on the spot with an exit order (counted)."
    )
    detention_mean_stay_days: Annotated[float, Field(gt=0)] = Field(
        description="Mean days held before an outcome (exponentially distributed)."
    )
    deportation_share: KeyedProbability = Field(
        description="Per nationality: share of the detention outcomes other than busing south that are "
        "deportations (the rest are releases with an exit order)."
    )
    bus_south_share: Probability = Field(
        description="Share of detention outcomes that are busing back to southern Mexico instead of "
        "deportation (1: nobody is deported)."
    )
    bus_south_places: dict[str, Annotated[float, Field(gt=0)]] = Field(
        description="Southern place -> weight, where people bused south are let go."
    )
    us_apprehension_probability: Probability = Field(
        description="Chance a crossing between ports ends in a US Border Patrol encounter "
        "(the rest evade and leave the system as 'us_evaded')."
    )
    us_outcome_shares: dict[str, dict[Literal["released", "removed", "expelled", "mpp"], NonNegative]] = (
        Field(
            description="Per nationality (or 'default'): relative weights of encounter outcomes: released "
            "into the US; removed to the country of origin; expelled to Mexico (Title 42: they stay at the "
            "border city and may soon try again); returned to Mexico under MPP to wait for a hearing."
        )
    )
    closed_routes: list[RouteRef] = Field(default_factory=list, description="Routes no one can use.")
    shelter_capacity: Keyed = Field(
        default_factory=dict,
        description="Place -> shelter places (persons), overriding the sum of the facilities data.",
    )
    asylum: AsylumPolicy = Field(default_factory=AsylumPolicy, description="COMAR asylum.")
    visas: VisaPolicy = Field(default_factory=VisaPolicy, description="Humanitarian visitor cards.")
    metering: MeteringPolicy = Field(default_factory=MeteringPolicy, description="Port waitlists.")
    cbp_one: CBPOnePolicy = Field(default_factory=CBPOnePolicy, description="CBP One appointments.")
    mpp: MPPPolicy = Field(default_factory=MPPPolicy, description="Remain in Mexico.")
    caravans: CaravanPolicy = Field(default_factory=CaravanPolicy, description="Caravans.")


class Event(_Strict):
    """A dated change of policy fields."""

    date: dt.date = Field(description="Day the change takes effect (before the horizon: from day 0).")
    name: str = Field(min_length=1, description="What happened.")
    source: str | None = Field(default=None, description="Where the event is documented.")
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted path inside `policy` -> new value, e.g. 'checkpoint_intensity.Chiapas: 3'.",
    )
    close_routes: list[RouteRef] = Field(default_factory=list, description="Routes closed from this date.")
    reopen_routes: list[RouteRef] = Field(default_factory=list, description="Closed routes opened again.")


class CaravanEvent(_Strict):
    """A caravan that leaves a place on a date."""

    date: dt.date = Field(description="Day it sets off.")
    name: str = Field(min_length=1, description="What it was called or reported as.")
    place: str = Field(description="Where it forms (places.csv name).")
    size_persons: Annotated[float, Field(gt=0)] = Field(
        description="Reported size; members are recruited from the free and pending people at the place, "
        "up to this number (the size reached is reported)."
    )
    target: str | None = Field(default=None, description="Where it heads (default: policy.caravans.target).")
    source: str | None = Field(default=None, description="Where it is documented.")


class Provenance(_Strict):
    """Where a parameter comes from: a source, or an assumption with its reasoning."""

    source: str | None = Field(default=None, description="Title and address of the data behind the value.")
    assumption: str | None = Field(default=None, description="Why this value, where no data give it.")

    @model_validator(mode="after")
    def _one(self) -> Provenance:
        if (self.source is None) == (self.assumption is None):
            raise ValueError("give exactly one of 'source' or 'assumption'")
        return self


#: Prior distributions a scenario may give a calibrated parameter (see :class:`Prior`).
PriorDistribution = Literal["uniform", "loguniform", "normal", "lognormal"]


class Prior(_Strict):
    """Prior distribution of one parameter, for calibration (``corridor calibrate``).

    ``uniform`` and ``loguniform`` take ``low`` and ``high`` (``loguniform``: ``low > 0``;
    uniform in the logarithm); ``normal`` takes ``mean`` and ``sd``; ``lognormal`` takes
    ``mean`` and ``sd`` of the natural logarithm of the value (its median is ``exp(mean)``).
    """

    distribution: PriorDistribution = Field(description="uniform, loguniform, normal or lognormal.")
    low: float | None = Field(default=None, description="Lower bound (uniform, loguniform).")
    high: float | None = Field(default=None, description="Upper bound (uniform, loguniform).")
    mean: float | None = Field(
        default=None, description="Mean (normal), or mean of the log of the value (lognormal)."
    )
    sd: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="Standard deviation (normal), or of the log of the value (lognormal)."
    )

    @model_validator(mode="after")
    def _parameters(self) -> Prior:
        bounded = self.distribution in ("uniform", "loguniform")
        need, other = (("low", "high"), ("mean", "sd")) if bounded else (("mean", "sd"), ("low", "high"))
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.distribution} prior needs {' and '.join(need)}")
        extra = [k for k in other if getattr(self, k) is not None]
        if extra:
            raise ValueError(
                f"a {self.distribution} prior takes {' and '.join(need)}, not {', '.join(extra)}"
            )
        if bounded:
            assert self.low is not None and self.high is not None
            if not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
            if self.distribution == "loguniform" and not self.low > 0:
                raise ValueError(f"a loguniform prior needs low > 0 (got {self.low})")
        return self

    def probe_values(self) -> list[float]:
        """Values checked against the scenario schema: the bounds, or the centre."""
        if self.distribution in ("uniform", "loguniform"):
            assert self.low is not None and self.high is not None
            return [self.low, self.high]
        assert self.mean is not None
        return [self.mean if self.distribution == "normal" else float(2.718281828459045**self.mean)]


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Scenario(_Strict):
    """A validated scenario. Build one with :func:`load_scenario` or ``Scenario.model_validate``."""

    name: str = Field(
        description="Short name: letters, digits, '.', '_' and '-' (not a path); the default output "
        "folder is runs/<name>.",
    )
    description: str = Field(default="", description="What the scenario represents.")
    horizon: Horizon = Field(description="First and last simulated day.")
    inflows: list[Inflow] = Field(min_length=1, description="Who enters Mexico, where and when.")
    inflow_multiplier: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="Multiplies every inflow (a calibration handle on their net bias)."
    )
    population: Population = Field(description="Attributes drawn for each arriving person.")
    behaviour: Behaviour = Field(description="How people decide and move (constant).")
    hazards: Hazards = Field(description="Death on the way.")
    policy: Policy = Field(description="The instruments at the start of the horizon.")
    events: list[Event] = Field(default_factory=list, description="Dated changes of the policy.")
    caravans: list[CaravanEvent] = Field(default_factory=list, description="Scheduled caravans.")
    provenance: dict[str, Provenance] = Field(
        default_factory=dict,
        description="Dotted parameter path -> source or assumption. A path covers its children.",
    )
    priors: dict[str, Prior] = Field(
        default_factory=dict,
        description="Dotted parameter path (as for --set: 'behaviour.settle_share', "
        "'policy.asylum.application_probability_per_day.default') -> prior distribution, for "
        "`corridor calibrate` (see docs/calibration.md). Each path is checked by applying the prior's "
        "bounds (or centre) as an override; the horizon cannot be calibrated. Give the reasoning "
        "behind each range in `provenance`.",
    )
    base_dir: Path | None = Field(default=None, exclude=True, description="Folder of the YAML file.")
    sha256: str | None = Field(default=None, exclude=True, description="Digest of the file and overrides.")

    @field_validator("name")
    @classmethod
    def _a_name_not_a_path(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{excerpt(value)} is not a name: use 1-100 letters, digits, '.', '_' or '-', starting "
                "with a letter or digit (no '/' or '..': the name is not a path)"
            )
        return value

    @model_validator(mode="after")
    def _priors_apply(self) -> Scenario:
        if not self.priors:
            return self
        data = self.model_dump(by_alias=True, exclude={"priors"})
        problems = []
        for path, prior in self.priors.items():
            if not path or any(not p for p in path.split(".")):
                problems.append(f"priors.{path}: not a dotted parameter path")
                continue
            if path.split(".")[0] in ("horizon", "name", "priors", "provenance"):
                problems.append(f"priors.{path}: {path.split('.')[0]} cannot be calibrated")
                continue
            for value in prior.probe_values():
                try:
                    Scenario.model_validate(apply_overrides(data, {path: value}))
                except ScenarioError as exc:
                    problems.append(f"priors.{path}: {exc.problems[0][2]}")
                    break
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = _loc_to_path(_clean_loc(first["loc"]))
                    msg = (
                        "not a scenario parameter (unknown key)"
                        if first["type"] == "extra_forbidden"
                        else f"{where}: {first['msg']}"
                    )
                    problems.append(f"priors.{path}: value {value:g} is invalid: {msg}")
                    break
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def nationalities(self) -> list[str]:
        """Nationalities in the order the inflows first name them."""
        seen: dict[str, None] = {}
        for inflow in self.inflows:
            seen.setdefault(inflow.nationality, None)
        return list(seen)

    def provenance_of(self, path: str) -> Provenance | None:
        """The provenance entry covering ``path`` (itself or its nearest parent), if any."""
        parts = path.split(".")
        for k in range(len(parts), 0, -1):
            hit = self.provenance.get(".".join(parts[:k]))
            if hit is not None:
                return hit
        return None


# --------------------------------------------------------------------------- loading


def _loc_to_path(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc)


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at ``loc``, or of its deepest existing ancestor."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(key)), None)
            if pair is None:
                return line
            # Point at the key's own line (its value may start on the next one).
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _clean_loc(loc: Sequence[int | str]) -> list[int | str]:
    # pydantic puts validator names such as 'function-after[...]' or union tags in loc.
    return [p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("float", "int", "str")))]


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``dotted.path=value``; the value is read as YAML (``3``, ``0.5``, ``[a, b]``, ``true``)."""
    if "=" not in text:
        raise ScenarioError([(text, None, "override must look like dotted.path=value")])
    path, _, raw = text.partition("=")
    path = path.strip()
    if not path or any(not p for p in path.split(".")):
        raise ScenarioError([(text, None, "override path is empty or has an empty segment")])
    if len(raw) > 10_000:
        raise ScenarioError([(path, None, f"override value of {len(raw):,} characters; at most 10,000")])
    try:
        value = parse_yaml_text(raw)[1] if raw.strip() else ""
    except ValueError as exc:
        raise ScenarioError([(path, None, f"override value {excerpt(raw)}: {exc.args[0]}")]) from None
    return path, value


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of raw scenario data with dotted-path overrides applied.

    List items are addressed by index (``events.0.date``). A missing mapping key is
    created, so that validation reports it if the schema has no such field.
    """
    import copy

    out = copy.deepcopy(data)
    for path, value in overrides.items():
        parts = path.split(".")
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ScenarioError([(where, None, f"no list item {part!r} (the list has {len(node)})")])
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                raise ScenarioError([(where, None, "cannot override inside a scalar value")])
    return out


def load_scenario(
    path: str | Path,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> Scenario:
    """Read, override and validate a scenario YAML file.

    Parameters
    ----------
    path : path
        The YAML file.
    overrides : mapping or list of str, optional
        ``{"policy.bus_south_share": 0.5}`` or ``["policy.bus_south_share=0.5"]``.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Listing every problem with its YAML path, line and what was expected.
    """
    file = Path(path)
    text, root, data = _read_yaml(file)
    digest = hashlib.sha256(text.encode())
    folder = file.resolve().parent
    if "base" in data:
        data, base_file, base_text = _apply_variant(file, data)
        digest.update(base_text.encode())
        folder = base_file.parent  # the base's data files are relative to it
        root = None  # line numbers would point into two files; paths still name the field

    if overrides is None:
        pairs: dict[str, Any] = {}
    elif isinstance(overrides, Mapping):
        pairs = dict(overrides)
    else:
        pairs = dict(parse_override(o) for o in overrides)
    data = apply_overrides(data, pairs)
    for key in sorted(pairs):
        digest.update(f"\n{key}={pairs[key]!r}".encode())
    data["base_dir"] = folder
    data["sha256"] = digest.hexdigest()
    return validate_data(data, root=root, source=str(file), overridden=set(pairs))


#: Limits on a YAML document, checked before anything is built from it, so that a malformed or
#: hostile file fails at once with a clear error instead of exhausting memory: the shipped
#: scenarios are under 20 KB with under 1,000 nodes and 7 levels of nesting.
MAX_YAML_BYTES = 1_000_000
MAX_YAML_NODES = 100_000
MAX_YAML_DEPTH = 40


def _check_unique_keys(node: yaml.MappingNode) -> None:
    """A key given twice in one mapping is an error: YAML readers would keep the last silently."""
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode):
            line = key.start_mark.line + 1
            if key.value in seen:
                raise ValueError(
                    f"key {excerpt(key.value)} given twice (lines {seen[key.value]} and {line})", line
                )
            seen[key.value] = line


def _node_shape(root: yaml.Node) -> tuple[int, int]:
    """(nodes, depth) of a composed YAML tree with every alias expanded, without expanding it.

    Aliases make the tree a graph whose expansion can be exponentially large (the "billion
    laughs"); sizes are summed over the graph with memoisation, iteratively (no recursion),
    and the count stops growing past the limit. A recursive alias, or a key given twice in
    one mapping, raises ValueError.
    """
    size: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in size and not expanded:
            continue
        children: list[yaml.Node]
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if not expanded:
            if key in on_path:
                raise ValueError("a recursive alias (a value that contains itself)")
            if isinstance(node, yaml.MappingNode):
                _check_unique_keys(node)
            on_path.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        on_path.discard(key)
        total = 1 + sum(size[id(c)][0] for c in children)
        depth = 1 + max((size[id(c)][1] for c in children), default=0)
        size[key] = (min(total, MAX_YAML_NODES + 1), depth)
    return size[id(root)]


def _yaml_problem(exc: yaml.YAMLError) -> ValueError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ValueError(f"not valid YAML: {problem}", mark.line + 1 if mark else None)


def _check_nesting(text: str) -> None:
    """Refuse deep nesting from the parser's events, before the (recursive) composer sees it."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    raise ValueError(f"nested more than {MAX_YAML_DEPTH} levels deep", line)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc) from None


def parse_yaml_text(text: str) -> tuple[yaml.Node | None, Any]:
    """Node tree and data of a YAML text, refusing documents past the size limits.

    Raises
    ------
    ValueError
        With a message saying what is wrong and, for a syntax error, the 1-based line as
        ``args[1]`` (or None).
    """
    _check_nesting(text)
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()  # _check_nesting bounds its recursion
        except yaml.YAMLError as exc:
            raise _yaml_problem(exc) from None
        if root is None:
            return None, None
        nodes, depth = _node_shape(root)
        if nodes > MAX_YAML_NODES:
            raise ValueError(
                f"expands to more than {MAX_YAML_NODES:,} values (aliases repeated within aliases?); "
                "a scenario is far smaller",
                None,
            )
        if depth > MAX_YAML_DEPTH:
            raise ValueError(f"nested more than {MAX_YAML_DEPTH} levels deep", None)
        try:
            data = loader.construct_document(root)
        except yaml.YAMLError as exc:
            raise _yaml_problem(exc) from None
        return root, data
    finally:
        loader.dispose()


def _read_yaml(
    file: Path, field: str = "", source: Path | None = None
) -> tuple[str, yaml.Node | None, dict[str, Any]]:
    """Text, node tree and data of a YAML mapping file, or a ScenarioError naming the file.

    ``field`` and ``source`` name where the file was referred to (``base`` of a variant).
    """
    where = f"{field}: {file}" if field else ""
    try:
        text = read_text(file, MAX_YAML_BYTES, "a YAML scenario", "UTF-8 YAML text")
    except TextFileError as exc:  # the message names the file
        raise ScenarioError([(field, None, str(exc))], str(source or file)) from None
    try:
        root, data = parse_yaml_text(text)
    except ValueError as exc:
        line = exc.args[1] if len(exc.args) > 1 and not field else None
        raise ScenarioError([(where, line, str(exc.args[0]))], str(source or file)) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            [(where, None if field else 1, "expected a mapping of scenario sections at the top level")],
            str(source or file),
        )
    return text, root, data


#: Keys of a variant file (one with ``base:``); everything else must be a scenario field.
VARIANT_KEYS = ("base", "changes", "drop_events", "add_events")


def _apply_variant(file: Path, variant: dict[str, Any]) -> tuple[dict[str, Any], Path, str]:
    """Merge a variant file into its base: ``changes`` (dotted paths), dropped and added events.

    A variant names its ``base`` scenario (a path relative to the variant), and may replace
    top-level fields such as ``name`` and ``description``. Used for counterfactuals.
    """
    name = variant["base"]
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError([("base", None, "expected the path of a scenario file (.yaml)")], str(file))
    base_file = (file.parent / name).resolve()
    # Check that it is a scenario before reading it, and never quote its content: an error
    # about a file that is not a scenario must not print that file's lines.
    if base_file.suffix.lower() not in (".yaml", ".yml"):
        raise ScenarioError([("base", None, f"{base_file}: not a .yaml or .yml scenario file")], str(file))
    if not base_file.exists():
        raise ScenarioError([("base", None, f"no such scenario file {base_file}")], str(file))
    base_text, _, base = _read_yaml(base_file, "base", file)
    if "base" in base:
        raise ScenarioError([("base", None, "a base scenario cannot itself have a base")], str(file))
    sections = {f.alias or n for n, f in Scenario.model_fields.items() if not f.exclude}
    strangers = [k for k in base if k not in sections and k != "base"]
    missing = [k for k in ("name", "horizon", "inflows") if k not in base]
    if strangers or missing:
        raise ScenarioError(
            [
                (
                    "base",
                    None,
                    f"{base_file} is not a corridor scenario ("
                    + (f"{len(strangers)} top-level keys are not scenario sections" if strangers else "")
                    + ("; " if strangers and missing else "")
                    + (f"no {', '.join(missing)}" if missing else "")
                    + ")",
                )
            ],
            str(file),
        )
    changes = variant.get("changes") or {}
    drop = variant.get("drop_events") or []
    add = variant.get("add_events") or []
    if not isinstance(changes, dict):
        raise ScenarioError([("changes", None, "expected a mapping of dotted.path: value")], str(file))
    if not isinstance(drop, list) or not isinstance(add, list):
        raise ScenarioError([("drop_events", None, "expected lists of event names / events")], str(file))
    events = list(base.get("events") or [])
    names = [e.get("name") for e in events if isinstance(e, dict)]
    unknown = [d for d in drop if d not in names]
    if unknown:
        raise ScenarioError(
            [
                (f"drop_events.{drop.index(u)}", None, f"no event named {u!r} in {base_file.name}")
                for u in unknown
            ],
            str(file),
        )
    merged = {k: v for k, v in base.items() if k != "events"}
    merged["events"] = [e for e in events if e.get("name") not in drop] + add
    merged.update({k: v for k, v in variant.items() if k not in VARIANT_KEYS})
    return apply_overrides(merged, {str(k): v for k, v in changes.items()}), base_file, base_text


def validate_data(
    data: Mapping[str, Any],
    root: yaml.Node | None = None,
    source: str = "",
    overridden: set[str] | None = None,
) -> Scenario:
    """Validate raw scenario data (a dict as read from YAML) into a Scenario."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _clean_loc(err["loc"])
            # Keys are quoted short: a key may be anything (a line of a file that is no scenario).
            dotted = _loc_to_path([p if isinstance(p, int) or len(p) <= 40 else excerpt(p) for p in loc])
            line = (
                None if overridden and any(dotted.startswith(o) for o in overridden) else _line_of(root, loc)
            )
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see docs/scenarios.md for the fields)"
            elif err["type"] == "missing":
                msg = "required field missing"
            inp = err.get("input")
            if err["type"] not in ("missing", "extra_forbidden") and not isinstance(inp, dict | list):
                msg += f" (got {excerpt(inp, 60)})"
            problems.append((dotted, line, msg))
        raise ScenarioError(problems, source) from None


def _type_name(tp: Any) -> str:
    """A readable name for a field's type annotation."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, types.UnionType):
        return " | ".join("None" if a is type(None) else _type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type_name(a) for a in args)}]"
    return str(getattr(tp, "__name__", tp))


def fields_reference() -> str:
    """The scenario fields as Markdown tables (docs/scenarios.md embeds this text)."""
    sections: list[tuple[str, type[BaseModel]]] = [
        ("top level", Scenario),
        ("horizon", Horizon),
        ("inflows[]", Inflow),
        ("population", Population),
        ("behaviour", Behaviour),
        ("hazards", Hazards),
        ("policy", Policy),
        ("events[]", Event),
        ("caravans[]", CaravanEvent),
        ("policy.asylum", AsylumPolicy),
        ("policy.asylum.offices[]", AsylumOffice),
        ("policy.visas", VisaPolicy),
        ("policy.metering", MeteringPolicy),
        ("policy.cbp_one", CBPOnePolicy),
        ("policy.mpp", MPPPolicy),
        ("policy.caravans", CaravanPolicy),
        ("route reference (closed_routes[], close_routes[], reopen_routes[])", RouteRef),
        ("provenance.<path>", Provenance),
        ("priors.<path>", Prior),
    ]
    out = []
    for title, model in sections:
        out.append(f"### `{title}`\n\n| field | type | required | meaning |\n|---|---|---|---|")
        for name, info in model.model_fields.items():
            if info.exclude:
                continue
            shown = info.alias or name
            required = "yes" if info.is_required() else "no"
            desc = (info.description or "").replace("|", "\\|")
            kind = _type_name(info.annotation).replace("|", "\\|")
            out.append(f"| `{shown}` | `{kind}` | {required} | {desc} |")
        out.append("")
    return "\n".join(out)
