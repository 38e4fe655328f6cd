"""Reports: main outcomes by month, comparisons of scenarios over seeds, HTML plots.

:func:`monthly_outcomes` condenses a run into the figures a shelter planner or a journalist
asks for first. :func:`compare` runs several scenarios over the same seeds (common random
numbers, so paired differences isolate the policy) and :func:`comparison_html` plots them.
"""

from __future__ import annotations

from corridor.report.comparison import COMPARE_OUTPUTS, Comparison, compare
from corridor.report.outcomes import MAIN_OUTCOMES, monthly_outcomes, outcome_totals
from corridor.report.pages import comparison_html

__all__ = [
    "COMPARE_OUTPUTS",
    "MAIN_OUTCOMES",
    "Comparison",
    "compare",
    "comparison_html",
    "monthly_outcomes",
    "outcome_totals",
]
