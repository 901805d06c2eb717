"""The sample model in the skops format: identical predictions, file size and load time against joblib.

Reads a model folder written by `capcode train` (model.skops, loaded with the trusted-type
check), saves the same object as a joblib pickle (capcode's previous format), loads that
back, and compares the probabilities of every dimension on every fragment through the
model's own feature step. Prints the largest difference (0 means identical), the file
sizes, and the best of several load times of each format.

Usage: python benchmarks/model_format.py [MODEL_DIR] [FRAGMENTS] [--rounds N]
       (default: models/sample and out/fragments.jsonl, as `make demo` writes them)
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best_time(function, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv=None):
    import numpy as np

    from pipeline.features import fragment_matrix
    from pipeline.files import read_fragments
    from pipeline.modelfile import check_estimators, load_model, save_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", nargs="?", default=str(ROOT / "models" / "sample"))
    parser.add_argument("fragments", nargs="?", default=str(ROOT / "out" / "fragments.jsonl"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    import joblib

    new_path = Path(args.model_dir) / "model.skops"
    stored = load_model(new_path)
    new = check_estimators(stored, new_path)
    fragments = fragment_matrix(list(read_fragments(args.fragments)))
    with tempfile.TemporaryDirectory() as tmp:
        old_path = Path(tmp) / "model.joblib"
        joblib.dump(stored, old_path, compress=3)
        old_stored = load_model(old_path, trust_pickle=True)
        old = check_estimators(old_stored, old_path)
        X_new = stored["features"].transform(fragments)
        X_old = old_stored["features"].transform(fragments)
        largest = 0.0
        for dimension in new:
            difference = np.abs(new[dimension].predict_proba(X_new) - old[dimension].predict_proba(X_old)).max()
            largest = max(largest, float(difference))
        print(f"{len(fragments)} fragments, {len(new)} dimensions: largest difference in probability {largest:g}")
        print(f"model.joblib {old_path.stat().st_size / 1e6:.1f} MB, model.skops {new_path.stat().st_size / 1e6:.1f} MB")
        joblib_s = best_time(lambda: load_model(old_path, trust_pickle=True), args.rounds)
        skops_s = best_time(lambda: load_model(new_path), args.rounds)
        print(f"load (best of {args.rounds}): joblib {joblib_s:.2f} s, skops with the trusted-type check "
              f"{skops_s:.2f} s ({skops_s / joblib_s:.1f}x)")


if __name__ == "__main__":
    import logging

    logging.getLogger("capcode").setLevel(logging.ERROR)  # the trust warning is expected here
    main()
