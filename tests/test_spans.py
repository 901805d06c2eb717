"""Span-level agreement formulas: the published examples, DKPro Statistics, an independent
definition-by-definition implementation, and scikit-learn's kappa over characters."""

import json
import math
import warnings
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from pipeline.agreement import characters, spans
from pipeline.agreement.span_results import span_dimension_agreement
from pipeline.agreement.span_units import RawSpan, build_study, merge_overlaps

from conftest import DATA

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Krippendorff (2004), Content Analysis 2nd ed., p. 254: a continuum from 150 to 450, two
# observers, values c and k (as DKPro's Krippendorff2004Test codes it: start, length).
KRIPPENDORFF_2004 = [
    [(225, 295, "c"), (370, 400, "c"), (180, 240, "k"), (300, 350, "k")],
    [(220, 300, "c"), (355, 375, "c"), (400, 420, "c"), (180, 240, "k"), (300, 350, "k")],
]

# Krippendorff (1995), Sociological Methodology 25, p. 57: four two-coder examples on a continuum
# of 24 positions, as (start, length) per coder.
KRIPPENDORFF_1995 = {
    "A": [[(2, 8), (14, 6)], [(4, 4), (15, 2)]],
    "B": [[(0, 18)], [(0, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 3), (9, 1)]],
    "C": [[(2, 6), (10, 2), (14, 4), (20, 2)], [(0, 2), (4, 4), (10, 4), (16, 2), (20, 2)]],
    "D": [[(0, 2), (2, 8), (10, 4), (14, 6), (20, 4)], [(0, 4), (4, 4), (8, 7), (15, 2), (17, 7)]],
}
PUBLISHED_1995 = {"A": 0.553, "B": -0.926, "C": 0.679, "D": 0.066}
OBSERVED_1995 = {"A": 0.03125, "B": 2.26736, "C": 0.02777, "D": 0.38715}   # independent of the length


def example_1995(stretch: int) -> list:
    return [[(o * stretch, (o + n) * stretch, value) for value, coders in KRIPPENDORFF_1995.items()
             for o, n in coders[k]] for k in range(2)]


def test_krippendorff_2004_example():
    result = spans.alpha_u(KRIPPENDORFF_2004, 300, begin=150)
    d_o, d_e, alpha_c = result["by_value"]["c"]
    assert round(d_o, 4) == 0.0144 and round(d_e, 4) == 0.0532
    assert round(alpha_c, 4) == 0.7286
    k_o, k_e, alpha_k = result["by_value"]["k"]
    assert k_o == 0.0 and round(k_e, 4) == 0.0490 and alpha_k == 1.0
    # 0.8591 is 1 - (0.0144 + 0) / (0.0532 + 0.0490) from the rounded terms; unrounded 0.85867.
    assert result["alpha_u"] == pytest.approx(0.8591, abs=5e-4)
    assert round(1 - (round(d_o, 4) + round(k_o, 4)) / (round(d_e, 4) + round(k_e, 4)), 4) == 0.8591


def test_krippendorff_2004_distances():
    """The distances of Krippendorff's (2004) worked pairs (DKPro's testDistanceMetric2)."""
    one = lambda a, b: spans.pair_terms(spans.make_units(*a), spans.make_units(*b), 1).delta[0]
    assert one(([225], [295], [0]), ([220], [300], [0])) == 50.0
    assert one(([370], [400], [0]), ([355], [375], [0])) == 850.0
    assert one(([], [], []), ([400], [420], [0])) == 400.0   # a unit inside the other's gap


def test_krippendorff_1995_examples_on_a_long_continuum():
    short = spans.alpha_u(example_1995(1), 24)["by_value"]
    long = spans.alpha_u(example_1995(50000), 24 * 50000)["by_value"]
    for value, observed in OBSERVED_1995.items():
        assert short[value][0] == pytest.approx(observed, abs=1e-5)
        assert long[value][0] == pytest.approx(observed, abs=1e-5)
    # A and D as published to three decimals; B and C within DKPro's own tolerance (0.02): the
    # paper's D_e for them carries a small error (DKPro's Krippendorff1995Test says so), and
    # capcode equals DKPro there to 1e-12 (test_equals_dkpro_statistics).
    assert round(long["A"][2], 3) == PUBLISHED_1995["A"]
    assert round(long["D"][2], 3) == PUBLISHED_1995["D"]
    assert long["B"][2] == pytest.approx(PUBLISHED_1995["B"], abs=0.005)
    assert long["C"][2] == pytest.approx(PUBLISHED_1995["C"], abs=0.02)
    assert long["A"][1] == pytest.approx(0.06990, abs=5e-5) and long["D"][1] == pytest.approx(0.41445, abs=5e-5)


def dkpro_cases():
    return json.loads((DATA / "dkpro_unitizing" / "cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", dkpro_cases(), ids=lambda c: c.get("name", f"random{len(c['units'])}"))
def test_equals_dkpro_statistics(case):
    coders = [[(o, o + n, v) for o, n, r, v in case["units"] if r == k] for k in range(case["raters"])]
    result = spans.alpha_u(coders, case["length"], case["begin"])
    for value, (d_o, d_e, alpha) in case["dkpro"]["by_category"].items():
        got_o, got_e, got_alpha = result["by_value"][value]
        assert got_o == pytest.approx(d_o, rel=1e-12, abs=1e-15)
        assert got_e == pytest.approx(d_e, rel=1e-12, abs=1e-15)
        if d_o != d_e:  # DKPro reports 0 for 0/0; capcode leaves it undefined
            assert got_alpha == pytest.approx(alpha, rel=1e-10, abs=1e-12)
    if not math.isnan(case["dkpro"]["alpha_u"]):
        assert result["alpha_u"] == pytest.approx(case["dkpro"]["alpha_u"], rel=1e-10, abs=1e-12)


# ---- an independent implementation, one definition at a time, over several sources ------------


def segments(units, length):
    """A coder's segmentation of one source: (start, end, is_unit) in order, gaps between units."""
    out, at = [], 0
    for start, end in sorted(units):
        if start > at:
            out.append((at, start, False))
        out.append((start, end, True))
        at = end
    if at < length:
        out.append((at, length, False))
    return out


def delta(g, h):
    (gs, ge, g_unit), (hs, he, h_unit) = g, h
    if min(ge, he) <= max(gs, hs):
        return 0
    if g_unit and h_unit:
        return (gs - hs) ** 2 + (ge - he) ** 2
    if g_unit and hs <= gs and ge <= he:
        return (ge - gs) ** 2
    if h_unit and gs <= hs and he <= ge:
        return (he - hs) ** 2
    return 0


def reference_alpha(coders, lengths):
    """coders: per coder, per source, a list of (start, end) of one value. Returns (D_o, D_e)."""
    m, total = len(coders), sum(lengths)
    observed = 0
    for a, b in combinations(range(m), 2):
        for s, length in enumerate(lengths):
            sa, sb = segments(coders[a][s], length), segments(coders[b][s], length)
            observed += sum(delta(g, h) for g in sa for h in sb)
    units = [e - b for coder in coders for source in coder for b, e in source]
    gap_lengths = [e - b for coder in coders for s, length in enumerate(lengths)
                   for b, e, unit in segments(coder[s], length) if not unit]
    n = len(units)
    fitted = sum(l * l * sum(g - l + 1 for g in gap_lengths if g >= l) for l in units)
    cubic = sum((2 * l ** 3 - 3 * l ** 2 + l) / 3 for l in units)
    d_o = 2 * observed / (m * (m - 1) * total ** 2)
    d_e = (2 / total) * ((n - 1) * cubic + fitted) / (m * total * (m * total - 1) - sum(l * (l - 1) for l in units))
    return d_o, d_e


@st.composite
def unitized(draw, max_coders=4, max_sources=4):
    """Per coder, per source, non-overlapping (possibly touching) units; and the source lengths."""
    lengths = draw(st.lists(st.integers(1, 60), min_size=1, max_size=max_sources))
    coders = []
    for _ in range(draw(st.integers(2, max_coders))):
        per_source = []
        for length in lengths:
            cuts = sorted(draw(st.sets(st.integers(0, length), max_size=8)))
            pieces = list(zip(cuts, cuts[1:]))
            per_source.append([p for p in pieces if draw(st.booleans())])
        coders.append(per_source)
    return coders, lengths


def as_units(coder, lengths):
    bounds = spans.bounds_of(lengths)
    items = [(bounds[s] + b, bounds[s] + e, s) for s, source in enumerate(coder) for b, e in source]
    return spans.make_units([i[0] for i in items], [i[1] for i in items], [i[2] for i in items])


@FAST
@given(unitized())
def test_vectorised_terms_equal_the_definitions(data):
    coders, lengths = data
    units = [as_units(c, lengths) for c in coders]
    pairs = list(combinations(range(len(units)), 2))
    deltas = [spans.pair_terms(units[a], units[b], len(lengths)).delta for a, b in pairs]
    d_o, d_e = spans.disagreements(spans.value_terms(units, deltas, lengths))
    want_o, want_e = reference_alpha(coders, lengths)
    assert d_o == pytest.approx(want_o, rel=1e-9, abs=1e-12)
    assert d_e == pytest.approx(want_e, rel=1e-9, abs=1e-12)
    # each source alone, and a subset of sources, as continua of their own
    terms = spans.value_terms(units, deltas, lengths)
    per_o, per_e = spans.per_source_disagreements(terms)
    for s, length in enumerate(lengths):
        one_o, one_e = reference_alpha([[c[s]] for c in coders], [length])
        assert per_o[s] == pytest.approx(one_o, rel=1e-9, abs=1e-12)
        assert per_e[s] == pytest.approx(one_e, rel=1e-9, abs=1e-12)
    keep = np.arange(len(lengths)) % 2 == 0
    sub_o, sub_e = spans.disagreements(spans.value_terms(units, deltas, lengths, keep))
    kept = np.flatnonzero(keep)
    want_o, want_e = reference_alpha([[c[s] for s in kept] for c in coders], [lengths[s] for s in kept])
    assert sub_o == pytest.approx(want_o, rel=1e-9, abs=1e-12) and sub_e == pytest.approx(want_e, rel=1e-9, abs=1e-12)


@FAST
@given(unitized(), st.integers(0, 2**31))
def test_bootstrap_weights_equal_a_study_with_the_drawn_sources(data, seed):
    """Weighting sources by how often a resample draws them equals building that study."""
    coders, lengths = data
    units = [as_units(c, lengths) for c in coders]
    pairs = list(combinations(range(len(units)), 2))
    deltas = [spans.pair_terms(units[a], units[b], len(lengths)).delta for a, b in pairs]
    terms = spans.value_terms(units, deltas, lengths)
    draw = np.random.default_rng(seed).integers(0, len(lengths), size=len(lengths))
    weights = np.bincount(draw, minlength=len(lengths))[None, :].astype(float)
    got_o, got_e = spans.disagreements(terms, weights)
    want_o, want_e = reference_alpha([[c[s] for s in draw] for c in coders], [lengths[s] for s in draw])
    assert got_o[0] == pytest.approx(want_o, rel=1e-9, abs=1e-12)
    assert got_e[0] == pytest.approx(want_e, rel=1e-9, abs=1e-12)


@FAST
@given(unitized(), st.integers(0, 2**31))
def test_both_ways_of_summing_units_in_gaps_agree(data, seed):
    coders, lengths = data
    units = [as_units(c, lengths) for c in coders]
    terms = spans.value_terms(units, [], lengths)
    weights = np.random.default_rng(seed).integers(0, 3, (5, len(lengths))).astype(float)
    by_suffix = spans._by_suffix(terms, weights) if len(terms.unit_length) and len(terms.gap_length) else 0
    for chunk in (0, 1, 3):
        by_lengths = spans._by_lengths(terms, weights, chunk) if len(terms.unit_length) and len(terms.gap_length) else 0
        assert np.allclose(by_suffix, by_lengths, rtol=1e-12, atol=1e-9)


def test_gaps_end_at_source_boundaries():
    units = spans.make_units([2, 12], [5, 20], [0, 1])      # sources of 10 and 10 characters
    lengths, sources = spans.gaps(units, spans.bounds_of([10, 10]))
    assert sorted(zip(lengths.tolist(), sources.tolist())) == [(2, 0), (2, 1), (5, 0)]
    lengths, sources = spans.gaps(spans.make_units([], [], []), spans.bounds_of([10, 0, 7]))
    assert lengths.tolist() == [10, 7] and sources.tolist() == [0, 2]


def test_merge_overlaps_joins_overlapping_but_not_touching_spans():
    group = np.array([0, 0, 0, 0, 1])
    start = np.array([0, 3, 10, 12, 3])
    end = np.array([5, 8, 12, 15, 4])
    g, s, e, merged = merge_overlaps(group, start, end)
    assert list(zip(g.tolist(), s.tolist(), e.tolist())) == [(0, 0, 8), (0, 10, 12), (0, 12, 15), (1, 3, 4)]
    assert merged == 1
    g, s, e, merged = merge_overlaps(np.array([0, 0, 0]), np.array([0, 1, 2]), np.array([10, 3, 12]))
    assert (s.tolist(), e.tolist(), merged) == ([0], [12], 2)


# ---- character kappa against scikit-learn --------------------------------------------------------


@st.composite
def span_sets(draw):
    lengths = draw(st.lists(st.integers(1, 80), min_size=1, max_size=4))
    rows = []
    for coder in ("anna", "ben"):
        rows.append(RawSpan("t", "s0.txt", 0, 1, coder, "d", "x"))   # both coded source 0
        for s, length in enumerate(lengths):
            for _ in range(draw(st.integers(0, 5))):
                start = draw(st.integers(0, length - 1))
                end = draw(st.integers(start + 1, length))
                rows.append(RawSpan("t", f"s{s}.txt", start, end, coder, "d", draw(st.sampled_from("xyz"))))
            rows.append(RawSpan("t", f"s{s}.txt", 0, 1, coder, "e", "x"))  # every source coded by both
    texts = {f"s{s}.txt": "a" * length for s, length in enumerate(lengths)}
    return texts, rows


def character_arrays(texts, rows, coder, value, source=None):
    out = []
    for name in sorted(texts):
        if source is not None and name != source:
            continue
        marks = np.zeros(len(texts[name]), dtype=bool)
        for r in rows:
            if r.coder == coder and r.value == value and r.source == name and r.dimension == "d":
                marks[r.start:r.end] = True
        out.append(marks)
    return np.concatenate(out)


def sklearn_kappa(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(a, b)
    return None if math.isnan(value) else value


@FAST
@given(span_sets())
def test_character_kappa_equals_scikit_learn_over_the_character_arrays(data):
    texts, rows = data
    study = build_study(texts, rows)
    result = span_dimension_agreement(study, 0, resamples=0)
    for figures in result.by_value:
        a = character_arrays(texts, rows, "anna", figures.value)
        b = character_arrays(texts, rows, "ben", figures.value)
        want = sklearn_kappa(a, b)
        if want is None:
            assert figures.character_kappa is None
        else:
            assert figures.character_kappa == pytest.approx(want, abs=1e-9)
        assert figures.character_agreement == pytest.approx(100.0 * np.mean(a == b), abs=1e-9)
    for figures in result.per_source:
        for k, source in enumerate(figures.sources):
            a = character_arrays(texts, rows, "anna", figures.value, source)
            b = character_arrays(texts, rows, "ben", figures.value, source)
            want = sklearn_kappa(a, b)
            got = figures.pair_kappa[0, k]
            assert np.isnan(got) == (want is None)
            if want is not None:
                assert got == pytest.approx(want, abs=1e-9) and figures.character_kappa[k] == pytest.approx(want)
            assert figures.pair_tables[0, k].tolist() == [np.sum(a & b), np.sum(a & ~b), np.sum(~a & b),
                                                          np.sum(~a & ~b)]


def test_light_kappa_is_the_mean_of_the_defined_pairs():
    assert characters.light_kappa(np.array([0.2, 0.4, np.nan])) == pytest.approx(0.3)
    assert np.isnan(characters.light_kappa(np.array([np.nan, np.nan])))
    table = characters.character_tables(10, 10, 10, 10)   # both coded everything: p_e = 1
    assert np.isnan(characters.table_kappa(table))
