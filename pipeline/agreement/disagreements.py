"""Disagreements between coders, ready for a reconciliation meeting, and the consensus file after it.

`capcode disagreements` lists every unit where coders gave different values on a dimension, with
the fragment text, case and respondent, each coder's value and an empty `consensus` column. The
team fills in `consensus` (the value they settle on; leave it empty when unresolved) and
`capcode disagreements --merge SHEET` writes a consensus codings file: per unit and dimension the
sheet's consensus where given, else the value all coders agreed on (or the one coder's value).
With a codebook, values that no longer apply under the consensus (a conditional dimension on a
unit whose consensus is `relevant = nee`) are dropped.
"""

import logging
from collections import defaultdict
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import CodebookError, InputError, where
from .units import load_codings, reliability_data

log = logging.getLogger("capcode")

FIXED_COLUMNS = ("dimension", "fragment_id", "case", "respondent", "text")
CONSENSUS = "consensus"
CONSENSUS_COLUMNS = ("fragment_id", "coder", "dimension", "value")


def disagreement_table(data: Sequence, fragments=None) -> tuple:
    """(header, rows): one row per dimension and unit on which coders gave different values.

    `data` is the reliability data (`units.DimensionData`, conditions not applied, so
    every difference shows). Rows are sorted by dimension (codebook order), then by fragment order.
    Columns: dimension, fragment_id, case, respondent, text, one column per coder (empty: not
    coded), n_coders, consensus (empty, to be filled in).
    """
    by_id = {f.id: f for f in fragments} if fragments is not None else {}
    coders = tuple(dict.fromkeys(c for d in data for c in d.coders))
    header = FIXED_COLUMNS + coders + ("n_coders", CONSENSUS)
    rows = []
    for d in data:
        codes = d.codes
        coded = codes >= 0
        low = np.where(coded, codes, np.iinfo(codes.dtype).max).min(axis=0)
        high = np.where(coded, codes, -1).max(axis=0)
        for u in np.flatnonzero(coded.any(axis=0) & (low != high)):
            unit = d.units[u]
            fragment = by_id.get(unit)
            values = {d.coders[i]: d.values[codes[i, u]] for i in range(len(d.coders)) if codes[i, u] >= 0}
            rows.append((d.dimension, unit, fragment.case if fragment else "", fragment.respondent if fragment else "",
                         fragment.text if fragment else "", *[values.get(c, "") for c in coders],
                         len(values), ""))
    return header, rows


def write_disagreements(path, header, rows, allowed: Optional[dict] = None) -> None:
    """Write the sheet as .csv, .xlsx (wrapped text, a drop-down of values in `consensus`) or .jsonl."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        from ..files import write_table

        write_table(path, header, rows, sheet="disagreements")
        return
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..files import build_workbook, save_workbook

    book = build_workbook({"disagreements": (header, rows)})
    sheet = book["disagreements"]
    sheet.freeze_panes = "C2"
    letters = {name: sheet.cell(row=1, column=i + 1).column_letter for i, name in enumerate(header)}
    sheet.column_dimensions[letters["text"]].width = 80
    sheet.column_dimensions[letters["fragment_id"]].width = 28
    for cell in sheet[letters["text"]][1:]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    fill = PatternFill("solid", fgColor="FFF2CC")
    consensus = letters[CONSENSUS]
    for cell in sheet[consensus]:
        cell.fill = fill
    for dimension, values in (allowed or {}).items():
        listed = ",".join(values)
        cells = [f"{consensus}{i + 2}" for i, row in enumerate(rows) if row[0] == dimension]
        if not cells or len(listed) > 250 or any("," in v or '"' in v for v in values):
            continue
        check = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True, showErrorMessage=True)
        check.error, check.errorTitle = f"Choose a value of {dimension}", "Not a value"
        sheet.add_data_validation(check)
        for cell in cells:
            check.add(cell)
    save_workbook(book, path)


def run_disagreements(coding_paths, fragments, out, codebook=None, level=None, predictions=None,
                      as_name: str = "model", merge_coders: bool = False) -> str:
    """List the disagreements of coding files in `out` (.xlsx or .csv); return a one-line summary."""
    from ..codebook.read import load_codebook

    suffix = Path(out).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError(f"--out {out}: write the disagreements to a .xlsx or .csv file.")
    book = load_codebook(codebook) if codebook is not None else None
    if fragments is None:
        log.warning("no --fragments: the sheet has no fragment text, case or respondent.")
    codings, fragment_list, _ = load_codings(coding_paths, book, fragments, predictions, as_name, merge_coders)
    order = [f.id for f in fragment_list] if fragment_list is not None else None
    data = reliability_data(codings, book, level, order, apply_conditions=False)
    header, rows = disagreement_table(data, fragment_list)
    write_disagreements(out, header, rows, {d.dimension: d.values for d in data})
    per_dimension = defaultdict(int)
    for row in rows:
        per_dimension[row[0]] += 1
    detail = ", ".join(f"{d.dimension} {per_dimension[d.dimension]}" for d in data)
    return f"{len(rows)} disagreement(s) written to {out} ({detail}); fill in the '{CONSENSUS}' column.\n"


# ---- merge --------------------------------------------------------------------------------------


def _read_sheet(path) -> tuple:
    """(header, rows) of the reconciled sheet: in a workbook the sheet named 'disagreements' (as
    `capcode agreement --format xlsx` writes it beside the figures), else the first one."""
    from ..files import read_table

    return read_table(path, sheet="disagreements")


def read_reconciled(path, codebook=None) -> dict:
    """{(fragment_id, dimension): consensus value} from a filled-in disagreements sheet (empty = unresolved)."""
    header, rows = _read_sheet(path)
    missing = [c for c in ("fragment_id", "dimension", CONSENSUS) if c not in header]
    if missing:
        raise InputError(f"{path}: no column {', '.join(missing)}; give the sheet written by 'capcode disagreements' "
                         f"with its '{CONSENSUS}' column filled in (in an .xlsx, the sheet 'disagreements', else the first sheet).")
    out, problems = {}, []
    for row in rows:
        value = str(row.get(CONSENSUS, "")).strip()
        if not value:
            continue
        fragment_id, dimension = str(row["fragment_id"]).strip(), str(row["dimension"]).strip()
        if codebook is not None:
            if not codebook.has_dimension(dimension):
                problems.append(f"{where(path, row['row'], 'dimension')}: '{dimension}' is not a dimension of "
                                f"codebook '{codebook.name}'.")
                continue
            normal = codebook.dimension(dimension).normalize(value)
            if normal is None:
                problems.append(f"{where(path, row['row'], CONSENSUS)}: '{value}' is not a value of '{dimension}'; "
                                f"use one of {', '.join(codebook.value_ids(dimension))}.")
                continue
            value = normal
        key = (fragment_id, dimension)
        if key in out and out[key] != value:
            problems.append(f"{where(path, row['row'], CONSENSUS)}: {fragment_id} {dimension} has two consensus "
                            f"values ('{out[key]}', '{value}'); keep one.")
        out.setdefault(key, value)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        error = CodebookError if codebook is not None else InputError
        raise error("; ".join(problems[:5]) + more)
    return out


def consensus_codings(codings, reconciled: dict, codebook=None, coder: str = "consensus") -> tuple:
    """(consensus Coding records, unresolved [(fragment_id, dimension)], dropped by condition count).

    Per unit and dimension: the reconciled value where the sheet gives one, else the value all
    coders gave when they agree (one coder's value counts). With a codebook, values of a dimension
    whose condition the consensus contradicts are dropped.
    """
    from ..records import Coding

    given = defaultdict(dict)   # (unit, dimension) -> {coder: value}
    units, dimensions = {}, {}
    for c in codings:
        given[(c.fragment_id, c.dimension)].setdefault(c.coder, c.value)
        units.setdefault(c.fragment_id, None)
        dimensions.setdefault(c.dimension, None)
    known = set(units)
    for unit, dimension in reconciled:
        if unit not in known:
            raise InputError(f"reconciled sheet: fragment '{unit}' has no codes in the coding files; was the sheet "
                             "made from these files?")
        dimensions.setdefault(dimension, None)
    chosen = defaultdict(dict)
    unresolved = []
    for key in list(given) + [k for k in reconciled if k not in given]:
        unit, dimension = key
        if key in reconciled:
            chosen[unit][dimension] = reconciled[key]
            continue
        values = set(given[key].values())
        if len(values) == 1:
            chosen[unit][dimension] = values.pop()
        else:
            unresolved.append(key)
    if codebook is not None:  # nothing to resolve where the consensus rules the dimension out
        unresolved = [(u, d) for u, d in unresolved if not _ruled_out(codebook, d, chosen.get(u, {}))]
    order = list(codebook.dimension_ids) if codebook is not None else []
    order += [d for d in dimensions if d not in order]
    out, dropped = [], 0
    for unit in units:
        codes = chosen.get(unit, {})
        for dimension in order:
            if dimension not in codes:
                continue
            if codebook is not None and codebook.has_dimension(dimension) and not codebook.applies(dimension, codes):
                dropped += 1
                continue
            out.append(Coding(unit, coder, dimension, codes[dimension]))
    return out, unresolved, dropped


def _ruled_out(codebook, dimension: str, codes: dict) -> bool:
    """True when a condition in the chain of `dimension` has a consensus value other than the one it needs."""
    if not codebook.has_dimension(dimension):
        return False
    condition = codebook.dimension(dimension).condition
    while condition is not None:
        found = codes.get(condition.dimension)
        if found is not None and found != condition.value:
            return True
        condition = codebook.dimension(condition.dimension).condition
    return False


def run_merge(coding_paths, reconciled_path, out, codebook=None, fragments=None, coder: str = "consensus",
              merge_coders: bool = False) -> str:
    """Write the consensus codings (long form: fragment_id, coder, dimension, value); return a summary."""
    from ..codebook.read import load_codebook
    from ..files import write_table

    if Path(out).suffix.lower() not in (".csv", ".xlsx", ".jsonl"):
        raise InputError(f"--out {out}: write the consensus codings to a .csv, .xlsx or .jsonl file.")
    book = load_codebook(codebook) if codebook is not None else None
    codings, _, _ = load_codings(coding_paths, book, fragments, merge_coders=merge_coders)
    reliability_data(codings, book, apply_conditions=False)  # refuses a coder with two values for one code
    reconciled = read_reconciled(reconciled_path, book)
    merged, unresolved, dropped = consensus_codings(codings, reconciled, book, coder)
    write_table(out, CONSENSUS_COLUMNS, [(c.fragment_id, c.coder, c.dimension, c.value) for c in merged],
                sheet="codings")
    if unresolved:
        examples = "; ".join(f"{u} {d}" for u, d in unresolved[:3])
        log.warning("%d disagreement(s) have no consensus in %s and are left out (e.g. %s).",
                    len(unresolved), reconciled_path, examples)
    units = len({c.fragment_id for c in merged})
    text = (f"{len(merged)} consensus code(s) on {units} fragment(s) written to {out}: "
            f"{len(reconciled)} from the reconciled sheet, {len(unresolved)} unresolved (left out)")
    if dropped:
        text += f", {dropped} dropped because the consensus contradicts their condition"
    return text + ".\n"
