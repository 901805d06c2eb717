"""Where `capcode segment`'s CPU time goes, stage by stage, next to the bare tokenizer (issue 17).

Each stage of `run_segment` is timed on its own over the same corpus as benchmarks/scale.py
builds ('long': interview-length files; 'copies': the sample's short files copied), in one
process, start-up excluded: reading the files, finding speaker turns, deciding the interviewer,
choosing the turns and their paragraphs, finding the sentences (and of that: the word counts
of the paragraphs from their chunks', and the tokenizer's calls alone on the batches of the
paragraphs cut into sentences), and grouping sentences into fragments and writing
their lines. The stages' sum is a little below `run_segment` (the glue between them is not
timed). Reference B of scale.py (the bare tokenizer, one call per paragraph) is timed too.
Each figure is the minimum of --runs runs (the machine is shared: the minimum is the least
disturbed run).

Usage: python benchmarks/segment_stages.py [--words 1000000] [--corpus long|copies] [--runs 5]
"""

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import corpus_copies, corpus_long, load  # noqa: E402


def fastest(work, runs: int):
    """(the least CPU seconds of `runs` calls of `work`, its result)."""
    times, result = [], None
    for _ in range(runs):
        start = time.process_time()
        result = work()
        times.append(time.process_time() - start)
    return min(times), result


def stages(folder: Path, runs: int) -> dict:
    import spacy

    from pipeline import units
    from pipeline.config import SegmentParams
    from pipeline.interviewer import decide
    from pipeline.readers import read_document
    from pipeline.records import Transcript
    from pipeline.segment import _paragraph_sentences, _selected_turns, file_jobs, line_maker, segmenting_nlp
    from pipeline.turns import parse_turns
    from pipeline.wordcounts import chunk_words

    params = SegmentParams()
    nlp = segmenting_nlp(params)
    jobs = file_jobs([folder])
    seconds = {}
    seconds["read"], documents = fastest(lambda: [read_document(job.path) for job in jobs], runs)
    seconds["turns"], splits = fastest(lambda: [parse_turns(d.text, job.source, params.interviewer_labels, d.speakers)
                                                for d, job in zip(documents, jobs)], runs)
    seconds["interviewer"], decisions = fastest(lambda: [decide(split.turns, job.source)
                                                         for split, job in zip(splits, jobs)], runs)
    transcripts = [Transcript(job.info, d.text, decision.apply(split.turns))
                   for job, d, split, decision in zip(jobs, documents, splits, decisions)]

    def paragraphs():
        chosen = [_selected_turns(transcript, params) for transcript in transcripts]
        return [[(turn, context, start, end, continued) for turn, context in turns
                 for start, end, continued in units.paragraphs(transcript.text, turn.start_char, turn.end_char)]
                for transcript, turns in zip(transcripts, chosen)]

    seconds["paragraphs"], pieces = fastest(paragraphs, runs)
    texts = [t.text[start:end] for t, parts in zip(transcripts, pieces) for _, _, start, end, _ in parts]
    starts = [start for parts in pieces for _, _, start, _, _ in parts]
    flat = [part for parts in pieces for part in parts]  # a paragraph in pieces is not given whole (transcripts_records)
    whole = [not part[4] and not (n + 1 < len(flat) and flat[n + 1][4]) for n, part in enumerate(flat)]
    seconds["sentences"], found = fastest(lambda: list(units.sentence_spans(texts, nlp, params.max_words, starts,
                                                                            whole)), runs)
    counter = chunk_words(nlp.tokenizer)  # the words of the paragraphs given whole, from their chunks'
    seconds["  of which word counts"], counts = fastest(lambda: counter.counts(texts), runs)
    rest = [text for text, count, alone in zip(texts, counts, whole)  # the paragraphs cut into sentences
            if not (alone and text and count is not None and count <= params.max_words)]
    specials = units.special_spellings(nlp.tokenizer)
    batches = [[batch[n] for n in units.cache_friendly_order(batch, specials)] for batch in units._batches(rest)]
    seconds["  of which tokenizer"], _ = fastest(lambda: [nlp.tokenizer(units.SEPARATOR.join(b)) for b in batches],
                                                 runs)

    def lines():
        sentences, out = iter(found), []
        for transcript, parts in zip(transcripts, pieces):
            line = line_maker(transcript)
            for turn, context, spans in _paragraph_sentences(parts, sentences):
                for group in units.group_sentences(spans, params.max_words):
                    words = sum(span[2] for span in group)
                    if words:
                        out.append(line(turn, context, group[0][0], group[-1][1], words))
        return "".join(out)

    seconds["fragments"], _ = fastest(lines, runs)
    tokenizer = spacy.blank("nl").tokenizer
    cut = [transcript.text[start:end] for transcript, parts in zip(transcripts, pieces)
           for turn, _, start, end, _ in parts if not turn.is_interviewer]
    [tokenizer(text) for text in cut]  # warm, as scale.py warms its references
    seconds["reference B"], _ = fastest(lambda: [tokenizer(text) for text in cut], runs)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--corpus", choices=["long", "copies"], default="long")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    log = logging.getLogger("capcode")
    log.handlers[:] = [logging.NullHandler()]
    log.propagate = False
    with tempfile.TemporaryDirectory(prefix="capcode-stages-") as folder:
        corpus = (corpus_long if args.corpus == "long" else corpus_copies)(Path(folder), args.words)
        seconds = stages(corpus, args.runs)
    print(f"segment stages, CPU seconds ({args.corpus}, {args.words:,} words, least of {args.runs} runs); {load()}")
    for name, value in seconds.items():
        print(f"{name:22s} {value:6.3f}")
    total = sum(value for name, value in seconds.items() if not name.startswith(" ") and name != "reference B")
    print(f"{'stages together':22s} {total:6.3f}   reference B / stages: {seconds['reference B'] / total:.2f}")


if __name__ == "__main__":
    main()
