"""Logistic regression in the span of the training rows: the same optimum as scikit-learn's, a plain
LogisticRegression in the model; and the sparse column selection the pipeline uses."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from pipeline.learn.linear import RowSpace, fit_logistic, keep_columns, row_space, use_row_space


def wide_problem(n_rows: int, n_classes: int, seed: int):
    """Few rows, many sparse columns and a dense block, as capcode's features are."""
    rng = np.random.default_rng(seed)
    hashed = sp.random(n_rows, 3000, density=0.02, random_state=seed, format="csr", dtype=np.float32)
    dense = sp.csr_matrix(rng.normal(size=(n_rows, 40)).astype(np.float32))
    X = sp.hstack([hashed, dense], format="csr")
    signal = np.asarray(X[:, :1500].sum(axis=1)).ravel() - np.asarray(X[:, 1500:3000].sum(axis=1)).ravel()
    y = np.digitize(signal + rng.normal(scale=0.3, size=n_rows), np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1]))
    return X, np.asarray([f"v{v}" for v in y], dtype=object)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("c", [0.3, 10.0])
def test_the_row_span_gives_scikit_learns_optimum(n_classes, c):
    X, y = wide_problem(120, n_classes, seed=n_classes)
    train, test = slice(0, 90), slice(90, 120)
    exact = LogisticRegression(C=c, class_weight="balanced", solver="newton-cg", tol=1e-10, max_iter=1000)
    exact.fit(X[train], y[train])
    space = row_space(X[train])
    assert space is not None and use_row_space(X[train])
    ours = fit_logistic(X[train], y[train], c, space)
    assert type(ours) is LogisticRegression  # a plain scikit-learn estimator in the model file
    assert ours.coef_.shape == exact.coef_.shape and list(ours.classes_) == list(exact.classes_)
    np.testing.assert_allclose(ours.predict_proba(X[test]), exact.predict_proba(X[test]), atol=1e-4)
    # the training rows' span coordinates give the same probabilities as the full coefficients
    small = LogisticRegression(C=c, class_weight="balanced", tol=1e-8, max_iter=1000).fit(space.features, y[train])
    np.testing.assert_allclose(small.predict_proba(space.project(X[test])), exact.predict_proba(X[test]), atol=1e-4)


def test_many_rows_are_fitted_in_the_columns_and_match_too():
    X, y = wide_problem(200, 2, seed=5)
    X = X[:, :100]  # more rows than columns: no span
    assert not use_row_space(X) and row_space(X) is None
    exact = LogisticRegression(C=1.0, class_weight="balanced", solver="newton-cg", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(fit_logistic(X, y, 1.0).predict_proba(X), exact.predict_proba(X), atol=1e-2)


def test_a_row_space_of_identical_or_empty_rows_keeps_only_directions_with_data():
    X = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [1.0, 0.0, 2.0], [0.0, 0.0, 0.0]]))
    space = RowSpace(X)
    assert space.features.shape == (3, 1)  # one direction carries all the data
    assert np.allclose(space.features @ space.features.T, (X @ X.T).toarray())


def test_keep_columns_equals_scipy_column_selection():
    rng = np.random.default_rng(0)
    for seed in range(50):
        X = sp.random(rng.integers(0, 20), 30, density=rng.random(), format="csr", random_state=seed)
        columns = np.sort(rng.choice(30, size=rng.integers(0, 31), replace=False))
        ours, theirs = keep_columns(X, columns), X[:, columns]
        assert ours.shape == theirs.shape and (ours != theirs).nnz == 0
