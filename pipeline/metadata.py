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

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

from .errors import InputError, where
from .files import read_table
from .interviewer import parse_named
from .pathnames import path_stem
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
    stem = path_stem(source)  # Path(source).stem (pathnames.py: no Path per file)
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
        self._by_path = {}  # resolved path (text) -> row
        for row in self.rows:
            for candidate in self._candidates(row):
                self._by_path.setdefault(str(candidate), row)

    def origin(self, row: ManifestRow) -> str:
        """Where a row of this manifest is, for messages: 'manifest.csv, row 3'."""
        return f"{self.path}, row {row.row}"

    def lookup(self, source: str, path, resolved: Optional[str] = None) -> Optional[ManifestRow]:
        """The row for a transcript, or None (`resolved`: its real path, when already known)."""
        if source in self._by_source:
            return self._by_source[source]
        row = self._by_path.get(resolved or os.path.realpath(path))
        if row is not None:
            return row
        return self._by_name.get(Path(source).name)

    def check_against(self, transcripts, resolved=None) -> None:
        """Every row must name a transcript given or an existing file; raise InputError naming the row.

        `resolved`: the transcripts' real paths (`real_paths`), when already known.
        """
        sources = {source for source, _ in transcripts}
        resolved = {Path(path) for path in (resolved or real_paths([path for _, path in transcripts]))}
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


def _described(row: ManifestRow) -> tuple:
    """What a row says about its transcript (every column but the row number and the source)."""
    described = tuple(getattr(row, f.name) for f in fields(row) if f.name not in ("row", "source", "interviewer"))
    if row.interviewer is None:
        return described
    return described + ("; ".join(row.interviewer) or "geen",)


class Manifests:
    """Several manifests read together (`--manifest a.csv --manifest b.csv`), to combine studies.

    A transcript may be listed in more than one of them only with the same metadata; rows that
    disagree about one transcript are refused, naming both rows.
    """

    def __init__(self, manifests):
        self.manifests = tuple(manifests)
        first = {}
        for manifest in self.manifests:
            for row in manifest.rows:
                if row.source in first:
                    self._refuse_conflict(first[row.source], (manifest, row))
                else:
                    first[row.source] = (manifest, row)

    @property
    def rows(self) -> tuple:
        return tuple(row for manifest in self.manifests for row in manifest.rows)

    @staticmethod
    def _refuse_conflict(one, other) -> None:
        (first_manifest, first), (second_manifest, second) = one, other
        if _described(first) == _described(second):
            return

        def said(row):
            return "/".join(str(value) for value in _described(row))

        raise InputError(f"{first_manifest.path}, row {first.row} and {second_manifest.path}, row {second.row}: "
                         f"disagree about transcript '{second.source}' ({said(first)} against {said(second)}); "
                         "keep one row for it, or make the rows agree.")

    def lookup(self, source: str, path, resolved: Optional[str] = None) -> Optional[ManifestRow]:
        """The row for a transcript, or None; rows of two manifests that disagree about it are refused."""
        resolved = resolved or os.path.realpath(path)
        found = [(manifest, row) for manifest in self.manifests
                 if (row := manifest.lookup(source, path, resolved)) is not None]
        for other in found[1:]:
            self._refuse_conflict(found[0], other)
        return found[0][1] if found else None

    def origin(self, row: ManifestRow) -> str:
        """Where a row is, naming the manifest it comes from."""
        for manifest in self.manifests:
            if any(candidate is row for candidate in manifest.rows):
                return manifest.origin(row)
        return f"manifest, row {row.row}"

    def check_against(self, transcripts, resolved=None) -> None:
        resolved = resolved or real_paths([path for _, path in transcripts])
        for manifest in self.manifests:
            manifest.check_against(transcripts, resolved)


def real_paths(paths) -> list:
    """os.path.realpath of every path, each folder resolved once (many transcripts share a folder)."""
    folders, out = {}, []
    for path in paths:
        path = os.fspath(path)
        if os.path.islink(path):
            out.append(os.path.realpath(path))
            continue
        folder, name = os.path.split(path)
        real = folders.get(folder)
        if real is None:
            real = folders[folder] = os.path.realpath(folder or os.curdir)
        out.append(os.path.join(real, name))
    return out


def as_manifest(manifest):
    """A Manifest (or Manifests) from None, a path, several paths, or one already read."""
    if manifest is None or isinstance(manifest, (Manifest, Manifests)):
        return manifest
    if isinstance(manifest, (str, Path)):
        return read_manifest(manifest)
    paths = list(manifest)
    if not paths:
        return None
    if len(paths) == 1:
        return as_manifest(paths[0])
    return Manifests(as_manifest(p) for p in paths)


def source_info(source: str, path, manifest: Optional[Manifest] = None) -> SourceInfo:
    """Metadata for one transcript: the manifest row where there is one, else the file name."""
    row = manifest.lookup(source, path) if manifest is not None else None
    return info_from_name(source) if row is None else info_from_row(source, row)


def info_from_row(source: str, row: ManifestRow) -> SourceInfo:
    """Metadata for one transcript from its manifest row; an empty cell falls back to the file name."""
    from_name = info_from_name(source)
    return SourceInfo(
        source=source,
        case=row.case if row.case != UNKNOWN else from_name.case,
        respondent=row.respondent if row.respondent != UNKNOWN else from_name.respondent,
        role=row.role,
    )
