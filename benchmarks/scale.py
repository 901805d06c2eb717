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
- predict-jobs: whole `capcode predict` commands at --jobs 1 and N on --predict-size new
  synthetic fragments (default design, cold feature cache), the predictions' SHA-256 compared.
- train-memory: peak resident memory of a default `capcode train` at --train-sizes synthetic
  coded fragments, next to the plain hashing + logistic regression script; 1,000,000 fragments
  extrapolated linearly from the two largest sizes above train.out_of_core_above.
- cv-cost: CPU of a default `capcode train` (5 grouped folds) against `train.cv_folds: 0`.
- evaluate-vs-train: CPU of `capcode evaluate` (its defaults) against a default `capcode train`
  on the sample study; also evaluate without its optional parts, and in one process (--jobs 1).
- predict-reference: `capcode predict` next to plain scripts (benchmarks/scale_reference.py):
  1,000 fragments start-up included (wall), --reference-size fragments start-up excluded (CPU).
  The classifier sections run whole commands in subprocesses (memory and CPU of that process,
  os.wait4), each capcode run on a fresh copy of its fragments (an empty feature cache).
- learn-jobs: wall and CPU seconds of `run_train` and `run_evaluate` at --jobs 1 and N (and N
  threads), outputs compared, with the machine's ceiling (busy loops at N processes against one)
  measured between the runs; sizes from CAPCODE_LEARN_TRAIN and CAPCODE_LEARN_EVALUATE.

Each figure is the median of --runs runs. The machine is shared: the load average is printed
with the figures, and CPU time is used wherever the question is efficiency, not waiting.

Usage: python benchmarks/scale.py [--words 1000000] [--runs 3] [--jobs 2] [--sections ...] [--quick]
       (--quick: the classifier sections at small sizes, one run: a smoke test of a few minutes)
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


# ---- another checkout's capcode, for before/after pairs ---------------------------------------------

def checkout_arguments(parser, default_corpus: str = "copies") -> None:
    """--words, --corpus, --runs and --code (the checkout whose capcode is timed), as the
    per-part scripts (reading.py, turn_stages.py) take them."""
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--corpus", choices=["long", "copies"], default=default_corpus)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose capcode is timed")


def capcode_of(code: Path):
    """Import capcode's `pipeline` from the checkout `code` (before this checkout's, which this
    module put first on the path), checking that it is the one imported."""
    sys.path.insert(0, str(code.resolve()))
    import pipeline

    assert Path(pipeline.__file__).resolve().parent.parent == code.resolve(), pipeline.__file__
    return pipeline


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


def cut_paragraphs(folder: Path) -> list:
    """The paragraphs segment cuts into sentences (reference B's texts): respondent turns of the
    transcripts' plain text, split at blank lines."""
    from pipeline.readers import read_plain_text
    from pipeline.segment import find_transcripts
    from pipeline.turns import parse_turns
    from pipeline.units import paragraphs

    cut = []
    for source, path in find_transcripts([folder]):
        text = read_plain_text(path)
        for turn in parse_turns(text, source).turns:
            if not turn.is_interviewer:
                cut.extend(text[a:b] for a, b, _ in paragraphs(text, turn.start_char, turn.end_char))
    return cut


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---- segment: CPU next to the bare tokenizer -----------------------------------------------------

def segment_cpu(args, corpora, out: Path) -> list:
    import spacy

    from pipeline.config import SegmentParams
    from pipeline.readers import read_plain_text
    from pipeline.segment import find_transcripts, run_segment, segmenting_nlp

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
        cut = cut_paragraphs(folder)
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
        if args.cold:  # whole commands (start-up, forking included), alternated; their default min_work
            runs = {1: [], args.jobs: []}
            for _ in range(args.runs):
                for jobs in (1, args.jobs):
                    runs[jobs].append(run_child(CAPCODE + ["segment", str(folder), "--out", str(out),
                                                           "--jobs", str(jobs)]))
                    digests[f"cold{jobs}"] = digest(out)
            cold = {jobs: (median([r["wall"] for r in rs]), median([r["cpu"] for r in rs])) for jobs, rs in runs.items()}
        rows.append((name, words, {j: median(w) for j, w in walls.items()}, digests, cold))
    print(f"\nsegment at --jobs 1 and {args.jobs}, wall seconds, workers warm, median of {args.runs} runs; "
          f"{os.cpu_count()} cores; {load()}")
    for name, words, wall, digests, cold in rows:
        one, many = wall[1], wall[args.jobs]
        same = "identical output" if digests[1] == digests[args.jobs] else "OUTPUT DIFFERS"
        print(f"{name:8s} {words:10,d} words: jobs 1 {one:6.2f} s ({words / one:9,.0f} words/s), jobs {args.jobs} "
              f"{many:6.2f} s ({words / many:9,.0f} words/s): {one / many:.2f}x, {same}")
        if cold:
            same = "identical output" if len({digests[1], digests["cold1"], digests[f"cold{args.jobs}"]}) == 1 \
                else "OUTPUT DIFFERS"
            print(f"{'':8s} whole command (start-up included): jobs 1 {cold[1][0]:.2f} s wall ({cold[1][1]:.2f} s CPU), "
                  f"jobs {args.jobs} {cold[args.jobs][0]:.2f} s wall ({cold[args.jobs][1]:.2f} s CPU, workers "
                  f"included): {cold[1][0] / cold[args.jobs][0]:.2f}x, {same} (sha256 {digests[1][:12]})")
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
# Issues 15 and 17 for train, predict and evaluate: whole `capcode` commands in subprocesses
# (peak memory and CPU of that process alone, read with os.wait4), next to plain scikit-learn
# scripts (benchmarks/scale_reference.py) run the same way in the same run. Synthetic studies
# are built as benchmarks/classifier.py builds them: each fragment joins a coded sample fragment
# with half of another (so every text is new), in seven cases, with the first one's codes.
# Every capcode run gets a fresh folder, so its feature cache starts empty (cold, as a new study).

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


REFERENCE = Path(__file__).resolve().parent / "scale_reference.py"
QUICK = {"predict_size": 10_000, "model_size": 500, "train_sizes": "1000,3000", "cv_size": 1000,
         "reference_size": 2000}


def add_learning_arguments(parser) -> None:
    """The classifier sections' sizes (and --quick: small sizes and one run, a smoke test)."""
    parser.add_argument("--quick", action="store_true", help="small sizes and one run (a smoke test)")
    parser.add_argument("--predict-size", type=int, default=20_000,
                        help="fragments predicted at --jobs 1 and N (predict-jobs; at least 2,000 to spread)")
    parser.add_argument("--model-size", type=int, default=2000,
                        help="fragments the predict sections' model is trained on (train.cv_folds 0)")
    parser.add_argument("--train-sizes", default="10000,100000",
                        help="fragments trained on for train-memory, comma-separated (e.g. 10000,100000,300000)")
    parser.add_argument("--cv-size", type=int, default=10_000, help="fragments for cv-cost")
    parser.add_argument("--reference-size", type=int, default=100_000,
                        help="fragments for predict-reference's start-up-excluded comparison "
                             "(0: only the 1,000 with start-up)")


def learning_sizes(args) -> None:
    if getattr(args, "quick", False):
        for name, value in QUICK.items():
            setattr(args, name, value)
        args.runs = 1


def run_child(command, cwd=ROOT) -> dict:
    """Run a command; its wall seconds, CPU seconds (user + system) and peak resident memory (MB).

    From os.wait4: the CPU includes the command's own child processes once it has reaped them (a
    parallel run's workers); the peak memory is that of the largest single process among them."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=err,
                                   env=dict(os.environ, PYTHONHASHSEED="0"))
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if process.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(map(str, command))} failed:\n{err.read().decode(errors='replace')[-2000:]}")
    lines = stdout.decode().strip().splitlines()
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024.0}
    if lines and lines[-1].startswith("{"):
        result["script"] = json.loads(lines[-1])
    return result


def params_file(folder: Path, **train) -> Path:
    """params.yaml with some `train` settings changed, in `folder`."""
    import yaml

    data = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    data["train"].update(train)
    path = folder / ("params-" + "-".join(f"{k}{v}" for k, v in sorted(train.items())) + ".yaml")
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def fresh(folder: Path, fragments: Path, name: str) -> Path:
    """A copy of a fragments file in a folder of its own: an empty feature cache beside it."""
    target = folder / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy(fragments, target / "fragments.jsonl")
    return target / "fragments.jsonl"


_STUDIES = {}


def sample_study(folder: Path):
    """(fragments, codings) of the sample study, segmented once per run."""
    if "sample" not in _STUDIES:
        fragments = folder / "sample_study_fragments.jsonl"
        run_child(CAPCODE + ["segment", str(SAMPLE), "--manifest", str(SAMPLE.parent / "manifest.csv"), "--out",
                             str(fragments)])
        _STUDIES["sample"] = (fragments, SAMPLE.parent / "codings" / "team.csv")
    return _STUDIES["sample"]


def synthetic_study(folder: Path, size: int, seed: int = 0, name: str = "studies"):
    """(fragments, codings) of a synthetic study of `size` coded fragments (built once per run),
    as benchmarks/classifier.py builds them."""
    if (size, seed) not in _STUDIES:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import classifier as bench

        base = folder / name
        base.mkdir(exist_ok=True)
        _STUDIES[(size, seed)] = bench.synthetic_corpus(*sample_study(folder), size, base, seed=seed)
    return _STUDIES[(size, seed)]


def capcode_train(fragments, codings, model, params) -> dict:
    return run_child(CAPCODE + ["--params", str(params), "train", "--fragments", str(fragments), "--codings",
                                str(codings), "--out", str(model)])


_MODELS = {}


def predict_model(args, folder: Path):
    """A model of the default design trained on --model-size synthetic fragments without CV (predict's
    cost does not depend on how C and thresholds were chosen), and the reference scripts' models."""
    if "capcode" not in _MODELS:
        fragments, codings = synthetic_study(folder, args.model_size)
        model = folder / "model"
        capcode_train(fresh(folder, fragments, "train-model"), codings, model,
                      params_file(folder, cv_folds=0))
        _MODELS["capcode"] = model
        # the same study, design char n-grams only: capcode's own cost next to the plain hashing script
        _MODELS["capcode-hashing"] = folder / "model-hashing"
        capcode_train(fresh(folder, fragments, "train-model-hashing"), codings, _MODELS["capcode-hashing"],
                      params_file(folder, cv_folds=0, features="tfidf+char"))
        for kind in ("hashing", "same"):
            _MODELS[kind] = folder / f"reference-{kind}.joblib"
            run_child([sys.executable, str(REFERENCE), "fit", kind, str(fragments), str(codings), str(_MODELS[kind])])
    return _MODELS


def new_fragments(folder: Path, size: int) -> Path:
    """`size` synthetic fragments that no model was trained on (another seed)."""
    return synthetic_study(folder, size, seed=size + 1, name=f"new-{size}")[0]


def capcode_predict(folder, model, fragments, jobs, name) -> tuple:
    """(run_child result, sha256 of the predictions) of a cold `capcode predict`."""
    copy = fresh(folder, fragments, name)
    out = copy.with_name("predictions.jsonl")
    result = run_child(CAPCODE + ["predict", "--model", str(model), str(copy), "--out", str(out), "--jobs", str(jobs)])
    return result, digest(out)


def predict_jobs(args, corpora, out: Path) -> list:
    """Whole `capcode predict` commands at --jobs 1 and N on the same fragments (cold cache each run)."""
    learning_sizes(args)
    folder = out.parent / "predict-jobs"
    folder.mkdir(exist_ok=True)
    model = predict_model(args, out.parent)["capcode"]
    fragments = new_fragments(out.parent, args.predict_size)
    results = {1: [], args.jobs: []}
    digests = {}
    for run in range(args.runs):
        for jobs in (1, args.jobs):  # alternated, so a change of the machine's load hits both
            result, sha = capcode_predict(folder, model, fragments, jobs, "p")
            results[jobs].append(result)
            digests.setdefault(jobs, set()).add(sha)
    one, many = (median([r["wall"] for r in results[j]]) for j in (1, args.jobs))
    same = len(digests[1] | digests[args.jobs]) == 1
    print(f"\npredict at --jobs 1 and {args.jobs}: {args.predict_size:,} new fragments, default design, whole "
          f"command (start-up included), cold feature cache, wall seconds, median of {args.runs}; {load()}")
    print(f"jobs 1 {one:7.2f} s ({args.predict_size / one:7,.0f} fragments/s)   jobs {args.jobs} {many:7.2f} s "
          f"({args.predict_size / many:7,.0f} fragments/s)   {one / many:.2f}x (target 1.7x), "
          f"{'identical output' if same else 'OUTPUT DIFFERS'} (sha256 {sorted(digests[1])[0][:12]})")
    print(f"CPU seconds of the whole command (its worker processes included): jobs 1 "
          f"{median([r['cpu'] for r in results[1]]):.1f}, jobs {args.jobs} "
          f"{median([r['cpu'] for r in results[args.jobs]]):.1f}")
    return [{"jobs": j, "wall": [r["wall"] for r in rs]} for j, rs in results.items()] + [{"identical": same}]


def train_memory(args, corpora, out: Path) -> list:
    """Peak memory of a default `capcode train` (5-fold CV) at each size, next to the hashing reference."""
    learning_sizes(args)
    folder = out.parent / "train-memory"
    folder.mkdir(exist_ok=True)
    sizes = [int(s) for s in str(args.train_sizes).split(",")]
    params = params_file(folder, out_of_core_above=20000)  # the default, written out
    rows = []
    for size in sizes:
        fragments, codings = synthetic_study(out.parent, size)
        ours = capcode_train(fresh(folder, fragments, f"t{size}"), codings, folder / f"model{size}", params)
        reference = run_child([sys.executable, str(REFERENCE), "train", "hashing", str(fragments), str(codings),
                               str(folder / f"reference{size}.joblib")])
        rows.append({"size": size, "capcode": ours, "reference": reference})
        print(f"  train {size:,}: peak {ours['peak_mb']:.0f} MB, {ours['wall']:.0f} s wall, {ours['cpu']:.0f} s CPU; "
              f"reference {reference['peak_mb']:.0f} MB, {reference['wall']:.0f} s", flush=True)
    print(f"\ntrain memory: default `capcode train` (default design, 5 grouped folds, out of core above 20,000), "
          f"one run per size, cold feature cache; {load()}")
    print(f"{'fragments':>10s} {'peak MB':>8s} {'wall s':>7s} {'CPU s':>7s} {'ref. MB':>8s} {'ref. s':>7s} "
          f"{'x ref. MB':>9s}")
    for row in rows:
        ours, ref = row["capcode"], row["reference"]
        print(f"{row['size']:10,d} {ours['peak_mb']:8.0f} {ours['wall']:7.0f} {ours['cpu']:7.0f} {ref['peak_mb']:8.0f} "
              f"{ref['wall']:7.0f} {ours['peak_mb'] / ref['peak_mb']:9.2f}")
    above = [r for r in rows if r["size"] > 20000]  # out of core (train.out_of_core_above): the large-study regime
    if len(above) >= 2:
        (x0, y0), (x1, y1) = [(r["size"], r["capcode"]["peak_mb"]) for r in above[-2:]]
        slope = (y1 - y0) / (x1 - x0)
        print(f"linear through {x0:,} and {x1:,}: {slope * 1000:.2f} MB per 1,000 fragments; 1,000,000 fragments "
              f"extrapolated: {y1 + slope * (1_000_000 - x1):,.0f} MB (target: under 24 GB; 100,000 under 1 GB)")
    elif len(rows) >= 2:
        (x0, y0), (x1, y1) = [(r["size"], r["capcode"]["peak_mb"]) for r in rows[-2:]]
        print(f"growth {x0:,} -> {x1:,}: {(y1 - y0) / (x1 - x0) * 1000:.2f} MB per 1,000 fragments (below "
              "train.out_of_core_above: in memory; no extrapolation, which needs two sizes above 20,000)")
    return rows


def cv_cost(args, corpora, out: Path) -> list:
    """Default `capcode train` (5 grouped folds) against `train.cv_folds: 0` on the same study."""
    learning_sizes(args)
    folder = out.parent / "cv-cost"
    folder.mkdir(exist_ok=True)
    fragments, codings = synthetic_study(out.parent, args.cv_size)
    settings = {"default (5 folds)": params_file(folder), "cv_folds 0": params_file(folder, cv_folds=0)}
    results = {name: [] for name in settings}
    for run in range(args.runs):
        for name, params in settings.items():
            results[name].append(capcode_train(fresh(folder, fragments, "c"), codings, folder / "m", params))
    cpu, wall = cpu_and_wall_medians(results)
    print(f"\ncv cost: `capcode train` on {args.cv_size:,} synthetic fragments, whole command, cold feature "
          f"cache, median of {args.runs}; {load()}")
    for name in settings:
        print(f"{name:18s} CPU {cpu[name]:7.1f} s   wall {wall[name]:7.1f} s")
    default, bare = cpu["default (5 folds)"], cpu["cv_folds 0"]
    print(f"default / cv_folds 0: {default / bare:.2f}x CPU, {wall['default (5 folds)'] / wall['cv_folds 0']:.2f}x "
          f"wall (target at most 1.5x)")
    return [{"setting": n, "cpu": [r["cpu"] for r in rs], "wall": [r["wall"] for r in rs]}
            for n, rs in results.items()]


def cpu_and_wall_medians(results: dict) -> tuple:
    """{name: median CPU seconds}, {name: median wall seconds} of each setting's runs."""
    return ({name: median([r["cpu"] for r in rs]) for name, rs in results.items()},
            {name: median([r["wall"] for r in rs]) for name, rs in results.items()})


def evaluate_vs_train(args, corpora, out: Path) -> list:
    """`capcode evaluate` (designs, learning curve: its defaults) against a default `capcode train`, sample study."""
    learning_sizes(args)
    folder = out.parent / "evaluate-vs-train"
    folder.mkdir(exist_ok=True)
    fragments, codings = sample_study(out.parent)
    results = {"train": [], "evaluate": [], "evaluate core": [], "evaluate jobs 1": []}
    for run in range(args.runs):
        copy = fresh(folder, fragments, "t")
        results["train"].append(capcode_train(copy, codings, folder / "m", ROOT / "params.yaml"))
        # jobs 1: the same work without worker processes (on this study train runs in one process anyway)
        for name, extra in (("evaluate", []), ("evaluate core", ["--no-designs", "--no-learning-curve"]),
                            ("evaluate jobs 1", ["--jobs", "1"])):
            copy = fresh(folder, fragments, "e")
            results[name].append(run_child(CAPCODE + ["evaluate", "--fragments", str(copy), "--codings", str(codings),
                                                      "--out", str(folder / "metrics.json")] + extra))
    cpu, wall = cpu_and_wall_medians(results)
    print(f"\nevaluate against train on the sample study (both whole commands, defaults, cold feature cache), "
          f"median of {args.runs}; {load()}")
    for name in results:
        print(f"capcode {name:15s} CPU {cpu[name]:7.1f} s   wall {wall[name]:7.1f} s")
    print(f"evaluate / train: {cpu['evaluate'] / cpu['train']:.2f}x CPU, {wall['evaluate'] / wall['train']:.2f}x "
          f"wall (target at most 2x); without the design comparison and the learning curve (--no-designs "
          f"--no-learning-curve): {cpu['evaluate core'] / cpu['train']:.2f}x CPU; in one process (--jobs 1): "
          f"{cpu['evaluate jobs 1'] / cpu['train']:.2f}x CPU")
    return [{"command": n, "cpu": [r["cpu"] for r in rs], "wall": [r["wall"] for r in rs]}
            for n, rs in results.items()]


def predict_reference(args, corpora, out: Path) -> list:
    """`capcode predict` next to the plain scripts: 1,000 fragments start-up included (wall), and
    --reference-size fragments start-up excluded (CPU of the work after imports and loading)."""
    learning_sizes(args)
    folder = out.parent / "predict-reference"
    folder.mkdir(exist_ok=True)
    models = predict_model(args, out.parent)
    rows = []
    sizes = ((1000, True), (args.reference_size, False)) if args.reference_size else ((1000, True),)
    for size, whole in sizes:
        fragments = new_fragments(out.parent, size)
        times = {"capcode": [], "hashing": [], "same": []}
        if whole:
            times["capcode tfidf+char"] = []
        for run in range(args.runs if whole else (args.runs if size <= 5000 else 1)):  # large: one run
            if whole:
                result = capcode_predict(folder, models["capcode"], fragments, 1, "r")[0]
                times["capcode"].append((result["wall"], result["cpu"]))
                result = capcode_predict(folder, models["capcode-hashing"], fragments, 1, "r")[0]
                times["capcode tfidf+char"].append((result["wall"], result["cpu"]))
            else:
                copy = fresh(folder, fragments, "r")
                result = run_child([sys.executable, __file__, "--predict-worker", str(models["capcode"]), str(copy),
                                    str(copy.with_name("predictions.jsonl"))])
                times["capcode"].append((result["script"]["work_wall"], result["script"]["work_cpu"]))
            for kind in ("hashing", "same"):
                result = run_child([sys.executable, str(REFERENCE), "predict", kind, str(models[kind]), str(fragments),
                                    str(folder / f"{kind}.jsonl")])
                times[kind].append((result["wall"], result["cpu"]) if whole else
                                   (result["script"]["work_wall"], result["script"]["work_cpu"]))
        rows.append({"size": size, "whole": whole, "times": times})
    print(f"\npredict next to plain scripts (benchmarks/scale_reference.py: 'hashing' = char 2-5 + word 1-2 "
          f"hashing + LR; 'same' = the default design's feature types: spaCy lookup lemmas 1-2, char 2-5, question "
          f"lemmas, sublinear TF-IDF, USE of text and question, LR); {load()}")
    for row in rows:
        what = "whole command (start-up included)" if row["whole"] else "start-up excluded"
        for number, unit in ((0, "wall"), (1, "CPU")):
            t = {k: median([v[number] for v in vs]) for k, vs in row["times"].items()}
            print(f"{row['size']:>8,d} fragments, {what}, {unit} s, median of {len(row['times']['capcode'])}: "
                  f"capcode {t['capcode']:.2f}, hashing {t['hashing']:.2f} ({t['capcode'] / t['hashing']:.2f}x), "
                  f"same feature types {t['same']:.2f} ({t['capcode'] / t['same']:.2f}x)")
            if "capcode tfidf+char" in t:
                print(f"{'':>8s}   capcode with design tfidf+char (hashed character n-grams only) "
                      f"{t['capcode tfidf+char']:.2f}: {t['capcode tfidf+char'] / t['hashing']:.2f}x hashing")
    print("targets: 1,000 fragments within 1.5x of the plain reference, start-up included (issue 15); "
          "within 2x of the same feature types at 100,000 (issue 17)")
    return rows


def predict_worker(model, fragments, out) -> None:
    """In a fresh process: load everything predict needs, then time `run_predict` alone (CPU)."""
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    from pipeline.config import load_params
    from pipeline.features import get_nlp
    from pipeline.learn.encoder import _encoder
    from pipeline.predict import run_predict
    from pipeline.probabilities import open_model  # noqa: F401 (imported before timing)

    params = load_params(str(ROOT / "params.yaml"))
    get_nlp("blank"), _encoder()  # spaCy's pipeline and the sentence encoder: start-up
    work_wall, work_cpu = time.perf_counter(), time.process_time()
    run_predict(model, fragments, out, params)  # loads the model (start-up, counted here: small)
    print(json.dumps({"startup_wall": work_wall - started_wall, "startup_cpu": work_cpu - started_cpu,
                      "work_wall": time.perf_counter() - work_wall, "work_cpu": time.process_time() - work_cpu}))


SECTIONS = {"segment-cpu": segment_cpu, "segment-jobs": segment_jobs, "startup": startup,
            "predict-jobs": predict_jobs, "train-memory": train_memory, "cv-cost": cv_cost,
            "evaluate-vs-train": evaluate_vs_train, "predict-reference": predict_reference}
SECTIONS["learn-jobs"] = learn_jobs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000, help="words per corpus (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is printed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="N for the parallel runs")
    parser.add_argument("--corpora", nargs="+", choices=["copies", "long"], default=["copies", "long"])
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    parser.add_argument("--cold", action="store_true", help="also time whole segment commands at 1 and N jobs")
    add_learning_arguments(parser)
    parser.add_argument("--predict-worker", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.predict_worker:
        return predict_worker(*args.predict_worker)
    with tempfile.TemporaryDirectory(prefix="capcode-scale-") as folder:
        folder = Path(folder)
        makers = {"copies": corpus_copies, "long": corpus_long}
        segmenting = {"segment-cpu", "segment-jobs"} & set(args.sections)  # only they read the corpora
        corpora = {name: makers[name](folder, args.words) for name in args.corpora} if segmenting else {}
        out = folder / "fragments.jsonl"
        results = {name: SECTIONS[name](args, corpora, out) for name in args.sections}
    if os.environ.get("CAPCODE_SCALE_JSON"):
        Path(os.environ["CAPCODE_SCALE_JSON"]).write_text(json.dumps(results, default=str, indent=1))


if __name__ == "__main__":
    main()
