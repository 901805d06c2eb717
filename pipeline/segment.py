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
and reported in one line per transcript. Files are segmented a group at a time (memory does not
grow with their number), the paragraphs of a group tokenized together (units.py).
"""

import dataclasses
import functools
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from .archives import DEFAULT_LIMITS, ZipLimits
from .config import SegmentParams
from .errors import NOTICE, ConfigError, InputError
from .files import atomic_open, progress
from .interviewer import decide, is_backchannel
from .metadata import Manifest, as_manifest, info_from_name, info_from_row, real_paths
from .forkpool import older_objects_spared
from .parallel import Workers, forks, ordered_map
from .readers import SUPPORTED_SUFFIXES, EmptyTranscript, read_document
from .records import UNKNOWN, Fragment, SourceInfo, Transcript, line_maker, record_maker
from .shards import ShardWriter
from .transcripts import find_transcripts, transcript_paths  # noqa: F401 (find_transcripts: used from here)
from .turns import parse_turns

log = logging.getLogger("capcode")

UNITS = ("fragment", "sentence", "turn")
# Imported when segmenting starts, not with this module: the main process of a parallel run
# never loads spaCy (its workers do). Still importable from here (module __getattr__).
_LATER = {"build_nlp": "dutch", "group_sentences": "units", "paragraphs": "units", "sentence_spans": "units",
          "word_counts": "units"}


def __getattr__(name):
    if name in _LATER:
        import importlib

        return getattr(importlib.import_module(f".{_LATER[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- reading transcripts ----------------------------------------------------------

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
    info = info_from_row(source, row) if row is not None else info_from_name(source)
    return Transcript(info, text, turns)


def read_turns(source: str, path, params: SegmentParams, named=None, origin: str = "manifest",
               limits: ZipLimits = DEFAULT_LIMITS) -> tuple:
    """(plain text, turns, interviewer Decision) of one transcript; notes and warnings go to the log.

    `named`: the interviewer label(s) the manifest gives (None: decide; (): none).
    """
    document = read_document(path, limits)
    split = _split_turns(document, source, params, named)
    decision = decide(split.turns, source, named, origin)
    _report(document, split, decision)
    return document.text, decision.apply(split.turns), decision


def _split_turns(document, source: str, params: SegmentParams, named=None):
    """The speaker turns of a read transcript (the labels the format and the manifest name count as speakers)."""
    return parse_turns(document.text, source, params.interviewer_labels, document.speakers + tuple(named or ()))


def _report(document, split=None, decision=None) -> None:
    """What reading a transcript has to say: warnings, notes and the interviewer line, to the log
    (as far as the reading got: the document, its turns, the interviewer decision)."""
    for warning in document.warnings:
        log.warning(warning)
    if split is None:
        return
    for warning in split.warnings:
        log.warning(warning)
    for note in split.notes:
        log.info(note)
    if decision is None:
        return
    if decision.warning():
        log.warning(decision.warning())
    elif decision.reason != "no speaker labels" and log.isEnabledFor(NOTICE):  # that case: warned by parse_turns
        log.log(NOTICE, decision.line())


# ---- units ------------------------------------------------------------------------

@dataclass(frozen=True)
class FileJob:
    """One transcript to segment, with what the manifest says about it (all a worker needs)."""

    source: str
    path: str
    info: SourceInfo
    named: Optional[tuple] = None    # the manifest's interviewer labels (None: decide)
    origin: str = "manifest"         # where `named` comes from, for messages


def file_jobs(inputs, manifest=None) -> list:
    """A FileJob for every transcript in `inputs`, the manifest read and checked once."""
    transcripts = transcript_paths(inputs)
    manifest = as_manifest(manifest)  # None, one file, or several (studies combined)
    resolved = real_paths([path for _, path in transcripts]) if manifest is not None else [None] * len(transcripts)
    if manifest is not None:
        manifest.check_against(transcripts, resolved)
    jobs = []
    for (source, path), real in zip(transcripts, resolved):
        row = manifest.lookup(source, path, real) if manifest is not None else None
        if row is None:
            jobs.append(FileJob(source, path, info_from_name(source)))
        else:
            jobs.append(FileJob(source, path, info_from_row(source, row), row.interviewer,
                                f"{manifest.origin(row)}, column 'interviewer'"))
    return jobs


def _check_settings(params: SegmentParams, unit: str) -> None:
    if unit not in UNITS:
        raise ConfigError(f"unknown unit '{unit}'; use one of {', '.join(UNITS)}.")
    if params.max_words < 1:
        raise ConfigError(f"segment.max_words: must be at least 1, got {params.max_words}.")


def segmenting_nlp(params: SegmentParams):
    """The spaCy pipeline segmenting needs: tokens and sentences, no lemmas.

    One per process, built once; a thread other than the main one (a Dask worker may run
    several at once in one process) gets one of its own, kept for the thread's lifetime.
    """
    from .dutch import build_nlp, new_nlp

    if threading.current_thread() is threading.main_thread():
        return build_nlp(params.spacy_model, lemmas=False)
    pipelines = _THREAD.__dict__.setdefault("pipelines", {})
    if params.spacy_model not in pipelines:
        pipelines[params.spacy_model] = new_nlp(params.spacy_model, lemmas=False)
    return pipelines[params.spacy_model]


_THREAD = threading.local()


def _ready_nlp(params: SegmentParams, unit: str):
    """segmenting_nlp with what it needs made before the first file: for fragments and turns,
    whose words are counted from their chunks', the words of its tokenizer's special cases
    (wordcounts.chunk_words), worked out once, before forking."""
    from .wordcounts import chunk_words

    nlp = segmenting_nlp(params)
    if unit != "sentence":
        chunk_words(nlp.tokenizer)
    return nlp


def group_records(jobs, params: SegmentParams, unit: str, limits: ZipLimits, nlp=None, maker=None) -> list:
    """For each transcript of `jobs`, its units as dicts (a Fragment's fields, in order), or None
    for an empty file. Warnings and the interviewer line go to the log as each file is read; the
    sentences of all the files are then found together (one tokenizer call per ~100,000
    characters: see units.py), which is why the work is done a group of files at a time.
    """
    # each step for all the files, then the next: a step's code and data stay in the processor's
    # caches (a tenth faster than file after file). What a step raises for a file is raised, and
    # what it has to say logged, when that file's turn comes: as when each file is done in turn.
    documents = [_attempt(read_document, job.path, limits) for job in jobs]
    splits = [None if isinstance(document, BaseException) else
              _attempt(_split_turns, document, job.source, params, job.named)
              for job, document in zip(jobs, documents)]
    decisions = [None if split is None or isinstance(split, BaseException) else
                 _attempt(decide, split.turns, job.source, job.named, job.origin)
                 for job, split in zip(jobs, splits)]
    transcripts = []
    for job, document, split, decision in zip(jobs, documents, splits, decisions):
        if isinstance(document, EmptyTranscript):
            log.warning(f"{document} Skipped.")
            transcripts.append(None)
            continue
        if isinstance(document, BaseException):
            raise document
        if isinstance(split, BaseException):
            _report(document)
            raise split
        if isinstance(decision, BaseException):
            _report(document, split)
            raise decision
        _report(document, split, decision)
        transcripts.append(Transcript(job.info, document.text, decision.apply(split.turns)))
    nlp = nlp if nlp is not None else segmenting_nlp(params)
    found = transcripts_records([t for t in transcripts if t is not None], nlp, params, unit, maker)
    records = [None if transcript is None else next(found) for transcript in transcripts]
    if log.isEnabledFor(logging.DEBUG):
        for job, units in zip(jobs, records):
            if units is not None:
                log.debug(f"{job.source}: {len(units)} {unit}s")
    return records


def _attempt(function, *args):
    """function(*args), or the exception it raised (to be raised in its turn)."""
    try:
        return function(*args)
    except Exception as exc:
        return exc


GROUP_BYTES = 256 * 1024  # transcripts segmented together: about this many bytes of files
GROUP_FILES = 64


def job_groups(jobs, sizes=None) -> list:
    """Consecutive groups of FileJobs of about GROUP_BYTES (at most GROUP_FILES files);
    `sizes`: the files' sizes, when known."""
    groups, group, size = [], [], 0
    for job, job_size in zip(jobs, sizes or [_size(job.path) for job in jobs]):
        group.append((job, job_size))
        size += job_size
        if size >= GROUP_BYTES or len(group) >= GROUP_FILES:
            groups.append(group)
            group, size = [], 0
    if group:
        groups.append(group)
    return [[job for job, _ in group] for group in groups] if sizes is None else groups


def iter_units(inputs, params: SegmentParams = SegmentParams(), unit: str = "fragment",
               manifest=None, nlp=None, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[Fragment]:
    """Stream the units (fragments, sentences or turns) of all transcripts, a group of files at a time."""
    _check_settings(params, unit)
    jobs = file_jobs(inputs, manifest)
    nlp = nlp if nlp is not None else segmenting_nlp(params)
    with progress(job_groups(jobs), "Segmenting") as bar:
        for group in bar:
            for records in group_records(group, params, unit, limits, nlp):
                for record in records or ():
                    yield Fragment(**record)
    _warn_unknown(jobs)


def _warn_unknown(jobs) -> None:
    unknown = [job.source for job in jobs if UNKNOWN in (job.info.case, job.info.respondent)]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        log.warning(f"case or respondent unknown ('onbekend') for {len(unknown)} transcript(s): {shown}; "
                    "name files like case1_respondent4.docx or give a --manifest.")


def transcript_units(transcript: Transcript, nlp, params: SegmentParams, unit: str = "fragment") -> Iterator[Fragment]:
    """The units of one transcript, in text order, each with the question before it as context."""
    for record in transcript_records(transcript, nlp, params, unit):
        yield Fragment(**record)


def transcript_records(transcript: Transcript, nlp, params: SegmentParams, unit: str = "fragment") -> list:
    """transcript_units as plain dicts with a Fragment's fields in order: what fragments.jsonl holds."""
    return next(transcripts_records([transcript], nlp, params, unit))


def _selected_turns(transcript: Transcript, params: SegmentParams) -> list:
    """(turn, context) of the turns that give units: the question before each answer is its context."""
    selected, question = [], ""
    for turn in transcript.turns:
        if turn.is_interviewer:
            if params.include_interviewer:
                selected.append((turn, ""))
            if not is_backchannel(turn.text):  # "Mm-hm." does not replace the question being answered
                question = turn.text
        else:
            selected.append((turn, question))
    return selected


def transcripts_records(transcripts, nlp, params: SegmentParams, unit: str = "fragment", maker=None) -> Iterator[list]:
    """For each transcript, the list of its units as dicts; the texts of all go through spaCy together.

    `maker` (default `record_maker`) makes what each unit becomes from a transcript; `line_maker`
    gives the unit's line of fragments.jsonl.
    """
    from .units import group_sentences, paragraphs, sentence_spans, word_counts

    transcripts = list(transcripts)
    maker = maker or record_maker
    selected = [_selected_turns(transcript, params) for transcript in transcripts]
    if unit == "turn":
        counts = word_counts([turn.text for turns in selected for turn, _ in turns], nlp)
        for transcript, turns in zip(transcripts, selected):
            record = maker(transcript)
            yield [record(turn, context, turn.start_char, turn.end_char, words)
                   for (turn, context), words in zip(turns, counts)]
        return
    pieces, texts, starts, whole = [], [], [], []  # (turn, context, start, end, continued) per transcript; paragraphs
    for transcript, turns in zip(transcripts, selected):
        text, parts = transcript.text, []
        for turn, context in turns:
            for start, end, continued in paragraphs(text, turn.start_char, turn.end_char):
                parts.append((turn, context, start, end, continued))
                texts.append(text[start:end])
                starts.append(start)
                if continued:  # a paragraph in pieces: its sentences are grouped together
                    whole[-1] = False
                whole.append(not continued)
        pieces.append(parts)
    fragments = unit == "fragment"
    found = sentence_spans(texts, nlp, params.max_words if fragments else None, starts, whole if fragments else None)
    max_words = params.max_words
    for transcript, parts in zip(transcripts, pieces):
        record, records = maker(transcript), []
        for turn, context, sentences in _paragraph_sentences(parts, found):
            if len(sentences) == 1:  # one sentence, or a short paragraph given whole: one unit
                (start, end, words), = sentences
                if words:
                    records.append(record(turn, context, start, end, words))
                continue
            groups = [[s] for s in sentences] if unit == "sentence" else group_sentences(sentences, max_words)
            for group in groups:
                words = sum(sentence[2] for sentence in group)
                if words:
                    records.append(record(turn, context, group[0][0], group[-1][1], words))
        yield records


def _paragraph_sentences(pieces, found):
    """(turn, context, sentences) per paragraph; the pieces of one long paragraph are joined again.
    `found` is an iterator of the pieces' sentences, offsets into the plain text (one item is
    taken per piece)."""
    current = None
    for turn, context, _start, _end, continued in pieces:
        sentences = next(found)
        if continued and current is not None:
            current[2].extend(sentences)
            continue
        if current is not None:
            yield current
        current = (turn, context, sentences)
    if current is not None:
        yield current


# ---- the commands' work -----------------------------------------------------------

# Work worth a worker process of its own. A forked worker finds the pipeline built (forkpool.py);
# starting and ending two costs 0.2-0.5 s, and segmenting a MB about 0.35 CPU s, so a second
# process pays from about 2 MB of transcripts (docs/scale.md). A spawned worker (Windows) must
# first import and build the pipeline (about 1.3 s): there it pays from about 8 MB per worker.
MIN_BYTES_PER_WORKER = 1024 * 1024
MIN_BYTES_PER_SPAWNED_WORKER = 8 * 1024 * 1024


def segment_group(group: list, params: SegmentParams, unit: str, limits: ZipLimits, nlp=None) -> list:
    """[(JSON Lines text, count) or None] for a group of transcripts: the work of one worker item."""
    with older_objects_spared():  # the pipeline's objects are not walked by the collector again
        return [None if lines is None else ("".join(lines), len(lines))
                for lines in group_records(group, params, unit, limits, nlp, line_maker)]


def run_segment(inputs, out, params: SegmentParams = SegmentParams(), unit: str = "fragment",
                manifest=None, nlp=None, limits: ZipLimits = DEFAULT_LIMITS, workers: Workers = Workers(),
                shard_size: Optional[int] = None) -> int:
    """Write the units of all transcripts to `out` as JSON Lines (atomically); return how many.

    `workers` spreads the transcripts over processes or a Dask cluster (parallel.py); the output
    is the same byte for byte whatever it says. With `shard_size`, `out` is a folder of shards:
    one file per `shard_size` transcripts and a manifest (shards.py). `nlp` (a pipeline object
    of this process) keeps the work in this process.
    """
    out = _checked_out(Path(out), shard_size)
    _check_settings(params, unit)
    jobs = file_jobs(inputs, manifest)
    work = functools.partial(segment_group, params=params, unit=unit, limits=limits, nlp=nlp)
    if nlp is not None:  # a pipeline object of this process: the work stays here
        workers = Workers()
    elif workers.min_work is None:
        workers = dataclasses.replace(workers, min_work=MIN_BYTES_PER_WORKER if forks(workers)
                                      else MIN_BYTES_PER_SPAWNED_WORKER)
    shards = [jobs[i:i + shard_size] for i in range(0, len(jobs), shard_size)] if shard_size else [jobs]
    groups, shard_of, weights = [], [], []
    for number, shard in enumerate(shards):
        for group in job_groups(shard, [_size(job.path) for job in shard]):
            groups.append([job for job, _ in group])
            weights.append(sum(size for _, size in group))
            shard_of.append(number)
    results = ordered_map(work, groups, workers, weights=weights, label="Segmenting",
                          prepare=functools.partial(_ready_nlp, params, unit))  # built once, before forking
    count = 0
    if shard_size:
        writer = ShardWriter(out, unit)
        try:
            current, texts, units = 0, [], 0
            for number, group_results in zip(shard_of, results):
                if number != current:  # the shard before is complete: written now, not kept
                    writer.add([job.source for job in shards[current]], "".join(texts), units)
                    count, current, texts, units = count + units, number, [], 0
                for text, found in filter(None, group_results):
                    texts.append(text)
                    units += found
            writer.add([job.source for job in shards[current]], "".join(texts), units)
            count += units
            _refuse_nothing(count, unit, inputs)
            writer.close()
        except BaseException:
            writer.abort()
            raise
    else:
        with atomic_open(out) as handle:
            for group_results in results:
                done = [result for result in group_results if result]
                handle.write("".join(text for text, _ in done))  # one write per group of files
                count += sum(units for _, units in done)
            _refuse_nothing(count, unit, inputs)
    _warn_unknown(jobs)
    return count


def _checked_out(out: Path, shard_size) -> Path:
    if shard_size is not None:
        if shard_size < 1:
            raise ConfigError(f"--shard-size: at least 1 transcript per shard, got {shard_size}.")
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: is a file; with --shard-size, --out names a folder (e.g. fragments/).")
        return out
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for --out, e.g. fragments.jsonl.")
    if out.suffix.lower() in SUPPORTED_SUFFIXES:
        raise ConfigError(f"--out {out}: a transcript file type would be read as a transcript next time "
                          "(or overwrite one); give a .jsonl file name, e.g. fragments.jsonl.")
    return out


def _refuse_nothing(count: int, unit: str, inputs) -> None:
    if not count:
        raise InputError(f"no {unit}s found in {', '.join(map(str, _as_list(inputs)))}: "
                         "no respondent text (use --include-interviewer to keep interviewer turns).")


def _size(path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


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
