"""A long fuzz run: mutated files of every kind capcode reads, counting tracebacks and hangs.

Every input is a seed (a tiny real transcript, project, coding file, fragments or
predictions file or model, see tests/fuzzing.py) with random edits, given to the reader
capcode uses for it. A clean outcome is a result or a CapcodeError (the one-line `Error:`
of the command line). A traceback is any other exception; a hang is an input that takes
longer than --timeout seconds (the worker process is then killed and restarted); a crash
is a worker that died (e.g. out of memory: workers get --memory-mb of address space).
Inputs go round the seeds, so every kind gets the same share; the run is repeatable
(--seed). Inputs with a traceback, hang or crash are kept in --keep for reproduction.

Usage: python benchmarks/fuzz.py [--inputs 10000] [--seed 1] [--timeout 30] [--keep DIR]
"""

import argparse
import collections
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def worker(folder: Path, seed: int, memory_mb: int) -> None:
    """Read input numbers on stdin; answer one JSON line each with the outcome of reading that input."""
    import logging
    import resource

    from tests import fuzzing

    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024, memory_mb * 1024 * 1024))
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the answers
    logging.getLogger("capcode").setLevel(logging.CRITICAL)
    logging.getLogger("capcode").propagate = False
    seeds = json.loads((folder / "seeds.json").read_text(encoding="utf-8"))
    fragments = folder / "fragments.jsonl"
    for line in sys.stdin:
        number = int(line)
        kind, name, seed_file = seeds[number % len(seeds)]
        rng = random.Random(f"{seed}-{number}")
        data = fuzzing.mutate(kind, name, (folder / seed_file).read_bytes(), rng)
        case = folder / "current"
        shutil.rmtree(case, ignore_errors=True)
        case.mkdir()
        (case / name).write_bytes(data)
        status, detail = fuzzing.outcome(kind, case / name, fragments)
        print(json.dumps({"number": number, "kind": f"{kind} {name}", "status": status, "detail": detail}),
              file=answers, flush=True)


class Worker:
    def __init__(self, folder: Path, seed: int, memory_mb: int):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(folder), "--seed", str(seed), "--memory-mb", str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})

    def ask(self, number: int, timeout: float):
        """The worker's answer for input `number`, 'hang' after `timeout` seconds, or 'crash'."""
        try:
            self.process.stdin.write(f"{number}\n".encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            return "crash"
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return "hang"
        line = self.process.stdout.readline()
        return json.loads(line) if line else "crash"

    def stop(self):
        self.process.kill()
        self.process.wait()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before an input counts as a hang")
    parser.add_argument("--memory-mb", type=int, default=4096, help="address space of a worker")
    parser.add_argument("--keep", default=None, help="folder for inputs with a traceback, hang or crash")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(Path(args.worker), args.seed, args.memory_mb)

    from tests import fuzzing

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seeds = []
        for number, (kind, name, data) in enumerate(fuzzing.build_seeds(folder)):
            (folder / f"seed{number}").write_bytes(data)
            seeds.append((kind, name, f"seed{number}"))
        (folder / "seeds.json").write_text(json.dumps(seeds), encoding="utf-8")
        (folder / "fragments.jsonl").write_bytes((fuzzing.DATA / "codings_fragments.jsonl").read_bytes())
        counts = collections.defaultdict(collections.Counter)
        problems = []
        started = time.perf_counter()
        current = Worker(folder, args.seed, args.memory_mb)
        for number in range(args.inputs):
            kind, name, _ = seeds[number % len(seeds)]
            answer = current.ask(number, args.timeout)
            if isinstance(answer, str):  # hang or crash: start a fresh worker
                current.stop()
                current = Worker(folder, args.seed, args.memory_mb)
                status, label, detail = answer, f"{kind} {name}", answer
            else:
                status, label, detail = answer["status"], answer["kind"], answer["detail"]
            counts[label][status] += 1
            if status in ("bug", "hang", "crash"):
                problems.append((number, label, status, detail))
                if args.keep:
                    _keep(Path(args.keep), number, label, fuzzing, folder, seeds, args.seed)
            if (number + 1) % 1000 == 0:
                print(f"  {number + 1} inputs, {len(problems)} problems, {time.perf_counter() - started:.0f} s",
                      file=sys.stderr)
        current.stop()
        seconds = time.perf_counter() - started
    _report(counts, problems, args.inputs, seconds)
    return 1 if problems else 0


def _keep(folder: Path, number, label, fuzzing, seed_folder, seeds, seed):
    kind, name, seed_file = seeds[number % len(seeds)]
    data = fuzzing.mutate(kind, name, (seed_folder / seed_file).read_bytes(), random.Random(f"{seed}-{number}"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{number}-{name}").write_bytes(data)


def _report(counts, problems, total, seconds):
    print(f"{total} inputs in {seconds:.0f} s")
    print(f"{'seed':<32} {'inputs':>7} {'result':>7} {'Error:':>7} {'traceback':>9} {'hang':>5} {'crash':>5}")
    for label in sorted(counts):
        c = counts[label]
        print(f"{label:<32} {sum(c.values()):7d} {c['ok']:7d} {c['error']:7d} {c['bug']:9d} {c['hang']:5d} {c['crash']:5d}")
    totals = collections.Counter()
    for c in counts.values():
        totals.update(c)
    print(f"{'all':<32} {total:7d} {totals['ok']:7d} {totals['error']:7d} {totals['bug']:9d} {totals['hang']:5d} "
          f"{totals['crash']:5d}")
    signatures = collections.Counter()
    for _, label, status, detail in problems:
        last = (detail or status).strip().splitlines()[-1]
        signatures[(label.split()[0], status, last[:160])] += 1
    for (kind, status, last), count in signatures.most_common(20):
        print(f"  {count:5d} x {kind} {status}: {last}")


if __name__ == "__main__":
    sys.exit(main())
