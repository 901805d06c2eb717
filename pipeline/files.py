"""Reading and writing at the edges: atomic outputs, JSON Lines, tables.

Outputs are written to a temporary file in the target folder and renamed into
place only when complete, so a failed run never leaves a half-written file.
"""

import contextlib
import csv
import io
import errno
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .errors import CapcodeError, InputError, OutputError, where


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it to `path` on success only.

    The temporary file is removed on any error or interruption (runs.py), and the
    leftovers of runs that died are removed first. A write that fails without naming a
    file (a full disk) is an OutputError naming `path`.
    """
    from .runs import forget_temp, register_temp, remove_stale_temps, temp_prefix

    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    register_temp(tmp)
    try:
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes owner-only files; outputs follow the umask
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not exc.filename:
            raise OutputError(unwritable_message(path, exc)) from exc
        raise
    finally:
        forget_temp(tmp)


def unwritable_message(path, exc: OSError) -> str:
    """Why `path` could not be written, for a researcher: a full disk says so."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"{path}: cannot be written, the disk is full ({reason}); nothing was written. "
                "Free some space and run again.")
    if exc.errno == errno.EFBIG:
        return f"{path}: cannot be written, the file would be larger than this system allows ({reason})."
    return f"{path}: cannot be written ({reason}); nothing was written."


@contextlib.contextmanager
def atomic_open(path, mode="w", encoding="utf-8", newline=None):
    """Open a temporary file for writing that replaces `path` only when closed cleanly."""
    with atomic_path(path) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with open(tmp, mode, **kwargs) as handle:
            yield handle


def text_or_file(text: str, out) -> str:
    """A report's text: written to `out` atomically when given (returning ""), else returned to print."""
    if out:
        with atomic_open(out) as handle:
            handle.write(text)
        return ""
    return text


def write_jsonl(path, records: Iterable[dict]) -> int:
    """Write dicts as JSON Lines atomically; return how many were written."""
    count = 0
    with atomic_open(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path) -> Iterator[dict]:
    """Stream dicts from a JSON Lines file; a bad line raises InputError naming it."""
    for _, record in read_jsonl_numbered(path):
        yield record


def read_jsonl_numbered(path) -> Iterator[tuple]:
    """Stream (line number, dict) pairs from a JSON Lines file, skipping blank lines."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found.")
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:  # decoded line by line, so that a bad byte is named by its line
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{where(path, number)}: not UTF-8 text; save the file as UTF-8.") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where(path, number)}: not valid JSON ({exc.msg}); expected a JSON Lines "
                                 "file as capcode writes it (one JSON object per line).") from None
            if not isinstance(record, dict):
                raise InputError(f"{where(path, number)}: expected one JSON object per line.")
            yield number, record


# ---- spreadsheet-safe tables -----------------------------------------------------------------
#
# Text that starts with one of these characters may be run as a formula by a spreadsheet that
# opens the file (=, +, - and @ start a formula; a tab or carriage return can hide one). In a
# workbook such text is stored as a text cell, never as a formula; in a CSV file it gets a
# leading apostrophe (OWASP's advice for CSV injection), which capcode's readers remove again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TEXT_PREFIX = "'"
# Text that is just a number ("-5", "+0,25") is read by a spreadsheet as that number and can
# hold no formula, so it is written as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


class Percent(float):
    """A share (0..1): a number with a percent format in a workbook, its decimal in CSV and JSON,
    and a whole percentage ('20%') where it is printed as text."""

    number_format = "0%"

    def __str__(self) -> str:
        return f"{round(100 * self)}%"


class FinePercent(Percent):
    """A share shown to a tenth of a percent (87.3%), for figures such as percent agreement."""

    number_format = "0.0%"

    def __str__(self) -> str:
        return f"{100 * self:.1f}%"


def csv_needs_prefix(text: str) -> bool:
    """True for text a spreadsheet could read as a formula (see FORMULA_STARTS).

    Text that already starts with the prefix before such a character gets one more, so that
    removing one on reading gives back exactly what was written.
    """
    rest = text.lstrip(CSV_TEXT_PREFIX)
    if not rest or rest[0] not in FORMULA_STARTS:
        return False
    return rest != text or not _PLAIN_NUMBER.fullmatch(text)


def csv_cell(value):
    """A value as a CSV cell: formula-like text prefixed, shares as plain numbers, None empty."""
    if isinstance(value, str):
        return CSV_TEXT_PREFIX + value if csv_needs_prefix(value) else value
    if isinstance(value, float) and not isinstance(value, bool):
        return float(value)
    return value


def csv_value(raw: str) -> str:
    """A CSV cell as capcode reads it: a prefix written by `csv_cell` removed (the rest kept exactly),
    any other cell trimmed of surrounding spaces."""
    if raw.startswith(CSV_TEXT_PREFIX):
        rest = raw.lstrip(CSV_TEXT_PREFIX)
        if rest and rest[0] in FORMULA_STARTS:
            return raw[len(CSV_TEXT_PREFIX):]
    return raw.strip()


def write_csv_rows(handle, header: Sequence[str], rows: Iterable[Sequence], lineterminator: str = "\r\n") -> None:
    """Write a header and rows to an open text handle as spreadsheet-safe CSV."""
    writer = csv.writer(handle, lineterminator=lineterminator)
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """Spreadsheet-safe CSV as a string (one line per row, '\\n' line ends)."""
    buffer = io.StringIO()
    write_csv_rows(buffer, header, rows, lineterminator="\n")
    return buffer.getvalue()


def write_table(path, header: Sequence[str], rows: Iterable[Sequence], sheet: str = "data") -> None:
    """Write rows as .csv, .xlsx or .jsonl, chosen by the file extension, atomically.

    CSV and workbook cells are spreadsheet-safe (see FORMULA_STARTS); JSON Lines, a machine
    format, is written as it is.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with atomic_open(path, newline="") as handle:
            write_csv_rows(handle, header, rows)
    elif suffix == ".xlsx":
        write_xlsx(path, {sheet: (header, rows)})
    elif suffix in (".jsonl", ".json"):
        write_jsonl(path, (dict(zip(header, (float(v) if isinstance(v, Percent) else v for v in row)))
                           for row in rows))
    else:
        raise InputError(f"{path}: unknown output format '{suffix}'; use .csv, .xlsx or .jsonl.")


MIN_WIDTH, MAX_WIDTH = 6, 60   # column widths in characters
_WIDTH_SAMPLE = 500            # rows looked at to size a column


def _xlsx_text(value: str) -> str:
    """Text a workbook can hold: control characters XML forbids become U+FFFD (openpyxl refuses them)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _write_row(sheet, number: int, row) -> None:
    """Write row `number`; text is always a text cell (never a formula), shares get a percent format."""
    for column, value in enumerate(row, start=1):
        if isinstance(value, str):
            cell = sheet.cell(row=number, column=column)
            cell.value = _xlsx_text(value)
            cell.data_type = "s"   # openpyxl would make '=...' a formula
        elif value is not None:
            cell = sheet.cell(row=number, column=column, value=value)
            if isinstance(value, Percent):
                cell.number_format = value.number_format


def _shape_sheet(sheet, widths: list, last_row: int) -> None:
    """Frozen header row, filters on every column, widths that fit the contents (within bounds)."""
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    if widths:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(widths))}{last_row}"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))


def _shown_width(value) -> int:
    if value is None:
        return 0
    text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def build_workbook(sheets: dict):
    """An openpyxl Workbook of {sheet name: (header, rows)}, the way every capcode workbook looks:
    bold frozen header, filters, fitting column widths, text never stored as a formula, shares
    (`Percent`) as numbers with a percent format."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(title=str(name)[:31])
        header = [str(h) for h in header]
        _write_row(sheet, 1, header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        widths = [_shown_width(h) for h in header]
        last = 1
        for last, row in enumerate(rows, start=2):
            row = list(row)
            _write_row(sheet, last, row)
            if last - 2 < _WIDTH_SAMPLE:
                for index, value in enumerate(row[:len(widths)]):
                    widths[index] = max(widths[index], _shown_width(value))
        _shape_sheet(sheet, widths, last)
    return book


def save_workbook(book, path) -> None:
    """Save a workbook atomically, with the same bytes whenever the content is the same: openpyxl
    stamps the workbook's properties and every zip member with the time of saving, so two runs of
    one stage would differ (and DVC and checksums would see a change where none is)."""
    import datetime
    import zipfile

    from .archives import FIXED_TIME, write_fixed_zip

    book.properties.created = book.properties.modified = datetime.datetime(*FIXED_TIME)
    saved = io.BytesIO()
    book.save(saved)
    with zipfile.ZipFile(saved) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    with atomic_path(path) as tmp:
        write_fixed_zip(tmp, members)


def write_xlsx(path, sheets: dict) -> None:
    """Write {sheet name: (header, rows)} to an Excel workbook atomically."""
    save_workbook(build_workbook(sheets), path)


def _refuse_duplicate_columns(path, header) -> None:
    """Two columns with one name: only one would be read, and the other dropped without a word."""
    named = [h for h in header if h]
    for name in named:
        if named.count(name) > 1:
            raise InputError(f"{path}: column '{name}' appears {named.count(name)} times in the first row; "
                             "rename or remove the extra one.")


def _checked_workbook(path):
    """A workbook's bytes, checked as a zip within the default limits (archives.py) before openpyxl reads them."""
    import io
    import zipfile

    from .archives import check_zip, load_zip_bytes

    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not an Excel workbook (.xlsx is a zip archive); save it again from Excel.")
    data = load_zip_bytes(path)
    check_zip(data, path, what="an Excel workbook")
    return io.BytesIO(data)


def read_table(path, sheet=None) -> tuple:
    """Read a .csv, .xlsx or .jsonl table as (header, rows of dicts with a 'row' number).

    In a workbook, the sheet named `sheet` is read when there is one, else the first sheet.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                sample = handle.read(4096)
                handle.seek(0)
                delimiter = "\t" if suffix == ".tsv" else (";" if sample.count(";") > sample.count(",") else ",")
                reader = csv.DictReader(handle, delimiter=delimiter)
                header = [csv_value(h) for h in (reader.fieldnames or [])]
                _refuse_duplicate_columns(path, header)
                rows = []
                for number, raw in enumerate(reader, start=2):
                    rows.append({"row": number,
                                 **{csv_value(k or ""): csv_value(v or "") for k, v in raw.items() if k is not None}})
        except csv.Error as exc:  # e.g. a cell above the csv module's 128 KB field limit
            raise InputError(f"{path}, line {reader.reader.line_num}: cannot be read as a table ({exc}).") from None
        except UnicodeDecodeError:  # Excel's plain "CSV" is Windows-1252, not UTF-8
            raise InputError(f"{path}: not UTF-8 text (accented letters such as 'é' cannot be read); in Excel "
                             "save it as 'CSV UTF-8 (comma delimited)', or give the .xlsx file.") from None
        return header, rows
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        data = _checked_workbook(path)
        try:
            book = load_workbook(data, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise InputError(f"{path}: cannot open as an Excel workbook ({exc}).") from None
        try:
            if not book.worksheets:
                raise InputError(f"{path}: the workbook has no worksheet.")
            chosen = book[sheet] if sheet in book.sheetnames else book.worksheets[0]
            values = chosen.iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else "" for h in next(values, [])]
            _refuse_duplicate_columns(path, header)
            rows = []
            for number, raw in enumerate(values, start=2):
                if all(v is None for v in raw):
                    continue
                rows.append({"row": number, **{h: ("" if v is None else str(v).strip()) for h, v in zip(header, raw)}})
        except CapcodeError:
            raise
        except Exception as exc:  # a damaged sheet is only found while its rows are read
            raise InputError(f"{path}: cannot read the workbook ({type(exc).__name__}: {exc}); "
                             "open it in Excel and save it again.") from None
        finally:
            book.close()
        return header, rows
    if suffix in (".jsonl", ".json"):
        rows, header = [], []
        for number, record in enumerate(read_jsonl(path), start=1):
            for key in record:
                if key not in header:
                    header.append(key)
            rows.append({"row": number, **{k: ("" if v is None else v) for k, v in record.items()}})
        return header, rows
    raise InputError(f"{path}: unknown table format '{suffix}'; use .csv, .xlsx or .jsonl.")


def progress(iterable, label: str, length=None):
    """A progress bar on stderr when it is a terminal; otherwise the bare iterable."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext(iterable)
    import click

    return click.progressbar(iterable, label=label, length=length, file=sys.stderr)


def read_fragments(path):
    """Stream Fragment records from a JSON Lines file written by `capcode segment`.

    Metadata a hand-made file leaves out is recorded as unknown ('onbekend'),
    never guessed; offsets and text must be there and be of the right type.
    """
    from .records import UNKNOWN, Fragment

    for number, record in read_jsonl_numbered(path):
        missing = [key for key in ("id", "source", "start_char", "end_char", "text") if key not in record]
        if missing:
            raise InputError(f"{where(path, number)}: fragment record lacks {', '.join(missing)}; "
                             "make it with 'capcode segment'.")
        for key in ("start_char", "end_char", "turn", "n_words"):
            value = record.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{where(path, number, key)}: expected a whole number, got {value!r}.")
        if not isinstance(record["text"], str):
            raise InputError(f"{where(path, number, 'text')}: expected text, got {record['text']!r}.")
        defaults = {"case": UNKNOWN, "respondent": UNKNOWN, "role": UNKNOWN, "speaker": "", "turn": 0,
                    "context": "", "n_words": len(record["text"].split())}
        yield Fragment.from_dict({**defaults, **{k: v for k, v in record.items() if v is not None}})
