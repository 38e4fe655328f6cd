"""What every scenario model shares: strict frozen models, number checks, keyed values, route references."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from corridor.errors import excerpt

DEFAULT = "default"
NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
#: A value per key (nationality, Mexican state, place...) with an optional ``default``.
Keyed = dict[str, NonNegative]
KeyedProbability = dict[str, Probability]


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
