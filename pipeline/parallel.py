"""Work spread over processes (or a Dask cluster), results in input order, as if done in one.

Every stage that does the same work for many items (transcripts, chunks of fragments, folds,
dimensions) maps a worker function over them with `ordered_map`:

    for result in ordered_map(work_on_one, items, Workers(jobs=4), weights=sizes, label="Segmenting"):
        ...   # results come in the order of `items`, whatever finished first

- **Identical to one process.** Results are yielded in input order, and what a worker logs is
  shown by the main process just before that item's result, in input order, so the output and
  the messages of `--jobs 4` are those of `--jobs 1`. With one job (or little work: see
  `Workers.min_work`) the function runs in this process, exactly as a plain loop.
- **Chunked.** Items go to workers in chunks (a few per worker, so that all stay busy until
  the end); a chunk's results come back together. At most a few chunks are in flight, so
  memory does not grow with the number of items.
- **Errors.** When the worker function raises for an item, the items before it are yielded
  (with their messages), then that item's messages are shown and its exception is raised here,
  as it would be in a plain loop: a CapcodeError stays one `Error:` line naming the item. The
  remaining work is abandoned. A worker process that dies (killed, out of memory) is a
  WorkerError.
- **Backends.** 'local': processes on this machine ('jobs' of them; 0 or None: all cores),
  started by fork where the system has it (forkpool.py: they start in milliseconds and find
  ready what this process built with `prepare`), else joblib's loky processes (Windows, or
  CAPCODE_WORKER_START=spawn). 'dask': an existing Dask cluster through joblib's dask backend
  (`scheduler` or DASK_SCHEDULER_ADDRESS; needs the `cluster` extra: pip install
  'capcode[cluster]'); the workers must see the input files at the same paths (a shared
  file system).

Forked workers inherit the worker function and everything it refers to; for loky and Dask
the function and its arguments travel by pickling: a function at module level (or a
functools.partial of one) with plain arguments. State a worker builds once (the spaCy
pipeline) is cached at module level (`functools.lru_cache`), so it is made once per process,
not once per item; under fork, `prepare` builds it once in this process for all workers.
A worker never spreads work of its own (a nested `ordered_map` runs in the worker).
"""

import contextlib
import functools
import logging
import os
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence

from .errors import CapcodeError, ConfigError
from .forkpool import WorkerDied, forked_pool, in_worker, mark_worker, start_method

log = logging.getLogger("capcode")

BACKENDS = ("local", "dask")
SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"
CHUNKS_PER_JOB = 8      # chunks per worker: enough to keep every worker busy until the end
MAX_CHUNK = 64          # items per chunk at most
IN_FLIGHT_PER_JOB = 2   # chunks sent ahead per worker


class WorkerError(CapcodeError):
    """A worker process ended without an answer (killed, out of memory, a crash)."""


def available_cores() -> int:
    """The cores this process may use (its CPU affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_jobs(jobs) -> int:
    """A job count from the command line or params.yaml: None or 0 means all cores; at least 1."""
    if jobs is None or jobs == 0:
        return available_cores()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise ConfigError(f"jobs: expected a whole number of processes (0 for all cores), got {jobs!r}.")
    return jobs


@dataclass(frozen=True)
class Workers:
    """Where work runs: how many processes, on which backend.

    `min_work`: the least work (in the units of `ordered_map`'s weights, e.g. bytes of input)
    that makes starting one more local process worth it; a worker process first has to import
    and build what it needs (about two seconds for spaCy), so small inputs run in this process.
    None: the stage's own figure (0 where it has none).
    """

    jobs: int = 1
    backend: str = "local"
    scheduler: Optional[str] = None
    min_work: Optional[float] = None

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ConfigError(f"--backend {self.backend}: unknown; use one of {', '.join(BACKENDS)}.")
        if self.jobs < 1:
            raise ConfigError(f"jobs: must be at least 1 here, got {self.jobs}.")

    def local_jobs(self, n_items: int, total_work: Optional[float]) -> int:
        """How many local processes to use for this much work (1: in this process)."""
        jobs = min(self.jobs, n_items)
        if total_work is not None and self.min_work:
            jobs = min(jobs, int(total_work // self.min_work))
        return max(1, jobs)


def ordered_map(function: Callable, items: Sequence, workers: Workers = Workers(),
                weights: Optional[Sequence[float]] = None, label: Optional[str] = None,
                prepare: Optional[Callable[[], object]] = None) -> Iterator:
    """function(item) for every item, in input order, computed by `workers` (see the module docstring).

    `weights` (one number per item, e.g. its size) balance the chunks and decide, with
    `workers.min_work`, whether other processes are worth starting. `label` shows a progress
    bar on a terminal. `prepare()` builds, in this process, what forked workers should find
    ready (a pipeline, a model: see forkpool.py); it is called only when workers are forked.
    """
    from .files import progress

    items = list(items)
    total = float(sum(weights)) if weights is not None else None
    if in_worker() or (workers.backend == "local" and workers.local_jobs(len(items), total) == 1):
        with progress(items, label) if label else _nothing(items) as bar:
            for item in bar:
                yield function(item)
        return
    if prepare is not None and forks(workers):
        prepare()
    with _executor(workers, len(items), function) as (run, jobs):
        chunks = list(_chunks(items, jobs, weights))
        level = log.getEffectiveLevel()
        answers = run((chunk, level, os.getpid()) for chunk in chunks)
        with progress(answers, label, length=len(chunks)) if label else _nothing(answers) as bar:
            for answer in bar:
                for records, outcome, failed in answer:
                    for record_level, message in records:
                        log.log(record_level, message)
                    if failed:
                        raise outcome
                    yield outcome


def forks(workers: Workers) -> bool:
    """Whether `workers` are local processes started by fork (they find this process's state ready)."""
    return workers.backend == "local" and start_method() == "fork"


class _nothing:
    """A context manager giving back what it was given (no progress bar)."""

    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


def _chunks(items: list, jobs: int, weights=None) -> Iterator[list]:
    """Consecutive runs of items, about CHUNKS_PER_JOB per job, of similar weight."""
    if not items:
        return
    if weights is None:
        size = max(1, min(MAX_CHUNK, -(-len(items) // (jobs * CHUNKS_PER_JOB))))
        for start in range(0, len(items), size):
            yield items[start:start + size]
        return
    target = max(float(sum(weights)) / (jobs * CHUNKS_PER_JOB), 1e-9)
    chunk, weight = [], 0.0
    for item, item_weight in zip(items, weights):
        chunk.append(item)
        weight += item_weight
        if weight >= target or len(chunk) >= MAX_CHUNK:
            yield chunk
            chunk, weight = [], 0.0
    if chunk:
        yield chunk


@contextlib.contextmanager
def _executor(workers: Workers, n_items: int, function: Callable):
    """(run, jobs): `run(arguments)` yields run_chunk(function, *args) for each args tuple, in order;
    `jobs` is how many run at once."""
    if workers.backend == "dask":
        with _dask_executor(workers, function) as pair:
            yield pair
        return
    jobs = workers.local_jobs(n_items, None)
    if start_method() == "fork":
        threads = max(1, available_cores() // jobs)
        try:
            with forked_pool(functools.partial(run_chunk, function), jobs, IN_FLIGHT_PER_JOB * jobs, threads) as run:
                yield run, jobs
        except WorkerDied as exc:
            raise _worker_error(exc) from None
        return
    from joblib import parallel_config
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    try:
        with parallel_config(backend="loky", n_jobs=jobs):
            yield _joblib_run(function), jobs
    except TerminatedWorkerError as exc:
        raise _worker_error(exc) from None


def _worker_error(exc) -> WorkerError:
    return WorkerError(f"a worker process ended unexpectedly ({_first_line(exc)}); nothing was written. "
                       "Run again with --jobs 1 to do the work in one process.")


@contextlib.contextmanager
def _dask_executor(workers: Workers, function: Callable):
    """(run, jobs) on the Dask cluster through joblib's dask backend."""
    from joblib import parallel_config

    with _dask_client(workers) as client:
        jobs = max(1, sum(client.nthreads().values()))
        with client.as_current(), parallel_config(backend="dask", n_jobs=jobs, wait_for_workers_timeout=60):
            yield _joblib_run(function), jobs


def _joblib_run(function: Callable) -> Callable:
    """`run(arguments)` through joblib's configured backend (loky, dask): run_chunk(function, *args)
    for each args tuple, answers in order, IN_FLIGHT_PER_JOB tasks per job handed out ahead."""
    from joblib import Parallel, delayed

    return lambda arguments: Parallel(return_as="generator", pre_dispatch=f"{IN_FLIGHT_PER_JOB}*n_jobs",
                                      batch_size=1)(delayed(run_chunk)(function, *args) for args in arguments)


@contextlib.contextmanager
def _dask_client(workers: Workers):
    """A client of the Dask cluster at workers.scheduler (or DASK_SCHEDULER_ADDRESS), closed afterwards."""
    address = workers.scheduler or os.environ.get(SCHEDULER_VARIABLE)
    if not address:
        raise ConfigError(f"--backend dask needs the scheduler's address: --scheduler tcp://HOST:8786, or "
                          f"the environment variable {SCHEDULER_VARIABLE}.")
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--backend dask needs Dask: pip install 'capcode[cluster]' "
                          "(dask and distributed).") from None
    try:
        client = Client(address, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address} ({_first_line(exc)}); check the "
                          "address and that the cluster is running.") from None
    try:
        yield client
    finally:
        client.close()


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---- in the worker ----------------------------------------------------------------------------

class _Capture(logging.Filter):
    """Keeps the log records of the threads doing work for the main process; shown there in order."""

    def __init__(self):
        super().__init__()
        self.records = {}  # thread id -> [(level, message)]

    def filter(self, record):
        kept = self.records.get(record.thread)
        if kept is None:
            return True
        kept.append((record.levelno, record.getMessage()))
        return False


_CAPTURE = _Capture()
_CAPTURE_LOCK = threading.Lock()


def run_chunk(function, chunk, level, parent_pid) -> list:
    """In a worker: (log records, result or exception, failed) for each item, stopping at a failure.

    Log records of this thread are kept back and returned (the main process shows them in
    input order). In a worker process of its own the capcode logger takes the main process's
    level, so that exactly the messages it would show are kept.
    """
    thread = threading.get_ident()
    with _CAPTURE_LOCK:
        if _CAPTURE not in log.filters:
            log.addFilter(_CAPTURE)
        if os.getpid() != parent_pid:
            log.setLevel(level)
            mark_worker()  # work this worker would spread runs in it
    answers = []
    try:
        for item in chunk:
            _CAPTURE.records[thread] = records = []
            try:
                answers.append((records, function(item), False))
            except Exception as exc:
                answers.append((records, exc, True))
                break
    finally:
        _CAPTURE.records.pop(thread, None)
    return answers


def chunk_items(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last may be shorter): for callers that map over chunks."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
