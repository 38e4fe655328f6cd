"""The field reference of ``docs/scenarios.md``, generated from the models."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
)

from corridor.scenario.base import RouteRef
from corridor.scenario.instruments import (
    AsylumOffice,
    AsylumPolicy,
    CaravanPolicy,
    CBPOnePolicy,
    MeteringPolicy,
    MPPPolicy,
    Policy,
    VisaPolicy,
)
from corridor.scenario.schema import (
    Behaviour,
    CaravanEvent,
    Event,
    Hazards,
    Horizon,
    Inflow,
    Population,
    Prior,
    Provenance,
    Scenario,
)


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
