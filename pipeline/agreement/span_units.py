"""Span codings and the texts they mark, as one SpanStudy: the input of span-level agreement.

Sources of spans (any mix, each file's coders kept apart as in `pipeline.codings`):
- coding files in the span form (`source, start_char, end_char, coder` and either `dimension,
  value` or one column per dimension; CSV, XLSX or JSONL), with the transcripts from
  `--transcripts DIR` (read as `capcode text` reads them: every offset refers to that text);
- a REFI-QDA project (`.qdpx`): its text sources and codings, read as `capcode import-qdpx` does;
- a folder written by `capcode import-qdpx` (its `codings.csv` and `sources/`).

A coder's spans of one value that overlap are merged into one (with a warning): a unit of
alpha-U is a stretch a coder marked, and one coder cannot disagree with themself. Spans that only
touch stay apart. A coder *coded* a source when they have at least one span in it (on any
dimension); agreement is computed over the sources the coders compared all coded.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import CodebookError, InputError
from .spans import Units

log = logging.getLogger("capcode")

SPAN_COLUMNS = ("source", "start_char", "end_char")


@dataclass(frozen=True, eq=False)
class SpanDimension:
    """One dimension's spans after merging: parallel arrays, positions within each source."""

    dimension: str
    values: tuple
    coder: np.ndarray      # index into SpanStudy.coders
    value: np.ndarray      # index into values
    source: np.ndarray     # index into SpanStudy.sources
    start: np.ndarray
    end: np.ndarray
    merged: tuple = ()     # (coder, spans merged away) for each coder with overlapping same-value spans

    def coders(self) -> tuple:
        """Indices of the coders with at least one span on this dimension."""
        return tuple(int(c) for c in np.unique(self.coder))

    def units(self, coder: int, value: int, bounds: np.ndarray) -> Units:
        """One coder's units of one value on the continuum (sources laid end to end)."""
        mine = (self.coder == coder) & (self.value == value)
        source = self.source[mine]
        start, end = self.start[mine] + bounds[source], self.end[mine] + bounds[source]
        order = np.argsort(start, kind="stable")
        return Units(start[order], end[order], source[order])


@dataclass(frozen=True, eq=False)
class SpanStudy:
    """Everything span-level agreement reads: sources, their texts, coders and spans per dimension."""

    sources: tuple            # source names
    lengths: np.ndarray       # characters of each source's plain text
    texts: tuple              # the plain texts (for the disagreement listing)
    coders: tuple
    coded: np.ndarray         # (coders, sources): the coder has a span in the source
    dimensions: tuple         # SpanDimension, codebook order first
    notes: tuple = ()

    @property
    def bounds(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)


@dataclass(frozen=True)
class RawSpan:
    """One coded span as read, before sources are matched and values checked."""

    origin: str      # 'file, row N' for messages
    source: str
    start: int
    end: int
    coder: str
    dimension: str
    value: str


# ---- reading ------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_span_file(path, problems: list) -> list:
    """RawSpans of one coding file in the span form (wide or long); problems are collected."""
    from ..codings import detect_form
    from ..files import read_table

    path = Path(path)
    header, rows = read_table(path)
    try:
        form, kind = detect_form(header)
    except InputError as exc:
        problems.append(f"{path}: {exc}")
        return []
    if kind != "span":
        problems.append(f"{path}: codes fragments (fragment_id), not text spans; span-level agreement needs "
                        "'source', 'start_char' and 'end_char' columns (use --unit fragment for fragment codes).")
        return []
    coder_default = path.stem
    reserved = {"coder", "row", *SPAN_COLUMNS}
    from ..codings import METADATA_COLUMNS

    columns = [c for c in header if c and c not in reserved and c.lower() not in METADATA_COLUMNS
               and c != "code"] if form == "wide" else []
    out = []
    for row in rows:
        origin = f"{path}, row {row['row']}"
        source = _cell(row.get("source"))
        try:
            start, end = int(_cell(row.get("start_char"))), int(_cell(row.get("end_char")))
        except ValueError:
            problems.append(f"{origin}, column 'start_char': start_char and end_char must be whole numbers "
                            "(character offsets in the transcript's plain text).")
            continue
        if not source:
            problems.append(f"{origin}, column 'source': empty; give the transcript the span is in.")
            continue
        if start < 0 or end <= start:
            problems.append(f"{origin}, column 'end_char': span {start}-{end} is empty or reversed; end_char "
                            "must be larger than start_char.")
            continue
        coder = _cell(row.get("coder")) if "coder" in header else coder_default
        if not coder:
            problems.append(f"{origin}, column 'coder': empty; name the coder.")
            continue
        pairs = ([(_cell(row.get("dimension")), _cell(row.get("value")))] if form == "long"
                 else [(c, _cell(row.get(c))) for c in columns])
        for dimension, value in pairs:
            if not value:
                continue
            if not dimension:
                problems.append(f"{origin}, column 'dimension': empty; name the dimension of '{value}'.")
                continue
            out.append(RawSpan(origin, source, start, end, coder, dimension, value))
    return out


def read_transcript_texts(folder) -> dict:
    """{source: plain text} of every transcript in a folder, as `capcode text` reads them."""
    from ..readers import read_document
    from ..segment import find_transcripts

    return {source: read_document(path).text for source, path in find_transcripts(folder)}


def read_project_spans(path, codebook, offsets: str = "auto") -> tuple:
    """({source: text}, [RawSpan]) of a REFI-QDA project, read and mapped as `capcode import-qdpx` does."""
    from ..qdpx.importing import import_project
    from ..qdpx.read import read_project

    result = import_project(read_project(path), codebook, {}, offsets)
    spans = [RawSpan(f"{path}: {source}", source, start, end, coder, dimension, value)
             for source, start, end, coder, dimension, value, _ in result.codings]
    return dict(result.texts), spans


def read_import_folder(folder) -> tuple:
    """({source: text}, [RawSpan]) of a folder written by `capcode import-qdpx`."""
    folder = Path(folder)
    if not (folder / "codings.csv").is_file() or not (folder / "sources").is_dir():
        raise InputError(f"{folder}: a folder of spans must be one written by 'capcode import-qdpx' (with "
                         "codings.csv and sources/); give coding files with --transcripts otherwise.")
    problems = []
    spans = read_span_file(folder / "codings.csv", problems)
    if problems:
        raise InputError("; ".join(problems[:5]))
    texts = {}
    for path in sorted((folder / "sources").rglob("*.txt")):
        texts[path.relative_to(folder / "sources").as_posix()] = path.read_text(encoding="utf-8")
    return texts, spans


def _label(paths) -> list:
    stems = [Path(p).stem for p in paths]
    counts, seen, out = Counter(stems), Counter(), []
    for stem in stems:
        seen[stem] += 1
        out.append(stem if counts[stem] == 1 else f"{stem}{seen[stem]}")
    return out


def read_spans(paths: Sequence, transcripts=None, codebook=None, qdpx_codebook=None,
               merge_coders: bool = False) -> tuple:
    """({source: text}, [RawSpan]) from coding files, projects and import folders; coder names that
    occur in several inputs are kept apart as '<input>:<coder>' unless `merge_coders`."""
    from ..codebook.read import load_codebook

    if not paths:
        raise InputError("no span codings given.")
    texts, per_input, problems = {}, [], []
    text_origin = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found, spans = read_import_folder(path)
        elif path.suffix.lower() == ".qdpx":
            book = codebook if codebook is not None else load_codebook(qdpx_codebook or "default")
            found, spans = read_project_spans(path, book)
        else:
            if not path.exists():
                raise InputError(f"{path}: file not found.")
            found, spans = {}, read_span_file(path, problems)
        for source, text in found.items():
            if source in texts and texts[source] != text:
                raise InputError(f"{path}: source '{source}' has another text than in {text_origin[source]}; "
                                 "spans can only be compared on the same text.")
            texts.setdefault(source, text)
            text_origin.setdefault(source, str(path))
        per_input.append(spans)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError("; ".join(problems[:5]) + more)
    if transcripts is not None:
        for source, text in read_transcript_texts(transcripts).items():
            texts.setdefault(source, text)
    elif not texts:
        raise InputError("span codings refer to transcripts: give --transcripts DIR (the folder given to "
                         "'capcode segment'), so that each source's text and length are known.")
    if not merge_coders and len(paths) > 1:
        per_input = _separate_coders(paths, per_input)
    return texts, [span for spans in per_input for span in spans]


def _separate_coders(paths, per_input) -> list:
    inputs_of = defaultdict(set)
    for index, spans in enumerate(per_input):
        for span in spans:
            inputs_of[span.coder].add(index)
    shared = {coder for coder, found in inputs_of.items() if len(found) > 1}
    if not shared:
        return per_input
    labels = _label(paths)
    log.warning("coder name(s) %s occur in several inputs; kept apart as '<input>:<coder>' (use --merge-coders "
                "if they are the same coding split over files).", ", ".join(sorted(shared)))
    return [[RawSpan(s.origin, s.source, s.start, s.end, f"{labels[i]}:{s.coder}" if s.coder in shared else s.coder,
                     s.dimension, s.value) for s in spans] for i, spans in enumerate(per_input)]


# ---- building the study -------------------------------------------------------------------------


def _source_matcher(names):
    """A function: a span's source -> the text's source name (exact, else file name, else stem), or None."""
    exact = set(names)
    by_key = {}
    for key in (lambda s: Path(s).name, lambda s: Path(s).stem):
        index = defaultdict(list)
        for name in names:
            index[key(name)].append(name)
        by_key[key] = index

    def match(source: str) -> Optional[str]:
        if source in exact:
            return source
        name = Path(source.replace("\\", "/")).name
        for key, index in by_key.items():
            found = index.get(key(name), [])
            if len(found) == 1:
                return found[0]
        return None
    return match


def _checked_values(spans, codebook) -> tuple:
    """(dimensions in order, {dimension: values in order}, spans with canonical values)."""
    problems, out = [], []
    if codebook is not None:
        for span in spans:
            if not codebook.has_dimension(span.dimension):
                problems.append(f"{span.origin}: '{span.dimension}' is not a dimension of codebook "
                                f"'{codebook.name}' ({', '.join(codebook.dimension_ids)}).")
                continue
            value = codebook.dimension(span.dimension).normalize(span.value)
            if value is None:
                problems.append(f"{span.origin}: '{span.value}' is not a value of '{span.dimension}'; use one of "
                                f"{', '.join(codebook.value_ids(span.dimension))}.")
                continue
            out.append(RawSpan(span.origin, span.source, span.start, span.end, span.coder, span.dimension, value))
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise CodebookError("; ".join(problems[:5]) + more)
        used = {s.dimension for s in out}
        dimensions = [d for d in codebook.dimension_ids if d in used]
        return dimensions, {d: codebook.value_ids(d) for d in dimensions}, out
    dimensions = list(dict.fromkeys(s.dimension for s in spans))
    values = {d: tuple(sorted({s.value for s in spans if s.dimension == d})) for d in dimensions}
    return dimensions, values, list(spans)


def merge_overlaps(group, start, end) -> tuple:
    """(keep group, start, end, merged count): overlapping intervals of one group joined into one.

    Intervals are sorted by (group, start); one starting before the running end of its group joins
    it; one starting exactly there (touching) stays apart.
    """
    order = np.lexsort((start, group))
    group, start, end = group[order], start[order], end[order]
    if len(group) == 0:
        return group, start, end, 0
    shift = int(end.max()) + 1
    running = np.maximum.accumulate(end + group * shift) - group * shift
    new = np.ones(len(group), dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (start[1:] >= running[:-1])
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:] - 1, [len(group) - 1]])
    return group[first], start[first], running[last], int(len(group) - len(first))


def build_study(texts: dict, spans: Sequence[RawSpan], codebook=None) -> SpanStudy:
    """A SpanStudy from texts and raw spans: sources matched, offsets checked, values checked,
    overlapping same-value spans of a coder merged (with a warning)."""
    if not spans:
        raise InputError("no coded spans found (all value cells empty?).")
    names = sorted(texts)
    match = _source_matcher(names)
    problems = []
    resolved = []
    for span in spans:
        source = match(span.source)
        if source is None:
            shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
            problems.append(f"{span.origin}, column 'source': no transcript '{span.source}' (transcripts: "
                            f"{shown or 'none'}).")
            continue
        if span.end > len(texts[source]):
            problems.append(f"{span.origin}, column 'end_char': span {span.start}-{span.end} runs past the end of "
                            f"'{source}' ({len(texts[source])} characters); check that the offsets refer to the "
                            "text 'capcode text' prints.")
            continue
        resolved.append((source, span))
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError("; ".join(problems[:5]) + more)
    dimensions, values, checked = _checked_values([s for _, s in resolved], codebook)
    checked_sources = [match(s.source) for s in checked]
    coders = tuple(dict.fromkeys(s.coder for s in checked))
    coder_index = {c: i for i, c in enumerate(coders)}
    source_index = {s: i for i, s in enumerate(names)}
    coded = np.zeros((len(coders), len(names)), dtype=bool)
    for span, source in zip(checked, checked_sources):
        coded[coder_index[span.coder], source_index[source]] = True

    records = []
    for dimension in dimensions:
        value_index = {v: i for i, v in enumerate(values[dimension])}
        mine = [(s, src) for s, src in zip(checked, checked_sources) if s.dimension == dimension]
        coder = np.array([coder_index[s.coder] for s, _ in mine], dtype=np.int64)
        value = np.array([value_index[s.value] for s, _ in mine], dtype=np.int64)
        source = np.array([source_index[src] for _, src in mine], dtype=np.int64)
        start = np.array([s.start for s, _ in mine], dtype=np.int64)
        end = np.array([s.end for s, _ in mine], dtype=np.int64)
        n_sources, n_values = len(names), len(value_index)
        group = (coder * n_values + value) * n_sources + source
        group, start, end, _ = merge_overlaps(group, start, end)
        before = Counter(coder.tolist())
        source, rest = group % n_sources, group // n_sources
        value, coder = rest % n_values, rest // n_values
        after = Counter(coder.tolist())
        merged = tuple((coders[c], before[c] - after[c]) for c in sorted(before) if before[c] > after[c])
        if merged:
            detail = ", ".join(f"{name} {count}" for name, count in merged)
            log.warning("%s: overlapping spans of one coder with the same value were merged into one (spans "
                        "merged away: %s).", dimension, detail)
        records.append(SpanDimension(dimension, tuple(values[dimension]), coder, value, source, start, end, merged))
    lengths = np.array([len(texts[n]) for n in names], dtype=np.int64)
    return SpanStudy(tuple(names), lengths, tuple(texts[n] for n in names), coders, coded, tuple(records))


def load_span_study(paths, transcripts=None, codebook=None, qdpx_codebook=None, merge_coders=False) -> SpanStudy:
    """Read span codings (files, projects, import folders) and their texts into a SpanStudy."""
    from ..codebook.read import load_codebook

    book = load_codebook(codebook) if codebook is not None else None
    texts, spans = read_spans(paths, transcripts, book, qdpx_codebook, merge_coders)
    return build_study(texts, spans, book)
