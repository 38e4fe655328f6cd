"""Reports: main outcomes by month, comparisons of scenarios over seeds, HTML plots.

:func:`monthly_outcomes` condenses a run into the figures a shelter planner or a journalist
asks for first. :func:`compare` runs several scenarios over the same seeds (common random
numbers, so paired differences isolate the policy) and :func:`comparison_html` plots them.
:func:`write_report` writes ``report.html`` into a run, ensemble or comparison folder: the
headline figures in sentences, a map of the corridor (:func:`corridor_map_figure`) and
monthly charts.
"""

from __future__ import annotations

from corridor.report.comparison import COMPARE_OUTPUTS, Comparison, compare
from corridor.report.maps import corridor_map_figure
from corridor.report.outcomes import MAIN_OUTCOMES, monthly_outcomes, outcome_totals
from corridor.report.pages import comparison_html
from corridor.report.runpage import REPORT_FILE, write_report

__all__ = [
    "COMPARE_OUTPUTS",
    "MAIN_OUTCOMES",
    "REPORT_FILE",
    "Comparison",
    "compare",
    "comparison_html",
    "corridor_map_figure",
    "monthly_outcomes",
    "outcome_totals",
    "write_report",
]
