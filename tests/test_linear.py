"""Logistic regression in the span of the training rows: the same optimum as scikit-learn's, a plain
LogisticRegression in the model; and the sparse column selection the pipeline uses."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from pipeline.learn.linear import (ColumnSplit, RowSpace, as_float64, fit_logistic, fit_logistic_many, fit_logistic_path,
                                   keep_columns, row_space, split_columns, use_row_space)


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


@pytest.mark.parametrize("n_classes", [2, 3])
def test_a_c_path_fitted_at_once_gives_the_separate_fits_bit_for_bit(n_classes):
    """fit_logistic_path (labels coded once, coefficients mapped back in one product) makes the
    models that fit_logistic makes one C after another on the same row span, to the last bit."""
    X, y = wide_problem(90, n_classes, seed=11 + n_classes)
    grid = (0.3, 1.0, 3.0, 10.0)
    separate, space = [], row_space(X)
    for c in grid:
        separate.append(fit_logistic(X, y, c, space))
    together = fit_logistic_path(X, y, grid, row_space(X))
    assert len(together) == len(grid)
    for one, other in zip(separate, together):
        assert type(other) is LogisticRegression and other.C == one.C and list(other.classes_) == list(one.classes_)
        for name in ("coef_", "intercept_", "n_iter_"):
            assert np.array_equal(getattr(other, name), getattr(one, name))
        assert other.coef_.flags["C_CONTIGUOUS"] == one.coef_.flags["C_CONTIGUOUS"]
        assert other.coef_.flags["F_CONTIGUOUS"] == one.coef_.flags["F_CONTIGUOUS"]
    assert len({int(m.n_iter_[0]) for m in together}) >= 1 and together[0].coef_.shape[0] == (1 if n_classes == 2 else 3)


def test_as_float64_converts_the_values_and_shares_the_structure():
    X = sp.random(12, 40, density=0.2, format="csr", random_state=4, dtype=np.float32)
    wide = as_float64(X)
    assert wide.dtype == np.float64 and wide.shape == X.shape
    assert np.array_equal(wide.toarray(), X.toarray().astype(np.float64))
    assert np.shares_memory(wide.indices, X.indices)  # no copy of the index arrays
    assert np.shares_memory(as_float64(wide).data, wide.data)  # float64 already: nothing converted


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


def tall_problem(n_rows: int, n_classes: int, seed: int):
    """More rows than a row span is used for: sparse hashed columns and a dense block (embeddings)."""
    X, y = wide_problem(n_rows, n_classes, seed)
    return X[:, 2800:], y  # 200 sparse columns, 40 dense ones


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fits_on_the_split_matrix_are_scikit_learns_fits(n_classes):
    """The cross-validation fits (`fit_logistic_many`) take scikit-learn's own steps: same classes,
    same number of iterations, the same probabilities; and they converge to the exact optimum."""
    X, y = tall_problem(400, n_classes, seed=7 + n_classes)
    problems = [(y[:300], c) for c in (0.3, 1.0, 3.0, 10.0)] + [(y[100:], 1.0)]
    ours = fit_logistic_many(X[:300], problems[:4]) + fit_logistic_many(X[100:], problems[4:])
    for (labels, c), model, rows in zip(problems, ours, [slice(0, 300)] * 4 + [slice(100, 400)]):
        theirs = LogisticRegression(C=c, class_weight="balanced", max_iter=1000, tol=1e-4).fit(X[rows], labels)
        assert type(model) is LogisticRegression and list(model.classes_) == list(theirs.classes_)
        assert model.coef_.shape == theirs.coef_.shape and model.C == c
        assert abs(int(model.n_iter_[0]) - int(theirs.n_iter_[0])) <= 1
        np.testing.assert_allclose(model.predict_proba(X), theirs.predict_proba(X), atol=1e-3)
    tight = fit_logistic_many(X[:300], [(y[:300], 3.0)], tol=1e-9)[0]
    exact = LogisticRegression(C=3.0, class_weight="balanced", solver="newton-cg", tol=1e-10, max_iter=1000)
    exact.fit(X[:300], y[:300])
    np.testing.assert_allclose(tight.predict_proba(X), exact.predict_proba(X), atol=1e-4)


def test_column_split_products_equal_the_matrix_products():
    X, _ = tall_problem(500, 2, seed=3)
    split = ColumnSplit(X)
    assert len(split.dense_columns) == 40  # the filled block is dense, the hashed columns sparse
    rng = np.random.default_rng(0)
    W, G = rng.normal(size=(X.shape[1], 3)), rng.normal(size=(X.shape[0], 3))
    np.testing.assert_allclose(split.dot(W), X @ W.astype(np.float32), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(split.tdot(G), X.T @ G.astype(np.float32), rtol=1e-4, atol=1e-4)


def test_split_columns_equals_scipy_column_selection():
    rng = np.random.default_rng(1)
    for seed in range(50):
        X = sp.random(rng.integers(0, 20), 30, density=rng.random(), format="csr", random_state=seed)
        dense = rng.random(30) < 0.3
        block, rest = split_columns(X, dense, rows_at_once=7)
        assert np.array_equal(block, X[:, np.flatnonzero(dense)].toarray())
        assert rest.shape == (X.shape[0], int((~dense).sum())) and (rest != X[:, np.flatnonzero(~dense)]).nnz == 0


def test_split_columns_of_selected_columns_and_of_duplicate_entries():
    """The split of X[:, columns] made from X directly equals splitting the selection; duplicate
    entries of a matrix not in canonical form are added up, as scipy does."""
    rng = np.random.default_rng(2)
    for seed in range(40):
        X = sp.random(rng.integers(0, 25), 40, density=rng.random(), format="csr", random_state=seed)
        columns = np.flatnonzero(rng.random(40) < 0.6)
        dense = rng.random(len(columns)) < 0.4
        block, rest = split_columns(X, dense, rows_at_once=6, columns=columns)
        selection = X[:, columns]
        assert np.array_equal(block, selection[:, np.flatnonzero(dense)].toarray())
        expected = selection[:, np.flatnonzero(~dense)]
        assert rest.shape == expected.shape and (rest != expected).nnz == 0 and rest.has_sorted_indices
    doubled = sp.csr_matrix((np.array([1.0, 2.0, 4.0]), np.array([1, 1, 0]), np.array([0, 2, 3])), shape=(2, 3))
    assert not doubled.has_canonical_format
    block, rest = split_columns(doubled, np.array([False, True, False]))
    assert block.tolist() == [[3.0], [0.0]] and rest.toarray().tolist() == [[0.0, 0.0], [4.0, 0.0]]
