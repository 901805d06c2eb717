"""Selection offsets: how a tool counted positions, and moving them into the text capcode reads.

REFI-QDA counts Unicode code points from 0, end exclusive. Some tools count UTF-16 code units
(an emoji then counts twice) or count a Windows line end differently; `detect_offsets` tries
every convention on all selections and keeps the standard unless the selections only fit (or
clearly match) another, and `report_offsets` says so. `as_capcode_sees_it` gives the text with
`\n` line ends in Unicode NFC, as capcode's reader returns it, with every position moved along.
"""

import bisect
import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
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


# Where a convention counts a character other than once: each alternative's width.
_ASTRAL = "[\U00010000-\U0010FFFF]"


def _special_pattern(conv: OffsetConvention):
    """A pattern for the characters `conv` does not count as one; None when it counts every one once."""
    parts = []
    if conv.utf16:
        parts.append(_ASTRAL)                  # two UTF-16 units
    if conv.newline == "crlf-as-one":
        parts.append(r"\r(?=\n)")              # the CR of CR LF counts zero
    elif conv.newline == "lf-as-two":
        parts.append(r"(?<!\r)\n")              # a bare LF counts two
    return re.compile("|".join(parts)) if parts else None


def differs(text: str, conv: OffsetConvention) -> bool:
    """Whether `conv` counts this text differently from code points at all."""
    pattern = _special_pattern(conv)
    return pattern is not None and pattern.search(text) is not None


def tool_to_codepoints(text: str, conv: OffsetConvention, positions) -> dict:
    """{position as the tool counts it: code point position} for the given positions that exist.

    A position the tool cannot express (between the two halves of a character it counts
    twice) is left out; where several code points share a position (CR LF counted once)
    the first is given. One pass over the characters `conv` counts differently, in the
    order of the positions: time linear in the text, memory in the number of positions.
    """
    wanted = sorted({p for p in positions if p is not None and p >= 0})
    found, at = {}, 0
    if not wanted:
        return found
    pattern = _special_pattern(conv)
    codepoint, counted = 0, 0  # where the current run of characters counted once begins
    next_wanted = wanted[0]
    for match in (pattern.finditer(text) if pattern is not None else ()):
        run_end = counted + match.start() - codepoint
        if next_wanted <= run_end:
            while at < len(wanted) and wanted[at] <= run_end:
                if wanted[at] >= counted:
                    found[wanted[at]] = codepoint + wanted[at] - counted
                at += 1
            if at == len(wanted):
                return found
            next_wanted = wanted[at]
        counted, codepoint = run_end + (0 if match.group() == "\r" else 2), match.start() + 1
    run_end = counted + len(text) - codepoint
    for position in wanted[at:]:
        if counted <= position <= run_end:
            found[position] = codepoint + position - counted
    return found


def _norm_space(text: str) -> str:
    return " ".join(text.split())


_WORD = re.compile(r"\S+")


def _name_matches(name: str, text: str, start: int, end: int) -> bool:
    """Whether a selection's name (many tools store the selected text there) agrees with text[start:end].

    Only as many words of the selection are looked at as the name can cover, so a
    selection of a whole long interview costs no more than a short one.
    """
    name = _norm_space(name).rstrip(".…").strip()
    if len(name) < 4:
        return False
    words, length = [], -1
    for word in _WORD.finditer(text, start, end):
        words.append(word.group())
        length += len(word.group()) + 1
        if length > len(name):
            break
    selected = " ".join(words)
    return selected == name or (len(name) >= 8 and selected.startswith(name))


def selection_positions(source: QdaSource, conv: OffsetConvention) -> set:
    """The code point positions where the selections of `source` start and end under `conv`."""
    return {position for _, start, end in _map_source(source, conv) if start is not None
            for position in (start, end)}


def _map_source(source: QdaSource, conv: OffsetConvention):
    """Selections of `source` in code points under `conv`: list of (selection, start, end) or (selection, None, None)."""
    if conv.name == "codepoints" or not differs(source.text, conv):
        mapping = None
    else:
        mapping = tool_to_codepoints(source.text, conv,
                                     [p for s in source.selections for p in (s.start, s.end)])
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
                n_names += _name_matches(selection.name, source.text, start, end)
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
    first = re.search(_ASTRAL, source.text)
    return first is not None and any(s.end > first.start() for s in source.selections)


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


def as_capcode_sees_it(text: str, positions=()) -> tuple:
    """(text as capcode's reader returns it, {old position: new position} for `positions`).

    capcode reads .txt with `\n` line ends in Unicode NFC (pipeline.readers), so the
    imported text is written that way and every selection offset is moved with it. A
    position inside a piece that changed (between CR and LF, before a combining mark)
    moves to the piece's start. The map is None when the text needs no change. Time and
    memory are linear in the text: only the given positions are mapped.
    """
    if "\r" not in text and unicodedata.is_normalized("NFC", text):
        return text, None
    positions = sorted(set(positions))
    text, line_ends = _lf_line_ends(text, positions)
    if unicodedata.is_normalized("NFC", text):
        return text, line_ends
    result, moved = _normalise_blocks(text, sorted(set(line_ends.values())))
    return result, {old: moved[middle] for old, middle in line_ends.items()}


_LINE_END = re.compile(r"\r\n?")


def _lf_line_ends(text: str, positions: list) -> tuple:
    """(text with CR LF and CR made LF, {position: moved position}); `positions` sorted."""
    moved, at, removed = {}, 0, 0
    for match in _LINE_END.finditer(text):
        while at < len(positions) and positions[at] <= match.start():
            moved[positions[at]] = positions[at] - removed
            at += 1
        while at < len(positions) and positions[at] < match.end():  # between CR and LF
            moved[positions[at]] = match.start() - removed
            at += 1
        removed += len(match.group()) - 1
    for position in positions[at:]:
        moved[position] = position - removed
    return _LINE_END.sub("\n", text), moved


BLOCK = 1 << 20  # characters; text is normalised in blocks that end at a line end


def _normalise_blocks(text: str, positions: list) -> tuple:
    """(text in NFC, {position: moved position}); `positions` sorted.

    A line end never combines with anything, so blocks of whole lines normalise on their
    own; most blocks are already NFC and are kept as they are.
    """
    moved, pieces, shift, start = {}, [], 0, 0
    while start < len(text) or not pieces:
        cut = text.find("\n", min(start + BLOCK, len(text)))
        end = len(text) if cut < 0 else cut + 1
        block = text[start:end]
        first, last = bisect.bisect_left(positions, start), bisect.bisect_right(positions, end)
        inside = [p - start for p in positions[first:last]]
        if unicodedata.is_normalized("NFC", block):
            new, inner = block, {p: p for p in inside}
        else:
            new, inner = _normalise_line(block, inside)
        for position in inside:
            moved.setdefault(position + start, inner[position] + start + shift)
        pieces.append(new)
        shift += len(new) - len(block)
        start = end
    return "".join(pieces), moved


def _normalise_line(line: str, positions: list) -> tuple:
    """(NFC of a block of lines, {position: moved position}) for sorted positions inside it.

    A position inside a piece that NFC may rewrite as a whole (a character and the marks
    that combine with it) moves to the piece's start. The text between two such starts
    normalises on its own, so each moved position is the length of the normalised text
    before it: every character is normalised once, by unicodedata, whatever the number
    of positions.
    """
    expected = unicodedata.normalize("NFC", line)
    starts = _piece_starts(line, positions)
    moved, done, length, agrees = {}, 0, 0, True
    for start in sorted(set(starts.values())) + [len(line)]:
        piece = unicodedata.normalize("NFC", line[done:start])
        agrees = agrees and expected.startswith(piece, length)
        length += len(piece)
        moved[start] = length
        done = start
    if not agrees or length != len(expected):  # not expected for any Unicode text; kept as a safety net
        return expected, _aligned_positions(line, expected, positions)
    return expected, {position: moved[start] for position, start in starts.items()}


def _piece_starts(line: str, positions: list) -> dict:
    """{position: the start of the piece it lies in}: itself, unless it lies before a combining character."""
    joiner, runs = _joiners()
    starts, inside = {}, []
    for position in positions:
        if position < len(line) and joiner.match(line, position):
            inside.append(position)
        else:
            starts[position] = position
    if inside:  # one pass over the runs of combining characters, from a position before the first one
        pending = iter(inside)
        position = next(pending)
        before = max((p for p in starts if p < inside[0]), default=0)  # no run crosses it
        for run in runs.finditer(line, before):
            while position is not None and position < run.end():
                starts[position] = max(run.start() - 1, 0) if run.start() <= position else position
                position = next(pending, None)
            if position is None:
                break
    return starts


@lru_cache(maxsize=1)
def _joiners() -> tuple:
    """Patterns for one, and a run of, the characters NFC may combine with the character before them.

    Those are: a non-zero combining class, a decomposition that starts with one, or the
    second half of a canonical composition (Hangul vowels and final consonants, the vowel
    parts of some Indic scripts). Built once, from the Unicode data of this Python.
    """
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    decomposing = []
    for code in range(0x110000):
        decomposition = unicodedata.decomposition(chr(code))
        if decomposition and not decomposition.startswith("<"):
            decomposing.append(code)
            parts = decomposition.split()
            if len(parts) == 2 and not unicodedata.combining(chr(int(parts[1], 16))):
                seconds.add(int(parts[1], 16))
    joiners = {code for code in range(0x110000) if unicodedata.combining(chr(code))} | seconds
    for code in decomposing:
        first = unicodedata.normalize("NFD", chr(code))[0]
        if unicodedata.combining(first) or ord(first) in seconds:
            joiners.add(code)
    join = _char_class(sorted(joiners))
    return re.compile(f"[{join}]"), re.compile(f"[{join}]+")


def _char_class(codes: list) -> str:
    """A regular-expression character class body for sorted code points, as ranges."""
    ranges, first = [], None
    for code in codes:
        if first is not None and code == last + 1:
            last = code
            continue
        if first is not None:
            ranges.append((first, last))
        first = last = code
    if first is not None:
        ranges.append((first, last))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


def _aligned_positions(old: str, new: str, positions: list) -> dict:
    import difflib

    moved = {}
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for position in positions:
            if i1 <= position < i2:
                moved[position] = j1 + (position - i1 if tag == "equal" else 0)
    for position in positions:
        moved.setdefault(position, len(new))
    return moved


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
