"""What finding speaker turns and deciding the interviewer costs `capcode segment` (issue 17).

The part of `group_records` between a file's plain text and the (turn, context) pairs the
sentence stage receives: parse_turns, the interviewer decision, the log lines, marking the
interviewer turns, the Transcript, and choosing each answer's context (`_selected_turns`).
It is timed where `group_records` runs it, for every group of files as `run_segment` makes
them, with the files already read (read_document answers from memory) and the sentence stage
left out (transcripts_records only chooses the turns): CPU seconds, gc paused, the least of
--runs runs. `--whole` also times `run_segment` itself (one process, gc on, start-up excluded).

`--code DIR` imports capcode from another checkout (e.g. `git archive` of main into a folder),
for before/after pairs run alternately with this one.

Usage: python benchmarks/turn_stages.py [--words 1000000] [--corpus copies|long] [--runs 5] [--code DIR] [--whole]
"""

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fastest(work, runs: int, collect: bool = False):
    """The least CPU seconds of `runs` calls of `work` (gc paused unless `collect`)."""
    times = []
    for _ in range(runs):
        gc.collect()
        if not collect:
            gc.disable()
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
        gc.enable()
    return min(times)


def turns_part(folder: Path, runs: int) -> tuple:
    """(CPU seconds of the part, how many (turn, context) pairs it gives)."""
    from pipeline import segment
    from pipeline.archives import DEFAULT_LIMITS
    from pipeline.config import SegmentParams

    params = SegmentParams()
    jobs = segment.file_jobs([folder])
    groups = segment.job_groups(jobs)
    documents = {job.path: segment.read_document(job.path, DEFAULT_LIMITS) for job in jobs}
    read, chosen = segment.read_document, segment.transcripts_records

    def selected_only(transcripts, nlp, params, unit, maker=None):
        return (segment._selected_turns(transcript, params) for transcript in transcripts)

    segment.read_document = lambda path, limits: documents[path]
    segment.transcripts_records = selected_only
    try:
        def work():
            return [segment.group_records(group, params, "fragment", DEFAULT_LIMITS, nlp=object())
                    for group in groups]

        pairs = sum(len(selected) for found in work() for selected in found if selected)
        return fastest(work, runs), pairs
    finally:
        segment.read_document, segment.transcripts_records = read, chosen


def whole_run(folder: Path, runs: int) -> float:
    from pipeline.config import SegmentParams
    from pipeline.segment import run_segment, segmenting_nlp

    params = SegmentParams()
    segmenting_nlp(params)
    with tempfile.TemporaryDirectory(prefix="capcode-turns-") as out:
        target = Path(out) / "fragments.jsonl"
        run_segment([folder], target, params)  # warm
        return fastest(lambda: run_segment([folder], target, params), runs, collect=True)


def main(argv=None):
    sys.path.insert(0, str(HERE))
    from scale import capcode_of, checkout_arguments, corpus_copies, corpus_long, quiet_log  # this checkout first

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    checkout_arguments(parser)
    parser.add_argument("--whole", action="store_true", help="also time run_segment")
    args = parser.parse_args(argv)
    capcode_of(args.code)
    quiet_log()
    with tempfile.TemporaryDirectory(prefix="capcode-turns-") as folder:
        corpus = (corpus_long if args.corpus == "long" else corpus_copies)(Path(folder), args.words)
        seconds, pairs = turns_part(corpus, args.runs)
        whole = whole_run(corpus, args.runs) if args.whole else None
    print(f"turns and interviewer, CPU seconds ({args.corpus}, {args.words:,} words, least of {args.runs} runs), "
          f"capcode of {args.code.resolve()}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'turns to (turn, context)':28s} {seconds:6.3f}   ({pairs:,} pairs)")
    if whole is not None:
        print(f"{'run_segment (gc on)':28s} {whole:6.3f}")


if __name__ == "__main__":
    main()
