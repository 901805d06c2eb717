"""A report's own tables and ch. 6 types, read and set beside the computed ones, cell by cell.

`--report-tables` (case,table,column,row,item) and `--cases` (case,type) hold what a report
itself says; `compare_with_report` gives per case and cell the report's items, the computed
counts and whether they agree (`beide`, `beide leeg`, `alleen rapport`, `alleen data`).
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Optional, Sequence

from ..errors import InputError, where
from ..records import TYPES, Aggregate, DimensionSpec, Layout


@dataclass(frozen=True)
class ReportItem:
    """One item of the report's per-case tables (data/sample/report_tables.csv)."""

    case: str
    cell: tuple
    item: str
    negatief: bool = False


def match_value(text: str, spec: DimensionSpec) -> Optional[str]:
    """Map a table heading ('Strategische capaciteit', 'Beheerscapaciteit', 'intern') to a value id."""
    text = " ".join(str(text).lower().split())
    for value, label in zip(spec.values, spec.value_labels or spec.values):
        if text in (value.lower(), str(label).lower()):
            return value
    for value in spec.values:
        stem = value.lower()[:6]
        if stem and text.startswith(stem):
            return value
    return None


def read_report_tables(path, layout: Layout) -> list:
    """Read case,table,column,row,item (optional negatief) into ReportItems matched to the layout."""
    from ..files import read_table

    header, rows = read_table(path)
    wanted = {"case", "item"}
    missing = sorted(wanted - set(header))
    if missing:
        raise InputError(f"{path}: missing column {', '.join(missing)}; expected case,table,column,row,item.")
    keys = {"tables": "table", "columns": "column", "rows": "row"}
    items = []
    # read_table keeps the line number under 'row', which this file's own 'row' column overwrites
    for line, row in enumerate(rows, start=2):
        cell = []
        for attr, column in keys.items():
            spec = getattr(layout, attr)
            if spec is None:
                continue
            value = match_value(row.get(column, ""), spec)
            if value is None:
                raise InputError(f"{where(path, line, column)}: '{row.get(column, '')}' matches no value of "
                                 f"'{spec.id}' ({', '.join(spec.values)}).")
            cell.append(value)
        flag = next((str(row[k]) for k in ("weakening", "negatief", "negative", "italic") if k in row), "")
        flag = flag.strip().lower()
        items.append(ReportItem(str(row["case"]), tuple(cell), str(row["item"]),
                                flag in ("1", "true", "ja", "yes", "negatief", "x")))
    return items


def compare_with_report(result: Aggregate, items: Sequence[ReportItem]) -> list:
    """Per case and cell: the report's items beside the computed n, and whether they agree.

    Agreement is read at the level the report allows: a cell the report fills should
    have fragments, and an empty report cell should have few. Returns rows of
    (case, cell, report items, CellStats, verdict).
    """
    by_cell = defaultdict(list)
    for item in items:
        by_cell[(item.case, item.cell)].append(item)
    rows = []
    for case in result.cases:
        for stats in case.cells:
            listed = by_cell.get((case.case, stats.cell), [])
            if listed and stats.n:
                verdict = "beide"
            elif listed:
                verdict = "alleen rapport"
            elif stats.n:
                verdict = "alleen data"
            else:
                verdict = "beide leeg"
            rows.append((case.case, stats.cell, tuple(listed), stats, verdict))
    return rows


def read_case_types(path) -> dict:
    """{case: type} from a cases table with columns case and type (and optional name, also a key).

    The type column holds how the report itself places each case (1, 2 or 3 of ch. 6);
    it is only set beside the rule's placement, never used to make it.
    """
    from ..files import read_table

    header, rows = read_table(path)
    if "case" not in header or "type" not in header:
        raise InputError(f"{path}: a cases table needs columns 'case' and 'type' (the report's ch. 6 type, "
                         f"1, 2 or 3) to be compared; it has {', '.join(header)}.")
    types = {}
    for line, row in enumerate(rows, start=2):
        raw = str(row.get("type", "")).strip()
        if not raw:
            continue
        try:
            number = int(float(raw))
        except ValueError:
            number = 0
        if number not in TYPES:
            raise InputError(f"{where(path, line, 'type')}: '{raw}' is not a ch. 6 type; use 1, 2 or 3 "
                             "or leave it empty.")
        for key in (row.get("case"), row.get("name")):
            if key:
                types[str(key)] = number
    return types
