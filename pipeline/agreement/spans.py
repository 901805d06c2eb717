"""Krippendorff's alpha-U for coders' own text spans: the formulas, on sorted interval arrays.

A *unitizing* study: each coder marks the stretches of a continuum (here: the characters of the
transcripts) that carry a value, and leaves the rest uncoded. Per value c, each coder's marks cut
the continuum into *units* (coded stretches) and *gaps*. Krippendorff's alpha-U compares the coders'
segmentations with the squared lengths by which they miss each other:

- delta(g, h) for a segment g of one coder that overlaps a segment h of another:
  both units: (b_g - b_h)^2 + (e_g - e_h)^2 (their starts and ends differ);
  a unit inside a gap of the other: its length squared; any other pair: 0;
- observed D_o,c = sum over ordered coder pairs and overlapping segments of delta / (m (m-1) L^2);
- expected D_e,c = (2 / L) sum_u [ (N_c - 1) (2 l_u^3 - 3 l_u^2 + l_u) / 3
                                    + l_u^2 sum_{gaps k with g_k >= l_u} (g_k - l_u + 1) ]
                   / [ m L (m L - 1) - sum_u l_u (l_u - 1) ],
  over all N_c units u and all gaps of all m coders (a unit placed anywhere it fits);
- alpha_c = 1 - D_o,c / D_e,c; over all values of a dimension 1 - sum_c D_o,c / sum_c D_e,c.

Krippendorff, K. (1995). On the reliability of unitizing contiguous data. Sociological Methodology
25, 47-76. Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology, 2nd ed.,
Sage, pp. 251-256 (the worked example on p. 254). Reference implementation: DKPro Statistics'
`KrippendorffAlphaUnitizingAgreement` (Meyer, Mieskes, Stab & Gurevych 2014, DKPro Agreement,
COLING 2014 demos); tests/test_spans.py checks capcode against its output and tests.

Several sources: the continuum is the sources laid end to end (L = their total length), and a gap
ends where its source ends, so a unit is never imagined straddling two interviews in D_e. Spans
of one coder and value must not overlap (span_units.py merges them first); touching spans stay two
units, as in Krippendorff's (1995) examples.

Everything here is interval arithmetic on sorted boundaries (`searchsorted`, `bincount`), never a
loop over characters; quantities that add up over sources are kept per source so that the
bootstrap (resampling sources) and per-source figures are weighted sums.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np


@dataclass(frozen=True, eq=False)
class Units:
    """One coder's units of one value: sorted, non-overlapping [start, end) on the continuum.

    `source` is the index of the source holding each unit; positions count from the start of the
    continuum (the sources laid end to end, see `bounds`).
    """

    start: np.ndarray
    end: np.ndarray
    source: np.ndarray

    @property
    def length(self) -> np.ndarray:
        return self.end - self.start

    def __len__(self) -> int:
        return len(self.start)


def make_units(start, end, source) -> Units:
    """Units from arrays in any order (sorted here); they must not overlap each other."""
    start, end, source = (np.asarray(a, dtype=np.int64) for a in (start, end, source))
    order = np.argsort(start, kind="stable")
    return Units(start[order], end[order], source[order].astype(np.intp))


def bounds_of(lengths) -> np.ndarray:
    """Where each source starts on the continuum, and where the last ends (S + 1 offsets)."""
    return np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))])


def overlapping_pairs(a: Units, b: Units) -> tuple:
    """(i, j): every pair of a unit of `a` and a unit of `b` that share at least one character.

    Both are sorted and free of overlaps, so their ends are sorted too: the units of b overlapping
    a's unit i run from the first that ends after i starts to the last that starts before i ends.
    At most len(a) + len(b) - 1 pairs.
    """
    low = np.searchsorted(b.end, a.start, side="right")
    high = np.searchsorted(b.start, a.end, side="left")
    counts = np.maximum(high - low, 0)
    i = np.repeat(np.arange(len(a)), counts)
    first = np.cumsum(counts) - counts
    j = low[i] + (np.arange(len(i)) - first[i])
    return i, j


@dataclass(frozen=True, eq=False)
class PairTerms:
    """Two coders on one value, per source: their summed delta and the characters both coded."""

    delta: np.ndarray     # (S,) sum of delta over the segment pairs of the two coders, each pair once
    both: np.ndarray      # (S,) characters coded by both


def pair_terms(a: Units, b: Units, n_sources: int) -> PairTerms:
    """The observed-disagreement terms of two coders: overlapping units differ by their squared
    start and end differences; a unit that overlaps none of the other's lies inside a gap and
    counts its squared length."""
    i, j = overlapping_pairs(a, b)
    d_start = (a.start[i] - b.start[j]).astype(float)
    d_end = (a.end[i] - b.end[j]).astype(float)
    shared = (np.minimum(a.end[i], b.end[j]) - np.maximum(a.start[i], b.start[j])).astype(float)
    lone_a = np.bincount(i, minlength=len(a)) == 0
    lone_b = np.bincount(j, minlength=len(b)) == 0
    length_a, length_b = a.length.astype(float), b.length.astype(float)
    delta = (np.bincount(a.source[i], weights=d_start * d_start + d_end * d_end, minlength=n_sources)
             + np.bincount(a.source[lone_a], weights=length_a[lone_a] ** 2, minlength=n_sources)
             + np.bincount(b.source[lone_b], weights=length_b[lone_b] ** 2, minlength=n_sources))
    both = np.bincount(a.source[i], weights=shared, minlength=n_sources)
    return PairTerms(delta, both)


def coded_characters(units: Units, n_sources: int) -> np.ndarray:
    """(S,) characters each source has inside the coder's units."""
    return np.bincount(units.source, weights=units.length.astype(float), minlength=n_sources)


def gaps(units: Units, bounds: np.ndarray) -> tuple:
    """(lengths, sources) of the stretches between a coder's units, each ending at its source's end.

    A source without units is one gap; touching units leave no gap between them.
    """
    n_sources = len(bounds) - 1
    if len(units) == 0:
        lengths = np.diff(bounds)
        return lengths[lengths > 0], np.flatnonzero(lengths > 0)
    source = units.source
    same = np.zeros(len(units), dtype=bool)
    same[1:] = source[1:] == source[:-1]
    previous_end = np.where(same, np.concatenate([[0], units.end[:-1]]), bounds[source])
    before = units.start - previous_end
    last_end = bounds[:-1].copy()
    is_last = np.ones(len(units), dtype=bool)
    is_last[:-1] = ~same[1:]
    last_end[source[is_last]] = units.end[is_last]
    after = bounds[1:] - last_end
    lengths = np.concatenate([before, after])
    sources = np.concatenate([source, np.arange(n_sources)])
    keep = lengths > 0
    return lengths[keep], sources[keep]


@dataclass(frozen=True, eq=False)
class ValueTerms:
    """What alpha-U of one value needs for a set of m coders on a set of sources.

    Per-source arrays (S,) are zero outside the chosen sources; weighting them by how often a
    bootstrap resample draws each source gives that resample's sums.
    """

    n_coders: int
    length: np.ndarray        # characters per source
    observed: np.ndarray      # sum of delta over unordered coder pairs
    count: np.ndarray         # units
    cubic: np.ndarray         # sum of (2 l^3 - 3 l^2 + l) / 3 over units
    square: np.ndarray        # sum of l (l - 1) over units
    unit_length: np.ndarray
    unit_source: np.ndarray
    gap_length: np.ndarray    # sorted
    gap_source: np.ndarray


def sorted_gaps(units: Units, bounds: np.ndarray) -> tuple:
    """`gaps`, sorted by length (so that several coders' gaps sort again in linear time)."""
    length, source = gaps(units, bounds)
    order = np.argsort(length, kind="stable")
    return length[order], source[order]


def value_terms(units: Sequence[Units], deltas: Sequence[np.ndarray], lengths, keep=None,
                gap_parts: Optional[Sequence[tuple]] = None) -> ValueTerms:
    """Terms of one value for the coders whose `units` are given (all sources of the continuum),
    with `deltas` the per-source delta of each of their unordered pairs, restricted to the sources
    where `keep` is true (default: all). `gap_parts` may give each coder's `sorted_gaps`."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n_sources = len(lengths)
    keep = np.ones(n_sources, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    bounds = bounds_of(lengths)
    unit_length = np.concatenate([u.length for u in units] + [np.zeros(0, np.int64)])
    unit_source = np.concatenate([u.source for u in units] + [np.zeros(0, np.intp)])
    gap_parts = [sorted_gaps(u, bounds) for u in units] if gap_parts is None else gap_parts
    gap_length = np.concatenate([g for g, _ in gap_parts] + [np.zeros(0, np.int64)])
    gap_source = np.concatenate([s for _, s in gap_parts] + [np.zeros(0, np.intp)])
    inside, gap_inside = keep[unit_source], keep[gap_source]
    unit_length, unit_source = unit_length[inside], unit_source[inside]
    gap_length, gap_source = gap_length[gap_inside], gap_source[gap_inside]
    order = np.argsort(gap_length, kind="stable")
    l = unit_length.astype(float)
    per_source = lambda weights: np.bincount(unit_source, weights=weights, minlength=n_sources)
    observed = np.sum(deltas, axis=0) if len(deltas) else np.zeros(n_sources)
    return ValueTerms(
        n_coders=len(units), length=np.where(keep, lengths, 0).astype(float),
        observed=np.where(keep, observed, 0.0), count=per_source(np.ones(len(l))),
        cubic=per_source((2 * l ** 3 - 3 * l ** 2 + l) / 3.0), square=per_source(l * (l - 1)),
        unit_length=unit_length, unit_source=unit_source,
        gap_length=gap_length[order], gap_source=gap_source[order])


def _unit_gap_weighted(terms: ValueTerms, weights: np.ndarray, method: str = "auto") -> np.ndarray:
    """sum_u l_u^2 sum_{gaps g >= l_u} (g - l_u + 1), every unit and gap weighted by its source's
    weight, for each row of `weights` (B x S).

    Two exact ways, the cheaper one chosen: 'suffix' sorts the gaps by length (the gaps a unit
    fits in are then a suffix; per row, suffix sums of the gaps' weights K and weighted lengths G
    give sum (g - l + 1) = G - (l - 1) K), costing B x (gaps + units); 'lengths' tabulates, per
    source, the units of each distinct length and the gaps at least that long, so that all rows are
    two matrix products, costing B x sources x distinct unit lengths (the bootstrap's way).
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    n_gaps, n_units = len(terms.gap_length), len(terms.unit_length)
    if n_units == 0 or n_gaps == 0:
        return np.zeros(len(weights))
    if method == "auto":
        distinct = len(np.unique(terms.unit_length)) if len(weights) > 4 else n_units
        method = "lengths" if len(terms.length) * distinct <= 100 * (n_gaps + n_units) else "suffix"
    return (_by_lengths if method == "lengths" else _by_suffix)(terms, weights)


def _first_fitting(sorted_lengths: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """searchsorted(sorted_lengths, lengths, 'left'); through a table of every length up to the
    longest when that is short (character counts usually are), which is many times faster."""
    longest = int(lengths.max()) if len(lengths) else 0
    if longest <= 8 * len(lengths) + 1024:
        return np.searchsorted(sorted_lengths, np.arange(longest + 1), side="left")[lengths]
    return np.searchsorted(sorted_lengths, lengths, side="left")


def _by_suffix(terms: ValueTerms, weights: np.ndarray) -> np.ndarray:
    n_gaps, n_units = len(terms.gap_length), len(terms.unit_length)
    out = np.zeros(len(weights))
    position = _first_fitting(terms.gap_length, terms.unit_length)
    l = terms.unit_length.astype(float)
    square, cube = l * l, l * l * (l - 1.0)
    gap = terms.gap_length.astype(float)
    block = max(1, 2_000_000 // (n_gaps + n_units))
    for first in range(0, len(weights), block):
        w = weights[first:first + block]
        gap_weight = w[:, terms.gap_source]
        fits = np.zeros((len(w), n_gaps + 1))
        fits[:, :n_gaps] = np.cumsum(gap_weight[:, ::-1], axis=1)[:, ::-1]
        fitted = np.zeros((len(w), n_gaps + 1))
        fitted[:, :n_gaps] = np.cumsum((gap_weight * gap)[:, ::-1], axis=1)[:, ::-1]
        inner = square * fitted[:, position] - cube * fits[:, position]
        out[first:first + block] = np.einsum("bu,bu->b", w[:, terms.unit_source], inner)
    return out


def _by_lengths(terms: ValueTerms, weights: np.ndarray, chunk: int = 0) -> np.ndarray:
    """Per distinct unit length l_d and source t: units N[t, d], gaps at least l_d long K[t, d] and
    their summed lengths G[t, d]; a row w gives sum_d l_d^2 (wN)_d ((wG)_d - (l_d - 1)(wK)_d).
    Columns are done in chunks from the longest length down, carrying the gaps longer than a chunk."""
    n_sources = len(terms.length)
    lengths, unit_index = np.unique(terms.unit_length, return_inverse=True)
    n_lengths = len(lengths)
    gap_index = np.searchsorted(lengths, terms.gap_length, side="right")   # the gap fits lengths[:index]
    gap = terms.gap_length.astype(float)
    chunk = chunk or max(1, 4_000_000 // (n_sources + len(weights)))
    carry_count, carry_sum = np.zeros(n_sources), np.zeros(n_sources)
    out = np.zeros(len(weights))
    for high in range(n_lengths, 0, -chunk):
        low = max(0, high - chunk)
        width = high - low
        inside = (gap_index > low) & (gap_index <= high)
        cell = terms.gap_source[inside] * (width + 1) + (gap_index[inside] - low)
        counts = np.bincount(cell, minlength=n_sources * (width + 1)).reshape(n_sources, width + 1)[:, 1:]
        sums = np.bincount(cell, weights=gap[inside], minlength=n_sources * (width + 1)).reshape(
            n_sources, width + 1)[:, 1:]
        fits = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1] + carry_count[:, None]
        fitted = np.cumsum(sums[:, ::-1], axis=1)[:, ::-1] + carry_sum[:, None]
        carry_count = carry_count + counts.sum(axis=1)
        carry_sum = carry_sum + sums.sum(axis=1)
        mine = (unit_index >= low) & (unit_index < high)
        units = np.bincount(terms.unit_source[mine] * width + (unit_index[mine] - low),
                            minlength=n_sources * width).reshape(n_sources, width).astype(float)
        l = lengths[low:high].astype(float)
        out += ((weights @ units) * (weights @ (fitted - (l - 1.0) * fits)) * (l * l)).sum(axis=1)
    return out


def disagreements(terms: ValueTerms, weights: Optional[np.ndarray] = None) -> tuple:
    """(D_o, D_e) of one value: floats, or arrays (B,) for source weights B x S (a bootstrap).

    NaN where there is no continuum (L = 0) or fewer than two coders.
    """
    single = weights is None
    w = np.ones((1, len(terms.length))) if single else np.atleast_2d(np.asarray(weights, dtype=float))
    m = float(terms.n_coders)
    length = w @ terms.length
    observed, count = w @ terms.observed, w @ terms.count
    cubic, square = w @ terms.cubic, w @ terms.square
    fitted = _unit_gap_weighted(terms, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_o = 2.0 * observed / (m * (m - 1.0) * length * length)
        d_e = (2.0 / length) * ((count - 1.0) * cubic + fitted) / (m * length * (m * length - 1.0) - square)
    bad = (length <= 0) | (m < 2)
    d_o, d_e = np.where(bad, np.nan, d_o), np.where(bad, np.nan, np.where(count > 0, d_e, 0.0))
    return (float(d_o[0]), float(d_e[0])) if single else (d_o, d_e)


def per_source_disagreements(terms: ValueTerms) -> tuple:
    """(D_o, D_e) arrays (S,): alpha-U's terms for every source taken as a continuum of its own.

    The unit-gap sum runs within each source: gaps and units keyed by (source, length) and sorted,
    a unit fits the gaps of its own source from its length up.
    """
    n_sources = len(terms.length)
    m = float(terms.n_coders)
    fitted = np.zeros(n_sources)
    if len(terms.unit_length) and len(terms.gap_length):
        span = int(max(terms.gap_length.max(), terms.unit_length.max())) + 2
        key = terms.gap_source.astype(np.int64) * span + terms.gap_length
        order = np.argsort(key, kind="stable")
        key, gap = key[order], terms.gap_length[order].astype(float)
        low = np.searchsorted(key, terms.unit_source.astype(np.int64) * span + terms.unit_length, side="left")
        high = np.searchsorted(key, (terms.unit_source.astype(np.int64) + 1) * span, side="left")
        total = np.concatenate([[0.0], np.cumsum(gap)])
        l = terms.unit_length.astype(float)
        inner = (total[high] - total[low]) - (l - 1.0) * (high - low)
        fitted = np.bincount(terms.unit_source, weights=l * l * inner, minlength=n_sources)
    length = terms.length
    with np.errstate(divide="ignore", invalid="ignore"):
        d_o = 2.0 * terms.observed / (m * (m - 1.0) * length * length)
        d_e = (2.0 / length) * ((terms.count - 1.0) * terms.cubic + fitted) / (
            m * length * (m * length - 1.0) - terms.square)
    bad = (length <= 0) | (m < 2)
    return np.where(bad, np.nan, d_o), np.where(bad, np.nan, np.where(terms.count > 0, d_e, 0.0))


def alpha_from(observed, expected):
    """alpha = 1 - D_o / D_e; None (or NaN in arrays) where D_e is 0 or undefined (no units at all)."""
    if np.ndim(observed) == 0:
        if not (np.isfinite(expected) and expected > 0):
            return None
        return float(1.0 - observed / expected)
    observed, expected = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(expected) & (expected > 0), 1.0 - observed / expected, np.nan)


def alpha_u(coders: Sequence[Sequence[tuple]], length: int, begin: int = 0) -> dict:
    """alpha-U of one continuum given as spans: `coders` is one list of (start, end, value) per
    coder. Returns {'alpha_u': ..., 'by_value': {value: (D_o, D_e, alpha)}}.

    A convenience for examples and tests (one source, spans of one coder and value not
    overlapping); capcode's commands go through span_results.py.
    """
    values = sorted({v for spans in coders for _, _, v in spans})
    lengths = [length]
    by_value, total_o, total_e = {}, 0.0, 0.0
    for value in values:
        units = [make_units([s - begin for s, _, v in spans if v == value],
                            [e - begin for _, e, v in spans if v == value],
                            [0 for *_, v in spans if v == value]) for spans in coders]
        deltas = [pair_terms(units[a], units[b], 1).delta
                  for a in range(len(units)) for b in range(a + 1, len(units))]
        d_o, d_e = disagreements(value_terms(units, deltas, lengths))
        by_value[value] = (d_o, d_e, alpha_from(d_o, d_e))
        total_o, total_e = total_o + d_o, total_e + d_e
    return {"alpha_u": alpha_from(total_o, total_e), "by_value": by_value}
