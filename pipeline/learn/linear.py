"""Logistic regression fits, fast at every size, always scikit-learn's LogisticRegression in the end.

Every capcode classifier is class-balanced, L2-regularised logistic regression (scikit-learn's
objective: C times the weighted log loss plus half the squared norm of the coefficients, the
intercept not penalised). Cross-validation fits it many times: for every fold, value of C
and dimension. Two exact ways make those fits cheap:

- **Few fragments, many columns** (a study of a few hundred coded fragments against
  150,000 hashed columns and two 512-number embeddings): the best coefficients always lie
  in the span of the training rows (the gradient of the loss is a combination of the rows,
  and the penalty only shrinks), so the problem is solved in that span: with the Gram
  matrix G = X Xᵀ = U Λ Uᵀ, the rows X have the same geometry as the n-column matrix
  Φ = U Λ^½, and logistic regression on Φ has the same optimum, mapped back by
  W = Θ Λ^-½ Uᵀ X. One eigendecomposition per fold serves every C and every dimension
  (`RowSpace`); the fit itself is on an n x n matrix, by Newton's method (`newton.py`; each
  C of a grid starts from the previous C's solution). Directions of the span with no
  weight in the data (eigenvalues below 1e-10 of the largest) are left out: their
  coefficients are zero at the optimum.
- **Many fragments**: scikit-learn's L-BFGS on the float32 sparse matrix (about three
  times faster than Newton-CG here, at the same accuracy against a tightly converged fit).

`fit_logistic` returns a fitted `LogisticRegression` either way (coefficients in the full
column space), so a model file holds only scikit-learn's own estimator.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from .newton import fit_balanced_logistic

ROW_SPACE_MAX = 1500  # training rows up to which the span of the rows is used (n x n eigendecomposition)
RELATIVE_EIGENVALUE = 1e-10  # span directions weaker than this (relative to the strongest) carry no data
MAX_ITER = 1000
SPAN_TOL = 1e-8  # the n-column problem is tiny: converge it tightly
DENSE_SHARE = 0.25  # columns filled in more than this share of the rows are multiplied as dense


def logistic(c: float, tol: float = 1e-4) -> LogisticRegression:
    """The classifier capcode trains: class-balanced logistic regression, L-BFGS."""
    return LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", max_iter=MAX_ITER, tol=tol)


class RowSpace:
    """The span of a training matrix's rows, for solving linear models in it (see the module doc)."""

    def __init__(self, X):
        self.X = sp.csr_matrix(X, dtype=np.float64)
        # columns filled in most rows (the embeddings) go through dense BLAS, the rest stays sparse
        filled = np.bincount(self.X.indices, minlength=self.X.shape[1])
        self.dense_columns = np.flatnonzero(filled > DENSE_SHARE * max(1, self.X.shape[0]))
        self.sparse_columns = np.flatnonzero(filled <= DENSE_SHARE * max(1, self.X.shape[0]))
        self.X_dense, self.X_sparse = self._split(self.X)
        gram = self._products(self.X_dense, self.X_sparse)
        values, vectors = np.linalg.eigh(gram)
        top = values.max() if len(values) else 0.0
        keep = values > top * RELATIVE_EIGENVALUE if top > 0 else np.zeros(len(values), dtype=bool)
        roots = np.sqrt(values[keep])
        self.features = vectors[:, keep] * roots  # Φ: the training rows in the span's coordinates
        self.back = vectors[:, keep] / roots  # U Λ^-½: from span coordinates to row combinations
        self.solutions = {}  # labels -> the last fit's span coefficients: the next C starts from them

    def _split(self, Y):
        Y = sp.csr_matrix(Y, dtype=np.float64)
        return keep_columns(Y, self.dense_columns).toarray(), keep_columns(Y, self.sparse_columns)

    def _products(self, Y_dense, Y_sparse) -> np.ndarray:
        """Y Xᵀ from the split parts of Y and X."""
        return Y_dense @ self.X_dense.T + (Y_sparse @ self.X_sparse.T).toarray()

    def project(self, Y) -> np.ndarray:
        """Other rows (same columns) in the span's coordinates: their part outside the span meets zero weights."""
        return self._products(*self._split(Y)) @ self.back

    def coefficients(self, theta) -> np.ndarray:
        """Coefficients in the full column space for span coefficients `theta` (classes x span)."""
        combination = self.back @ np.asarray(theta, dtype=np.float64).T  # rows x classes
        return np.asarray((self.X.T @ combination).T)


def use_row_space(X) -> bool:
    """Whether a training matrix is solved in the span of its rows (few rows, more columns)."""
    return sp.issparse(X) and X.shape[0] <= ROW_SPACE_MAX and X.shape[0] < X.shape[1]


def fit_logistic(X, y, c: float, space=None) -> LogisticRegression:
    """Class-balanced logistic regression fitted on X (in the rows' span when `space` is given)."""
    if space is None:
        return logistic(c).fit(X, y)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    key = (len(classes), codes.tobytes())
    theta, intercept, steps = fit_balanced_logistic(space.features, codes, len(classes), c, space.solutions.get(key))
    space.solutions[key] = (theta, intercept)
    model = logistic(c)
    model.classes_ = classes
    model.n_iter_ = np.asarray([steps], dtype=np.int32)
    model.intercept_ = intercept
    model.coef_ = space.coefficients(theta)
    model.n_features_in_ = X.shape[1]
    return model


def row_space(X):
    """A RowSpace of X when solving in it pays, else None."""
    return RowSpace(X) if use_row_space(X) else None


def keep_columns(X, columns, rows_at_once: int = 4096) -> sp.csr_matrix:
    """X[:, columns] of a CSR matrix for increasing `columns`, in one pass over the non-zeros, a
    slice of rows at a time (scipy's column indexing goes through a matrix product and copies)."""
    position = np.full(X.shape[1], -1, dtype=np.int64)
    position[columns] = np.arange(len(columns))
    data, indices, counts = [], [], []
    for start in range(0, X.shape[0], rows_at_once):
        stop = min(X.shape[0], start + rows_at_once)
        low, high = X.indptr[start], X.indptr[stop]
        new_column = position[X.indices[low:high]]
        kept = np.flatnonzero(new_column >= 0)
        data.append(X.data[low:high][kept])
        indices.append(new_column[kept].astype(np.int32 if len(columns) < 2**31 else np.int64))
        rows = np.repeat(np.arange(stop - start, dtype=np.int64), np.diff(X.indptr[start:stop + 1]))[kept]
        counts.append(np.bincount(rows, minlength=stop - start))
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=indptr[1:])
    empty = np.zeros(0, dtype=X.dtype)
    return sp.csr_matrix((np.concatenate(data) if data else empty,
                          np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32), indptr),
                         shape=(X.shape[0], len(columns)))
