"""report.html: one self-contained page (inline CSS, PNGs embedded as base64).

It opens offline and can be mailed as one file.
"""

import base64
import html
from typing import Optional, Sequence

from ..records import PENDING, Aggregate, CaseAggregate
from .tables import (cell_code, cell_label, cell_summary, grid, origin_note, overview_rows, pct, table_groups,
                     typology_rows)


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
