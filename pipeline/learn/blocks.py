"""The feature blocks of a run's fragments, computed once and shared.

Hashing, lemmatising and the sentence encoder learn nothing from labels, so one matrix
per block serves every dimension, every cross-validation fold, every value of C and
every design that uses the block: `FeatureStore` computes each block once per run (and
the study's disk cache, `cache.py`, once per study). Only the codebook block changes
per fold in evaluation: codebook examples that quote a held-out fragment are left out
of the prior there, so the held-out case never informs its own prediction.
"""

import ctypes
import ctypes.util
import gc

import numpy as np
import scipy.sparse as sp

from ..features import fragment_matrix
from .designs import Design, block_transformer, block_width, codebook_prior


def block_key(name: str, design: Design) -> tuple:
    """Which computed block serves a design's part (hashed parts: raw counts or l2-normalised)."""
    return name, design.tfidf if name in ("lemma", "char", "context") else None


class FeatureStore:
    """Raw feature blocks of a list of fragments (rows in list order), each computed once."""

    def __init__(self, fragments, spacy_model: str = "blank", codebook=None):
        self.fragments = list(fragments)
        self.spacy_model = spacy_model
        self.codebook = codebook
        self.row = {f.id: i for i, f in enumerate(self.fragments)}
        self._input = fragment_matrix(self.fragments)
        self._blocks = {}
        self._prior = None

    def rows(self, fragments) -> np.ndarray:
        return np.asarray([self.row[f.id] for f in fragments], dtype=int)

    def prior(self, leave_out_fragments=()):
        """The codebook block's transformer (all entries, or without those quoting some fragments)."""
        if leave_out_fragments:
            return codebook_prior(self.codebook, leave_out_fragments)
        if self._prior is None:
            self._prior = codebook_prior(self.codebook)
        return self._prior

    def block(self, name: str, design: Design):
        """One block for every fragment of the store (hashed blocks: raw counts or l2-normalised)."""
        key = block_key(name, design)
        counts = self._blocks.get((name, True)) if key == (name, False) else None
        if key not in self._blocks and counts is not None:
            # l2-normalised from the raw counts already made (an evaluation compares designs with and
            # without TF-IDF): the numbers the hasher gives, without a second pass over the texts
            from sklearn.preprocessing import normalize

            self._blocks[key] = normalize(counts, norm="l2", copy=True)
        if key not in self._blocks:
            prior = self.prior() if name == "codebook" else None
            transformer, column = block_transformer(name, design, self.spacy_model, prior)
            columns = self._input[:, [column]]
            self._blocks[key] = sp.csr_matrix(transformer.fit(columns).transform(columns), dtype=np.float32)
        return self._blocks[key]

    def rows_matrix(self, design: Design, rows):
        """The design's raw blocks for some rows only, computed (or read from the study's cache)
        without keeping them: what out-of-core training reads a chunk at a time."""
        prior = self.prior() if "codebook" in design.blocks else None
        parts = []
        for name in design.blocks:
            transformer, column = block_transformer(name, design, self.spacy_model, prior)
            columns = self._input[rows][:, [column]]
            parts.append(sp.csr_matrix(transformer.fit(columns).transform(columns), dtype=np.float32))
        return sp.hstack(parts, format="csr", dtype=np.float32)

    def release_models(self) -> None:
        """Once every row of the run is made (written to the spill, or stacked in memory): forget
        the spaCy pipeline with its lemma tables, the sentence encoder and the feature cache's
        rows in memory, and give the freed memory back, so the fitting that follows reuses it
        instead of adding to the peak (about 250 MB of the 410 MB a run holds before it reads
        a fragment, measured in docs/scale.md). What is asked for later loads them again."""
        from ..features import release_pipelines
        from .cache import active_cache
        from .encoder import release_encoders

        release_pipelines()
        release_encoders()
        cache = active_cache()
        if cache is not None:
            cache.release_rows()
        gc.collect()
        give_back_freed_memory()

    def widths(self, design: Design) -> dict:
        n_codebook = len(self.prior().columns) if "codebook" in design.blocks else 0
        return {b: block_width(b, n_codebook) for b in design.blocks}

    def matrix(self, design: Design, rows=None, leave_out_fragments=(), keep_blocks: bool = True):
        """The design's raw blocks side by side for `rows` (default: all), as the model's raw step makes them.

        `keep_blocks=False` forgets the blocks once they are stacked (a run that needs the
        matrix once keeps one copy of the features, not two).
        """
        parts = []
        for name in design.blocks:
            if name == "codebook" and leave_out_fragments:
                prior = self.prior(leave_out_fragments)
                block = sp.csr_matrix(prior.fit(self._input[:, [0]]).transform(self._input[:, [0]]))
            else:
                block = self.block(name, design)
            parts.append(block if rows is None else block[rows])
        if not keep_blocks:
            self._blocks.clear()
        return sp.hstack(parts, format="csr", dtype=np.float32)


def give_back_freed_memory() -> None:
    """Return the C library's free heap pages to the system (glibc's malloc_trim; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
