"""Writers for the aggregate: summary.md, report.html, aggregates.xlsx/.csv and PNGs.

Everything here turns an `aggregate.Aggregate` into files; nothing is computed
that the reports disagree on. All files are written atomically. report.html is
self-contained (inline CSS, PNGs embedded as base64) so it opens offline and
can be mailed as one file.
"""

import base64
import html
import io
import textwrap
from pathlib import Path
from typing import Optional, Sequence

from .aggregate import ALL_CASES, PENDING, Aggregate, CaseAggregate, Layout
from .files import atomic_open, write_table, write_xlsx

CSV_HEADER = ("case", "niveau", "locus", "domein", "n", "share", "share_negatief", "n_human", "n_model")


# ---- small formatting helpers ----------------------------------------------

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


# ---- PNGs ------------------------------------------------------------------

def heatmap_png(result: Aggregate) -> bytes:
    """Cases x cells heatmap of shares, each square annotated with n and share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cases = list(result.cases) or [result.total]
    cells = result.layout.cells()
    shares = np.array([[s.share or 0.0 for s in case.cells] for case in cases])
    fig, ax = plt.subplots(figsize=(1.1 * len(cells) + 2.5, 0.55 * len(cases) + 1.8), dpi=100)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=max(0.01, float(shares.max())), aspect="auto")
    ax.set_xticks(range(len(cells)), ["\n".join(c) for c in cells], fontsize=8)
    ax.set_yticks(range(len(cases)), [f"{c.case} (n={c.n_relevant})" for c in cases], fontsize=9)
    ax.xaxis.tick_top()
    top = float(shares.max()) or 1.0
    for i, case in enumerate(cases):
        for j, stats in enumerate(case.cells):
            colour = "white" if (stats.share or 0) > 0.6 * top else "black"
            ax.text(j, i, f"{stats.n}\n{pct(stats.share)}", ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="share of relevant fragments")
    fig.tight_layout()
    return _png_bytes(fig)


def profiles_png(result: Aggregate, params) -> bytes:
    """Each case at (N, R) with the rule's thresholds drawn: the ch. 6 placement at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    min_r, min_n = params.type_min_director, params.type_min_shortfall
    top = max(0.6, min_r + 0.2, *((c.profile.share_director or 0.0) + 0.05 for c in result.cases))
    fig, ax = plt.subplots(figsize=(5.8, 4.2), dpi=100)
    ax.axhline(min_r, color="grey", lw=1, ls="--")
    ax.plot([min_n, min_n], [0, min_r], color="grey", lw=1, ls="--")
    ax.text(0.5, (top + min_r) / 2, "type 3", ha="center", color="grey")
    ax.text(min_n / 2, min_r * 0.8, "type 1", ha="center", color="grey")
    ax.text((1 + min_n) / 2, min_r * 0.8, "type 2", ha="center", color="grey")
    for case in result.cases:
        p = case.profile
        x, y = p.share_shortfall or 0.0, p.share_director or 0.0
        low = (p.share_strategic or 0.0) < params.type_min_strategic
        ax.scatter([x], [y], s=30, color=("C0", "C1", "C2")[p.type_id - 1], marker="x" if low else "o")
        ax.annotate(case.case, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, top)
    ax.set_xlabel("N: share negatief among strategic fragments")
    ax.set_ylabel("R: share naming the director role")
    ax.set_title(f"cases by the ch. 6 rule (a cross: S < {params.type_min_strategic:.2f}, type 1)", fontsize=9)
    fig.tight_layout()
    return _png_bytes(fig)


def _png_bytes(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


# ---- summary.md ------------------------------------------------------------

def md_table(header: Sequence, rows: Sequence[Sequence]) -> list:
    def clean(value):
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(clean(v) for v in row) + " |" for row in rows]
    return lines


def cell_summary(stats) -> str:
    if not stats.n:
        return "0"
    return f"{stats.n} ({pct(stats.share)}), {pct(stats.share_negatief)} negatief"


def quote_line(quote) -> str:
    text = f"*{quote.text}*" if quote.negatief else quote.text
    origin = "human" if quote.origin == "human" else f"model {quote.confidence:.2f}"
    return f"“{text}” ({quote.respondent}, {quote.role}; {origin})"


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


# ---- report.html -----------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;
color:#222;line-height:1.4;padding:0 1rem}
.wide{overflow-x:auto}.overview td,.overview th{font-size:.8rem;padding:.25rem .35rem}
h1{font-size:1.6rem}h2{font-size:1.3rem;border-bottom:1px solid #ccc;margin-top:2.2rem}h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.6rem 0 1rem}th,td{border:1px solid #bbb;padding:.3rem .5rem;
vertical-align:top;font-size:.9rem}th{background:#f0f0f0;text-align:left}td.num{text-align:right}
.note{color:#555;font-size:.9rem}.quote{font-size:.85rem;margin:.2rem 0}.neg{font-style:italic}
.who{color:#666}.cap{table-layout:fixed;width:100%}.cap th:first-child{width:11rem}
img{max-width:100%}.pending{color:#a05a00}
"""


def esc(value) -> str:
    return html.escape(str(value))


def html_table(header: Sequence, rows: Sequence[Sequence], cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{' class=num' if isinstance(v, (int, float)) else ''}>{esc(v)}</td>"
                                    for v in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><tr>{head}</tr>{body}</table>"


def html_cell(stats, top: float) -> str:
    shade = 0.08 + 0.5 * ((stats.share or 0.0) / top if top else 0.0)
    quotes = "".join(
        f"<div class='quote{' neg' if q.negatief else ''}'>“{esc(q.text)}” <span class='who'>({esc(q.respondent)}, "
        f"{esc(q.role)}; {'human' if q.origin == 'human' else f'model {q.confidence:.2f}'})</span></div>"
        for q in stats.quotes)
    head = (f"<b>{stats.n}</b> ({pct(stats.share)}) · {pct(stats.share_negatief)} negatief"
            f"<div class='who'>{origin_note(stats.n_human, stats.n_model)}</div>") if stats.n else "<b>0</b>"
    return f"<td style='background:rgba(30,100,200,{shade:.2f})'>{head}{quotes}</td>"


def report_html(result: Aggregate, images: dict, comparison=None, report_types=None) -> str:
    """The whole aggregate as one self-contained HTML page."""
    layout = result.layout
    total = result.total
    parts = [f"<!doctype html><html lang='nl'><head><meta charset='utf-8'><title>capcode aggregate</title>"
             f"<style>{CSS}</style></head><body>", "<h1>capcode: capacity per case</h1>"]
    parts.append(f"<p class='note'>Sources: {esc(', '.join(result.sources))}"
                 + (f"; codebook {esc(result.codebook)}" if result.codebook else "")
                 + f". {total.n_fragments} fragments: {total.n_relevant} relevant and placed "
                 f"({origin_note(total.n_human, total.n_model)}), {total.n_not_relevant} not relevant, "
                 f"<span class='pending'>{total.n_pending} {PENDING}</span> "
                 f"({origin_note(total.n_pending_human, total.n_pending_model)}), {total.n_uncoded} uncoded. "
                 "A human code wins over a prediction; abstained predictions are never counted as a label.</p>")
    header, rows = overview_rows(result, report_types)
    parts += ["<h2>Overview</h2>", f"<div class='wide'>{html_table(header, rows, 'overview')}</div>",
              "<p class='note'>" + esc(", ".join(f"{cell_code(layout, c)} = {cell_label(layout, c)}"
                                                 for c in layout.cells())) + "</p>"]
    parts.append(_img(images.get("heatmap.png"), "heatmap of shares per case and cell"))
    if result.rule:
        parts += ["<h2>Cases against the types of ch. 6</h2>", f"<p><b>Rule.</b> {esc(result.rule)}</p>",
                  html_table(*typology_rows(result, report_types or {})),
                  _img(images.get("profiles.png"), "cases placed by the rule")]
    for case in result.cases:
        parts.append(case_html(result, case))
    header = ["case", "role"] + [cell_code(layout, c) for c in layout.cells()] + ["human/model"]
    role_rows = [[c.case, role, *counts, f"{h}/{m}"] for c in list(result.cases) + [total]
                 for role, counts, h, m in c.by_role]
    parts += ["<h2>By respondent role</h2>", html_table(header, role_rows)]
    if comparison is not None:
        parts += ["<h2>Computed tables beside the report's tables</h2>",
                  html_table(["case", "cell", "report items", "computed", "agree?"],
                             [[c, cell_label(layout, cell), "; ".join(i.item for i in items) or "–",
                               cell_summary(s), v] for c, cell, items, s, v in comparison])]
    parts.append("</body></html>")
    return "\n".join(parts)


def case_html(result: Aggregate, case: CaseAggregate) -> str:
    layout = result.layout
    top = max((s.share or 0.0) for s in case.cells) if case.cells else 0.0
    parts = [f"<h2>{esc(case.case)}</h2>",
             f"<p class='note'>{case.n_relevant} relevant fragments placed "
             f"({origin_note(case.n_human, case.n_model)}); {case.n_not_relevant} not relevant; "
             f"<span class='pending'>{case.n_pending} {PENDING}</span> "
             f"({origin_note(case.n_pending_human, case.n_pending_model)}); {case.n_uncoded} uncoded.</p>"]
    for title, table_value in table_groups(layout):
        columns, rows = grid(layout, case, table_value)
        if title:
            parts.append(f"<h3>{esc(title)}</h3>")
        head = "".join(f"<th>{esc(layout.columns.value_label(c) if c else 'n')}</th>" for c in columns)
        body = "".join(f"<tr><th>{esc(layout.rows.value_label(r))}</th>" + "".join(html_cell(s, top) for s in stats)
                       + "</tr>" for r, stats in rows)
        parts.append(f"<table class='cap'><tr><th></th>{head}</tr>{body}</table>")
    return "\n".join(parts)


def _img(data: Optional[bytes], alt: str) -> str:
    if not data:
        return ""
    return f"<p><img alt='{esc(alt)}' src='data:image/png;base64,{base64.b64encode(data).decode('ascii')}'></p>"


# ---- aggregates.xlsx -------------------------------------------------------

def sheet_name(name: str, taken: set) -> str:
    """An Excel-safe, unique sheet name (31 characters, none of []:*?/\\)."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in str(name))[:31] or "case"
    base, number = clean, 2
    while clean.lower() in taken:
        suffix = f" ({number})"
        clean, number = base[: 31 - len(suffix)] + suffix, number + 1
    taken.add(clean.lower())
    return clean


def xlsx_sheets(result: Aggregate) -> dict:
    """Overview sheet, one sheet per case (one row per cell, with quotes) and a roles sheet."""
    header, rows = overview_rows(result)
    taken = set()
    sheets = {sheet_name("overzicht", taken): (header, rows)}
    dims = [d.id for d in result.layout.dimensions]
    case_header = dims + ["n", "share", "share_negatief", "n_human", "n_model"] + [f"quote {i + 1}" for i in range(3)]
    for case in result.cases:
        case_rows = []
        for stats in case.cells:
            quotes = [f"“{q.text}” ({q.respondent}, {q.role})" for q in stats.quotes][:3]
            case_rows.append([*stats.cell, stats.n, _round(stats.share), _round(stats.share_negatief),
                              stats.n_human, stats.n_model, *quotes, *[""] * (3 - len(quotes))])
        case_rows.append([PENDING] + [""] * (len(dims) - 1) + [case.n_pending, "", "", case.n_pending_human,
                                                               case.n_pending_model, "", "", ""])
        sheets[sheet_name(case.case, taken)] = (case_header, case_rows)
    role_header = ["case", "role"] + [cell_code(result.layout, c) for c in result.layout.cells()] + ["n_human", "n_model"]
    sheets[sheet_name("rollen", taken)] = (role_header, [[c.case, role, *counts, h, m]
                                                         for c in list(result.cases) + [result.total]
                                                         for role, counts, h, m in c.by_role])
    return sheets


# ---- everything ------------------------------------------------------------

def write_reports(result: Aggregate, out_dir: Path, comparison=None, params=None, report_types=None) -> list:
    """Write every output of the aggregate into `out_dir`; return the paths written."""
    from .config import AggregateParams

    params = params or AggregateParams()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = {"heatmap.png": heatmap_png(result)}
    if result.rule:
        images["profiles.png"] = profiles_png(result, params)
    written = []
    for name, data in images.items():
        write_bytes(out_dir / name, data)
        written.append(out_dir / name)
    write_table(out_dir / "aggregates.csv", CSV_HEADER, csv_rows(result))
    write_xlsx(out_dir / "aggregates.xlsx", xlsx_sheets(result))
    texts = {"summary.md": summary_markdown(result, comparison, report_types),
             "report.html": report_html(result, images, comparison, report_types),
             "overview.txt": overview_text(result, report_types)}
    for name, text in texts.items():
        with atomic_open(out_dir / name) as handle:
            handle.write(text)
    written += [out_dir / n for n in ("aggregates.csv", "aggregates.xlsx", *texts)]
    return written
