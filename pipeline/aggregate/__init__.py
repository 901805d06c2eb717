"""Per-case aggregates: the report's capacity tables from coded and predicted fragments.

The core is pure: per fragment, a human code always wins over a model prediction, and an
abstained prediction is "te beoordelen", never a label; the dimensions named in
`AggregateParams` are cross-tabulated per case, per respondent role and across cases. With the
default codebook that gives the report's layout: two tables (strategische / operationele
capaciteit), columns intern / extern, rows beleidscapaciteit / beheerscapaciteit. Each case is
also placed against the three types of the report's ch. 6 by a transparent rule.

The result is a `records.Aggregate`, which `pipeline.report` writes; the two never import each
other's stage code. Each module imports only those above it in this list:

- `typology.py`  the ch. 6 rule: R, S and N, and the type they give (`place_case`, `rule_text`)
- `tabulate.py`  merging codes and predictions, placing fragments in cells, counts, quotes
                 (`merge_sources`, `place`, `aggregate`)
- `compare.py`   a report's own tables and types, read and set beside the computed ones
- `run.py`       `capcode aggregate`: read the files, aggregate, hand the result to
                 `pipeline.report.write_reports` (`run_aggregate`)

The names below are re-exported for callers of the package; code inside capcode imports them
from the module that owns them.
"""

from ..records import (ALL_CASES, HUMAN, MODEL, PENDING, TYPES, Aggregate, CaseAggregate, CellStats, DimensionSpec,
                       Layout, Profile, Quote)
from .compare import ReportItem, compare_with_report, match_value, read_case_types, read_report_tables
from .run import run_aggregate
from .tabulate import (Placement, Resolved, aggregate, aggregate_case, build_layout, consensus, merge_sources, place,
                       pick_quotes, shorten, specs_from_codebook, specs_from_data)
from .typology import director_pattern, place_case, rule_text, typology_applies

__all__ = [
    "ALL_CASES", "HUMAN", "MODEL", "PENDING", "TYPES", "Aggregate", "CaseAggregate", "CellStats", "DimensionSpec",
    "Layout", "Placement", "Profile", "Quote", "ReportItem", "Resolved", "aggregate", "aggregate_case",
    "build_layout", "compare_with_report", "consensus", "director_pattern", "match_value", "merge_sources", "pick_quotes",
    "place", "place_case", "read_case_types", "read_report_tables", "rule_text", "run_aggregate", "shorten",
    "specs_from_codebook", "specs_from_data", "typology_applies",
]
