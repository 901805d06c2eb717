"""Hand-coded fragments: read the team's codings in any of their forms (`codings_check.py` checks them).

Accepted files (CSV, XLSX or JSON Lines; the form is detected from the columns):

- **wide**: `fragment_id`, `coder`, then one column per dimension (`relevant`, `impact`, ...);
- **long**: `fragment_id`, `coder`, `dimension`, `value` (one row per code, as QDA tools export);
- **span form** (wide or long): `source`, `start_char`, `end_char` instead of `fragment_id`: the
  span is attached to the fragment of the same source that it overlaps by the most characters
  (ties go to the earlier fragment); a span that overlaps no fragment is an error.

`coder` may be absent: the file then holds one coder, named after the file stem (`anna.csv` ->
`anna`) unless `coder_default` is given. When several files use the same coder name, the coders
are kept apart as `<file stem>:<coder>` (a re-coding round is another coder), unless
`merge_coders` is set (the same person split the work over several files).

Empty cells mean "not coded". Every value is checked against the codebook (matching ids or labels
regardless of case); all problems of all files are raised together, one line each.
"""

import difflib
import logging
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Optional

from .codebook.read import format_errors, load_codebook
from .errors import CodebookError, InputError
from .files import read_fragments, read_table
from .records import Coding, Fragment

log = logging.getLogger("capcode")

ID_COLUMN = "fragment_id"
SPAN_COLUMNS = ("source", "start_char", "end_char")
LONG_COLUMNS = ("dimension", "value")
CODER_COLUMN = "coder"
# A column resembling a dimension the file has no column for this much (difflib ratio) is taken
# for a misspelling of it ('strat_oper' for 'strategisch_operationeel'), not ignored.
MISSING_DIMENSION_CUTOFF = 0.5
# Columns that may sit beside the codes (exports, notes) and are never read as dimensions.
METADATA_COLUMNS = frozenset({
    "row", "id", "text", "tekst", "fragment", "context", "note", "notes", "comment", "comments", "memo",
    "opmerking", "opmerkingen", "case", "casus", "respondent", "role", "rol", "speaker", "spreker", "turn",
    "n_words", "document", "date", "datum", "quote", "citaat",
})


class _Problems:
    """Problems collected over all files, in file and row order; raised together at the end."""

    def __init__(self):
        self.messages: list = []
        self.seen: set = set()  # a file-wide problem found on every row is reported once
        self.any_input = False
        self.input = _Sink(self, True)
        self.codebook = _Sink(self, False)

    def __bool__(self):
        return bool(self.messages)

    def raise_all(self, intro: str) -> None:
        cls = InputError if self.any_input else CodebookError
        error = cls(format_errors(self.messages, intro))
        error.problems = tuple(self.messages)  # one message per problem, for a one-line summary
        raise error


class _Sink:
    """`problems.input.append(...)` / `problems.codebook.append(...)`: one kind of problem."""

    def __init__(self, problems: _Problems, is_input: bool):
        self.problems, self.is_input = problems, is_input

    def append(self, message: str) -> None:
        if message in self.problems.seen:
            return
        self.problems.seen.add(message)
        self.problems.messages.append(message)
        self.problems.any_input |= self.is_input


def _cell(path, row, column=None) -> str:
    text = f"{path}, row {row['row']}" if isinstance(row, dict) else f"{path}, row {row}"
    return text + (f", column '{column}'" if column else "")


def _text(value) -> str:
    """A cell as text: None -> '', whole floats from spreadsheets -> '2' rather than '2.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class SpanIndex:
    """Attaches `source, start_char, end_char` spans to fragments.

    Rule: among the fragments of the same source, the one sharing the most characters with the
    span; on a tie the earlier fragment (smaller start_char). A span sharing no character with any
    fragment is an error. The span's source matches a fragment source exactly, else by file name,
    else by file name without extension, if that identifies one source.
    """

    def __init__(self, fragments: Iterable[Fragment]):
        self.by_source = defaultdict(list)
        for fragment in fragments:
            self.by_source[fragment.source].append((fragment.start_char, fragment.end_char, fragment.id))
        for spans in self.by_source.values():
            spans.sort()
        self._resolved = {}
        self.spanning = set()  # spans that overlapped more than one fragment (each attached to one)

    def resolve_source(self, source: str) -> Optional[str]:
        """The fragments' source name a coding file's `source` refers to, or None."""
        if source in self._resolved:
            return self._resolved[source]
        found = source if source in self.by_source else None
        if found is None:
            name = Path(source.replace("\\", "/")).name
            for key in (lambda s: Path(s).name, lambda s: Path(s).stem):
                wanted = key(name)
                matches = [s for s in self.by_source if key(s) == wanted]
                if len(matches) == 1:
                    found = matches[0]
                    break
        self._resolved[source] = found
        return found

    def attach(self, source: str, start: int, end: int) -> Optional[str]:
        """The id of the fragment this span overlaps most, or None when it overlaps none."""
        resolved = self.resolve_source(source)
        if resolved is None:
            return None
        best, best_overlap, touched = None, 0, 0
        for frag_start, frag_end, frag_id in self.by_source[resolved]:
            if frag_start >= end:
                break
            overlap = min(end, frag_end) - max(start, frag_start)
            touched += overlap > 0
            if overlap > best_overlap:  # strict: ties keep the earlier fragment
                best, best_overlap = frag_id, overlap
        if touched > 1:
            self.spanning.add((resolved, start, end))
        return best

    def sources(self) -> list:
        return sorted(self.by_source)


def as_fragments(fragments) -> Optional[list]:
    """Fragments given as records or as a path to a fragments file."""
    if fragments is None:
        return None
    if isinstance(fragments, (str, Path)):
        return list(read_fragments(fragments))
    return list(fragments)


def _as_paths(paths) -> list:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def detect_form(header) -> tuple:
    """('wide' | 'long', 'id' | 'span') from a file's columns, or raise InputError naming what is missing."""
    columns = set(header)
    form = "long" if all(c in columns for c in LONG_COLUMNS) else "wide"
    if ID_COLUMN in columns:
        return form, "id"
    if all(c in columns for c in SPAN_COLUMNS):
        return form, "span"
    raise InputError("needs a 'fragment_id' column, or 'source', 'start_char' and 'end_char' "
                     f"columns for text spans; it has {', '.join(header) or 'no columns'}.")


def _dimension_columns(path, header, codebook, problems) -> dict:
    """{column name: dimension id} of a wide file; unknown columns are ignored, near-misses are errors."""
    reserved = {ID_COLUMN, CODER_COLUMN, *SPAN_COLUMNS}
    out = {}
    ignored = []
    # dimensions with no column of their own: a column that resembles one is a misspelling, not a note
    named = {column.casefold() for column in header if column}
    missing = [d for d in codebook.dimension_ids if d.casefold() not in named] if codebook is not None else []
    for column in header:
        if not column or column in reserved:
            continue
        if codebook is None:
            if column.lower() not in METADATA_COLUMNS:
                out[column] = column
            continue
        match = [d for d in codebook.dimension_ids if d.casefold() == column.casefold()]
        if match:  # a codebook may well have a dimension called 'role' or 'case'
            out[column] = match[0]
            continue
        if column.lower() in METADATA_COLUMNS:
            continue
        close = difflib.get_close_matches(column, codebook.dimension_ids, n=1, cutoff=0.8) or \
            difflib.get_close_matches(column, missing, n=1, cutoff=MISSING_DIMENSION_CUTOFF)
        if close:
            problems.codebook.append(f"{path}, column '{column}': not a dimension of codebook "
                                     f"'{codebook.name}'; did you mean '{close[0]}'? Rename the column.")
        else:
            ignored.append(column)
    if ignored:
        log.warning("%s: columns %s are not dimensions of codebook '%s' and are ignored.",
                    path, ", ".join(ignored), codebook.name)
    if not out and codebook is not None and not problems:
        problems.input.append(f"{path}: no column is a dimension of codebook '{codebook.name}' "
                              f"({', '.join(codebook.dimension_ids)}), and there are no "
                              "'dimension' and 'value' columns.")
    return out


def _check_value(path, row, column, dimension, raw, codebook, problems) -> Optional[str]:
    """The canonical value id, or None after recording a problem."""
    if codebook is None:
        return raw
    if not codebook.has_dimension(dimension):
        close = difflib.get_close_matches(dimension, codebook.dimension_ids, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"dimensions are {', '.join(codebook.dimension_ids)}."
        problems.codebook.append(f"{_cell(path, row, column)}: '{dimension}' is not a dimension of "
                                 f"codebook '{codebook.name}'; {hint}")
        return None
    spec = codebook.dimension(dimension)
    value = spec.normalize(raw)
    if value is None:
        problems.codebook.append(f"{_cell(path, row, column)}: '{raw}' is not a value of '{dimension}'; "
                                 f"use one of {', '.join(spec.value_ids)} (or leave the cell empty).")
    return value


def _fragment_of(path, row, kind, spans, problems) -> Optional[str]:
    """The fragment id a row refers to (directly or through its span), or None after a problem."""
    if kind == "id":
        fragment_id = _text(row.get(ID_COLUMN))
        if not fragment_id:
            problems.input.append(f"{_cell(path, row, ID_COLUMN)}: empty; give the fragment id.")
            return None
        return fragment_id
    source = _text(row.get("source"))
    try:
        start, end = int(_text(row.get("start_char"))), int(_text(row.get("end_char")))
    except ValueError:
        problems.input.append(f"{_cell(path, row, 'start_char')}: start_char and end_char must be whole "
                              "numbers (character offsets in the transcript's plain text).")
        return None
    if not source:
        problems.input.append(f"{_cell(path, row, 'source')}: empty; give the transcript the span is in.")
        return None
    if start < 0 or end <= start:
        problems.input.append(f"{_cell(path, row, 'end_char')}: span {start}-{end} is empty or reversed; "
                              "end_char must be larger than start_char.")
        return None
    if spans is None:
        problems.input.append(f"{path}: codes text spans (source, start_char, end_char); give the "
                              "fragments file too (--fragments) so spans can be attached to fragments.")
        return None
    if spans.resolve_source(source) is None:
        known = ", ".join(spans.sources()[:5]) + (" ..." if len(spans.sources()) > 5 else "")
        problems.input.append(f"{_cell(path, row, 'source')}: no fragments of source '{source}' "
                              f"(fragment sources: {known or 'none'}).")
        return None
    fragment_id = spans.attach(source, start, end)
    if fragment_id is None:
        problems.input.append(f"{_cell(path, row, 'start_char')}: span {source} {start}-{end} overlaps no "
                              "fragment (interviewer turn or outside the text?); check the offsets.")
    return fragment_id


def _read_file(path, codebook, spans, coder_default, problems) -> list:
    """Codings of one file, coders as written in it (or the default); problems are collected."""
    header, rows = read_table(path)
    try:
        form, kind = detect_form(header)
    except InputError as exc:
        problems.input.append(f"{path}: {exc}")
        return []
    has_coder = CODER_COLUMN in header
    default = coder_default or path.stem
    columns = _dimension_columns(path, header, codebook, problems) if form == "wide" else {}
    out = []
    for row in rows:
        fragment_id = _fragment_of(path, row, kind, spans, problems)
        coder = _text(row.get(CODER_COLUMN)) if has_coder else default
        if has_coder and not coder:
            problems.input.append(f"{_cell(path, row, CODER_COLUMN)}: empty; name the coder "
                                  "(or drop the column when the file holds one coder).")
            continue
        if form == "long":
            dimension = _text(row.get("dimension"))
            raw = _text(row.get("value"))
            if not raw:
                continue
            if not dimension:
                problems.input.append(f"{_cell(path, row, 'dimension')}: empty; name the dimension "
                                      f"the value '{raw}' belongs to.")
                continue
            pairs = [("value", dimension, raw)]
        else:
            pairs = [(column, dim, _text(row.get(column))) for column, dim in columns.items()]
        for column, dimension, raw in pairs:
            if not raw:
                continue
            value = _check_value(path, row, column, dimension, raw, codebook, problems)
            if value is not None and fragment_id is not None:
                out.append(Coding(fragment_id, coder, dimension, value))
    return out


def _file_labels(paths) -> list:
    """A short distinct label per file (its stem; with a number when stems repeat)."""
    stems = [p.stem for p in paths]
    counts = Counter(stems)
    seen = Counter()
    labels = []
    for stem in stems:
        seen[stem] += 1
        labels.append(stem if counts[stem] == 1 else f"{stem}{seen[stem]}")
    return labels


def read_codings(paths, codebook=None, fragments=None, coder_default=None, merge_coders=False) -> list:
    """Read coding files (wide, long or span form; CSV, XLSX or JSONL) into Coding records.

    `codebook`: a Codebook, a name or a path; when given every dimension and value is checked and
    values are returned as the codebook's ids. `fragments`: Fragment records or a fragments file,
    needed for span-form files. `coder_default`: coder name for files without a `coder` column
    (default: the file stem). Coder names used in several files are kept apart as
    '<file stem>:<coder>' unless `merge_coders`. All problems raise together (InputError, or
    CodebookError when every problem is a value or dimension not in the codebook).
    """
    codebook = load_codebook(codebook) if codebook is not None else None
    fragments = as_fragments(fragments)
    spans = SpanIndex(fragments) if fragments is not None else None
    paths = _as_paths(paths)
    if not paths:
        raise InputError("no codings file given.")
    problems = _Problems()
    per_file = []
    for path in paths:
        try:
            per_file.append(_read_file(path, codebook, spans, coder_default, problems))
        except InputError as exc:  # unreadable file: report with the others
            problems.input.append(str(exc))
            per_file.append([])
    if spans is not None and spans.spanning:
        log.warning("%d coded span(s) overlap more than one fragment; each is attached to the fragment it "
                    "overlaps most, the others stay uncoded.", len(spans.spanning))
    if problems:
        files = ", ".join(str(p) for p in paths)
        problems.raise_all(f"{files}:" if len(paths) > 1 else f"{paths[0]}:")
    if not merge_coders and len(paths) > 1:
        per_file = _separate_coders(paths, per_file)
    return [coding for codings in per_file for coding in codings]


MODEL_CODER_PREFIX = "capcode-model"


def human_codings(codings) -> list:
    """The codings of people only: a model's suggestions that came back through a QDA project
    (coder `capcode-model-...`) are left out, with a warning, so they are never trained on or
    counted as a person's codes."""
    people, models = [], Counter()
    for coding in codings:
        if coding.coder.startswith(MODEL_CODER_PREFIX):
            models[coding.coder] += 1
        else:
            people.append(coding)
    if models:
        log.warning("left out %s: a model's suggestions, not a person's codes (give them to "
                    "'agreement --predictions' to compare the model with coders).",
                    ", ".join(f"{count} coding(s) by {coder}" for coder, count in sorted(models.items())))
    return people


def _separate_coders(paths, per_file) -> list:
    """Rename coders that occur in more than one file to '<file label>:<coder>'."""
    files_of = defaultdict(set)
    for index, codings in enumerate(per_file):
        for coding in codings:
            files_of[coding.coder].add(index)
    shared = {coder for coder, files in files_of.items() if len(files) > 1}
    if not shared:
        return per_file
    labels = _file_labels(paths)
    log.warning("coder name(s) %s occur in several files; kept apart as '<file>:<coder>' "
                "(use --merge-coders if they are the same coding split over files).", ", ".join(sorted(shared)))
    return [
        [Coding(c.fragment_id, f"{labels[i]}:{c.coder}", c.dimension, c.value) if c.coder in shared else c
         for c in codings]
        for i, codings in enumerate(per_file)
    ]


def codings_by_fragment(codings) -> dict:
    """{fragment_id: {coder: {dimension: value}}}; if a coder coded a dimension twice, the first counts."""
    out = defaultdict(lambda: defaultdict(dict))
    for coding in codings:
        out[coding.fragment_id][coding.coder].setdefault(coding.dimension, coding.value)
    return {fragment: dict(coders) for fragment, coders in out.items()}
