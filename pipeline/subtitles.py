"""Subtitle files (.vtt, .srt) into transcript text: one line per run of one speaker's cues.

Consecutive cues of one speaker become one line ``[hh:mm:ss] Speaker: text`` (the first
cue's start time); the speaker comes from a ``<v Speaker>`` voice tag or a leading
``Speaker:`` in the cue text. Tags and the usual character entities are removed, white
space is collapsed. readers.py decodes the file and calls `read_vtt` or `read_srt`.
"""

import re
from dataclasses import dataclass

from .errors import InputError
from .turns import NOT_SPEAKERS

_TIMING = re.compile(r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<end>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.]*>")
_CUE_SPEAKER = re.compile(r"^\s*(?:\[(?P<b>[^\]\n]{1,40})\]|(?P<n>[A-Z][\w'’.-]{0,30}(?: [A-Z0-9][\w'’.-]{0,30}){0,2}))\s*:\s+")
_ENTITY = re.compile(r"&\w+;")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0", "&lrm;": "", "&rlm;": ""}
_CLOCK_PARTS = re.compile(r"[:.,]")


@dataclass(frozen=True)
class Cue:
    start: str
    speaker: str
    text: str


def read_vtt(text: str, path) -> tuple:
    """WebVTT cues into speaker lines; the `<v Speaker>` voice tag gives the speaker."""
    blocks = _blocks(text)
    header = next(blocks, None)
    if header is None or not header[1].startswith("WEBVTT"):
        raise InputError(f"{path}, line 1: not a WebVTT file (it must start with 'WEBVTT'); "
                         "export the subtitles again or rename the file to .txt.")
    return join_cues(_cues(blocks, path, vtt=True), path)


def read_srt(text: str, path) -> tuple:
    """SubRip cues into speaker lines; a leading 'Speaker:' in a cue gives the speaker."""
    return join_cues(_cues(_blocks(text), path, vtt=False), path)


# A block: a run of lines up to a blank one (spaces and tabs only) or the end; it starts at a
# character that is not white space. Each line is taken whole ([^\n]*), not a character at a
# time: the same blocks, found several times faster.
_BLOCK = re.compile(r"[^\s][^\n]*(?:\n(?![ \t]*(?:\n|$))[^\n]*)*")


def _blocks(text: str):
    """(line number, block) for each run of non-blank lines."""
    line, position = 1, 0
    for match in _BLOCK.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        yield line, match.group()


def _cues(blocks, path, vtt: bool):
    """Parse cue blocks; NOTE/STYLE/REGION blocks (VTT) are skipped. The timing is on the
    block's first or second line (a cue number before it); the cue's text follows it."""
    for line, block in blocks:
        if vtt and block.startswith(("NOTE", "STYLE", "REGION")):
            continue
        first, _, payload = block.partition("\n")
        timing = _TIMING.match(first)
        if timing is None:
            second, _, payload = payload.partition("\n")
            timing = _TIMING.match(second)
        if timing is None:
            raise InputError(f"{path}, line {line}: cue without a timing line ('00:00:01.000 --> 00:00:04.000'); "
                             f"is this a {'WebVTT' if vtt else 'SubRip'} file?")
        speaker = ""
        voice = _VOICE.search(payload)
        if voice:
            speaker = voice.group(1).strip()
        cleaned = " ".join(_unescape(_TAG.sub("", payload)).split())
        if not speaker:
            named = _CUE_SPEAKER.match(cleaned)
            if named and (named.group("b") or named.group("n").casefold() not in NOT_SPEAKERS):
                speaker = (named.group("b") or named.group("n")).strip()
                cleaned = cleaned[named.end():]
        if cleaned:
            yield Cue(_clock(timing.group("start")), speaker, cleaned)


def join_cues(cues, path) -> tuple:
    """One line per run of cues of one speaker: '[hh:mm:ss] Speaker: text'.

    A cue without a speaker continues the previous cue's speaker (tools often
    name the speaker only where it changes).
    """
    lines, speakers = [], []
    first, texts = None, []  # the run's first cue, the texts of its cues
    for cue in cues:
        if first is not None and cue.speaker in ("", first.speaker):
            texts.append(cue.text)
            continue
        if first is not None:
            lines.append(_line(first, texts))
        first, texts = cue, [cue.text]
        if cue.speaker and cue.speaker not in speakers:
            speakers.append(cue.speaker)
    if first is not None:
        lines.append(_line(first, texts))
    return "\n".join(lines), tuple(speakers)


def _line(first: Cue, texts: list) -> str:
    return f"[{first.start}] {first.speaker + ': ' if first.speaker else ''}{' '.join(texts)}"


def _clock(stamp: str) -> str:
    """'1:02:03.450' or '02:03,450' -> '01:02:03' (cue times to the second)."""
    parts = _CLOCK_PARTS.split(stamp)[:-1]
    while len(parts) < 3:
        parts.insert(0, "0")
    hours, minutes, seconds = parts  # a cue's start time has at most three parts before the fraction
    return f"{int(hours):02d}:{int(minutes):02d}:{int(seconds):02d}"


def _unescape(text: str) -> str:
    if "&" not in text:  # most cues: nothing to look up
        return text
    return _ENTITY.sub(lambda m: _ENTITIES.get(m.group(), m.group()), text)
