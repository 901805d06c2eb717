"""The review's codings file: every decision appended at once, undo as a rewrite that stays valid.

The file is a long-form codings file (`fragment_id, coder, dimension, value, note, time`, one
row per dimension coded), which every other command reads with `--codings`. A decision is
the rows one coder wrote for one fragment at one moment (consecutive rows with the same
fragment, coder and time). Each decision is written with a single `write` call, flushed and
`fsync`ed before the page hears it was saved, so a killed server or a crashed computer loses
nothing the coder saw saved. Undo removes the coder's last decision by rewriting the file
(temporary file, fsync, rename): at every moment the file on disk is either the old one or the
new one, never half of either, and it never holds a decision the coder took back.
"""

import csv
import io
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

from ..errors import InputError

log = logging.getLogger("capcode")

COLUMNS = ("fragment_id", "coder", "dimension", "value", "note", "time")


@dataclass(frozen=True)
class Decision:
    """One coder's codes for one fragment, with the note and the time they were saved."""

    fragment_id: str
    coder: str
    values: tuple  # ((dimension, value), ...) in codebook order
    note: str = ""
    time: str = ""

    @property
    def codes(self) -> dict:
        return dict(self.values)

    def rows(self) -> list:
        return [(self.fragment_id, self.coder, dimension, value, self.note, self.time)
                for dimension, value in self.values]


def now() -> str:
    """The local time with its UTC offset, to the second (ISO 8601): readable in Excel, sortable."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _csv_text(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def group_decisions(rows) -> list:
    """Decisions from rows (dicts with COLUMNS) in file order: consecutive rows of one fragment,
    coder and time form one decision."""
    decisions, current, key = [], [], None
    for row in rows:
        row_key = (row["fragment_id"], row["coder"], row["time"])
        if current and row_key != key:
            decisions.append(current)
            current = []
        key = row_key
        current.append(row)
    if current:
        decisions.append(current)
    return [Decision(group[0]["fragment_id"], group[0]["coder"],
                     tuple((r["dimension"], r["value"]) for r in group if r["value"]),
                     next((r["note"] for r in group if r["note"]), ""), group[0]["time"])
            for group in decisions]


class DecisionStore:
    """The codings file `capcode review` writes: read at start, appended to, rewritten on undo."""

    def __init__(self, path):
        self.path = Path(path)
        if self.path.suffix.lower() != ".csv":
            raise InputError(f"{self.path}: capcode review writes a CSV codings file; give a name ending in .csv.")
        self.decisions: list = []
        if self.path.exists() and self.path.stat().st_size > 0:
            self.decisions = self._read()
        elif not self.path.parent.is_dir():
            raise InputError(f"{self.path}: the folder {self.path.parent} does not exist; create it or give "
                             "another place for the codings file.")
        elif not os.access(self.path.parent, os.W_OK):
            raise InputError(f"{self.path}: the folder {self.path.parent} may not be written to; give another "
                             "place for the codings file.")
        # a new file is made with the first decision: a review that never starts leaves nothing behind

    # ---- reading ----------------------------------------------------------------------------

    def _read(self) -> list:
        try:
            raw = self.path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{self.path}: not UTF-8 text; is this the file capcode review wrote? "
                             "Give a new file name to start a new review.") from None
        if raw and not raw.endswith("\n"):
            # only a computer that stopped in the middle of a write leaves this; the line is incomplete
            log.warning("%s: the last line was incomplete (the computer stopped while writing?) and is left out.",
                        self.path)
            raw = raw[: raw.rfind("\n") + 1]
            self._replace(raw)
        reader = csv.reader(io.StringIO(raw, newline=""))
        header = [h.strip() for h in next(reader, [])]
        if tuple(header) != COLUMNS:
            raise InputError(f"{self.path}: has the columns {', '.join(header) or '(none)'}, not those of a review "
                             f"file ({', '.join(COLUMNS)}); give a new file name to start a review (other coding "
                             "files go to --train-codings).")
        rows = []
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(COLUMNS):
                raise InputError(f"{self.path}, row {number}: {len(values)} cells instead of {len(COLUMNS)}; "
                                 "was the file edited by hand? Fix or remove that row.")
            rows.append(dict(zip(COLUMNS, (v.strip() for v in values))))
        return group_decisions(rows)

    # ---- writing ----------------------------------------------------------------------------

    def append(self, decision: Decision) -> None:
        """Write a decision's rows at the end of the file, flushed and synced to disk."""
        text = _csv_text(decision.rows())
        if not self.path.exists() or self.path.stat().st_size == 0:
            text = _csv_text([COLUMNS]) + text
        with open(self.path, "a", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        self.decisions.append(decision)

    def undo_last(self, coder: str) -> Optional[Decision]:
        """Remove `coder`'s last decision from the file (other coders' rows stay); None if there is none."""
        for index in range(len(self.decisions) - 1, -1, -1):
            if self.decisions[index].coder == coder:
                remaining = self.decisions[:index] + self.decisions[index + 1:]
                self._rewrite(remaining)
                undone = self.decisions[index]
                self.decisions = remaining
                return undone
        return None

    def _rewrite(self, decisions) -> None:
        self._replace(_csv_text([COLUMNS] + [row for d in decisions for row in d.rows()]))

    def _replace(self, text: str) -> None:
        """Replace the file's content atomically: temporary file, fsync, rename, fsync of the folder."""
        from ..files import atomic_path

        with atomic_path(self.path) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        try:
            folder = os.open(self.path.parent, os.O_RDONLY)
        except OSError:  # some systems cannot open a folder; the rename itself is still atomic
            return
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    # ---- questions --------------------------------------------------------------------------

    def by(self, coder: str) -> list:
        return [d for d in self.decisions if d.coder == coder]

    def coded_by(self, coder: str) -> set:
        return {d.fragment_id for d in self.decisions if d.coder == coder}
