"""An AgreementReport as a readable table, JSON, tidy CSV rows or workbook sheets.

The table names the interpretation bands it uses; JSON holds plain numbers (null for undefined);
CSV has one figure per row (CSV_HEADER); the workbook has a `figures` sheet first.
"""

import math
from pathlib import Path
from typing import Optional

from ..errors import InputError
from .results import AgreementReport, DimensionAgreement, PairAgreement
from .statistics import krippendorff_band, landis_koch

FORMATS = ("table", "json", "xlsx", "csv")
BOOTSTRAP_METHOD = "percentile interval; pairable units resampled with replacement"
KAPPA_BANDS = ("Landis & Koch (1977): < 0 poor, 0-0.20 slight, 0.21-0.40 fair, 0.41-0.60 moderate, "
               "0.61-0.80 substantial, 0.81-1 almost perfect")
ALPHA_BANDS = ("Krippendorff (2004): alpha >= 0.800 reliable; 0.667-0.800 tentative conclusions only; "
               "< 0.667 unreliable")


def dimension_to_json(result: DimensionAgreement) -> dict:
    """The figures of one dimension as plain JSON types (None for undefined)."""
    return {
        "level": result.level,
        "values": list(result.values),
        "n_units": result.n_units,
        "n_units_single_coder": result.n_units_single,
        "n_coders": result.n_coders,
        "coders": list(result.coders),
        "n_pairable_values": result.n_pairable_values,
        "percent_agreement": result.percent_agreement,
        "percent_unanimous": result.unanimous,
        "krippendorff_alpha": result.krippendorff_alpha,
        "alpha_interpretation": krippendorff_band(result.krippendorff_alpha),
        "alpha_ci95": [result.bootstrap.low, result.bootstrap.high],
        "alpha_bootstrap": {"resamples": result.bootstrap.resamples, "defined": result.bootstrap.defined,
                            "seed": result.bootstrap.seed},
        "fleiss_kappa": result.fleiss_kappa,
        "fleiss_interpretation": landis_koch(result.fleiss_kappa),
        "gwet_ac1": result.gwet_ac1,
        "brennan_prediger": result.brennan_prediger,
        "cohen_kappa": [{"coder_a": p.coder_a, "coder_b": p.coder_b, "kappa": p.kappa, "n_units": p.n_units,
                         "percent_agreement": p.percent_agreement, "interpretation": landis_koch(p.kappa)}
                        for p in result.pairs],
        "per_value": [{"value": v.value, "n": v.n, "share": v.share, "specific_agreement": v.specific_agreement}
                      for v in result.per_value],
        "confusion": [{"coder_a": p.coder_a, "coder_b": p.coder_b, "values": list(result.values),
                       "matrix": p.confusion.tolist()} for p in result.pairs],
        "condition": ({"only_when": result.condition, "units": result.condition_units,
                       "left_out": result.condition_left_out} if result.condition else None),
        "notes": list(result.notes),
    }


def report_to_json(report: AgreementReport) -> dict:
    """The whole report as JSON: figures per dimension under `dimensions.<id>`."""
    return {
        "codebook": report.codebook or None,
        "coders": list(report.coders),
        "bootstrap": {"resamples": report.resamples, "seed": report.seed, "method": BOOTSTRAP_METHOD},
        "interpretation": {"kappa": KAPPA_BANDS, "alpha": ALPHA_BANDS},
        "dimensions": {r.dimension: dimension_to_json(r) for r in report.dimensions},
        "notes": list(report.notes),
    }


def _num(value: Optional[float], digits: int = 3) -> str:
    return "undefined" if value is None else f"{value:.{digits}f}"


def _pct(value: Optional[float]) -> str:
    return "undefined" if value is None else f"{value:.1f}%"


def _confusion_lines(pair: PairAgreement, values: tuple) -> list:
    width = max([len(v) for v in values] + [6])
    lines = [f"    {pair.coder_a} (rows) x {pair.coder_b} (columns), {pair.n_units} shared units:"]
    lines.append("      " + " " * width + "".join(f" {v:>{width}}" for v in values))
    for value, row in zip(values, pair.confusion):
        lines.append(f"      {value:<{width}}" + "".join(f" {int(n):>{width}}" for n in row))
    return lines


def format_table(report: AgreementReport, max_confusion_pairs: int = 3) -> str:
    """A readable summary per dimension, with the conventional interpretation bands named."""
    lines = ["Inter-coder agreement"]
    lines.append(f"coders ({len(report.coders)}): {', '.join(report.coders)}")
    lines.append(f"codebook: {report.codebook}" if report.codebook else
                 "codebook: none (dimensions and values as coded)")
    lines.append(f"alpha 95% CI: bootstrap, {report.resamples} resamples of units, seed {report.seed}")
    lines.append(f"bands: {ALPHA_BANDS}.")
    lines.append(f"       {KAPPA_BANDS}.")
    lines += [f"note: {n}" for n in report.notes]
    for r in report.dimensions:
        lines.append("")
        lines.append(f"== {r.dimension} ({r.level}; values {', '.join(r.values)})")
        lines.append(f"  units coded by 2+ coders: {r.n_units}   coders: {r.n_coders}   pairable codes: "
                     f"{r.n_pairable_values}")
        unanimous = "" if r.unanimous is None else f"   (all coders agree on {_pct(r.unanimous)} of units)"
        lines.append(f"  percent agreement (pairwise)  {_pct(r.percent_agreement):>10}{unanimous}")
        ci = ("" if r.bootstrap.low is None else
              f"   95% CI [{r.bootstrap.low:.3f}, {r.bootstrap.high:.3f}]")
        band = krippendorff_band(r.krippendorff_alpha)
        lines.append(f"  Krippendorff's alpha          {_num(r.krippendorff_alpha):>10}{ci}"
                     + (f"   {band}" if band else ""))
        band = landis_koch(r.fleiss_kappa)
        lines.append(f"  Fleiss' kappa                 {_num(r.fleiss_kappa):>10}"
                     + (f"   {band}" if band else ""))
        lines.append(f"  Gwet's AC1                    {_num(r.gwet_ac1):>10}")
        lines.append(f"  Brennan-Prediger              {_num(r.brennan_prediger):>10}")
        if r.pairs:
            lines.append("  Cohen's kappa per pair of coders:")
            for p in r.pairs:
                band = landis_koch(p.kappa)
                lines.append(f"    {p.coder_a} - {p.coder_b}: {_num(p.kappa)}"
                             + (f"  {band}" if band else "") + f"  ({p.n_units} shared units, "
                             f"{_pct(p.percent_agreement)} agree)")
        lines.append("  per value: n codes (share), specific agreement")
        for v in r.per_value:
            share = "" if v.share is None else f" ({v.share:.0%})"
            lines.append(f"    {v.value:<20} {v.n:>7}{share:<7} {_num(v.specific_agreement)}")
        if r.pairs and len(r.pairs) <= max_confusion_pairs:
            lines.append("  confusion matrices:")
            for p in r.pairs:
                lines += _confusion_lines(p, r.values)
        elif r.pairs:
            lines.append(f"  confusion matrices: {len(r.pairs)} coder pairs; see --format xlsx, csv or json.")
        lines += [f"  note: {n}" for n in r.notes]
    return "\n".join(lines) + "\n"


CSV_HEADER = ("dimension", "statistic", "coder_a", "coder_b", "value_a", "value_b", "estimate")


def report_rows(report: AgreementReport) -> list:
    """Every figure as one tidy row (see CSV_HEADER); confusion counts as statistic 'confusion'."""
    rows = []
    for r in report.dimensions:
        def add(statistic, estimate, coder_a="", coder_b="", value_a="", value_b=""):
            rows.append((r.dimension, statistic, coder_a, coder_b, value_a, value_b,
                         "" if estimate is None else estimate))
        add("n_units", r.n_units)
        add("n_coders", r.n_coders)
        add("percent_agreement", r.percent_agreement)
        add("krippendorff_alpha", r.krippendorff_alpha)
        add("alpha_ci95_low", r.bootstrap.low)
        add("alpha_ci95_high", r.bootstrap.high)
        add("fleiss_kappa", r.fleiss_kappa)
        add("gwet_ac1", r.gwet_ac1)
        add("brennan_prediger", r.brennan_prediger)
        for p in r.pairs:
            add("cohen_kappa", p.kappa, p.coder_a, p.coder_b)
        for v in r.per_value:
            add("n_codes", v.n, value_a=v.value)
            add("specific_agreement", v.specific_agreement, value_a=v.value)
        for p in r.pairs:
            for i, value_a in enumerate(r.values):
                for j, value_b in enumerate(r.values):
                    add("confusion", int(p.confusion[i, j]), p.coder_a, p.coder_b, value_a, value_b)
    return rows


def _blank(value):
    return "" if value is None else value


def _share(value):
    """A proportion for the workbook: a number with a percent format (87.3%), empty when undefined."""
    from ..files import FinePercent

    return "" if value is None else FinePercent(value)


def report_sheets(report: AgreementReport) -> dict:
    """Sheets for the workbook: 'figures' (one row per dimension) first, then the details."""
    figures = (("dimension", "level", "n_units", "n_coders", "percent_agreement", "krippendorff_alpha",
                "alpha_ci95_low", "alpha_ci95_high", "alpha_interpretation", "fleiss_kappa", "fleiss_interpretation",
                "gwet_ac1", "brennan_prediger", "condition", "notes"),
               [(r.dimension, r.level, r.n_units, r.n_coders, _share(r.percent_agreement), _blank(r.krippendorff_alpha),
                 _blank(r.bootstrap.low), _blank(r.bootstrap.high), krippendorff_band(r.krippendorff_alpha),
                 _blank(r.fleiss_kappa), landis_koch(r.fleiss_kappa), _blank(r.gwet_ac1), _blank(r.brennan_prediger),
                 r.condition, " | ".join(r.notes)) for r in report.dimensions])
    pairs = (("dimension", "coder_a", "coder_b", "n_units", "cohen_kappa", "interpretation", "percent_agreement"),
             [(r.dimension, p.coder_a, p.coder_b, p.n_units, _blank(p.kappa), landis_koch(p.kappa),
               _share(p.percent_agreement)) for r in report.dimensions for p in r.pairs])
    values = (("dimension", "value", "n_codes", "share", "specific_agreement"),
              [(r.dimension, v.value, v.n, _share(v.share), _share(v.specific_agreement))
               for r in report.dimensions for v in r.per_value])
    confusion = (("dimension", "coder_a", "coder_b", "value_a", "value_b", "units"),
                 [(r.dimension, p.coder_a, p.coder_b, va, vb, int(p.confusion[i, j]))
                  for r in report.dimensions for p in r.pairs
                  for i, va in enumerate(r.values) for j, vb in enumerate(r.values)])
    about = (("setting", "value"),
             [("codebook", report.codebook or "none"), ("coders", ", ".join(report.coders)),
              ("bootstrap resamples", report.resamples), ("bootstrap seed", report.seed),
              ("bootstrap method", BOOTSTRAP_METHOD), ("alpha bands", ALPHA_BANDS), ("kappa bands", KAPPA_BANDS)]
             + [("note", n) for n in report.notes])
    return {"figures": figures, "cohen_kappa": pairs, "per_value": values, "confusion": confusion, "about": about}


def output_format(fmt: Optional[str], out) -> str:
    """The output format: as given, else from --out's extension, else a table."""
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    if fmt is None:
        fmt = suffix if suffix in ("json", "xlsx", "csv") else "table"
    if fmt not in FORMATS:
        raise InputError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    if fmt == "xlsx" and (not out or suffix != "xlsx"):
        raise InputError("--format xlsx writes a workbook: give --out FILE.xlsx.")
    if fmt != "xlsx" and suffix == "xlsx":  # text in a .xlsx file would not open in a spreadsheet
        raise InputError(f"{out}: --format {fmt} writes text, not a workbook; leave out --format "
                         "(or use --format xlsx) for an .xlsx file.")
    return fmt


def json_safe(value):
    """JSON-safe: any non-finite number (there should be none) becomes null rather than invalid NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def csv_text(header, rows) -> str:
    """The figures as spreadsheet-safe CSV (coder names and values that look like formulas prefixed)."""
    from ..files import csv_text as safe_csv_text

    return safe_csv_text(header, rows)
