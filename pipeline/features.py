"""Features for the classifier: hashed lemma n-grams, character n-grams and the interviewer question.

Everything is hashed (scikit-learn's HashingVectorizer), so a saved model holds
numbers only: no vocabulary, no stop-word list, no training text. Lemmas come
from capcode's Dutch spaCy pipeline (`pipeline.dutch.build_nlp`); lemmatising is
the slow part, so lemmatised texts are kept in a bounded in-memory cache that
lives in this module (never on an estimator, so it is never pickled).

The model input is a 2-D array of text columns built by `fragment_matrix`:
column 0 is the fragment text, column 1 the preceding interviewer question
(`Fragment.context`). `build_features(design)` combines the hashers into one
ColumnTransformer for a named design such as ``"lemma+char+context"``.
"""

import collections
import threading

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import ConfigError

TEXT, CONTEXT = 0, 1
DESIGNS = ("lemma", "lemma+char", "lemma+char+context", "char+context")
ANALYZERS = ("lemma", "char")
CACHE_SIZE = 50_000
# hashed feature-space sizes: big enough for a study's vocabulary, small enough for a fast model
LEMMA_FEATURES, CHAR_FEATURES, CONTEXT_FEATURES = 2**16, 2**16, 2**14

_LEMMAS = collections.OrderedDict()
_LOCK = threading.Lock()


def fragment_matrix(fragments) -> np.ndarray:
    """The model input for fragments: an (n, 2) object array of [text, context]."""
    rows = [(f.text or "", f.context or "") for f in fragments]
    matrix = np.empty((len(rows), 2), dtype=object)
    for index, (text, context) in enumerate(rows):
        matrix[index, TEXT] = text
        matrix[index, CONTEXT] = context
    return matrix


def get_nlp(spacy_model: str = "blank"):
    """capcode's Dutch pipeline for lemmas, shared with segmentation (never stored on a model)."""
    from .dutch import build_nlp

    return build_nlp(spacy_model)


def _not_needed_for_lemmas(nlp) -> list:
    """Components that lemmatising can skip: sentence boundaries and the parser."""
    return [name for name in nlp.pipe_names if "sent" in name or name == "parser"]


def token_lemma(token) -> str:
    """A token's lemma in lower case, falling back to its text when the lemmatizer has none."""
    return (token.lemma_ or token.text).lower()


def lemmatise(texts, spacy_model: str = "blank") -> list:
    """Each text as space-separated lower-case lemmas without punctuation; cached per text."""
    texts = [str(t) for t in texts]
    missing = []
    with _LOCK:
        for text in texts:
            if (spacy_model, text) not in _LEMMAS:
                missing.append(text)
    if missing:
        nlp = get_nlp(spacy_model)
        unique = list(dict.fromkeys(missing))
        results = {}
        for text, doc in zip(unique, nlp.pipe(unique, batch_size=256, disable=_not_needed_for_lemmas(nlp))):
            results[text] = " ".join(token_lemma(t) for t in doc if not (t.is_punct or t.is_space))
        with _LOCK:
            for text, lemmas in results.items():
                _LEMMAS[(spacy_model, text)] = lemmas
            while len(_LEMMAS) > CACHE_SIZE:
                _LEMMAS.popitem(last=False)
        out = []
        for text in texts:
            out.append(results[text] if text in results else _LEMMAS.get((spacy_model, text), ""))
        return out
    with _LOCK:
        return [_LEMMAS[(spacy_model, text)] for text in texts]


def clear_lemma_cache() -> None:
    """Forget cached lemmas (the benchmark uses this to measure cold runs)."""
    with _LOCK:
        _LEMMAS.clear()


class TextHasher(TransformerMixin, BaseEstimator):
    """Hash each text column into n-gram counts (lemma or character n-grams), l2-normalised.

    X is a 2-D array of texts (one column per text field); every column gets its
    own block of `n_features` hashed features, so the interviewer question never
    mixes with the fragment's own words. Holds no vocabulary: only `n_features_in_`
    is learned.
    """

    def __init__(self, analyzer="lemma", ngram_range=(1, 2), n_features=2**16, spacy_model="blank"):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.spacy_model = spacy_model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    def _vectorizer(self):
        if self.analyzer == "lemma":
            return HashingVectorizer(n_features=self.n_features, analyzer="word", token_pattern=r"\S+",
                                     lowercase=False, ngram_range=tuple(self.ngram_range),
                                     alternate_sign=False, norm="l2")
        return HashingVectorizer(n_features=self.n_features, analyzer="char_wb", lowercase=True,
                                 ngram_range=tuple(self.ngram_range), alternate_sign=False, norm="l2")

    def _check_params(self):
        if self.analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {', '.join(ANALYZERS)}, got {self.analyzer!r}")
        low, high = tuple(self.ngram_range)
        if not (1 <= low <= high):
            raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, got {self.ngram_range!r}")

    def fit(self, X, y=None):
        """Check the parameters and remember the number of text columns."""
        self._check_params()
        validate_data(self, X, dtype=None, ensure_all_finite=True)
        return self

    def transform(self, X):
        """A sparse matrix with one hashed block per text column."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=None, reset=False, ensure_all_finite=True)
        vectorizer = self._vectorizer()
        blocks = []
        for column in range(X.shape[1]):
            texts = ["" if v is None else str(v) for v in X[:, column]]
            if self.analyzer == "lemma":
                texts = lemmatise(texts, self.spacy_model)
            blocks.append(vectorizer.transform(texts))
        return sp.hstack(blocks, format="csr")


def build_features(design: str = "lemma+char+context", spacy_model: str = "blank") -> ColumnTransformer:
    """The feature step for a named design: '+'-joined parts of lemma, char and context."""
    parts = design.split("+")
    unknown = [p for p in parts if p not in ("lemma", "char", "context")]
    if not parts or unknown or len(set(parts)) != len(parts):
        raise ConfigError(f"train.features: unknown design {design!r}; use '+'-joined parts of "
                          "lemma, char and context, e.g. 'lemma+char+context'.")
    transformers = []
    if "lemma" in parts:
        transformers.append(("lemma", TextHasher("lemma", (1, 2), LEMMA_FEATURES, spacy_model), [TEXT]))
    if "char" in parts:
        transformers.append(("char", TextHasher("char", (2, 5), CHAR_FEATURES, spacy_model), [TEXT]))
    if "context" in parts:
        transformers.append(("context", TextHasher("lemma", (1, 1), CONTEXT_FEATURES, spacy_model), [CONTEXT]))
    return ColumnTransformer(transformers, sparse_threshold=1.0)
