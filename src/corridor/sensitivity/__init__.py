"""Global sensitivity analysis: which uncertain parameters move which outcomes (SALib).

:func:`run_sensitivity` draws parameter values over their ranges (Morris trajectories by
default, Saltelli samples for Sobol indices), runs the scenario once per draw with the same
seed and a small number of agents, and analyses the main outcomes of each run
(:func:`corridor.report.outcome_totals`: flows over the horizon, stocks at its end)::

    from corridor.sensitivity import parse_param, run_sensitivity, write_sensitivity

    result = run_sensitivity("scenarios/mexico-2019.yaml", trajectories=6, agents=20_000)
    result.scores()                      # parameter x outcome, the ranking score
    write_sensitivity(result, "runs/mexico-2019-sensitivity")

Parameters
    A :class:`Parameter` is a dotted scenario path and a range. A plain path
    (``policy.us_apprehension_probability``) takes the drawn value. A path ending in ``*``
    (``policy.interdiction_per_100km*``) is a multiplier: every number at or under that path is
    multiplied by the drawn factor, in the scenario and in the events that set it later
    (``policy.raid_probability_per_day*`` also scales the June 2019 raid rate). Without
    parameters, :func:`default_parameters` takes the scenario's assumed scalar parameters
    (see :data:`DEFAULT_CANDIDATES`) over x0.5 to x2 their value.

Scores
    Morris: ``score = mu_star * sd(parameter) / sd(outcome)``, both standard deviations over the
    sample, the parameter's on its unit scale (about 0.37 on Morris' 4-level grid).
    ``mu_star`` is the mean absolute elementary effect, in the outcome's units for a move across
    the parameter's whole range; the score turns it into the outcome's change per standard
    deviation of the parameter, in standard deviations of the outcome, so that outcomes of
    different sizes compare: about 1 for a parameter that alone drives the outcome, 0 for none,
    and, when effects are linear and add up, its square is the parameter's share of the
    outcome's variance (a first-order Sobol index). ``mu_star_rel`` is ``mu_star / |baseline|``,
    the baseline being the scenario as is with the same seed. Sobol: ``score = ST``, the
    total-order index (the share of the outcome's variance that goes with the parameter,
    interactions included). Outcomes constant over the sample score 0.

Every evaluation uses the same seed (common random numbers), so differences between runs
come from the parameters and from the different paths random draws take once a parameter
changes a decision; with few agents the latter adds noise to the smaller effects. To tell
such noise from an effect, the baseline is also run with ``replicates`` other seeds:
``seed_sd`` is the outcome's standard deviation over those seeds, and ``mu_star_noise`` the
``mu_star`` that seed noise alone would give a parameter without effect
(``E|e1 - e2| / delta = 2 seed_sd / (sqrt(pi) delta)``, ``delta = 2/3`` on Morris' 4-level
grid); parameters whose ``mu_star`` is below it are not told apart from no effect
(``above_noise`` False). A parameter that changes no decision at all leaves every random
draw as it was and gets exactly 0.
"""

from __future__ import annotations

from corridor.errors import SensitivityError
from corridor.sensitivity.analysis import SensitivityResult, evaluations_needed, run_sensitivity
from corridor.sensitivity.evaluation import DEFAULT_AGENTS
from corridor.sensitivity.outputs import sensitivity_html, write_sensitivity
from corridor.sensitivity.parameters import (
    DEFAULT_CANDIDATES,
    Parameter,
    check_parameters,
    default_parameters,
    parameter_overrides,
    parse_param,
)

__all__ = [
    "DEFAULT_AGENTS",
    "DEFAULT_CANDIDATES",
    "Parameter",
    "SensitivityError",
    "SensitivityResult",
    "check_parameters",
    "default_parameters",
    "evaluations_needed",
    "parameter_overrides",
    "parse_param",
    "run_sensitivity",
    "sensitivity_html",
    "write_sensitivity",
]
