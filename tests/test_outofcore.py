"""Training beyond memory: feature chunks on disk, SGD over them, the same procedure and model form."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from pipeline.codebook import load_codebook
from pipeline.config import Params, TrainParams
from pipeline.errors import ConfigError
from pipeline.files import read_fragments
from pipeline.learn import cache as cache_module
from pipeline.learn import outofcore
from pipeline.learn.designs import BlockTfidf
from pipeline.train import MANIFEST_FILE, MODEL_FILE, load_model, run_train

RARE_TEXT_WORD = "zwaluwstaartverbinding"


def _params(**train):
    return Params(train=TrainParams(**{"cv_folds": 2, "out_of_core_above": 10, **train}))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    """The fixture study trained out of core in chunks of 8 fragments, and in memory, on the same features."""
    import shutil

    base = tmp_path_factory.mktemp("outofcore")
    shutil.copy(data_dir / "classifier_fragments.jsonl", base / "fragments.jsonl")
    original = outofcore.CHUNK
    outofcore.CHUNK = 8
    try:
        run_train(base / "fragments.jsonl", [data_dir / "classifier_codings.csv"], base / "streamed",
                  _params(features="tfidf+lemma+char+context"))
    finally:
        outofcore.CHUNK = original
    run_train(base / "fragments.jsonl", [data_dir / "classifier_codings.csv"], base / "in_memory",
              _params(features="tfidf+lemma+char+context", out_of_core_above=0))
    return base


def test_above_the_threshold_train_learns_out_of_core_and_says_so(trained):
    streamed = json.loads((trained / "streamed" / MANIFEST_FILE).read_text(encoding="utf-8"))
    in_memory = json.loads((trained / "in_memory" / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert streamed["learner"]["kind"] == "out-of-core" and streamed["learner"]["chunk_fragments"] == 8
    assert streamed["learner"]["out_of_core_above"] == 10 and "SGDClassifier" in streamed["learner"]["classifier"]
    assert in_memory["learner"]["kind"] == "in-memory" and in_memory["learner"]["out_of_core_above"] == 0
    # the same procedure: C chosen from the grid on grouped folds, a temperature, a threshold per dimension
    assert set(streamed["calibration"]) == set(in_memory["calibration"])
    for dimension, calibration in streamed["calibration"].items():
        assert calibration["c"] in (0.3, 1.0, 3.0, 10.0) and set(calibration["c_tried"]) == {"0.3", "1", "3", "10"}
        assert calibration["temperature"] > 0 and 0.0 <= calibration["abstain"]["threshold"] <= 1.0
    assert not list((trained / ".capcode-cache").glob("capcode-spill-*"))  # the feature chunks are removed


def test_an_out_of_core_model_predicts_like_the_in_memory_one_and_holds_no_text(trained):
    from pipeline.features import fragment_matrix

    codebook = load_codebook("default")
    fragments = list(read_fragments(trained / "fragments.jsonl"))
    streamed, in_memory = (load_model(trained / name, codebook) for name in ("streamed", "in_memory"))
    X = streamed.features.transform(fragment_matrix(fragments))
    agree = []
    for dimension in ("relevant", "strategisch_operationeel", "intern_extern"):
        a = streamed.estimators[dimension].predict(X)
        b = in_memory.estimators[dimension].predict(in_memory.features.transform(fragment_matrix(fragments)))
        agree.append(np.mean(a == b))
    assert np.mean(agree) >= 0.8  # two learners of the same objective on 42 fragments
    assert RARE_TEXT_WORD.encode("utf-8") not in (trained / "streamed" / MODEL_FILE).read_bytes().lower()


def test_designs_out_of_core_cannot_learn_are_refused_in_one_line(data_dir, tmp_path):
    with pytest.raises(ConfigError, match="train.out_of_core_above"):
        run_train(data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"], tmp_path / "m",
                  _params(features="lemma+codebook"))


def test_weights_from_counted_frequencies_equal_weights_fitted_on_the_rows():
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(rng.poisson(0.3, size=(50, 30)).astype(np.float32))
    spans = ((0, 12, True), (12, 20, True), (20, 30, False))
    fitted = BlockTfidf(spans).fit(X)
    counted = outofcore.tfidf_from_counts(spans, np.bincount(X.indices, minlength=30), X.shape[0])
    for ours, theirs in zip(counted.weights_, fitted.weights_):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.idf_.dtype == theirs.idf_.dtype and np.array_equal(ours.idf_, theirs.idf_)
    assert (counted.transform(X) != fitted.transform(X)).nnz == 0


def test_the_feature_cache_writes_segments_and_reads_them_a_few_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "FLUSH_ROWS", 2)
    monkeypatch.setattr(cache_module, "LOADED_SEGMENTS", 1)
    texts = [f"tekst {i}" for i in range(7)]

    def compute(batch):
        return sp.csr_matrix(np.asarray([[float(t.split()[1]), 1.0] for t in batch], dtype=np.float32))

    with cache_module.using_cache(tmp_path) as cache:
        for start in range(0, 7, 3):
            cache.rows("block", texts[start:start + 3], compute)
        block = cache._block("block")
        assert len(block.paths) == 2 and block.pending_rows == 1 and len(block.loaded) <= 1
    assert len(list(tmp_path.glob("block.part-*.npz"))) == 3  # the last row went to disk at the end of the run
    with cache_module.using_cache(tmp_path) as cache:
        order = [6, 0, 3, 1, 5, 2, 4]
        rows = cache.rows("block", [texts[i] for i in order], compute)
        assert cache.misses == 0 and rows[:, 0].toarray().ravel().tolist() == [float(i) for i in order]
        assert len(cache._block("block").loaded) <= 1


def test_weighing_picked_rows_in_place_equals_weighing_the_chunk_then_picking(monkeypatch):
    """Out of core a fold's rows are picked from the raw chunk and weighted in place, a slice at a time."""
    monkeypatch.setattr(outofcore, "WEIGH_ROWS", 7)
    rng = np.random.default_rng(1)
    X = sp.csr_matrix(rng.poisson(0.4, size=(40, 30)).astype(np.float32))
    spans = ((0, 12, True), (12, 20, False), (20, 30, True))
    weights = outofcore.tfidf_from_counts(spans, np.bincount(X.indices, minlength=30), X.shape[0])
    rows = np.flatnonzero(rng.random(40) < 0.7)
    picked = X[rows]
    outofcore.weigh_in_place(weights, picked)
    expected = weights.transform(X)[rows]
    assert picked.dtype == np.float32 and np.array_equal(picked.toarray(), expected.toarray())
    assert not np.array_equal(X[rows].toarray(), picked.toarray())  # the raw chunk is left as it was


def test_the_final_models_columns_are_renumbered_as_dropping_the_empty_ones_would():
    rng = np.random.default_rng(2)
    X = sp.csr_matrix(rng.poisson(0.3, size=(20, 30)).astype(np.float32) * (np.arange(30) % 3 != 0))
    active = outofcore.active_from_counts(np.bincount(X.indices, minlength=30) > 0, 30)
    kept = outofcore.kept_columns(X, active)
    assert kept.shape == (20, len(active.columns_)) < X.shape
    assert np.array_equal(kept.toarray(), active.transform(X).toarray())
    fewer = outofcore.active_from_counts(np.arange(30) < 10, 30)  # rows that fill dropped columns: copied
    assert np.array_equal(outofcore.kept_columns(X, fewer).toarray(), fewer.transform(X).toarray())
