"""Benchmark: span-level agreement for 10 coders x 1,000 sources x 50,000 characters.

Synthetic study: every source has passages of a 3-value dimension (about one per 1,000
characters, 200-1,500 characters long); each coder marks each passage with its value with
p = 0.85 (else another value, or nothing), moves both ends by up to 60 characters, and now and
then marks an extra passage of its own. Prints, in the same run:

- capcode's whole span analysis of the dimension (`span_dimension_agreement`: alpha-U over all
  coders and per value, D_o and D_e; character kappa and agreement per value for all 45 pairs;
  alpha-U per pair; per-source figures), without and with the 1,000-resample bootstrap;
- the baseline: alpha-U computed the way DKPro Statistics' reference implementation does it
  (a Python walk over both coders' segments for every pair, value and source, and a loop over
  every unit and the gaps it fits for D_e), timed on smaller studies (10 and 40 sources: its
  time grows faster than the number of sources) beside capcode's alpha-U alone on the same
  studies; the two results are checked to agree.

Run: .venv/bin/python benchmarks/spans.py [--coders 10] [--sources 1000] [--characters 50000]
"""

import argparse
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

from pipeline.agreement import spans
from pipeline.agreement.span_results import span_dimension_agreement
from pipeline.agreement.span_units import SpanDimension, SpanStudy, merge_overlaps
from pipeline.agreement.statistics import single_threaded_blas

VALUES = ("a", "b", "c")


def synthetic_study(n_coders: int, n_sources: int, n_characters: int, rng) -> SpanStudy:
    """A SpanStudy built straight from arrays (no file reading): see the module docstring."""
    per_source = max(1, n_characters // 1000)
    n = n_sources * per_source
    source = np.repeat(np.arange(n_sources), per_source)
    slot = n_characters / per_source
    centre = (np.tile(np.arange(per_source), n_sources) + 0.5) * slot
    half = rng.integers(100, 750, n)
    truth_start = np.clip(centre - half, 0, n_characters - 2).astype(np.int64)
    truth_end = np.clip(centre + half, truth_start + 1, n_characters).astype(np.int64)
    truth_value = rng.integers(0, len(VALUES), n)
    parts = []
    for c in range(n_coders):
        marked = rng.random(n) < 0.95
        value = np.where(rng.random(n) < 0.85, truth_value, rng.integers(0, len(VALUES), n))
        start = np.clip(truth_start + rng.integers(-60, 61, n), 0, n_characters - 1)
        end = np.clip(truth_end + rng.integers(-60, 61, n), start + 1, n_characters)
        parts.append((np.full(marked.sum(), c), value[marked], source[marked], start[marked], end[marked]))
        extra = rng.random(n) < 0.05
        k = int(extra.sum())
        extra_start = rng.integers(0, n_characters - 300, k)
        parts.append((np.full(k, c), rng.integers(0, len(VALUES), k), source[extra], extra_start,
                      extra_start + rng.integers(20, 300, k)))
    coder, value, src, start, end = (np.concatenate(column) for column in zip(*parts))
    group = (coder * len(VALUES) + value) * n_sources + src
    group, start, end, _ = merge_overlaps(group, start, end)
    src, rest = group % n_sources, group // n_sources
    dim = SpanDimension("dimension", VALUES, rest // len(VALUES), rest % len(VALUES), src, start, end)
    lengths = np.full(n_sources, n_characters, dtype=np.int64)
    return SpanStudy(tuple(f"s{i:04d}" for i in range(n_sources)), lengths, ("",) * n_sources,
                     tuple(f"coder{c}" for c in range(n_coders)), np.ones((n_coders, n_sources), dtype=bool), (dim,))


def segment_walk_alpha(study: SpanStudy) -> float:
    """alpha-U as DKPro Statistics computes it: for every value and pair of coders, walk both
    coders' segmentations (units and gaps) together and add each overlapping pair's distance;
    D_e from a loop over every unit against the sorted gap lengths. Pure Python loops."""
    dim = study.dimensions[0]
    m, total = len(study.coders), int(study.lengths.sum())
    sum_o = sum_e = 0.0
    for v in range(len(dim.values)):
        segments = {}
        for c in range(m):
            for s, length in enumerate(study.lengths):
                mine = (dim.coder == c) & (dim.value == v) & (dim.source == s)
                at, out = 0, []
                for b, e in sorted(zip(dim.start[mine].tolist(), dim.end[mine].tolist())):
                    if b > at:
                        out.append((at, b, False))
                    out.append((b, e, True))
                    at = e
                if at < length:
                    out.append((at, int(length), False))
                segments[c, s] = out
        observed = 0.0
        for a, b in combinations(range(m), 2):
            for s in range(len(study.lengths)):
                first, second = segments[a, s], segments[b, s]
                i = j = 0
                while i < len(first) and j < len(second):
                    (gs, ge, gu), (hs, he, hu) = first[i], second[j]
                    if gu and hu:
                        observed += (gs - hs) ** 2 + (ge - he) ** 2
                    elif gu and hs <= gs and ge <= he:
                        observed += (ge - gs) ** 2
                    elif hu and gs <= hs and he <= ge:
                        observed += (he - hs) ** 2
                    if ge <= he:
                        i += 1
                    if he <= ge:
                        j += 1
        units = [e - b for seg in segments.values() for b, e, u in seg if u]
        gaps = sorted((e - b for seg in segments.values() for b, e, u in seg if not u), reverse=True)
        n = len(units)
        fitted = cubic = square = 0.0
        for l in units:
            cubic += (2 * l ** 3 - 3 * l ** 2 + l) / 3
            square += l * (l - 1)
            inner = 0
            for g in gaps:
                if g < l:
                    break
                inner += g - l + 1
            fitted += l * l * inner
        sum_o += 2 * observed / (m * (m - 1) * total ** 2)
        sum_e += (2 / total) * ((n - 1) * cubic + fitted) / (m * total * (m * total - 1) - square)
    return 1 - sum_o / sum_e


def capcode_alpha(study: SpanStudy) -> float:
    """capcode's alpha-U over all coders alone (like for like with the segment walk)."""
    dim, bounds, lengths = study.dimensions[0], study.bounds, study.lengths
    members = range(len(study.coders))
    total_o = total_e = 0.0
    for v in range(len(dim.values)):
        units = [dim.units(c, v, bounds) for c in members]
        deltas = [spans.pair_terms(units[a], units[b], len(lengths)).delta for a, b in combinations(members, 2)]
        d_o, d_e = spans.disagreements(spans.value_terms(units, deltas, lengths))
        total_o, total_e = total_o + d_o, total_e + d_e
    return 1 - total_o / total_e


def end_to_end(study: SpanStudy, folder: Path, resamples: int) -> tuple:
    """Write the study as a span CSV and transcripts, then time `run_span_agreement` (JSON out)."""
    from pipeline.agreement.span_run import run_span_agreement
    from pipeline.files import write_table

    transcripts = folder / "transcripts"
    transcripts.mkdir()
    for name, length in zip(study.sources, study.lengths):
        (transcripts / f"{name}.txt").write_text("x" * (int(length) - 1) + "\n", encoding="utf-8")
    dim = study.dimensions[0]
    write_table(folder / "spans.csv", ("source", "start_char", "end_char", "coder", "dimension", "value"),
                [(f"{study.sources[s]}.txt", int(b), int(e), study.coders[c], dim.dimension, dim.values[v])
                 for s, b, e, c, v in zip(dim.source, dim.start, dim.end, dim.coder, dim.value)])
    return timed(lambda: run_span_agreement([folder / "spans.csv"], transcripts, out=folder / "out.json",
                                            resamples=resamples, seed=1))


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coders", type=int, default=10)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--characters", type=int, default=50_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--csv-sources", type=int, default=100,
                        help="sources in the end-to-end run from a CSV file and transcripts (0: skip)")
    parser.add_argument("--baseline-sources", type=int, nargs="+", default=[10, 40],
                        help="sources of the smaller studies on which the segment walk is timed")
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    with single_threaded_blas():
        t_build, study = timed(lambda: synthetic_study(args.coders, args.sources, args.characters, rng))
        dim = study.dimensions[0]
        print(f"data: {args.coders} coders x {args.sources:,} sources x {args.characters:,} characters "
              f"({int(study.lengths.sum()):,} per coder), {len(dim.start):,} spans, 3 values "
              f"(built in {t_build:.1f} s)")
        t_plain, plain = timed(lambda: span_dimension_agreement(study, 0, resamples=0))
        print(f"capcode, no bootstrap:           {t_plain:7.2f} s   alpha-U {plain.alpha_u:.4f}   "
              f"({len(plain.pairs)} pairs; per-source figures for {len(plain.per_source[0].sources):,} sources)")
        t_boot, boot = timed(lambda: span_dimension_agreement(study, 0, resamples=args.resamples, seed=1))
        print(f"capcode, {args.resamples:,}-resample bootstrap: {t_boot:7.2f} s   95% CI "
              f"[{boot.interval.low:.4f}, {boot.interval.high:.4f}]")

        if args.csv_sources:
            small = synthetic_study(args.coders, args.csv_sources, args.characters, np.random.default_rng(5))
            with tempfile.TemporaryDirectory() as folder:
                t_csv, _ = end_to_end(small, Path(folder), args.resamples)
            print(f"end to end, {args.csv_sources} sources ({len(small.dimensions[0].start):,} spans) from a CSV "
                  f"and .txt transcripts, {args.resamples:,} resamples, JSON out: {t_csv:.2f} s")
        for n_sources in args.baseline_sources:
            small = synthetic_study(args.coders, n_sources, args.characters, np.random.default_rng(7))
            t_alpha, ours = timed(lambda: capcode_alpha(small))
            t_walk, walk = timed(lambda: segment_walk_alpha(small))
            assert abs(ours - walk) < 1e-9, (ours, walk)
            print(f"baseline, {n_sources} sources ({len(small.dimensions[0].start):,} spans), alpha-U only: "
                  f"segment walk {t_walk:6.2f} s   capcode {t_alpha:6.3f} s   ratio {t_walk / t_alpha:5.0f}x   "
                  f"(both {walk:.6f})")

if __name__ == "__main__":
    main()
