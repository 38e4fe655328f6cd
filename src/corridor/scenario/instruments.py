"""The state's instruments: asylum, visas, metering, CBP One, MPP, caravans, and the policy."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    Field,
)

from corridor.scenario.base import (
    DEFAULT,
    Keyed,
    KeyedProbability,
    NonNegative,
    Probability,
    RouteRef,
    _Strict,
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

    @property
    def issuing(self) -> bool:
        """Whether cards are issued at all: the window open and a capacity above 0."""
        return self.window_open and self.issued_per_day > 0


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
        description="Mean days held before an outcome (exponentially distributed); people waiting "
        "for a seat on a southbound bus stay longer (see bus_south_seats_per_day)."
    )
    detention_transfer_max_km: NonNegative = Field(
        default=0.0,
        description="People caught beyond the room of the nearest open station are transferred to "
        "the next nearest stations with room, up to this road or rail distance (km) from where they "
        "were caught (counted as detention_transfers); only those for whom no station within reach "
        "has room are released. 0: no transfers.",
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
    bus_south_seats_per_day: NonNegative | None = Field(
        default=None,
        description="Seats a day on southbound buses, nationwide (persons). People due to be bused "
        "beyond them stay detained until a seat is free (oldest first); none: unlimited.",
    )
    overflow_bus_south_share: Probability = Field(
        default=0.0,
        description="Of the people caught beyond every station's room within reach, the share put "
        "straight on southbound buses from holding sites (within the seats left that day) instead of "
        "being released on the spot with an exit order.",
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
    legal_pathways: list[str] = Field(
        default_factory=list,
        description="Nationalities with an open legal pathway to the US that an irregular crossing "
        "forfeits (a parole process by air, as for Venezuelans from October 2022 and Cubans, Haitians "
        "and Nicaraguans from January 2023). A share behaviour.legal_pathway_uptake of their people "
        "take it instead of the corridor: fewer set out (demand_response.lag_days later) and fewer "
        "cross between ports (they wait at the border city). Empty: none.",
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
