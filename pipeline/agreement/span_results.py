"""Every span-level figure of a dimension: alpha-U, character kappa, pairs, sources, intervals.

`span_dimension_agreement` computes, for one dimension of a SpanStudy,
- over all its coders, on the sources every one of them coded: alpha-U over all values and per
  value (with D_o and D_e), character kappa and percent agreement per value (Cohen's for two
  coders, Light's mean of the pairs for more), each with a seeded bootstrap interval that
  resamples sources;
- for every pair of coders, on the sources both coded: the same figures;
- per source: alpha-U, character kappa and agreement per value (the table and workbook show them).
What is undefined is None with a plain note, as in the fragment statistics.
"""

import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import Optional

import numpy as np

from .bootstrap import BootstrapInterval, dimension_seed
from .characters import as_optional, character_tables, light_kappa, table_agreement, table_kappa
from .span_units import SpanStudy
from .spans import (alpha_from, coded_characters, disagreements, pair_terms, per_source_disagreements, sorted_gaps,
                    value_terms)
from .statistics import single_threaded_blas

FEW_SOURCES = 10


@dataclass(frozen=True)
class ValueFigures:
    """One value over all coders of the dimension."""

    value: str
    n_units: int
    coded_characters: tuple        # per coder, in SpanDimensionAgreement.coders order
    observed: Optional[float]
    expected: Optional[float]
    alpha_u: Optional[float]
    alpha_interval: BootstrapInterval
    character_kappa: Optional[float]
    character_agreement: Optional[float]   # percent
    kappa_interval: BootstrapInterval


@dataclass(frozen=True)
class PairValue:
    """One value for one pair of coders; `table` holds characters (both, a only, b only, neither)."""

    value: str
    observed: Optional[float]
    expected: Optional[float]
    alpha_u: Optional[float]
    character_kappa: Optional[float]
    character_agreement: Optional[float]
    table: tuple


@dataclass(frozen=True)
class PairFigures:
    coder_a: str
    coder_b: str
    n_sources: int
    n_characters: int
    alpha_u: Optional[float]
    by_value: tuple


@dataclass(frozen=True, eq=False)
class SourceFigures:
    """One value on each source every coder coded, as arrays over those sources (NaN: undefined):
    alpha-U of all coders there, character kappa and agreement (Cohen's for two coders, Light's
    mean of the pairs for more), and per pair of coders (in `SpanDimensionAgreement.pairs` order)
    their kappa, agreement and character tables (both, a only, b only, neither)."""

    value: str
    sources: tuple
    characters: np.ndarray
    alpha_u: np.ndarray
    character_kappa: np.ndarray
    character_agreement: np.ndarray
    pair_kappa: np.ndarray        # (pairs, sources)
    pair_agreement: np.ndarray    # (pairs, sources)
    pair_tables: np.ndarray       # (pairs, sources, 4)


@dataclass(frozen=True, eq=False)
class SpanDimensionAgreement:
    dimension: str
    values: tuple
    coders: tuple
    n_sources: int
    n_characters: int
    sources_left_out: int
    observed: Optional[float]
    expected: Optional[float]
    alpha_u: Optional[float]
    interval: BootstrapInterval
    by_value: tuple
    pairs: tuple
    per_source: tuple             # SourceFigures per value
    merged: tuple
    notes: tuple


@dataclass(frozen=True)
class SpanAgreementReport:
    dimensions: tuple
    coders: tuple
    n_sources: int
    codebook: str = ""
    resamples: int = 1000
    seed: int = 0
    notes: tuple = ()


def _interval(samples: np.ndarray, resamples: int, seed: int, confidence: float = 0.95) -> BootstrapInterval:
    samples = np.asarray(samples, dtype=float)
    defined = samples[np.isfinite(samples)]
    if resamples <= 0 or len(defined) == 0:
        return BootstrapInterval(None, None, max(resamples, 0), int(len(defined)), seed)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(defined, [tail, 1.0 - tail])
    return BootstrapInterval(float(low), float(high), resamples, int(len(defined)), seed)


def _source_weights(keep: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(B, S): how often each source is drawn when the kept sources are resampled with replacement."""
    chosen = np.flatnonzero(keep)
    weights = np.zeros((resamples, len(keep)))
    if len(chosen) and resamples > 0:
        rng = np.random.default_rng(seed)
        weights[:, chosen] = rng.multinomial(len(chosen), np.full(len(chosen), 1.0 / len(chosen)), size=resamples)
    return weights


def _sum_alpha(parts) -> Optional[float]:
    observed = sum(o for o, _ in parts if np.isfinite(o))
    expected = sum(e for _, e in parts if np.isfinite(e))
    return alpha_from(observed, expected) if parts else None


def _optional(x) -> Optional[float]:
    return None if x is None else as_optional(x)


def span_dimension_agreement(study: SpanStudy, index: int, resamples: int = 1000, seed: int = 0) -> SpanDimensionAgreement:
    """All span-level figures of the dimension `study.dimensions[index]`."""
    with single_threaded_blas():
        return _dimension(study, index, resamples, seed)


def _dimension(study: SpanStudy, index: int, resamples: int, seed: int) -> SpanDimensionAgreement:
    dim = study.dimensions[index]
    members = dim.coders()
    names = tuple(study.coders[c] for c in members)
    n_sources, bounds, lengths = len(study.sources), study.bounds, study.lengths
    common = study.coded[list(members)].all(axis=0) if members else np.zeros(n_sources, dtype=bool)
    coded_any = study.coded[list(members)].any(axis=0) if members else common
    notes = [f"{name}'s overlapping spans with the same value were merged into one ({count} span(s) merged "
             "away)." for name, count in dim.merged]
    left_out = int((coded_any & ~common).sum())
    pairs = list(combinations(range(len(members)), 2))
    dseed = dimension_seed(seed, dim.dimension)
    weights = _source_weights(common, resamples, dseed) if len(members) >= 2 else np.zeros((0, n_sources))

    by_value, value_parts, value_samples = [], [], []
    pair_parts = {p: [] for p in pairs}
    pair_values = {p: [] for p in pairs}
    per_source = []
    for v, value in enumerate(dim.values):
        units = [dim.units(c, v, bounds) for c in members]
        terms = {p: pair_terms(units[p[0]], units[p[1]], n_sources) for p in pairs}
        coded = [coded_characters(u, n_sources) for u in units]
        tables = {(a, b): character_tables(coded[a], coded[b], terms[(a, b)].both, lengths) for a, b in pairs}
        gap_parts = [sorted_gaps(u, bounds) for u in units]
        everyone = value_terms(units, [terms[p].delta for p in pairs], lengths, common, gap_parts)
        d_o, d_e = disagreements(everyone) if pairs else (np.nan, np.nan)
        value_parts.append((d_o, d_e))
        kappas = np.array([table_kappa(tables[p][common].sum(axis=0)) for p in pairs]) if pairs else np.zeros(0)
        agreements = np.array([table_agreement(tables[p][common].sum(axis=0)) for p in pairs]) if pairs else np.zeros(0)
        if len(weights):
            sample_o, sample_e = disagreements(everyone, weights)
            sample_k = light_kappa(np.stack([table_kappa(weights @ tables[p]) for p in pairs]))
        else:
            sample_o = sample_e = sample_k = np.zeros(0)
        value_samples.append((sample_o, sample_e))
        by_value.append(ValueFigures(
            value, int(everyone.count.sum()), tuple(int(c[common].sum()) for c in coded),
            _optional(d_o), _optional(d_e), alpha_from(d_o, d_e) if pairs else None,
            _interval(alpha_from(sample_o, sample_e), resamples, dseed, ) if len(weights) else _interval([], resamples, dseed),
            as_optional(light_kappa(kappas)) if pairs else None,
            as_optional(np.nanmean(agreements)) if pairs and np.isfinite(agreements).any() else None,
            _interval(sample_k, resamples, dseed) if len(weights) else _interval([], resamples, dseed)))
        for p in pairs:
            keep = study.coded[members[p[0]]] & study.coded[members[p[1]]]
            two = value_terms([units[p[0]], units[p[1]]], [terms[p].delta], lengths, keep,
                              [gap_parts[p[0]], gap_parts[p[1]]])
            p_o, p_e = disagreements(two)
            pair_parts[p].append((p_o, p_e))
            table = tables[p][keep].sum(axis=0)
            pair_values[p].append(PairValue(value, _optional(p_o), _optional(p_e), alpha_from(p_o, p_e),
                                            as_optional(table_kappa(table)), as_optional(table_agreement(table)),
                                            tuple(int(x) for x in table)))
        if pairs:
            per_source.append(_source_figures(study, common, everyone, value, pairs, tables))

    alpha = _sum_alpha(value_parts) if pairs else None
    if len(weights):
        total_o = np.sum([np.where(np.isfinite(o), o, 0.0) for o, _ in value_samples], axis=0)
        total_e = np.sum([np.where(np.isfinite(e), e, 0.0) for _, e in value_samples], axis=0)
        interval = _interval(alpha_from(total_o, total_e), resamples, dseed)
    else:
        interval = _interval([], resamples, dseed)
    pair_figures = []
    for p in pairs:
        keep = study.coded[members[p[0]]] & study.coded[members[p[1]]]
        pair_figures.append(PairFigures(names[p[0]], names[p[1]], int(keep.sum()), int(lengths[keep].sum()),
                                        _sum_alpha(pair_parts[p]) if keep.any() else None, tuple(pair_values[p])))
    notes += _notes(dim, names, common, left_out, by_value, pair_figures, interval, alpha)
    observed = sum(o for o, _ in value_parts if np.isfinite(o)) if pairs and common.any() else None
    expected = sum(e for _, e in value_parts if np.isfinite(e)) if pairs and common.any() else None
    return SpanDimensionAgreement(
        dim.dimension, dim.values, names, int(common.sum()), int(lengths[common].sum()), left_out,
        _optional(observed), _optional(expected), alpha, interval, tuple(by_value), tuple(pair_figures),
        tuple(per_source), dim.merged, tuple(notes))


def _source_figures(study, common, everyone, value, pairs, tables) -> SourceFigures:
    """Per-source figures of one value over the sources every coder coded."""
    d_o, d_e = per_source_disagreements(everyone)
    chosen = np.flatnonzero(common)
    pair_tables = np.stack([tables[p][chosen] for p in pairs])
    pair_kappa, pair_agreement = table_kappa(pair_tables), table_agreement(pair_tables)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # a source without any defined pair: NaN
        agreement = np.nanmean(pair_agreement, axis=0)
    return SourceFigures(value, tuple(study.sources[s] for s in chosen), study.lengths[chosen],
                         alpha_from(d_o, d_e)[chosen], light_kappa(pair_kappa), agreement,
                         pair_kappa, pair_agreement, pair_tables)


def _notes(dim, names, common, left_out, by_value, pairs, interval, alpha) -> list:
    notes = []
    if len(names) < 2:
        who = f"only one coder ({names[0]})" if names else "no coder"
        notes.append(f"{who} marked spans on this dimension: agreement needs at least two coders, so every "
                     "statistic is undefined (null).")
        return notes
    if not common.any():
        notes.append("no source was coded by every coder of this dimension: the figures over all coders are "
                     "undefined; see the pairs of coders.")
    if left_out:
        notes.append(f"{left_out} source(s) coded by only some of the coders are left out of the figures over all "
                     "coders (a coder coded a source when they marked at least one span in it).")
    for figures in by_value:
        if figures.alpha_u is None and common.any():
            notes.append(f"value '{figures.value}': no coder marked it on the compared sources, so its alpha-U is "
                         "0/0 and undefined.")
    if common.any() and 0 < int(common.sum()) < FEW_SOURCES and interval.resamples:
        notes.append(f"the bootstrap resamples sources; with {int(common.sum())} source(s) its interval is rough.")
    for pair in pairs:
        if pair.n_sources == 0:
            notes.append(f"{pair.coder_a} and {pair.coder_b} coded no source in common: their figures are undefined.")
    if interval.resamples and interval.defined < interval.resamples and alpha is not None:
        notes.append(f"{interval.resamples - interval.defined} of {interval.resamples} bootstrap resamples had "
                     "no coded span and were left out of the interval.")
    return notes


def span_agreement_report(study: SpanStudy, resamples: int = 1000, seed: int = 0, codebook=None) -> SpanAgreementReport:
    """Span-level agreement of every dimension; each dimension's bootstrap seeded by `seed` and its name."""
    notes = list(study.notes)
    if codebook is not None:
        conditional = [d.dimension for d in study.dimensions if codebook.dimension(d.dimension).condition is not None]
        if conditional:
            notes.append(f"conditions ({', '.join(conditional)}) are not applied to spans: a passage one coder "
                         "marked and another left unmarked counts as disagreement, whatever the reason.")
        ordered = [d.dimension for d in study.dimensions if codebook.dimension(d.dimension).level != "nominal"]
        if ordered:
            notes.append(f"alpha-U and character kappa treat values as categories: the codebook's level of "
                         f"{', '.join(ordered)} is not used.")
    dimensions = tuple(span_dimension_agreement(study, i, resamples, seed) for i in range(len(study.dimensions)))
    name = f"{codebook.name} {codebook.version}" if codebook is not None else ""
    return SpanAgreementReport(dimensions, study.coders, len(study.sources), name, resamples, seed, tuple(notes))
