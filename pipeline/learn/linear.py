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
  Cross-validation's fits of a fold (every dimension and C) run side by side on one split
  of the fold matrix (`fit_logistic_many`, `lockstep.py`): one product for all of them.

`fit_logistic` returns a fitted `LogisticRegression` either way (coefficients in the full
column space), so a model file holds only scikit-learn's own estimator.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax, softmax
from sklearn.linear_model import LogisticRegression

from .lockstep import minimize_together
from .newton import fit_balanced_logistic

ROW_SPACE_MAX = 400  # training rows up to which the span of the rows is used (n x n eigendecomposition; measured crossing with L-BFGS on the fold matrix: about 320-460 rows)
RELATIVE_EIGENVALUE = 1e-10  # span directions weaker than this (relative to the strongest) carry no data
MAX_ITER = 1000
DENSE_SHARE = 0.25  # columns filled in more than this share of the rows are multiplied as dense


def logistic(c: float, tol: float = 1e-4) -> LogisticRegression:
    """The classifier capcode trains: class-balanced logistic regression, L-BFGS."""
    return LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", max_iter=MAX_ITER, tol=tol)


class RowSpace:
    """The span of a training matrix's rows, for solving linear models in it (see the module doc)."""

    def __init__(self, X):
        self.X = as_float64(X)
        # columns filled in most rows (the embeddings) go through dense BLAS, the rest stays sparse
        self.dense = filled_columns(self.X)
        self.X_dense, self.X_sparse = split_columns(self.X, self.dense)
        gram = self._products(self.X_dense, self.X_sparse)
        values, vectors = np.linalg.eigh(gram)
        top = values.max() if len(values) else 0.0
        keep = values > top * RELATIVE_EIGENVALUE if top > 0 else np.zeros(len(values), dtype=bool)
        roots = np.sqrt(values[keep])
        self.features = vectors[:, keep] * roots  # Φ: the training rows in the span's coordinates
        self.back = vectors[:, keep] / roots  # U Λ^-½: from span coordinates to row combinations
        self.solutions = {}  # labels -> the last fit's span coefficients: the next C starts from them

    def _products(self, Y_dense, Y_sparse) -> np.ndarray:
        """Y Xᵀ from the split parts of Y and X."""
        return Y_dense @ self.X_dense.T + (Y_sparse @ self.X_sparse.T).toarray()

    def project(self, Y) -> np.ndarray:
        """Other rows (same columns) in the span's coordinates: their part outside the span meets zero weights."""
        return self._products(*split_columns(sp.csr_matrix(Y, dtype=np.float64), self.dense)) @ self.back

    def coefficients(self, theta) -> np.ndarray:
        """Coefficients in the full column space for span coefficients `theta` (classes x span)."""
        combination = self.back @ np.asarray(theta, dtype=np.float64).T  # rows x classes
        return np.asarray((self.X.T @ combination).T)

    def coefficients_of(self, thetas) -> list:
        """`coefficients` of each of `thetas`, mapped back in one product with the training rows (each
        column of it sums the same terms in the same order as its own product: the same numbers)."""
        combinations = [self.back @ np.asarray(theta, dtype=np.float64).T for theta in thetas]
        products = self.X.T @ np.hstack(combinations)  # columns x all classes'
        bounds = np.cumsum([0] + [combination.shape[1] for combination in combinations])
        return [products[:, start:stop].copy().T for start, stop in zip(bounds[:-1], bounds[1:])]


def as_float64(X) -> sp.csr_matrix:
    """A CSR matrix in float64 (its values converted, its index arrays shared, not copied)."""
    X = sp.csr_matrix(X)
    if X.dtype == np.float64:
        return X
    return sp.csr_matrix((X.data.astype(np.float64), X.indices, X.indptr), shape=X.shape)


def use_row_space(X) -> bool:
    """Whether a training matrix is solved in the span of its rows (few rows, more columns)."""
    return sp.issparse(X) and row_space_pays(*X.shape)


def row_space_pays(n_rows: int, n_columns: int) -> bool:
    """Whether a sparse training matrix of this shape is solved in the span of its rows."""
    return n_rows <= ROW_SPACE_MAX and n_rows < n_columns


def fit_logistic(X, y, c: float, space=None) -> LogisticRegression:
    """Class-balanced logistic regression fitted on X (in the rows' span when `space` is given)."""
    if space is None:
        return logistic(c).fit(X, y)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    c, theta, intercept, steps = _span_fit(space, classes, codes, c)
    return _span_model(c, classes, intercept, steps, space.coefficients(theta), X.shape[1])


def fit_logistic_path(X, y, grid, space) -> list:
    """`fit_logistic(X, y, c, space)` for each C of `grid` in turn (each starting from the previous
    C's solution, as those calls do), the labels coded once and all coefficients mapped back to
    the columns in one product (`RowSpace.coefficients_of`): the same models, made cheaper."""
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    fits = [_span_fit(space, classes, codes, c) for c in grid]
    return [_span_model(c, classes, intercept, steps, coefficients, X.shape[1]) for (c, _, intercept, steps),
            coefficients in zip(fits, space.coefficients_of([theta for _, theta, _, _ in fits]))]


def _span_fit(space, classes, codes, c: float) -> tuple:
    """(C, span coefficients, intercepts, Newton steps), started from the last fit of the same labels."""
    key = (len(classes), codes.tobytes())
    theta, intercept, steps = fit_balanced_logistic(space.features, codes, len(classes), c, space.solutions.get(key))
    space.solutions[key] = (theta, intercept)
    return c, theta, intercept, steps


def _span_model(c: float, classes, intercept, steps: int, coefficients, n_features: int) -> LogisticRegression:
    model = logistic(c)
    model.classes_ = classes
    model.n_iter_ = np.asarray([steps], dtype=np.int32)
    model.intercept_ = intercept
    model.coef_ = coefficients
    model.n_features_in_ = n_features
    return model


def row_space(X):
    """A RowSpace of X when solving in it pays, else None."""
    return RowSpace(X) if use_row_space(X) else None


def keep_columns(X, columns, rows_at_once: int = 512) -> sp.csr_matrix:
    """X[:, columns] of a CSR matrix for increasing `columns`, in one pass over the non-zeros, a
    slice of rows at a time (scipy's column indexing goes through a matrix product and copies)."""
    return split_columns(X, np.zeros(len(columns), dtype=bool), rows_at_once, columns)[1]


class ColumnSplit:
    """A training matrix kept for many products at once: its filled columns (the embeddings) as a
    dense block, the rest sparse, with the sparse block's transpose stored row-wise; products with
    a block of coefficient vectors are then about six times cheaper than one sparse product each."""

    def __init__(self, X, columns=None):
        """The split of X, or of X[:, columns] (increasing) without making that matrix first."""
        X = sp.csr_matrix(X)
        columns = np.arange(X.shape[1]) if columns is None else np.asarray(columns)
        self.shape, self.dtype = (X.shape[0], len(columns)), X.dtype
        dense = filled_columns(X)[columns]
        self.dense_columns, self.sparse_columns = np.flatnonzero(dense), np.flatnonzero(~dense)
        self.dense, self.sparse = split_columns(X, dense, columns=columns)
        self.sparse_t = self.sparse.T.tocsr()

    def dot(self, W) -> np.ndarray:
        """X @ W for coefficients W (columns x vectors)."""
        W = W.astype(self.dtype)
        if W.shape[1] == 1:  # one vector: scipy's single-vector product is the faster one
            return (self.dense @ W[self.dense_columns, 0] + self.sparse @ W[self.sparse_columns, 0])[:, None]
        return self.dense @ W[self.dense_columns] + self.sparse @ W[self.sparse_columns]

    def tdot(self, G) -> np.ndarray:
        """Xᵀ @ G for G (rows x vectors)."""
        G = G.astype(self.dtype)
        out = np.empty((self.shape[1], G.shape[1]), dtype=np.float64)
        if G.shape[1] == 1:
            out[self.dense_columns, 0] = self.dense.T @ G[:, 0]
            out[self.sparse_columns, 0] = self.sparse_t @ G[:, 0]
            return out
        out[self.dense_columns] = self.dense.T @ G
        out[self.sparse_columns] = self.sparse_t @ G
        return out


class _Dense:
    """ColumnSplit's interface for a dense matrix (the row span's coordinates)."""

    def __init__(self, X):
        self.X = np.asarray(X)
        self.shape = self.X.shape

    def dot(self, W):
        return self.X @ W

    def tdot(self, G):
        return self.X.T @ G


@dataclass
class _Problem:
    """One (labels, C) of `fit_logistic_many`: its classes, class-balanced weights and penalty."""

    c: float
    classes: np.ndarray
    codes: np.ndarray
    weights: np.ndarray  # class-balanced sample weights divided by their sum
    l2: float  # scikit-learn's penalty strength 1 / (C * sum of the weights)
    width: int  # coefficient vectors: one for two classes, else one per class

    @classmethod
    def of(cls, y, c):
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        counts = np.bincount(codes, minlength=len(classes))
        weights = (len(codes) / (len(classes) * counts))[codes]  # class_weight="balanced"
        total = weights.sum()
        width = 1 if len(classes) == 2 else len(classes)
        return cls(float(c), classes, codes, weights / total, 1.0 / (c * total), width)

    def loss_and_pointwise(self, raw) -> tuple:
        """Weighted mean loss and its gradient with respect to the raw predictions (scikit-learn's
        half binomial / half multinomial losses)."""
        if raw.shape[1] == 1:
            z, y = raw[:, 0], (self.codes == 1).astype(np.float64)
            loss = np.logaddexp(0.0, z) - y * z
            pointwise = (1.0 / (1.0 + np.exp(-z)) - y)[:, None]
        else:
            logp = log_softmax(raw, axis=1)
            loss = -logp[np.arange(len(self.codes)), self.codes]
            pointwise = softmax(raw, axis=1)
            pointwise[np.arange(len(self.codes)), self.codes] -= 1.0
        return float(self.weights @ loss), pointwise * self.weights[:, None]


def fit_logistic_many(X, problems, tol: float = 1e-4) -> list:
    """A fitted `LogisticRegression` for each (labels, C) of `problems` on the same X (or its
    `ColumnSplit`): scikit-learn's
    class-balanced objective and its L-BFGS settings (start at zero, stop when no coefficient's
    gradient exceeds `tol`: the same steps as scikit-learn's own fit), on products with X's dense
    and sparse parts (`ColumnSplit`, made once for all problems). The problems' L-BFGS runs go
    side by side (`lockstep.minimize_together`): each round multiplies X once with the
    coefficients of every problem still running, a fraction of the cost of one product each.
    """
    matrix = X if isinstance(X, ColumnSplit) else _Dense(X) if isinstance(X, np.ndarray) else ColumnSplit(X)
    parts = [_Problem.of(y, c) for y, c in problems]
    n_features = matrix.shape[1]
    options = {"maxiter": MAX_ITER, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps}
    results = minimize_together(lambda asked: _objectives(matrix, parts, asked),
                                [np.zeros(n_features * part.width + part.width) for part in parts], options)
    return [_fitted(part, result, n_features, tol) for part, result in zip(parts, results)]


def _objectives(matrix, parts, asked) -> list:
    """(objective, gradient) of each asked (problem number, coefficients): one product with X and
    one with its transpose for all of them."""
    n_features = matrix.shape[1]
    shaped = [(parts[number], theta[:n_features * parts[number].width].reshape(n_features, parts[number].width),
               theta[n_features * parts[number].width:]) for number, theta in asked]
    raw = matrix.dot(np.hstack([W for _, W, _ in shaped])).astype(np.float64)
    losses, pointwise, start = [], [], 0
    for part, W, intercept in shaped:
        loss, G = part.loss_and_pointwise(raw[:, start:start + part.width] + intercept)
        losses.append(loss + 0.5 * part.l2 * float(np.sum(W ** 2)))
        pointwise.append(G)
        start += part.width
    products = matrix.tdot(np.hstack(pointwise))
    answers, start = [], 0
    for (part, W, _), loss, G in zip(shaped, losses, pointwise):
        grad_W = products[:, start:start + part.width] + part.l2 * W
        answers.append((loss, np.concatenate([grad_W.ravel(), G.sum(axis=0)])))
        start += part.width
    return answers


def _fitted(part, result, n_features: int, tol: float) -> LogisticRegression:
    width = part.width
    model = logistic(part.c, tol)
    model.classes_ = part.classes
    model.coef_ = np.ascontiguousarray(result.x[:n_features * width].reshape(n_features, width).T)
    model.intercept_ = result.x[n_features * width:].copy()
    model.n_iter_ = np.array([result.nit], dtype=np.int32)
    model.n_features_in_ = n_features
    return model


def filled_columns(X) -> np.ndarray:
    """Which columns of a CSR matrix are filled in more than DENSE_SHARE of its rows (the
    embeddings): multiplied as a dense block, they go through dense BLAS."""
    return np.bincount(X.indices, minlength=X.shape[1]) > DENSE_SHARE * max(1, X.shape[0])


def split_columns(X, dense, rows_at_once: int = 512, columns=None) -> tuple:
    """(Y[:, dense] as an array, Y[:, ~dense] as CSR) of Y = X[:, columns] (increasing; None: all
    of X's columns), `dense` a mask of Y's columns: both parts in one pass over X's non-zeros, a
    slice of rows at a time, without making Y first (the row span and the side-by-side fits split
    thousands of fold matrices). The dense block is filled by scipy's own loop from the slice's
    block entries (duplicate entries of a matrix not in canonical form added up, as `toarray`
    does); each part's row pointers are where the rows' bounds fall among its entries' positions
    (no row number per entry)."""
    selected = np.arange(X.shape[1]) if columns is None else np.asarray(columns, dtype=np.int64)
    dense = np.asarray(dense, dtype=bool)
    n_dense = int(dense.sum())
    # per column of X: its column in the block (0 .. n_dense-1), n_dense + its column in the rest, or -1
    position = np.full(X.shape[1], -1, dtype=np.int64)
    if n_dense:
        position[selected[dense]] = np.arange(n_dense)
        position[selected[~dense]] = np.arange(n_dense, len(selected))
    else:
        position[selected] = np.arange(len(selected))
    block = np.zeros((X.shape[0], n_dense), dtype=X.dtype)
    data, indices, indptr = [], [], np.zeros(X.shape[0] + 1, dtype=np.int64)
    index_type = np.int32 if len(selected) < 2**31 else np.int64
    for start in range(0, X.shape[0], rows_at_once):
        stop = min(X.shape[0], start + rows_at_once)
        low, high = X.indptr[start], X.indptr[stop]
        new, values = position[X.indices[low:high]], X.data[low:high]
        bounds = np.asarray(X.indptr[start:stop + 1], dtype=np.int64) - low  # the rows' entries in the slice
        if n_dense:  # -1 (not selected) is the largest unsigned number: one comparison finds the block's entries
            to_block = np.flatnonzero(new.view(np.uint64) < n_dense)
            sp.csr_matrix((values[to_block], new[to_block].astype(index_type), np.searchsorted(to_block, bounds)),
                          shape=(stop - start, n_dense)).toarray(out=block[start:stop])
        to_rest = np.flatnonzero(new >= n_dense)
        data.append(values[to_rest])
        indices.append((new[to_rest] - n_dense if n_dense else new[to_rest]).astype(index_type))
        indptr[start + 1:stop + 1] = indptr[start] + np.searchsorted(to_rest, bounds[1:])
    rest = sp.csr_matrix((np.concatenate(data) if data else np.zeros(0, dtype=X.dtype),
                          np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32), indptr),
                         shape=(X.shape[0], int((~dense).sum())))
    return block, rest
