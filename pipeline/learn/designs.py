"""Named feature designs: which feature blocks a model sees, how they are weighted, which classifier.

A design is written ``parts/classifier[/C]``, parts joined by ``+``:

  lemma        lemma 1-2-grams of the fragment (capcode's Dutch pipeline), hashed
  char         character 2-5-grams of the fragment (within words), hashed
  context      lemmas of the preceding interviewer question, hashed, in a block of their own
  use          the fragment's multilingual sentence embedding (`encoder.py`; optional package)
  use_context  the interviewer question's sentence embedding
  codebook     how close the fragment's embedding lies to each codebook value's description
               and examples (one column per dimension and value): the codebook as prior knowledge
  tfidf        not a block: weight the hashed blocks by sublinear TF-IDF (IDF learned from the
               training fragments; an IDF vector is numbers only)

classifier is ``lr`` (class-balanced logistic regression) or ``svm`` (linear SVM, sigmoid
calibrated); C is the inverse regularisation strength, or absent to use `train.c`
(``auto``: chosen per dimension by the kappa of grouped cross-validation; ``logloss`` in
its place chooses C by out-of-fold log loss instead, for comparison: docs/classifier.md). Examples:
``lemma+char+context/lr/1`` (capcode's first default), ``tfidf+use+use_context+lemma+char+context/lr``.

The model input is raw blocks side by side (`raw_step`), computed once per fragment and
shared by all dimensions; each dimension's own pipeline starts with `weighting_step`
(TF-IDF for hashed blocks, learned from that dimension's training fragments).
"""

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ConfigError
from ..features import CHAR_FEATURES, CONTEXT, CONTEXT_FEATURES, LEMMA_FEATURES, TEXT, TextHasher
from .cache import cached_rows
from .encoder import DIMENSIONS, SentenceEncoder, embed
from .encoder import block_key as use_key
from .linear import keep_columns

BLOCKS = ("lemma", "char", "context", "use", "use_context", "codebook")
HASHED = ("lemma", "char", "context")
ENCODED = ("use", "use_context", "codebook")
MODIFIERS = ("tfidf",)
CLASSIFIERS = ("lr", "svm")
LOG_LOSS = "logloss"  # in place of C: C chosen by out-of-fold log loss instead of kappa (for comparison)
SHINGLE = 5  # words: a codebook example sharing this many words in a row with a fragment quotes it
ROWS_AT_ONCE = 512  # BlockTfidf weighs a large matrix this many rows at a time (temporaries stay small: faster)


@dataclass(frozen=True)
class Design:
    """A parsed design: blocks in canonical order, TF-IDF weighting, classifier, C (None: train.c)."""

    blocks: tuple
    tfidf: bool
    classifier: str
    c: object = None

    @classmethod
    def parse(cls, text: str, setting: str = "train.features") -> "Design":
        features, _, rest = str(text).partition("/")
        classifier, _, c = rest.partition("/")
        parts = [p.strip() for p in features.split("+") if p.strip()]
        unknown = [p for p in parts if p not in BLOCKS + MODIFIERS]
        blocks = tuple(b for b in BLOCKS if b in parts)
        if unknown or not blocks or len(set(parts)) != len(parts):
            raise ConfigError(f"{setting}: unknown design {features!r}; use '+'-joined parts of "
                              f"{', '.join(BLOCKS)} (and 'tfidf' to weight the hashed ones), "
                              "e.g. 'tfidf+use+use_context+lemma+char+context'.")
        if classifier and classifier not in CLASSIFIERS:
            raise ConfigError(f"train.classifier: unknown classifier {classifier!r}; use 'lr' or 'svm'.")
        value = None
        if c == LOG_LOSS:
            value = LOG_LOSS
        elif c:
            try:
                value = float(c)
            except ValueError:
                raise ConfigError(f"{setting}: {text!r}: the part after the classifier is C, a number "
                                  f"(or '{LOG_LOSS}': C chosen by out-of-fold log loss instead of kappa).") from None
        return cls(blocks, "tfidf" in parts, classifier or "lr", value)

    @property
    def features(self) -> str:
        return "+".join((("tfidf",) if self.tfidf else ()) + self.blocks)

    @property
    def uses_encoder(self) -> bool:
        return any(b in ENCODED for b in self.blocks)


def block_width(block: str, n_codebook_columns: int = 0) -> int:
    return {"lemma": LEMMA_FEATURES, "char": CHAR_FEATURES, "context": CONTEXT_FEATURES, "use": DIMENSIONS,
            "use_context": DIMENSIONS, "codebook": n_codebook_columns}[block]


def block_transformer(block: str, design: Design, spacy_model: str, prior=None):
    """(transformer, text column) of one block; hashed blocks keep raw counts when TF-IDF follows."""
    norm = None if design.tfidf else "l2"
    if block == "lemma":
        return TextHasher("lemma", (1, 2), LEMMA_FEATURES, spacy_model, norm), TEXT
    if block == "char":
        return TextHasher("char", (2, 5), CHAR_FEATURES, spacy_model, norm), TEXT
    if block == "context":
        return TextHasher("lemma", (1, 1), CONTEXT_FEATURES, spacy_model, norm), CONTEXT
    if block == "use":
        return SentenceEncoder(), TEXT
    if block == "use_context":
        return SentenceEncoder(), CONTEXT
    if prior is None:
        raise ConfigError("the 'codebook' part needs the codebook; train with a codebook that has values.")
    return prior, TEXT


def raw_step(design: Design, spacy_model: str = "blank", prior=None) -> ColumnTransformer:
    """The feature step of a design: raw blocks side by side, the same for every dimension."""
    transformers = []
    for block in design.blocks:
        transformer, column = block_transformer(block, design, spacy_model, prior)
        transformers.append((block, transformer, [column]))
    return ColumnTransformer(transformers, sparse_threshold=1.0)


def weighting_step(design: Design, widths: dict):
    """A dimension's first step: sublinear TF-IDF on each hashed block (or nothing: 'passthrough')."""
    if not design.tfidf:
        return "passthrough"
    spans = []
    start = 0
    for block in design.blocks:
        spans.append((start, start + widths[block], block in HASHED))
        start += widths[block]
    return BlockTfidf(tuple(spans))


class BlockTfidf(TransformerMixin, BaseEstimator):
    """Sublinear TF-IDF on some column ranges of a sparse matrix (the hashed blocks), the others as they are.

    `spans` is ((start, end, weighted), ...) covering the columns in order (None: all columns,
    weighted, as one range). Each weighted range gets its own l2-normalised TF-IDF, as if it were a matrix of its own. Learns one
    IDF vector per weighted range (numbers only). It does what a ColumnTransformer of
    TfidfTransformers does, but a saved model loads in a fraction of the time: a
    ColumnTransformer keeps every input column's index as a Python number.
    """

    def __init__(self, spans=None):
        self.spans = spans

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True  # term counts
        tags.transformer_tags.preserves_dtype = ["float32"]  # features are float32 throughout
        return tags

    def fit(self, X, y=None):
        self._fit_checked(sp.csr_matrix(validate_data(self, X, accept_sparse="csr", dtype=np.float32)))
        return self

    def fit_fold(self, X):
        """`fit` of a float32 CSR matrix without scikit-learn's input checks (a fold's training rows, made by capcode)."""
        self.n_features_in_ = X.shape[1]
        self._fit_checked(X)
        return self

    def _fit_checked(self, X) -> None:
        self.spans_ = self._checked_spans(X.shape[1])
        weighted_column = np.zeros(X.shape[1], dtype=bool)  # negative values are allowed elsewhere (embeddings)
        for start, end, weighted in self.spans_:
            weighted_column[start:end] = weighted
        if np.any(X.data[weighted_column[X.indices]] < 0):
            raise ValueError("Negative values in data passed to BlockTfidf: it weights term counts")
        counts = np.bincount(X.indices, minlength=X.shape[1])  # rows holding each column (all ranges at once)
        self.weights_ = [fitted_idf(counts[start:end], X.shape[0], X.dtype) if weighted else None
                         for start, end, weighted in self.spans_]

    def fit_transform(self, X, y=None):
        """fit(X).transform(X), the input checked once (cross-validation weighs thousands of folds)."""
        X = sp.csr_matrix(validate_data(self, X, accept_sparse="csr", dtype=np.float32))
        self._fit_checked(X)
        return self._weighted(sp.csr_matrix(X, copy=True))

    def _checked_spans(self, n_columns) -> tuple:
        spans = ((0, n_columns, True),) if self.spans is None else tuple(tuple(s) for s in self.spans)
        ends = [0] + [end for _, end, _ in spans]
        if [start for start, _, _ in spans] != ends[:-1] or ends[-1] != n_columns:
            raise ValueError(f"spans must cover the {n_columns} columns in order, got {self.spans!r}")
        return spans

    def transform(self, X):
        """In one pass over the non-zeros: 1 + log(count) and the IDF weight on the weighted ranges,
        then each weighted range of each row scaled to unit length (what TfidfTransformer does per range)."""
        check_is_fitted(self)
        return self._weighted(sp.csr_matrix(validate_data(self, X, accept_sparse="csr", dtype=np.float32,
                                                          reset=False), copy=True))

    def transform_fold(self, X):
        """`transform` of a float32 CSR matrix of the fitted width, without scikit-learn's input
        checks (the held-out rows of cross-validation folds, made by capcode itself)."""
        return self._weighted(sp.csr_matrix(X, dtype=np.float32, copy=True))

    def _weighted(self, X):
        X.sum_duplicates()
        self.weigh_in_place(X, ROWS_AT_ONCE)
        return X

    def weigh_in_place(self, X, rows_at_once: int) -> None:
        """`transform`'s weighting of a float32 CSR matrix with sorted, summed indices, in its
        own data, `rows_at_once` rows at a time so the temporaries stay small (out-of-core
        training weighs its chunks this way without a copy)."""
        idf, block = self._column_weights(X.shape[1])
        for start in range(0, X.shape[0], rows_at_once):
            stop = min(X.shape[0], start + rows_at_once)
            low, high = X.indptr[start], X.indptr[stop]
            rows = sp.csr_matrix((X.data[low:high], X.indices[low:high], X.indptr[start:stop + 1] - low),
                                 shape=(stop - start, X.shape[1]))
            counts = TermCounts(rows, block, len(self.spans_))
            X.data[low:high][counts.weighted] = counts.weigh(idf)  # a view: X changes in place

    def _column_weights(self, n_columns):
        """Per column: its IDF weight (1 outside weighted ranges) and its weighted range's number (-1: none)."""
        idf = np.ones(n_columns, dtype=np.float32)
        block = np.full(n_columns, -1, dtype=np.int64)
        for number, ((start, end, _), weights) in enumerate(zip(self.spans_, self.weights_)):
            if weights is not None:
                idf[start:end] = weights.idf_
                block[start:end] = number
        return idf, block


def fitted_idf(document_counts, n_rows: int, dtype) -> TfidfTransformer:
    """TfidfTransformer(sublinear_tf=True) as its fit leaves it on n_rows rows with these document
    counts per column: its smoothed IDF, computed in its steps and precision (`tests/test_block_tfidf.py`
    compares the two), without first copying the columns of a range out of the matrix."""
    weights = TfidfTransformer(sublinear_tf=True)
    df = document_counts.astype(dtype, copy=True)
    df += 1.0
    idf = np.full_like(df, fill_value=n_rows + 1, dtype=dtype)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    weights.idf_ = idf
    weights.n_features_in_ = len(document_counts)
    return weights


class TermCounts:
    """The hashed counts of some rows, ready to be TF-IDF weighted with any IDF vector.

    `weigh(idf)` gives, for the weighted non-zeros (`weighted`, positions in the rows' data),
    1 + log(count) times the column's IDF, each weighted range of each row scaled to unit
    length: what BlockTfidf does. Out-of-core training weighs one chunk with the IDF of
    every fold, so the work that does not depend on the IDF is done once here.
    """

    def __init__(self, rows, block, n_blocks: int):
        # a range's number per non-zero in the smallest type (most non-zeros are the unweighted embeddings)
        numbers = (block.astype(np.int8) if n_blocks < 127 else block)[rows.indices]
        self.weighted = np.flatnonzero(numbers >= 0)
        self.columns = rows.indices[self.weighted]
        self.log_counts = np.log(rows.data[self.weighted]) + np.float32(1.0)
        row_of = np.searchsorted(rows.indptr, self.weighted, side="right") - 1  # the row holding each position
        self.key = row_of * n_blocks + numbers[self.weighted]
        self.size = rows.shape[0] * n_blocks

    def weigh(self, idf) -> np.ndarray:
        values = self.log_counts * idf[self.columns]
        norms = np.sqrt(np.bincount(self.key, weights=np.square(values, dtype=np.float64), minlength=self.size))
        norms[norms == 0.0] = 1.0
        values /= norms[self.key].astype(np.float32)
        return values


class ActiveColumns(TransformerMixin, BaseEstimator):
    """Keep the columns that are non-zero in some training row; drop the others.

    Of the 150,000 hashed columns a hundred fragments fill a few thousand. A column that is
    zero in every training row gets weight zero in an L2-regularised linear model, so
    dropping it changes no prediction; it makes every fit two to three times faster. Holds
    the kept column numbers (which hashed buckets occurred: what the IDF weights and the
    coefficients reveal already), no text.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y=None):
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64 if not sp.issparse(X) else None)
        if sp.issparse(X):  # columns with a stored value in some row
            stored = np.bincount(X.indices, minlength=X.shape[1]) if X.format == "csr" else np.diff(X.indptr)
            self.columns_ = np.flatnonzero(stored).astype(np.int64)
        else:
            self.columns_ = np.flatnonzero(np.any(np.asarray(X) != 0, axis=0)).astype(np.int64)
        return self

    def fit_transform(self, X, y=None):
        """fit(X).transform(X) of a sparse matrix, checked once, its filled columns counted without
        making it column-wise first (cross-validation keeps the columns of thousands of folds)."""
        if not sp.issparse(X):
            return self.fit(X).transform(X)
        X = sp.csr_matrix(validate_data(self, X, accept_sparse="csr"))
        return self.fit_fold(X).renumbered(X)

    def fit_fold(self, X):
        """`fit` of a CSR matrix without scikit-learn's input checks (a fold's training rows, made by capcode)."""
        self.n_features_in_ = X.shape[1]
        self.columns_ = np.flatnonzero(np.bincount(X.indices, minlength=X.shape[1])).astype(np.int64)
        return self

    def renumbered(self, X):
        """`transform` of the CSR matrix this was fitted on: every non-zero stays, only the column
        numbers change (what `keep_columns` gives, in one gather instead of its pass)."""
        position = np.zeros(X.shape[1], dtype=np.int64)
        position[self.columns_] = np.arange(len(self.columns_))
        indices = position[X.indices].astype(np.int32 if len(self.columns_) < 2**31 else np.int64)
        indptr = np.asarray(X.indptr, dtype=np.int64).copy()
        return sp.csr_matrix((X.data.copy(), indices, indptr), shape=(X.shape[0], len(self.columns_)))

    def transform_fold(self, X):
        """`transform` of a CSR matrix of the fitted width, without scikit-learn's input checks."""
        return keep_columns(sp.csr_matrix(X), self.columns_)

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64 if not sp.issparse(X) else None,
                          reset=False)
        if not sp.issparse(X):
            return X[:, self.columns_]
        return keep_columns(sp.csr_matrix(X), self.columns_)


# ---- the codebook as prior knowledge -------------------------------------------------------


def codebook_entries(codebook) -> list:
    """(column name, text) for each value's Dutch (or only) description and each example."""
    entries = []
    for dimension in codebook.dimensions:
        for value in dimension.values:
            texts = [t for lang, t in value.descriptions if lang in ("nl", "")] or \
                    ([value.description] if value.description else [t for _, t in value.descriptions[:1]])
            for text in list(texts) + list(value.examples):
                if text and text.strip():
                    entries.append((f"{dimension.id}={value.id}", text))
    return entries


def _shingles(text: str) -> set:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))} if words else set()


def quoted_entries(entries, fragments) -> set:
    """Indices of codebook entries that quote one of `fragments` (share SHINGLE words in a row)."""
    seen = set()
    for fragment in fragments:
        seen |= _shingles(fragment.text)
    return {i for i, (_, text) in enumerate(entries) if _shingles(text) & seen}


def prototypes(entries, vectors, leave_out=()) -> tuple:
    """(column names, unit-length mean embedding per column), without the entries in `leave_out`."""
    columns = list(dict.fromkeys(name for name, _ in entries))
    out = np.zeros((len(columns), vectors.shape[1] if len(vectors) else DIMENSIONS), dtype=np.float32)
    for row, name in enumerate(columns):
        chosen = [i for i, (n, _) in enumerate(entries) if n == name and i not in leave_out]
        if chosen:
            mean = vectors[chosen].mean(axis=0)
            out[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return tuple(columns), out


class CodebookPrior(TransformerMixin, BaseEstimator):
    """Cosine similarity of a text's sentence embedding to each codebook value's prototype.

    `prototypes` (numbers only: the mean embedding of a value's description and examples)
    are made by `codebook_prior(codebook)`; the model file holds no codebook text.
    """

    def __init__(self, prototypes=None, columns=()):
        self.prototypes = prototypes
        self.columns = columns

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags

    def fit(self, X, y=None):
        validate_data(self, X, dtype=None, ensure_all_finite=True)
        if self.prototypes is None or np.asarray(self.prototypes).ndim != 2:
            raise ValueError("CodebookPrior needs prototypes: a (columns, 512) array")
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=None, reset=False, ensure_all_finite=True)
        texts = ["" if v is None else str(v) for v in X[:, 0]]
        vectors = np.asarray(cached_rows(use_key(), texts, embed), dtype=np.float32)
        return sp.csr_matrix(vectors @ np.asarray(self.prototypes, dtype=np.float32).T)


def codebook_prior(codebook, leave_out_fragments=()) -> CodebookPrior:
    """The codebook block's transformer; entries quoting `leave_out_fragments` are left out (evaluation)."""
    entries = codebook_entries(codebook)
    vectors = np.asarray(cached_rows(use_key(), [t for _, t in entries], embed), dtype=np.float32)
    leave_out = quoted_entries(entries, leave_out_fragments) if leave_out_fragments else set()
    columns, matrix = prototypes(entries, vectors, leave_out)
    return CodebookPrior(matrix, columns)
