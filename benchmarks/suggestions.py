"""Train and predict speed of capcode's default design next to the plain char-tfidf reference, and
what the study's feature cache saves on a second run. One process, one run, same data.

Two synthetic studies (see benchmarks/classifier.py: each fragment joins text of two sample
fragments, so every text is new), `--size` fragments each, all five dimensions coded:
study A is trained on, study B holds fragments no run has seen (its own folder, so its own,
empty feature cache) and is predicted.

  - reference: scikit-learn TfidfVectorizer (char_wb 2-5, sublinear) + class-balanced
    logistic regression per dimension on a shared vectorizer: fit on A, predict B;
  - capcode train, core fit (train.cv_folds 0): cold (empty feature cache, empty in-memory
    lemma cache), then warm (a second run over the same study, the cache the first left);
  - capcode train as `capcode train` runs it (5 grouped folds: C, calibration, thresholds):
    cold, then warm;
  - capcode predict on study B: cold (fragments never seen, empty cache), then warm (a
    second run over the same fragments).

Every cold/warm pair prints its ratio. The sentence encoder's weights and the spaCy pipeline
are loaded before timing (a fixed start-up cost of about 2 s, not per fragment).

Usage: python benchmarks/suggestions.py [--size 2000]
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def reference(train_fragments, train_codings, new_fragments):
    """Seconds to fit the plain char-tfidf reference on every dimension, and to predict new fragments."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from pipeline.codebook import load_codebook
    from pipeline.codings import read_codings
    from pipeline.files import read_fragments
    from pipeline.learn.labels import training_data

    fragments = list(read_fragments(train_fragments))
    codebook = load_codebook("default")
    data = training_data(fragments, read_codings([str(train_codings)], codebook=codebook), codebook)
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, dtype=np.float32)
    X = vectorizer.fit_transform([f.text for f in fragments])
    row = {f.id: i for i, f in enumerate(fragments)}
    models = {}
    for dimension, item in data.items():
        rows = [row[f.id] for f in item.fragments]
        models[dimension] = LogisticRegression(class_weight="balanced", max_iter=1000).fit(X[rows], list(item.labels))
    fit = time.perf_counter() - started
    started = time.perf_counter()
    X = vectorizer.transform([f.text for f in read_fragments(new_fragments)])
    for model in models.values():
        model.predict_proba(X)
    return fit, time.perf_counter() - started


def timed_train(fragments, codings, model_dir, cv_folds):
    from pipeline.config import Params, TrainParams
    from pipeline.train import run_train

    started = time.perf_counter()
    run_train(fragments, [codings], model_dir, Params(train=TrainParams(cv_folds=cv_folds)))
    return time.perf_counter() - started


def timed_predict(model_dir, fragments, out):
    from pipeline.config import Params
    from pipeline.predict import run_predict

    started = time.perf_counter()
    run_predict(model_dir, fragments, out, Params())
    return time.perf_counter() - started


def cold(study: Path):
    """Empty the study's feature cache and the in-memory lemma cache: the next run starts from nothing."""
    from pipeline.features import clear_lemma_cache

    shutil.rmtree(study / ".capcode-cache", ignore_errors=True)
    clear_lemma_cache()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    args = parser.parse_args(argv)
    from classifier import sample_inputs, synthetic_corpus
    from threadpoolctl import threadpool_limits

    from pipeline.features import clear_lemma_cache, get_nlp
    from pipeline.learn.encoder import _encoder

    threadpool_limits(1)
    get_nlp("blank")
    _encoder()._model  # load the encoder's weights before timing (a fixed start-up cost, about 1.7 s)
    n = args.size
    with tempfile.TemporaryDirectory(prefix="capcode-bench-") as tmp:
        tmp = Path(tmp)
        base_fragments, base_codings = sample_inputs(tmp)
        train_study, new_study = tmp / "study_a", tmp / "study_b"
        train_study.mkdir()
        new_study.mkdir()
        fragments, codings = synthetic_corpus(base_fragments, base_codings, n, train_study, seed=0)
        new_fragments, _ = synthetic_corpus(base_fragments, base_codings, n, new_study, seed=1)
        ref_fit, ref_predict = reference(fragments, codings, new_fragments)
        clear_lemma_cache()
        times = {}
        cold(train_study)
        times["core cold"] = timed_train(fragments, codings, tmp / "core", 0)
        clear_lemma_cache()
        times["core warm"] = timed_train(fragments, codings, tmp / "core", 0)
        cold(train_study)
        times["cv cold"] = timed_train(fragments, codings, tmp / "model", 5)
        clear_lemma_cache()
        times["cv warm"] = timed_train(fragments, codings, tmp / "model", 5)
        cold(new_study)
        times["predict cold"] = timed_predict(tmp / "model", new_fragments, tmp / "p1.jsonl")
        clear_lemma_cache()
        times["predict warm"] = timed_predict(tmp / "model", new_fragments, tmp / "p2.jsonl")
    rows = [("reference char-tfidf + LR: train", ref_fit, ref_fit),
            ("capcode train, core fit, cold cache", times["core cold"], ref_fit),
            ("capcode train, core fit, warm cache", times["core warm"], ref_fit),
            ("capcode train with 5-fold CV, cold", times["cv cold"], ref_fit),
            ("capcode train with 5-fold CV, warm", times["cv warm"], ref_fit),
            ("reference char-tfidf + LR: predict", ref_predict, ref_predict),
            ("capcode predict, new fragments (cold)", times["predict cold"], ref_predict),
            ("capcode predict, second run (warm)", times["predict warm"], ref_predict)]
    print(f"{n} fragments per study, 5 dimensions, one core")
    print(f"{'':<40}{'seconds':>9}{'fragments/s':>13}{'x reference':>13}")
    for name, seconds, base in rows:
        print(f"{name:<40}{seconds:>9.2f}{n / seconds:>13.0f}{seconds / base:>13.2f}")
    print("second run over the same study (warm cache) against the first (cold):")
    for label, key in (("train, core fit", "core"), ("train with 5-fold CV", "cv"), ("predict", "predict")):
        print(f"  {label:<22}{times[key + ' cold'] / times[key + ' warm']:>6.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
