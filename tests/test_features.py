"""Hashed text features: scikit-learn compatible, lemma- and character-based, no vocabulary kept."""

import pickle

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline.errors import ConfigError
from pipeline.features import CONTEXT, TEXT, TextHasher, fragment_matrix, lemmatise
from pipeline.learn.designs import ActiveColumns, BlockTfidf, Design, raw_step
from pipeline.learn.encoder import SentenceEncoder
from pipeline.records import Fragment


def build_features(design):
    return raw_step(Design.parse(design))


def _fragment(text, context=""):
    return Fragment(f"a.txt#0-{len(text)}", "a.txt", "1", "1", "ambtelijk", "R", 1, 0, len(text), text, context)


@parametrize_with_checks([TextHasher(), TextHasher(analyzer="char", ngram_range=(2, 3), n_features=2**10, norm=None),
                          SentenceEncoder(), BlockTfidf(), ActiveColumns()],
                         expected_failed_checks=lambda estimator: {
                             "check_methods_subset_invariance": "the encoder embeds in micro-batches, so a row can "
                                                                "differ in the last float32 digits by batch"}
                         if isinstance(estimator, SentenceEncoder) else {})
def test_text_hasher_follows_the_scikit_learn_estimator_rules(estimator, check, monkeypatch):
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")  # lets sklearn run its numpy array-API check instead of skipping it
    check(estimator)


def test_block_tfidf_weights_each_hashed_block_as_a_matrix_of_its_own():
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(0)
    counts = rng.poisson(0.4, (30, 25)).astype(np.float32)
    counts[:, 20:] = rng.random((30, 5))  # an embedding block: left as it is
    spans = ((0, 12, True), (12, 20, True), (20, 25, False))
    reference = ColumnTransformer([("a", TfidfTransformer(sublinear_tf=True), slice(0, 12)),
                                   ("b", TfidfTransformer(sublinear_tf=True), slice(12, 20)),
                                   ("c", "passthrough", slice(20, 25))], sparse_threshold=1.0).fit(counts[:20])
    weights = BlockTfidf(spans).fit(counts[:20])
    assert np.allclose(weights.transform(counts[20:]).toarray(), reference.transform(counts[20:]).toarray(), atol=1e-6)
    # a saved model keeps three small arrays, not a Python number per input column (slow to load)
    assert len(pickle.dumps(weights)) < 2_000
    with pytest.raises(ValueError, match="spans must cover the 25 columns"):
        BlockTfidf(((0, 12, True),)).fit(counts)


def test_dropping_empty_columns_changes_no_prediction():
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X = sp.random(60, 400, density=0.02, random_state=1, format="csr", dtype=np.float32)
    y = (X[:, :200].sum(axis=1).A1 > X[:, 200:].sum(axis=1).A1).astype(int)
    train, test = slice(0, 40), slice(40, 60)
    full = LogisticRegression(C=1.0, solver="newton-cg", class_weight="balanced").fit(X[train], y[train])
    slim = make_pipeline(ActiveColumns(), LogisticRegression(C=1.0, solver="newton-cg", class_weight="balanced"))
    slim.fit(X[train], y[train])
    assert slim[0].columns_.size < 400 and slim[0].columns_.size == len(set(X[train].indices))
    assert np.allclose(slim.predict_proba(X[test]), full.predict_proba(X[test]), atol=1e-5)


def test_lemmatise_drops_punctuation_lowercases_and_caches():
    first = lemmatise(["De Diensten werkten samen, met de scholen."])
    assert first == lemmatise(["De Diensten werkten samen, met de scholen."])
    words = first[0].split()
    assert "," not in words and "." not in words
    assert all(w == w.lower() for w in words)
    assert "scholen" in words or "school" in words


def test_fragment_matrix_puts_text_and_context_in_their_columns():
    matrix = fragment_matrix([_fragment("Wij plannen veel.", "Wat is uw visie?")])
    assert matrix.shape == (1, 2)
    assert matrix[0, TEXT] == "Wij plannen veel."
    assert matrix[0, CONTEXT] == "Wat is uw visie?"


def test_same_words_in_context_and_text_give_different_features():
    features = build_features("lemma+context").fit(fragment_matrix([_fragment("budget")]))
    as_text = features.transform(fragment_matrix([_fragment("budget", "")]))
    as_context = features.transform(fragment_matrix([_fragment("", "budget")]))
    assert set(as_text.nonzero()[1]).isdisjoint(as_context.nonzero()[1])


def test_hasher_keeps_no_vocabulary_or_text():
    hasher = TextHasher().fit(np.array([["zwaluwstaartverbinding in de gemeente"]], dtype=object))
    assert b"zwaluwstaart" not in pickle.dumps(hasher)
    assert {k for k in vars(hasher) if k.endswith("_")} == {"n_features_in_"}


def test_unknown_design_is_a_config_error():
    with pytest.raises(ConfigError, match="train.features: unknown design 'lemma\\+words'"):
        build_features("lemma+words")


def test_design_names_parse_to_blocks_weighting_classifier_and_c():
    design = Design.parse("use+tfidf+char/svm/2.5")
    assert design.blocks == ("char", "use") and design.tfidf and design.classifier == "svm" and design.c == 2.5
    assert design.features == "tfidf+char+use" and design.uses_encoder
    with pytest.raises(ConfigError, match="the part after the classifier is C"):
        Design.parse("char/lr/many")


def test_sentence_encoder_puts_similar_meanings_close_and_empty_text_at_zero():
    vectors = SentenceEncoder().fit(np.array([["x"]], dtype=object)).transform(np.array(
        [["De school werkt met ons samen."], ["Wij werken samen met de scholen."], ["Het budget is op."], [""]],
        dtype=object)).toarray()
    assert vectors.shape == (4, 512) and vectors.dtype == np.float32
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert not vectors[3].any()


def test_feature_cache_computes_each_text_once_and_survives_a_new_run(tmp_path):
    from pipeline.learn.cache import using_cache

    hasher = TextHasher("char", (2, 3), 2**10)
    texts = np.array([["aap noot"], ["mies"], ["aap noot"]], dtype=object)
    with using_cache(tmp_path) as cache:
        first = hasher.fit(texts).transform(texts)
        assert cache.misses == 2 and cache.hits == 1
    with using_cache(tmp_path) as cache:
        again = hasher.transform(texts)
        assert cache.misses == 0 and cache.hits == 3
    assert (first != again).nnz == 0
    assert b"noot" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_feature_cache_keeps_digests_that_end_in_zero_bytes(tmp_path, monkeypatch):
    from pipeline.learn import cache as cache_module

    monkeypatch.setattr(cache_module, "text_digest", lambda text: text.encode("utf-8")[:1].ljust(16, b"\0"))
    with cache_module.using_cache(tmp_path) as cache:
        cache.rows("block", ["a", "b"], lambda texts: np.ones((len(texts), 2), dtype=np.float32))
    with cache_module.using_cache(tmp_path) as cache:
        rows = cache.rows("block", ["b", "c"], lambda texts: np.zeros((len(texts), 2), dtype=np.float32))
        assert cache.hits == 1 and cache.misses == 1
    assert rows.tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_character_ngrams_are_exactly_scikit_learns_char_wb_hashing():
    from sklearn.feature_extraction.text import HashingVectorizer

    from pipeline.features import char_ngram_counts

    texts = ["De Integratiedienst en het OCMW", "", "  ", "a", "Ab\tCD\n\nef  ", "İstanbul ÉÉN\u00a0twee\u2003drie",
             "x\x1cy", "ß straße STRASSE", "ǅ ǈ", "meerjarenplan meerjarenplan, meerjarenplan!"]
    for norm in (None, "l2"):
        reference = HashingVectorizer(n_features=2**12, analyzer="char_wb", ngram_range=(2, 5), alternate_sign=False,
                                      norm=norm, dtype=np.float32).transform(texts)
        reference.sort_indices()
        ours = char_ngram_counts(texts, (2, 5), 2**12, norm)
        assert (ours.indptr == reference.indptr).all() and (ours.indices == reference.indices).all()
        assert (ours.data == reference.data).all() and ours.dtype == np.float32
