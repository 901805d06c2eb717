"""Predicting on every core (or a Dask cluster), a batch of fragments at a time, exactly as one process.

`predict` and `suggest` work on batches of 1,000 fragments; with `--jobs N` (or
`--backend dask`) the batches go to worker processes through `parallel.ordered_map`, and
their probabilities come back in file order, so the predictions file is the very file
one process writes. Each worker loads the model once and keeps it.

One thing needs care to keep the bytes identical: the sentence encoder embeds texts in
micro-batches, and a text's vector can differ in the last float32 digit with the batch it
was embedded in. One process embeds, in each batch, the texts of that batch that neither
the study's feature cache nor an earlier batch has embedded, in the order it meets them,
and later batches read those rows from the cache. So the work is done in two rounds per
window of batches: first every batch embeds exactly the texts that one process would
embed in it (`encoder_plan` works them out from the texts' digests) and writes them to
the study's cache; then every batch computes its features, finding every embedding in the
cache, and its probabilities. Hashed features and linear models give the same numbers in
any process.

Without a study cache (`train.cache: false`) the rows go to a temporary cache for the run.
Forked workers (forkpool.py) find the model, spaCy and the sentence encoder ready in the main
process (`prepare_workers`); workers started afresh (spawn, Dask) first spend a few seconds
loading them. Small inputs run in one process.
"""

import functools
import tempfile
from dataclasses import dataclass
from typing import Optional

from .parallel import Workers, forks, ordered_map

WINDOW_BATCHES = 32  # batches read, planned and spread at a time (memory holds their fragments)
MIN_FRAGMENTS_PER_WORKER = 1000  # one batch (~3 CPU s) per forked worker: it starts in ~0.2 s (docs/scale.md)
MIN_FRAGMENTS_PER_SPAWNED_WORKER = 5000  # a worker started afresh first loads spaCy, the encoder, the model (~5 s)


@dataclass(frozen=True)
class Spread:
    """What a worker needs to predict a batch as the main process would."""

    model_dir: str
    codebook_name: str
    trust_model: bool
    limits: tuple  # ZipLimits fields
    cache_dir: Optional[str]
    workers: Workers


_MODELS = {}  # (model_dir, codebook_name, trust_model, limits) -> (model, codebook), in this process


def _worker_model(model_dir, codebook_name, trust_model, limits):
    """The model and codebook in a worker: loaded once per process, or found ready in a forked one."""
    key = (model_dir, codebook_name, trust_model, limits)
    if key not in _MODELS:
        from .archives import ZipLimits
        from .probabilities import open_model

        model, codebook, _ = open_model(model_dir, codebook_name, trust_model, ZipLimits(*limits))
        _MODELS.clear()
        _MODELS[key] = (model, codebook)
    return _MODELS[key]


def prepare_workers(spread: "Spread", model, codebook) -> None:
    """In the main process, before workers are forked: the model it has open, and everything
    computing features builds on first use (the spaCy pipeline, the sentence encoder and the
    caches behind them), made ready once so that every forked worker finds them (forkpool.py).
    A one-fragment batch goes through the model for that, in a throw-away feature cache."""
    key = (spread.model_dir, spread.codebook_name, spread.trust_model, spread.limits)
    if key in _MODELS and _MODELS[key][0] is model:
        return
    from .learn.cache import using_cache
    from .learn.model import single_thread
    from .probabilities import batch_probabilities
    from .records import Fragment

    _MODELS.clear()
    _MODELS[key] = (model, codebook)
    warm = Fragment("warm-up#0-8", "warm-up", "warm-up", "", "respondent", "R", 1, 0, 8, "Warm-up.",
                    "Warm-up?", 1)
    with single_thread(), using_cache(None):
        batch_probabilities(model, codebook, [warm])


def encoder_steps(model) -> list:
    """The text columns the model's sentence-encoder blocks embed, in the order its feature step does."""
    from .features import CONTEXT, TEXT

    steps = []
    for name, _, _ in getattr(model.features, "transformers", []):
        if name in ("use", "codebook"):
            steps.append(TEXT)
        elif name == "use_context":
            steps.append(CONTEXT)
    return steps


def encoder_plan(batches, steps, known: set) -> list:
    """Per batch, per step: the texts one process would embed there (`known`: digests already embedded;
    it grows with the plan)."""
    from .learn.cache import text_digest

    plan = []
    for batch in batches:
        lists = []
        for column in steps:
            todo = {}
            for fragment in batch:
                text = (fragment.text if column == 0 else fragment.context) or ""
                digest = text_digest(str(text))
                if digest not in known and digest not in todo:
                    todo[digest] = str(text)
            known.update(todo)
            lists.append(list(todo.values()))
        plan.append(lists)
    return plan


def embed_planned(task) -> int:
    """In a worker: embed one batch's planned texts into the cache, as one process would in that batch."""
    cache_dir, lists = task
    from .learn.cache import cached_rows, using_cache
    from .learn.encoder import block_key, embed
    from .learn.model import single_thread

    with single_thread(), using_cache(cache_dir):
        for texts in lists:
            if texts:
                cached_rows(block_key(), texts, embed)
    return sum(len(t) for t in lists)


def batch_task(spread: Spread, batch):
    """In a worker: one batch's probabilities (every embedding is in the cache by now)."""
    from .learn.cache import using_cache
    from .learn.model import single_thread
    from .probabilities import batch_probabilities

    model, codebook = _worker_model(spread.model_dir, spread.codebook_name, spread.trust_model, spread.limits)
    with single_thread(), using_cache(spread.cache_dir):
        return batch_probabilities(model, codebook, batch)


def spread_probabilities(model, fragments, spread: Spread, batch_size: int, codebook=None):
    """(batch, probabilities) for every batch of `fragments`, in order, computed by the spread's workers
    (forked ones find `model` and `codebook`, this process's, ready: `prepare_workers`)."""
    from .learn.cache import FeatureCache
    from .learn.encoder import block_key
    from .probabilities import batches

    steps = encoder_steps(model)
    with _cache_folder(spread.cache_dir) as cache_dir:
        spread = Spread(spread.model_dir, spread.codebook_name, spread.trust_model, spread.limits, cache_dir,
                        spread.workers)
        known = None
        window = []
        for batch in batches(fragments, batch_size):
            window.append(batch)
            if len(window) == WINDOW_BATCHES:
                known = yield from _window(model, codebook, window, steps, known, spread, block_key, FeatureCache)
                window = []
        if window:
            yield from _window(model, codebook, window, steps, known, spread, block_key, FeatureCache)


def _window(model, codebook, window, steps, known, spread, block_key, FeatureCache):
    prepare = functools.partial(prepare_workers, spread, model, codebook) if codebook is not None else None
    if steps:
        if known is None:
            known = set(FeatureCache(spread.cache_dir)._block(block_key()).index)
        plan = encoder_plan(window, steps, known)
        for _ in ordered_map(embed_planned, [(spread.cache_dir, lists) for lists in plan], spread.workers,
                             prepare=prepare):
            pass
    task = functools.partial(batch_task, spread)
    for batch, probabilities in zip(window, ordered_map(task, window, spread.workers, prepare=prepare)):
        yield batch, probabilities
    return known


class _cache_folder:
    """The study's cache folder, or a temporary one for the run (removed afterwards)."""

    def __init__(self, folder):
        self.folder, self.temporary = folder, None

    def __enter__(self):
        if self.folder is None:
            self.temporary = tempfile.TemporaryDirectory(prefix="capcode-predict-")
            return self.temporary.name
        return str(self.folder)

    def __exit__(self, *exc):
        if self.temporary is not None:
            self.temporary.cleanup()
        return False


def worth_spreading(workers: Optional[Workers], n_fragments: int) -> bool:
    """Whether to use other processes for this many fragments."""
    if workers is None:
        return False
    if workers.backend == "dask":
        return True
    return workers.jobs > 1 and n_fragments >= 2 * _per_worker(workers)


def spread_workers(workers: Workers, n_fragments: int) -> Workers:
    """At most one local process per MIN_FRAGMENTS_PER_WORKER fragments (forked; more when spawned)."""
    if workers.backend == "dask":
        return workers
    return Workers(jobs=max(1, min(workers.jobs, n_fragments // _per_worker(workers))), backend="local")


def _per_worker(workers: Workers) -> int:
    return MIN_FRAGMENTS_PER_WORKER if forks(workers) else MIN_FRAGMENTS_PER_SPAWNED_WORKER
