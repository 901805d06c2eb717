"""What every report shows, as rows: the overview, the ch. 6 placements, a case's grid of cells.

Also the small formatting all formats share: shares as whole percentages, compact cell codes
(`s.i.bel`) and readable cell names. `overview_text` is the table `capcode aggregate` prints.
Every function takes the report's `Words` (language.py); Dutch by default.
"""

import textwrap
from typing import Optional

from ..files import Percent
from ..records import Aggregate, CaseAggregate, Layout
from .language import Words

DUTCH = Words("nl")


def pct(value: Optional[float]):
    """A share: a number shown as a whole percentage (`Percent`); '–' when there is no denominator."""
    return "–" if value is None else Percent(value)


def short_codes(layout: Layout) -> dict:
    """Per dimension, the shortest prefix that tells its values apart (s/o, i/e, bel/beh)."""
    codes = {}
    for spec in layout.dimensions:
        length = 1
        while len({v[:length] for v in spec.values}) < len(spec.values) and length < 40:
            length += 1
        codes[spec.id] = {v: v[:length] for v in spec.values}
    return codes


def cell_code(layout: Layout, cell: tuple) -> str:
    """A compact column name for a cell, e.g. 's.i.bel'."""
    codes = short_codes(layout)
    return ".".join(codes[spec.id][value] for spec, value in zip(layout.dimensions, cell))


def cell_label(layout: Layout, cell: tuple) -> str:
    """A readable cell name, e.g. 'strategisch / intern / beleid'."""
    return " / ".join(spec.value_label(value) for spec, value in zip(layout.dimensions, cell))


def origin_note(n_human: int, n_model: int, w: Words = DUTCH) -> str:
    return w.say("origin", human=n_human, model=n_model)


def table_groups(layout: Layout) -> list:
    """The tables of a case: (title, table value or None); one table when no table dimension."""
    if layout.tables is None:
        return [("", None)]
    return [(layout.tables.value_label(v), v) for v in layout.tables.values]


def grid(layout: Layout, case: CaseAggregate, table_value) -> tuple:
    """(column values, rows of (row value, [CellStats per column])) for one table of a case."""
    columns = layout.columns.values if layout.columns else (None,)
    rows = []
    for row_value in layout.rows.values:
        stats = []
        for column_value in columns:
            cell = tuple(v for v in (table_value, column_value, row_value) if v is not None)
            stats.append(case.cell(cell))
        rows.append((row_value, stats))
    return columns, rows


def overview_rows(result: Aggregate, report_types=None, w: Words = DUTCH, params=None) -> tuple:
    """Header and rows of the cases x cells overview (shares), with counts and the ch. 6 type.

    With `report_types` ({case: type}) the report's own type is set beside the rule's.
    """
    cells = result.layout.cells()
    header = [w["case"], w["n_relevant"]] + [cell_code(result.layout, c) for c in cells] + [w["pending"],
                                                                                           w["human_model"]]
    if result.rule:
        header += ["S", "R", "N", w["type"]] + ([w["report"]] if report_types else [])
    rows = []
    for case in list(result.cases) + [result.total]:
        row = [w.case(case.case), case.n_relevant] + [pct(s.share) for s in case.cells]
        row += [case.n_pending, f"{case.n_human}/{case.n_model}"]
        if result.rule:
            p = case.profile
            row += [pct(p.share_strategic), pct(p.share_director), pct(p.share_shortfall),
                    p.type_id if case is not result.total else ""]
            if report_types:
                row.append(report_types.get(case.case, ""))
        rows.append(row)
    return header, rows


def overview_text(result: Aggregate, report_types=None, w: Words = DUTCH, params=None) -> str:
    """The overview as an aligned plain-text table for the terminal, with a legend."""
    header, rows = overview_rows(result, report_types, w)
    table = [header] + [[str(v) for v in row] for row in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    lines = ["  ".join(str(v).rjust(w_) if i else str(v).ljust(w_) for i, (v, w_) in enumerate(zip(r, widths)))
             for r in table]
    lines.insert(1, "  ".join("-" * w_ for w_ in widths))
    lines += ["", w["shares_per_case"]]
    entries = [f"{cell_code(result.layout, c)} = {cell_label(result.layout, c)}" for c in result.layout.cells()]
    width = max(len(e) for e in entries) + 2
    for start in range(0, len(entries), 2):
        lines.append("  " + "".join(e.ljust(width) for e in entries[start:start + 2]).rstrip())
    lines.append(w.say("pending_note", pending_word=w["pending"]))
    if result.rule:
        lines += ["", *textwrap.wrap(f"{w['rule_label']}: " + rule_words(result, w, params), width=100)]
        if report_types:
            lines.append(w["report_type_note"])
    return "\n".join(lines) + "\n"


def rule_words(result: Aggregate, w: Words, params=None) -> str:
    """The ch. 6 rule in the report's language (the aggregate's own words without the settings)."""
    return w.rule(params) if params is not None else result.rule


def negative_word(params) -> str:
    return params.negative_value if params is not None and params.negative_value else "negatief"


def cell_summary(stats, params=None) -> str:
    if not stats.n:
        return "0"
    return f"{stats.n} ({pct(stats.share)}), {pct(stats.share_negatief)} {negative_word(params)}"


def typology_rows(result: Aggregate, report_types: dict, w: Words = DUTCH, params=None) -> tuple:
    """Header and rows placing each case, with the report's own type beside it when known."""
    negative = negative_word(params)
    header = [w["case"], w["s_column"], w["r_column"], w.say("n_column", negative=negative), w["type"], w["why"]]
    if report_types:
        header.append(w["report_type"])
    rows = []
    for c in result.cases:
        p = c.profile
        row = [c.case, f"{pct(p.share_strategic)} ({p.n_strategic}/{p.n_relevant})",
               f"{pct(p.share_director)} ({p.n_director}/{p.n_relevant})",
               f"{pct(p.share_shortfall)} ({p.n_strategic_negatief}/{p.n_strategic})",
               f"{p.type_id}: {w.type_label(p.type_id)}", w.reason(p, params) if params is not None else p.reason]
        if report_types:
            row.append(report_types.get(c.case, "–"))
        rows.append(row)
    return header, rows
