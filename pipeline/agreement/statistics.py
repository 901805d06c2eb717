"""The agreement statistics, as pure functions on numpy arrays, each with its published definition.

The data of one dimension is a *reliability data matrix* `codes` (coders x units) of value
indices, -1 where a coder did not code a unit (Krippendorff 2011). Most statistics need only the
*value counts* `counts` (units x values): how many coders gave unit u value c. Units coded by
fewer than two coders carry no information on agreement: they are missing data, not
disagreement, and every statistic below leaves them out of its agreement term.

A statistic that is undefined for the data at hand (no variation, no overlap, ...) is returned as
None, never as NaN. The conventional readings of kappa (Landis & Koch 1977) and alpha
(Krippendorff 2004) are at the end.
"""

import math
from itertools import combinations
from typing import Optional, Sequence

import numpy as np

LEVELS = ("nominal", "ordinal", "interval")


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
