"""Speaker turns: who says what, as exact spans of the plain text.

Recognised conventions (one label at the start of a line):

- ``I: ...``, ``R: ...``, ``Interviewer: ...``, ``Respondent 3: ...``,
  ``Spreker 1: ...``, ``Naam Achternaam: ...``, ``**I:** ...`` (Markdown bold);
- a timestamp such as ``[00:12:34]``, ``(00:12:34)`` or ``00:12:34`` before
  or after the label (``[00:12:34] I: ...``, ``I [00:12:34]: ...``,
  ``I: [00:12:34] ...``), or alone on the line above it;
- a label alone on its line (optionally with a timestamp, as many
  transcription tools write it) with the text on the following lines;
- a label and text separated by a tab (a table row ``I | text`` in Word).

Which labels are interviewers is configurable (SegmentParams.interviewer_labels;
``Vraag 3`` and ``Interviewer 2`` count as ``Vraag`` and ``Interviewer``); all
other speakers are respondents. To avoid taking ordinary text for a speaker, a
free-form name (``Jan Peeters:``) counts only when it starts a line at least
twice in the file and is not a common word (``Bijvoorbeeld:``, ``Datum:``).
Text before the first label (a header with date and place) is no turn.
A file without any label is one respondent turn, with a warning.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Optional

from .config import DEFAULT_INTERVIEWERS
from .records import new_turn

UNLABELLED = ""  # speaker of a turn without a label

RESPONDENT_WORDS = ("r", "resp", "respondent", "a", "antwoord", "geïnterviewde", "geinterviewde",
                    "interviewee", "spreker", "speaker", "deelnemer", "participant", "p", "b", "bevraagde")

# Words that start a line with a colon in ordinary text; never a speaker unless configured.
NOT_SPEAKERS = frozenset("""
bijvoorbeeld bv opmerking noot nb ps let datum plaats locatie tijd tijdstip duur onderwerp thema
tip dus maar en ja nee oké ok kortom samengevat conclusie ten eerst eerst daarna vervolgens
enerzijds anderzijds stelling doel doelen probleem oplossing vraag antwoord citaat quote
note aanwezig aanwezigen afwezig interview transcript transcriptie case casus gemeente
organisatie functie naam leeftijd geslacht opname bestand pagina hoofdstuk bijlage bron
zie voorbeeld voorbeelden definitie resultaat resultaten inleiding besluit samenvatting actie
acties agenda verslag aandachtspunt aandachtspunten""".split())


def _optional(pattern: str) -> str:
    """`(?:pattern)?` written as `(?:pattern|)`: the same matches, found faster. Python's regex
    engine runs an optional group as a repeat, saving its state at every try, and an empty
    alternative directly: the label pattern is a sixth faster (tests/test_turns.py compares both)."""
    return f"(?:{pattern}|)"


_TS = r"[\[(]?\d{1,2}:\d{2}" + _optional(r":\d{2}") + _optional(r"[.,]\d{1,3}") + r"[\])]?"
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’.-]{0,30}"
_PARTICLE = r"(?:van|de|der|den|het|ter|ten|te|von|vd|da|di|du|le|la|el|al|'t)"
_NUMBER = r"\d{1,3}(?!\d|[:.,]\d)"
_NAME = rf"{_NAME_WORD}(?:[ ](?:{_NAME_WORD}|{_PARTICLE}|{_NUMBER})){{0,4}}"
_BOLD = _optional(r"\*\*|__")
_STAMP_ABOVE = _optional(rf"(?P<ts0>{_TS})[ \t]*\n[ \t]*")                # timestamp alone on the line above
_STAMP_BEFORE = _optional(rf"(?P<ts1>{_TS})[ \t]*" + _optional(r"[-–][ \t]*"))  # timestamp before the label
_NOTE = _optional(r"[ ]?\([^()\n]{1,40}\)")                                # 'Respondent 3 (schepen)'
_STAMP_AFTER = _optional(rf"(?P<ts2>{_TS})[ \t]*")                          # timestamp after the label
_STAMP_AFTER_SEPARATOR = _optional(rf"(?P<ts3>{_TS})(?=\s)")


@lru_cache(maxsize=32)
def _label_pattern(known: tuple) -> re.Pattern:
    """The regex for a label line; `known` labels match in any letter case."""
    words = sorted({re.escape(k) for k in known if k}, key=len, reverse=True)
    known_re = rf"(?i:(?:{'|'.join(words)}){_optional('[ _-]?' + _NUMBER)})" if words else r"(?!x)x"
    return re.compile(
        rf"^[ \t]*{_STAMP_ABOVE}{_STAMP_BEFORE}{_BOLD}(?P<label>(?:{known_re}|{_NAME}){_NOTE})"
        rf"{_BOLD}[ \t]*{_STAMP_AFTER}(?P<sep>:|\t|(?=\n)|\Z){_BOLD}[ \t]*{_STAMP_AFTER_SEPARATOR}[ \t]*",
        re.MULTILINE,
    )


@lru_cache(maxsize=32)
def _after_newline(known: tuple) -> re.Pattern:
    """`_label_pattern` for the lines after the first, from the newline before them: the regex
    engine then skips to the next newline instead of trying every character, and a quick look
    at the line's first character (what a label, a timestamp or bold can start with) passes
    over blank lines and ordinary text lines."""
    pattern = _label_pattern(known)
    firsts = "".join(sorted({re.escape(k[0]) for k in known if k}))
    known_first = f"|(?i:[{firsts}])" if firsts else ""
    guard = rf"(?=[ \t]*(?:[\[(\d*_A-ZÀ-ÖØ-Þ]{known_first}))"
    return re.compile("\n" + guard + pattern.pattern[1:], pattern.flags)


def _label_matches(text: str, at_start: re.Pattern, after_newline: re.Pattern) -> tuple:
    """(the label line at the text's start or None, an iterator of the label lines after it), as
    `_label_pattern(known).finditer(text)` finds them; a line after the first is found from the
    newline before it (_after_newline), so its match starts one character before the line."""
    first = at_start.match(text)
    # a match never ends at a line's start: none is skipped
    return first, after_newline.finditer(text, first.end() if first is not None else 0)


@dataclass(frozen=True, eq=False)
class _Labels:
    """What parse_turns needs of the labels it is given, made once per set of labels (_labels):
    a study has one; files whose format names the speakers, and manifest rows naming an
    interviewer, add others."""

    at_start: re.Pattern
    after_newline: re.Pattern
    interviewers: frozenset   # the interviewer labels, folded
    speakers: frozenset
    kinds: dict               # label -> (is an interviewer's, is a known kind of speaker), as labels are met

    def kind(self, label: str) -> tuple:
        """(is an interviewer's, is a known kind of speaker: format-given, interviewer or respondent)."""
        kind = self.kinds.get(label)
        if kind is None:
            if len(self.kinds) >= _KINDS_MAX:
                self.kinds.clear()
            is_interviewer = _is_interviewer(label, self.interviewers)
            kind = self.kinds[label] = (is_interviewer, label in self.speakers or is_interviewer
                                        or _base(label) in RESPONDENT_WORDS)
        return kind


_KINDS_MAX = 10_000  # labels remembered per set of labels (free-form names are many in a large study)


@lru_cache(maxsize=64)
def _labels(interviewer_labels: tuple, speakers: tuple) -> _Labels:
    """The _Labels of these interviewer labels and format-given speaker names."""
    known = interviewer_labels + RESPONDENT_WORDS + speakers
    interviewers = frozenset(_fold(label) for label in interviewer_labels)
    return _Labels(_label_pattern(known), _after_newline(known), interviewers, frozenset(speakers), {})


@dataclass(frozen=True)
class TurnSplit:
    """The turns of a transcript and one-line notes for the researcher."""

    turns: tuple
    warnings: tuple = ()
    notes: tuple = ()


def parse_turns(text: str, source: str, interviewer_labels=DEFAULT_INTERVIEWERS, speakers=()) -> TurnSplit:
    """Split plain text into speaker turns; every turn's span is exact: text[start:end] == turn.text.

    `speakers` are names the file format itself marks (VTT voice tags); they always count as labels.
    Most transcripts have only labels of a known kind (I:, R:, Respondent 3:), some of them not an
    interviewer's: their turns are made in one pass over the label lines (_known_speakers_turns).
    The others' labels are weighed first (_weighed_turns: a free-form name must recur).
    """
    labels = _labels(tuple(interviewer_labels), tuple(speakers))
    split = _known_speakers_turns(text, source, labels)
    return split if split is not None else _weighed_turns(text, source, labels)


def _known_speakers_turns(text: str, source: str, labels: _Labels) -> Optional[TurnSplit]:
    """The turns when every label is of a known kind and not every one is an interviewer's, made
    as the label lines are found (a turn ends where the next label line starts), as
    _weighed_turns makes them (tests/test_turns.py compares both); None for other transcripts."""
    turns, speakers, clocks = [], {}, {}  # speakers: label as written -> (speaker, is an interviewer's)
    respondent, body = False, None  # body: where the text of the turn being read starts (None: no label yet)
    first, rest = _label_matches(text, labels.at_start, labels.after_newline)
    for match in (rest if first is None else chain((first,), rest)):
        ts0, ts1, raw, ts2, _, ts3 = match.groups()  # the pattern's groups, in order (_label_pattern)
        speaker = speakers.get(raw)
        if speaker is None:
            label = _clean(raw)
            asks, known = labels.kind(label)
            if not known:
                return None
            speaker = speakers[raw] = (label, asks)
            respondent = respondent or not asks
        line, end = match.span()
        if match is not first:
            line += 1  # found from the newline before the line
        if body is None:
            preamble_end = line
        else:
            turn = _turn(text, source, len(turns) + 1, name, is_interviewer, body, line,
                         stamp and _clocked(clocks, stamp))
            if turn:
                turns.append(turn)
        (name, is_interviewer), body, stamp = speaker, end, ts0 or ts1 or ts2 or ts3 or None
    if body is None or not respondent:
        return None
    turn = _turn(text, source, len(turns) + 1, name, is_interviewer, body, len(text), stamp and _clocked(clocks, stamp))
    if turn:
        turns.append(turn)
    return TurnSplit(tuple(turns), (), _preamble_notes(text, preamble_end, source))


def _weighed_turns(text: str, source: str, labels: _Labels) -> TurnSplit:
    """The turns of any transcript: the label lines are found, then weighed (_accepted_labels),
    then the turns made; a label's cleaned form and kind are worked out once per distinct label."""
    cleaned = {}
    candidates = []  # (start, end, label, separator, first timestamp)
    first, rest = _label_matches(text, labels.at_start, labels.after_newline)
    for match in (rest if first is None else chain((first,), rest)):
        ts0, ts1, raw, ts2, sep, ts3 = match.groups()  # the pattern's groups, in order (_label_pattern)
        label = cleaned.get(raw)
        if label is None:
            label = cleaned[raw] = _clean(raw)
        start = match.start() + 1 if match is not first else 0  # found from the newline before the line
        candidates.append((start, match.end(), label, sep, ts0 or ts1 or ts2 or ts3 or None))
    distinct = set(cleaned.values())
    accepted = _accepted_labels(candidates, labels, distinct)
    spans = candidates if len(accepted) == len(distinct) else [c for c in candidates if c[2] in accepted]
    if not spans:
        turn = _turn(text, source, 1, UNLABELLED, False, 0, len(text), None)
        warnings = (f"{source}: no speaker labels found (such as 'I:' or 'R:'); "
                    "the whole transcript is taken as one respondent turn.",)
        return TurnSplit((turn,) if turn else (), warnings)

    notes = _preamble_notes(text, spans[0][0], source)
    kinds = {label: labels.kind(label)[0] for label in accepted}
    clocks = {}
    ends = [candidate[0] for candidate in spans[1:]] + [len(text)]
    if all(kinds.values()):
        return _interviewer_only(text, source, spans, ends, kinds, clocks, notes)
    turns = []
    for (_, start, speaker, _, stamp), end in zip(spans, ends):
        turn = _turn(text, source, len(turns) + 1, speaker, kinds[speaker], start, end,
                     stamp and _clocked(clocks, stamp))
        if turn:
            turns.append(turn)
    return TurnSplit(tuple(turns), (), notes)


def _preamble_notes(text: str, first_label: int, source: str) -> tuple:
    """A note when there is text before the first label (a header with date and place)."""
    preamble = text[:first_label].strip()
    if preamble:
        return (f"{source}: {len(preamble)} characters before the first speaker label are not part of any turn.",)
    return ()


def _interviewer_only(text, source, labels, ends, kinds, clocks, notes) -> TurnSplit:
    """The turns when every label is an interviewer's: each question's first paragraph is the
    question, the rest the respondent's answer (_split_answers), with a warning."""
    spans = []
    for (_, start, speaker, _, stamp), end in zip(labels, ends):
        spans.append((speaker, kinds[speaker], start, end, stamp and _clocked(clocks, stamp)))
    turns = []
    for speaker, is_int, start, end, stamp in _split_answers(text, spans):
        turn = _turn(text, source, len(turns) + 1, speaker, is_int, start, end, stamp)
        if turn:
            turns.append(turn)
    warnings = (f"{source}: only interviewer labels found; after each question's first paragraph "
                "the text is taken as the respondent's answer.",)
    return TurnSplit(tuple(turns), warnings, notes)


def is_interviewer_label(label: str, interviewer_labels=DEFAULT_INTERVIEWERS) -> bool:
    """Whether a speaker label names an interviewer ('Vraag 3' counts as 'Vraag')."""
    return _is_interviewer(label, {_fold(x) for x in interviewer_labels})


def _accepted_labels(candidates, labels: _Labels, distinct) -> set:
    """Labels that really are speakers: known kinds, format-given names, repeated names.

    `distinct`: the candidates' labels; when all are of a known kind (as in most transcripts),
    the candidates need not be counted."""
    known = {label for label in distinct if labels.kind(label)[1]}
    if len(known) == len(distinct):
        return known
    counts, with_colon, with_time = {}, set(), set()
    for _, _, label, sep, stamp in candidates:
        counts[label] = counts.get(label, 0) + 1
        if sep == ":" or sep == "\t":
            with_colon.add(label)
        if stamp:
            with_time.add(label)
    accepted = set()
    for label, count in counts.items():
        if label in known:
            accepted.add(label)
        elif (count >= 2 and _base(label) not in NOT_SPEAKERS and _fold(label).split()[0] not in NOT_SPEAKERS
              and (label in with_colon or label in with_time or len(label.split()) >= 2)):
            accepted.add(label)
    return accepted


def _split_answers(text, spans):
    """Without respondent labels: a question is its first paragraph, the rest is the answer."""
    out = []
    for speaker, is_int, start, end, stamp in spans:
        body = text[start:end]
        lead = len(body) - len(body.lstrip())
        brk = re.compile(r"\n[ \t]*\n").search(body, lead) or re.compile(r"\n").search(body, lead)
        if brk is None:
            out.append((speaker, is_int, start, end, stamp))
            continue
        out.append((speaker, is_int, start, start + brk.start(), stamp))
        out.append((UNLABELLED, False, start + brk.end(), end, None))
    return out


def _turn(text, source, index, speaker, is_interviewer, start, end, stamp):
    """A Turn over text[start:end] trimmed of surrounding whitespace, or None when empty."""
    stripped = text[start:end].strip()
    if not stripped:
        return None
    if text[start].isspace():
        start = _LEADING_SPACE.match(text, start, end).end()  # \s is str.isspace(), as strip() uses
    return new_turn(source, index, speaker, is_interviewer, start, start + len(stripped), stripped, stamp)


_LEADING_SPACE = re.compile(r"\s*")


def _clocked(clocks: dict, stamp):
    """The turn's time for a label's time stamp (None: none), each stamp read once per transcript."""
    if stamp not in clocks:
        clocks[stamp] = _clock(stamp)
    return clocks[stamp]


def _clean(label: str) -> str:
    """The label as a speaker name: Markdown bold marks removed, spaces collapsed."""
    return " ".join(label.replace("**", "").replace("__", "").split())


@lru_cache(maxsize=4096)  # a transcript has a few labels, asked about once per turn
def _fold(label: str) -> str:
    return " ".join(str(label).casefold().split())


_STAMP_PARTS = re.compile(r"[\[(]?(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d{1,3})?[\])]?")  # _TS, with its parts
_PARENTHESIS = re.compile(r"\s*\([^)]*\)$")
_TRAILING_NUMBER = re.compile(r"[\s_-]*\d+$")


@lru_cache(maxsize=4096)
def _base(label: str) -> str:
    """'Respondent 3 (schepen)' -> 'respondent'; 'SPEAKER_00' -> 'speaker'."""
    return _fold(_TRAILING_NUMBER.sub("", _PARENTHESIS.sub("", label)))


def label_base(label: str) -> str:
    """The kind of speaker a label names, without number or note: 'Respondent 3 (schepen)' -> 'respondent'."""
    return _base(label)


def same_label(a: str, b: str) -> bool:
    """Whether two speaker labels are the same, ignoring letter case and spacing."""
    return _fold(a) == _fold(b)


def _is_interviewer(label: str, interviewers: set) -> bool:
    return _fold(label) in interviewers or _base(label) in interviewers


def _clock(stamp):
    """'[00:12:34]' -> '00:12:34'; '0:03' -> '00:00:03'; None stays None.

    A label's time stamp (the shape of _TS) is read from the parts of one regex match: what
    _clock_from_digits gives (tests/test_turns.py compares them), four times faster."""
    if not stamp:
        return None
    parts = _STAMP_PARTS.fullmatch(stamp)
    if parts is None:
        return _clock_from_digits(stamp)
    hours, minutes, seconds = parts.groups()
    return f"{hours:0>2}:{minutes}:{seconds}" if seconds else f"00:{hours:0>2}:{minutes}"


def _clock_from_digits(stamp: str) -> str:
    """The stamp's first three numbers (before any fraction of a second) as hh:mm:ss."""
    parts = re.findall(r"\d+", stamp.split(".")[0].split(",")[0])[:3]
    while len(parts) < 3:
        parts.insert(0, "0")
    return ":".join(f"{int(p):02d}" for p in parts)
