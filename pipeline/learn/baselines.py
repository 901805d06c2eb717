"""What the model must beat, scored on the same folds: majority, codebook keywords, char-tfidf.

- majority: the most frequent value of the training folds;
- keywords: a lexicon per value from the codebook's own labels, Dutch descriptions and
  examples (lemmatised; stop words and words shared by values dropped; no training data);
- char-tfidf: the simplest strong text classifier, a plain scikit-learn pipeline of
  character 2-5-grams within words, sublinear TF-IDF (vocabulary and IDF learned on the
  training folds only) and class-balanced logistic regression (C = 1; solved in the span of
  the training rows, the same optimum). It is a reference for evaluation only: a saved
  capcode model never holds a vocabulary.
"""

import collections

import numpy as np

from ..features import lemmatise

MIN_LEXICON_WORD = 3


def majority_value(labels) -> str:
    """The most frequent label (ties: the first in sorted order, so the choice is reproducible)."""
    counts = collections.Counter(labels)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def build_lexicon(dimension, spacy_model: str = "blank") -> dict:
    """{value: set of lemmas} from each value's label, Dutch description and examples.

    Stop words, short words and lemmas shared by several values are dropped, so each
    lexicon holds the words that distinguish its value.
    """
    from spacy.lang.nl.stop_words import STOP_WORDS

    texts = []
    for value in dimension.values:
        parts = [value.label] + [t for lang, t in value.descriptions if lang in ("nl", "")] + list(value.examples)
        if not value.descriptions and value.description:
            parts.append(value.description)
        texts.append("\n".join(p for p in parts if p))
    lexicons = {}
    for value, lemmas in zip(dimension.values, lemmatise(texts, spacy_model)):
        lexicons[value.id] = {w for w in lemmas.split() if len(w) >= MIN_LEXICON_WORD and w.isalpha()
                              and w not in STOP_WORDS}
    shared = collections.Counter(w for words in lexicons.values() for w in words)
    return {value: {w for w in words if shared[w] == 1} for value, words in lexicons.items()}


def lexicon_predict(lexicon: dict, fragments, fallback: str, spacy_model: str = "blank") -> list:
    """Per fragment the value whose lexicon it matches most often; `fallback` when none or a tie."""
    out = []
    for lemmas in lemmatise([f.text for f in fragments], spacy_model):
        words = lemmas.split()
        scores = {value: sum(w in vocabulary for w in words) for value, vocabulary in lexicon.items()}
        best = max(scores.values(), default=0)
        winners = [v for v, s in scores.items() if s == best]
        out.append(winners[0] if best > 0 and len(winners) == 1 else fallback)
    return out


def char_tfidf_pipeline():
    """The plain reference: char_wb 2-5-grams, sublinear TF-IDF, balanced logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                               dtype=np.float32)),
                     ("classifier", LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000))])


def char_tfidf_fold(texts, train, test, memo=None):
    """(training matrix, test matrix, row span) of the char-tfidf reference on one fold.

    The vocabulary and IDF are learned on the training texts only; dimensions coded on the
    same fragments share them (`memo`), and the logistic regression is solved in the span
    of the training rows (`linear.RowSpace`: the same optimum as the L-BFGS of
    `char_tfidf_pipeline`, found exactly and far faster on a few hundred fragments).
    """
    from .linear import row_space

    key = (tuple(texts[i] for i in train), tuple(texts[i] for i in test))
    if memo is not None and key in memo:
        return memo[key]
    vectorizer = char_tfidf_pipeline().named_steps["tfidf"]
    if memo is not None:  # each text's n-grams made once, for every fold and dimension group it is in
        vectorizer = remembered_ngrams(vectorizer, memo.setdefault(NGRAMS, NgramMemo()))
    A = vectorizer.fit_transform(list(key[0]))
    fold = (A, vectorizer.transform(list(key[1])), row_space(A))
    if memo is not None:
        memo[key] = fold
    return fold


NGRAMS = "char-tfidf n-grams"  # the memo's entry: an NgramMemo
NGRAM_MEMO_CHARACTERS = 250_000  # texts remembered up to this many characters (~180 bytes each: ~45 MB)


class NgramMemo(dict):
    """{text: its analysed n-grams}, filled until the texts in it reach `characters` characters:
    a character's n-grams take about 180 bytes, so a large study's texts are cut again per fold
    rather than kept (memory stays bounded; the numbers are the same either way)."""

    def __init__(self, characters: int = NGRAM_MEMO_CHARACTERS):
        super().__init__()
        self.room = characters

    def analysed(self, text: str, analyse) -> list:
        found = self.get(text)
        if found is None:
            found = analyse(text)
            if len(text) <= self.room:
                self[text] = found
                self.room -= len(text)
        return found


def remembered_ngrams(vectorizer, ngrams: NgramMemo):
    """A TfidfVectorizer equal to `vectorizer` whose analyser looks each text up in `ngrams`
    (the n-grams `vectorizer`'s own analyser gives, made at the first look-up): the same
    vocabulary, counts and weights, without cutting a text into n-grams again per fold."""
    from functools import partial

    from sklearn.base import clone

    # ngram_range is the analyser's: a callable analyser makes it unused (set to its default, no warning)
    return clone(vectorizer).set_params(analyzer=partial(ngrams.analysed, analyse=vectorizer.build_analyzer()),
                                        ngram_range=(1, 1))


def baseline_predictions(item, folds, dimension, spacy_model: str, memo=None) -> dict:
    """Out-of-fold predictions of the three baselines: {'majority': ..., 'keywords': ..., 'char-tfidf': ...}.

    `memo` (a dict) shares the char-tfidf matrices between dimensions coded on the same fragments.
    """
    from .linear import fit_logistic

    labels = np.asarray(item.labels, dtype=object)
    texts = [f.text for f in item.fragments]
    out = {name: np.empty(len(labels), dtype=object) for name in ("majority", "keywords", "char-tfidf")}
    lexicon = build_lexicon(dimension, spacy_model)
    for train, test in folds:
        fallback = majority_value(labels[train])
        out["majority"][test] = fallback
        out["keywords"][test] = lexicon_predict(lexicon, [item.fragments[i] for i in test], fallback, spacy_model)
        if len(set(labels[train])) > 1:
            A, B, space = char_tfidf_fold(texts, train, test, memo)
            out["char-tfidf"][test] = fit_logistic(A, labels[train], 1.0, space).predict(B)
        else:
            out["char-tfidf"][test] = fallback
    return out
