"""A per-study disk cache of feature rows, keyed by a hash of the text and the block's version.

Lemmatising and, above all, the sentence encoder are the slow parts of training and
prediction; their results depend only on the text and on the code that made them. The
cache keeps each feature block in segment files (`<block key>.npz`, `<block key>.part-*.npz`:
16-byte text digests and the rows, float32, sparse or dense) in a folder beside the study's
fragments (`.capcode-cache/`), read a segment at a time. It never holds text, and it is
never part of a model file.

Beside the rows, `results.json` keeps what `train`'s cross-validation decided per dimension
(C, temperature, abstention rule, scores: numbers and notes, no text), keyed by a hash of the
very feature matrix, labels, cases and settings it was decided on (`model.cv_key`): a
second `train` on the same study skips the cross-validation it would repeat to the digit.

A run opens the cache with `using_cache(folder)`; the feature transformers look it up with
`active_cache()`, so estimators stay free of paths and nothing about the cache is pickled.
Without an open cache they compute every time (what tests and a bare library call get).
"""

import collections
import contextlib
import glob
import os
import hashlib
import json
import logging
import re
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

log = logging.getLogger("capcode")

CACHE_DIR = ".capcode-cache"
RESULTS_FILE = "results.json"
FLUSH_ROWS = 4096  # new rows of a block go to disk as a segment every so many rows
LOADED_SEGMENTS = 1  # segments of a block held in memory at once (rows are asked for in file order)
_STATE = threading.local()


def text_digest(text: str) -> bytes:
    """16 bytes of sha256 over the UTF-8 text: the key of a text's rows."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


def _file_name(block_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", block_key) + ".npz"


class FeatureCache:
    """Rows of feature blocks by text digest, in memory for a run and on disk for a study.

    A block is kept on disk in segments: `<block>.npz` and `<block>.part-*.npz`, each with its
    digests and rows. Only the digests are read up front; a segment's rows are read when a
    text in it is asked for, and at most `LOADED_SEGMENTS` segments stay in memory. New rows
    go to disk as a new segment every `FLUSH_ROWS` rows (and at the end of the run), so a
    study of a million fragments never holds all its features in memory.
    """

    def __init__(self, directory=None):
        self.directory = Path(directory) if directory is not None else None
        self._blocks = {}  # block key -> _Block
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

    def _block(self, block_key: str) -> "_Block":
        if block_key not in self._blocks:
            self._blocks[block_key] = _Block(self.directory, block_key)
        return self._blocks[block_key]

    def rows(self, block_key: str, texts, compute):
        """The block's rows for `texts` (in order); `compute(list of texts)` makes the missing ones."""
        texts = [str(t) for t in texts]
        if not texts:
            return compute([])
        digests = [text_digest(t) for t in texts]
        block = self._block(block_key)
        missing = {}
        for digest, text in zip(digests, texts):
            if digest not in block.index and digest not in missing:
                missing[digest] = text
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            block.add(list(missing), compute(list(missing.values())))
        return block.gather(digests)

    def save(self) -> None:
        """Write the rows computed in this run (a new segment per block) and the new results."""
        if self.directory is None:
            return
        from ..files import atomic_open

        if self._results_dirty:
            self.directory.mkdir(parents=True, exist_ok=True)
            with atomic_open(self.directory / RESULTS_FILE) as handle:
                json.dump(self._results, handle, indent=0)
            self._results_dirty = False
        for block in self._blocks.values():
            block.flush()

    def release_rows(self) -> None:
        """Write the new rows and forget the blocks' rows and indexes in memory (the results stay):
        once a run has every row it needs, that memory serves the fitting. A block asked for again
        reads its index from disk anew (without a folder its rows are computed again)."""
        if self.directory is not None:
            for block in self._blocks.values():
                block.flush()
        self._blocks.clear()


class _Block:
    """One feature block of the cache: the digest index over its segments, the pending new rows."""

    def __init__(self, directory, block_key: str):
        self.directory = directory
        self.name = _file_name(block_key)[:-len(".npz")]
        self.index = {}  # digest -> (segment number, row); segment -1: pending, not yet on disk
        self.paths = []  # segment number -> file
        self.loaded = collections.OrderedDict()  # segment number -> rows (at most LOADED_SEGMENTS)
        self.pending, self.pending_rows, self.pending_digests = [], 0, []
        if directory is None:
            return
        found = sorted(Path(directory).glob(f"{glob.escape(self.name)}.part-*.npz"))
        legacy = Path(directory) / f"{self.name}.npz"
        for path in ([legacy] if legacy.exists() else []) + found:
            try:
                with np.load(path, allow_pickle=False) as stored:
                    keys = stored["keys"]
            except (OSError, ValueError, KeyError):
                log.warning("the feature cache %s is damaged; it is rebuilt.", path)
                continue
            number = len(self.paths)
            self.paths.append(path)
            for row in range(len(keys)):
                self.index[keys[row].tobytes()] = (number, row)

    def add(self, digests, rows) -> None:
        """New rows (sparse or dense), written to disk as a segment once enough have gathered."""
        rows = sp.csr_matrix(rows, dtype=np.float32) if sp.issparse(rows) else np.asarray(rows, dtype=np.float32)
        start = sum(r.shape[0] for r in self.pending)
        for offset, digest in enumerate(digests):
            self.index[digest] = (-1, start + offset)
        self.pending.append(rows)
        self.pending_digests.extend(digests)
        self.pending_rows += rows.shape[0]
        if self.pending_rows >= FLUSH_ROWS and self.directory is not None:
            self.flush()

    def _pending_matrix(self):
        if len(self.pending) > 1:
            stack = sp.vstack if sp.issparse(self.pending[0]) else np.vstack
            self.pending = [sp.csr_matrix(stack(self.pending)) if sp.issparse(self.pending[0])
                            else stack(self.pending)]
        return self.pending[0]

    def flush(self) -> None:
        """The pending rows as a new segment file (atomically); then they are read from there."""
        if not self.pending or self.directory is None:
            return
        from ..files import atomic_path

        matrix = self._pending_matrix()
        keys = np.frombuffer(b"".join(self.pending_digests), dtype=np.uint8).reshape(-1, 16)
        self.directory.mkdir(parents=True, exist_ok=True)
        # a name of its own: processes working on the same study at once never write the same file
        path = self.directory / f"{self.name}.part-{time.time_ns():x}-{os.getpid()}.npz"
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:  # raw 16-byte keys: fixed-width byte strings drop trailing zeros
                if sp.issparse(matrix):
                    np.savez(handle, keys=keys, data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                             shape=np.asarray(matrix.shape))
                else:
                    np.savez(handle, keys=keys, dense=matrix)
        number = len(self.paths)
        self.paths.append(path)
        for row, digest in enumerate(self.pending_digests):
            self.index[digest] = (number, row)
        self.pending, self.pending_rows, self.pending_digests = [], 0, []

    def _segment(self, number):
        if number == -1:
            return self._pending_matrix()
        if number not in self.loaded:
            with np.load(self.paths[number], allow_pickle=False) as stored:
                if "data" in stored.files:
                    rows = sp.csr_matrix((stored["data"], stored["indices"], stored["indptr"]),
                                         shape=tuple(stored["shape"]))
                else:
                    rows = stored["dense"]
            self.loaded[number] = rows
            while len(self.loaded) > LOADED_SEGMENTS:
                self.loaded.popitem(last=False)
        self.loaded.move_to_end(number)
        return self.loaded[number]

    def gather(self, digests):
        """The rows of `digests` in order, read segment by segment."""
        where = [self.index[d] for d in digests]
        segments = sorted({number for number, _ in where})
        if len(segments) == 1:
            return self._segment(segments[0])[[row for _, row in where]]
        parts, order = [], []
        for number in segments:
            positions = [i for i, (n, _) in enumerate(where) if n == number]
            parts.append(self._segment(number)[[where[i][1] for i in positions]])
            order.extend(positions)
        stacked = sp.vstack(parts, format="csr") if sp.issparse(parts[0]) else np.vstack(parts)
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[np.asarray(order)] = np.arange(len(order))
        return stacked[inverse]


def active_cache():
    """The cache opened by `using_cache` in this thread, or None."""
    return getattr(_STATE, "cache", None)


def _forget_inherited_cache() -> None:
    """A worker forked from a run (parallel.py) opens its own cache, as a worker started afresh does:
    the main process's open cache is not its to fill."""
    _STATE.__dict__.pop("cache", None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_cache)


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


@contextlib.contextmanager
def results_for_worker(directory):
    """Where a unit of work spread over processes finds and keeps cross-validation results.

    In the process that opened the study's cache, that cache itself (it keeps what is added;
    the dict yielded stays empty). In a worker, a cache in memory holding the study's stored
    results (read from `directory` when the worker sees that folder); the dict yielded
    receives the results added meanwhile, for the main process to keep: workers never write
    the study's cache.
    """
    if active_cache() is not None:
        yield {}
        return
    stored = FeatureCache(directory)._load_results() if directory is not None else {}
    with using_cache(None) as cache:
        cache._results = dict(stored)
        added = {}
        try:
            yield added
        finally:
            added.update({key: record for key, record in cache._results.items() if key not in stored})


def cached_rows(block_key: str, texts, compute):
    """Rows from the active cache, or `compute(texts)` when no cache is open."""
    cache = active_cache()
    if cache is None:
        return compute(list(texts))
    return cache.rows(block_key, texts, compute)


def study_cache_dir(fragments_path) -> Path:
    """The cache folder of a study: `.capcode-cache` beside its fragments file."""
    return Path(fragments_path).resolve().parent / CACHE_DIR
