"""Segmentation: transcripts into turns, sentences and codable fragments.

A **fragment** is what coders code: one respondent turn, split at paragraph
breaks (blank lines) and then into groups of whole sentences of at most
``max_words`` words, never across speakers. Groups are as few as possible and
as even as possible (no 78-word fragment followed by a 3-word one). A single
sentence longer than ``max_words`` (unpunctuated speech) is cut into even
pieces, preferably after a comma, semicolon or colon.

Every unit carries the interviewer question before it as ``context`` (a short
back-channel turn such as "Mm-hm." is no question: the one before it stays the
context), and an id ``f"{source}#{start_char}-{end_char}"`` that stays the same
across runs. Who the interviewer is, is decided per transcript (interviewer.py)
and reported in one line per transcript.
Files are processed one at a time (memory does not grow with their number);
paragraphs go through ``nlp.pipe``.
"""

import dataclasses
import logging
import math
import re
from pathlib import Path
from typing import Iterator, Optional

from .archives import DEFAULT_LIMITS, ZipLimits
from .config import SegmentParams
from .dutch import build_nlp  # re-exported: the Dutch pipeline (tokenizer, sentence rules, lemmas)
from .errors import NOTICE, ConfigError, InputError
from .files import progress, write_jsonl
from .interviewer import decide, is_backchannel
from .metadata import Manifest, as_manifest, read_manifest, source_info
from .readers import SUPPORTED_SUFFIXES, EmptyTranscript, read_document, unsupported_message
from .records import UNKNOWN, Fragment, Transcript, Turn
from .turns import parse_turns

log = logging.getLogger("capcode")

UNITS = ("fragment", "sentence", "turn")
CHUNK_CHARS = 100_000  # paragraphs longer than this go through spaCy in pieces
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SOFT_CUT = frozenset(",;:–—")
# Pipeline components sentence boundaries do not need; skipped for speed.
NOT_FOR_SENTENCES = ("lemmatizer", "ner", "attribute_ruler", "morphologizer", "tagger")


# ---- finding and reading transcripts -----------------------------------------------

def find_transcripts(inputs) -> list:
    """(source, path) for every transcript in `inputs` (files or folders, searched recursively).

    `source` is the path relative to the folder given (posix slashes) or the
    file name when a file is given. Hidden files and Word lock files (~$...) are skipped.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    found, seen = [], {}
    for given in inputs:
        given = Path(given)
        if not given.exists():
            raise InputError(f"{given}: no such file or folder.")
        if given.is_dir():
            files = sorted((p for p in given.rglob("*") if _is_transcript(p, given)),
                           key=lambda p: p.relative_to(given).as_posix())
            if not files:
                raise InputError(f"{given}: no transcripts in this folder (looked for "
                                 f"{', '.join(SUPPORTED_SUFFIXES)}, also in subfolders).")
            _warn_left_out(given)
            pairs = [(p.relative_to(given).as_posix(), p) for p in files]
        else:
            if given.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise InputError(unsupported_message(given))
            pairs = [(given.name, given)]
        for source, path in pairs:
            if source in seen and seen[source].resolve() != path.resolve():
                raise InputError(f"{path}: has the same source name '{source}' as {seen[source]}; "
                                 "fragment ids would clash. Rename one, or give their common folder.")
            if source not in seen:
                seen[source] = path
                found.append((source, path))
    return found


# Documents that look like transcripts but cannot be read: an interview must not drop out unnoticed.
LEFT_OUT_SUFFIXES = (".doc", ".rtf", ".pdf", ".pages", ".odf")


def _warn_left_out(folder: Path) -> None:
    left_out = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                      if p.suffix.lower() in LEFT_OUT_SUFFIXES and p.is_file()
                      and not any(part.startswith((".", "~$")) for part in p.relative_to(folder).parts))
    if left_out:
        shown = ", ".join(left_out[:5]) + (" ..." if len(left_out) > 5 else "")
        log.warning(f"{folder}: left out {len(left_out)} file(s) capcode cannot read ({shown}); save them as "
                    ".docx or .txt to include them.")


def _is_transcript(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return (path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file()
            and not any(part.startswith((".", "~$")) for part in parts))


def load_transcript(source: str, path, params: SegmentParams, manifest: Optional[Manifest] = None,
                    limits: ZipLimits = DEFAULT_LIMITS) -> Transcript:
    """Read one transcript: plain text, metadata and speaker turns; warnings go to the log.

    Who interviews is decided here (the manifest's `interviewer`, else the labels of
    segment.interviewer_labels, else the turns) and reported in one line.
    """
    row = manifest.lookup(source, path) if manifest is not None else None
    named = row.interviewer if row is not None else None
    origin = f"{manifest.origin(row)}, column 'interviewer'" if row is not None else "manifest"
    text, turns, _ = read_turns(source, path, params, named, origin, limits)
    return Transcript(source_info(source, path, manifest), text, turns)


def read_turns(source: str, path, params: SegmentParams, named=None, origin: str = "manifest",
               limits: ZipLimits = DEFAULT_LIMITS) -> tuple:
    """(plain text, turns, interviewer Decision) of one transcript; notes and warnings go to the log.

    `named`: the interviewer label(s) the manifest gives (None: decide; (): none).
    """
    document = read_document(path, limits)
    for warning in document.warnings:
        log.warning(warning)
    split = parse_turns(document.text, source, params.interviewer_labels, document.speakers + tuple(named or ()))
    for warning in split.warnings:
        log.warning(warning)
    for note in split.notes:
        log.info(note)
    decision = decide(split.turns, source, named, origin)
    if decision.warning():
        log.warning(decision.warning())
    elif decision.reason != "no speaker labels":  # that case has had its warning from parse_turns
        log.log(NOTICE, decision.line())
    return document.text, decision.apply(split.turns), decision


# ---- units ------------------------------------------------------------------------

def iter_units(inputs, params: SegmentParams = SegmentParams(), unit: str = "fragment",
               manifest=None, nlp=None, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[Fragment]:
    """Stream the units (fragments, sentences or turns) of all transcripts, file by file."""
    if unit not in UNITS:
        raise ConfigError(f"unknown unit '{unit}'; use one of {', '.join(UNITS)}.")
    if params.max_words < 1:
        raise ConfigError(f"segment.max_words: must be at least 1, got {params.max_words}.")
    transcripts = find_transcripts(inputs)
    manifest = as_manifest(manifest)  # None, one file, or several (studies combined)
    if manifest is not None:
        manifest.check_against(transcripts)
    if nlp is None:
        nlp = build_nlp(params.spacy_model)
    unknown = []
    with progress(transcripts, "Segmenting") as bar:
        for source, path in bar:
            try:
                transcript = load_transcript(source, path, params, manifest, limits)
            except EmptyTranscript as exc:
                log.warning(f"{exc} Skipped.")
                continue
            if UNKNOWN in (transcript.info.case, transcript.info.respondent):
                unknown.append(source)
            count = 0
            for fragment in transcript_units(transcript, nlp, params, unit):
                count += 1
                yield fragment
            log.debug(f"{source}: {count} {unit}s")
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        log.warning(f"case or respondent unknown ('onbekend') for {len(unknown)} transcript(s): {shown}; "
                    "name files like case1_respondent4.docx or give a --manifest.")


def transcript_units(transcript: Transcript, nlp, params: SegmentParams, unit: str = "fragment") -> Iterator[Fragment]:
    """The units of one transcript, in text order, each with the question before it as context."""
    selected, question = [], ""
    for turn in transcript.turns:
        if turn.is_interviewer:
            if params.include_interviewer:
                selected.append((turn, ""))
            if not is_backchannel(turn.text):  # "Mm-hm." does not replace the question being answered
                question = turn.text
        else:
            selected.append((turn, question))
    if unit == "turn":
        docs = nlp.tokenizer.pipe(turn.text for turn, _ in selected)
        for (turn, context), doc in zip(selected, docs):
            yield _fragment(transcript, turn, context, turn.start_char, turn.end_char, _word_count(doc))
        return
    pieces = [(turn, context, start, end, continued) for turn, context in selected
              for start, end, continued in paragraphs(transcript.text, turn.start_char, turn.end_char)]
    present = nlp.pipe_names
    docs = nlp.pipe((transcript.text[start:end] for _, _, start, end, _ in pieces),
                    disable=[name for name in NOT_FOR_SENTENCES if name in present])
    runs = _paragraph_sentences(pieces, docs, params.max_words if unit == "fragment" else None)
    for turn, context, sentences in runs:
        groups = [[s] for s in sentences] if unit == "sentence" else group_sentences(sentences, params.max_words)
        for group in groups:
            words = sum(s[2] for s in group)
            if words:
                yield _fragment(transcript, turn, context, group[0][0], group[-1][1], words)


def _paragraph_sentences(pieces, docs, max_words):
    """(turn, context, sentences) per paragraph; the chunks of one long paragraph are joined again."""
    current = None
    for (turn, context, start, _end, continued), doc in zip(pieces, docs):
        found = list(sentence_spans(doc, start, max_words))
        if continued and current is not None:
            current[2].extend(found)
            continue
        if current is not None:
            yield current
        current = (turn, context, found)
    if current is not None:
        yield current


def paragraphs(text: str, start: int, end: int) -> Iterator[tuple]:
    """(start, end, continued) of the paragraphs in text[start:end] (split at blank lines), trimmed.

    A paragraph longer than CHUNK_CHARS is given in pieces for spaCy, cut after
    a sentence end or at a space; `continued` marks the later pieces.
    """
    position = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        yield from _chunked(text, position, match.start())
        position = match.end()
    yield from _chunked(text, position, end)


def _chunked(text, start, end):
    body = text[start:end]
    stripped = body.strip()
    if not stripped:
        return
    start += len(body) - len(body.lstrip())
    end = start + len(stripped)
    continued = False
    while end - start > CHUNK_CHARS:
        cut = _chunk_cut(text, start, start + CHUNK_CHARS)
        yield start, cut, continued
        continued = True
        start = cut
        while start < end and text[start].isspace():
            start += 1
    yield start, end, continued


def _chunk_cut(text, start, limit) -> int:
    """Where to cut a long paragraph before `limit`: after a sentence end, else at a space."""
    offset = start + (limit - start) // 2
    window = text[offset:limit]
    for pattern in (r".*[.!?…][\"'’”)]*\s", r".*\s"):
        match = re.match(pattern, window, re.DOTALL)
        if match:
            return offset + len(match.group().rstrip())
    return limit


def sentence_spans(doc, offset: int, max_words=None) -> Iterator[tuple]:
    """(start, end, words) of each sentence of a paragraph doc, as offsets into the plain text.

    One pass over the token table (`Doc.to_array`); whitespace tokens at a
    sentence's edges are left out. With `max_words`, a sentence longer than
    that is cut into pieces (see _cut_long).
    """
    if not len(doc):
        return
    table = doc.to_array(["IS_PUNCT", "IS_SPACE", "IDX", "LENGTH", "SENT_START"]).tolist()
    first = last = None
    words = 0
    for i, (punct, space, _idx, _length, start) in enumerate(table):
        if start == 1 and first is not None:
            yield from _sentence(doc, table, offset, first, last, words, max_words)
            first = None
        if space:
            continue
        if first is None:
            first, words = i, 0
        last = i
        if not punct:
            words += 1
    if first is not None:
        yield from _sentence(doc, table, offset, first, last, words, max_words)


def _sentence(doc, table, offset, first, last, words, max_words):
    """The span of tokens first..last (inclusive), cut when longer than max_words."""
    if max_words is None or words <= max_words:
        yield offset + table[first][2], offset + table[last][2] + table[last][3], words
        return
    is_word = [not (row[0] or row[1]) for row in table]
    for a, b in _cut_long(doc, first, last + 1, is_word, max_words):
        solid = [i for i in range(a, b) if not table[i][1]]
        if solid:
            end = solid[-1]
            yield offset + table[solid[0]][2], offset + table[end][2] + table[end][3], sum(is_word[a:b])


def _cut_long(doc, first, last, is_word, max_words):
    """Token ranges of at most max_words words covering tokens [first, last).

    The sentence is cut into clauses after , ; : and dashes, and the clauses
    are grouped like sentences (few, even groups); a clause that is itself too
    long (speech without punctuation) is cut into even runs of words.
    """
    clauses, start = [], first
    for i in range(first, last - 1):
        if doc[i].text in _SOFT_CUT:
            clauses.append((start, i + 1))
            start = i + 1
    clauses.append((start, last))
    pieces = []
    for a, b in clauses:
        words = [i for i in range(a, b) if is_word[i]]
        parts = max(1, math.ceil(len(words) / max_words))
        cuts = [a] + [words[round(k * len(words) / parts)] for k in range(1, parts)] + [b]
        pieces.extend((c, d, sum(is_word[c:d])) for c, d in zip(cuts, cuts[1:]))
    for group in group_sentences(pieces, max_words):
        yield group[0][0], group[-1][1]


def group_sentences(sentences, max_words: int) -> list:
    """Whole sentences into as few groups of at most max_words words as possible, as even as possible.

    Dynamic programme over (number of groups, sum of squared group sizes); a
    sentence longer than max_words (only possible when not cut) is a group of its own.
    """
    n = len(sentences)
    sizes = [sentence[2] for sentence in sentences]
    counts, squares, starts = [0] * (n + 1), [0] * (n + 1), [0] * (n + 1)
    for i in range(1, n + 1):
        words, best_count, best_square, best_start = 0, None, 0, i - 1
        for j in range(i - 1, -1, -1):
            words += sizes[j]
            if words > max_words and j < i - 1:
                break
            count, square = counts[j] + 1, squares[j] + words * words
            if best_count is None or count < best_count or (count == best_count and square < best_square):
                best_count, best_square, best_start = count, square, j
        counts[i], squares[i], starts[i] = best_count, best_square, best_start
    groups, i = [], n
    while i > 0:
        j = starts[i]
        groups.append(sentences[j:i])
        i = j
    return groups[::-1]


def _word_count(doc) -> int:
    """Words in a doc: tokens that are neither punctuation nor whitespace."""
    return sum(1 for punct, space in doc.to_array(["IS_PUNCT", "IS_SPACE"]).tolist() if not (punct or space))


def _fragment(transcript: Transcript, turn: Turn, context: str, start: int, end: int, words: int) -> Fragment:
    info = transcript.info
    return Fragment(
        id=f"{info.source}#{start}-{end}", source=info.source, case=info.case, respondent=info.respondent,
        role=info.role, speaker=turn.speaker, turn=turn.index, start_char=int(start), end_char=int(end),
        text=transcript.text[start:end], context=context, n_words=words,
    )


# ---- the commands' work -----------------------------------------------------------

def run_segment(inputs, out, params: SegmentParams = SegmentParams(), unit: str = "fragment",
                manifest=None, nlp=None, limits: ZipLimits = DEFAULT_LIMITS) -> int:
    """Write the units of all transcripts to `out` as JSON Lines (atomically); return how many."""
    out = Path(out)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for --out, e.g. fragments.jsonl.")
    if out.suffix.lower() in SUPPORTED_SUFFIXES:
        raise ConfigError(f"--out {out}: a transcript file type would be read as a transcript next time "
                          "(or overwrite one); give a .jsonl file name, e.g. fragments.jsonl.")
    units = iter_units(inputs, params, unit, manifest, nlp, limits)

    def records():
        count = 0
        for fragment in units:
            count += 1
            yield fragment.to_dict()
        if not count:
            raise InputError(f"no {unit}s found in {', '.join(map(str, _as_list(inputs)))}: "
                             "no respondent text (use --include-interviewer to keep interviewer turns).")

    return write_jsonl(out, records())


def run_text(path, limits: ZipLimits = DEFAULT_LIMITS) -> str:
    """The plain text of one transcript, as every offset refers to it; warnings go to the log."""
    document = read_document(path, limits)
    for warning in document.warnings:
        log.warning(warning)
    return document.text


def with_interviewer(params: SegmentParams, include: bool) -> SegmentParams:
    """`params` with include_interviewer switched on when the command-line flag asks for it."""
    return dataclasses.replace(params, include_interviewer=True) if include else params


def _as_list(inputs):
    return [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
