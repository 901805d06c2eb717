"""Sublinear TF-IDF on the hashed blocks of a feature matrix, each block on its own.

A scikit-learn `ColumnTransformer` would do the same, but it keeps the column indices of
every block as a list of integers (hundreds of thousands of them for hashed blocks), which a
skops model file stores as JSON: 20 MB per dimension. `BlockWeights` keeps only where each
block starts and ends, and one fitted `TfidfTransformer` (an IDF vector: numbers only) per
weighted block.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.utils.validation import check_is_fitted


class BlockWeights(TransformerMixin, BaseEstimator):
    """Blocks of `widths` columns side by side; a block marked in `weighted` gets sublinear TF-IDF
    (and unit length within the block), the others pass through unchanged."""

    def __init__(self, widths=(), weighted=()):
        self.widths = widths
        self.weighted = weighted

    def _bounds(self, n_columns: int) -> np.ndarray:
        widths = [int(w) for w in self.widths]
        if len(widths) != len(self.weighted):
            raise ValueError(f"widths ({len(widths)}) and weighted ({len(self.weighted)}) differ in length")
        if sum(widths) != n_columns:
            raise ValueError(f"the blocks cover {sum(widths)} columns, the matrix has {n_columns}")
        ends = np.cumsum(widths, dtype=np.int64)
        return np.stack([ends - np.asarray(widths, dtype=np.int64), ends], axis=1)

    def fit(self, X, y=None):
        X = sp.csr_matrix(X)
        self.bounds_ = self._bounds(X.shape[1])
        self.idf_steps_ = [TfidfTransformer(sublinear_tf=True).fit(X[:, start:end]) if weighted else None
                           for (start, end), weighted in zip(self.bounds_, self.weighted)]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self, "idf_steps_")
        X = sp.csr_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} columns, the blocks were fitted on {self.n_features_in_}")
        parts = [X[:, start:end] if step is None else step.transform(X[:, start:end])
                 for (start, end), step in zip(self.bounds_, self.idf_steps_)]
        return sp.hstack(parts, format="csr", dtype=X.dtype)
