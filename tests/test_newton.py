"""The Newton solver of cross-validation fits (`learn.newton`): scikit-learn's optimum on every design
family `capcode evaluate` compares, whatever C, start or number of values; and evaluate's design
runs skip only the abstention thresholds they never report."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from pipeline.learn.baselines import char_tfidf_fold, char_tfidf_pipeline
from pipeline.learn.blocks import FeatureStore
from pipeline.learn.linear import RowSpace, fit_logistic
from pipeline.learn.model import C_GRID, ModelSpec, fit_classifier, fold_design
from pipeline.learn.newton import Multinomial, balanced_weights, fit_balanced_logistic, logistic_proba, rows_logsumexp
from pipeline.records import Fragment

FAMILIES = ["tfidf+use+use_context+lemma+char+context", "lemma+char+context", "tfidf+lemma+char+context",
            "use+use_context"]


@pytest.fixture(scope="module")
def study(data_dir):
    """Fragments of the classifier fixture, a binary and a three-valued label per fragment (first coder)."""
    with open(data_dir / "classifier_fragments.jsonl", encoding="utf-8") as handle:
        fragments = [Fragment.from_dict(json.loads(line)) for line in handle if line.strip()]
    with open(data_dir / "classifier_codings.csv", encoding="utf-8") as handle:
        first = {}
        for row in csv.DictReader(handle):
            first.setdefault(row["fragment_id"], row)
    coded = [f for f in fragments if first[f.id]["impact"]]
    labels = {"binary": np.asarray([first[f.id]["intern_extern"] for f in coded], dtype=object),
              "three": np.asarray([first[f.id]["impact"] for f in coded], dtype=object)}
    return coded, labels


def family_matrix(store, spec):
    """The design's raw matrix; the sentence embeddings (an optional package) stood in for by fixed
    dense unit vectors of the same width: the solver sees only numbers."""
    rng = np.random.default_rng(7)
    parts = []
    for name in spec.design.blocks:
        if name in ("use", "use_context"):
            vectors = rng.normal(size=(len(store.fragments), 512))
            parts.append(sp.csr_matrix((vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)))
        else:
            parts.append(store.block(name, spec.design))
    return sp.hstack(parts, format="csr", dtype=np.float32), {b: p.shape[1] for b, p in zip(spec.design.blocks, parts)}


def reference(A, y, c):
    """scikit-learn's LogisticRegression converged far below its default tolerance, in float64."""
    return LogisticRegression(C=c, class_weight="balanced", solver="newton-cg", tol=1e-10, max_iter=10000).fit(
        sp.csr_matrix(A, dtype=np.float64), y)


@pytest.mark.parametrize("features", FAMILIES)
def test_every_design_family_gets_scikit_learns_probabilities(study, features):
    fragments, labels = study
    spec = ModelSpec(features)
    X, widths = family_matrix(FeatureStore(fragments), spec)
    train, test = np.arange(0, len(fragments) - 8), np.arange(len(fragments) - 8, len(fragments))
    _, _, A, B, space = fold_design(spec, widths, X, train, test)
    assert space is not None  # few rows, many columns: the span (and the Newton solver) is used
    for kind, y in labels.items():
        for c in C_GRID:  # in grid order, each C warm-started from the previous one, as cross-validation does
            ours = fit_classifier(spec, c, A, y[train], space)
            assert type(ours) is LogisticRegression and ours.n_iter_[0] < 50
            exact = reference(A, y[train], c)
            assert list(ours.classes_) == list(exact.classes_)
            np.testing.assert_allclose(ours.predict_proba(B), exact.predict_proba(B), atol=1e-6,
                                       err_msg=f"{features} {kind} C={c}")
            np.testing.assert_allclose(logistic_proba(ours, B), ours.predict_proba(B), atol=1e-12)


def test_the_char_tfidf_reference_gets_its_pipelines_probabilities(study):
    fragments, labels = study
    texts = [f.text for f in fragments]
    train, test = np.arange(0, 24), np.arange(24, len(texts))
    A, B, space = char_tfidf_fold(texts, train, test)
    for y in labels.values():
        ours = fit_logistic(A, y[train], 1.0, space)
        pipeline = char_tfidf_pipeline().set_params(classifier__tol=1e-10, classifier__solver="newton-cg",
                                                    classifier__max_iter=10000)
        pipeline.fit([texts[i] for i in train], y[train])
        np.testing.assert_allclose(ours.predict_proba(B), pipeline.predict_proba([texts[i] for i in test]), atol=1e-6)


def test_the_char_tfidf_folds_of_a_memo_cut_each_text_once_and_give_the_same_matrices(study):
    """With a memo (evaluate's), each text's character n-grams are made once for all folds; the
    matrices are those of a vectorizer of its own, array for array."""
    from pipeline.learn.baselines import NGRAMS

    fragments, _ = study
    texts = [f.text for f in fragments]
    memo = {}
    for train, test in ((np.arange(0, 24), np.arange(24, len(texts))), (np.arange(8, len(texts)), np.arange(0, 8))):
        alone, remembered = char_tfidf_fold(texts, train, test), char_tfidf_fold(texts, train, test, memo)
        for expected, got in zip(alone[:2], remembered[:2]):
            assert expected.shape == got.shape and expected.dtype == got.dtype
            for part in ("data", "indices", "indptr"):
                np.testing.assert_array_equal(getattr(got, part), getattr(expected, part))
        np.testing.assert_array_equal(remembered[2].features, alone[2].features)
    assert set(memo[NGRAMS]) == set(texts)  # every text cut once, kept for the next fold


def test_the_n_gram_memo_stops_remembering_at_its_character_budget_and_gives_the_same_n_grams(study):
    """A large study's texts are not all kept (memory stays bounded): the memo fills until its
    budget of characters, and a text it no longer keeps still gets the analyser's n-grams."""
    from pipeline.learn.baselines import NgramMemo, char_tfidf_pipeline

    fragments, _ = study
    texts = [f.text for f in fragments]
    analyse = char_tfidf_pipeline().named_steps["tfidf"].build_analyzer()
    budget = sum(len(t) for t in texts[:5])
    memo = NgramMemo(budget)
    assert [memo.analysed(t, analyse) for t in texts] == [analyse(t) for t in texts]
    assert sum(len(t) for t in memo) <= budget and set(texts[:5]) <= set(memo) and len(memo) < len(set(texts))


def test_a_newton_step_by_cholesky_solves_the_system_and_falls_back_to_lu():
    """newton_step solves H d = g for a positive definite H (Cholesky) as LU does, to rounding;
    a matrix that is not positive definite (never a Hessian here) is solved by LU."""
    from pipeline.learn.newton import newton_step

    rng = np.random.default_rng(8)
    for n in (1, 7, 60, 181):
        M = rng.normal(size=(n, n + 3))
        H, g = M @ M.T + np.eye(n), rng.normal(size=n)
        expected = np.linalg.solve(H, g)
        np.testing.assert_allclose(newton_step(H, g), expected, rtol=1e-10, atol=1e-12)
    indefinite = np.diag([2.0, -1.0, 3.0])
    np.testing.assert_allclose(newton_step(indefinite, np.array([2.0, 1.0, 3.0])), [1.0, -1.0, 1.0])


def test_newton_does_not_stall_where_the_objective_cannot_show_its_decrease():
    """A cross-validation fit of the sample study (span coordinates of 78 fragments, three values,
    C 0.3; tests/data/newton_floor.npz, numbers only) whose gradient ended a step just above the
    tolerance while the full step's decrease of the objective (1e-15 of it) was lost in rounding:
    the line search then halved the step down to nothing and took 100 steps. Now the smaller
    gradient decides there, and it converges in a few steps."""
    case = np.load(Path(__file__).parent / "data" / "newton_floor.npz")
    codes = case["codes"].astype(np.int64)
    coefficients, intercepts, steps = fit_balanced_logistic(case["features"], codes, 3, 0.3)
    assert steps <= 6
    Z = np.hstack([case["features"], np.ones((len(codes), 1))])
    weights = 0.3 * balanced_weights(codes, 3)
    problem = Multinomial(Z, codes, 3, weights)
    _, gradient = problem.value_gradient(problem.pack(coefficients, intercepts - intercepts.mean()))
    assert np.abs(gradient).max() <= 1e-8 * weights.sum()


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_a_warm_start_reaches_the_same_optimum_and_multinomial_intercepts_sum_to_zero(n_classes):
    rng = np.random.default_rng(n_classes)
    features = rng.normal(size=(60, 40))
    codes = np.arange(60) % n_classes
    cold = fit_balanced_logistic(features, codes, n_classes, 3.0)
    warm = fit_balanced_logistic(features, codes, n_classes, 3.0, fit_balanced_logistic(features, codes, n_classes, 0.3)[:2])
    np.testing.assert_allclose(warm[0], cold[0], atol=1e-7)
    np.testing.assert_allclose(warm[1], cold[1], atol=1e-7)
    assert warm[2] <= cold[2]
    if n_classes > 2:
        assert abs(cold[1].sum()) < 1e-9
    exact = LogisticRegression(C=3.0, class_weight="balanced", solver="newton-cg", tol=1e-10, max_iter=10000)
    exact.fit(features, codes)
    np.testing.assert_allclose(cold[0], exact.coef_, atol=1e-5)


def test_the_span_fit_of_separable_rows_at_large_c_still_matches():
    X = sp.random(30, 500, density=0.05, random_state=3, format="csr")
    y = np.asarray(["a", "b"] * 15, dtype=object)  # 30 rows in 500 columns: always separable
    ours = fit_logistic(X, y, 10.0, RowSpace(X))
    exact = reference(X, y, 10.0)
    T = sp.random(10, 500, density=0.05, random_state=4, format="csr")
    np.testing.assert_allclose(ours.predict_proba(T), exact.predict_proba(T), atol=1e-6)


def test_l2_normalised_blocks_made_from_the_raw_counts_are_the_hashers_own(study):
    """An evaluation comparing designs with and without TF-IDF hashes the texts once: the
    l2-normalised blocks derived from the raw counts are bit for bit what the hasher makes."""
    fragments, _ = study
    derived, direct = FeatureStore(fragments), FeatureStore(fragments)
    with_tfidf, without = ModelSpec("tfidf+lemma+char+context").design, ModelSpec("lemma+char+context").design
    for name in ("lemma", "char", "context"):
        derived.block(name, with_tfidf)
        ours, theirs = derived.block(name, without), direct.block(name, without)
        assert ours.dtype == theirs.dtype == np.float32
        for part in ("data", "indices", "indptr"):
            assert np.array_equal(getattr(ours, part), getattr(theirs, part))
        assert not np.array_equal(ours.data, derived.block(name, with_tfidf).data)  # not the raw counts


def test_rows_logsumexp_is_scipys_bit_for_bit():
    from scipy.special import logsumexp

    rng = np.random.default_rng(3)
    for n_classes in (2, 3, 5):
        for scale in (1e-3, 1.0, 40.0, 800.0):
            scores = rng.normal(size=(60, n_classes)) * scale
            scores[::5, 1] = scores[::5, 0]  # rows whose largest entry is there twice
            scores[3] = -np.inf
            scores[3, 0] = 2.0  # a row with one finite entry
            np.testing.assert_array_equal(rows_logsumexp(scores), logsumexp(scores, axis=1))
