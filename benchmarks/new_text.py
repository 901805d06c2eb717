"""`capcode segment` on text it has never seen, next to the bare tokenizer (issue 17).

benchmarks/scale.py times segment on 1M words made from the sample study, whose vocabulary is
small (about 1,500 distinct chunks between spaces): after its first files every chunk recurs,
and both segment's chunk word counts (pipeline/wordcounts.py) and spaCy's tokenizer cache
profit. Real interviews bring new words for longer. This script times the first pass over
Dutch text without repeats: the sentences of the two UD Dutch test sets and the paragraphs of
the study's report in ../shared (about 55,000 words), cut into paragraphs and written as
transcripts with I:/R: turns. In each of --runs fresh processes, segment and a bare
`spacy.blank("nl")` tokenizer (one call per paragraph segment cuts into sentences: reference
B of scale.py) are first warmed on the sample study's transcripts (code, imports, the
pipeline's start-up), then each makes its first pass over the new text (CPU seconds), and a
second. `--code DIR` times another checkout's capcode (a before/after pair).

Needs ../shared beside the checkout (it is not part of a user's clone).

Usage: python benchmarks/new_text.py [--runs 5] [--code DIR]
"""

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import ROOT, SAMPLE, capcode_of, cut_paragraphs, digest, load, quiet_log  # noqa: E402

SHARED = ROOT.parent / "shared"
TREEBANKS = [SHARED / "data" / "ud-dutch" / name for name in ("nl_alpino-ud-test.conllu", "nl_lassysmall-ud-test.conllu")]
REPORT = SHARED / "seed"


def new_text_corpus(folder: Path) -> Path:
    """Transcripts of the treebanks' sentences (1-4 to a paragraph) and the report's paragraphs,
    shuffled (seed 1), 20 paragraphs to a file, short ones the interviewer's."""
    sentences = [line[len("# text = "):].strip() for path in TREEBANKS
                 for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# text = ")]
    report = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted(REPORT.glob("*.txt")))
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", report) if len(part.split()) > 5]
    chance = random.Random(1)
    at = 0
    while at < len(sentences):
        size = chance.randint(1, 4)
        paragraphs.append(" ".join(sentences[at:at + size]))
        at += size
    chance.shuffle(paragraphs)
    target = folder / "new"
    target.mkdir()
    for number, start in enumerate(range(0, len(paragraphs), 20), 1):
        lines = [("I: " if k % 2 == 0 and len(p.split()) < 25 else "R: ") + p
                 for k, p in enumerate(paragraphs[start:start + 20])]
        (target / f"case{number % 7 + 1}_respondent{number}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return target


def child(corpus: Path, code: Path) -> dict:
    """One process's figures: first and second pass of segment and of the bare tokenizer."""
    import spacy

    capcode_of(code)
    from pipeline.config import SegmentParams
    from pipeline.segment import run_segment, segmenting_nlp

    quiet_log()
    params = SegmentParams()
    segmenting_nlp(params)
    tokenizer = spacy.blank("nl").tokenizer
    with tempfile.TemporaryDirectory(prefix="capcode-new-text-") as folder:
        out = Path(folder) / "fragments.jsonl"
        run_segment([SAMPLE], out, params)  # warm: code, imports, start-up
        [tokenizer(text) for text in cut_paragraphs(SAMPLE)]
        cut = cut_paragraphs(corpus)
        figures = {"words": sum(len(text.split()) for text in cut)}
        for attempt in ("first", "second"):
            start = time.process_time()
            run_segment([corpus], out, params)
            figures[f"segment {attempt}"] = time.process_time() - start
            start = time.process_time()
            [tokenizer(text) for text in cut]
            figures[f"tokenizer {attempt}"] = time.process_time() - start
        figures["sha256"] = digest(out)
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose capcode is timed")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.code)))
        return
    if not all(path.is_file() for path in TREEBANKS) or not list(REPORT.glob("*.txt")):
        sys.exit(f"new_text.py: needs ../shared beside the checkout ({SHARED} not found or incomplete).")
    with tempfile.TemporaryDirectory(prefix="capcode-new-text-") as folder:
        corpus = new_text_corpus(Path(folder))
        runs = [json.loads(subprocess.run([sys.executable, __file__, "--child", str(corpus), "--code", str(args.code)],
                                          check=True, capture_output=True, text=True).stdout)
                for _ in range(args.runs)]
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0] if key != "sha256"}
    print(f"segment on new text ({int(median['words']):,} words of respondent paragraphs, no repeats; code: "
          f"{args.code}), CPU seconds, median of {args.runs} processes; {load()}")
    for attempt in ("first", "second"):
        seg, tok = median[f"segment {attempt}"], median[f"tokenizer {attempt}"]
        ratios = ", ".join("%.2f" % (run["tokenizer " + attempt] / run["segment " + attempt]) for run in runs)
        print(f"{attempt:7s} pass  segment {seg:6.3f}  tokenizer B {tok:6.3f}  ratio B {tok / seg:5.2f}  "
              f"(each process: {ratios})")
    print(f"output sha256 {runs[0]['sha256'][:12]}" + ("" if len({r['sha256'] for r in runs}) == 1 else " (differs between runs!)"))


if __name__ == "__main__":
    main()
