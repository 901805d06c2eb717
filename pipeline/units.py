"""Paragraphs into sentences and fragments: exact offsets, few tokenizer calls, no lemmas.

A turn is cut at blank lines into paragraphs (`paragraphs`); each paragraph is cut into
sentences (`sentence_spans`), and a respondent's sentences are grouped into fragments
(`group_sentences`). Segmenting needs tokens and sentence boundaries only, never lemmas.

**One tokenizer call for many paragraphs.** With capcode's own pipeline (spaCy's Dutch
tokenizer and the `capcode_sentences` rules), the paragraphs of a transcript are joined with
a blank line between them and tokenized at once, their token table read with one
`Doc.to_array` call; the sentence rules look only at the candidate tokens of that table, each
within its own paragraph, and every sentence's edges and word count come from running sums
over the whole table (`_batch_sentences`). Paragraphs with a special case of the tokenizer
(`bv.`, `'s`) are joined last, because the tokenizer stops filling its cache for the rest of
a call once it meets one (`cache_friendly_order`). spaCy's tokenizer cuts text at white
space before anything else, so a paragraph's tokens are the same whether it is tokenized
alone or between blank lines (checked once per tokenizer: no special case of it mixes white
space with other characters), and the rules see exactly the tokens a Doc of that paragraph
alone would have, so the sentences are identical to those of `nlp.pipe` over the paragraphs
(tests/test_units.py compares both on every fixture). The per-Doc cost of spaCy (a Doc, an
array and a component call per paragraph) would otherwise be most of the time: interview
paragraphs are short. Any other pipeline (an installed `nl_core_news_*` model, whose parser
sets the sentences) goes through `nlp.pipe`.

**Most paragraphs need no tokenizer call at all.** For fragments, a paragraph of at most
`max_words` words is one fragment whatever its sentences, so it is given whole with its word
count, the sum of the words of its chunks between spaces (wordcounts.py: each distinct chunk
is tokenized once per process); only the longer paragraphs (1 of the sample study's 192) go
through the tokenizer and the sentence rules.
"""

import math
import re
from typing import Iterator

import numpy
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LENGTH, ORTH, SENT_START, SPACY

from .sentences import DutchSentenceSegmenter
from .wordcounts import SEPARATOR, chunk_words, special_spellings

CHUNK_CHARS = 100_000  # paragraphs longer than this go through spaCy in pieces
BATCH_CHARS = 100_000   # paragraphs tokenized together: few calls (numpy and spaCy cost per call)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SOFT_CUT = frozenset(",;:–—")
# Pipeline components sentence boundaries do not need; skipped for speed.
NOT_FOR_SENTENCES = ("lemmatizer", "ner", "attribute_ruler", "morphologizer", "tagger")


# ---- paragraphs ------------------------------------------------------------------------------

def paragraphs(text: str, start: int, end: int) -> list:
    """(start, end, continued) of the paragraphs in text[start:end] (split at blank lines), trimmed.

    A paragraph longer than CHUNK_CHARS is given in pieces for spaCy, cut after
    a sentence end or at a space; `continued` marks the later pieces.
    """
    if end - start <= CHUNK_CHARS and text.find("\n", start, end) < 0 and _trimmed(text, start, end):
        return [(start, end, False)]  # one line (a turn is trimmed already): one paragraph, no break to find
    return list(_paragraph_pieces(text, start, end))


def _paragraph_pieces(text: str, start: int, end: int) -> Iterator[tuple]:
    position = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        yield from _chunked(text, position, match.start())
        position = match.end()
    yield from _chunked(text, position, end)


def _trimmed(text, start, end) -> bool:
    return start < end and not text[start].isspace() and not text[end - 1].isspace()


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


# ---- the token table of a batch of texts ----------------------------------------------------

class _Table:
    """The token columns of one Doc (a text, or several joined), as lists, with running sums.

    `next_solid[i]`: the first token at or after i that is not white space (len if none);
    `last_solid[i]`: the last such token at or before i (-1 if none); `words_before[i]`:
    how many words (tokens neither punctuation nor white space) come before token i.
    """

    __slots__ = ("orths", "spaces", "is_word", "is_space", "idx", "length", "next_solid", "last_solid",
                 "words_before", "strings", "starts")

    def __init__(self, doc, columns):
        orths, spaces, punct, space, idx, length = columns
        n = len(orths)
        solid = space == 0
        word = solid & (punct == 0)
        positions = numpy.arange(n)
        self.orths, self.spaces = orths.tolist(), spaces.tolist()
        self.is_word, self.is_space = word.tolist(), space.tolist()
        self.idx, self.length = idx.tolist(), length.tolist()
        self.starts = idx.astype("int64")  # character offset of each token, for searchsorted
        self.next_solid = numpy.minimum.accumulate(numpy.where(solid, positions, n)[::-1])[::-1].tolist() + [n]
        self.last_solid = numpy.maximum.accumulate(numpy.where(solid, positions, -1)).tolist()
        self.words_before = [0] + numpy.cumsum(word).tolist()
        self.strings = doc.vocab.strings

    def text(self, i: int) -> str:
        return self.strings[self.orths[i]]


_COLUMNS = [ORTH, SPACY, IS_PUNCT, IS_SPACE, IDX, LENGTH]
_BATCH_COLUMNS = _COLUMNS[:5]  # and the segmenter's flag; a token's end comes from the next one's IDX


def _table(doc, extra=()) -> tuple:
    """(_Table, the extra columns as arrays) of a Doc, read with one to_array call."""
    array = doc.to_array(_COLUMNS + list(extra))
    if array.ndim == 1:  # spaCy returns one dimension for an empty Doc
        array = array.reshape(0, len(_COLUMNS) + len(extra))
    width = len(_COLUMNS)
    return _Table(doc, [array[:, k] for k in range(width)]), [array[:, width + k] for k in range(len(extra))]


# ---- sentences ------------------------------------------------------------------------------

_JOINABLE = {}  # id(tokenizer) -> (tokenizer, number of special cases, joinable)


def joinable(tokenizer) -> bool:
    """Whether texts may be tokenized joined by SEPARATOR with the tokens each gets alone:
    spaCy's own Tokenizer, none of whose special cases mixes white space with other
    characters (only such a case could match across the separator; spaCy's own cases for
    a lone space, tab or newline cannot)."""
    from spacy.tokenizer import Tokenizer

    if not isinstance(tokenizer, Tokenizer):
        return False
    rules = tokenizer.rules
    known = _JOINABLE.get(id(tokenizer))
    if known is None or known[0] is not tokenizer or known[1] != len(rules):
        known = _JOINABLE[id(tokenizer)] = (tokenizer, len(rules),
                                             not any(_mixes_space(rule) for rule in rules))
    return known[2]


def _mixes_space(rule: str) -> bool:
    return not rule.isspace() and any(ch.isspace() for ch in rule)


def rule_segmenter(nlp):
    """capcode's sentence rules when they alone set the sentences of `nlp` (else None)."""
    needed = [(name, pipe) for name, pipe in nlp.pipeline if name not in NOT_FOR_SENTENCES]
    if len(needed) == 1 and isinstance(needed[0][1], DutchSentenceSegmenter) and joinable(nlp.tokenizer):
        return needed[0][1]
    return None


def _batches(texts):
    """Lists of consecutive texts of at most BATCH_CHARS characters together (a longer text alone)."""
    batch, size = [], 0
    for text in texts:
        if batch and size + len(text) > BATCH_CHARS:
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += len(text) + len(SEPARATOR)
    if batch:
        yield batch


def sentence_spans(texts, nlp, max_words=None, starts=None, whole=None) -> Iterator[list]:
    """For each text (a trimmed paragraph), its sentences as (start, end, words), offsets into the
    text (plus the text's entry in `starts`, where each text begins in a larger one, if given).

    Whitespace tokens at a sentence's edges are left out; with `max_words`, a sentence
    longer than that is cut into pieces (see _cut_long).

    `whole` (for fragments, with `max_words`): for each text, whether it may come as one span
    of the whole text when it has at most `max_words` words. That span is the one fragment
    `group_sentences` makes of its sentences, found without deciding where they end (most
    paragraphs of an interview are that short), its words counted from its chunks' (`ChunkWords`,
    when the tokenizer allows it). A paragraph given in pieces must not (its pieces' sentences
    are grouped together).
    """
    texts = list(texts)
    starts = [0] * len(texts) if starts is None else list(starts)
    segmenter = rule_segmenter(nlp)
    if segmenter is None:
        yield from _pipeline_sentences(texts, nlp, max_words, starts)
        return
    counter = chunk_words(nlp.tokenizer) if whole is not None and max_words is not None else None
    if counter is None:
        yield from _rule_sentences(texts, nlp.tokenizer, segmenter, max_words, starts)
        return
    found = [[(start, start + len(text), words)] if alone and text and words is not None and words <= max_words
             else None for text, start, words, alone in zip(texts, starts, counter.counts(texts), whole)]
    rest = [number for number, spans in enumerate(found) if spans is None]
    if rest:
        sentences = _rule_sentences([texts[number] for number in rest], nlp.tokenizer, segmenter, max_words,
                                    [starts[number] for number in rest])
        for number, spans in zip(rest, sentences):
            found[number] = spans
    yield from found


def _rule_sentences(texts, tokenizer, segmenter, max_words, starts) -> Iterator[list]:
    """sentence_spans with capcode's rules: a batch of texts tokenized at once (_batch_sentences)."""
    done = 0
    specials = special_spellings(tokenizer)
    for batch in _batches(texts):
        order = cache_friendly_order(batch, specials)
        ordered = [batch[number] for number in order]
        found = _batch_sentences(tokenizer(SEPARATOR.join(ordered)), ordered, segmenter, max_words,
                                 [starts[done + number] for number in order])
        sentences = [None] * len(batch)
        for number, spans in zip(order, found):
            sentences[number] = spans
        yield from sentences
        done += len(batch)


# ---- keeping spaCy's tokenizer cache useful ------------------------------------------------------

def cache_friendly_order(batch, specials) -> list:
    """The order in which to join a batch's texts for the tokenizer: those without a special
    case first.

    spaCy's tokenizer remembers how it cut each chunk of text between spaces, but within one
    call it stops remembering once a special case has occurred; so a special case early in a
    batch would leave the rest of it to be cut afresh every time. The tokens are the same in
    any order (see `joinable`); only the speed differs, so the test need not be exact: a text
    with white space other than single spaces counts as having a special case too.
    """
    plain, special = [], []
    for number, text in enumerate(batch):
        if "\n" in text or "\t" in text or "  " in text or not specials.isdisjoint(text.split()):
            special.append(number)
        else:
            plain.append(number)
    return plain + special


def _batch_sentences(doc, batch, segmenter, max_words, starts) -> list:
    """The sentences of each text of a batch tokenized together (`doc`), as `_spans` gives them
    for each text's own Doc, worked out for the whole batch with array operations: the
    sentence rules see only the candidate tokens (DutchSentenceSegmenter.window_starts) and
    a sentence's edges and word count come from running sums over the batch's tokens."""
    array = doc.to_array(_BATCH_COLUMNS + [segmenter.flag])
    if array.ndim == 1 or not len(array):
        return [[] for _ in batch]
    lengths = numpy.array([len(text) for text in batch], dtype="int64")
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths + len(SEPARATOR))[:-1]])
    idx = array[:, 4].astype("int64")
    first, end = numpy.searchsorted(idx, offsets), numpy.searchsorted(idx, offsets + lengths)
    lo, hi, owner = _sentence_bounds(doc, array, segmenter, first, end)
    return _batch_spans(doc, array, lo, hi, owner, offsets - numpy.array(starts, dtype="int64"), len(batch),
                        max_words, int(offsets[-1] + lengths[-1]))


def _sentence_bounds(doc, array, segmenter, first, end) -> tuple:
    """(first token, end token, text number) of every sentence of a batch, in text order."""
    candidates = numpy.flatnonzero(array[:, 5])
    owner = numpy.searchsorted(first, candidates, side="right") - 1
    inside = (owner >= 0) & (candidates < end[owner] - 1)  # a text's last token starts nothing after it
    candidates, owner = candidates[inside], owner[inside]
    found = []
    if len(candidates):
        found = segmenter.window_starts(array[:, 0], array[:, 1], doc.vocab.strings, candidates, first[owner],
                                        end[owner])
    lo = numpy.concatenate([first, numpy.array(found, dtype="int64")])
    owners = numpy.concatenate([numpy.arange(len(first)), numpy.searchsorted(first, found, side="right") - 1])
    order = numpy.lexsort((lo, owners))
    lo, owners = lo[order], owners[order]
    hi = end[owners]
    same = owners[1:] == owners[:-1]
    hi[:-1][same] = lo[1:][same]
    return lo, hi, owners


def _batch_spans(doc, array, lo, hi, owner, shift, count, max_words, length) -> list:
    """For each of `count` texts, its sentences (start, end, words), edges trimmed of white space,
    character offsets minus the text's `shift` (`length`: the joined text's); too long sentences
    cut as `_spans` cuts them."""
    n = len(array)
    solid = array[:, 3] == 0
    positions = numpy.arange(n)
    next_solid = numpy.append(numpy.minimum.accumulate(numpy.where(solid, positions, n)[::-1])[::-1], n)
    last_solid = numpy.maximum.accumulate(numpy.where(solid, positions, -1))
    words_before = numpy.concatenate([[0], numpy.cumsum(solid & (array[:, 2] == 0))])
    first = next_solid[lo]
    kept = first < hi  # sentences of white space only are left out
    lo, hi, owner, first = lo[kept], hi[kept], owner[kept], first[kept]
    last = last_solid[hi - 1]
    words = words_before[hi] - words_before[lo]
    moved = shift[owner]
    begin = array[first, 4].astype("int64") - moved
    # a token ends where the next begins, less its trailing space (no LENGTH column to read)
    following = numpy.append(array[1:, 4], length).astype("int64")
    finish = following[last] - array[last, 1].astype("int64") - moved
    if max_words is None or not len(words) or words.max() <= max_words:
        # the sentences are in text order: each text's are one slice of them
        rows = list(zip(begin.tolist(), finish.tolist(), words.tolist()))
        bounds = numpy.searchsorted(owner, numpy.arange(count + 1)).tolist()
        return [rows[a:b] for a, b in zip(bounds, bounds[1:])]
    found = [[] for _ in range(count)]
    rows = zip(owner.tolist(), begin.tolist(), finish.tolist(), words.tolist())
    table = _table(doc)[0]
    for (number, start, stop, size), a, b, offset in zip(rows, lo.tolist(), hi.tolist(), moved.tolist()):
        found[number].extend(_spans(table, [a, b], offset, max_words) if size > max_words else [(start, stop, size)])
    return found


def _pipeline_sentences(texts, nlp, max_words, starts):
    """sentence_spans through `nlp.pipe`, one Doc per text (any spaCy pipeline)."""
    present = nlp.pipe_names
    docs = nlp.pipe(texts, disable=[name for name in NOT_FOR_SENTENCES if name in present])
    for doc, start in zip(docs, starts):
        table, (sent_start,) = _table(doc, [SENT_START])
        bounds = [i for i in numpy.flatnonzero(sent_start == 1).tolist() if i > 0]
        yield _spans(table, [0, *bounds, len(doc)], -start, max_words)


def _spans(table: _Table, bounds: list, offset: int, max_words) -> list:
    """(start, end, words) of the sentences between consecutive token bounds, edges trimmed of
    white space; character offsets minus `offset`."""
    idx, length, next_solid, last_solid, words_before = (table.idx, table.length, table.next_solid,
                                                         table.last_solid, table.words_before)
    spans = []
    for a, b in zip(bounds, bounds[1:]):
        first = next_solid[a]
        if first >= b:
            continue  # white space only
        last = last_solid[b - 1]
        words = words_before[b] - words_before[a]
        if max_words is None or words <= max_words:
            spans.append((idx[first] - offset, idx[last] + length[last] - offset, words))
            continue
        for c, d in _cut_long(table, first, last + 1, max_words):
            solid = [i for i in range(c, d) if not table.is_space[i]]
            if solid:
                end = solid[-1]
                spans.append((idx[solid[0]] - offset, idx[end] + length[end] - offset,
                              words_before[d] - words_before[c]))
    return spans


def _cut_long(table: _Table, first, last, max_words):
    """Token ranges of at most max_words words covering tokens [first, last).

    The sentence is cut into clauses after , ; : and dashes, and the clauses
    are grouped like sentences (few, even groups); a clause that is itself too
    long (speech without punctuation) is cut into even runs of words.
    """
    is_word = table.is_word
    clauses, start = [], first
    for i in range(first, last - 1):
        if table.text(i) in _SOFT_CUT:
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


def word_counts(texts, nlp) -> Iterator[int]:
    """Words in each text, in turn: tokens that are neither punctuation nor white space
    (`ChunkWords` counts most texts from the words of their chunks, the others are tokenized)."""
    tokenizer, texts = nlp.tokenizer, list(texts)
    counter = chunk_words(tokenizer)
    counts = counter.counts(texts) if counter is not None else [None] * len(texts)
    rest = [number for number, count in enumerate(counts) if count is None]
    for number, count in zip(rest, _tokenized_word_counts([texts[number] for number in rest], tokenizer)):
        counts[number] = count
    yield from counts


def _tokenized_word_counts(texts, tokenizer) -> Iterator[int]:
    if not joinable(tokenizer):
        for doc in tokenizer.pipe(texts):
            yield sum(1 for punct, space in doc.to_array([IS_PUNCT, IS_SPACE]).tolist() if not (punct or space))
        return
    for batch in _batches(texts):
        table, _ = _table(tokenizer(SEPARATOR.join(batch)))
        ends, position = [], 0
        for text in batch:
            ends.append((position, position + len(text)))
            position += len(text) + len(SEPARATOR)
        at = numpy.searchsorted(table.starts, numpy.array(ends).ravel()).tolist()
        for number in range(len(batch)):
            yield table.words_before[at[2 * number + 1]] - table.words_before[at[2 * number]]


# ---- fragments ------------------------------------------------------------------------------

def group_sentences(sentences, max_words: int) -> list:
    """Whole sentences into as few groups of at most max_words words as possible, as even as possible.

    Dynamic programme over (number of groups, sum of squared group sizes); a
    sentence longer than max_words (only possible when not cut) is a group of its own.
    """
    if len(sentences) == 1 or sum(sentence[2] for sentence in sentences) <= max_words:
        return [sentences] if sentences else []  # one group: what the programme finds, without it
    return grouping_programme(sentences, max_words)


def grouping_programme(sentences, max_words: int) -> list:
    """`group_sentences` by the dynamic programme alone (no one-group shortcut)."""
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
