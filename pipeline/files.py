"""Reading and writing at the edges: atomic outputs, JSON Lines, tables.

Outputs are written to a temporary file in the target folder and renamed into
place only when complete, so a failed run never leaves a half-written file.
"""

import contextlib
import csv
import errno
import json
import os
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


def write_table(path, header: Sequence[str], rows: Iterable[Sequence], sheet: str = "data") -> None:
    """Write rows as .csv, .xlsx or .jsonl, chosen by the file extension, atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with atomic_open(path, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    elif suffix == ".xlsx":
        write_xlsx(path, {sheet: (header, rows)})
    elif suffix in (".jsonl", ".json"):
        write_jsonl(path, (dict(zip(header, row)) for row in rows))
    else:
        raise InputError(f"{path}: unknown output format '{suffix}'; use .csv, .xlsx or .jsonl.")


def build_workbook(sheets: dict):
    """An openpyxl Workbook of {sheet name: (header, rows)}: bold header, frozen first row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(title=str(name)[:31])
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
    return book


def save_workbook(book, path) -> None:
    """Save a workbook atomically."""
    with atomic_path(path) as tmp:
        book.save(tmp)


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
                header = [h.strip() for h in (reader.fieldnames or [])]
                _refuse_duplicate_columns(path, header)
                rows = []
                for number, raw in enumerate(reader, start=2):
                    rows.append({"row": number,
                                 **{(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}})
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


PREDICTION_COLUMNS = ("fragment_id", "dimension", "value", "probability", "runner_up",
                      "runner_up_probability", "abstained", "model")


def write_predictions(path, predictions) -> int:
    """Write Prediction records (one line per fragment and dimension) as .jsonl, .csv or .xlsx."""
    rows = ([getattr(p, c) for c in PREDICTION_COLUMNS] for p in predictions)
    if Path(path).suffix.lower() == ".jsonl":
        return write_jsonl(path, (dict(zip(PREDICTION_COLUMNS, row)) for row in rows))
    rows = list(rows)
    write_table(path, PREDICTION_COLUMNS, rows, sheet="predictions")
    return len(rows)


def read_predictions(path):
    """Read Prediction records from .jsonl, .csv or .xlsx as written by `capcode predict`."""
    from .records import Prediction

    header, rows = read_table(path)
    missing = [c for c in ("fragment_id", "dimension", "value", "probability") if c not in header]
    if missing:
        raise InputError(f"{path}: not a predictions file (missing column {', '.join(missing)}).")
    out = []
    for row in rows:
        absent = [c for c in ("fragment_id", "dimension", "value", "probability") if c not in row]
        if absent:  # a JSON Lines record can lack what others have
            raise InputError(f"{where(path, row['row'])}: lacks {', '.join(absent)}; "
                             "expected a predictions file as 'capcode predict' writes it.")
        try:
            probability = float(row["probability"])
            runner = row.get("runner_up") or None
            runner_p = row.get("runner_up_probability")
            runner_p = float(runner_p) if runner_p not in (None, "") else None
        except (TypeError, ValueError):
            raise InputError(f"{where(path, row['row'])}: probability is not a number.") from None
        for column, value in (("probability", probability), ("runner_up_probability", runner_p)):
            if value is not None and not 0.0 <= value <= 1.0:  # also refuses NaN
                raise InputError(f"{where(path, row['row'])}, column '{column}': {value} is not a probability; "
                                 "it must lie between 0 and 1 (as 'capcode predict' writes it).")
        abstained = row.get("abstained", False)
        if isinstance(abstained, str):
            abstained = abstained.strip().lower() in ("true", "1", "ja", "yes")
        out.append(Prediction(str(row["fragment_id"]), str(row["dimension"]), str(row["value"]), probability,
                              runner, runner_p, bool(abstained), str(row.get("model", ""))))
    return out
