"""BlockTfidf: the same numbers as scikit-learn's ColumnTransformer of TfidfTransformers, kept small."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfTransformer

from pipeline.learn.designs import BlockTfidf


def counts(rows: int, columns: int, seed: int):
    rng = np.random.default_rng(seed)
    dense = rng.poisson(0.3, size=(rows, columns)).astype(np.float64)
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("weighted", [(True, True, False), (False, True, True), (True, False, False)])
def test_block_tfidf_equals_a_column_transformer_of_tfidf_steps(weighted):
    widths = (7, 11, 5)
    X, Y = counts(40, sum(widths), 1), counts(15, sum(widths), 2)
    transformers, start = [], 0
    for index, (width, weigh) in enumerate(zip(widths, weighted)):
        step = TfidfTransformer(sublinear_tf=True) if weigh else "passthrough"
        transformers.append((f"b{index}", step, slice(start, start + width)))
        start += width
    reference = ColumnTransformer(transformers, sparse_threshold=1.0).fit(X)
    spans, start = [], 0
    for width, weigh in zip(widths, weighted):
        spans.append((start, start + width, weigh))
        start += width
    ours = BlockTfidf(tuple(spans)).fit(X)
    np.testing.assert_allclose(ours.transform(Y).toarray(), reference.transform(Y).toarray(), rtol=1e-6, atol=1e-6)


def test_block_tfidf_keeps_no_column_lists_and_refuses_spans_that_do_not_cover_the_matrix():
    width = 2 ** 18 + 512
    X = sp.random(5, width, density=0.001, format="csr", random_state=0)
    ours = BlockTfidf(((0, 2 ** 18, True), (2 ** 18, width, False))).fit(X)
    assert [tuple(s) for s in ours.spans_] == [(0, 2 ** 18, True), (2 ** 18, width, False)]
    assert all(not isinstance(v, (list, tuple)) or len(v) < 10 for v in vars(ours).values())
    with pytest.raises(ValueError):
        ours.transform(sp.csr_matrix((1, 10)))
    with pytest.raises(ValueError, match="cover"):
        BlockTfidf(((0, 3, True),)).fit(sp.csr_matrix((2, 4)))


def test_the_idf_of_document_counts_is_the_fitted_transformers_bit_for_bit():
    from sklearn.feature_extraction.text import TfidfTransformer

    from pipeline.learn.designs import fitted_idf

    X = sp.random(40, 300, density=0.05, random_state=5, format="csr", dtype=np.float32)
    X.data = np.ceil(X.data * 4)
    fitted = TfidfTransformer(sublinear_tf=True).fit(X)
    ours = fitted_idf(np.bincount(X.indices, minlength=300), 40, np.float32)
    assert ours.idf_.dtype == fitted.idf_.dtype and np.array_equal(ours.idf_, fitted.idf_)
    assert ours.n_features_in_ == fitted.n_features_in_
    assert (ours.transform(X) != fitted.transform(X)).nnz == 0


def test_negative_values_are_refused_only_in_the_weighted_ranges():
    X = sp.csr_matrix(np.array([[1.0, 2.0, -0.5], [0.0, 3.0, 0.25]], dtype=np.float32))
    BlockTfidf(((0, 2, True), (2, 3, False))).fit(X)  # an embedding column may be negative
    with pytest.raises(ValueError, match="Negative values"):
        BlockTfidf(((0, 1, False), (1, 3, True))).fit(X)


def test_fit_transform_checks_once_and_gives_fit_then_transform_bit_for_bit():
    import pickle

    from pipeline.learn.designs import ActiveColumns

    dense = counts(30, 23, 3).toarray().astype(np.float32)
    dense[4] = 0.0  # an empty row
    dense[:, [2, 19]] = 0.0  # columns no row fills
    X = sp.csr_matrix(dense)
    spans = ((0, 7, True), (7, 18, True), (18, 23, False))
    for make in (lambda: BlockTfidf(spans), ActiveColumns):
        separate, together = make(), make()
        expected = separate.fit(X).transform(X)
        got = together.fit_transform(X)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        for part in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(got, part), getattr(expected, part))
            assert getattr(got, part).dtype == getattr(expected, part).dtype
        held_out = sp.csr_matrix(counts(9, X.shape[1], 4).astype(np.float32))
        for checked, unchecked in ((separate.transform(held_out), together.transform_fold(held_out)),):
            for part in ("data", "indices", "indptr"):
                np.testing.assert_array_equal(getattr(checked, part), getattr(unchecked, part))
                assert getattr(checked, part).dtype == getattr(unchecked, part).dtype
        assert pickle.dumps(together) == pickle.dumps(separate)  # the same fitted state, so the same model bytes
        X = got
    assert X.shape[1] < 23


def test_a_folds_kept_columns_are_those_of_a_checked_fit_and_transform():
    """ActiveColumns.fit_fold + renumbered (cross-validation's training rows, unchecked) give the
    fitted state and the matrix of fit + transform, array for array."""
    import pickle

    from pipeline.learn.designs import ActiveColumns

    dense = counts(25, 31, 5).toarray().astype(np.float32)
    dense[:, [0, 6, 30]] = 0.0  # columns no row fills
    X = sp.csr_matrix(dense)
    checked, unchecked = ActiveColumns().fit(X), ActiveColumns().fit_fold(X)
    assert pickle.dumps(unchecked) == pickle.dumps(checked)
    expected, got = checked.transform(X), unchecked.renumbered(X)
    assert got.shape == expected.shape == (25, 31 - 3)
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(got, part), getattr(expected, part))
        assert getattr(got, part).dtype == getattr(expected, part).dtype
    assert not np.shares_memory(got.data, X.data)  # the fold's matrix is its own


def test_a_folds_weights_fitted_unchecked_are_those_of_a_checked_fit():
    """BlockTfidf.fit_fold (cross-validation's training rows, float32 CSR made by capcode) leaves
    the fitted state of fit: the same pickled bytes, the same weighting."""
    import pickle

    X = sp.csr_matrix(counts(20, 23, 6).astype(np.float32))
    spans = ((0, 7, True), (7, 18, True), (18, 23, False))
    checked, unchecked = BlockTfidf(spans).fit(X), BlockTfidf(spans).fit_fold(X)
    assert pickle.dumps(unchecked) == pickle.dumps(checked)
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(unchecked.transform_fold(X), part), getattr(checked.transform(X), part))
