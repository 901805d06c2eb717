"""`capcode agreement --unit span`: read span codings and texts, compute, write the report."""

import json
import logging
from typing import Optional

from ..errors import ConfigError
from .formats import csv_text, json_safe, output_format
from .span_disagreements import (check_listing_path, disagreement_sheet, span_disagreements, style_sheet,
                                 write_span_disagreements)
from .span_formats import CSV_HEADER, format_table, report_rows, report_sheets, report_to_json
from .span_results import span_agreement_report
from .span_units import load_span_study

log = logging.getLogger("capcode")


def run_span_agreement(span_paths, transcripts=None, codebook=None, out=None, fmt: Optional[str] = None,
                       resamples: int = 1000, seed: int = 0, merge_coders: bool = False, disagreements=None,
                       qdpx_codebook: Optional[str] = None) -> str:
    """Span-level agreement of coding files, .qdpx projects or import folders; returns the text for
    stdout ('' when the report went to `out`). `disagreements` also writes the passage listing
    (.xlsx or .csv); `qdpx_codebook` maps a project's codes when no `codebook` is given."""
    from ..codebook.read import load_codebook
    from ..files import build_workbook, save_workbook, text_or_file

    fmt = output_format(fmt, out)
    if resamples < 0:
        raise ConfigError(f"agreement.bootstrap is {resamples}: give the number of bootstrap resamples "
                          "(0 switches the confidence interval off).")
    if disagreements is not None:
        check_listing_path(disagreements)   # before any work
    book = load_codebook(codebook) if codebook is not None else None
    study = load_span_study(span_paths, transcripts, book, qdpx_codebook, merge_coders)
    report = span_agreement_report(study, resamples, seed, book)
    if len(report.coders) < 2:
        log.warning("only one coder (%s) in the span codings: agreement needs two or more.", report.coders[0])
    passages = {d.dimension: span_disagreements(study, i) for i, d in enumerate(study.dimensions)}
    listing = disagreement_sheet(study, [p for d in study.dimensions for p in passages[d.dimension]])
    if disagreements is not None:
        write_span_disagreements(disagreements, *listing)

    if fmt == "table":
        text = format_table(report, passages)
    elif fmt == "json":
        text = json.dumps(json_safe(report_to_json(report, passages)), ensure_ascii=False, indent=2,
                          allow_nan=False) + "\n"
    elif fmt == "csv":
        text = csv_text(CSV_HEADER, report_rows(report))
    else:
        sheets = report_sheets(report)
        sheets = {"figures": sheets.pop("figures"), "disagreements": listing, **sheets}
        book_out = build_workbook(sheets)
        style_sheet(book_out["disagreements"], listing[0])
        save_workbook(book_out, out)
        return ""
    return text_or_file(text, out)
