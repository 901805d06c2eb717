"""A SpanAgreementReport as a readable table, JSON, tidy CSV rows or workbook sheets.

JSON puts each dimension's figures under `dimensions.<id>.unitizing`; the table and the workbook
also show the figures per source (NVivo's coding comparison is per source and code).
"""

from typing import Optional

import numpy as np

from .characters import TABLE_CELLS
from .formats import ALPHA_BANDS, KAPPA_BANDS
from .span_results import SpanAgreementReport, SpanDimensionAgreement
from .statistics import krippendorff_band

BOOTSTRAP_METHOD = "percentile interval; sources resampled with replacement (seeded per dimension)"
CSV_HEADER = ("dimension", "statistic", "coder_a", "coder_b", "value", "source", "estimate")
TOP_PASSAGES = 5


def _opt(x) -> Optional[float]:
    return None if x is None or not np.isfinite(x) else float(x)


def _kappa_kind(result: SpanDimensionAgreement) -> str:
    return "Cohen" if len(result.coders) <= 2 else "Light (mean of the pairs' Cohen)"


def dimension_to_json(result: SpanDimensionAgreement, passages=()) -> dict:
    """The span figures of one dimension as plain JSON types (None for undefined)."""
    by_value = {}
    for v in result.by_value:
        by_value[v.value] = {
            "alpha_u": v.alpha_u, "alpha_u_ci95": [v.alpha_interval.low, v.alpha_interval.high],
            "observed": v.observed, "expected": v.expected, "n_units": v.n_units,
            "coded_characters": dict(zip(result.coders, v.coded_characters)),
            "character_kappa": v.character_kappa,
            "character_kappa_ci95": [v.kappa_interval.low, v.kappa_interval.high],
            "character_agreement": v.character_agreement,
        }
    pairs = [{"coder_a": p.coder_a, "coder_b": p.coder_b, "n_sources": p.n_sources, "n_characters": p.n_characters,
              "alpha_u": p.alpha_u,
              "by_value": {pv.value: {"alpha_u": pv.alpha_u, "observed": pv.observed, "expected": pv.expected,
                                      "character_kappa": pv.character_kappa,
                                      "character_agreement": pv.character_agreement,
                                      "characters": dict(zip(TABLE_CELLS, pv.table))} for pv in p.by_value}}
             for p in result.pairs]
    kinds = {k: sum(1 for p in passages if k in p.kinds) for k in ("value", "boundary", "missing")}
    return {"unitizing": {
        "coders": list(result.coders), "n_coders": len(result.coders),
        "n_sources": result.n_sources, "n_characters": result.n_characters,
        "sources_left_out": result.sources_left_out,
        "alpha_u": result.alpha_u, "alpha_u_ci95": [result.interval.low, result.interval.high],
        "alpha_u_interpretation": krippendorff_band(result.alpha_u),
        "observed": result.observed, "expected": result.expected,
        "bootstrap": {"resamples": result.interval.resamples, "defined": result.interval.defined,
                      "seed": result.interval.seed},
        "character_kappa_kind": _kappa_kind(result),
        "by_value": by_value, "pairs": pairs,
        "merged_spans": dict(result.merged),
        "disagreements": {"passages": len(passages), **kinds},
        "notes": list(result.notes),
    }}


def report_to_json(report: SpanAgreementReport, passages: dict) -> dict:
    return {
        "unit": "span",
        "codebook": report.codebook or None,
        "coders": list(report.coders),
        "n_sources": report.n_sources,
        "bootstrap": {"resamples": report.resamples, "seed": report.seed, "method": BOOTSTRAP_METHOD},
        "interpretation": {"alpha_u": ALPHA_BANDS, "kappa": KAPPA_BANDS},
        "dimensions": {r.dimension: dimension_to_json(r, passages.get(r.dimension, ())) for r in report.dimensions},
        "notes": list(report.notes),
    }


def _num(value, digits: int = 3) -> str:
    return "undefined" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _short(value) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.3f}"


def _ci(interval) -> str:
    return "" if interval.low is None else f"[{interval.low:.3f}, {interval.high:.3f}]"


def _pct(value) -> str:
    return "undefined" if value is None else f"{value:.1f}%"


def _dimension_lines(r: SpanDimensionAgreement, passages, max_sources: int) -> list:
    lines = ["", f"== {r.dimension} (spans; values {', '.join(r.values)})"]
    lines.append(f"  coders: {', '.join(r.coders) or 'none'}   sources every coder coded: {r.n_sources} "
                 f"({r.n_characters:,} characters)" + (f"; {r.sources_left_out} left out" if r.sources_left_out else ""))
    band = krippendorff_band(r.alpha_u)
    ci = _ci(r.interval)
    lines.append(f"  Krippendorff's alpha-U         {_num(r.alpha_u):>9}" + (f"   95% CI {ci}" if ci else "")
                 + (f"   {band}" if band else ""))
    kind = "Cohen's kappa" if len(r.coders) <= 2 else "Light's kappa"
    lines.append(f"  per value          alpha-U  95% CI            D_o / D_e           char. {kind:<14} "
                 "95% CI            char. agreement")
    for v in r.by_value:
        lines.append(f"    {v.value:<16} {_num(v.alpha_u):>7}  {_ci(v.alpha_interval):<17} "
                     f"{_num(v.observed, 5):>8} / {_num(v.expected, 5):<8}  {_num(v.character_kappa):>20}  "
                     f"{_ci(v.kappa_interval):<17} {_pct(v.character_agreement):>10}")
    if len(r.pairs) > 1 or (r.pairs and r.pairs[0].n_sources != r.n_sources):
        lines.append("  pairs of coders (on the sources both coded): alpha-U; character kappa per value")
        for p in r.pairs:
            kappas = ", ".join(f"{pv.value} {_short(pv.character_kappa)}" for pv in p.by_value)
            lines.append(f"    {p.coder_a} - {p.coder_b}: {_num(p.alpha_u)}  ({p.n_sources} sources; {kappas})")
    for v in r.by_value:
        coded = ", ".join(f"{c} {n:,}" for c, n in zip(r.coders, v.coded_characters))
        lines.append(f"  characters coded '{v.value}': {coded}")
    if r.per_source and r.per_source[0].sources:
        shown = r.per_source[0].sources[:max_sources]
        lines.append(f"  per source: alpha-U / character {kind} per value ('-': undefined)")
        width = max(len(s) for s in shown)
        lines.append("    " + " " * width + "".join(f"  {v.value:>15}" for v in r.per_source))
        for k, source in enumerate(shown):
            cells = "".join(f"  {_short(f.alpha_u[k]) + ' / ' + _short(f.character_kappa[k]):>15}" for f in r.per_source)
            lines.append(f"    {source:<{width}}{cells}")
        if len(r.per_source[0].sources) > max_sources:
            lines.append(f"    ... {len(r.per_source[0].sources) - max_sources} more sources: see --format xlsx or csv.")
    if passages:
        lines.append(f"  largest disagreements ({len(passages)} passage(s) where coders differ; the listing with the "
                     "text: --disagreements FILE or --format xlsx):")
        for p in passages[:TOP_PASSAGES]:
            codes = " | ".join(f"{c}: " + ("; ".join(f"{v} {s}-{e}" for v, s, e in spans) or "nothing")
                               for c, spans in p.codes.items())
            lines.append(f"    {p.source} {p.start}-{p.end} ({p.differing} characters differ; {', '.join(p.kinds)}): "
                         f"{codes}")
    lines += [f"  note: {n}" for n in r.notes]
    return lines


def format_table(report: SpanAgreementReport, passages: dict, max_sources: int = 40) -> str:
    lines = ["Inter-coder agreement on spans (unitizing)"]
    lines.append(f"coders ({len(report.coders)}): {', '.join(report.coders)}")
    lines.append(f"codebook: {report.codebook}" if report.codebook else "codebook: none (dimensions and values as coded)")
    lines.append(f"alpha-U and kappa 95% CI: bootstrap, {report.resamples} resamples of sources, seed {report.seed}")
    lines.append("alpha-U: Krippendorff (1995, 2004); character kappa: NVivo's coding comparison, Cohen's kappa "
                 "over characters, sources pooled")
    lines.append(f"bands: {ALPHA_BANDS}.")
    lines.append(f"       {KAPPA_BANDS}.")
    lines += [f"note: {n}" for n in report.notes]
    for r in report.dimensions:
        lines += _dimension_lines(r, passages.get(r.dimension, []), max_sources)
    return "\n".join(lines) + "\n"


def report_rows(report: SpanAgreementReport) -> list:
    """Every figure as one tidy row (CSV_HEADER), per-source figures included."""
    rows = []
    for r in report.dimensions:
        def add(statistic, estimate, coder_a="", coder_b="", value="", source=""):
            rows.append((r.dimension, statistic, coder_a, coder_b, value, source,
                         "" if estimate is None or (isinstance(estimate, float) and not np.isfinite(estimate))
                         else estimate))
        add("n_sources", r.n_sources)
        add("n_characters", r.n_characters)
        add("alpha_u", r.alpha_u)
        add("alpha_u_ci95_low", r.interval.low)
        add("alpha_u_ci95_high", r.interval.high)
        add("observed", r.observed)
        add("expected", r.expected)
        for v in r.by_value:
            for name, x in (("alpha_u", v.alpha_u), ("alpha_u_ci95_low", v.alpha_interval.low),
                            ("alpha_u_ci95_high", v.alpha_interval.high), ("observed", v.observed),
                            ("expected", v.expected), ("character_kappa", v.character_kappa),
                            ("character_kappa_ci95_low", v.kappa_interval.low),
                            ("character_kappa_ci95_high", v.kappa_interval.high),
                            ("character_agreement", v.character_agreement), ("n_units", v.n_units)):
                add(name, x, value=v.value)
        for p in r.pairs:
            add("alpha_u", p.alpha_u, p.coder_a, p.coder_b)
            for pv in p.by_value:
                for name, x in (("alpha_u", pv.alpha_u), ("observed", pv.observed), ("expected", pv.expected),
                                ("character_kappa", pv.character_kappa),
                                ("character_agreement", pv.character_agreement)):
                    add(name, x, p.coder_a, p.coder_b, pv.value)
                for cell, n in zip(TABLE_CELLS, pv.table):
                    add(f"characters_{cell}", n, p.coder_a, p.coder_b, pv.value)
        for f in r.per_source:
            for k, source in enumerate(f.sources):
                add("alpha_u", _opt(f.alpha_u[k]), value=f.value, source=source)
                for j, p in enumerate(r.pairs):
                    add("character_kappa", _opt(f.pair_kappa[j, k]), p.coder_a, p.coder_b, f.value, source)
                    add("character_agreement", _opt(f.pair_agreement[j, k]), p.coder_a, p.coder_b, f.value, source)
    return rows


def _blank(x):
    return "" if x is None or (isinstance(x, float) and not np.isfinite(x)) else x


def _percent(part, whole):
    return "" if not whole else 100.0 * float(part) / float(whole)


def report_sheets(report: SpanAgreementReport) -> dict:
    """Workbook sheets: figures (dimension and value rows), pairs, per_source (as NVivo: per source,
    value and pair, with the share of characters both / only A / only B / neither coded), about."""
    figures = (("dimension", "value", "n_sources", "n_characters", "alpha_u", "alpha_u_ci95_low", "alpha_u_ci95_high",
                "alpha_u_interpretation", "observed", "expected", "character_kappa", "character_kappa_ci95_low",
                "character_kappa_ci95_high", "character_agreement", "notes"), [])
    pairs = (("dimension", "coder_a", "coder_b", "value", "n_sources", "alpha_u", "observed", "expected",
              "character_kappa", "character_agreement", *[f"characters_{c}" for c in TABLE_CELLS]), [])
    sources = (("dimension", "source", "value", "coder_a", "coder_b", "characters", "alpha_u", "character_kappa",
                "character_agreement", "percent_both", "percent_a_only", "percent_b_only", "percent_neither"), [])
    for r in report.dimensions:
        figures[1].append((r.dimension, "(all values)", r.n_sources, r.n_characters, _blank(r.alpha_u),
                           _blank(r.interval.low), _blank(r.interval.high), krippendorff_band(r.alpha_u),
                           _blank(r.observed), _blank(r.expected), "", "", "", "", " | ".join(r.notes)))
        for v in r.by_value:
            figures[1].append((r.dimension, v.value, r.n_sources, r.n_characters, _blank(v.alpha_u),
                               _blank(v.alpha_interval.low), _blank(v.alpha_interval.high), krippendorff_band(v.alpha_u),
                               _blank(v.observed), _blank(v.expected), _blank(v.character_kappa),
                               _blank(v.kappa_interval.low), _blank(v.kappa_interval.high),
                               _blank(v.character_agreement), ""))
        for p in r.pairs:
            pairs[1].append((r.dimension, p.coder_a, p.coder_b, "(all values)", p.n_sources, _blank(p.alpha_u),
                             "", "", "", "", "", "", "", ""))
            for pv in p.by_value:
                pairs[1].append((r.dimension, p.coder_a, p.coder_b, pv.value, p.n_sources, _blank(pv.alpha_u),
                                 _blank(pv.observed), _blank(pv.expected), _blank(pv.character_kappa),
                                 _blank(pv.character_agreement), *pv.table))
        for f in r.per_source:
            for k, source in enumerate(f.sources):
                n = int(f.characters[k])
                if len(r.pairs) > 1:
                    sources[1].append((r.dimension, source, f.value, "all coders", "", n, _blank(_opt(f.alpha_u[k])),
                                       _blank(_opt(f.character_kappa[k])), _blank(_opt(f.character_agreement[k])),
                                       "", "", "", ""))
                for j, p in enumerate(r.pairs):
                    table = f.pair_tables[j, k]
                    sources[1].append((r.dimension, source, f.value, p.coder_a, p.coder_b, n,
                                       _blank(_opt(f.alpha_u[k])) if len(r.pairs) == 1 else "",
                                       _blank(_opt(f.pair_kappa[j, k])), _blank(_opt(f.pair_agreement[j, k])),
                                       *[_percent(x, n) for x in table]))
    about = (("setting", "value"),
             [("unit", "span (unitizing): coders' own text spans"), ("codebook", report.codebook or "none"),
              ("coders", ", ".join(report.coders)), ("sources", report.n_sources),
              ("bootstrap resamples", report.resamples), ("bootstrap seed", report.seed),
              ("bootstrap method", BOOTSTRAP_METHOD), ("alpha bands", ALPHA_BANDS), ("kappa bands", KAPPA_BANDS)]
             + [("note", n) for n in report.notes])
    return {"figures": figures, "pairs": pairs, "per_source": sources, "about": about}

