"""The scenario: horizon, inflow and demand, population, behaviour, hazards, events, provenance, priors."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from corridor.errors import ScenarioError, excerpt
from corridor.scenario.base import Keyed, KeyedProbability, NonNegative, Probability, RouteRef, _Strict
from corridor.scenario.instruments import Policy
from corridor.scenario.paths import apply_overrides, event_set_key
from corridor.scenario.problems import _clean_loc, _loc_to_path

#: Longest horizon: the engine keeps days in 16-bit counters, and no observed series is longer.
MAX_HORIZON_DAYS = 10_000


class Horizon(_Strict):
    """Simulated dates, both inclusive."""

    start: dt.date = Field(description="First simulated day (YYYY-MM-DD).")
    end: dt.date = Field(description="Last simulated day, inclusive.")
    spin_up_days: Annotated[int, Field(ge=0)] = Field(
        default=0,
        description="First days simulated only so that later ones do not start empty (people already "
        "on the way): never compared with observed data, and marked in reports.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.spin_up_days >= self.days:
            raise ValueError(f"spin_up_days {self.spin_up_days} leaves no day of the {self.days}-day horizon")
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

#: Rules deriving an inflow (see :mod:`corridor.observations.inflows` and docs/model.md, "Demand").
DerivedInflowRule = Literal["us_encounters_next_month", "upstream_entries", "latent"]
#: Upstream counts ``upstream_entries`` may read: Honduras' registered irregular entries and
#: Panama's count of Darien crossings (see :mod:`corridor.observations.inflows`).
UpstreamCount = Literal["honduras", "darien"]


def _honduras_only() -> list[UpstreamCount]:
    return ["honduras"]


class Demand(_Strict):
    """Latent demand of one nationality, for ``derived: latent``: persons setting out per month.

    persons(m) = level x exp(trend x years since the horizon start)
    x (1 + amplitude x cos(2 pi (month - peak) / 12)), where years are whole months since the
    horizon's first month over 12 and month is the calendar month (1-12). No data are read.
    """

    level_persons_per_month: Annotated[float, Field(gt=0)] = Field(
        description="Persons entering Mexico per month at the horizon's first month, before the season."
    )
    trend_per_year: Annotated[float, Field(ge=-5, le=5)] = Field(
        default=0.0,
        description="Continuous growth rate per year, -5 to 5 (0.1: about +10% a year; negative: "
        "decline), counted from the horizon's first month.",
    )
    seasonal_amplitude: Annotated[float, Field(ge=0, le=0.9)] = Field(
        default=0.0, description="Relative size of the yearly season (0: none; 0.3: +-30%)."
    )
    seasonal_peak_month: Annotated[float, Field(ge=1, le=12)] = Field(
        default=4.0,
        description="Calendar month of the seasonal peak (1-12; fractional values, as calibration "
        "draws them, fall between months).",
    )


#: Policy fields that may make the enforcement index (see :class:`DemandResponse`).
IndexField = Literal["checkpoint_intensity", "bus_south_share"]


def _default_index() -> list[IndexField]:
    return ["checkpoint_intensity", "bus_south_share"]


class DemandResponse(_Strict):
    """Deterrence: fewer people set out when enforcement in Mexico rises, learnt with a lag."""

    elasticity: NonNegative = Field(
        default=0.0,
        description="Each day's arrivals of every inflow are multiplied by (index(day - lag_days) "
        "/ index(first day)) ** -elasticity, the index being the enforcement index of "
        "docs/model.md ('Demand'): a 10% higher index, about elasticity x 10% fewer arrivals; the "
        "index must stay above 0. 0 (the default): no deterrence.",
    )
    lag_days: Annotated[int, Field(ge=0, le=MAX_HORIZON_DAYS)] = Field(
        default=30,
        description="Days between a change of enforcement and its effect on departures (people "
        "learn of it from those ahead of them). Days before the horizon have the first day's index.",
    )
    index: list[IndexField] = Field(
        default_factory=_default_index,
        min_length=1,
        description="Policy fields whose product makes the enforcement index of a day: "
        "'checkpoint_intensity' (its mean over Mexican states; it scales checkpoints and raids) and "
        "'bus_south_share' (as 1 + share). A pure function of the policy timeline.",
    )

    @field_validator("index")
    @classmethod
    def _once_each(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("name each policy field once")
        return v


class Inflow(_Strict):
    """People entering Mexico: one nationality, split over entry places.

    Exactly one of ``persons_per_day``, ``monthly_persons``, ``file`` or ``derived`` gives the rate.
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
    derived: DerivedInflowRule | None = Field(
        default=None,
        description="Derive the monthly inflow by a rule (docs/model.md, 'Demand'). Rules reading the "
        "observed data shipped with corridor read only periods that end before the scenario's "
        "inputs_cutoff (upstream_known_until for upstream series); months after take the last "
        "derived month ('upstream_entries': the counts' latest month, unlagged). "
        "'upstream_entries': upstream_share x the upstream count of the "
        "nationality in the month (Honduras' irregular entries, no lag, and/or Panama's Darien "
        "crossings, lagged: see 'upstream'; 'Other': the total minus every other nationality "
        "listed). 'latent': the demand model of the 'demand' field, no data read. "
        "'us_encounters_next_month' (corridor 0.1's rule, reads outcomes): US Border Patrol "
        "encounters of the nationality in the next month plus Mexico's events of the nationality in "
        "the month (see docs/backtest.md).",
    )
    upstream: list[UpstreamCount] = Field(
        default_factory=_honduras_only,
        min_length=1,
        description="For derived: upstream_entries, the upstream counts read: 'honduras' (Honduras' "
        "registered irregular entries, same month) and/or 'darien' (Panama's Darien crossings, "
        "moved later by the days from the Darien to Mexico). With both, each month takes the larger "
        "count: each misses part of the flow (see docs/model.md, 'Demand').",
    )
    until: dt.date | None = Field(
        default=None,
        description="Last day of this inflow: none arrive after it (a dated policy, such as a visa "
        "requirement that closes a route from the next day). Unset: the whole horizon.",
    )
    upstream_share: Annotated[float, Field(gt=0)] = Field(
        default=1.0,
        description="For derived: upstream_entries, persons entering Mexico per irregular entry "
        "registered in Honduras (a calibration handle: registrations are not persons, and not every "
        "one is counted). Only with that rule.",
    )
    demand: Demand | None = Field(
        default=None,
        description="For derived: latent (and only then): the demand model, with "
        "`level_persons_per_month`, `trend_per_year`, `seasonal_amplitude` and `seasonal_peak_month` "
        "(see docs/scenarios.md, 'Demand').",
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

    @field_validator("upstream_share")
    @classmethod
    def _share_of_upstream(cls, v: float, info: ValidationInfo) -> float:
        if v != 1.0 and "derived" in info.data and info.data["derived"] != "upstream_entries":
            raise ValueError("upstream_share applies only to derived: upstream_entries")
        return v

    @field_validator("upstream")
    @classmethod
    def _upstream_of_entries(cls, v: list[str], info: ValidationInfo) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("name each upstream count once")
        if v != ["honduras"] and "derived" in info.data and info.data["derived"] != "upstream_entries":
            raise ValueError("upstream applies only to derived: upstream_entries")
        return v

    @field_validator("demand")
    @classmethod
    def _demand_of_latent(cls, v: Demand | None, info: ValidationInfo) -> Demand | None:
        latent = info.data.get("derived") == "latent"
        if latent and v is None:
            raise ValueError(
                "derived: latent needs a demand section (level_persons_per_month, and optionally "
                "trend_per_year, seasonal_amplitude, seasonal_peak_month)"
            )
        if v is not None and not latent and "derived" in info.data:
            raise ValueError("demand applies only to derived: latent")
        return v

    @model_validator(mode="after")
    def _one_rate(self) -> Inflow:
        rates = ("persons_per_day", "monthly_persons", "file", "derived")
        given = [k for k in rates if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of persons_per_day, monthly_persons, file, derived "
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
    rest_days_after_bus_south: Annotated[int, Field(ge=0)] = Field(
        default=0,
        description="Days a person let go in the south after busing waits before setting out again "
        "(money and papers lost, waiting for funds): part of how long the way back takes.",
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
    expelled_retry_probability: Probability = Field(
        default=1.0,
        description="Chance a group expelled to Mexico (Title 42) stays at the border city to cross "
        "again; the others go home (exit returned_home) and may come back later with the re-entry "
        "probability.",
    )
    legal_pathway_uptake: Probability = Field(
        default=0.0,
        description="Share of the people of a nationality with an open legal pathway "
        "(policy.legal_pathways) who take it instead of the corridor: it multiplies their arrivals by "
        "1 - uptake (demand_response.lag_days after it opens, plus darien_lag_days for inflows reading "
        "the Darien count; observed months of data-derived inflows "
        "keep their counts, and the days past the data move with the change since the last observed "
        "day), and of those who entered Mexico before that, this share (per group, lasting) "
        "stop crossing between ports while it is open. 0 (the default): pathways change nothing. "
        "docs/model.md, 'Legal pathways', gives the limits of this form.",
    )
    interdiction_factor: Keyed = Field(
        default_factory=lambda: {"default": 1.0},
        description="Per nationality: multiplier of the checkpoint hazard and of the raid rate (how its "
        "people travel, paying for transport, with papers or smugglers, makes them more or less often "
        "caught). Nationalities not listed (and without a 'default'): 1, as everyone. Fitted per "
        "nationality by a backtest's pilot.",
    )

    @field_validator("interdiction_factor")
    @classmethod
    def _unlisted_as_everyone(cls, v: dict[str, float]) -> dict[str, float]:
        return {"default": 1.0, **v}


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
    inputs_cutoff: dt.date | None = Field(
        default=None,
        description="Inputs derived from observed data (inflows with 'derived') read only periods ending "
        "before this day, as a forecast made on it would. Default: the held-out date, 2023-12-01.",
    )
    upstream_known_until: dt.date | None = Field(
        default=None,
        description="Upstream series (Honduras' irregular entries, Darien crossings: inputs, never "
        "outcomes) are read for periods ending before this day, even past inputs_cutoff: a forecast "
        "given the observed upstream inflows (2024-07-01 reads them through June 2024). Default: "
        "inputs_cutoff. Outcome series are still cut at inputs_cutoff.",
    )
    policy_frozen_from: dt.date | None = Field(
        default=None,
        description="Events dated on or after this day are not applied (they are still checked): the "
        "policy stays as it stood the day before, the counterfactual 'no policy change from this day'. "
        "To compare with the scenario itself, give both runs the same scale (persons per agent): "
        "chosen from agents, it follows the whole horizon's arrivals, which the frozen events change, "
        "and the runs would then differ from the first day. Caravans are not events: they stay.",
    )
    darien_lag_days: NonNegative = Field(
        default=14.0,
        description="Days from crossing the Darien to entering Mexico: upstream_entries reading "
        "'darien' moves Panama's monthly counts this many days later (an assumption: about 2,500 km "
        "by bus through Costa Rica, Nicaragua, Honduras and Guatemala, with stops and waits for "
        "money, one to three weeks).",
    )
    demand_response: DemandResponse = Field(
        default_factory=DemandResponse,
        description="Deterrence: `elasticity` (>= 0; 0, the default, is off), `lag_days` (default 30) "
        "and `index` (the policy fields of the enforcement index); see docs/scenarios.md, 'Demand'.",
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
            unset = _not_set_by_its_event(data, path)
            if unset:
                problems.append(f"priors.{path}: {unset}")
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

    def event_applies(self, event: Event) -> bool:
        """Whether a run applies ``event``: dated before ``policy_frozen_from`` (always without
        it). (Events after the horizon are left to the timeline.)"""
        return self.policy_frozen_from is None or event.date < self.policy_frozen_from

    @property
    def applied_events(self) -> list[Event]:
        """The events a run applies (:meth:`event_applies`), in the file's order."""
        return [e for e in self.events if self.event_applies(e)]

    def provenance_of(self, path: str) -> Provenance | None:
        """The provenance entry covering ``path`` (itself or its nearest parent), if any."""
        parts = path.split(".")
        for k in range(len(parts), 0, -1):
            hit = self.provenance.get(".".join(parts[:k]))
            if hit is not None:
                return hit
        return None


def _not_set_by_its_event(data: dict[str, Any], path: str) -> str | None:
    """Why a prior's path into an event's ``set`` names nothing that event sets, or None.

    A prior varies a value an event sets; a path to a key the event does not set (a typo such
    as ``events.29.set.cbp_one.uptake.defualt``) would otherwise load and only fail, or add a
    new change, when the timeline is compiled."""
    named = event_set_key(data, path)
    if named is None:
        return None
    index, key = named
    events = data.get("events") or []
    if index >= len(events):
        return f"no event {index} (the scenario has {len(events)})"
    sets = [str(k) for k in (events[index].get("set") or {})]
    if key in sets:
        return None
    listed = ", ".join(sets) if sets else "nothing"
    name = events[index].get("name")
    why = "a prior varies a value the event sets"
    return f"event {index} ({name!r}) does not set {key!r}: {why} (it sets {listed})"
