"""Every core, per-core efficiency and start-up, each next to its reference, in one run (issues 15, 17).

Sections (all by default; choose with --sections):

- segment-cpu: CPU seconds of `run_segment` (reading, turns, sentences, fragments, writing;
  one process, start-up excluded) next to spaCy's bare `spacy.blank("nl")` tokenizer on the
  same transcripts (reference A: one call per transcript's plain text, as
  benchmarks/fragmenting.py; reference B: one call per paragraph that segment cuts into
  sentences, as segment did before issue 17), on two corpora of about --words words made from
  the sample study: 'copies' (its 34 transcripts copied into folders: thousands of short files)
  and 'long' (its text transcripts joined into interview-length files of ~7,000 words).
- segment-jobs: wall seconds and words/s of `run_segment` at --jobs 1 and N, workers warm
  (start-up excluded; a cold command is timed too), the output's SHA-256 compared.
- startup: wall seconds of `capcode --help`, `codebook show` and `agreement` next to
  `python -c pass` and a script that only imports scikit-learn.

Each figure is the median of --runs runs. The machine is shared: the load average is printed
with the figures, and CPU time is used wherever the question is efficiency, not waiting.

Usage: python benchmarks/scale.py [--words 1000000] [--runs 3] [--jobs 2] [--sections ...]
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "data" / "sample" / "transcripts"
CAPCODE = [sys.executable, "-m", "pipeline.cli"]


def median(values) -> float:
    return statistics.median(values)


def load() -> str:
    try:
        return "load average %.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        return "load average unknown"


def quiet_log():
    import logging

    log = logging.getLogger("capcode")
    log.handlers[:] = [logging.NullHandler()]
    log.propagate = False


# ---- corpora -----------------------------------------------------------------------------------

def corpus_copies(folder: Path, words: int) -> Path:
    """The sample study's transcripts copied into copyNNN/ folders until about `words` words."""
    from pipeline.readers import read_plain_text

    per_copy = sum(len(read_plain_text(p).split()) for p in SAMPLE.iterdir())
    target = folder / "copies"
    for number in range(-(-words // per_copy)):
        shutil.copytree(SAMPLE, target / f"copy{number:03d}")
    return target


def corpus_long(folder: Path, words: int) -> Path:
    """Interview-length files: the sample's text transcripts joined, until about `words` words."""
    joined = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLE.glob("*.txt")))
    per_file = len(joined.split())
    target = folder / "long"
    target.mkdir()
    for number in range(-(-words // per_file)):
        (target / f"case{number % 7 + 1}_respondent{number + 1}.txt").write_text(joined, encoding="utf-8")
    return target


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---- segment: CPU next to the bare tokenizer -----------------------------------------------------

def segment_cpu(args, corpora, out: Path) -> list:
    import spacy

    from pipeline.config import SegmentParams
    from pipeline.readers import read_plain_text
    from pipeline.segment import find_transcripts, run_segment, segmenting_nlp
    from pipeline.turns import parse_turns
    from pipeline.units import paragraphs

    quiet_log()
    params = SegmentParams()
    segmenting_nlp(params)  # start-up: spaCy and the pipeline, built before timing
    rows = []
    for name, folder in corpora.items():
        # a tokenizer of its own per corpus and reference, warmed by one untimed pass: spaCy caches
        # the tokens of each white-space-separated chunk, but stops caching within a Doc once a
        # special case (an abbreviation such as 'bv.') occurred in it, so its speed depends on what
        # it saw before (long texts seen whole cache little; the same texts seen in paragraphs do)
        whole, pieces = spacy.blank("nl").tokenizer, spacy.blank("nl").tokenizer
        texts = [read_plain_text(path) for _, path in find_transcripts([folder])]
        words = sum(len(text.split()) for text in texts)
        cut = []  # the paragraphs segment cuts into sentences: respondent turns, split at blank lines
        for (source, _), text in zip(find_transcripts([folder]), texts):
            for turn in parse_turns(text, source).turns:
                if not turn.is_interviewer:
                    cut.extend(text[a:b] for a, b, _ in paragraphs(text, turn.start_char, turn.end_char))
        times = {"segment": [], "tokenizer A": [], "tokenizer B": []}
        [whole(t) for t in texts], [pieces(t) for t in cut], run_segment([folder], out, params)  # warm-up
        for _ in range(args.runs):
            for key, work in (("tokenizer A", lambda: [whole(t) for t in texts]),
                              ("tokenizer B", lambda: [pieces(t) for t in cut]),
                              ("segment", lambda: run_segment([folder], out, params))):
                start = time.process_time()
                work()
                times[key].append(time.process_time() - start)
        seg = median(times["segment"])
        rows.append((name, len(texts), words, seg, median(times["tokenizer A"]), median(times["tokenizer B"]),
                     digest(out)))
    print(f"\nsegment, CPU seconds in one process (start-up excluded), median of {args.runs} runs; {load()}")
    print(f"{'corpus':8s} {'files':>6s} {'words':>10s} {'segment':>8s} {'words/s':>10s} {'tok. A':>7s} "
          f"{'ratio A':>7s} {'tok. B':>7s} {'ratio B':>7s}  sha256")
    for name, files, words, seg, tok_a, tok_b, sha in rows:
        print(f"{name:8s} {files:6d} {words:10,d} {seg:8.2f} {words / seg:10,.0f} {tok_a:7.2f} {tok_a / seg:7.2f} "
              f"{tok_b:7.2f} {tok_b / seg:7.2f}  {sha[:12]}")
    print("ratio = tokenizer CPU / segment CPU (1.0: as fast as the bare tokenizer; the target is 0.5). "
          "A: one tokenizer call per transcript; B: one per paragraph segment cuts into sentences.")
    return rows


# ---- segment: one process against N ------------------------------------------------------------

def segment_jobs(args, corpora, out: Path) -> list:
    from pipeline.config import SegmentParams
    from pipeline.parallel import Workers
    from pipeline.readers import read_plain_text
    from pipeline.segment import find_transcripts, run_segment

    quiet_log()
    rows = []
    for name, folder in corpora.items():
        words = sum(len(read_plain_text(path).split()) for _, path in find_transcripts([folder]))
        walls, digests = {}, {}
        for jobs in (1, args.jobs):
            workers = Workers(jobs=jobs, min_work=0)
            run_segment([folder], out, SegmentParams(), workers=workers)  # warm: workers started, pipeline built
            walls[jobs] = []
            for _ in range(args.runs):
                start = time.perf_counter()
                run_segment([folder], out, SegmentParams(), workers=workers)
                walls[jobs].append(time.perf_counter() - start)
            digests[jobs] = digest(out)
        cold = {}
        if args.cold:
            for jobs in (1, args.jobs):
                cold[jobs] = median([_wall(CAPCODE + ["segment", str(folder), "--out", str(out), "--jobs", str(jobs)])
                                     for _ in range(args.runs)])
        rows.append((name, words, {j: median(w) for j, w in walls.items()}, digests, cold))
    print(f"\nsegment at --jobs 1 and {args.jobs}, wall seconds, workers warm, median of {args.runs} runs; "
          f"{os.cpu_count()} cores; {load()}")
    for name, words, wall, digests, cold in rows:
        one, many = wall[1], wall[args.jobs]
        same = "identical output" if digests[1] == digests[args.jobs] else "OUTPUT DIFFERS"
        print(f"{name:8s} {words:10,d} words: jobs 1 {one:6.2f} s ({words / one:9,.0f} words/s), jobs {args.jobs} "
              f"{many:6.2f} s ({words / many:9,.0f} words/s): {one / many:.2f}x, {same}")
        if cold:
            print(f"{'':8s} whole command (start-up included): jobs 1 {cold[1]:.2f} s, jobs {args.jobs} "
                  f"{cold[args.jobs]:.2f} s: {cold[1] / cold[args.jobs]:.2f}x")
    return rows


# ---- start-up -----------------------------------------------------------------------------------

def _wall(command) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def startup(args, corpora, out: Path) -> list:
    from pipeline.segment import run_segment

    quiet_log()
    fragments = out.with_name("sample_fragments.jsonl")
    run_segment([SAMPLE], fragments, manifest=SAMPLE.parent / "manifest.csv")
    codings = SAMPLE.parent / "codings"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import sklearn'": [sys.executable, "-c", "import sklearn"],
        "capcode --help": CAPCODE + ["--help"],
        "capcode codebook show": CAPCODE + ["codebook", "show"],
        "capcode agreement (sample study)": CAPCODE + ["agreement", str(codings / "team.csv"),
                                                       str(codings / "coder2.csv"), "--fragments", str(fragments)],
    }
    runs = max(args.runs, 5)
    rows = [(name, median([_wall(command) for _ in range(runs)])) for name, command in commands.items()]
    print(f"\nstart-up, wall seconds, median of {runs} runs; {load()}")
    for name, seconds in rows:
        print(f"{name:34s} {seconds:6.3f}")
    return rows


# ---- the classifier's rows ---------------------------------------------------------------------
# Added with the classifier work (issues 15.2, 17: lean training, features computed once), next
# to a plain scikit-learn hashing + logistic regression script measured in the same run:
#   train-memory: peak memory of `capcode train` at 10,000 / 100,000 / 1,000,000 fragments;
#   predict-rate: fragments/s of `capcode predict` at 1 and N jobs (parallel.ordered_map by chunk).
# Each is a function (args, corpora, out) -> rows that prints its table, listed in SECTIONS.

# ---- train and evaluate: one process against N ------------------------------------------------

def learn_jobs(args, corpora, out: Path) -> list:
    """Wall and CPU seconds of `run_train` (cross-validation folds and final fits spread) and
    `run_evaluate` (outer folds of every design and learning-curve step spread) at --jobs 1 and
    N, and with N threads of one process (a Dask LocalCluster without processes: does the work
    release the GIL?), on synthetic studies made from the sample study's coded fragments
    (benchmarks/classifier.py). The feature cache is warm (features are not what is spread);
    the cross-validation results it keeps are removed before every run, so every run fits
    everything. Workers are warm (started by an untimed run); CPU includes the workers'.
    Sizes: CAPCODE_LEARN_TRAIN (fragments, default 2000) and CAPCODE_LEARN_EVALUATE (default
    400); CAPCODE_LEARN_THREADS=0 leaves out the threads row."""
    import importlib.util

    from pipeline.config import Params
    from pipeline.evaluate import run_evaluate
    from pipeline.learn.cache import CACHE_DIR, RESULTS_FILE
    from pipeline.parallel import Workers
    from pipeline.segment import run_segment
    from pipeline.train import run_train

    quiet_log()
    loaded = importlib.util.spec_from_file_location("classifier_bench", ROOT / "benchmarks" / "classifier.py")
    classifier = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(classifier)
    folder = out.parent / "learn-jobs"
    folder.mkdir(exist_ok=True)
    sample = folder / "sample_fragments.jsonl"
    run_segment([SAMPLE], sample, manifest=SAMPLE.parent / "manifest.csv")
    params = Params()
    configurations = [("jobs 1", lambda: Workers(jobs=1)), (f"jobs {args.jobs}", lambda: Workers(jobs=args.jobs))]
    try:
        import distributed
    except ImportError:
        distributed = None
    rows = []
    sizes = (("train", int(os.environ.get("CAPCODE_LEARN_TRAIN", 2000))),
             ("evaluate", int(os.environ.get("CAPCODE_LEARN_EVALUATE", 400))))
    for stage, size in sizes:
        fragments, codings = classifier.synthetic_corpus(sample, SAMPLE.parent / "codings" / "team.csv", size,
                                                         folder)
        results_file = fragments.parent / CACHE_DIR / RESULTS_FILE
        target = folder / f"{stage}-out"

        def work(workers):
            results_file.unlink(missing_ok=True)
            if stage == "train":
                run_train(fragments, [codings], target, params, workers=workers)
                return json.dumps({k: v for k, v in json.loads((target / "manifest.json").read_text()).items()
                                   if k != "model_file"}, sort_keys=True)
            run_evaluate(fragments, [codings], target.with_suffix(".json"), params, workers=workers,
                         details_path=target.with_suffix(".details.json"))
            return target.with_suffix(".json").read_text() + target.with_suffix(".details.json").read_text()

        timings, outputs = {}, {}
        ceiling = []  # what the shared machine gives right now: N busy processes against one
        cluster = None
        try:
            configs = list(configurations)
            if distributed is not None and os.environ.get("CAPCODE_LEARN_THREADS", "1") != "0":
                cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=args.jobs, processes=False,
                                                   dashboard_address=None)
                configs.append((f"{args.jobs} threads", lambda: Workers(backend="dask",
                                                                        scheduler=cluster.scheduler_address)))
            for name, make in configs:  # warm: features cached, worker processes started
                outputs[name] = work(make())
                timings[name] = []
            for _ in range(args.runs):  # configurations alternate, so a change of load hits them alike
                for name, make in configs:
                    timings[name].append(_timed(lambda: work(make())))
                ceiling.append(_ceiling(args.jobs))
        finally:
            if cluster is not None:
                cluster.close()
        rows.append((stage, size, {name: (median([w for w, _ in t]), median([c for _, c in t]))
                                   for name, t in timings.items()}, outputs, median(ceiling)))
    print(f"\ntrain and evaluate at --jobs 1 and {args.jobs} (default design; evaluate: nested CV, designs of "
          f"params.yaml and the learning curve), median of {args.runs} runs; {os.cpu_count()} cores; {load()}")
    for stage, size, figures, outputs, most in rows:
        one_wall, one_cpu = figures["jobs 1"]
        same = all(o == outputs["jobs 1"] for o in outputs.values())
        cells = [f"{name} {wall:6.1f} s wall {cpu:6.1f} s CPU ({one_wall / wall:.2f}x)"
                 for name, (wall, cpu) in figures.items()]
        print(f"{stage:8s} {size:6,d} fragments: " + "; ".join(cells) +
              ("; identical output" if same else "; OUTPUT DIFFERS") +
              f"; machine ceiling {most:.2f}x")
    print(f"x = wall of jobs 1 / wall; CPU counts this process and its worker processes. Machine ceiling: "
          f"{args.jobs} busy Python processes against one doing the same loops, measured between the runs "
          "(what the shared machine allowed then; 2.0 on 2 idle cores).")
    return rows


def _spin(n: int) -> int:
    total = 0
    for number in range(n):
        total += number
    return total


def _ceiling(jobs: int, loops: int = 20_000_000) -> float:
    """Wall of `jobs` busy loops in this process over their wall in `jobs` processes at once."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_spin, [1] * jobs))  # started
        start = time.perf_counter()
        for _ in range(jobs):
            _spin(loops)
        one = time.perf_counter() - start
        start = time.perf_counter()
        list(pool.map(_spin, [loops] * jobs))
        return one / (time.perf_counter() - start)


def _timed(work) -> tuple:
    """(wall seconds, CPU seconds of this process and its children, workers included) of work()."""
    try:
        import psutil
    except ImportError:
        psutil = None

    def cpu():
        own = time.process_time()
        if psutil is None:
            return own
        total = own
        for child in psutil.Process().children(recursive=True):
            try:
                times = child.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    start_wall, start_cpu = time.perf_counter(), cpu()
    work()
    return time.perf_counter() - start_wall, cpu() - start_cpu


SECTIONS = {"segment-cpu": segment_cpu, "segment-jobs": segment_jobs, "startup": startup}
SECTIONS["learn-jobs"] = learn_jobs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000, help="words per corpus (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is printed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="N for the parallel runs")
    parser.add_argument("--corpora", nargs="+", choices=["copies", "long"], default=["copies", "long"])
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    parser.add_argument("--cold", action="store_true", help="also time whole segment commands at 1 and N jobs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="capcode-scale-") as folder:
        folder = Path(folder)
        makers = {"copies": corpus_copies, "long": corpus_long}
        corpora = {name: makers[name](folder, args.words) for name in args.corpora}
        out = folder / "fragments.jsonl"
        results = {name: SECTIONS[name](args, corpora, out) for name in args.sections}
    if os.environ.get("CAPCODE_SCALE_JSON"):
        Path(os.environ["CAPCODE_SCALE_JSON"]).write_text(json.dumps(results, default=str, indent=1))


if __name__ == "__main__":
    main()
