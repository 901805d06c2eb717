"""aggregates.csv (one row per case and cell) and the sheets of aggregates.xlsx."""

from typing import Optional

from ..files import Percent
from ..records import Aggregate
from .language import Words
from .tables import cell_code, negative_word, overview_rows

CSV_HEADER = ("case", "niveau", "locus", "domein", "n", "share", "share_negatief", "n_human", "n_model")


def csv_rows(result: Aggregate) -> list:
    """One row per case x cell, the columns of CSV_HEADER (absent dimensions left empty)."""
    layout = result.layout
    slots = {"niveau": layout.tables, "locus": layout.columns, "domein": layout.rows}
    if layout.tables is None and layout.columns is None:
        slots = {"niveau": layout.rows, "locus": None, "domein": None}
    elif layout.tables is None:
        slots = {"niveau": layout.columns, "locus": layout.rows, "domein": None}
    order = [spec.id for spec in layout.dimensions]
    rows = []
    for case in result.cases:
        for stats in case.cells:
            values = dict(zip(order, stats.cell))
            named = [values.get(spec.id, "") if spec is not None else "" for spec in slots.values()]
            rows.append([case.case, *named, stats.n, _round(stats.share), _round(stats.share_negatief),
                         stats.n_human, stats.n_model])
    return rows


def _round(value: Optional[float]):
    return "" if value is None else round(value, 4)


def sheet_name(name: str, taken: set) -> str:
    """An Excel-safe, unique sheet name (31 characters, none of []:*?/\\)."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in str(name))[:31] or "case"
    base, number = clean, 2
    while clean.lower() in taken:
        suffix = f" ({number})"
        clean, number = base[: 31 - len(suffix)] + suffix, number + 1
    taken.add(clean.lower())
    return clean


def _number_or_empty(value):
    """A workbook cell: a share stays a number; '–' (no share) becomes an empty cell."""
    return None if value == "–" else value


def xlsx_sheets(result: Aggregate, w: Words = Words("nl"), params=None) -> dict:
    """Overview sheet, one sheet per case (one row per cell, with quotes) and a roles sheet.

    Shares are numbers with a percent format; sheet names and headings are in the report's language.
    """
    negative = negative_word(params)
    header, rows = overview_rows(result, None, w, params)
    taken = set()
    sheets = {sheet_name(w["overview_sheet"], taken): (header, [[_number_or_empty(v) for v in row] for row in rows])}
    dims = [d.id for d in result.layout.dimensions]
    case_header = dims + ["n", w["share"], w.say("share_negative", negative=negative), w["n_human"], w["n_model"]] \
        + [w.say("quote", i=i + 1) for i in range(3)]
    for case in result.cases:
        case_rows = []
        for stats in case.cells:
            quotes = [f"“{q.text}” ({q.respondent}, {q.role})" for q in stats.quotes][:3]
            case_rows.append([*stats.cell, stats.n, _share(stats.share), _share(stats.share_negatief),
                              stats.n_human, stats.n_model, *quotes, *[""] * (3 - len(quotes))])
        case_rows.append([w["pending"]] + [""] * (len(dims) - 1) + [case.n_pending, None, None,
                                                                    case.n_pending_human, case.n_pending_model,
                                                                    "", "", ""])
        sheets[sheet_name(case.case, taken)] = (case_header, case_rows)
    role_header = [w["case"], w["role"]] + [cell_code(result.layout, c) for c in result.layout.cells()] \
        + [w["n_human"], w["n_model"]]
    sheets[sheet_name(w["roles_sheet"], taken)] = (role_header, [[w.case(c.case), role, *counts, h, m]
                                                                for c in list(result.cases) + [result.total]
                                                                for role, counts, h, m in c.by_role])
    return sheets


def _share(value: Optional[float]):
    return None if value is None else Percent(value)
