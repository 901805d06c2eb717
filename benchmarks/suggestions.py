"""Train and predict speed of capcode's default design next to the plain char-tfidf reference, and
what the study's feature cache saves on a second run. One process, one run, same data.

The corpus is synthetic (see benchmarks/classifier.py: each fragment joins text of two
sample fragments, so every text is new), `--size` fragments, all five dimensions coded.

  - reference: scikit-learn TfidfVectorizer (char_wb 2-5, sublinear) + class-balanced
    logistic regression, one per dimension on a shared vectorizer; fit, then predict;
  - capcode cold: `run_train` (train.cv_folds 0: the core fit, no CV) then `run_predict` on the
    same fragments, with an empty feature cache and an empty in-memory lemma cache;
  - capcode warm: the same again, with the cache the cold run left (a second run on the study);
  - capcode with CV: `run_train` with the default 5 grouped folds (C, calibration, thresholds), warm.

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


def reference(fragments_path, codings_path):
    """Seconds to fit and to predict the plain char-tfidf reference on every dimension."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from pipeline.codebook import load_codebook
    from pipeline.codings import read_codings
    from pipeline.files import read_fragments
    from pipeline.learn.labels import training_data

    fragments = list(read_fragments(fragments_path))
    codebook = load_codebook("default")
    data = training_data(fragments, read_codings([str(codings_path)], codebook=codebook), codebook)
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
    X = vectorizer.transform([f.text for f in fragments])
    for model in models.values():
        model.predict_proba(X)
    return fit, time.perf_counter() - started


def capcode(fragments_path, codings_path, work: Path, cv_folds=0):
    from pipeline.config import Params, TrainParams
    from pipeline.predict import run_predict
    from pipeline.train import run_train

    params = Params(train=TrainParams(cv_folds=cv_folds))
    started = time.perf_counter()
    run_train(fragments_path, [codings_path], work / "model", params)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    run_predict(work / "model", fragments_path, work / "predictions.jsonl", params)
    return fit, time.perf_counter() - started


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
    with tempfile.TemporaryDirectory(prefix="capcode-bench-") as tmp:
        tmp = Path(tmp)
        base_fragments, base_codings = sample_inputs(tmp)
        study = tmp / "study"
        study.mkdir()
        fragments, codings = synthetic_corpus(base_fragments, base_codings, args.size, study)
        n = args.size
        rows = [("reference char-tfidf + LR",) + reference(fragments, codings)]
        shutil.rmtree(study / ".capcode-cache", ignore_errors=True)
        clear_lemma_cache()
        rows.append(("capcode default, cold cache",) + capcode(fragments, codings, tmp / "cold"))
        clear_lemma_cache()
        rows.append(("capcode default, warm cache",) + capcode(fragments, codings, tmp / "warm"))
        clear_lemma_cache()
        rows.append(("capcode default + 5-fold CV, warm",) + capcode(fragments, codings, tmp / "cv", cv_folds=5))
    print(f"{n} fragments, 5 dimensions, one core")
    print(f"{'':<36}{'train s':>9}{'frag/s':>9}{'predict s':>11}{'frag/s':>9}{'x ref train':>13}{'x ref pred':>12}")
    ref_fit, ref_predict = rows[0][1], rows[0][2]
    for name, fit, predict in rows:
        print(f"{name:<36}{fit:>9.2f}{n / fit:>9.0f}{predict:>11.2f}{n / predict:>9.0f}{fit / ref_fit:>13.2f}"
              f"{predict / ref_predict:>12.2f}")
    cold, warm = rows[1], rows[2]
    print(f"second run over the same study (warm cache): train {cold[1] / warm[1]:.1f}x faster, "
          f"predict {cold[2] / warm[2]:.1f}x faster, train+predict {(cold[1] + cold[2]) / (warm[1] + warm[2]):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
