"""Where and who an observed row is about: places and nationalities of the run."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from corridor.errors import EvidenceError
from corridor.geography import Network
from corridor.metrics import Results

if TYPE_CHECKING:
    from corridor.observations.mapping import Rule


_MEXICO_NAMES = frozenset({"mexico"})
_US_BORDER_NAMES = frozenset(
    {
        "us southwest land border",
        "us southwest land border (mexican border cities)",
        "mexico northern border",
        "us-mexico border",
    }
)
#: Two-letter codes used in breakdowns such as ``nationality=GT+HN+SV+NI``.
NATIONALITY_CODES: dict[str, str] = {
    "GT": "Guatemala",
    "HN": "Honduras",
    "SV": "El Salvador",
    "NI": "Nicaragua",
    "CU": "Cuba",
    "VE": "Venezuela",
    "EC": "Ecuador",
    "CO": "Colombia",
    "HT": "Haiti",
    "MX": "Mexico",
}


def parse_breakdown(text: str) -> tuple[dict[str, str], list[str]]:
    """Split a breakdown (``state=Chiapas; nationality=Cuba``) into key=value pairs and
    qualifiers without ``=`` (``cumulative``, ``all cities (12)``)."""
    dims: dict[str, str] = {}
    qualifiers: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            key, value = part.split("=", 1)
            dims[key.strip().lower()] = value.strip()
        else:
            qualifiers.append(part)
    return dims, qualifiers


def _nationality_label(breakdown: str) -> str:
    dims, _ = parse_breakdown(breakdown)
    return dims.get("citizenship") or dims.get("nationality") or "all"


# ------------------------------------------------------------------------- aggregation
def _norm(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().split())


@dataclass(frozen=True)
class _Places:
    """Per simulated place: name, kind, state, country (from the run and the network)."""

    names: list[str]
    kinds: npt.NDArray[np.str_]
    states: npt.NDArray[np.str_]
    countries: npt.NDArray[np.str_]
    known_states: frozenset[str] = frozenset()  #: normalised Mexican states of the network
    known_places: frozenset[str] = frozenset()  #: normalised place names of the network

    @classmethod
    def of(cls, results: Results, network: Network) -> _Places:
        index = {n: i for i, n in enumerate(network.place_names)}
        ids = [index.get(p) for p in results.places]
        kinds = list(results.place_kinds) or [
            str(network.place_kind[i]) if i is not None else "" for i in ids
        ]
        mx_states = [
            str(s) for s, c in zip(network.place_state, network.place_country, strict=True) if c == "MX"
        ]
        return cls(
            names=list(results.places),
            kinds=np.array(kinds, dtype=str),
            states=np.array([str(network.place_state[i]) if i is not None else "" for i in ids], dtype=str),
            countries=np.array(
                [str(network.place_country[i]) if i is not None else "" for i in ids], dtype=str
            ),
            known_states=frozenset(_norm(s) for s in mx_states),
            known_places=frozenset(_norm(n) for n in network.place_names),
        )

    def mexico(self) -> npt.NDArray[np.intp]:
        # Every place but the US ports: people caught on the first leg of the road are
        # attributed to the Guatemalan or Belizean crossing they last left.
        return np.flatnonzero((self.kinds != "us_port_of_entry") & (self.countries != "US"))

    def us_border(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.kinds == "northern_border_city")

    def _place(self, key: str, name: str) -> tuple[npt.NDArray[np.intp], str] | None:
        for i, place in enumerate(self.names):
            if _norm(place) == key:
                return np.array([i], dtype=np.intp), place
        if key in self.known_places:  # a place of the network that this run lacks
            return np.array([], dtype=np.intp), name
        return None

    def _state(self, key: str, name: str) -> tuple[npt.NDArray[np.intp], str] | None:
        states = np.array([_norm(s) for s in self.states], dtype=str)
        hit = np.flatnonzero((states == key) & (self.countries != "US"))
        if hit.size:
            return hit, f"state {self.states[hit[0]]}"
        if key in self.known_states:  # a state of the network with no place in this run
            return np.array([], dtype=np.intp), f"state {name}"
        return None

    def lookup(self, name: str, state_first: bool = False) -> tuple[npt.NDArray[np.intp], str] | None:
        """The places ``name`` denotes: all of Mexico, the US border, a place or a Mexican
        state (a state first when ``state_first``: ``Oaxaca`` is both); None if unknown."""
        key = _norm(name)
        if not key:
            return None
        if key in _MEXICO_NAMES:
            return self.mexico(), "Mexico"
        if key in _US_BORDER_NAMES:
            return self.us_border(), "US border (northern border cities)"
        order = (self._state, self._place) if state_first else (self._place, self._state)
        for find in order:
            found = find(key, name.strip())
            if found is not None:
                return found
        return None


class _Skip(EvidenceError):
    """An observed row that cannot be compared (the message is the reason)."""


def _geography_candidates(geography: str) -> list[tuple[str, bool]]:
    """Names to try for a geography text, each with whether a state comes first."""
    text = geography.strip()
    out = [(text, False)]
    if text.lower().startswith("mexico - "):
        out.append((text[len("mexico - ") :], True))  # "Mexico - Chiapas": a state or an office
    out += [(text.split(sep)[0], False) for sep in ("(", ",", "/")]
    return [(c.strip(), first) for c, first in out if c.strip()]


def _resolve_places(
    rule: Rule, geography: str, breakdown: str, places: _Places
) -> tuple[npt.NDArray[np.intp], str]:
    if rule.where == "mexico":
        found: tuple[npt.NDArray[np.intp], str] | None = (places.mexico(), "Mexico")
    elif rule.where == "us_border":
        found = (places.us_border(), "US border (northern border cities)")
    else:
        dims, _ = parse_breakdown(breakdown)
        named = [(dims[k], k == "state") for k in ("city", "place", "office", "state") if k in dims]
        found = None
        for candidate, state_first in named or _geography_candidates(geography):
            found = places.lookup(candidate, state_first)
            if found is not None:
                break
        if found is None:
            what = named[0][0] if named else geography
            raise _Skip(f"geography {what!r} is not a simulated place, Mexican state or border")
    assert found is not None
    idx, label = found
    if idx.size == 0:
        raise _Skip(f"no simulated place in {label}")
    return idx, label


def _resolve_nationalities(
    rule: Rule, breakdown: str, simulated: Sequence[str]
) -> tuple[npt.NDArray[np.intp], str]:
    index = {n: i for i, n in enumerate(simulated)}
    if rule.nationalities is not None:
        missing = [n for n in rule.nationalities if n not in index]
        if missing:
            raise _Skip(f"nationality {missing[0]!r} is not simulated in this scenario")
        return np.array([index[n] for n in rule.nationalities], dtype=np.intp), "+".join(rule.nationalities)
    label = _nationality_label(breakdown)
    if label == "all":
        return np.arange(len(simulated), dtype=np.intp), "all"
    other = re.fullmatch(r"other \(not ([A-Za-z/ ]+)\)", label, flags=re.I)
    if other:
        excluded = {NATIONALITY_CODES.get(c.strip().upper(), c.strip()) for c in other.group(1).split("/")}
        kept = [i for i, n in enumerate(simulated) if n not in excluded]
        if not kept:
            raise _Skip(f"no simulated nationality in {label!r}")
        return np.array(kept, dtype=np.intp), label
    if _norm(label) == "other":
        raise _Skip("an observed 'Other' groups different nationalities than the simulated 'Other'")
    names = [NATIONALITY_CODES.get(p.strip().upper(), p.strip()) for p in label.split("+")]
    for n in names:
        if n == "Mexico":
            raise _Skip("Mexican nationals are not simulated")
        if n not in index:
            raise _Skip(f"nationality {n!r} is not simulated separately in this scenario")
    return np.array([index[n] for n in names], dtype=np.intp), "+".join(names)
