"""Inter-coder agreement: the statistics methodologists report, with their published definitions.

Layout, as everywhere in capcode: pure statistics on numpy arrays first, then the records that
hold one dimension's reliability data and its results, then readers and writers at the edge
(`run_agreement`, called by `capcode agreement`).

The data of one dimension is a *reliability data matrix* `codes` (coders x units) of value
indices, -1 where a coder did not code a unit (Krippendorff 2011). Most statistics need only the
*value counts* `counts` (units x values): how many coders gave unit u value c. Units coded by
fewer than two coders carry no information on agreement: they are missing data, not
disagreement, and every statistic below leaves them out of its agreement term.

A statistic that is undefined for the data at hand (no variation, no overlap, ...) is returned as
None, never as NaN; `dimension_agreement` attaches a plain explanation to each None.
"""

import json
import logging
import math
import zlib
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import CodebookError, ConfigError, InputError

log = logging.getLogger("capcode")

LEVELS = ("nominal", "ordinal", "interval")
FORMATS = ("table", "json", "xlsx", "csv")


# ---- statistics (pure) --------------------------------------------------------------------------


def unit_value_counts(codes: np.ndarray, n_values: int) -> np.ndarray:
    """Value counts (units x values) of a reliability data matrix (coders x units, -1 = missing)."""
    codes = np.asarray(codes)
    n_units = codes.shape[1]
    if n_values <= 16:  # a few passes of comparisons beat scattering into bins
        out = np.empty((n_units, n_values), dtype=np.int64)
        for value in range(n_values):
            out[:, value] = (codes == value).sum(axis=0)
        return out
    flat = np.where(codes >= 0, codes + n_values * np.arange(n_units, dtype=np.int64), n_units * n_values)
    return np.bincount(flat.ravel(), minlength=n_units * n_values + 1)[:-1].reshape(n_units, n_values)


def unit_patterns(counts: np.ndarray, min_coders: int = 2) -> tuple:
    """(patterns P x V, frequency P): the distinct rows of `counts` among units with >= `min_coders`
    codes, and how many units have each. Statistics that sum over units can sum over patterns
    instead: with few coders and values there are a few hundred patterns for any number of units.
    """
    counts = np.asarray(counts, dtype=np.int64)
    counts = counts[counts.sum(axis=1) >= min_coders]
    n_values = counts.shape[1]
    if len(counts) == 0:
        return np.zeros((0, n_values)), np.zeros(0, dtype=np.int64)
    base = int(counts.max()) + 1
    if n_values * math.log2(max(base, 2)) < 62:
        powers = base ** np.arange(n_values, dtype=np.int64)
        keys = counts @ powers
        if base ** n_values <= 4 * len(keys) + 1024:
            frequency = np.bincount(keys, minlength=base ** n_values)
            present = np.flatnonzero(frequency)
            patterns = (present[:, None] // powers[None, :]) % base
            return patterns.astype(float), frequency[present]
        _, first, frequency = np.unique(keys, return_index=True, return_counts=True)
        return counts[first].astype(float), frequency
    # Many values: rows rarely repeat, and sorting them as rows is slow; keep every unit.
    return counts.astype(float), np.ones(len(counts), dtype=np.int64)


def observed_agreement(counts: np.ndarray) -> Optional[float]:
    """Pairwise percent agreement p_a (as a proportion), the agreement term of kappa-type statistics.

    For every unit coded by m >= 2 coders, the share of its m(m-1) ordered coder pairs that
    agree, sum_c n_c (n_c - 1) / (m (m - 1)); averaged over those units. This is Fleiss' (1971)
    P-bar, generalised to a varying number of coders per unit as in Gwet (2014), Handbook of
    Inter-Rater Reliability, 4th ed., ch. 2 (the `irrCAC` package). None without such units.
    """
    patterns, frequency = unit_patterns(counts, 2)
    if len(patterns) == 0:
        return None
    m = patterns.sum(axis=1)
    per_unit = (patterns * (patterns - 1)).sum(axis=1) / (m * (m - 1))
    return float(np.dot(frequency, per_unit) / frequency.sum())


def _classification_shares(counts: np.ndarray) -> np.ndarray:
    """pi_c: the mean over units coded by at least one coder of the share of its codes that are c.

    Gwet (2014, ch. 2) for Fleiss' kappa and AC1 with missing ratings; with every coder coding
    every unit this is the overall share of value c, as in Fleiss (1971).
    """
    patterns, frequency = unit_patterns(counts, 1)
    shares = patterns / patterns.sum(axis=1, keepdims=True)
    return (frequency @ shares) / frequency.sum()


def _chance_corrected(p_a: Optional[float], p_e: float) -> Optional[float]:
    if p_a is None or not p_e < 1.0:
        return None
    return float((p_a - p_e) / (1.0 - p_e))


def fleiss_kappa(counts: np.ndarray) -> Optional[float]:
    """Fleiss' kappa: (p_a - p_e) / (1 - p_e) with p_e = sum_c pi_c^2.

    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
    Bulletin 76(5), 378-382; with missing ratings as in Gwet (2014, ch. 2). Equals
    `statsmodels.stats.inter_rater.fleiss_kappa` when every coder codes every unit. None when
    p_e = 1 (all codes are one value) or no unit has two coders.
    """
    p_a = observed_agreement(counts)
    if p_a is None:
        return None
    pi = _classification_shares(counts)
    return _chance_corrected(p_a, float(np.sum(pi * pi)))


def gwet_ac1(counts: np.ndarray) -> Optional[float]:
    """Gwet's AC1: (p_a - p_e) / (1 - p_e) with p_e = sum_c pi_c (1 - pi_c) / (q - 1).

    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high
    agreement. British Journal of Mathematical and Statistical Psychology 61(1), 29-48; missing
    ratings as in Gwet (2014, ch. 2). q is the number of values the dimension can take (the
    columns of `counts`). None when q < 2 or no unit has two coders.
    """
    counts = np.asarray(counts)
    q = counts.shape[1]
    p_a = observed_agreement(counts)
    if p_a is None or q < 2:
        return None
    pi = _classification_shares(counts)
    return _chance_corrected(p_a, float(np.sum(pi * (1.0 - pi)) / (q - 1)))


def brennan_prediger(counts: np.ndarray) -> Optional[float]:
    """Brennan-Prediger coefficient: (p_a - 1/q) / (1 - 1/q), chance agreement of uniform coding.

    Brennan, R. L. & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses, and
    alternatives. Educational and Psychological Measurement 41(3), 687-699 (also Randolph's
    free-marginal kappa). q is the number of values the dimension can take. None when q < 2 or
    no unit has two coders.
    """
    counts = np.asarray(counts)
    q = counts.shape[1]
    p_a = observed_agreement(counts)
    if p_a is None or q < 2:
        return None
    return _chance_corrected(p_a, 1.0 / q)


def coincidence_matrix(counts: np.ndarray, frequency: Optional[np.ndarray] = None) -> np.ndarray:
    """Krippendorff's coincidence matrix o_ck = sum_u (n_uc n_uk - [c = k] n_uc) / (m_u - 1).

    Over the units coded by m_u >= 2 coders (Krippendorff 2011, "Computing Krippendorff's
    alpha-reliability", section C). Its row sums n_c count the pairable values. `frequency`
    optionally says how many units each row of `counts` stands for (see unit_patterns).
    """
    counts = np.asarray(counts, dtype=float)
    keep = counts.sum(axis=1) >= 2
    pairable = counts[keep]
    units = np.ones(len(pairable)) if frequency is None else np.asarray(frequency, dtype=float)[keep]
    weighted = pairable * (units / (pairable.sum(axis=1) - 1.0))[:, None]
    return weighted.T @ pairable - np.diag(weighted.sum(axis=0))


def distance_matrix(level: str, totals: np.ndarray, numeric: Optional[Sequence[float]] = None) -> np.ndarray:
    """Krippendorff's squared difference function delta^2_ck for all value pairs (V x V).

    nominal: 0 if c = k else 1. ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2, with n_g the
    pairable values of rank g (values in their order). interval: (x_c - x_k)^2 with the values'
    numbers. Krippendorff (2011), section E; Krippendorff (2019), Content Analysis, 4th ed., ch. 12.
    `totals` may be (V,) or a stack (B, V) of resampled totals, giving (B, V, V).
    """
    totals = np.asarray(totals, dtype=float)
    n_values = totals.shape[-1]
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(n_values), totals.shape[:-1] + (n_values, n_values)).copy()
    if level == "interval":
        if numeric is None:
            raise ValueError("interval level needs the values' numbers")
        x = np.asarray(numeric, dtype=float)
        diff = (x[:, None] - x[None, :]) ** 2
        return np.broadcast_to(diff, totals.shape[:-1] + diff.shape).copy()
    if level == "ordinal":
        index = np.arange(n_values)
        low = np.minimum(index[:, None], index[None, :])
        high = np.maximum(index[:, None], index[None, :])
        cumulative = np.cumsum(totals, axis=-1)
        between = cumulative[..., high] - cumulative[..., low] + totals[..., low]
        return (between - (totals[..., low] + totals[..., high]) / 2.0) ** 2
    raise ValueError(f"unknown level of measurement {level!r}; use one of {', '.join(LEVELS)}")


def krippendorff_alpha(counts: np.ndarray, level: str = "nominal", numeric=None) -> Optional[float]:
    """Krippendorff's alpha = 1 - D_o / D_e from the coincidence matrix, with missing data.

    alpha = 1 - (n - 1) sum_ck o_ck delta_ck / sum_ck n_c n_k delta_ck (Krippendorff, K. (2011).
    Computing Krippendorff's alpha-reliability. Annenberg School for Communication, Univ. of
    Pennsylvania; Krippendorff (2019), Content Analysis, 4th ed., ch. 12). Units coded by one
    coder are left out (missing data). None when there is no unit with two coders or no variation
    (D_e = 0: all pairable values equal), where alpha is 0/0.
    """
    patterns, frequency = unit_patterns(counts)
    if len(patterns) == 0:
        return None
    o = coincidence_matrix(patterns, frequency)
    totals = o.sum(axis=1)
    delta = distance_matrix(level, totals, numeric)
    expected = float(np.sum(np.outer(totals, totals) * delta))
    if not expected > 0.0:
        return None
    return float(1.0 - (totals.sum() - 1.0) * float(np.sum(o * delta)) / expected)


def specific_agreement(counts: np.ndarray) -> list:
    """Per-value (specific) agreement: sum_u n_uc (n_uc - 1) / sum_u n_uc (m_u - 1), per value c.

    Of the coder pairs in which one coder chose c, the share where the other did too; for two
    coders 2a / (2a + b + c), the positive specific agreement of Fleiss (1975) and Cicchetti &
    Feinstein (1990), generalised to many coders and missing data by Uebersax (1982). A design-
    independent method for measuring the reliability of psychiatric diagnosis. J. Psychiatric
    Research 17(4), 335-342. None for a value that no pairable unit received.
    """
    patterns, frequency = unit_patterns(counts, 2)
    m = patterns.sum(axis=1, keepdims=True)
    agree = frequency @ (patterns * (patterns - 1.0)) if len(patterns) else np.zeros(patterns.shape[1])
    possible = frequency @ (patterns * (m - 1.0)) if len(patterns) else np.zeros(patterns.shape[1])
    return [float(a / p) if p > 0 else None for a, p in zip(agree, possible)]


def confusion_matrix(codes_a: np.ndarray, codes_b: np.ndarray, n_values: int) -> np.ndarray:
    """Counts (V x V) of units coded value i by coder a (rows) and j by coder b (columns).

    Only units both coders coded (-1 = not coded) are counted.
    """
    codes_a, codes_b = np.asarray(codes_a), np.asarray(codes_b)
    both = (codes_a >= 0) & (codes_b >= 0)
    flat = codes_a[both] * n_values + codes_b[both]
    return np.bincount(flat, minlength=n_values * n_values).reshape(n_values, n_values)


def pair_confusions(codes: np.ndarray, n_values: int) -> tuple:
    """(pairs [(a, b)], tables P x V x V): the confusion matrix of every pair of coders a < b.

    "Not coded" becomes an extra value V, so each pair is one bincount of a * (V + 1) + b over
    the units, with no masking; the extra row and column are then dropped.
    """
    codes = np.asarray(codes)
    n_coders = codes.shape[0]
    width = n_values + 1
    shifted = np.where(codes >= 0, codes, n_values).astype(np.intp)
    scaled = shifted * width
    pairs = list(combinations(range(n_coders), 2))
    tables = np.empty((len(pairs), n_values, n_values), dtype=np.int64)
    for k, (a, b) in enumerate(pairs):
        counted = np.bincount(scaled[a] + shifted[b], minlength=width * width).reshape(width, width)
        tables[k] = counted[:n_values, :n_values]
    return pairs, tables


def kappa_from_confusion(table: np.ndarray, weights: Optional[str] = None) -> Optional[float]:
    """Cohen's (weighted) kappa from a confusion matrix (rows: coder a, columns: coder b); see cohen_kappa."""
    table = np.asarray(table, dtype=float)
    n_values = table.shape[0]
    n = table.sum()
    if n == 0:
        return None
    index = np.arange(n_values)
    if weights is None:
        w = 1.0 - np.eye(n_values)
    elif weights == "linear":
        w = np.abs(index[:, None] - index[None, :]).astype(float)
    elif weights == "quadratic":
        w = ((index[:, None] - index[None, :]) ** 2).astype(float)
    else:
        raise ValueError(f"unknown weights {weights!r}")
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    disagreement_by_chance = float(np.sum(w * expected))
    if not disagreement_by_chance > 0.0:
        return None
    return float(1.0 - float(np.sum(w * table)) / disagreement_by_chance)


def cohen_kappa(codes_a: np.ndarray, codes_b: np.ndarray, n_values: int, weights: Optional[str] = None) -> Optional[float]:
    """Cohen's kappa of two coders over the units both coded: (p_o - p_e) / (1 - p_e).

    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological
    Measurement 20(1), 37-46; weighted (`weights` 'linear' or 'quadratic' on value ranks):
    kappa_w = 1 - sum w_ij o_ij / sum w_ij e_ij (Cohen 1968, Psychological Bulletin 70(4)).
    p_e comes from each coder's own marginal distribution. Equals
    `sklearn.metrics.cohen_kappa_score`. None when the coders share no unit or p_e = 1 (both
    coders used one and the same value throughout).
    """
    return kappa_from_confusion(confusion_matrix(codes_a, codes_b, n_values), weights)


def single_threaded_blas():
    """A context in which numpy's BLAS uses one thread.

    The products here are small and tall; on a machine shared with other jobs, a multi-threaded
    BLAS spends more time waiting for its threads than computing (measured: 10x slower on the
    project's 2-core machine under load). threadpoolctl comes with scikit-learn.
    """
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# ---- bootstrap ----------------------------------------------------------------------------------


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


# ---- interpretation bands -----------------------------------------------------------------------


def landis_koch(kappa: Optional[float]) -> str:
    """Landis & Koch (1977, Biometrics 33(1), 159-174) label of a kappa-type value (as shown, 3 decimals)."""
    if kappa is None:
        return ""
    shown = round(kappa, 3)
    if shown < 0:
        return "poor (Landis & Koch)"
    for bound, label in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if shown <= bound:
            return f"{label} (Landis & Koch)"
    return "almost perfect (Landis & Koch)"


def krippendorff_band(alpha: Optional[float]) -> str:
    """Krippendorff's (2004, Content Analysis 2nd ed., p. 241) conventional reading of alpha (3 decimals)."""
    if alpha is None:
        return ""
    shown = round(alpha, 3)
    if shown >= 0.800:
        return "reliable (Krippendorff: >= 0.800)"
    if shown >= 0.667:
        return "tentative conclusions only (Krippendorff: 0.667-0.800)"
    return "unreliable (Krippendorff: < 0.667)"


# ---- one dimension's reliability data ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DimensionData:
    """One dimension's codes as a reliability data matrix, with what it means.

    `codes[i, u]` is the index in `values` of coder i's value for unit u, -1 when not coded (or
    when the unit falls outside the dimension's condition). `numeric` holds the numbers of the
    values for the interval level.
    """

    dimension: str
    level: str
    values: tuple
    coders: tuple
    units: tuple
    codes: np.ndarray
    numeric: Optional[tuple] = None
    condition: str = ""            # e.g. "relevant = ja"; "" when the dimension always applies
    condition_units: int = 0       # units the coders agree the condition holds for
    condition_left_out: int = 0    # units with codes on the dimension left out by the condition
    notes: tuple = ()


def _number(text: str) -> Optional[float]:
    try:
        number = float(str(text).replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _ordered_values(observed) -> tuple:
    """Observed values in a sensible order without a codebook: numerically when all are numbers."""
    numbers = [_number(v) for v in observed]
    if all(n is not None for n in numbers):
        return tuple(v for _, v in sorted(zip(numbers, observed)))
    return tuple(sorted(observed))


def _value_numbers(dimension: str, values: tuple, level: str, from_codebook: bool) -> tuple:
    """(numbers for the interval level or None, note): values' own numbers, else their ranks."""
    if level != "interval":
        return None, ""
    numbers = [_number(v) for v in values]
    if all(n is not None for n in numbers):
        return tuple(numbers), ""
    if from_codebook:
        return (tuple(float(i + 1) for i in range(len(values))),
                f"interval level on values that are not numbers: they are scored 1..{len(values)} "
                "in codebook order (equal spacing assumed).")
    bad = next(v for v, n in zip(values, numbers) if n is None)
    raise InputError(f"dimension '{dimension}': the interval level needs numbers as values, found '{bad}'; "
                     "use --level nominal or ordinal, or give a codebook that orders the values.")


def _fill_codes(codings: list, coder_index: dict, unit_index: dict, value_index: dict) -> np.ndarray:
    """The coders x units matrix of value indices of one dimension's codings (-1 = not coded).

    The same code given twice counts once; a coder giving one unit two different values is
    refused, naming the first cases.
    """
    rows = np.fromiter((coder_index[c.coder] for c in codings), dtype=np.int64, count=len(codings))
    columns = np.fromiter((unit_index[c.fragment_id] for c in codings), dtype=np.int64, count=len(codings))
    values = np.fromiter((value_index[c.value] for c in codings), dtype=np.int64, count=len(codings))
    keys = rows * len(unit_index) + columns
    order = np.argsort(keys, kind="stable")
    repeated = np.flatnonzero((keys[order][1:] == keys[order][:-1]) & (values[order][1:] != values[order][:-1]))
    if len(repeated):
        conflicts = []
        for i in repeated[:3]:
            first, second = codings[order[i]], codings[order[i + 1]]
            conflicts.append(f"{first.fragment_id}: coder '{first.coder}' gave {first.dimension} both "
                             f"'{first.value}' and '{second.value}'")
        more = f" (and {len(repeated) - 3} more)" if len(repeated) > 3 else ""
        raise InputError("; ".join(conflicts) + more + ". Keep one value per coder, fragment and dimension "
                         "('capcode codings check' lists them all).")
    codes = np.full((len(coder_index), len(unit_index)), -1, dtype=np.int64)
    codes[rows, columns] = values
    return codes


def reliability_data(codings, codebook=None, level: Optional[str] = None, unit_order: Optional[Sequence[str]] = None,
                     apply_conditions: bool = True) -> list:
    """DimensionData for every coded dimension (codebook order first), from Coding records.

    Without a codebook, values are those that occur (numbers in numeric order, else
    alphabetical) and the level is nominal unless `level` says otherwise. With a codebook, its
    values, their order and its levels apply (`level` overrides the level for every dimension),
    and a dimension with a condition (`only_when: {relevant: ja}`) is computed over the units
    that all coders who coded the condition agree satisfy it (`apply_conditions`).
    """
    codings = list(codings)
    if level is not None and level not in LEVELS:
        raise InputError(f"unknown level '{level}'; use one of {', '.join(LEVELS)}.")
    coders = tuple(dict.fromkeys(c.coder for c in codings))
    coded_units = dict.fromkeys(c.fragment_id for c in codings)
    if unit_order is not None:
        ordered = list(dict.fromkeys(u for u in unit_order if u in coded_units))
        placed = set(ordered)
        units = tuple(ordered + [u for u in coded_units if u not in placed])
    else:
        units = tuple(coded_units)
    coder_index = {c: i for i, c in enumerate(coders)}
    unit_index = {u: i for i, u in enumerate(units)}
    by_dimension = {}
    for coding in codings:
        by_dimension.setdefault(coding.dimension, []).append(coding)
    observed = {d: {c.value for c in group} for d, group in by_dimension.items()}
    if codebook is not None:
        for dimension in observed:
            if not codebook.has_dimension(dimension):
                raise CodebookError(f"dimension '{dimension}' is coded but is not in codebook '{codebook.name}' "
                                    f"({', '.join(codebook.dimension_ids)}).")
        dimensions = [d for d in codebook.dimension_ids if d in observed]
    else:
        dimensions = list(observed)

    matrices = {}
    specs = {}
    for dimension in dimensions:
        notes = []
        if codebook is not None:
            spec = codebook.dimension(dimension)
            values = spec.value_ids
            unknown = sorted(observed[dimension] - set(values))
            if unknown:
                raise CodebookError(f"dimension '{dimension}': value(s) {', '.join(unknown)} are not in codebook "
                                    f"'{codebook.name}'; use one of {', '.join(values)}.")
            dim_level = level or spec.level
            if level and level != spec.level:
                notes.append(f"level {level} (--level) instead of the codebook's {spec.level}.")
        else:
            values = _ordered_values(sorted(observed[dimension]))
            dim_level = level or "nominal"
            if dim_level == "ordinal" and not all(_number(v) is not None for v in values):
                notes.append(f"ordinal level without a codebook: values taken in alphabetical order "
                             f"({', '.join(values)}); give a codebook to set their order.")
        numeric, note = _value_numbers(dimension, values, dim_level, codebook is not None)
        if note:
            notes.append(note)
        value_index = {v: i for i, v in enumerate(values)}
        specs[dimension] = (dim_level, values, numeric, notes)
        matrices[dimension] = (_fill_codes(by_dimension[dimension], coder_index, unit_index, value_index),
                               value_index)

    out = []
    included_cache = {}
    for dimension in dimensions:
        dim_level, values, numeric, notes = specs[dimension]
        codes = matrices[dimension][0]
        condition, condition_units, left_out = "", 0, 0
        if apply_conditions and codebook is not None and codebook.dimension(dimension).condition is not None:
            condition = str(codebook.dimension(dimension).condition)
            included = _condition_holds(codebook, dimension, matrices, len(units), included_cache)
            condition_units = int(included.sum())
            left_out = int(((codes >= 0).any(axis=0) & ~included).sum())
            codes = np.where(included[None, :], codes, -1)
        out.append(DimensionData(dimension, dim_level, tuple(values), coders, units, codes, numeric,
                                 condition, condition_units, left_out, tuple(notes)))
    return out


def _condition_holds(codebook, dimension: str, matrices: dict, n_units: int, cache: dict) -> np.ndarray:
    """Units for which every coder who coded the condition's dimension gave the condition's value.

    Conditions chain (a condition on a conditional dimension needs both). A unit whose condition
    dimension nobody coded does not qualify.
    """
    if dimension in cache:
        return cache[dimension]
    condition = codebook.dimension(dimension).condition
    if condition is None:
        holds = np.ones(n_units, dtype=bool)
    elif condition.dimension not in matrices:
        holds = np.zeros(n_units, dtype=bool)
    else:
        codes, value_index = matrices[condition.dimension]
        wanted = value_index.get(condition.value, -2)
        voted = codes >= 0
        holds = voted.any(axis=0) & ~(voted & (codes != wanted)).any(axis=0)
        holds &= _condition_holds(codebook, condition.dimension, matrices, n_units, cache)
    cache[dimension] = holds
    return holds


# ---- results --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PairAgreement:
    """Two coders on one dimension: Cohen's kappa over the units both coded, and their confusion matrix."""

    coder_a: str
    coder_b: str
    n_units: int
    kappa: Optional[float]
    percent_agreement: Optional[float]
    confusion: np.ndarray   # rows: coder_a's values, columns: coder_b's values


@dataclass(frozen=True)
class ValueAgreement:
    """One value of a dimension: how often it was given (pairable codes) and its specific agreement."""

    value: str
    n: int
    share: Optional[float]
    specific_agreement: Optional[float]


@dataclass(frozen=True, eq=False)
class DimensionAgreement:
    """Every agreement figure of one dimension, with plain-language notes on what is undefined and why."""

    dimension: str
    level: str
    values: tuple
    coders: tuple                 # coders with at least one code on this dimension
    n_units: int                  # units coded by two or more coders: the units the statistics use
    n_units_single: int           # units coded by one coder only (missing data, left out)
    n_pairable_values: int
    percent_agreement: Optional[float]   # in percent
    unanimous: Optional[float]           # percent of n_units on which all their coders agree
    krippendorff_alpha: Optional[float]
    bootstrap: BootstrapInterval
    fleiss_kappa: Optional[float]
    gwet_ac1: Optional[float]
    brennan_prediger: Optional[float]
    pairs: tuple                  # PairAgreement per coder pair
    per_value: tuple              # ValueAgreement per value
    condition: str = ""
    condition_units: int = 0
    condition_left_out: int = 0
    notes: tuple = ()

    @property
    def n_coders(self) -> int:
        return len(self.coders)

    @property
    def alpha_ci95(self) -> tuple:
        return (self.bootstrap.low, self.bootstrap.high)


def dimension_agreement(data: DimensionData, n_resamples: int = 1000, seed: int = 0) -> DimensionAgreement:
    """All statistics of one dimension, each undefined one (None) explained in `notes`."""
    with single_threaded_blas():
        return _dimension_agreement(data, n_resamples, seed)


def _dimension_agreement(data: DimensionData, n_resamples: int, seed: int) -> DimensionAgreement:
    n_values = len(data.values)
    active = [i for i in range(len(data.coders)) if (data.codes[i] >= 0).any()]
    codes = data.codes[active]
    coders = tuple(data.coders[i] for i in active)
    counts = unit_value_counts(codes, n_values) if len(coders) else np.zeros((len(data.units), n_values), dtype=np.int64)
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    n_units, n_single = int(len(pairable)), int((m == 1).sum())
    totals = pairable.sum(axis=0)
    notes = list(data.notes)
    if data.condition:
        notes.insert(0, f"computed over the {data.condition_units} units that all coders who coded "
                        f"'{data.condition.split(' = ')[0]}' agree satisfy {data.condition}; "
                        f"{data.condition_left_out} unit(s) with codes on {data.dimension} left out "
                        "because coders disagreed on the condition or rejected it.")

    p_a = observed_agreement(counts)
    alpha = krippendorff_alpha(counts, data.level, data.numeric)
    interval = bootstrap_alpha(counts, data.level, data.numeric, n_resamples, dimension_seed(seed, data.dimension))
    fleiss, ac1, bp = fleiss_kappa(counts), gwet_ac1(counts), brennan_prediger(counts)
    unanimous = float(np.mean((pairable > 0).sum(axis=1) == 1)) * 100.0 if n_units else None

    used = [data.values[i] for i in np.flatnonzero(totals)]
    if len(coders) < 2:
        who = f"only one coder ({coders[0]})" if coders else "no coder"
        where_ = " on the units that satisfy its condition" if data.condition else ""
        notes.append(f"{who} coded this dimension{where_}: agreement needs at least two coders, so every "
                     "statistic is undefined (null).")
    elif n_units == 0:
        notes.append("no unit was coded by two or more coders (the coders' units do not overlap): every "
                     "statistic is undefined (null).")
    else:
        if len(used) == 1:
            named = {"Krippendorff's alpha": alpha, "Fleiss' kappa": fleiss, "Gwet's AC1": ac1,
                     "Brennan-Prediger": bp}
            undefined = [k for k, v in named.items() if v is None]
            defined = ["percent agreement"] + [k for k, v in named.items() if v is not None]
            notes.append(f"all {int(totals.sum())} codes on units with two or more coders are '{used[0]}': "
                         f"with no variation, {' and '.join(undefined)} "
                         f"{'is' if len(undefined) == 1 else 'are'} 0/0 and undefined (null), although the "
                         f"coders agree 100%; report {', '.join(defined)} instead.")
        if n_values < 2:
            notes.append(f"only one value ('{data.values[0]}') is known for this dimension, so Gwet's AC1 and "
                         "Brennan-Prediger (which need the number of possible values) are undefined; give "
                         "--codebook to declare all values.")
        if interval.resamples == 0:
            notes.append("no confidence interval: the bootstrap is switched off (agreement.bootstrap = 0).")
        elif interval.low is None and alpha is not None:
            notes.append("no bootstrap resample had variation: the confidence interval is undefined.")
        elif interval.defined < interval.resamples and interval.low is not None:
            notes.append(f"{interval.resamples - interval.defined} of {interval.resamples} bootstrap resamples "
                         "had no variation (alpha undefined) and were left out of the interval.")
    if n_single:
        notes.append(f"{n_single} unit(s) coded by one coder only: missing data, left out of every agreement "
                     "term; only the value shares (chance agreement) of Fleiss' kappa and Gwet's AC1 use them, "
                     "as Gwet (2014) defines these with missing ratings.")

    pairs = []
    for (a, b), table in zip(*pair_confusions(codes, n_values)):
        shared = int(table.sum())
        kappa = kappa_from_confusion(table)
        if shared == 0:
            notes.append(f"{coders[a]} and {coders[b]} coded no unit in common: their Cohen's kappa is undefined.")
        elif kappa is None:
            only = data.values[int(np.flatnonzero(table.sum(axis=0) + table.sum(axis=1))[0])]
            notes.append(f"{coders[a]} and {coders[b]} both gave only '{only}' on their {shared} shared units: "
                         "their Cohen's kappa is 0/0 and undefined (agreement 100%).")
        pairs.append(PairAgreement(coders[a], coders[b], shared, kappa,
                                   float(np.trace(table) / shared * 100.0) if shared else None, table))

    specific = specific_agreement(counts) if n_units else [None] * n_values
    total = int(totals.sum())
    per_value = tuple(ValueAgreement(v, int(totals[i]), float(totals[i] / total) if total else None, specific[i])
                      for i, v in enumerate(data.values))
    return DimensionAgreement(
        dimension=data.dimension, level=data.level, values=data.values, coders=coders,
        n_units=n_units, n_units_single=n_single, n_pairable_values=total,
        percent_agreement=None if p_a is None else p_a * 100.0, unanimous=unanimous,
        krippendorff_alpha=alpha, bootstrap=interval, fleiss_kappa=fleiss, gwet_ac1=ac1, brennan_prediger=bp,
        pairs=tuple(pairs), per_value=per_value, condition=data.condition,
        condition_units=data.condition_units, condition_left_out=data.condition_left_out, notes=tuple(notes))


@dataclass(frozen=True)
class AgreementReport:
    """Agreement on every dimension of a set of codings, and how it was computed."""

    dimensions: tuple             # DimensionAgreement, codebook order
    coders: tuple
    codebook: str = ""            # "name version", or "" without a codebook
    resamples: int = 1000
    seed: int = 0
    notes: tuple = ()


def agreement_report(data: Sequence[DimensionData], n_resamples: int = 1000, seed: int = 0,
                     codebook: str = "", notes: Sequence[str] = ()) -> AgreementReport:
    """Agreement of every dimension; the bootstrap of each dimension is seeded by `seed` and its name."""
    results = tuple(dimension_agreement(d, n_resamples, seed) for d in data)
    coders = tuple(dict.fromkeys(c for d in data for c in d.coders))
    return AgreementReport(results, coders, codebook, n_resamples, seed, tuple(notes))


# ---- output: json, table, csv, xlsx -------------------------------------------------------------

BOOTSTRAP_METHOD = "percentile interval; pairable units resampled with replacement"
KAPPA_BANDS = ("Landis & Koch (1977): < 0 poor, 0-0.20 slight, 0.21-0.40 fair, 0.41-0.60 moderate, "
               "0.61-0.80 substantial, 0.81-1 almost perfect")
ALPHA_BANDS = ("Krippendorff (2004): alpha >= 0.800 reliable; 0.667-0.800 tentative conclusions only; "
               "< 0.667 unreliable")


def dimension_to_json(result: DimensionAgreement) -> dict:
    """The figures of one dimension as plain JSON types (None for undefined)."""
    return {
        "level": result.level,
        "values": list(result.values),
        "n_units": result.n_units,
        "n_units_single_coder": result.n_units_single,
        "n_coders": result.n_coders,
        "coders": list(result.coders),
        "n_pairable_values": result.n_pairable_values,
        "percent_agreement": result.percent_agreement,
        "percent_unanimous": result.unanimous,
        "krippendorff_alpha": result.krippendorff_alpha,
        "alpha_interpretation": krippendorff_band(result.krippendorff_alpha),
        "alpha_ci95": [result.bootstrap.low, result.bootstrap.high],
        "alpha_bootstrap": {"resamples": result.bootstrap.resamples, "defined": result.bootstrap.defined,
                            "seed": result.bootstrap.seed},
        "fleiss_kappa": result.fleiss_kappa,
        "fleiss_interpretation": landis_koch(result.fleiss_kappa),
        "gwet_ac1": result.gwet_ac1,
        "brennan_prediger": result.brennan_prediger,
        "cohen_kappa": [{"coder_a": p.coder_a, "coder_b": p.coder_b, "kappa": p.kappa, "n_units": p.n_units,
                         "percent_agreement": p.percent_agreement, "interpretation": landis_koch(p.kappa)}
                        for p in result.pairs],
        "per_value": [{"value": v.value, "n": v.n, "share": v.share, "specific_agreement": v.specific_agreement}
                      for v in result.per_value],
        "confusion": [{"coder_a": p.coder_a, "coder_b": p.coder_b, "values": list(result.values),
                       "matrix": p.confusion.tolist()} for p in result.pairs],
        "condition": ({"only_when": result.condition, "units": result.condition_units,
                       "left_out": result.condition_left_out} if result.condition else None),
        "notes": list(result.notes),
    }


def report_to_json(report: AgreementReport) -> dict:
    """The whole report as JSON: figures per dimension under `dimensions.<id>`."""
    return {
        "codebook": report.codebook or None,
        "coders": list(report.coders),
        "bootstrap": {"resamples": report.resamples, "seed": report.seed, "method": BOOTSTRAP_METHOD},
        "interpretation": {"kappa": KAPPA_BANDS, "alpha": ALPHA_BANDS},
        "dimensions": {r.dimension: dimension_to_json(r) for r in report.dimensions},
        "notes": list(report.notes),
    }


def _num(value: Optional[float], digits: int = 3) -> str:
    return "undefined" if value is None else f"{value:.{digits}f}"


def _pct(value: Optional[float]) -> str:
    return "undefined" if value is None else f"{value:.1f}%"


def _confusion_lines(pair: PairAgreement, values: tuple) -> list:
    width = max([len(v) for v in values] + [6])
    lines = [f"    {pair.coder_a} (rows) x {pair.coder_b} (columns), {pair.n_units} shared units:"]
    lines.append("      " + " " * width + "".join(f" {v:>{width}}" for v in values))
    for value, row in zip(values, pair.confusion):
        lines.append(f"      {value:<{width}}" + "".join(f" {int(n):>{width}}" for n in row))
    return lines


def format_table(report: AgreementReport, max_confusion_pairs: int = 3) -> str:
    """A readable summary per dimension, with the conventional interpretation bands named."""
    lines = ["Inter-coder agreement"]
    lines.append(f"coders ({len(report.coders)}): {', '.join(report.coders)}")
    lines.append(f"codebook: {report.codebook}" if report.codebook else
                 "codebook: none (dimensions and values as coded)")
    lines.append(f"alpha 95% CI: bootstrap, {report.resamples} resamples of units, seed {report.seed}")
    lines.append(f"bands: {ALPHA_BANDS}.")
    lines.append(f"       {KAPPA_BANDS}.")
    lines += [f"note: {n}" for n in report.notes]
    for r in report.dimensions:
        lines.append("")
        lines.append(f"== {r.dimension} ({r.level}; values {', '.join(r.values)})")
        lines.append(f"  units coded by 2+ coders: {r.n_units}   coders: {r.n_coders}   pairable codes: "
                     f"{r.n_pairable_values}")
        unanimous = "" if r.unanimous is None else f"   (all coders agree on {_pct(r.unanimous)} of units)"
        lines.append(f"  percent agreement (pairwise)  {_pct(r.percent_agreement):>10}{unanimous}")
        ci = ("" if r.bootstrap.low is None else
              f"   95% CI [{r.bootstrap.low:.3f}, {r.bootstrap.high:.3f}]")
        band = krippendorff_band(r.krippendorff_alpha)
        lines.append(f"  Krippendorff's alpha          {_num(r.krippendorff_alpha):>10}{ci}"
                     + (f"   {band}" if band else ""))
        band = landis_koch(r.fleiss_kappa)
        lines.append(f"  Fleiss' kappa                 {_num(r.fleiss_kappa):>10}"
                     + (f"   {band}" if band else ""))
        lines.append(f"  Gwet's AC1                    {_num(r.gwet_ac1):>10}")
        lines.append(f"  Brennan-Prediger              {_num(r.brennan_prediger):>10}")
        if r.pairs:
            lines.append("  Cohen's kappa per pair of coders:")
            for p in r.pairs:
                band = landis_koch(p.kappa)
                lines.append(f"    {p.coder_a} - {p.coder_b}: {_num(p.kappa)}"
                             + (f"  {band}" if band else "") + f"  ({p.n_units} shared units, "
                             f"{_pct(p.percent_agreement)} agree)")
        lines.append("  per value: n codes (share), specific agreement")
        for v in r.per_value:
            share = "" if v.share is None else f" ({v.share:.0%})"
            lines.append(f"    {v.value:<20} {v.n:>7}{share:<7} {_num(v.specific_agreement)}")
        if r.pairs and len(r.pairs) <= max_confusion_pairs:
            lines.append("  confusion matrices:")
            for p in r.pairs:
                lines += _confusion_lines(p, r.values)
        elif r.pairs:
            lines.append(f"  confusion matrices: {len(r.pairs)} coder pairs; see --format xlsx, csv or json.")
        lines += [f"  note: {n}" for n in r.notes]
    return "\n".join(lines) + "\n"


CSV_HEADER = ("dimension", "statistic", "coder_a", "coder_b", "value_a", "value_b", "estimate")


def report_rows(report: AgreementReport) -> list:
    """Every figure as one tidy row (see CSV_HEADER); confusion counts as statistic 'confusion'."""
    rows = []
    for r in report.dimensions:
        def add(statistic, estimate, coder_a="", coder_b="", value_a="", value_b=""):
            rows.append((r.dimension, statistic, coder_a, coder_b, value_a, value_b,
                         "" if estimate is None else estimate))
        add("n_units", r.n_units)
        add("n_coders", r.n_coders)
        add("percent_agreement", r.percent_agreement)
        add("krippendorff_alpha", r.krippendorff_alpha)
        add("alpha_ci95_low", r.bootstrap.low)
        add("alpha_ci95_high", r.bootstrap.high)
        add("fleiss_kappa", r.fleiss_kappa)
        add("gwet_ac1", r.gwet_ac1)
        add("brennan_prediger", r.brennan_prediger)
        for p in r.pairs:
            add("cohen_kappa", p.kappa, p.coder_a, p.coder_b)
        for v in r.per_value:
            add("n_codes", v.n, value_a=v.value)
            add("specific_agreement", v.specific_agreement, value_a=v.value)
        for p in r.pairs:
            for i, value_a in enumerate(r.values):
                for j, value_b in enumerate(r.values):
                    add("confusion", int(p.confusion[i, j]), p.coder_a, p.coder_b, value_a, value_b)
    return rows


def _blank(value):
    return "" if value is None else value


def report_sheets(report: AgreementReport) -> dict:
    """Sheets for the workbook: 'figures' (one row per dimension) first, then the details."""
    figures = (("dimension", "level", "n_units", "n_coders", "percent_agreement", "krippendorff_alpha",
                "alpha_ci95_low", "alpha_ci95_high", "alpha_interpretation", "fleiss_kappa", "fleiss_interpretation",
                "gwet_ac1", "brennan_prediger", "condition", "notes"),
               [(r.dimension, r.level, r.n_units, r.n_coders, _blank(r.percent_agreement), _blank(r.krippendorff_alpha),
                 _blank(r.bootstrap.low), _blank(r.bootstrap.high), krippendorff_band(r.krippendorff_alpha),
                 _blank(r.fleiss_kappa), landis_koch(r.fleiss_kappa), _blank(r.gwet_ac1), _blank(r.brennan_prediger),
                 r.condition, " | ".join(r.notes)) for r in report.dimensions])
    pairs = (("dimension", "coder_a", "coder_b", "n_units", "cohen_kappa", "interpretation", "percent_agreement"),
             [(r.dimension, p.coder_a, p.coder_b, p.n_units, _blank(p.kappa), landis_koch(p.kappa),
               _blank(p.percent_agreement)) for r in report.dimensions for p in r.pairs])
    values = (("dimension", "value", "n_codes", "share", "specific_agreement"),
              [(r.dimension, v.value, v.n, _blank(v.share), _blank(v.specific_agreement))
               for r in report.dimensions for v in r.per_value])
    confusion = (("dimension", "coder_a", "coder_b", "value_a", "value_b", "units"),
                 [(r.dimension, p.coder_a, p.coder_b, va, vb, int(p.confusion[i, j]))
                  for r in report.dimensions for p in r.pairs
                  for i, va in enumerate(r.values) for j, vb in enumerate(r.values)])
    about = (("setting", "value"),
             [("codebook", report.codebook or "none"), ("coders", ", ".join(report.coders)),
              ("bootstrap resamples", report.resamples), ("bootstrap seed", report.seed),
              ("bootstrap method", BOOTSTRAP_METHOD), ("alpha bands", ALPHA_BANDS), ("kappa bands", KAPPA_BANDS)]
             + [("note", n) for n in report.notes])
    return {"figures": figures, "cohen_kappa": pairs, "per_value": values, "confusion": confusion, "about": about}


# ---- reading and running (the edges) ------------------------------------------------------------


def prediction_codings(predictions, name: str, codebook=None, human_coders=()) -> tuple:
    """A model's predictions as the codings of one more coder `name`; abstentions are not codes.

    Returns (codings, notes). With a codebook, dimensions and values are checked like a coder's.
    """
    from .records import Coding

    if name in set(human_coders):
        raise InputError(f"--as {name}: a coder of that name is already in the coding files; choose another name.")
    codings, abstained = [], 0
    for prediction in predictions:
        if prediction.abstained:
            abstained += 1
            continue
        value = prediction.value
        if codebook is not None:
            if not codebook.has_dimension(prediction.dimension):
                raise CodebookError(f"predictions: dimension '{prediction.dimension}' is not in codebook "
                                    f"'{codebook.name}'; were they made with another codebook?")
            normal = codebook.dimension(prediction.dimension).normalize(value)
            if normal is None:
                raise CodebookError(f"predictions: '{value}' is not a value of '{prediction.dimension}' in codebook "
                                    f"'{codebook.name}'; were they made with another codebook?")
            value = normal
        codings.append(Coding(prediction.fragment_id, name, prediction.dimension, value))
    notes = [f"the model's predictions take part as coder '{name}'"
             + (f"; its {abstained} abstention(s) count as not coded." if abstained else ".")]
    return codings, notes


def load_codings(coding_paths, codebook=None, fragments=None, predictions_path=None, as_name: str = "model",
                 merge_coders: bool = False) -> tuple:
    """(codings, fragments, notes): coding files read with `pipeline.codings.read_codings` (each
    file's coders kept apart), plus the predictions as one more coder when given."""
    from .codings import read_codings
    from .files import read_fragments, read_predictions

    fragment_list = list(read_fragments(fragments)) if isinstance(fragments, (str, Path)) else fragments
    codings = list(read_codings(coding_paths, codebook, fragment_list, merge_coders=merge_coders))
    notes = []
    if predictions_path is not None:
        from .learn.honesty import refuse_in_sample

        predictions = read_predictions(predictions_path)
        refuse_in_sample(predictions, predictions_path)  # no in-sample agreement reported as agreement
        extra, notes = prediction_codings(predictions, as_name, codebook,
                                          {c.coder for c in codings})
        codings += extra
    if not codings:
        raise InputError(f"{', '.join(str(p) for p in coding_paths)}: no codes found (all cells empty?).")
    if fragment_list is not None:
        known = {f.id for f in fragment_list}
        unknown = {c.fragment_id for c in codings} - known
        if unknown:
            log.warning("%d coded fragment(s) are not in the fragments file (e.g. %s); they count, without text.",
                        len(unknown), sorted(unknown)[0])
    return codings, fragment_list, notes


def output_format(fmt: Optional[str], out) -> str:
    """The output format: as given, else from --out's extension, else a table."""
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    if fmt is None:
        fmt = suffix if suffix in ("json", "xlsx", "csv") else "table"
    if fmt not in FORMATS:
        raise InputError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    if fmt == "xlsx" and (not out or suffix != "xlsx"):
        raise InputError("--format xlsx writes a workbook: give --out FILE.xlsx.")
    if fmt != "xlsx" and suffix == "xlsx":  # text in a .xlsx file would not open in a spreadsheet
        raise InputError(f"{out}: --format {fmt} writes text, not a workbook; leave out --format "
                         "(or use --format xlsx) for an .xlsx file.")
    return fmt


def _finite(value):
    """JSON-safe: any non-finite number (there should be none) becomes null rather than invalid NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _csv_text(header, rows) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def run_agreement(coding_paths, codebook=None, fragments=None, level: Optional[str] = None, predictions=None,
                  as_name: str = "model", out=None, fmt: Optional[str] = None, resamples: int = 1000,
                  seed: int = 0, merge_coders: bool = False) -> str:
    """Read codings, compute agreement on every dimension, write or return the report.

    Returns the text for stdout ('' when the report went to `out`).
    """
    from .codebook import load_codebook
    from .files import atomic_open, write_xlsx

    fmt = output_format(fmt, out)
    if resamples < 0:
        raise ConfigError(f"agreement.bootstrap is {resamples}: give the number of bootstrap resamples "
                          "(0 switches the confidence interval off).")
    book = load_codebook(codebook) if codebook is not None else None
    codings, fragment_list, notes = load_codings(coding_paths, book, fragments, predictions, as_name, merge_coders)
    order = [f.id for f in fragment_list] if fragment_list is not None else None
    data = reliability_data(codings, book, level, order)
    report = agreement_report(data, resamples, seed, f"{book.name} {book.version}" if book else "", notes)
    if len(report.coders) < 2:
        log.warning("only one coder (%s) in the codings: agreement needs two or more.", report.coders[0])
    conditional = [f"{r.dimension} over {r.condition_units} units where the coders agree {r.condition} "
                   f"({r.condition_left_out} left out)" for r in report.dimensions if r.condition]
    if conditional and fmt != "table":
        log.warning("note: conditional dimensions computed over agreed units only: %s.", "; ".join(conditional))

    if fmt == "table":
        text = format_table(report)
    elif fmt == "json":
        text = json.dumps(_finite(report_to_json(report)), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    elif fmt == "csv":
        text = _csv_text(CSV_HEADER, report_rows(report))
    else:
        from .disagreements import disagreement_table

        sheets = report_sheets(report)
        plain = reliability_data(codings, book, level, order, apply_conditions=False)
        sheets = {"figures": sheets.pop("figures"), "disagreements": disagreement_table(plain, fragment_list), **sheets}
        write_xlsx(out, sheets)
        return ""
    if out:
        with atomic_open(out) as handle:
            handle.write(text)
        return ""
    return text
