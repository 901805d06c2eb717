"""Benchmark: agreement for 10 coders x 100,000 units x 5 dimensions, bootstrap of 1,000 resamples.

Prints, for the same synthetic data in the same run:
- Krippendorff's alpha (nominal) from the reliability data matrix: capcode next to the
  `krippendorff` package (like for like: both start from a coders x units matrix with gaps);
- capcode's 1,000-resample bootstrap of alpha, next to the `krippendorff` package recomputing
  alpha on resampled units (timed on a few resamples and scaled to 1,000, labelled as such);
- capcode's whole per-dimension analysis (percent agreement, alpha + bootstrap CI, Fleiss,
  Gwet's AC1, Brennan-Prediger, Cohen's kappa for all 45 coder pairs, confusion matrices,
  per-value agreement).

Both run with numpy's BLAS on one thread, as `capcode agreement` does (see
`pipeline.agreement.single_threaded_blas`).

Run: .venv/bin/python benchmarks/agreement.py [--units 100000] [--coders 10] [--resamples 1000]
"""

import argparse
import time

import numpy as np

from pipeline import agreement


def synthetic(n_coders: int, n_units: int, n_values: int, rng) -> np.ndarray:
    """Codes (coders x units): each coder gives the unit's true value with p = 0.8, else a random
    value; 10% of cells are not coded."""
    truth = rng.integers(0, n_values, n_units)
    codes = np.where(rng.random((n_coders, n_units)) < 0.8, truth, rng.integers(0, n_values, (n_coders, n_units)))
    codes[rng.random((n_coders, n_units)) < 0.1] = -1
    return codes


def timed(function, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    with agreement.single_threaded_blas():
        run()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--coders", type=int, default=10)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--csv-units", type=int, default=10_000,
                        help="units in the end-to-end run from a CSV file (0: skip)")
    parser.add_argument("--package-resamples", type=int, default=10,
                        help="resamples timed for the krippendorff package's bootstrap (scaled up)")
    args = parser.parse_args()
    import krippendorff

    rng = np.random.default_rng(2019)
    value_counts = (2, 2, 2, 2, 3)  # the default codebook's five dimensions
    dims = [(f"dim{i + 1}", synthetic(args.coders, args.units, v, rng), v) for i, v in enumerate(value_counts)]
    print(f"data: {args.coders} coders x {args.units:,} units x {len(dims)} dimensions "
          f"(2, 2, 2, 2, 3 values), 10% not coded; bootstrap {args.resamples:,} resamples")

    ours_alpha = theirs_alpha = 0.0
    worst = 0.0
    for name, codes, n_values in dims:
        as_float = np.where(codes >= 0, codes, np.nan).astype(float)
        t_theirs, theirs = timed(lambda: krippendorff.alpha(as_float, level_of_measurement="nominal",
                                                            value_domain=list(range(n_values))), repeat=3)
        t_ours, ours = timed(lambda: agreement.krippendorff_alpha(agreement.unit_value_counts(codes, n_values)),
                             repeat=3)
        ours_alpha += t_ours
        theirs_alpha += t_theirs
        worst = max(worst, abs(ours - theirs))
    print(f"alpha, 5 dimensions:      capcode {ours_alpha:8.3f} s   krippendorff package {theirs_alpha:8.3f} s   "
          f"ratio {theirs_alpha / ours_alpha:5.1f}x   (largest difference {worst:.1e})")

    t_boot = 0.0
    for name, codes, n_values in dims:
        counts = agreement.unit_value_counts(codes, n_values)
        seconds, _ = timed(lambda: agreement.bootstrap_alpha(counts, "nominal", None, args.resamples, seed=1))
        t_boot += seconds
    name, codes, n_values = dims[0]
    as_float = np.where(codes >= 0, codes, np.nan).astype(float)
    start = time.perf_counter()
    for _ in range(args.package_resamples):
        drawn = rng.integers(0, args.units, args.units)
        krippendorff.alpha(as_float[:, drawn], level_of_measurement="nominal", value_domain=list(range(n_values)))
    per_resample = (time.perf_counter() - start) / args.package_resamples
    package_boot = per_resample * args.resamples * len(dims)
    print(f"bootstrap, 5 dimensions:  capcode {t_boot:8.3f} s   krippendorff package looped over resamples "
          f"~{package_boot:8.1f} s (timed {args.package_resamples} resamples, scaled to {args.resamples:,} x 5)   "
          f"ratio ~{package_boot / t_boot:,.0f}x")

    start = time.perf_counter()
    for name, codes, n_values in dims:
        data = agreement.DimensionData(name, "nominal", tuple(str(v) for v in range(n_values)),
                                       tuple(f"coder{i}" for i in range(args.coders)),
                                       tuple(range(args.units)), codes)
        agreement.dimension_agreement(data, args.resamples, seed=1)
    total = time.perf_counter() - start
    print(f"whole analysis, 5 dimensions (all statistics, 45 coder pairs, bootstrap): capcode {total:.3f} s")
    if args.csv_units:
        end_to_end(args.coders, args.csv_units, dims, args.resamples)


def end_to_end(n_coders: int, n_units: int, dims, resamples: int) -> None:
    """Time `capcode agreement` as a researcher runs it: a wide CSV file in, a JSON report out."""
    import csv
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "codings.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["fragment_id", "coder"] + [name for name, _, _ in dims])
            for unit in range(n_units):
                for coder in range(n_coders):
                    values = [codes[coder, unit] for _, codes, _ in dims]
                    if all(v < 0 for v in values):
                        continue
                    writer.writerow([f"f{unit}", f"coder{coder}"] + ["" if v < 0 else f"v{v}" for v in values])
        start = time.perf_counter()
        agreement.run_agreement([path], out=Path(folder) / "agreement.json", resamples=resamples, seed=1)
        seconds = time.perf_counter() - start
    print(f"end to end (read a wide CSV of {n_coders} coders x {n_units:,} units, all statistics, JSON out): "
          f"capcode {seconds:.2f} s")


if __name__ == "__main__":
    main()
