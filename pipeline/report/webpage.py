"""report.html: one self-contained page (inline CSS, PNGs embedded as base64).

It opens offline and can be mailed as one file. Every text from the data is HTML-escaped; the
page is in the report's language (its `lang` attribute too) and has a legend for its marks.
"""

import base64
import html
import re
from typing import Optional, Sequence

from ..records import Aggregate, CaseAggregate
from .language import Words
from .tables import (DUTCH, cell_code, cell_label, cell_summary, grid, negative_word, origin_note, overview_rows, pct,
                     rule_words, table_groups, typology_rows)


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
    return value if isinstance(value, _Markup) else html.escape(str(value))


def html_table(header: Sequence, rows: Sequence[Sequence], cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{' class=num' if isinstance(v, (int, float)) else ''}>{esc(v)}</td>"
                                    for v in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><tr>{head}</tr>{body}</table>"


def quote_origin(quote, w: Words) -> str:
    return w["human"] if quote.origin == "human" else f"{w['model']} {quote.confidence:.2f}"


def html_cell(stats, top: float, w: Words = DUTCH, params=None) -> str:
    shade = 0.08 + 0.5 * ((stats.share or 0.0) / top if top else 0.0)
    quotes = "".join(
        f"<div class='quote{' neg' if q.negatief else ''}'>“{esc(q.text)}” <span class='who'>({esc(q.respondent)}, "
        f"{esc(q.role)}; {esc(quote_origin(q, w))})</span></div>"
        for q in stats.quotes)
    head = (f"<b>{stats.n}</b> ({pct(stats.share)}) · {pct(stats.share_negatief)} {esc(negative_word(params))}"
            f"<div class='who'>{esc(origin_note(stats.n_human, stats.n_model, w))}</div>") if stats.n else "<b>0</b>"
    return f"<td style='background:rgba(30,100,200,{shade:.2f})'>{head}{quotes}</td>"


def legend_html(result: Aggregate, w: Words = DUTCH, params=None) -> str:
    """Every mark of the page explained: cell codes, counts and shares, italics, colours."""
    layout = result.layout
    snippets = {  # placed after escaping, so data inside them is escaped once and marks stay HTML
        "code": esc(cell_code(layout, layout.cells()[0])) if layout.cells() else "",
        "codes": ", ".join(f"<code>{esc(cell_code(layout, c))}</code> = {esc(cell_label(layout, c))}"
                           for c in layout.cells()),
        "negative": esc(negative_word(params)),
        "human_model": esc(w["human_model"]),
        "pending_word": f"<span class='pending'>{esc(w['pending'])}</span>",
    }
    tokens = {name: f"\x00{name}\x00" for name in snippets}
    texts = []
    for item in w["legend_items"]:
        if not result.rule and item.startswith("S, R, N"):
            continue
        text = esc(item.format(**tokens))
        text = re.sub(r"`([^`]*)`", r"<code>\1</code>", text)
        text = re.sub(r"\*([^*]+)\*", r"<i>\1</i>", text)
        for name, snippet in snippets.items():
            text = text.replace(tokens[name], snippet)
        texts.append(text)
    texts += [esc(item) for item in w["legend_html_items"]]
    return f"<h2>{esc(w['legend'])}</h2><ul class='note'>" + "".join(f"<li>{t}</li>" for t in texts) + "</ul>"


def report_html(result: Aggregate, images: dict, comparison=None, report_types=None, w: Words = DUTCH,
                params=None) -> str:
    """The whole aggregate as one self-contained HTML page."""
    layout = result.layout
    total = result.total
    parts = [f"<!doctype html><html lang='{w.language}'><head><meta charset='utf-8'><title>{esc(w['title'])}</title>"
             f"<style>{CSS}</style></head><body>", f"<h1>{esc(w['title'])}</h1>"]
    sources = ", ".join(w[s] if s in ("codings", "predictions") else s for s in result.sources) or w["none"]
    pending = f"<span class='pending'>{total.n_pending} {esc(w['pending'])}</span>"
    totals = esc(w.say("totals", n=total.n_fragments, relevant=total.n_relevant,
                       origin=origin_note(total.n_human, total.n_model, w), not_relevant=total.n_not_relevant,
                       pending="\x00", pending_word="\x01",
                       pending_origin=origin_note(total.n_pending_human, total.n_pending_model, w),
                       uncoded=total.n_uncoded)).replace("\x00 \x01", pending)
    parts.append(f"<p class='note'>{esc(w['sources'])}: {esc(sources)}"
                 + (f"; {esc(w['codebook'])} {esc(result.codebook)}" if result.codebook else "")
                 + f". {totals} {esc(w.say('rules_of_counting', pending_word=w['pending']))}</p>")
    header, rows = overview_rows(result, report_types, w, params)
    parts += [f"<h2>{esc(w['overview'])}</h2>", f"<div class='wide'>{html_table(header, rows, 'overview')}</div>"]
    parts.append(_img(images.get("heatmap.png"), w["heatmap_alt"]))
    parts.append(legend_html(result, w, params))
    if result.rule:
        parts += [f"<h2>{esc(w['types_heading'])}</h2>",
                  f"<p><b>{esc(w['rule'])}.</b> {esc(rule_words(result, w, params))}</p>",
                  html_table(*typology_rows(result, report_types or {}, w, params)),
                  _img(images.get("profiles.png"), w["profiles_alt"])]
    for case in result.cases:
        parts.append(case_html(result, case, w, params))
    header = [w["case"], w["role"]] + [cell_code(layout, c) for c in layout.cells()] + [w["human_model"]]
    role_rows = [[w.case(c.case), role, *counts, f"{h}/{m}"] for c in list(result.cases) + [total]
                 for role, counts, h, m in c.by_role]
    parts += [f"<h2>{esc(w['roles_heading'])}</h2>", f"<p class='note'>{esc(w['roles_note'])}</p>",
              html_table(header, role_rows)]
    if comparison is not None:
        agree = sum(1 for row in comparison if row[4] in ("beide", "beide leeg"))
        note = w.say("comparison_note", agree=agree, n=len(comparison), both=w.verdict("beide"),
                     both_empty=w.verdict("beide leeg"), report_only=w.verdict("alleen rapport"),
                     data_only=w.verdict("alleen data"))
        rows = []
        for case_name, cell, items, stats, verdict in comparison:
            listed = "; ".join(f"<i>{esc(i.item)}</i>" if i.negatief else esc(i.item) for i in items) or "–"
            rows.append([case_name, cell_label(layout, cell), _Markup(listed), cell_summary(stats, params),
                         w.verdict(verdict)])
        header = [w["case"], w["cell"], w["report_items"], w.say("computed", negative=negative_word(params)),
                  w["agree"]]
        parts += [f"<h2>{esc(w['comparison_heading'])}</h2>", f"<p class='note'>{esc(note)}</p>",
                  html_table(header, rows)]
    parts.append("</body></html>")
    return "\n".join(parts)


def case_html(result: Aggregate, case: CaseAggregate, w: Words = DUTCH, params=None) -> str:
    layout = result.layout
    top = max((s.share or 0.0) for s in case.cells) if case.cells else 0.0
    pending = f"<span class='pending'>{case.n_pending} {esc(w['pending'])}</span>"
    totals = esc(w.say("case_totals", relevant=case.n_relevant, origin=origin_note(case.n_human, case.n_model, w),
                       not_relevant=case.n_not_relevant, pending="\x00", pending_word="\x01",
                       pending_origin=origin_note(case.n_pending_human, case.n_pending_model, w),
                       uncoded=case.n_uncoded)).replace("\x00 \x01", pending)
    parts = [f"<h2>{esc(case.case)}</h2>", f"<p class='note'>{totals}</p>"]
    for title, table_value in table_groups(layout):
        columns, rows = grid(layout, case, table_value)
        if title:
            parts.append(f"<h3>{esc(title)}</h3>")
        head = "".join(f"<th>{esc(layout.columns.value_label(c) if c else 'n')}</th>" for c in columns)
        body = "".join(f"<tr><th>{esc(layout.rows.value_label(r))}</th>"
                       + "".join(html_cell(s, top, w, params) for s in stats) + "</tr>" for r, stats in rows)
        parts.append(f"<table class='cap'><tr><th></th>{head}</tr>{body}</table>")
    return "\n".join(parts)


class _Markup(str):
    """HTML built here from escaped parts (the report's items, italic where negatief)."""


def _img(data: Optional[bytes], alt: str) -> str:
    if not data:
        return ""
    return f"<p><img alt='{esc(alt)}' src='data:image/png;base64,{base64.b64encode(data).decode('ascii')}'></p>"
