"""Selection offsets: how a tool counted positions, and moving them into the text capcode reads.

REFI-QDA counts Unicode code points from 0, end exclusive. Some tools count UTF-16 code units
(an emoji then counts twice) or count a Windows line end differently; `detect_offsets` tries
every convention on all selections and keeps the standard unless the selections only fit (or
clearly match) another, and `report_offsets` says so. `as_capcode_sees_it` gives the text with
`\n` line ends in Unicode NFC, as capcode's reader returns it, with every position moved along.
"""

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

from ..errors import InputError, where
from .records import QdaProject, QdaSource, SpanCoding
from .schema import ORIGIN

log = logging.getLogger("capcode")


@dataclass(frozen=True)
class OffsetConvention:
    """How a tool counted positions: code points or UTF-16 units, and line ends."""

    name: str
    utf16: bool
    newline: str  # "as-is", "crlf-as-one" (CR LF counted once), "lf-as-two" (LF counted as CR LF)
    explanation: str


CONVENTIONS = (
    OffsetConvention("codepoints", False, "as-is", "Unicode code points, as REFI-QDA specifies"),
    OffsetConvention("utf16", True, "as-is",
                     "UTF-16 code units (each emoji or other character beyond U+FFFF counted twice)"),
    OffsetConvention("crlf-as-one", False, "crlf-as-one", "code points, with each Windows line end (CR LF) counted once"),
    OffsetConvention("lf-as-two", False, "lf-as-two", "code points, with each line end (LF) counted as two (CR LF)"),
    OffsetConvention("utf16+crlf-as-one", True, "crlf-as-one",
                     "UTF-16 code units, with each Windows line end (CR LF) counted once"),
    OffsetConvention("utf16+lf-as-two", True, "lf-as-two", "UTF-16 code units, with each line end counted as two"),
)
CONVENTION_NAMES = ("auto",) + tuple(c.name for c in CONVENTIONS)


def convention(name: str) -> OffsetConvention:
    for candidate in CONVENTIONS:
        if candidate.name == name:
            return candidate
    raise InputError(f"unknown offset convention '{name}'; use one of {', '.join(CONVENTION_NAMES)}.")


def _width(text: str, index: int, conv: OffsetConvention) -> int:
    char = text[index]
    width = 2 if conv.utf16 and ord(char) > 0xFFFF else 1
    if char == "\r" and conv.newline == "crlf-as-one" and text.startswith("\n", index + 1):
        return 0
    if char == "\n" and conv.newline == "lf-as-two" and not (index and text[index - 1] == "\r"):
        return 2
    return width


def differs(text: str, conv: OffsetConvention) -> bool:
    """Whether `conv` counts this text differently from code points at all."""
    if conv.utf16 and any(ord(c) > 0xFFFF for c in text):
        return True
    if conv.newline == "crlf-as-one" and "\r\n" in text:
        return True
    if conv.newline == "lf-as-two" and re.search(r"(?<!\r)\n", text):
        return True
    return False


def tool_to_codepoint(text: str, conv: OffsetConvention) -> dict:
    """Map each position as the tool counts it to the code point position (the first one, if several)."""
    mapping, offset = {}, 0
    for index in range(len(text)):
        mapping.setdefault(offset, index)
        offset += _width(text, index, conv)
    mapping.setdefault(offset, len(text))
    return mapping


def _norm_space(text: str) -> str:
    return " ".join(text.split())


def _name_matches(name: str, selected: str) -> bool:
    """Whether a selection's name (many tools store the selected text there) agrees with the text."""
    name = _norm_space(name).rstrip(".…").strip()
    if len(name) < 4:
        return False
    selected = _norm_space(selected)
    return selected == name or (len(name) >= 8 and selected.startswith(name))


def _map_source(source: QdaSource, conv: OffsetConvention):
    """Selections of `source` in code points under `conv`: list of (selection, start, end) or (selection, None, None)."""
    if conv.name == "codepoints" or not differs(source.text, conv):
        mapping = None
    else:
        mapping = tool_to_codepoint(source.text, conv)
    out = []
    for selection in source.selections:
        if mapping is None:
            start, end = selection.start, selection.end
            ok = 0 <= start <= end <= len(source.text)
        else:
            start, end = mapping.get(selection.start), mapping.get(selection.end)
            ok = start is not None and end is not None and start <= end
        out.append((selection, start, end) if ok else (selection, None, None))
    return out


@dataclass(frozen=True)
class OffsetCheck:
    """The convention chosen for a project's selections and the evidence for it."""

    convention: OffsetConvention
    valid: dict          # convention name -> selections within the text
    name_matches: dict   # convention name -> selections whose name equals the selected text
    total: int
    ambiguous_sources: tuple = ()


def detect_offsets(sources, forced: str = "auto", origin: str = "project.qde") -> OffsetCheck:
    """Choose how the project's tool counted positions, from all selections of all sources.

    Code points (the standard) win unless some selection falls outside the text or
    between the halves of a character under them while another convention fits all, or
    the selection names (the selected text, as many tools store it) agree better
    with another convention.
    """
    total = sum(len(s.selections) for s in sources)
    candidates = CONVENTIONS if forced == "auto" else (convention(forced),)
    valid, names = {}, {}
    for conv in candidates:
        n_valid = n_names = 0
        for source in sources:
            for selection, start, end in _map_source(source, conv):
                if start is None:
                    continue
                n_valid += 1
                n_names += _name_matches(selection.name, source.text[start:end])
        valid[conv.name], names[conv.name] = n_valid, n_names
    fitting = [c for c in candidates if valid[c.name] == total]
    if not fitting:
        _raise_outside(sources, candidates[0], origin)
    best = fitting[0]
    for conv in fitting[1:]:
        if names[conv.name] > names[best.name]:
            best = conv
    ambiguous = ()
    if best.name == "codepoints" and any(c.name == "utf16" for c in fitting) and \
            names["codepoints"] <= names.get("utf16", 0):
        ambiguous = tuple(s.name for s in sources if _selection_after_astral(s))
    return OffsetCheck(best, valid, names, total, ambiguous)


def _selection_after_astral(source: QdaSource) -> bool:
    """Whether a selection ends after the first character beyond U+FFFF, where UTF-16 counting would shift it."""
    first = next((i for i, c in enumerate(source.text) if ord(c) > 0xFFFF), None)
    return first is not None and any(s.end > first for s in source.selections)


def _raise_outside(sources, conv, origin) -> None:
    for source in sources:
        for selection, start, _ in _map_source(source, conv):
            if start is None:
                raise InputError(
                    f"{where(origin, selection.line)}: <PlainTextSelection guid=\"{selection.guid}\"> in source "
                    f"'{source.name}' runs from {selection.start} to {selection.end}, outside its text of "
                    f"{len(source.text)} characters (counted as {conv.explanation}); export the project "
                    "again, or check that the source text was not edited after coding.")
    raise InputError("the selections fit no known offset convention.")  # pragma: no cover


def span_codings(project: QdaProject, check: OffsetCheck, files: dict, moves: Optional[dict] = None) -> list:
    """Every coding of every selection as a SpanCoding in code points of the written text.

    `files` maps source guid -> file; `moves` maps source guid -> {old: new position}
    when the written text was normalised (see `as_capcode_sees_it`).
    """
    out, moves = [], moves or {}
    for source in project.sources:
        if source.guid not in files:
            continue
        move = moves.get(source.guid)
        for selection, start, end in _map_source(source, check.convention):
            if move is not None:
                start, end = move[start], move[end]
            if start == end:
                continue
            for coding in selection.codings:
                coder = project.users.get(coding.user) or (coding.user or "onbekend")
                out.append(SpanCoding(files[source.guid], start, end, coder, coding.code, selection.guid))
    return out


def _chunks(text: str):
    """Split text into (start, end) pieces that normalise independently: a line end, or a starter
    character with the combining marks that follow it."""
    index, length = 0, len(text)
    while index < length:
        if text.startswith("\r\n", index):
            yield index, index + 2
            index += 2
            continue
        end = index + 1
        while end < length and unicodedata.combining(text[end]):
            end += 1
        yield index, end
        index = end


def as_capcode_sees_it(text: str) -> tuple:
    """(text as capcode's reader returns it, old position -> new position).

    capcode reads .txt with `\n` line ends in Unicode NFC (pipeline.readers), so the
    imported text is written that way and every offset is moved with it. A position
    inside a piece that changed (between CR and LF, before a combining mark) moves to
    the piece's start.
    """
    if "\r" not in text and unicodedata.is_normalized("NFC", text):
        return text, None
    pieces, positions, new = [], {}, 0
    for start, end in _chunks(text):
        piece = text[start:end].replace("\r\n", "\n").replace("\r", "\n")
        piece = unicodedata.normalize("NFC", piece)
        for old in range(start, end):
            positions[old] = new
        pieces.append(piece)
        new += len(piece)
    positions[len(text)] = new
    result = "".join(pieces)
    expected = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    if result != expected:  # composition across starters (e.g. Hangul jamo): map by alignment
        result, positions = expected, _aligned_positions(text, expected)
    return result, positions


def _aligned_positions(old: str, new: str) -> dict:
    import difflib

    positions = {}
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(i2 - i1):
            positions[i1 + offset] = j1 + (offset if tag == "equal" else 0)
    positions[len(old)] = len(new)
    return positions


def report_offsets(check: OffsetCheck, project: QdaProject) -> None:
    """Say which offset convention was used, loudly when it is not the standard one."""
    tool = project.origin or "the tool"
    if check.convention.name != "codepoints":
        outside = check.total - check.valid.get("codepoints", check.total)
        evidence = (f"{outside} of them fall outside the text when read as code points" if outside else
                    f"the selected text matches the selection names {check.name_matches[check.convention.name]} "
                    f"times this way, {check.name_matches.get('codepoints', 0)} times as code points")
        log.warning("%s wrote selection positions in %s, not in Unicode code points as REFI-QDA specifies "
                    "(%s); capcode converted all %d selections. Force a convention with --offsets if this "
                    "is wrong.", tool, check.convention.explanation, evidence, check.total)
    if project.origin.split(" ")[0] == ORIGIN:
        return  # capcode's own exports count code points
    for name in check.ambiguous_sources:
        log.warning("source '%s' contains characters beyond U+FFFF (e.g. emoji); its selections were read as "
                    "code points (the standard), which fits, but a tool counting UTF-16 units would also fit. "
                    "If codings look shifted after such a character, import again with --offsets utf16.", name)
