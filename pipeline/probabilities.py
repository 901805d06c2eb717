"""A loaded model's probabilities for batches of fragments: what predict, suggest, review and
their worker processes (predict_chunks) share.

`batch_probabilities` computes the features once per batch for every dimension and applies
the codebook's conditions (a conditional dimension applies only where its condition's
predicted value is the required one).
"""

import itertools

import numpy as np

from .features import fragment_matrix
from .learn.calibrate import temper


def batches(iterable, size: int):
    """Lists of `size` items from any iterable (the last one shorter), in order."""
    iterator = iter(iterable)
    while True:
        batch = list(itertools.islice(iterator, size))
        if not batch:
            return
        yield batch


def batch_probabilities(model, codebook, fragments) -> dict:
    """{dimension: (classes, probability matrix or None per fragment)} for one batch, conditions applied.

    A row is None where the dimension does not apply (its condition's predicted value differs).
    """
    features = model.features.transform(fragment_matrix(fragments))  # once per batch, for every dimension
    out, top = {}, {}
    for dimension_id in model.dimension_order():
        estimator = model.estimators[dimension_id]
        dimension = codebook.dimension(dimension_id)
        applies = np.ones(len(fragments), dtype=bool)
        if dimension.condition is not None:
            condition = dimension.condition
            parent = top.get(condition.dimension)
            applies = parent == condition.value if parent is not None else np.zeros(len(fragments), dtype=bool)
        classes = [str(c) for c in estimator.classes_]
        proba = np.zeros((len(fragments), len(classes)))
        if applies.any():
            proba[applies] = temper(estimator.predict_proba(features[applies]), model.temperature(dimension_id))
        best = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        best[~applies] = None
        top[dimension_id] = best
        out[dimension_id] = (classes, proba, applies)
    return out


def open_model(model_dir, codebook_name, trust_model: bool = False, limits=None):
    """Load the codebook and the model made for it (the manifest is checked against it).

    `trust_model` also opens a pickle/joblib model file (the older format, which can run code
    when loaded); `limits`: what the model file may unpack to (params.yaml `limits`).
    """
    from .archives import DEFAULT_LIMITS
    from .codebook.read import load_codebook
    from .learn.persist import load_model, read_manifest

    manifest = read_manifest(model_dir)
    codebook = load_codebook(codebook_name)
    model = load_model(model_dir, codebook, trust_model=trust_model, limits=limits or DEFAULT_LIMITS)
    return model, codebook, manifest
