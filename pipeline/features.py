"""Features for the classifier: hashed lemma n-grams, character n-grams and the interviewer question.

Everything is hashed (scikit-learn's HashingVectorizer), so a saved model holds
numbers only: no vocabulary, no stop-word list, no training text. Lemmas come
from capcode's Dutch spaCy pipeline (`pipeline.dutch.build_nlp`); lemmatising is
the slow part, so lemmatised texts are kept in a bounded in-memory cache that
lives in this module (never on an estimator, so it is never pickled).

The model input is a 2-D array of text columns built by `fragment_matrix`:
column 0 is the fragment text, column 1 the preceding interviewer question
(`Fragment.context`). `pipeline.learn.designs` combines the hashers (and the
sentence encoder) into the feature step of a named design such as ``"lemma+char+context"``.
With a study's feature cache open (`pipeline.learn.cache`), hashed rows are read
from it instead of lemmatising again.
"""

import collections
import threading

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils.validation import check_is_fitted, validate_data

from . import __version__
from .learn.cache import cached_rows

TEXT, CONTEXT = 0, 1
ANALYZERS = ("lemma", "char")
CACHE_SIZE = 50_000
# hashed feature-space sizes: big enough for a study's vocabulary, small enough for a fast model
LEMMA_FEATURES, CHAR_FEATURES, CONTEXT_FEATURES = 2**16, 2**16, 2**14

_LEMMAS = collections.OrderedDict()
_LOCK = threading.Lock()
_THREAD_STATE = threading.local()


def fragment_matrix(fragments) -> np.ndarray:
    """The model input for fragments: an (n, 2) object array of [text, context]."""
    rows = [(f.text or "", f.context or "") for f in fragments]
    matrix = np.empty((len(rows), 2), dtype=object)
    for index, (text, context) in enumerate(rows):
        matrix[index, TEXT] = text
        matrix[index, CONTEXT] = context
    return matrix


def get_nlp(spacy_model: str = "blank"):
    """capcode's Dutch pipeline for lemmas, shared with segmentation (never stored on a model).

    Another thread (a Dask worker runs several) gets a pipeline of its own: spaCy's objects
    are not made for concurrent use.
    """
    from .dutch import build_nlp, new_nlp

    if threading.current_thread() is threading.main_thread():
        return build_nlp(spacy_model)
    pipelines = _THREAD_STATE.__dict__.setdefault("pipelines", {})
    if spacy_model not in pipelines:
        pipelines[spacy_model] = new_nlp(spacy_model)
    return pipelines[spacy_model]


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


def release_pipelines() -> None:
    """Forget the spaCy pipelines of this process and thread and the cached lemmas (training
    does so once every feature row is made, so their memory serves the fitting)."""
    from .dutch import forget_pipelines

    clear_lemma_cache()
    _THREAD_STATE.__dict__.pop("pipelines", None)
    forget_pipelines()


def clear_lemma_cache() -> None:
    """Forget cached lemmas (the benchmark uses this to measure cold runs)."""
    with _LOCK:
        _LEMMAS.clear()


def char_ngram_counts(texts, ngram_range=(2, 5), n_features=2**16, norm=None):
    """Hashed character n-grams within words: exactly what scikit-learn's HashingVectorizer
    (analyzer 'char_wb', lower-cased, no alternate sign) gives, several times faster.

    'char_wb' n-grams never cross a word boundary (each word is padded with one space on
    either side), so a text's counts are the sum of its words' counts. Each distinct word
    of the batch is cut and hashed once (by HashingVectorizer itself), and the texts are a
    word-count matrix times that word matrix; counts are whole numbers, so the sum is exact.
    """
    vocabulary, indices, indptr = {}, [], [0]
    for text in texts:
        # HashingVectorizer lower-cases the text, then splits it on runs of white space
        indices.extend(vocabulary.setdefault(word, len(vocabulary)) for word in text.lower().split())
        indptr.append(len(indices))
    words = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int64),
                           np.asarray(indptr, dtype=np.int64)), shape=(len(indptr) - 1, len(vocabulary)))
    hasher = HashingVectorizer(n_features=n_features, analyzer="char_wb", lowercase=False, ngram_range=ngram_range,
                               alternate_sign=False, norm=None, dtype=np.float32)
    per_word = hasher.transform(list(vocabulary)) if vocabulary else sp.csr_matrix((0, n_features), dtype=np.float32)
    counts = sp.csr_matrix(words @ per_word, dtype=np.float32)
    counts.sum_duplicates()  # sorted column indices, as HashingVectorizer leaves them
    counts.eliminate_zeros()
    if norm is not None:
        from sklearn.preprocessing import normalize

        counts = normalize(counts, norm=norm, copy=False)
    return counts


class TextHasher(TransformerMixin, BaseEstimator):
    """Hash each text column into n-gram counts (lemma or character n-grams), l2-normalised.

    X is a 2-D array of texts (one column per text field); every column gets its
    own block of `n_features` hashed features, so the interviewer question never
    mixes with the fragment's own words. Holds no vocabulary: only `n_features_in_`
    is learned.
    """

    def __init__(self, analyzer="lemma", ngram_range=(1, 2), n_features=2**16, spacy_model="blank", norm="l2"):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.spacy_model = spacy_model
        self.norm = norm

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []  # text in, float32 features out
        return tags

    def _vectorizer(self):
        if self.analyzer == "lemma":
            return HashingVectorizer(n_features=self.n_features, analyzer="word", token_pattern=r"\S+",
                                     lowercase=False, ngram_range=tuple(self.ngram_range),
                                     alternate_sign=False, norm=self.norm, dtype=np.float32)
        return HashingVectorizer(n_features=self.n_features, analyzer="char_wb", lowercase=True,
                                 ngram_range=tuple(self.ngram_range), alternate_sign=False, norm=self.norm,
                                 dtype=np.float32)

    def block_key(self) -> str:
        """What the hashed rows depend on besides the text (the feature cache's key)."""
        low, high = tuple(self.ngram_range)
        model = f"-{self.spacy_model}" if self.analyzer == "lemma" else ""
        return f"hash-{self.analyzer}{model}-{low}-{high}-{self.n_features}-{self.norm}-capcode{__version__}"

    def _hash(self, texts):
        if self.analyzer == "lemma":
            return self._vectorizer().transform(lemmatise(texts, self.spacy_model))
        return char_ngram_counts(texts, tuple(self.ngram_range), self.n_features, self.norm)

    def _check_params(self):
        if self.norm not in ("l2", None):
            raise ValueError(f"norm must be 'l2' or None, got {self.norm!r}")
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
        blocks = []
        for column in range(X.shape[1]):
            texts = ["" if v is None else str(v) for v in X[:, column]]
            blocks.append(cached_rows(self.block_key(), texts, self._hash))
        return sp.hstack(blocks, format="csr", dtype=np.float32)
