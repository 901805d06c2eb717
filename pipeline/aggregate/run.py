"""`capcode aggregate`: read fragments, codings and predictions, aggregate, write every report.

The edge of the stage: it reads the files, hands them to `tabulate.aggregate`, compares with a
report's own tables when given (`compare.py`) and passes the Aggregate to `pipeline.report`,
which writes summary.md, report.html, aggregates.xlsx, aggregates.csv and the PNGs.
"""

import logging
from pathlib import Path
from typing import Sequence

from ..config import AggregateParams
from ..errors import ConfigError, InputError
from ..records import Aggregate
from ..report.write import write_reports
from .compare import compare_with_report, read_case_types, read_report_tables
from .tabulate import aggregate, build_layout, specs_from_codebook

log = logging.getLogger("capcode")


def run_aggregate(fragments_path, out_dir, codings_paths: Sequence = (), predictions_path=None,
                  codebook="default", params: AggregateParams = AggregateParams(), report_tables=None,
                  cases=None, language: str = "nl") -> Aggregate:
    """Read fragments, codings and/or predictions; aggregate; write every report into `out_dir`.

    `codebook` (a name or a path) fixes the dimensions and the order of values in the
    tables; None infers both from the data. `report_tables` (case,table,column,row,item)
    and `cases` (case,type) hold a report's own tables and ch. 6 types, set beside the
    computed ones in summary.md and report.html. `language` ('nl' or 'en', params.yaml
    `report.language`) is the language of the reports.
    """
    from ..files import read_fragments
    from ..validation import read_checked_codings, read_checked_predictions

    if not codings_paths and predictions_path is None:
        raise ConfigError("give --codings, --predictions or both: there is nothing to aggregate.")
    fragments = list(read_fragments(fragments_path))
    if not fragments:
        raise InputError(f"{fragments_path}: no fragments; make them with 'capcode segment'.")
    specs, codebook_name, loaded = None, "", None
    if codebook is not None:
        from ..codebook.read import load_codebook

        loaded = load_codebook(codebook)
        specs, codebook_name = specs_from_codebook(loaded), f"{loaded.name} {loaded.version}".strip()
        build_layout(specs, params)  # settings that do not fit the codebook: said before the data are read
    codings = []
    if codings_paths:
        from ..codings import human_codings

        codings = human_codings(read_checked_codings(list(codings_paths), loaded, fragments))
    predictions = (read_checked_predictions(predictions_path, loaded, fragments)
                   if predictions_path is not None else [])
    result = aggregate(fragments, codings, predictions, params, specs, codebook_name)
    items = read_report_tables(report_tables, result.layout) if report_tables else None
    comparison = compare_with_report(result, items) if items is not None else None
    report_types = read_case_types(cases) if cases else {}
    write_reports(result, Path(out_dir), comparison=comparison, params=params, report_types=report_types,
                  language=language)
    log.info("aggregate: %d cases, %d relevant fragments placed, %d te beoordelen; reports in %s",
             len(result.cases), result.total.n_relevant, result.total.n_pending, out_dir)
    return result

