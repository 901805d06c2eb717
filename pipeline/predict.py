"""Suggest codes for new fragments, and pick the fragments worth coding next.

`predict_fragments` streams fragments in batches through a loaded model and
yields one Prediction per fragment and dimension: the most probable value, its
calibrated probability (the temperature `train` fitted on held-out cases), the
runner-up, `abstained` when the probability is below the dimension's threshold, and
`in_training` when the model was trained on that very fragment. The thresholds are
the ones `train` stored in the model's manifest (reaching `evaluate.target_precision`
on held-out cases); `predict.thresholds` in params.yaml overrides them per dimension,
and `predict.default_threshold` serves only models trained without cross-validation.
Abstained suggestions form the review queue.

Conditional dimensions (e.g. `only_when: {relevant: ja}`) are predicted only for
fragments whose predicted value on the condition's dimension is the required
one (the most probable value, even when that suggestion abstained); for other
fragments no prediction is written for them, just as coders leave them empty.

`suggest` ranks fragments by how unsure the model is (the smallest margin between
the two most probable values over all dimensions, or the entropy) and takes them
round-robin across cases, so the next batch of hand-coding covers every case.
"""

import collections
import logging
import math
from dataclasses import dataclass

import numpy as np

from .archives import ZipLimits
from .errors import ConfigError
from .records import Prediction
from .learn.ranking import round_robin, uncertainty  # noqa: F401 (suggest's API)
from .learn.cache import using_cache
from .learn.honesty import in_training
from .learn.model import single_thread
from .probabilities import batch_probabilities, batches, open_model  # noqa: F401 (predict's API)

log = logging.getLogger("capcode")

BATCH_SIZE = 1000
STRATEGIES = ("margin", "entropy")


def predictions_for(fragment_ids, probabilities, thresholds, model_name: str, trained_on=None):
    """Prediction records for one batch from `batch_probabilities` (`trained_on`: a flag per fragment)."""
    trained_on = np.zeros(len(fragment_ids), dtype=bool) if trained_on is None else trained_on
    for dimension_id, (classes, proba, applies) in probabilities.items():
        threshold = thresholds(dimension_id)
        order = np.argsort(-proba, axis=1, kind="stable")
        for row, fragment_id in enumerate(fragment_ids):
            if not applies[row]:
                continue
            first = order[row, 0]
            value, probability = classes[first], float(proba[row, first])
            runner, runner_p = (None, None)
            if len(classes) > 1:
                second = order[row, 1]
                runner, runner_p = classes[second], round(float(proba[row, second]), 4)
            yield Prediction(fragment_id, dimension_id, value, round(probability, 4), runner, runner_p,
                             probability < threshold or threshold >= 1.0, model_name, bool(trained_on[row]))


def probabilities_by_batch(model, codebook, fragments, batch_size: int = BATCH_SIZE, spread=None):
    """(batch, `batch_probabilities`) for each batch of fragments, in order; on other processes when
    `spread` (a predict_chunks.Spread) says so, with the same numbers."""
    if spread is not None:
        from .predict_chunks import spread_probabilities

        yield from spread_probabilities(model, fragments, spread, batch_size, codebook)
        return
    for batch in batches(fragments, batch_size):
        with single_thread():
            yield batch, batch_probabilities(model, codebook, batch)


def predict_fragments(model, codebook, fragments, thresholds=None, batch_size: int = BATCH_SIZE, spread=None):
    """Stream Prediction records for fragments (any iterable), `batch_size` fragments at a time.

    `thresholds(dimension) -> float`; default: the model's stored thresholds (`model_thresholds`).
    """
    thresholds = thresholds or model_thresholds(model)
    for batch, probabilities in probabilities_by_batch(model, codebook, fragments, batch_size, spread):
        ids = [f.id for f in batch]
        yield from predictions_for(ids, probabilities, thresholds, model.name,
                                   in_training(model.training_digests, ids))


def model_thresholds(model, params=None):
    """thresholds(dimension): params.yaml's predict.thresholds, else the model's stored one, else the default."""
    overrides = dict(params.thresholds) if params is not None else {}
    default = float(params.default_threshold) if params is not None else 0.5

    def threshold(dimension: str) -> float:
        if dimension in overrides:
            return float(overrides[dimension])
        rule = model.rule(dimension)
        return float(rule["threshold"]) if rule else default

    return threshold


def count_lines(path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def spread_for(workers, model_dir, codebook_name, trust_model, params, fragments_path, n_fragments):
    """A predict_chunks.Spread when `workers` make other processes worth starting, else None."""
    from .predict_chunks import Spread, spread_workers, worth_spreading
    from .train import cache_for

    if not worth_spreading(workers, n_fragments):
        return None
    limits = ZipLimits.from_params(params.limits)
    cache_dir = cache_for(fragments_path, params)
    return Spread(str(model_dir), codebook_name, trust_model,
                  (limits.member_bytes, limits.archive_bytes, limits.xml_elements),
                  str(cache_dir) if cache_dir is not None else None, spread_workers(workers, n_fragments))


def run_predict(model_dir, fragments_path, out_path, params, codebook_name=None, trust_model: bool = False,
                workers=None) -> int:
    """`capcode predict`: stream fragments through the model, write predictions; returns the count.

    `workers` (parallel.Workers): other processes or a Dask cluster, by batch; the same file.
    """
    from .files import progress, read_fragments
    from .prediction_tables import write_prediction_file

    codebook_name = codebook_name or params.codebook
    model, codebook, _ = open_model(model_dir, codebook_name, trust_model, ZipLimits.from_params(params.limits))
    thresholds = model_thresholds(model, params.predict)
    unknown = set(params.predict.thresholds) - set(codebook.dimension_ids)
    if unknown:
        raise ConfigError(f"predict.thresholds: {', '.join(sorted(unknown))} is not a dimension of codebook "
                          f"'{codebook.name}' ({', '.join(codebook.dimension_ids)}).")
    from .train import cache_for

    length = count_lines(fragments_path)
    spread = spread_for(workers, model_dir, codebook_name, trust_model, params, fragments_path, length)
    with progress(read_fragments(fragments_path), "predicting", length=length) as fragments, \
            using_cache(cache_for(fragments_path, params) if spread is None else None):
        return write_prediction_file(out_path, predict_fragments(model, codebook, fragments, thresholds, BATCH_SIZE,
                                                                 spread),
                                     fragments_path, codebook.dimension_ids)


# ---- suggest ---------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A fragment worth coding next: how unsure the model is, and on which dimension most."""

    rank: int
    fragment_id: str
    case: str
    uncertainty: float
    dimension: str
    value: str
    probability: float
    runner_up: str
    text: str


def score_fragments(model, codebook, fragments, strategy: str = "margin", batch_size: int = BATCH_SIZE,
                    spread=None):
    """Per fragment: (fragment, uncertainty, dimension, value, probability, runner-up) at its most unsure dimension."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"--strategy: unknown {strategy!r}; use 'margin' or 'entropy'.")
    for batch, probabilities in probabilities_by_batch(model, codebook, fragments, batch_size, spread):
        for row, fragment in enumerate(batch):
            best = None
            for dimension_id, (classes, proba, applies) in probabilities.items():
                if not applies[row] or len(classes) < 2:
                    continue
                score = uncertainty(proba[row], strategy)
                if best is None or score > best[0]:
                    order = np.argsort(-proba[row], kind="stable")
                    best = (score, dimension_id, classes[order[0]], float(proba[row, order[0]]), classes[order[1]])
            if best is not None:
                yield (fragment,) + best


def suggest(model, codebook, fragments, n: int = 20, strategy: str = "margin", exclude=(), spread=None) -> list:
    """The `n` fragments whose hand-coding would most help the model, spread across cases."""
    excluded = set(exclude)
    scored = score_fragments(model, codebook, (f for f in fragments if f.id not in excluded), strategy, BATCH_SIZE,
                             spread)
    return [Suggestion(rank, item[0].id, item[0].case, round(item[1], 4), item[2], item[3], round(item[4], 4),
                       item[5], item[0].text)
            for rank, item in enumerate(round_robin(scored, n), start=1)]


SUGGEST_COLUMNS = ("rank", "fragment_id", "case", "uncertainty", "dimension", "value", "probability",
                   "runner_up", "text")


def format_suggestions(suggestions, width: int = 60) -> str:
    """A plain-text table for the terminal (fragment text shortened to `width` characters)."""
    lines = [f"{'#':>3}  {'case':<10} {'unsure':>6}  {'dimension':<24} {'suggested':<14} {'p':>5}  fragment"]
    for s in suggestions:
        text = " ".join(s.text.split())
        text = text if len(text) <= width else text[: width - 1] + "…"
        lines.append(f"{s.rank:>3}  {s.case[:10]:<10} {s.uncertainty:>6.2f}  {s.dimension[:24]:<24} "
                     f"{s.value[:14]:<14} {s.probability:>5.2f}  {s.fragment_id}  {text}")
    return "\n".join(lines)


def run_suggest(model_dir, fragments_path, params, n=20, out_path=None, strategy="margin", codings_paths=(),
                codebook_name=None, trust_model: bool = False, workers=None) -> list:
    """`capcode suggest`: rank fragments for hand-coding; write them to `out_path` if given."""
    from .files import read_fragments, write_table
    from .train import cache_for

    codebook_name = codebook_name or params.codebook
    model, codebook, _ = open_model(model_dir, codebook_name, trust_model, ZipLimits.from_params(params.limits))
    exclude = ()
    if codings_paths:
        from .validation import read_checked_codings

        # span-form codings (source, start_char, end_char) attach to these same fragments
        exclude = {c.fragment_id for c in read_checked_codings(codings_paths, codebook, fragments_path)}
    spread = spread_for(workers, model_dir, codebook_name, trust_model, params, fragments_path,
                        count_lines(fragments_path))
    with using_cache(cache_for(fragments_path, params) if spread is None else None):
        suggestions = suggest(model, codebook, read_fragments(fragments_path), n, strategy, exclude, spread)
    if out_path:
        write_table(out_path, SUGGEST_COLUMNS, ([getattr(s, c) for c in SUGGEST_COLUMNS] for s in suggestions),
                    sheet="suggestions")
    return suggestions
