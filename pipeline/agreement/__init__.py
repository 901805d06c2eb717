"""Inter-coder agreement: the statistics methodologists report, with their published definitions.

Layout, as everywhere in capcode: pure statistics on numpy arrays at the bottom, then the
records that hold one dimension's reliability data and its results, then readers and writers
at the edge. Each module imports only those above it in this list:

- `statistics.py`     the formulas (Krippendorff's alpha, Fleiss' and Cohen's kappa, Gwet's AC1,
                      Brennan-Prediger, specific agreement), each citing its definition, and the
                      interpretation bands (Landis & Koch, Krippendorff)
- `bootstrap.py`      the seeded bootstrap interval of alpha, all resamples in one matrix product
- `units.py`          reliability data: coding files (and a model as one more coder) -> one
                      coders x units matrix per dimension (`load_codings`, `reliability_data`)
- `results.py`        every figure of a dimension with notes on what is undefined and why
                      (`dimension_agreement`, `agreement_report`)
- `formats.py`        a report as table, JSON, CSV rows or workbook sheets
- `disagreements.py`  `capcode disagreements`: the sheet for a reconciliation meeting, and the
                      consensus codings after it (`run_disagreements`, `run_merge`)
- `run.py`            `capcode agreement` (`run_agreement`)

Span-level agreement (`capcode agreement --unit span`: coders' own text spans rather than
capcode's fragments), on top of `statistics.py` and `bootstrap.py`:

- `spans.py`               Krippendorff's alpha-U on sorted interval arrays
- `characters.py`          NVivo's coding comparison: kappa and agreement over characters
- `span_units.py`          span codings (files, .qdpx, import folders) and texts -> SpanStudy
- `span_results.py`        every span figure of a dimension, with the source bootstrap
- `span_disagreements.py`  the passages where coders' spans differ, with the text
- `span_formats.py`        the span report as table, JSON, CSV rows or workbook sheets
- `span_run.py`            `capcode agreement --unit span` (`run_span_agreement`)

A unit coded by fewer than two coders is missing data, not disagreement. A statistic that is
undefined for the data at hand is None (null in JSON), never NaN, with a plain explanation.

The names below are re-exported for callers of the package; code inside capcode imports them
from the module that owns them.
"""

from .bootstrap import BootstrapInterval, alphas_from_pattern_weights, bootstrap_alpha, dimension_seed
from .disagreements import consensus_codings, disagreement_table, read_reconciled, run_disagreements, run_merge
from .formats import (CSV_HEADER, FORMATS, dimension_to_json, format_table, output_format, report_rows, report_sheets,
                      report_to_json)
from .results import (AgreementReport, DimensionAgreement, PairAgreement, ValueAgreement, agreement_report,
                      dimension_agreement)
from .run import run_agreement
from .statistics import (LEVELS, brennan_prediger, coincidence_matrix, cohen_kappa, confusion_matrix, distance_matrix,
                         fleiss_kappa, gwet_ac1, kappa_from_confusion, krippendorff_alpha, krippendorff_band,
                         landis_koch, observed_agreement, pair_confusions, single_threaded_blas, specific_agreement,
                         unit_patterns, unit_value_counts)
from .units import DimensionData, load_codings, prediction_codings, reliability_data

__all__ = [
    "CSV_HEADER", "FORMATS", "LEVELS", "AgreementReport", "BootstrapInterval", "DimensionAgreement", "DimensionData",
    "PairAgreement", "ValueAgreement", "agreement_report", "alphas_from_pattern_weights", "bootstrap_alpha",
    "brennan_prediger", "coincidence_matrix", "cohen_kappa", "confusion_matrix", "consensus_codings",
    "dimension_agreement", "dimension_seed", "dimension_to_json", "disagreement_table", "distance_matrix",
    "fleiss_kappa", "format_table", "gwet_ac1", "kappa_from_confusion", "krippendorff_alpha", "krippendorff_band",
    "landis_koch", "load_codings", "observed_agreement", "output_format", "pair_confusions", "prediction_codings",
    "read_reconciled", "reliability_data", "report_rows", "report_sheets", "report_to_json", "run_agreement",
    "run_disagreements", "run_merge", "single_threaded_blas", "specific_agreement", "unit_patterns",
    "unit_value_counts",
]
