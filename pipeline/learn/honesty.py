"""An honest model-as-coder: which suggestions are for fragments the model was trained on.

A model scored against the very codes it learned from agrees with them far more than it
will with a new study (on the sample: alpha 0.96 in-sample against a cross-validated
kappa near 0.4). So a model keeps 8-byte digests of its training fragments' ids (never
text), `capcode predict` marks each suggestion `in_training`, and `capcode agreement
--predictions` refuses in-sample suggestions and points to the out-of-fold ones that
`capcode evaluate --predictions-out` writes (each fragment suggested by a model that
never saw its case).
"""

import hashlib

import numpy as np

from ..errors import InputError


def id_digests(fragment_ids) -> np.ndarray:
    """The first 8 bytes of sha256 of each fragment id, as unsigned 64-bit numbers."""
    return np.array([int.from_bytes(hashlib.sha256(str(i).encode("utf-8")).digest()[:8], "big")
                     for i in fragment_ids], dtype=np.uint64)


def in_training(digests, fragment_ids) -> np.ndarray:
    """Per fragment id: was it among the training fragments (`digests` from the model)?"""
    if digests is None or len(fragment_ids) == 0:
        return np.zeros(len(fragment_ids), dtype=bool)
    return np.isin(id_digests(fragment_ids), np.asarray(digests, dtype=np.uint64))


def refuse_in_sample(predictions, path="predictions") -> None:
    """InputError when any suggestion is for a fragment its model was trained on (the agreement hook)."""
    in_sample = sum(1 for p in predictions if getattr(p, "in_training", False))
    if in_sample:
        raise InputError(
            f"{path}: {in_sample} suggestion(s) are for fragments the model was trained on (column "
            "'in_training'); their agreement with the coders would be in-sample, not agreement. Use "
            "out-of-fold suggestions instead: 'capcode evaluate --fragments F --codings C --out metrics.json "
            "--predictions-out oof.jsonl', then '--predictions oof.jsonl', or predict on fragments the "
            "model did not learn from.")
