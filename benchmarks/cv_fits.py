"""CPU seconds of training's learning step alone (`fit_dimensions`), with 5 grouped folds and without,
on a synthetic study's feature matrix built once (issue 17: what cross-validation adds beyond features).

Builds the synthetic study of --size coded fragments (as benchmarks/classifier.py), its default-design
feature matrix and tasks (kept in --work, reused by later runs), then times `fit_dimensions` with
`train.cv_folds` 5 and 0 in this process and prints each dimension's chosen C, temperature and
threshold, so the code of two checkouts can be compared on the same matrix:

    python benchmarks/cv_fits.py --size 10000                       # this checkout
    python benchmarks/cv_fits.py --size 10000 --code /path/to/other  # another checkout, same matrix
"""

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def capture(size: int, work: Path) -> Path:
    """The study's matrix, tasks, widths and spec, pickled once per size (features are not timed)."""
    target = work / f"learning_{size}.pkl"
    if target.exists():
        return target
    sys.path.insert(0, str(HERE))
    import classifier as bench
    import scale
    from pipeline import train
    from pipeline.config import load_params

    fragments = work / "sample.jsonl"
    if not fragments.exists():
        scale.run_child(scale.CAPCODE + ["segment", str(scale.SAMPLE), "--manifest",
                                         str(scale.SAMPLE.parent / "manifest.csv"), "--out", str(fragments)])
    study, codings = bench.synthetic_corpus(fragments, scale.SAMPLE.parent / "codings" / "team.csv", size, work)
    captured, original = {}, train.fit_dimensions

    def keep(spec, matrix, tasks, widths, target_precision, cv_folds, workers=None):
        captured.update(spec=spec, X=matrix, widths=widths, target=target_precision,
                        tasks=[(t.name, t.rows, t.labels, t.groups) for t in tasks])
        return original(spec, matrix, tasks, widths, target_precision, 0, workers=workers)

    train.fit_dimensions = keep
    train.run_train(study, [str(codings)], work / "model", load_params(str(HERE.parent / "params.yaml")))
    target.write_bytes(pickle.dumps(captured))
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--work", default=str(Path("/tmp") / "capcode-cv-fits"), help="folder for the study")
    parser.add_argument("--code", default=str(HERE.parent), help="checkout whose pipeline/ is timed")
    parser.add_argument("--row-space-max", type=int, default=None,
                        help="training rows up to which folds are solved in the row span (default: the code's)")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.code)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    captured = pickle.loads(capture(args.size, work).read_bytes())
    from pipeline.learn import linear
    from pipeline.learn.model import Task, fit_dimensions

    if args.row_space_max is not None:
        linear.ROW_SPACE_MAX = args.row_space_max

    tasks = [Task(*task) for task in captured["tasks"]]
    cpu = {}
    for folds in (5, 0):
        started = time.process_time()
        fits = fit_dimensions(captured["spec"], captured["X"], tasks, captured["widths"], captured["target"], folds)
        cpu[folds] = time.process_time() - started
        if folds:
            decided = {name: {"c": fit.c, "temperature": round(fit.temperature, 4),
                              "threshold": (fit.rule or {}).get("threshold"),
                              "kappa": fit.cv and round(fit.cv["kappa"], 4)} for name, fit in fits.items()}
    print(f"{args.size:,} fragments, code {args.code}: fit_dimensions CPU with 5 folds {cpu[5]:.1f} s, "
          f"without CV {cpu[0]:.1f} s; CV adds {cpu[5] - cpu[0]:.1f} s")
    print(json.dumps(decided, indent=1))


if __name__ == "__main__":
    main()
