"""The coding sheet (`capcode coding-sheet`) and the codings template: one row per fragment, a pick list per dimension."""

import logging
from pathlib import Path

from ..codebook.read import load_codebook
from ..codebook.records import Codebook
from ..files import build_workbook, read_fragments, read_table, save_workbook, write_table
from .layout import SHEET_COLUMNS

log = logging.getLogger("capcode")


# ---- the coding sheet and the codings template ---------------------------------------------


def sheet_header(codebook: Codebook) -> list:
    return list(SHEET_COLUMNS) + list(codebook.dimension_ids)


def existing_codes(path, codebook: Codebook) -> dict:
    """{fragment id: {dimension: value as written}} from a codings file, for the forms with a fragment id.

    Wide (fragment_id + a column per dimension), long (fragment_id, dimension, value) and span
    form (source, start_char, end_char: the fragment with exactly that span) are read; the
    codes are not checked here (`capcode codings check` does that).
    """
    path = Path(path)
    if not path.exists():
        return {}
    header, rows = read_table(path)
    columns = {h.strip().casefold(): h for h in header}
    dims = {d.casefold(): d for d in codebook.dimension_ids}
    codes = {}
    for row in rows:
        if "fragment_id" in columns:
            key = str(row.get(columns["fragment_id"], "")).strip()
        elif all(c in columns for c in ("source", "start_char", "end_char")):
            key = (f"{str(row.get(columns['source'], '')).strip()}#{str(row.get(columns['start_char'], '')).strip()}"
                   f"-{str(row.get(columns['end_char'], '')).strip()}")
        else:
            return {}
        if not key:
            continue
        found = codes.setdefault(key, {})
        if "dimension" in columns and "value" in columns:
            dimension = dims.get(str(row.get(columns["dimension"], "")).strip().casefold())
            value = str(row.get(columns["value"], "")).strip()
            if dimension and value:
                found.setdefault(dimension, value)
            continue
        for folded, dimension in dims.items():
            value = str(row.get(columns[folded], "")).strip() if folded in columns else ""
            if value:
                found.setdefault(dimension, value)
    return {key: found for key, found in codes.items() if found}


def write_coding_sheet(fragments, codebook: Codebook, out, codes=None) -> dict:
    """A sheet to code: one row per fragment (id, case, respondent, question, text, a cell per dimension).

    `codes` ({fragment id: {dimension: value}}) fills in what is coded already. In .xlsx every
    dimension cell has a pick list of the codebook's values, and a second sheet lists them
    with their descriptions. Returns counts: fragments, coded (fragments with a code) and
    dropped (coded fragment ids that are no longer among the fragments).
    """
    codes = codes or {}
    header = sheet_header(codebook)
    rows, coded, ids = [], 0, set()
    for fragment in fragments:
        ids.add(fragment.id)
        given = codes.get(fragment.id, {})
        coded += bool(given)
        rows.append([fragment.id, fragment.case, fragment.respondent, fragment.context, fragment.text]
                    + [given.get(d, "") for d in codebook.dimension_ids])
    counts = {"fragments": len(rows), "coded": coded, "dropped": len(set(codes) - ids)}
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        write_table(out, header, rows)
        return counts
    book = build_workbook({"fragmenten": (header, rows), "codeboek": codebook_rows(codebook)})
    _format_sheet(book["fragmenten"], codebook, len(rows))
    save_workbook(book, out)
    return counts


def codebook_rows(codebook: Codebook) -> tuple:
    """(header, rows) of the codebook sheet: every value of every dimension with its description."""
    header = ["dimensie", "waarde", "label", "omschrijving", "alleen als"]
    rows = [[d.id, v.id, v.label, v.description or d.description, str(d.condition or "")]
            for d in codebook.dimensions for v in d.values]
    return header, rows


def _format_sheet(sheet, codebook: Codebook, n_rows: int) -> None:
    """Column widths, wrapped text, and a pick list of values in every dimension column."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    widths = {"fragment_id": 28, "case": 10, "respondent": 13, "context": 45, "text": 80}
    for index, name in enumerate(sheet_header(codebook), start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = widths.get(name, max(14, len(name) + 2))
        if name in ("context", "text"):
            for cell in sheet[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = max(n_rows + 1, 2)
    for index, dimension in enumerate(codebook.dimensions, start=len(SHEET_COLUMNS) + 1):
        choices = ",".join(dimension.value_ids)
        if len(choices) > 250:  # Excel's limit for a list written in the rule itself
            continue
        rule = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True,
                              error=f"{dimension.id}: kies een van {choices}", errorTitle="Waarde niet in het codeboek",
                              showErrorMessage=True)
        letter = get_column_letter(index)
        rule.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(rule)
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions


def run_coding_sheet(fragments_path, codebook, out, codings_path=None) -> dict:
    """Write the coding sheet for a fragments file, with the codes of `codings_path` filled in."""
    codebook = load_codebook(codebook)
    codes = existing_codes(codings_path, codebook) if codings_path else {}
    counts = write_coding_sheet(read_fragments(fragments_path), codebook, out, codes)
    if counts["dropped"]:
        log.warning(f"{codings_path}: {counts['dropped']} coded fragment(s) are no longer among the fragments of "
                    f"{fragments_path} (were the transcripts or segment settings changed?); they are not in {out}, "
                    "so keep the codings file rather than saving the sheet over it, or code those fragments again.")
    return counts
