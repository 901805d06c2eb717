"""summary.md: the whole aggregate as Markdown, readable on GitHub and in any editor."""

from typing import Sequence

from ..records import PENDING, Aggregate, CaseAggregate
from .tables import (cell_code, cell_label, cell_summary, grid, origin_note, overview_rows, table_groups,
                     typology_rows)


def md_table(header: Sequence, rows: Sequence[Sequence]) -> list:
    def clean(value):
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(clean(v) for v in row) + " |" for row in rows]
    return lines


def quote_line(quote) -> str:
    text = f"*{quote.text}*" if quote.negatief else quote.text
    origin = "human" if quote.origin == "human" else f"model {quote.confidence:.2f}"
    return f"“{text}” ({quote.respondent}, {quote.role}; {origin})"


def typology_markdown(result: Aggregate, report_types: dict) -> list:
    out = md_table(*typology_rows(result, report_types))
    known = [(c.profile.type_id, report_types[c.case]) for c in result.cases if c.case in report_types]
    if known:
        hits = sum(1 for rule, report in known if rule == report)
        out += ["", f"The rule gives the report's own type for {hits} of {len(known)} cases."]
    return out


def summary_markdown(result: Aggregate, comparison=None, report_types=None) -> str:
    """The whole aggregate as Markdown: overview, types, per-case tables and quotes, roles, comparison."""
    layout = result.layout
    out = ["# capcode aggregate", ""]
    out.append(f"Sources: {', '.join(result.sources) or 'none'}"
               + (f"; codebook {result.codebook}" if result.codebook else "")
               + f". Cells: {' x '.join(d.id for d in layout.dimensions)}.")
    total = result.total
    out.append(f"{total.n_fragments} fragments: {total.n_relevant} relevant and placed in a cell "
               f"({origin_note(total.n_human, total.n_model)}), {total.n_not_relevant} not relevant, "
               f"{total.n_pending} {PENDING} ({origin_note(total.n_pending_human, total.n_pending_model)}), "
               f"{total.n_uncoded} neither coded nor predicted.")
    out.append("A human code wins over a prediction for the same fragment; shares are of the relevant "
               f"fragments placed in a cell; '{PENDING}' fragments are counted apart, never as a label.")
    out += ["", "## Overview", ""]
    header, rows = overview_rows(result, report_types)
    out += md_table(header, rows)
    out += ["", ", ".join(f"`{cell_code(layout, c)}` = {cell_label(layout, c)}" for c in layout.cells()), ""]
    out += ["![heatmap](heatmap.png)", ""]
    if result.rule:
        out += ["## Cases against the types of the report's ch. 6", "", f"Rule: {result.rule}", ""]
        out += typology_markdown(result, report_types or {})
        out += ["", "![profiles](profiles.png)", ""]
    for case in result.cases:
        out += case_markdown(result, case)
    out += roles_markdown(result)
    if comparison is not None:
        out += comparison_markdown(result, comparison)
    return "\n".join(out) + "\n"


def case_markdown(result: Aggregate, case: CaseAggregate) -> list:
    layout = result.layout
    out = [f"## {case.case}", ""]
    out.append(f"{case.n_relevant} relevant fragments placed ({origin_note(case.n_human, case.n_model)}); "
               f"{case.n_not_relevant} not relevant; {case.n_pending} {PENDING} "
               f"({origin_note(case.n_pending_human, case.n_pending_model)}); {case.n_uncoded} uncoded.")
    out.append("")
    for title, table_value in table_groups(layout):
        columns, rows = grid(layout, case, table_value)
        if title:
            out += [f"### {title}", ""]
        header = [layout.rows.label] + [layout.columns.value_label(c) if c else "n" for c in columns]
        out += md_table(header, [[layout.rows.value_label(r)] + [cell_summary(s) for s in stats] for r, stats in rows])
        out.append("")
        for row_value, stats in rows:
            for s in stats:
                if s.quotes:
                    out.append(f"- **{cell_label(layout, s.cell)}** ({origin_note(s.n_human, s.n_model)}):")
                    out += [f"  - {quote_line(q)}" for q in s.quotes]
        out.append("")
    return out


def roles_markdown(result: Aggregate) -> list:
    layout = result.layout
    header = ["case", "role"] + [cell_code(layout, c) for c in layout.cells()] + ["human/model"]
    rows = []
    for case in list(result.cases) + [result.total]:
        for role, counts, n_human, n_model in case.by_role:
            rows.append([case.case, role, *counts, f"{n_human}/{n_model}"])
    return ["## By respondent role", "", "Number of relevant fragments per cell, by the respondent's role.", ""] \
        + md_table(header, rows) + [""]


def comparison_markdown(result: Aggregate, comparison) -> list:
    layout = result.layout
    out = ["## Computed tables beside the report's tables", ""]
    agree = sum(1 for row in comparison if row[4] in ("beide", "beide leeg"))
    out.append(f"{agree} of {len(comparison)} case cells agree: the report lists items where the data have "
               "fragments ('beide') or neither has anything ('beide leeg'). 'alleen rapport': the report lists "
               "items but no fragment was placed there; 'alleen data': fragments, but the report lists nothing. "
               "Report items in italics weaken the capacity (as in the report).")
    out.append("")
    rows = []
    for case_name, cell, items, stats, verdict in comparison:
        listed = "; ".join(f"*{i.item}*" if i.negatief else i.item for i in items) or "–"
        rows.append([case_name, cell_label(layout, cell), listed, cell_summary(stats), verdict])
    out += md_table(["case", "cell", "report items", "computed n (share), negatief", "agree?"], rows)
    return out + [""]
