"""Where coders' spans differ, passage by passage, with the text: the sheet for the reconciliation meeting.

A *passage* is a stretch of a source that the coders' spans of a dimension cover together: spans
that overlap (of any coder and value) join one passage; spans that only touch do not. Within a
passage each character carries, per coder, the set of values that coder gave it; the passage's
*differing characters* are those on which the coders (those who coded the source) do not all give
the same set. What kind of difference it is:
- `value`: two coders marked the same characters with different values;
- `boundary`: they marked them with the same values but started or ended elsewhere;
- `missing`: a coder who coded the source marked nothing in this passage.
Passages are listed from the most differing characters down, so the meeting starts with the
largest disagreements.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .span_units import SpanStudy

KINDS = ("value", "boundary", "missing")
FIXED_COLUMNS = ("dimension", "source", "start_char", "end_char", "kind", "differing_characters", "text")
DECISION = "decision"


@dataclass(frozen=True)
class SpanPassage:
    dimension: str
    source: str
    start: int
    end: int
    kinds: tuple
    differing: int
    codes: dict          # coder -> ((value, start, end), ...) inside the passage
    text: str


def _value_bits(n_values: int) -> np.ndarray:
    """A code per value whose sums identify sets of values: powers of two (exact) for up to 63
    values, else fixed random 64-bit numbers (a collision has odds of about 2^-64)."""
    if n_values <= 63:
        return (np.uint64(1) << np.arange(n_values, dtype=np.uint64)).astype(np.uint64)
    return np.random.default_rng(0).integers(1, 2**63, n_values, dtype=np.uint64)


def _source_passages(dim, s: int, present: list, bits: np.ndarray) -> list:
    """(start, end, differing characters, kinds, span indices) of the passages of source s."""
    mine = np.flatnonzero((dim.source == s) & np.isin(dim.coder, present))
    if len(mine) == 0:
        return []
    mine = mine[np.argsort(dim.start[mine], kind="stable")]
    starts, ends = dim.start[mine], dim.end[mine]
    running = np.maximum.accumulate(ends)
    first = np.concatenate([[0], np.flatnonzero(starts[1:] >= running[:-1]) + 1])
    last = np.concatenate([first[1:], [len(mine)]])
    passage_of_span = np.repeat(np.arange(len(first)), last - first)
    cuts = np.unique(np.concatenate([starts, ends]))
    lengths = np.diff(cuts)
    row = np.searchsorted(present, dim.coder[mine])
    # each coder's set of values on each piece between consecutive cuts, as a sum of value bits
    change = np.zeros((len(present), len(cuts)), dtype=np.uint64)
    code = bits[dim.value[mine]]
    np.add.at(change, (row, np.searchsorted(cuts, starts)), code)
    np.subtract.at(change, (row, np.searchsorted(cuts, ends)), code)
    sets = np.cumsum(change, axis=1, dtype=np.uint64)[:, :-1]
    passage = np.searchsorted(starts[first], cuts[:-1], side="right") - 1
    differs = (sets != sets[0]).any(axis=0)
    marked = sets != 0
    lowest = np.where(marked, sets, np.iinfo(np.uint64).max).min(axis=0)
    highest = sets.max(axis=0)
    value_kind = differs & (marked.sum(axis=0) >= 2) & (lowest != highest)
    active = np.zeros((len(present), len(first)), dtype=bool)
    np.logical_or.at(active, (row, passage_of_span), True)
    gap_kind = differs & (~marked & active[:, passage]).any(axis=0)
    n = len(first)
    differing = np.bincount(passage[differs], weights=lengths[differs], minlength=n)
    has_value = np.bincount(passage[value_kind], minlength=n) > 0
    has_boundary = np.bincount(passage[gap_kind], minlength=n) > 0
    missing = ~active.all(axis=0)
    out = []
    for p in np.flatnonzero(differing > 0):
        kinds = tuple(k for k, flag in zip(KINDS, (has_value[p], has_boundary[p], missing[p])) if flag)
        out.append((int(starts[first[p]]), int(running[last[p] - 1]), int(differing[p]), kinds,
                    mine[first[p]:last[p]]))
    return out


def span_disagreements(study: SpanStudy, index: int) -> list:
    """SpanPassages of `study.dimensions[index]` where coders differ, most differing characters first."""
    dim = study.dimensions[index]
    members = dim.coders()
    bits = _value_bits(len(dim.values))
    out = []
    for s in range(len(study.sources)):
        present = [c for c in members if study.coded[c, s]]
        if len(present) < 2:
            continue
        for low, high, differing, kinds, spans_in in _source_passages(dim, s, present, bits):
            codes = {study.coders[c]: () for c in present}
            for i in spans_in:
                name = study.coders[dim.coder[i]]
                codes[name] += ((dim.values[dim.value[i]], int(dim.start[i]), int(dim.end[i])),)
            out.append(SpanPassage(dim.dimension, study.sources[s], low, high, kinds, differing, codes,
                                   study.texts[s][low:high] if study.texts[s] else ""))
    out.sort(key=lambda p: (-p.differing, p.source, p.start))
    return out


def describe_codes(codes: tuple) -> str:
    """A coder's spans in a passage as 'value start-end; ...' (empty: marked nothing)."""
    return "; ".join(f"{value} {start}-{end}" for value, start, end in codes)


def disagreement_sheet(study: SpanStudy, passages: list) -> tuple:
    """(header, rows): one row per passage, a column per coder with their spans, an empty `decision`."""
    header = FIXED_COLUMNS + tuple(study.coders) + (DECISION,)
    rows = [(p.dimension, p.source, p.start, p.end, ", ".join(p.kinds), p.differing, p.text,
             *[describe_codes(p.codes[c]) if c in p.codes else "" for c in study.coders], "")
            for p in passages]
    return header, rows


def check_listing_path(path) -> None:
    if Path(path).suffix.lower() not in (".xlsx", ".csv"):
        raise InputError(f"--disagreements {path}: write the span disagreements to a .xlsx or .csv file.")


def write_span_disagreements(path, header, rows) -> None:
    """Write the listing as .xlsx (text wrapped, decision column shaded) or .csv."""
    path = Path(path)
    check_listing_path(path)
    if path.suffix.lower() == ".csv":
        from ..files import write_table

        write_table(path, header, rows)
        return
    from ..files import build_workbook, save_workbook

    book = build_workbook({"disagreements": (header, rows)})
    style_sheet(book["disagreements"], header)
    save_workbook(book, path)


def style_sheet(sheet, header) -> None:
    """Wide wrapped text and a shaded decision column, for reading in the meeting."""
    from openpyxl.styles import Alignment, PatternFill

    letters = {name: sheet.cell(row=1, column=i + 1).column_letter for i, name in enumerate(header)}
    sheet.column_dimensions[letters["text"]].width = 80
    for cell in sheet[letters["text"]][1:]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    fill = PatternFill("solid", fgColor="FFF2CC")
    for cell in sheet[letters[DECISION]]:
        cell.fill = fill
