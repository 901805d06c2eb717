"""Speed of segmenting against spaCy's bare Dutch tokenizer on the same texts, in one run.

Three timings, alternately, best of several rounds, as words per second:
- tokenizer: the bare tokenizer of `spacy.blank("nl")` over the plain texts (in memory);
- segmenting: from the same plain texts to fragments (speaker turns, capcode's
  Dutch pipeline, grouping sentences) — the same work as the tokenizer's plus ours;
- whole stage: `iter_units` on the folder, which also reads the files (.docx etc.).

Each timing covers the folder's transcripts `--repeat` times (default 5), so
that the figures are not dominated by start-up costs of a small folder.

Usage: python benchmarks/fragmenting.py [FOLDER] [--rounds N] [--repeat N]
       (default folder: data/sample/transcripts)
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None):
    from pipeline.config import SegmentParams
    from pipeline.readers import read_plain_text
    from pipeline.records import SourceInfo, Transcript
    from pipeline.segment import build_nlp, find_transcripts, iter_units, transcript_units
    from pipeline.turns import parse_turns

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(ROOT / "data" / "sample" / "transcripts"))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import spacy

    nlp = build_nlp()
    tokenizer = spacy.blank("nl").tokenizer
    sources = find_transcripts([args.folder])
    sources = sources * args.repeat
    texts = [read_plain_text(path) for _, path in sources]
    n_words = sum(len(text.split()) for text in texts)
    params = SegmentParams()

    def whole_stage():
        return sum(1 for _ in range(args.repeat) for _ in iter_units([args.folder], params, "fragment", nlp=nlp))

    def segmenting():
        count = 0
        for (source, _), text in zip(sources, texts):
            turns = parse_turns(text, source, params.interviewer_labels).turns
            count += sum(1 for _ in transcript_units(Transcript(SourceInfo(source), text, turns), nlp, params))
        return count

    def tokenize():
        return sum(len(doc) for doc in tokenizer.pipe(texts))

    best = {"tokenizer": float("inf"), "segmenting": float("inf"), "whole stage": float("inf")}
    for _ in range(args.rounds):
        for name, run in (("tokenizer", tokenize), ("segmenting", segmenting), ("whole stage", whole_stage)):
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    fragments = whole_stage()
    print(f"{len(texts) // args.repeat} transcripts x {args.repeat}, {n_words:,} words (whitespace-separated), {fragments} fragments")
    for name, seconds in best.items():
        print(f"{name:12s} {n_words / seconds:12,.0f} words/s  ({seconds:.3f} s, best of {args.rounds})")
    print(f"speed relative to the bare tokenizer: segmenting {best['tokenizer'] / best['segmenting']:.2f}, "
          f"whole stage {best['tokenizer'] / best['whole stage']:.2f}")


if __name__ == "__main__":
    main()
