"""What finding and reading the transcripts costs `capcode segment`, on its own and inside a run.

The per-file work before speaker turns: listing the files and their metadata (`file_jobs`),
the file sizes that weigh the groups of files (`_size`), and reading each file into plain
text (`read_document`). Timed two ways, CPU seconds, the least of --runs runs:

- on its own: each step for all the files of the corpus, one after the other;
- inside `run_segment` (one process, start-up excluded): the same functions timed where
  run_segment calls them (a clock around each call), next to the whole run. Inside a run the
  same work costs more than on its own: spaCy's work between groups of files leaves the
  readers' code and data out of the processor's caches.

`--code DIR` imports capcode from another checkout (e.g. `git archive` of main into a folder),
for before/after pairs run alternately with this one.

Usage: python benchmarks/reading.py [--words 1000000] [--corpus copies|long] [--runs 5] [--code DIR]
"""

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fastest(work, runs: int):
    """(the least CPU seconds of `runs` calls of `work`, gc paused, its result)."""
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        gc.disable()
        start = time.process_time()
        result = work()
        times.append(time.process_time() - start)
        gc.enable()
    return min(times), result


def on_its_own(folder: Path, runs: int) -> dict:
    from pipeline import segment
    from pipeline.readers import read_document

    seconds = {}
    seconds["file_jobs"], jobs = fastest(lambda: segment.file_jobs([folder]), runs)
    seconds["_size"], _ = fastest(lambda: [segment._size(job.path) for job in jobs], runs)
    seconds["read_document"], _ = fastest(lambda: [read_document(job.path) for job in jobs], runs)
    for suffix in (".txt", ".docx", ".vtt"):
        some = [job for job in jobs if job.path.endswith(suffix)]
        seconds[f"  of which {suffix} ({len(some)})"], _ = fastest(lambda: [read_document(j.path) for j in some], runs)
    return seconds


def inside_a_run(folder: Path, out: Path, runs: int) -> dict:
    from pipeline import segment
    from pipeline.config import SegmentParams

    spent = {}

    def clocked(name, function):
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - start
        return timed

    originals = {name: getattr(segment, name) for name in ("file_jobs", "_size", "read_document")}
    for name, function in originals.items():
        setattr(segment, name, clocked(name, function))
    try:
        params = SegmentParams()
        segment.segmenting_nlp(params)  # start-up, before timing
        segment.run_segment([folder], out, params)
        best = {}
        for _ in range(runs):
            spent.clear()
            seconds, _ = fastest(lambda: segment.run_segment([folder], out, params), 1)
            for name, value in [("run_segment", seconds)] + list(spent.items()):
                best[name] = min(best.get(name, value), value)
        return best
    finally:
        for name, function in originals.items():
            setattr(segment, name, function)


def main(argv=None):
    sys.path.insert(0, str(HERE))
    from scale import capcode_of, checkout_arguments, corpus_copies, corpus_long, load, quiet_log  # this checkout first

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    checkout_arguments(parser)
    args = parser.parse_args(argv)
    capcode_of(args.code)
    quiet_log()
    with tempfile.TemporaryDirectory(prefix="capcode-reading-") as folder:
        corpus = (corpus_long if args.corpus == "long" else corpus_copies)(Path(folder), args.words)
        alone = on_its_own(corpus, args.runs)
        inside = inside_a_run(corpus, Path(folder) / "fragments.jsonl", args.runs)
    print(f"reading the transcripts, CPU seconds ({args.corpus}, {args.words:,} words, least of {args.runs} runs, "
          f"capcode of {args.code.resolve()}); {load()}")
    for title, seconds in (("on its own", alone), ("inside run_segment", inside)):
        part = sum(value for name, value in seconds.items() if name in ("file_jobs", "_size", "read_document"))
        print(f"{title}: " + "  ".join(f"{name.strip()} {value:.3f}" for name, value in seconds.items())
              + f"  | the three together {part:.3f}")


if __name__ == "__main__":
    main()
