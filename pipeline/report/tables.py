"""What every report shows, as rows: the overview, the ch. 6 placements, a case's grid of cells.

Also the small formatting all formats share: shares as whole percentages, compact cell codes
(`s.i.bel`) and readable cell names. `overview_text` is the table `capcode aggregate` prints.
"""

import textwrap
from typing import Optional

from ..records import ALL_CASES, PENDING, Aggregate, CaseAggregate, Layout


def pct(value: Optional[float]) -> str:
    """A share as a whole percentage; '–' when there is no denominator."""
    return "–" if value is None else f"{round(100 * value)}%"


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


def origin_note(n_human: int, n_model: int) -> str:
    return f"{n_human} human / {n_model} model"


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


def overview_rows(result: Aggregate, report_types=None) -> tuple:
    """Header and rows of the cases x cells overview (shares), with counts and the ch. 6 type.

    With `report_types` ({case: type}) the report's own type is set beside the rule's.
    """
    cells = result.layout.cells()
    header = ["case", "n relevant"] + [cell_code(result.layout, c) for c in cells] + [PENDING, "human/model"]
    if result.rule:
        header += ["S", "R", "N", "type"] + (["report"] if report_types else [])
    rows = []
    for case in list(result.cases) + [result.total]:
        row = [case.case, case.n_relevant] + [pct(s.share) for s in case.cells]
        row += [case.n_pending, f"{case.n_human}/{case.n_model}"]
        if result.rule:
            p = case.profile
            row += [pct(p.share_strategic), pct(p.share_director), pct(p.share_shortfall),
                    p.type_id if case.case != ALL_CASES else ""]
            if report_types:
                row.append(report_types.get(case.case, ""))
        rows.append(row)
    return header, rows


def overview_text(result: Aggregate, report_types=None) -> str:
    """The overview as an aligned plain-text table for the terminal, with a legend."""
    header, rows = overview_rows(result, report_types)
    table = [header] + [[str(v) for v in row] for row in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    lines = ["  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
             for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", "Shares of the relevant fragments placed in a cell, per case:"]
    entries = [f"{cell_code(result.layout, c)} = {cell_label(result.layout, c)}" for c in result.layout.cells()]
    width = max(len(e) for e in entries) + 2
    for start in range(0, len(entries), 2):
        lines.append("  " + "".join(e.ljust(width) for e in entries[start:start + 2]).rstrip())
    lines.append(f"'{PENDING}': relevant (or unsure) fragments the model abstained on or coders tied on; "
                 "never counted as a label.")
    if result.rule:
        lines += ["", *textwrap.wrap("Ch. 6 type rule: " + result.rule, width=100)]
        if report_types:
            lines.append("report: the type the report itself gives the case (--cases).")
    return "\n".join(lines) + "\n"


def cell_summary(stats) -> str:
    if not stats.n:
        return "0"
    return f"{stats.n} ({pct(stats.share)}), {pct(stats.share_negatief)} negatief"


def typology_rows(result: Aggregate, report_types: dict) -> tuple:
    """Header and rows placing each case, with the report's own type beside it when known."""
    header = ["case", "S (strategisch)", "R (director role)", "N (strategic negatief)", "type", "why"]
    if report_types:
        header.append("report (ch. 6)")
    rows = []
    for c in result.cases:
        p = c.profile
        row = [c.case, f"{pct(p.share_strategic)} ({p.n_strategic}/{p.n_relevant})",
               f"{pct(p.share_director)} ({p.n_director}/{p.n_relevant})",
               f"{pct(p.share_shortfall)} ({p.n_strategic_negatief}/{p.n_strategic})",
               f"{p.type_id}: {p.type_label}", p.reason]
        if report_types:
            row.append(report_types.get(c.case, "–"))
        rows.append(row)
    return header, rows
