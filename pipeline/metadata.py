"""Case, respondent and role of each transcript: from a manifest, else from the file name.

Canonical ids (so that files, manifests and case tables join):

- case: ``case<N>`` — ``Case 1``, ``case01``, ``casus 1``, ``c1`` and ``1`` all become ``case1``;
- respondent: ``respondent<N>`` — ``Respondent 4``, ``resp04``, ``R4``, ``r4`` and ``4``
  become ``respondent4`` (respondents are numbered per case, as in the report);
- any other value (``Gent``, ``schepen-A``) is kept as written, spaces collapsed;
- role: one of ``ambtelijk``, ``politiek``, ``extern``, ``onbekend`` (any letter case).

What is not known is recorded as ``onbekend``, never guessed. The manifest wins
over the file name; an empty manifest cell falls back to the file name.

An optional column ``interviewer`` names the interviewer's speaker label(s) in the
transcript (``Sofie Claes``; several separated by ``;``; ``geen`` when there is none);
empty, capcode decides from the turns (see interviewer.py).
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import InputError, where
from .files import read_table
from .interviewer import parse_named
from .records import ROLES, UNKNOWN, SourceInfo

_CASE_VALUE = re.compile(r"^(?:case|casus|c)?[\s_-]*0*(\d+)$", re.IGNORECASE)
_RESPONDENT_VALUE = re.compile(r"^(?:respondent|resp|r)?[\s_-]*0*(\d+)$", re.IGNORECASE)
_CASE_IN_NAME = re.compile(r"(?<![a-z0-9])(?:case|casus|c)[\s_-]*0*(\d+)(?![0-9])", re.IGNORECASE)
_RESPONDENT_IN_NAME = re.compile(r"(?<![a-z0-9])(?:respondent|resp|r)[\s_-]*0*(\d+)(?![0-9])", re.IGNORECASE)


def canonical_case(value) -> str:
    """'Case 1', 'c01', '1' -> 'case1'; '' -> 'onbekend'; other text kept as written."""
    return _canonical(value, _CASE_VALUE, "case")


def canonical_respondent(value) -> str:
    """'Respondent 4', 'R4', '04' -> 'respondent4'; '' -> 'onbekend'; other text kept as written."""
    return _canonical(value, _RESPONDENT_VALUE, "respondent")


def canonical_role(value, origin="role") -> str:
    """A role from ROLES (letter case ignored); '' -> 'onbekend'; anything else is an error."""
    role = str(value or "").strip().casefold()
    if not role:
        return UNKNOWN
    if role not in ROLES:
        raise InputError(f"{origin}: unknown role '{value}'; use one of {', '.join(ROLES)}.")
    return role


def _canonical(value, pattern, prefix) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if not text or text.casefold() == UNKNOWN:
        return UNKNOWN
    match = pattern.match(text)
    return f"{prefix}{int(match.group(1))}" if match else text


def info_from_name(source: str) -> SourceInfo:
    """Case and respondent from a file name such as 'case1_respondent4.docx' or 'c1-r4.txt'.

    Only the file name (without extension) is looked at; a part that is not found is 'onbekend'.
    """
    stem = Path(source).stem
    case = _CASE_IN_NAME.search(stem)
    respondent = _RESPONDENT_IN_NAME.search(stem)
    return SourceInfo(
        source=source,
        case=f"case{int(case.group(1))}" if case else UNKNOWN,
        respondent=f"respondent{int(respondent.group(1))}" if respondent else UNKNOWN,
    )


@dataclass(frozen=True)
class ManifestRow:
    row: int
    source: str
    case: str
    respondent: str
    role: str
    interviewer: Optional[tuple] = None  # speaker labels; () for 'geen'; None: capcode decides


class Manifest:
    """A manifest table (`source,case,respondent,role[,interviewer]`; .csv, .xlsx or .jsonl), validated on reading.

    A row matches a transcript when its `source` is the transcript's source name
    (as in fragment ids), the same file relative to the manifest's folder or the
    current folder, or (when unambiguous) the same file name.
    """

    def __init__(self, path, rows):
        self.path = Path(path)
        self.rows = tuple(rows)
        self._by_source = {row.source: row for row in self.rows}
        names = {}
        for row in self.rows:
            names.setdefault(Path(row.source).name, []).append(row)
        self._by_name = {name: found[0] for name, found in names.items() if len(found) == 1}
        self._by_path = {}
        for row in self.rows:
            for candidate in self._candidates(row):
                self._by_path.setdefault(candidate, row)

    def lookup(self, source: str, path) -> Optional[ManifestRow]:
        """The row for a transcript, or None."""
        if source in self._by_source:
            return self._by_source[source]
        row = self._by_path.get(Path(path).resolve())
        if row is not None:
            return row
        return self._by_name.get(Path(source).name)

    def check_against(self, transcripts) -> None:
        """Every row must name a transcript given or an existing file; raise InputError naming the row."""
        sources = {source for source, _ in transcripts}
        resolved = {Path(path).resolve() for _, path in transcripts}
        names = {Path(source).name for source, _ in transcripts}
        for row in self.rows:
            if row.source in sources or resolved & set(self._candidates(row)):
                continue
            if self._by_name.get(Path(row.source).name) is row and Path(row.source).name in names:
                continue
            if any(candidate.is_file() for candidate in self._candidates(row)):
                continue
            raise InputError(f"{where(self.path)}, row {row.row}: source '{row.source}' is not among the "
                             "transcripts given and no such file exists; correct the name or remove the row.")

    def _candidates(self, row):
        return (Path(self.path.parent, row.source).resolve(), Path(row.source).resolve())


MANIFEST_COLUMNS = ("source", "case", "respondent", "role", "interviewer")


def read_manifest(path) -> Manifest:
    """Read and validate a manifest; problems raise InputError naming the row."""
    path = Path(path)
    header, rows = read_table(path)
    columns = [h.strip().casefold() for h in header]
    if "source" not in columns:
        raise InputError(f"{path}: a manifest needs a 'source' column (and case, respondent, role); "
                         f"found {', '.join(header) or 'no columns'}.")
    unknown = [h for h in header if h.strip().casefold() not in MANIFEST_COLUMNS + ("",)]
    if unknown:
        raise InputError(f"{path}: unknown manifest column '{unknown[0]}'; use {', '.join(MANIFEST_COLUMNS)}.")
    out, seen = [], {}
    for raw in rows:
        values = {k.strip().casefold(): v for k, v in raw.items() if k != "row"}
        source = str(values.get("source", "")).strip().replace("\\", "/")
        while source.startswith("./"):
            source = source[2:]
        if not source:
            if any(str(v).strip() for v in values.values()):
                raise InputError(f"{path}, row {raw['row']}: empty source; give the transcript's file name.")
            continue
        if source in seen:
            raise InputError(f"{path}, row {raw['row']}: source '{source}' also on row {seen[source]}; "
                             "keep one row per transcript.")
        seen[source] = raw["row"]
        out.append(ManifestRow(
            row=raw["row"], source=source,
            case=canonical_case(values.get("case", "")),
            respondent=canonical_respondent(values.get("respondent", "")),
            role=canonical_role(values.get("role", ""), f"{path}, row {raw['row']}, column 'role'"),
            interviewer=parse_named(values.get("interviewer", "")),
        ))
    return Manifest(path, out)


def source_info(source: str, path, manifest: Optional[Manifest] = None) -> SourceInfo:
    """Metadata for one transcript: the manifest row where there is one, else the file name."""
    from_name = info_from_name(source)
    row = manifest.lookup(source, path) if manifest is not None else None
    if row is None:
        return from_name
    return SourceInfo(
        source=source,
        case=row.case if row.case != UNKNOWN else from_name.case,
        respondent=row.respondent if row.respondent != UNKNOWN else from_name.respondent,
        role=row.role,
    )
