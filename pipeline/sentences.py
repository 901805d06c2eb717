"""capcode's rule-based Dutch sentence segmenter, the spaCy component `capcode_sentences`.

The segmenter follows Dutch writing conventions rather than a statistical
model, so it behaves the same on every machine and its decisions can be read:
a sentence ends at `.`, `!`, `?` or an ellipsis followed by white space and a
word that can start a sentence (capital, digit, opening quote or bracket,
`'s`/`'t`), unless the full stop belongs to an abbreviation (`bv.`, `o.m.`,
`dhr.`, `art.`...), an initial (`J. Peeters`) or an enumeration (`1.` at the
start of a sentence); closing quotes and brackets stay with their sentence;
an elision `(…)` or `[...]` never ends one. Blank lines and transcript
timestamps (`00:12:34`, `[00:12:34]`) always start a new sentence, and so does
a capitalised word right after a closing bracket (`(lacht) Maar goed`, list
items such as `Senaat (74 leden) Kamer (150 leden)`). The factory's config can
add abbreviations and switch the newline, timestamp and bracket rules.

`pipeline.dutch.build_nlp` puts it in capcode's pipeline; `apply_in_batches` is shared with the
lemmatizer (`pipeline/lemmas.py`). Accuracy and speed: `python benchmarks/segmentation.py`
(figures in docs/reading-and-segmentation.md).
"""

import re
from itertools import compress

import numpy
from spacy.attrs import ORTH, SENT_START, SPACY
from spacy.language import Language
from spacy.util import minibatch

from .abbreviations import FINAL_ABBREVIATIONS, NON_FINAL_ABBREVIATIONS, spellings, tokenizer_abbreviations, with_dot

SENTENCES_FACTORY = "capcode_sentences"

# Words after which a sentence cannot end: a bracket that follows them is inside the sentence.
FUNCTION_WORDS = frozenset("""
    de een en of maar want van voor met door naar bij tussen tegen zonder tot om te zoals
    mijn jouw uw onze
""".split())
TERMINAL_CHARS = frozenset(".!?…")
TIMESTAMP = re.compile(r"^\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,3})?$")
CLOSERS = frozenset("\"'”’»)]}›")  # stay with the sentence they close when glued to it
OPENERS = frozenset("\"'“‘„«([{‹¿¡-–—•*")  # may begin a sentence
BRACKET_OPEN, BRACKET_CLOSE = frozenset({"(", "["}), frozenset({")", "]"})
ELLIPSES = frozenset({"…", "...", "..", "....", "....."})
QUOTES = frozenset({'"', "'", "''", "”", "’", "’’", "»", "``", "“"})
CLITIC_STARTS = frozenset({"'s", "'t", "'n", "’s", "’t", "’n", ",,"})
ENUMERATION = re.compile(r"^(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})$")
DOTTED = re.compile(r"^(?:[^\W\d_]{1,4}\.){2,}$")  # o.i.d., U.S.A.: dotted abbreviations
NOT_A_START = numpy.iinfo("uint64").max  # -1 in spaCy's SENT_START encoding
FIRST_FREE_FLAG = 19  # spacy.attrs.FLAG19: bits below are spaCy's own (IS_ALPHA, ...)
BRACKET_LOOKBACK = 40  # tokens searched back for the '(' of a ')'


def is_segmentation_candidate(string: str) -> bool:
    """Lexeme flag: tokens the segmenter must look at (stops, brackets, newlines, timestamps).

    Stored once per word type in the vocabulary, so finding the candidates in a
    document is one array operation instead of a Python loop over its tokens.
    """
    return (string[-1:] in TERMINAL_CHARS or string in BRACKET_CLOSE or "\n" in string
            or (":" in string and TIMESTAMP.match(string) is not None))


def _candidate_flag(vocab) -> int:
    """The lexeme flag id of is_segmentation_candidate in this vocabulary, added once."""
    return lexeme_flag(vocab, lambda getter: getter is is_segmentation_candidate, lambda: is_segmentation_candidate)


def lexeme_flag(vocab, is_ours, new_getter) -> int:
    """The id of the lexeme flag whose getter `is_ours` in this vocabulary; when there is none
    yet, `new_getter()` is added at the first free flag id (once per vocabulary)."""
    for flag_id, getter in vocab.lex_attr_getters.items():
        if is_ours(getter):
            return flag_id
    free = next(f for f in range(FIRST_FREE_FLAG, 64) if f not in vocab.lex_attr_getters)
    return vocab.add_flag(new_getter(), flag_id=free)


def apply_in_batches(component, stream, batch_size: int, error_handler=None):
    """Apply a component to a stream of Docs a batch at a time.

    spaCy otherwise takes each Doc through every component before tokenizing the
    next; running the tokenizer, then each component, over a whole batch keeps
    each one's data in the CPU cache. A Doc that fails goes to `error_handler`
    (spaCy's, which re-raises by default) and is left out, as in spaCy's Pipe.pipe.
    """
    for batch in minibatch(stream, size=batch_size):
        done = []
        for doc in batch:
            try:
                done.append(component(doc))
            except Exception as exc:
                if error_handler is None:
                    raise
                error_handler(component.name, component, [doc], exc)
        yield from done


class _Tokens:
    """Cheap read access to a Doc's token strings and spacing, without Token objects."""

    __slots__ = ("orths", "spaces", "strings", "n", "words")

    def __init__(self, orths, spaces, strings):
        self.orths, self.spaces, self.strings, self.n = orths, spaces, strings, len(orths)
        self.words = [None] * self.n

    def word(self, j: int) -> str:
        word = self.words[j]
        if word is None:
            word = self.words[j] = self.strings[self.orths[j]]
        return word

    def glued(self, j: int) -> bool:
        """Token j follows token j-1 without white space."""
        return j > 0 and not self.spaces[j - 1]

    def is_space(self, j: int) -> bool:
        return self.word(j).isspace()

    def previous_word(self, j: int) -> int:
        """The last token before j that is not white space (0 if none)."""
        j -= 1
        while j > 0 and self.is_space(j):
            j -= 1
        return max(j, 0)

    def next_word(self, k: int) -> int:
        """The first token at or after k that is not white space (n if none)."""
        while k < self.n and self.is_space(k):
            k += 1
        return k


class DutchSentenceSegmenter:
    """Sets `token.is_sent_start` on every token by Dutch punctuation conventions.

    Only the few candidate tokens (found through a lexeme flag) are examined, so
    the cost per document is small next to tokenisation.
    """

    def __init__(self, vocab, name: str, extra_abbreviations=(), extra_final_abbreviations=(),
                 split_at_newline: bool = False, split_at_timestamp: bool = True,
                 split_after_bracket: bool = True):
        self.name = name
        self.split_at_newline = split_at_newline
        self.split_at_timestamp = split_at_timestamp
        self.split_after_bracket = split_after_bracket
        self.final = spellings(FINAL_ABBREVIATIONS | with_dot(extra_final_abbreviations))
        self.non_final = spellings(NON_FINAL_ABBREVIATIONS | with_dot(extra_abbreviations)) - self.final
        self.known = frozenset(a.lower() for a in self.non_final | self.final) | tokenizer_abbreviations()
        self.flag = _candidate_flag(vocab)
        self._plain_before, self._first_case = {}, {}  # lexeme -> its part in _common_decisions

    def pipe(self, stream, *, batch_size: int = 128):
        """Segment a stream of Docs, a batch at a time (see apply_in_batches)."""
        return apply_in_batches(self, stream, batch_size)

    def __call__(self, doc):
        n = len(doc)
        if n < 2:
            return doc
        is_candidate, orths, spaces = doc.to_array([self.flag, ORTH, SPACY]).T.tolist()
        flags = numpy.full(n, NOT_A_START, dtype="uint64")
        flags[0] = 1
        candidates = list(compress(range(n), is_candidate))
        if candidates:
            starts = self.sentence_starts(orths, spaces, candidates, doc.vocab.strings)
            if starts:
                flags[list(starts)] = 1
        doc.from_array([SENT_START], flags)
        return doc

    def sentence_starts(self, orths, spaces, candidates, strings) -> set:
        """The tokens (besides the first) that start a sentence, from a Doc's token table.

        `orths` and `spaces` are its ORTH and SPACY columns as lists, `candidates` the
        indices of the tokens whose lexeme flag (`self.flag`) is set, in order. Working on
        plain lists lets a caller segment many short texts from one tokenized batch
        (pipeline/units.py) with exactly the decisions a Doc of each text gets here.
        """
        n = len(orths)
        tokens = _Tokens(orths, spaces, strings)
        starts = set()
        last, non_final = n - 1, self.non_final
        for i in candidates:
            if i == last:
                continue  # nothing follows the last token
            common = _common_case(i, 0, n, orths, spaces, strings, non_final)
            if common is not None:
                if common:
                    starts.add(i + 1)
                continue
            start = self._start_after(i, tokens, starts)
            if start is not None and 0 < start < n:
                starts.add(start)
        return starts

    def window_starts(self, orths, spaces, strings, candidates, first, end) -> list:
        """`sentence_starts` for many texts tokenized together (pipeline/units.py): `orths` and
        `spaces` are the ORTH and SPACY columns of the joined Doc (numpy arrays), `candidates` the
        flagged tokens that are neither a text's last token nor outside every text, `first` and
        `end` the first and end tokens of the text each candidate lies in. Returns the tokens
        that start a sentence (besides each text's first), as indices into the joined Doc, unsorted.

        The same decisions as `sentence_starts` on each text alone (tests/test_units.py compares
        both on tricky text): the common cases are decided for all candidates at once on the
        joined columns (`_common_decisions`), where the test never looks past a text's own
        tokens; any other candidate goes to `_start_after` on a `_Tokens` of its text alone,
        made once per text.
        """
        decided = self._common_decisions(orths, spaces, strings, candidates, first, end)
        ones = decided == 1
        found = (candidates[ones] + 1).tolist()
        pending = numpy.flatnonzero(decided < 0)
        if not len(pending):
            return found
        # the rest, in text order; a text's starts so far (the common ones among them) are what
        # `_start_after` may ask about (an enumeration at a sentence start)
        texts = numpy.unique(first[pending])
        starts_of = {a: set() for a in texts.tolist()}
        known = ones & numpy.isin(first, texts)
        for i, a in zip(candidates[known].tolist(), first[known].tolist()):
            starts_of[a].add(i + 1 - a)
        window, tokens, starts = None, None, None
        for i, a, b in zip(candidates[pending].tolist(), first[pending].tolist(), end[pending].tolist()):
            if a != window:
                alone = spaces[a:b].tolist()
                alone[-1] = 0  # alone, the text's last token has no space after it
                window, tokens, starts = a, _Tokens(orths[a:b].tolist(), alone, strings), starts_of[a]
            start = self._start_after(i - a, tokens, starts)
            if start is not None and 0 < start < b - a and start not in starts:
                starts.add(start)
                found.append(a + start)
        return found

    def _common_decisions(self, orths, spaces, strings, candidates, first, end):
        """`_common_case` of every candidate at once, and a closing bracket glued to what follows or
        followed by a word without a capital (`_start_after_bracket`'s common case): 1 (a sentence
        starts after it), 0 (none does), -1 (left to `_start_after`); each word's part in it is
        worked out once per lexeme."""
        decided = numpy.full(len(candidates), -1, dtype="int8")
        word, after = orths[candidates], candidates + 1
        case = numpy.array(_per_lexeme(self._first_case, orths[after], strings, _first_case), dtype="int8")
        brackets = _one_of(word, strings, BRACKET_CLOSE)
        if self.split_after_bracket:
            brackets &= (spaces[candidates] == 0) | ((case != 1) & (case != 2))
        decided[brackets] = 0
        glued = (candidates > first) & (spaces[candidates] != 0) & (spaces[candidates - 1] == 0)
        plain = glued & ((word == _hash(strings, "?")) | (word == _hash(strings, "!")))
        dots = numpy.flatnonzero(glued & (word == _hash(strings, ".")))
        plain[dots] = _per_lexeme(self._plain_before, orths[candidates[dots] - 1], strings,
                                  lambda before: _ends_plainly(before, self.non_final))
        beyond = numpy.minimum(after + 1, len(orths) - 1)
        no_item = (spaces[after] != 0) | (after + 1 >= end) | (orths[beyond] != _hash(strings, ")"))
        decided[plain & ((case == 1) | (case == 3))] = 1  # 'zo. (lacht)': an opener starts one as a capital does
        decided[plain & (case == -1) & no_item] = 0
        decided[self._elisions(orths, strings, candidates, first, word)] = 0
        return decided

    @staticmethod
    def _elisions(orths, strings, candidates, first, word):
        """The candidates of an elision '(…)' or '[...]': its ellipsis (`_is_elision`) and its closing
        bracket (`_start_after_bracket`'s first refusal); no sentence starts after either."""
        before = orths[numpy.maximum(candidates - 1, 0)]
        inner = (_one_of(word, strings, ELLIPSES) & (candidates > first) & _one_of(before, strings, BRACKET_OPEN)
                 & _one_of(orths[candidates + 1], strings, BRACKET_CLOSE))
        closing = (_one_of(word, strings, BRACKET_CLOSE) & (candidates - 2 >= first) & _one_of(before, strings, ELLIPSES)
                   & _one_of(orths[numpy.maximum(candidates - 2, 0)], strings, BRACKET_OPEN))
        return inner | closing

    # --- the decision for one candidate token ---------------------------------------------

    def _start_after(self, i, tokens, starts):
        """Index of a token that starts a sentence because of candidate token i, or None."""
        word = tokens.word(i)
        if "\n" in word and word.isspace():
            if self.split_at_newline or word.count("\n") > 1:
                return tokens.next_word(i + 1)
            return None
        if word[-1] in TERMINAL_CHARS:
            return self._start_after_stop(i, word, tokens, starts)
        if word in BRACKET_CLOSE:
            return self._start_after_bracket(i, tokens) if self.split_after_bracket else None
        if self.split_at_timestamp and TIMESTAMP.match(word):
            opening = i > 0 and tokens.glued(i) and tokens.word(i - 1) in BRACKET_OPEN
            return i - 1 if opening else i
        return None

    def _start_after_stop(self, i, word, tokens, starts):
        """After . ! ? …: the next sentence starts at the following word if it can start one."""
        kind = self._kind_of_stop(i, word, tokens, starts)
        if kind == "none":
            return None
        n = tokens.n
        k = i + 1
        while k < n and tokens.glued(k):  # closing quotes, brackets and more stops stay here
            glued = tokens.word(k)
            if glued[0] in CLOSERS or glued[-1] in TERMINAL_CHARS:
                k += 1
            else:
                return None  # 'zo.Dat', a URL: no boundary without white space
        k = tokens.next_word(k)
        if k < n and self._is_spaced_closing_quote(k, tokens):
            k = tokens.next_word(k + 1)  # 'dat moet beter. '' Er zijn'
        if k >= n:
            return None
        following = tokens.word(k)
        first = following[0]
        if first.isupper() or first in OPENERS or following in CLITIC_STARTS:
            return k
        if ENUMERATION.match(following) and k + 1 < n and tokens.glued(k + 1) and tokens.word(k + 1) == ")":
            return k  # 'De middelen. a) Het geld': an enumerated item
        if first.isdigit() and kind == "full":
            return k
        return None

    def _kind_of_stop(self, i, word, tokens, starts):
        """'full' (ends a sentence before a capital or digit), 'capital' (before a capital
        only), or 'none' (an abbreviation, initial, enumeration or elision)."""
        if word in ELLIPSES or word[-1] != ".":
            return "none" if word in ELLIPSES and self._is_elision(i, tokens) else "full"
        if word != ".":
            return self._kind_of_abbreviation(word, split_by_tokenizer=False)
        if not tokens.glued(i):
            return "full"  # a full stop after white space
        before = tokens.word(i - 1)
        if ENUMERATION.match(before) and self._begins_sentence(i - 1, tokens, starts):
            return "none"  # '1.' / 'a.' / 'iv.' opening an enumerated item
        if len(before) == 1 and tokens.glued(i - 1):
            return "full"  # '6 °C.': a unit, not an initial
        return self._kind_of_abbreviation(before + ".", split_by_tokenizer=True)

    def _kind_of_abbreviation(self, word, split_by_tokenizer):
        if word in self.non_final:
            return "none"
        if word in self.final:
            return "capital"
        if len(word) == 2 and word[0].isupper():
            return "none"  # an initial: J. Peeters
        if DOTTED.match(word):
            return "none"
        if not split_by_tokenizer and word.lower() in self.known:
            return "capital"  # a rarer abbreviation, or a word such as 'dat.' or 'al.'
        return "full"

    @staticmethod
    def _is_spaced_closing_quote(k, tokens):
        """A quote token after a stop and a space that is not glued to the next word."""
        quote = tokens.word(k)
        if quote not in QUOTES:
            return False
        if quote == '"':
            opened = sum(1 for j in range(k) if tokens.word(j) == '"')
            if opened % 2 == 0:
                return False  # an even number of straight quotes before it: this one opens
        return k + 1 >= tokens.n or not tokens.glued(k + 1)

    @staticmethod
    def _is_elision(i, tokens):
        """'(…)' or '[...]': marks left-out words in a quotation, never a sentence end."""
        return (0 < i < tokens.n - 1 and tokens.word(i - 1) in BRACKET_OPEN
                and tokens.word(i + 1) in BRACKET_CLOSE)

    @staticmethod
    def _begins_sentence(j, tokens, starts):
        """Token j opens a sentence: first token, a known start, or after a newline or colon."""
        if j == 0 or j in starts:
            return True
        previous = tokens.word(j - 1)
        return "\n" in previous or previous in (":", ";")

    @staticmethod
    def _start_after_bracket(i, tokens):
        """A capitalised word after a closing bracket without punctuation starts a sentence:
        list items such as 'Senaat (74 leden) Kamer (150 leden)' and transcript notes such
        as '(lacht) Maar goed'. Not after an elision '(…)', not when the bracket follows a
        word after which no sentence can end ('en (de ...) Zwarts'), nor after a nickname
        between initials and surname ('A. (Alexander) Pechtold')."""
        k = i + 1
        if k >= tokens.n or tokens.glued(k):
            return None
        k = tokens.next_word(k)
        if k >= tokens.n or not tokens.word(k)[0].isupper() or "\n" in tokens.word(k - 1):
            return None
        opened = next((j for j in range(i - 1, max(-1, i - BRACKET_LOOKBACK), -1)
                       if tokens.word(j) in BRACKET_OPEN), None)
        if opened is None or opened == i - 1:
            return None
        if opened + 2 == i and (tokens.word(opened + 1) in ELLIPSES or TIMESTAMP.match(tokens.word(opened + 1))):
            return None  # '(…)' and '[00:12:34] Ja': an elision, or a timestamp that starts its sentence
        if opened > 0:
            before = tokens.word(tokens.previous_word(opened))
            if before.lower() in FUNCTION_WORDS:
                return None
            if before.endswith(".") and before[0].isupper() and len(before) <= 12:
                return None
            if before == "." and opened > 1 and len(tokens.word(opened - 2)) == 1:
                return None
        return k


@Language.factory(
    SENTENCES_FACTORY,
    default_config={
        "extra_abbreviations": [],
        "extra_final_abbreviations": [],
        "split_at_newline": False,
        "split_at_timestamp": True,
        "split_after_bracket": True,
    },
)
def make_capcode_sentences(nlp: Language, name: str, extra_abbreviations: list,
                           extra_final_abbreviations: list, split_at_newline: bool,
                           split_at_timestamp: bool, split_after_bracket: bool):
    """capcode's rule-based Dutch sentence segmenter (see DutchSentenceSegmenter)."""
    return DutchSentenceSegmenter(nlp.vocab, name, extra_abbreviations, extra_final_abbreviations,
                                  split_at_newline, split_at_timestamp, split_after_bracket)


def _common_case(i, first, end, orths, spaces, strings, non_final):
    """The common decisions for candidate token i of the text spanning tokens first..end, made
    without `_start_after`, for speed: 'woord. Volgende' and 'echt? Ja' end a sentence (True: one
    starts at i + 1), 'woord. volgende' does not (False), where the word before the full stop has
    two or more letters and is no roman numeral or known abbreviation, and 'a)' is not taken for
    a sentence; None leaves every other case to `_start_after`."""
    if i > first and spaces[i] and not spaces[i - 1]:
        word = strings[orths[i]]
        plain = _ends_plainly(strings[orths[i - 1]], non_final) if word == "." else word == "?" or word == "!"
        if plain:
            case = _first_case(strings[orths[i + 1]])
            if case == 1:
                return True
            if case == -1 and (spaces[i + 1] or i + 2 >= end or strings[orths[i + 2]] != ")"):
                return False  # not an enumerated item such as 'a)'
    return None


def _ends_plainly(before: str, non_final) -> bool:
    """Whether a full stop glued to this word is a plain sentence end: a word of two or more
    letters, no roman numeral, no known abbreviation (`_common_case`, `_common_decisions`)."""
    return bool(before.isalpha() and len(before) > 1 and before.strip("ivxIVX") and before + "." not in non_final)


def _first_case(word: str) -> int:
    """1 for a word starting with a capital, -1 with a small letter, 2 for white space, 3 for an
    opening bracket, quote or dash that is no closing quote (`_is_spaced_closing_quote`), 0 otherwise."""
    first = word[0]
    if first.isupper():
        return 1
    if first.islower():
        return -1
    if word.isspace():
        return 2
    return 3 if first in OPENERS and word not in QUOTES else 0


def _hash(strings, text: str):
    return numpy.uint64(strings[text])


def _one_of(orths, strings, texts):
    """Which of `orths` are one of `texts` (a few: comparisons are faster than numpy.isin)."""
    found = numpy.zeros(len(orths), dtype=bool)
    for text in texts:
        found |= orths == _hash(strings, text)
    return found


def _per_lexeme(cache: dict, orths, strings, function) -> list:
    """function(word) for each ORTH of `orths`, worked out once per lexeme and kept in `cache`."""
    orths = orths.tolist()
    for orth in set(orths).difference(cache):
        cache[orth] = function(strings[orth])
    return [cache[orth] for orth in orths]
