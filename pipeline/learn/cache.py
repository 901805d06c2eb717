"""A per-study disk cache of feature rows, keyed by a hash of the text and the block's version.

Lemmatising and, above all, the sentence encoder are the slow parts of training and
prediction; their results depend only on the text and on the code that made them. The
cache keeps one file per feature block (`<block key>.npz`: 16-byte text digests and the
rows, float32, sparse or dense) in a folder beside the study's fragments
(`.capcode-cache/`). It never holds text, and it is never part of a model file.

Beside the rows, `results.json` keeps what `train`'s cross-validation decided per dimension
(C, temperature, abstention rule, scores: numbers and notes, no text), keyed by a hash of the
very feature matrix, labels, cases and settings it was decided on (`model.cv_key`): a
second `train` on the same study skips the cross-validation it would repeat to the digit.

A run opens the cache with `using_cache(folder)`; the feature transformers look it up with
`active_cache()`, so estimators stay free of paths and nothing about the cache is pickled.
Without an open cache they compute every time (what tests and a bare library call get).
"""

import contextlib
import hashlib
import json
import logging
import re
import threading
from pathlib import Path

import numpy as np
import scipy.sparse as sp

log = logging.getLogger("capcode")

CACHE_DIR = ".capcode-cache"
RESULTS_FILE = "results.json"
_STATE = threading.local()


def text_digest(text: str) -> bytes:
    """16 bytes of sha256 over the UTF-8 text: the key of a text's rows."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


def _file_name(block_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", block_key) + ".npz"


class FeatureCache:
    """Rows of feature blocks by text digest, in memory for a run and on disk for a study."""

    def __init__(self, directory=None):
        self.directory = Path(directory) if directory is not None else None
        self._blocks = {}  # block key -> [index {digest: row}, matrix, dirty]
        self._results = None  # key -> JSON-able record (`results.json`)
        self._results_dirty = False
        self.hits = self.misses = 0

    def _load_results(self) -> dict:
        if self._results is None:
            self._results = {}
            path = self.directory / RESULTS_FILE if self.directory else None
            if path is not None and path.exists():
                try:
                    loaded = json.loads(path.read_text(encoding="utf-8"))
                    self._results = loaded if isinstance(loaded, dict) else {}
                except (OSError, ValueError):
                    log.warning("the feature cache %s is damaged; it is rebuilt.", path)
        return self._results

    def result(self, key: str):
        """A stored record (a dict of numbers and notes), or None."""
        return self._load_results().get(key)

    def keep_result(self, key: str, record: dict) -> None:
        self._load_results()[key] = record
        self._results_dirty = True

    def _load(self, block_key: str):
        if block_key in self._blocks:
            return self._blocks[block_key]
        entry = [{}, None, False]
        path = self.directory / _file_name(block_key) if self.directory else None
        if path is not None and path.exists():
            try:
                with np.load(path, allow_pickle=False) as stored:
                    keys = stored["keys"]
                    if "data" in stored.files:
                        matrix = sp.csr_matrix((stored["data"], stored["indices"], stored["indptr"]),
                                               shape=tuple(stored["shape"]))
                    else:
                        matrix = stored["dense"]
                entry = [{keys[i].tobytes(): i for i in range(len(keys))}, matrix, False]
            except (OSError, ValueError, KeyError):
                log.warning("the feature cache %s is damaged; it is rebuilt.", path)
        self._blocks[block_key] = entry
        return entry

    def rows(self, block_key: str, texts, compute):
        """The block's rows for `texts` (in order); `compute(list of texts)` makes the missing ones."""
        texts = [str(t) for t in texts]
        if not texts:
            return compute([])
        digests = [text_digest(t) for t in texts]
        entry = self._load(block_key)
        index, matrix = entry[0], entry[1]
        missing = {}
        for digest, text in zip(digests, texts):
            if digest not in index and digest not in missing:
                missing[digest] = text
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            new = compute(list(missing.values()))
            if sp.issparse(new):
                new = sp.csr_matrix(new, dtype=np.float32)
                matrix = new if matrix is None else sp.vstack([matrix, new], format="csr")
            else:
                new = np.asarray(new, dtype=np.float32)
                matrix = new if matrix is None else np.vstack([matrix, new])
            start = len(index)
            for offset, digest in enumerate(missing):
                index[digest] = start + offset
            entry[1], entry[2] = matrix, True
        return matrix[[index[d] for d in digests]]

    def save(self) -> None:
        """Write the blocks that gained rows (atomically, one file per block) and new results."""
        if self.directory is None:
            return
        from ..files import atomic_open, atomic_path

        if self._results_dirty:
            self.directory.mkdir(parents=True, exist_ok=True)
            with atomic_open(self.directory / RESULTS_FILE) as handle:
                json.dump(self._results, handle, indent=0)
            self._results_dirty = False

        for block_key, entry in self._blocks.items():
            index, matrix, dirty = entry
            if not dirty:
                continue
            # raw bytes, (n, 16): numpy's fixed-width byte strings would drop trailing zero bytes
            keys = np.frombuffer(b"".join(sorted(index, key=index.get)), dtype=np.uint8).reshape(-1, 16)
            self.directory.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.directory / _file_name(block_key)) as tmp:
                with open(tmp, "wb") as handle:
                    if sp.issparse(matrix):
                        np.savez(handle, keys=keys, data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                                 shape=np.asarray(matrix.shape))
                    else:
                        np.savez(handle, keys=keys, dense=matrix)
            entry[2] = False


def active_cache():
    """The cache opened by `using_cache` in this thread, or None."""
    return getattr(_STATE, "cache", None)


@contextlib.contextmanager
def using_cache(directory):
    """Open the feature cache in `directory` (None: in memory only) for the duration of a run."""
    previous = active_cache()
    cache = FeatureCache(directory)
    _STATE.cache = cache
    try:
        yield cache
        try:
            cache.save()
        except OSError as exc:  # a read-only study folder: the run still succeeds, only slower next time
            log.warning("could not write the feature cache in %s (%s); the next run computes the features again.",
                        directory, exc.strerror or exc)
    finally:
        _STATE.cache = previous


def cached_rows(block_key: str, texts, compute):
    """Rows from the active cache, or `compute(texts)` when no cache is open."""
    cache = active_cache()
    if cache is None:
        return compute(list(texts))
    return cache.rows(block_key, texts, compute)


def study_cache_dir(fragments_path) -> Path:
    """The cache folder of a study: `.capcode-cache` beside its fragments file."""
    return Path(fragments_path).resolve().parent / CACHE_DIR
