"""How many words a text has, as spaCy's tokenizer counts them, mostly without tokenizing it.

A word is a token that is neither punctuation nor white space. A fragment needs no more of a
short paragraph than its word count (a paragraph of at most `max_words` words is one
fragment, whatever its sentences), and most interview paragraphs are short.

spaCy's tokenizer cuts a text at white space first and then each chunk between spaces on
its own (prefixes, suffixes, infixes, special cases such as `bv.`). Only its last step, the
special-case matcher, looks at tokens of neighbouring chunks, and a special case it applies
(or leaves out) changes the word count only if the case's own tokens count differently from
the tokens the chunk's affixes give. Those few cases are found once per tokenizer
(`chunk_words`); a text holding none of them has the sum of its chunks' words, and each
distinct chunk need be tokenized only once per process (`ChunkWords`): a study's vocabulary
recurs, so after its first files nearly every chunk is known. A text holding one is left to
the tokenizer. tests/test_wordcounts.py compares the sums with the tokenizer's own counts on
the fixture studies and on texts made of the tokenizer's special cases and their pieces.
"""

import re

import numpy
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, ORTH

from .sentences import lexeme_flag

SEPARATOR = "\n\n"  # between texts (paragraphs, chunks) tokenized together: white space that is never a single space
CHUNKS_MAX = 200_000  # chunks remembered per tokenizer (about 20 MB at most), then forgotten


class WordTest:
    """Lexeme flag getter: a word is a token that is neither punctuation nor white space, by the
    vocabulary's own IS_PUNCT and IS_SPACE tests (so the flag is their combination exactly)."""

    def __init__(self, is_punct, is_space):
        self.is_punct, self.is_space = is_punct, is_space

    def __call__(self, string: str) -> bool:
        return not (self.is_punct(string) or self.is_space(string))


def word_flag(vocab) -> int:
    """The lexeme flag id of WordTest in this vocabulary, added once: one column of a Doc's
    array instead of two where only words are counted."""
    getters = vocab.lex_attr_getters
    return lexeme_flag(vocab, lambda getter: isinstance(getter, WordTest),
                       lambda: WordTest(getters[IS_PUNCT], getters[IS_SPACE]))


def _word_test(vocab) -> WordTest:
    return vocab.lex_attr_getters[word_flag(vocab)]


_SPECIALS = {}  # id(tokenizer) -> (tokenizer, number of special cases, their spellings)
_AROUND = ("", "(", "\"", "'", "‘", "“")
_AFTER = ("", ",", ";", ":", "!", "?", ")", "\"", "'", "’", "”")


def special_spellings(tokenizer) -> frozenset:
    """The tokenizer's special cases (abbreviations such as 'bv.', "'s", emoticons) as they
    commonly stand between spaces: alone, after an opening bracket or quote, before a comma,
    a closing bracket or a quote."""
    rules = tokenizer.rules
    known = _SPECIALS.get(id(tokenizer))
    if known is None or known[0] is not tokenizer or known[1] != len(rules):
        spellings = frozenset(before + rule + after for rule in rules for before in _AROUND for after in _AFTER)
        known = _SPECIALS[id(tokenizer)] = (tokenizer, len(rules), spellings)
    return known[2]


_KNOWN = {}  # id(tokenizer) -> (tokenizer, number of special cases, ChunkWords or None)


def chunk_words(tokenizer):
    """The ChunkWords of this tokenizer, or None when its texts' words are not their chunks' sum
    (not spaCy's own Tokenizer, or one with a special case that mixes white space with other
    characters)."""
    from spacy.tokenizer import Tokenizer

    if not isinstance(tokenizer, Tokenizer):
        return None
    rules = tokenizer.rules
    known = _KNOWN.get(id(tokenizer))
    if known is None or known[0] is not tokenizer or known[1] != len(rules):
        changing = _count_changing_cases(tokenizer, rules)
        known = _KNOWN[id(tokenizer)] = (tokenizer, len(rules),
                                         None if changing is None else ChunkWords(tokenizer, changing))
    return known[2]


def forget_chunks() -> None:
    """Drop every tokenizer's chunks and the tokenizers themselves (dutch.forget_pipelines)."""
    _KNOWN.clear()
    _SPECIALS.clear()


def _count_changing_cases(tokenizer, rules):
    """The special cases whose own tokens have other words than the tokens the tokenizer gives
    their text without special cases (27 of the Dutch tokenizer's 4,670: emoticons such as
    `<3`, `v.Chr.`); None if a case mixes white space with other characters."""
    from spacy.tokenizer import Tokenizer

    cases = [string for string in rules if not string.isspace()]
    if any(ch.isspace() for string in cases for ch in string):
        return None
    bare = Tokenizer(tokenizer.vocab, rules={}, prefix_search=tokenizer.prefix_search,
                     suffix_search=tokenizer.suffix_search, infix_finditer=tokenizer.infix_finditer,
                     token_match=tokenizer.token_match, url_match=tokenizer.url_match)
    is_word = _word_test(tokenizer.vocab)
    own = [sum(is_word(token[ORTH] if ORTH in token else token["ORTH"]) for token in rules[string])
           for string in cases]
    return [string for string, words, affixes in zip(cases, own, _separate_words(bare, cases))
            if words != affixes]


UNSURE = 1 << 40  # the "words" of a chunk holding a count-changing special case: its text is tokenized whole


class ChunkWords:
    """The words of each chunk of text between white space, as the tokenizer counts them, for
    the chunks met so far (at most CHUNKS_MAX); `counts` gives texts' word counts from them.

    A chunk that holds a special case whose words differ from its affixes' (`changing`) may
    count otherwise next to other chunks (the matcher may then leave the case out): a text
    with such a chunk gets no count here."""

    def __init__(self, tokenizer, changing):
        self.tokenizer = tokenizer
        self.words = {}
        self.specials = special_spellings(tokenizer)
        alternatives = "|".join(re.escape(case) for case in sorted(changing, key=len, reverse=True))
        self.unsure = re.compile(alternatives) if alternatives else None

    def counts(self, texts) -> list:
        """The words of each text (the sum of its chunks' words), or None for a text that must be
        tokenized whole to count them; the chunks not met before are tokenized together first."""
        words = self.words
        counts, missing = [], []
        for number, text in enumerate(texts):
            try:
                counts.append(sum(map(words.__getitem__, text.split())))
            except KeyError:
                counts.append(0)
                missing.append(number)
        if missing:
            chunks = [texts[number].split() for number in missing]
            new = set().union(*chunks)
            new.difference_update(words)
            if len(words) + len(new) > CHUNKS_MAX:
                words.clear()
                new = set().union(*chunks)
            self._learn(new)
            for number, split in zip(missing, chunks):
                counts[number] = sum(map(words.__getitem__, split))
        return [None if count >= UNSURE else count for count in counts]

    def _learn(self, chunks: set) -> None:
        """Tokenize the chunks joined by SEPARATOR (each gets the tokens it gets alone), those
        with a special case last (as units.cache_friendly_order, for the tokenizer's own cache,
        which the paragraphs cut into sentences use next), and keep each one's words."""
        special = chunks & self.specials
        chunks = list(chunks - special) + list(special)
        counts = _separate_words(self.tokenizer, chunks)
        if self.unsure is not None:
            search = self.unsure.search
            counts = [UNSURE if search(chunk) else count for chunk, count in zip(chunks, counts)]
        self.words.update(zip(chunks, counts))


def _separate_words(tokenizer, chunks: list) -> list:
    """The words of each chunk (text without white space) as `tokenizer` cuts it alone: the
    chunks are tokenized joined by SEPARATOR, which no special case can reach across, and
    counted from two columns of the token table."""
    if not chunks:
        return []
    doc = tokenizer(SEPARATOR.join(chunks))
    array = doc.to_array([word_flag(doc.vocab), IDX])
    lengths = numpy.fromiter(map(len, chunks), dtype="int64", count=len(chunks))
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths + len(SEPARATOR))[:-1]])
    words_before = numpy.concatenate([[0], numpy.cumsum(array[:, 0], dtype="int64")])
    idx = array[:, 1].astype("int64")
    return (words_before[numpy.searchsorted(idx, offsets + lengths)]
            - words_before[numpy.searchsorted(idx, offsets)]).tolist()
