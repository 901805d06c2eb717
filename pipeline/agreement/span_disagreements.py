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


def _passages(starts: np.ndarray, ends: np.ndarray) -> list:
    """(first index, last index + 1) runs of intervals sorted by start that chain by overlapping."""
    if len(starts) == 0:
        return []
    running = np.maximum.accumulate(ends)
    breaks = np.flatnonzero(starts[1:] >= running[:-1]) + 1
    edges = np.concatenate([[0], breaks, [len(starts)]])
    return list(zip(edges[:-1], edges[1:]))


def _compare(sets: list, lengths: np.ndarray) -> tuple:
    """(differing characters, kinds) of a passage from each coder's value sets per piece."""
    active = [any(coder_sets) for coder_sets in sets]
    differing, kinds = 0, set()
    for k, length in enumerate(lengths):
        here = [coder_sets[k] for coder_sets in sets]
        if all(h == here[0] for h in here):
            continue
        differing += int(length)
        if len({frozenset(h) for h in here if h}) > 1:
            kinds.add("value")
        if any(not h and marked for h, marked in zip(here, active)):
            kinds.add("boundary")
    if not all(active):
        kinds.add("missing")
    return differing, tuple(k for k in KINDS if k in kinds)


def span_disagreements(study: SpanStudy, index: int) -> list:
    """SpanPassages of `study.dimensions[index]` where coders differ, most differing characters first."""
    dim = study.dimensions[index]
    members = dim.coders()
    out = []
    for s in range(len(study.sources)):
        present = [c for c in members if study.coded[c, s]]
        if len(present) < 2:
            continue
        mine = (dim.source == s) & np.isin(dim.coder, present)
        order = np.flatnonzero(mine)[np.argsort(dim.start[mine], kind="stable")]
        starts, ends = dim.start[order], dim.end[order]
        for first, last in _passages(starts, ends):
            chosen = order[first:last]
            low, high = int(starts[first:last].min()), int(ends[first:last].max())
            cuts = np.unique(np.concatenate([dim.start[chosen], dim.end[chosen]]))
            piece_starts, lengths = cuts[:-1], np.diff(cuts)
            codes, sets = {}, []
            for c in present:
                spans_c = [i for i in chosen if dim.coder[i] == c]
                codes[study.coders[c]] = tuple((dim.values[dim.value[i]], int(dim.start[i]), int(dim.end[i]))
                                               for i in spans_c)
                sets.append([{dim.values[dim.value[i]] for i in spans_c if dim.start[i] <= p < dim.end[i]}
                             for p in piece_starts])
            differing, kinds = _compare(sets, lengths)
            if differing:
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
