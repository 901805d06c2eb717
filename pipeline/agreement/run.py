"""`capcode agreement`: read coding files, compute agreement on every dimension, write the report."""

import json
import logging
from typing import Optional

from ..errors import ConfigError
from .disagreements import disagreement_table
from .formats import (CSV_HEADER, csv_text, format_table, json_safe, output_format, report_rows, report_sheets,
                      report_to_json)
from .results import agreement_report
from .units import load_codings, reliability_data

log = logging.getLogger("capcode")


def run_agreement(coding_paths, codebook=None, fragments=None, level: Optional[str] = None, predictions=None,
                  as_name: str = "model", out=None, fmt: Optional[str] = None, resamples: int = 1000,
                  seed: int = 0, merge_coders: bool = False) -> str:
    """Read codings, compute agreement on every dimension, write or return the report.

    Returns the text for stdout ('' when the report went to `out`).
    """
    from ..codebook.read import load_codebook
    from ..files import text_or_file, write_xlsx

    fmt = output_format(fmt, out)
    if resamples < 0:
        raise ConfigError(f"agreement.bootstrap is {resamples}: give the number of bootstrap resamples "
                          "(0 switches the confidence interval off).")
    book = load_codebook(codebook) if codebook is not None else None
    codings, fragment_list, notes = load_codings(coding_paths, book, fragments, predictions, as_name, merge_coders)
    order = [f.id for f in fragment_list] if fragment_list is not None else None
    data = reliability_data(codings, book, level, order)
    report = agreement_report(data, resamples, seed, f"{book.name} {book.version}" if book else "", notes)
    if len(report.coders) < 2:
        log.warning("only one coder (%s) in the codings: agreement needs two or more.", report.coders[0])
    conditional = [f"{r.dimension} over {r.condition_units} units where the coders agree {r.condition} "
                   f"({r.condition_left_out} left out)" for r in report.dimensions if r.condition]
    if conditional and fmt != "table":
        log.warning("note: conditional dimensions computed over agreed units only: %s.", "; ".join(conditional))

    if fmt == "table":
        text = format_table(report)
    elif fmt == "json":
        text = json.dumps(json_safe(report_to_json(report)), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    elif fmt == "csv":
        text = csv_text(CSV_HEADER, report_rows(report))
    else:
        sheets = report_sheets(report)
        plain = reliability_data(codings, book, level, order, apply_conditions=False)
        sheets = {"figures": sheets.pop("figures"), "disagreements": disagreement_table(plain, fragment_list), **sheets}
        write_xlsx(out, sheets)
        return ""
    return text_or_file(text, out)
