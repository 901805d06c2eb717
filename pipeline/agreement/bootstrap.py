"""The bootstrap interval of Krippendorff's alpha, computed for all resamples at once.

Alpha depends on the units only through how many units show each pattern of value counts, so
drawing units with replacement is drawing those pattern counts from a multinomial, and the
coincidence matrices of all resamples are one matrix product (`alphas_from_pattern_weights`).
Each dimension's seed depends on the run's seed and the dimension's name only.
"""

import zlib
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .statistics import distance_matrix, unit_patterns


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile bootstrap interval for alpha and how it was obtained."""

    low: Optional[float]
    high: Optional[float]
    resamples: int
    defined: int        # resamples in which alpha was defined (had variation)
    seed: int


def _resample_frequencies(frequency: np.ndarray, n_resamples: int, rng: np.random.Generator, width: int = 1):
    """Yield blocks (b x P) of how often each pattern is drawn when units are resampled.

    Drawing U units with replacement from U units, the number drawn of each pattern of value
    counts is Multinomial(U, frequency / U): the same resampling, drawn per pattern instead of per
    unit, which takes time proportional to the number of patterns, not of units.
    """
    total = int(frequency.sum())
    n_patterns = len(frequency)
    block = max(1, min(n_resamples, 2_000_000 // max(n_patterns, 1), 4_000_000 // max(width, 1)))
    done = 0
    while done < n_resamples:
        size = min(block, n_resamples - done)
        if n_patterns * 8 <= total:
            yield rng.multinomial(total, frequency / total, size=size).astype(float)
        else:  # nearly every unit is its own pattern: draw units directly
            owner = np.repeat(np.arange(n_patterns), frequency)
            drawn = owner[rng.integers(0, total, size=(size, total))]
            offsets = (np.arange(size) * n_patterns)[:, None]
            yield np.bincount((drawn + offsets).ravel(), minlength=size * n_patterns).reshape(size, n_patterns).astype(float)
        done += size


def _pattern_coincidences(patterns: np.ndarray):
    """Each pattern's coincidences (n_c n_k - [c = k] n_c) / (m - 1), flattened to V * V columns.

    Dense when small; else a sparse matrix, built from each pattern's few nonzero values (a unit
    coded by C coders touches at most C * C cells).
    """
    n_patterns, n_values = patterns.shape
    m = patterns.sum(axis=1)
    if n_patterns * n_values * n_values <= 4_000_000:
        per_pattern = patterns[:, :, None] * patterns[:, None, :] - patterns[:, :, None] * np.eye(n_values)
        return (per_pattern / (m - 1.0)[:, None, None]).reshape(n_patterns, -1)
    from scipy import sparse

    width = int((patterns > 0).sum(axis=1).max())
    columns = np.argsort(patterns <= 0, axis=1, kind="stable")[:, :width]     # nonzero values first
    present = np.take_along_axis(patterns, columns, axis=1)
    c, k = columns[:, :, None], columns[:, None, :]
    n_c, n_k = present[:, :, None], present[:, None, :]
    data = (n_c * n_k - np.where(c == k, n_c, 0.0)) / (m - 1.0)[:, None, None]
    rows = np.broadcast_to(np.arange(n_patterns)[:, None, None], data.shape)
    keep = (n_c > 0) & (n_k > 0) & (data != 0)
    flat = (c * n_values + k)
    flat = np.broadcast_to(flat, data.shape)
    return sparse.csr_matrix((data[keep], (rows[keep], flat[keep])), shape=(n_patterns, n_values * n_values))


def _pattern_features(patterns: np.ndarray, level: str, numeric) -> tuple:
    """(counts, extra) per pattern of value counts: their weighted sums give alpha.

    The counts sum to the pairable values n_c. For nominal and interval data, `extra` is one
    column, n' delta n / (m - 1), which sums to sum_ck o_ck delta_ck. The ordinal difference
    function depends on the totals of the data itself, so there `extra` is each pattern's whole
    coincidence matrix (V * V columns).
    """
    n_values = patterns.shape[1]
    if level == "ordinal":
        return patterns, _pattern_coincidences(patterns)
    m = patterns.sum(axis=1)
    delta = distance_matrix(level, np.zeros(n_values), numeric)
    observed = np.einsum("pc,ck,pk->p", patterns, delta, patterns) / (m - 1.0)
    return patterns, observed[:, None]


def _weighted(weights: np.ndarray, features: tuple) -> tuple:
    """The features summed with each row of weights (B x P): one matrix product each."""
    return tuple(np.asarray(weights @ f) for f in features)


def _alphas_from_features(summed: tuple, level: str, numeric) -> np.ndarray:
    """Alpha per resample from summed features (see _pattern_features); NaN where undefined."""
    totals, extra = summed
    n_values = totals.shape[1]
    n = totals.sum(axis=1)
    if level == "ordinal":
        delta = distance_matrix(level, totals, numeric)
        o = extra.reshape(-1, n_values, n_values)
        observed = np.einsum("bck,bck->b", o, delta)
        expected = np.einsum("bc,bk,bck->b", totals, totals, delta)
    else:
        delta = distance_matrix(level, np.zeros(n_values), numeric)
        observed = extra[:, 0]
        expected = np.einsum("bc,ck,bk->b", totals, delta, totals)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * observed / expected
    return np.where(expected > 0, alpha, np.nan)


def alphas_from_pattern_weights(patterns: np.ndarray, weights: np.ndarray, level: str, numeric=None) -> np.ndarray:
    """Alpha for each row of `weights` (B x P): how many times each unit pattern enters the data.

    The coincidence matrix is linear in the units, so the figures alpha needs are, for all
    resamples at once, one matrix product of the weights with per-pattern features. NaN where
    alpha is undefined.
    """
    patterns = np.asarray(patterns, dtype=float)
    features = _pattern_features(patterns, level, numeric)
    return _alphas_from_features(_weighted(np.asarray(weights, dtype=float), features), level, numeric)


def bootstrap_alpha(counts: np.ndarray, level: str = "nominal", numeric=None, n_resamples: int = 1000,
                    seed: int = 0, confidence: float = 0.95) -> BootstrapInterval:
    """Percentile bootstrap interval for Krippendorff's alpha, resampling units (seeded).

    The pairable units (coded by two or more coders) are drawn with replacement, as many as there
    are, and alpha is recomputed on each resample; the interval is the 2.5th and 97.5th
    percentiles of the resampled alphas (Efron & Tibshirani 1993, An Introduction to the
    Bootstrap, ch. 13). Resampling units is the bootstrap Zapf et al. (2016, BMC Medical Research
    Methodology 16:93) recommend for alpha; Hayes & Krippendorff's (2007) KALPHA macro resamples
    pairs of values instead, which gives similar but not identical intervals. Resamples without
    variation (alpha undefined) are left out and counted.
    """
    patterns, frequency = unit_patterns(counts)
    if len(patterns) == 0 or n_resamples <= 0:
        return BootstrapInterval(None, None, max(n_resamples, 0), 0, seed)
    rng = np.random.default_rng(seed)
    features = _pattern_features(patterns, level, numeric)
    width = sum(f.shape[1] for f in features)
    alphas = np.concatenate([_alphas_from_features(_weighted(block, features), level, numeric)
                             for block in _resample_frequencies(frequency, n_resamples, rng, width)])
    defined = alphas[np.isfinite(alphas)]
    if len(defined) == 0:
        return BootstrapInterval(None, None, n_resamples, 0, seed)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(defined, [tail, 1.0 - tail])
    return BootstrapInterval(float(low), float(high), n_resamples, int(len(defined)), seed)


def dimension_seed(seed: int, dimension: str) -> int:
    """The bootstrap seed of one dimension: fixed by the run's seed and the dimension's name only."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(dimension.encode("utf-8"))]).generate_state(1)[0])
