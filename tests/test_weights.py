"""BlockWeights: the same numbers as scikit-learn's ColumnTransformer of TfidfTransformers, kept small."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfTransformer

from pipeline.learn.weights import BlockWeights


def counts(rows: int, columns: int, seed: int):
    rng = np.random.default_rng(seed)
    dense = rng.poisson(0.3, size=(rows, columns)).astype(np.float64)
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("weighted", [(True, True, False), (False, True, True), (True, False, False)])
def test_block_weights_equal_a_column_transformer_of_tfidf_steps(weighted):
    widths = (7, 11, 5)
    X, Y = counts(40, sum(widths), 1), counts(15, sum(widths), 2)
    transformers, start = [], 0
    for index, (width, weigh) in enumerate(zip(widths, weighted)):
        step = TfidfTransformer(sublinear_tf=True) if weigh else "passthrough"
        transformers.append((f"b{index}", step, slice(start, start + width)))
        start += width
    reference = ColumnTransformer(transformers, sparse_threshold=1.0).fit(X)
    ours = BlockWeights(widths, weighted).fit(X)
    np.testing.assert_allclose(ours.transform(Y).toarray(), reference.transform(Y).toarray(), rtol=1e-12, atol=1e-12)


def test_block_weights_keep_no_column_lists_and_refuse_a_matrix_of_another_width():
    ours = BlockWeights((2 ** 18, 512), (True, False)).fit(sp.random(5, 2 ** 18 + 512, density=0.001, format="csr",
                                                                        random_state=0))
    assert ours.bounds_.tolist() == [[0, 2 ** 18], [2 ** 18, 2 ** 18 + 512]]
    with pytest.raises(ValueError, match="columns"):
        ours.transform(sp.csr_matrix((1, 10)))
    with pytest.raises(ValueError, match="cover"):
        BlockWeights((3,), (True,)).fit(sp.csr_matrix((2, 4)))
