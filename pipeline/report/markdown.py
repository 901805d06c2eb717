"""summary.md: the whole aggregate as Markdown, readable on GitHub and in any editor.

Whatever comes from the data (case names, quotes, the report's items, codebook labels) is
escaped: HTML cannot start (`<script>` becomes `&lt;script>`), and Markdown's marks (`*`,
backticks, brackets) stay literal, so a transcript can neither run code nor change the layout
where the file is shown as HTML.
"""

import re
from typing import Sequence

from ..records import Aggregate, CaseAggregate
from .language import Words
from .tables import (DUTCH, cell_code, cell_label, cell_summary, grid, negative_word, origin_note, overview_rows,
                     rule_words, table_groups, typology_rows)

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")   # what could open an HTML tag, comment or autolink
_MARKDOWN_MARKS = re.compile(r"([\\`*\[\]])")


def md_text(value) -> str:
    """Text from the data, safe in Markdown: no HTML, no emphasis, links or code spans, on one line."""
    text = " ".join(str(value).splitlines())
    text = _TAG_START.sub("&lt;", text.replace("&", "&amp;"))
    return _MARKDOWN_MARKS.sub(r"\\\1", text)


class _Escaped(str):
    """Text already made safe with `md_text` (and holding intended marks, such as italics)."""


def md_table(header: Sequence, rows: Sequence[Sequence]) -> list:
    """A Markdown table; every cell escaped with `md_text` unless it already is (and '|' kept inside its cell)."""
    def clean(value):
        return (value if isinstance(value, _Escaped) else md_text(value)).replace("|", "\\|")

    lines = ["| " + " | ".join(clean(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(clean(v) for v in row) + " |" for row in rows]
    return lines


def quote_line(quote, w: Words = DUTCH) -> str:
    text = f"*{md_text(quote.text)}*" if quote.negatief else md_text(quote.text)
    origin = w["human"] if quote.origin == "human" else f"{w['model']} {quote.confidence:.2f}"
    return f"“{text}” ({md_text(quote.respondent)}, {md_text(quote.role)}; {origin})"


def typology_markdown(result: Aggregate, report_types: dict, w: Words = DUTCH, params=None) -> list:
    out = md_table(*typology_rows(result, report_types, w, params))
    known = [(c.profile.type_id, report_types[c.case]) for c in result.cases if c.case in report_types]
    if known:
        hits = sum(1 for rule, report in known if rule == report)
        out += ["", w.say("types_agree", hits=hits, n=len(known))]
    return out


def legend_markdown(result: Aggregate, w: Words = DUTCH, params=None) -> list:
    """Every mark the report uses, explained."""
    layout = result.layout
    codes = ", ".join(f"`{md_text(cell_code(layout, c))}` = {md_text(cell_label(layout, c))}" for c in layout.cells())
    example = md_text(cell_code(layout, layout.cells()[0])) if layout.cells() else ""
    values = dict(code=example, codes=codes, negative=md_text(negative_word(params)), human_model=w["human_model"],
                  pending_word=w["pending"])
    items = w["legend_items"] if result.rule else [i for i in w["legend_items"] if not i.startswith("S, R, N")]
    return [f"## {w['legend']}", ""] + [f"- {item.format(**values)}" for item in items] + [""]


def summary_markdown(result: Aggregate, comparison=None, report_types=None, w: Words = DUTCH, params=None) -> str:
    """The whole aggregate as Markdown: overview, legend, types, per-case tables and quotes, roles, comparison."""
    layout = result.layout
    out = [f"# {w['title']}", ""]
    sources = ", ".join(w[s] if s in ("codings", "predictions") else s for s in result.sources) or w["none"]
    out.append(f"{w['sources']}: {md_text(sources)}"
               + (f"; {w['codebook']} {md_text(result.codebook)}" if result.codebook else "")
               + f". {w['cells']}: {' x '.join(md_text(d.id) for d in layout.dimensions)}.")
    total = result.total
    out.append(w.say("totals", n=total.n_fragments, relevant=total.n_relevant,
                     origin=origin_note(total.n_human, total.n_model, w), not_relevant=total.n_not_relevant,
                     pending=total.n_pending, pending_word=w["pending"],
                     pending_origin=origin_note(total.n_pending_human, total.n_pending_model, w),
                     uncoded=total.n_uncoded))
    out.append(w.say("rules_of_counting", pending_word=w["pending"]))
    out += ["", f"## {w['overview']}", ""]
    header, rows = overview_rows(result, report_types, w, params)
    out += md_table(header, rows)
    out += ["", "![heatmap](heatmap.png)", ""]
    out += legend_markdown(result, w, params)
    if result.rule:
        out += [f"## {w['types_heading']}", "", f"{w['rule']}: {md_text(rule_words(result, w, params))}", ""]
        out += typology_markdown(result, report_types or {}, w, params)
        out += ["", "![profiles](profiles.png)", ""]
    for case in result.cases:
        out += case_markdown(result, case, w, params)
    out += roles_markdown(result, w)
    if comparison is not None:
        out += comparison_markdown(result, comparison, w, params)
    return "\n".join(out) + "\n"


def case_markdown(result: Aggregate, case: CaseAggregate, w: Words = DUTCH, params=None) -> list:
    layout = result.layout
    out = [f"## {md_text(case.case)}", ""]
    out.append(w.say("case_totals", relevant=case.n_relevant, origin=origin_note(case.n_human, case.n_model, w),
                     not_relevant=case.n_not_relevant, pending=case.n_pending, pending_word=w["pending"],
                     pending_origin=origin_note(case.n_pending_human, case.n_pending_model, w),
                     uncoded=case.n_uncoded))
    out.append("")
    for title, table_value in table_groups(layout):
        columns, rows = grid(layout, case, table_value)
        if title:
            out += [f"### {md_text(title)}", ""]
        header = [layout.rows.label] + [layout.columns.value_label(c) if c else "n" for c in columns]
        out += md_table(header, [[layout.rows.value_label(r)] + [cell_summary(s, params) for s in stats]
                                 for r, stats in rows])
        out.append("")
        for row_value, stats in rows:
            for s in stats:
                if s.quotes:
                    out.append(f"- **{md_text(cell_label(layout, s.cell))}** "
                               f"({origin_note(s.n_human, s.n_model, w)}):")
                    out += [f"  - {quote_line(q, w)}" for q in s.quotes]
        out.append("")
    return out


def roles_markdown(result: Aggregate, w: Words = DUTCH) -> list:
    layout = result.layout
    header = [w["case"], w["role"]] + [cell_code(layout, c) for c in layout.cells()] + [w["human_model"]]
    rows = []
    for case in list(result.cases) + [result.total]:
        for role, counts, n_human, n_model in case.by_role:
            rows.append([w.case(case.case), role, *counts, f"{n_human}/{n_model}"])
    return [f"## {w['roles_heading']}", "", w["roles_note"], ""] + md_table(header, rows) + [""]


def comparison_markdown(result: Aggregate, comparison, w: Words = DUTCH, params=None) -> list:
    layout = result.layout
    out = [f"## {w['comparison_heading']}", ""]
    agree = sum(1 for row in comparison if row[4] in ("beide", "beide leeg"))
    out.append(w.say("comparison_note", agree=agree, n=len(comparison), both=w.verdict("beide"),
                     both_empty=w.verdict("beide leeg"), report_only=w.verdict("alleen rapport"),
                     data_only=w.verdict("alleen data")))
    out.append("")
    rows = []
    for case_name, cell, items, stats, verdict in comparison:
        listed = "; ".join(f"*{md_text(i.item)}*" if i.negatief else md_text(i.item) for i in items) or "–"
        rows.append([case_name, cell_label(layout, cell), _Escaped(listed), cell_summary(stats, params),
                     w.verdict(verdict)])
    header = [w["case"], w["cell"], w["report_items"], w.say("computed", negative=negative_word(params)), w["agree"]]
    out += md_table(header, rows)
    return out + [""]
