"""Classifier speed benchmark: train and predict on synthetic corpora of 1k, 10k and 100k fragments.

The corpus is built from real fragments (by default the sample study, segmented
on the fly; or --fragments/--codings): every synthetic fragment joins two
sentences-worth of text from two random real fragments (so each text is new and
no cache helps), belongs to one of seven cases, and takes the codes of its
first source fragment. Each size runs in its own subprocess per stage, so peak
memory (ru_maxrss) is that stage's alone:

  - train: `run_train` without cross-validation (train.cv_folds 0);
  - predict: `run_predict` to JSON Lines, streaming in batches of 1,000;
  - baseline: lemmatising the same fragments with capcode's spaCy pipeline
    (the floor for any lemma-based model), measured in the same run; the
    ratios say how much the classifier costs on top of reading the words.

Prediction memory must stay bounded: the script prints predict peak memory at
the largest size relative to the smallest.

Usage: python benchmarks/classifier.py [--sizes 1000,10000,100000] [--fragments F --codings C]
"""

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "data" / "sample"
CASES = 7


def sample_inputs(workdir: Path):
    """Segment the sample study into fragments; return (fragments path, codings path)."""
    fragments = workdir / "sample_fragments.jsonl"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "segment", str(SAMPLE / "transcripts"), "--manifest",
                    str(SAMPLE / "manifest.csv"), "--out", str(fragments)], check=True, cwd=ROOT)
    return fragments, SAMPLE / "codings" / "team.csv"


def synthetic_corpus(fragments_path, codings_path, size: int, out_dir: Path, seed: int = 0):
    """Write `size` synthetic fragments and one coder's codes for them; return (fragments, codings) paths."""
    from pipeline.codebook import load_codebook
    from pipeline.codings import read_codings
    from pipeline.files import read_fragments
    from pipeline.train import agreed_labels

    rng = random.Random(seed)
    base = list(read_fragments(fragments_path))
    codebook = load_codebook("default")
    labels = agreed_labels(read_codings([str(codings_path)], codebook=codebook, fragments=base))
    codes = {}
    for (fragment_id, dimension), value in labels.items():
        codes.setdefault(fragment_id, {})[dimension] = value
    coded = [f for f in base if f.id in codes]
    dimensions = list(codebook.dimension_ids)
    fragments_out, codings_out = out_dir / f"fragments_{size}.jsonl", out_dir / f"codings_{size}.csv"
    with open(fragments_out, "w", encoding="utf-8") as frag_file, \
            open(codings_out, "w", encoding="utf-8", newline="") as code_file:
        writer = csv.writer(code_file)
        writer.writerow(["fragment_id", *dimensions])
        for index in range(size):
            first, second = rng.choice(coded), rng.choice(base)
            words = second.text.split()
            text = f"{first.text} {' '.join(words[: max(1, len(words) // 2)])}"
            source = f"synthetic/case{index % CASES}/r{index % 11}.txt"
            record = {"id": f"{source}#{index * 1000}-{index * 1000 + len(text)}", "source": source,
                      "case": f"Case {index % CASES + 1}", "respondent": str(index % 11), "role": "ambtelijk",
                      "speaker": "R", "turn": index, "start_char": index * 1000,
                      "end_char": index * 1000 + len(text), "text": text, "context": first.context,
                      "n_words": len(text.split())}
            frag_file.write(json.dumps(record, ensure_ascii=False) + "\n")
            writer.writerow([record["id"], *(codes[first.id].get(d, "") for d in dimensions)])
    return fragments_out, codings_out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


def worker(stage: str, fragments: str, codings: str, model: str, out: str) -> dict:
    """Run one stage in this (fresh) process; report seconds and peak memory."""
    from pipeline.config import Params, TrainParams
    from pipeline.features import get_nlp, lemmatise

    params = Params(train=TrainParams(cv_folds=0))
    get_nlp("blank")  # build the spaCy pipeline before timing: a fixed start-up cost, not per fragment
    start_mb = peak_mb()
    started = time.perf_counter()
    if stage == "train":
        from pipeline.train import run_train

        run_train(fragments, [codings], model, params)
    elif stage == "predict":
        from pipeline.predict import run_predict

        run_predict(model, fragments, out, params)
    else:  # baseline: lemmatise every fragment, streaming in batches like predict
        from pipeline.files import read_fragments
        from pipeline.predict import batches

        for batch in batches(read_fragments(fragments), 1000):
            lemmatise([f.text for f in batch])
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "start_mb": start_mb}


def run_stage(stage, fragments, codings, model, out) -> dict:
    result = subprocess.run([sys.executable, __file__, "--worker", stage, str(fragments), str(codings), str(model),
                             str(out)], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--fragments", default=None, help="real fragments to build from (default: the sample study)")
    parser.add_argument("--codings", default=None, help="codes of those fragments")
    parser.add_argument("--worker", nargs=5, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="capcode-bench-") as tmp:
        tmp = Path(tmp)
        if args.fragments:
            fragments, codings = Path(args.fragments), Path(args.codings)
        else:
            fragments, codings = sample_inputs(tmp)
        print(f"{'size':>8} {'stage':<9} {'seconds':>8} {'frag/s':>9} {'peak MB':>8} {'x lemmatise':>12}")
        rows = {}
        for size in sizes:
            corpus, corpus_codes = synthetic_corpus(fragments, codings, size, tmp)
            model, out = tmp / f"model_{size}", tmp / f"predictions_{size}.jsonl"
            results = {stage: run_stage(stage, corpus, corpus_codes, model, out)
                       for stage in ("baseline", "train", "predict")}
            rows[size] = results
            for stage in ("baseline", "train", "predict"):
                r = results[stage]
                ratio = r["seconds"] / results["baseline"]["seconds"]
                print(f"{size:>8} {stage:<9} {r['seconds']:>8.1f} {size / r['seconds']:>9.0f} {r['peak_mb']:>8.0f} "
                      f"{ratio:>12.2f}", flush=True)
        if len(sizes) > 1:
            small, large = rows[sizes[0]]["predict"], rows[sizes[-1]]["predict"]
            print(f"predict peak memory at {sizes[-1]} vs {sizes[0]} fragments: "
                  f"{large['peak_mb'] / small['peak_mb']:.2f}x for {sizes[-1] / sizes[0]:.0f}x the fragments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
