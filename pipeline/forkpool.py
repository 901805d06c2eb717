"""Local worker processes started by fork: they start in milliseconds with what the main process built.

`parallel.ordered_map` hands its chunks to local worker processes. Where the system can fork
(Linux, the BSDs), the workers are copies of the main process made at the moment the
work starts: the spaCy pipeline, the model and the sentence encoder the main process built
beforehand (`ordered_map`'s `prepare`) are there already, shared copy-on-write, instead of
each worker spending seconds importing and building them again (as processes started afresh,
'spawn', must). Where fork does not exist (Windows), on macOS (see `start_method`), or with
CAPCODE_WORKER_START=spawn, joblib's loky processes are used as before.

What a fork must not carry over from the main process, each worker undoes first thing:
- **the run's locks and temporary files** (`runs.forget_parent_run`): a worker neither holds
  the output's lock nor removes the main process's temporary files;
- **signals**: Ctrl-C and a closed terminal are the main process's to handle (it stops the
  workers as it unwinds), so a worker ignores SIGINT and SIGHUP and ends on SIGTERM;
- **an orphaned life**: a worker whose main process has died (SIGKILL) ends within a second;
- **threads**: BLAS and OpenMP are limited to the worker's share of the cores (set in the main
  process while its workers live, so that they inherit it at no cost);
- **the work itself**: a worker never starts workers of its own (nested maps run in it).

The function to run is put in a table before the fork, so the workers have it without
pickling; only the chunks travel to them, and their answers back. Python's garbage collector
is told to leave the objects of the main process alone (`gc.freeze`) while workers live,
so that the memory they share stays shared.
"""

import collections
import contextlib
import functools
import gc
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings

START_VARIABLE = "CAPCODE_WORKER_START"
START_METHODS = ("fork", "spawn")
PARENT_CHECK_SECONDS = 0.5

_WORK = {}  # token -> function, filled in the main process before its workers are forked
_TOKENS = itertools.count()
_in_worker = False


def start_method() -> str:
    """'fork' on Linux and the BSDs (unless CAPCODE_WORKER_START=spawn), else 'spawn' (loky).

    macOS can fork, but its system libraries are not made to run in a forked copy of a process
    (Python itself starts processes afresh there): fork only with CAPCODE_WORKER_START=fork."""
    default = "spawn" if sys.platform == "darwin" else "fork"
    chosen = os.environ.get(START_VARIABLE, "").strip().lower() or default
    if chosen not in START_METHODS:
        from .errors import ConfigError

        raise ConfigError(f"{START_VARIABLE}={chosen}: unknown; use one of {', '.join(START_METHODS)}.")
    if chosen == "fork" and "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    return chosen


def in_worker() -> bool:
    """Whether this process is a forked worker (which does its work itself, never spreading it)."""
    return _in_worker


def mark_worker() -> None:
    """This process is a worker (of any kind): what it would spread, it does itself."""
    global _in_worker
    _in_worker = True


class WorkerDied(Exception):
    """A forked worker ended without an answer."""


@contextlib.contextmanager
def older_objects_spared():
    """While the block runs, Python's garbage collector leaves alone the objects that existed
    before it: a spaCy pipeline with its tables and the modules are some hundred thousand
    objects, which every full collection would walk again (segmenting 1M words of short
    transcripts made one or two, 0.1-0.2 s: docs/scale.md). Objects made in the block are
    collected as usual, and the older ones are handed back to the collector at its end. Left
    as it is when objects are frozen already (in a forked worker, or by a caller)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def forked_pool(function, jobs: int, in_flight: int, threads: int = 1):
    """`run(arguments)`: function(*args) for each args tuple, in order, by `jobs` forked workers,
    at most `in_flight` tuples handed out ahead. The workers are forked at the first tuple, from
    the state of this process at that moment; they are stopped when the block ends (at once
    when it ends by an exception: an error, Ctrl-C). `threads`: BLAS/OpenMP threads per worker."""
    from concurrent.futures import ProcessPoolExecutor

    token = next(_TOKENS)
    _WORK[token] = function
    gc.freeze()
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_started, initargs=(os.getpid(),))
    finished = False
    try:
        with _threads_limited(threads):  # set here, inherited by the workers
            yield lambda arguments: _in_order(pool, token, arguments, in_flight)
        finished = True
    finally:
        if not finished:
            _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        _WORK.pop(token, None)
        gc.unfreeze()


def _in_order(pool, token, arguments, in_flight: int):
    from concurrent.futures.process import BrokenProcessPool

    arguments = iter(arguments)
    with _signals_held(), warnings.catch_warnings():  # the first tasks fork the workers, start the pool's threads
        # Python 3.12+ warns of any fork in a process with threads; here those are BLAS's idle pool
        # threads, which OpenBLAS quiesces around a fork itself.
        warnings.simplefilter("ignore", DeprecationWarning)
        pending = collections.deque(pool.submit(_run, token, args) for args in itertools.islice(arguments, in_flight))
    while pending:
        try:
            answer = pending.popleft().result()
        except BrokenProcessPool as exc:
            raise WorkerDied(str(exc) or "a worker process was stopped") from None
        pending.extend(pool.submit(_run, token, args) for args in itertools.islice(arguments, 1))
        yield answer


HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _signals_held():
    """Ctrl-C and the other stop signals wait while workers are forked: a signal handled during a fork
    would be raised inside Python's fork hooks and lost there. The threads started meanwhile (the
    pool's) keep them blocked for good, so that the main thread receives them, at once."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@functools.lru_cache(maxsize=1)
def thread_pools():
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries, found once per process: finding
    them reads every loaded library (milliseconds), and the fits of `evaluate` limit their
    threads thousands of times."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def _threads_limited(threads: int):
    """BLAS/OpenMP threads limited to `threads` in this process, and so in the workers forked
    meanwhile (as loky limits its workers to their share of the cores)."""
    if "numpy" not in sys.modules:  # no BLAS loaded (segment): nothing to limit
        yield
        return
    with thread_pools().limit(limits=max(1, threads)):
        yield


def _stop_workers(pool) -> None:
    """End the workers now (their running chunks are abandoned), not after their current chunk."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()


def _run(token, args):
    return _WORK[token](*args)


# ---- in the worker ----------------------------------------------------------------------------

def _worker_started(parent_pid: int) -> None:
    """First thing in a forked worker: drop what belongs to the main process's run (module docstring)."""
    from .runs import forget_parent_run

    mark_worker()
    forget_parent_run()
    for name, action in (("SIGINT", signal.SIG_IGN), ("SIGHUP", signal.SIG_IGN), ("SIGTERM", signal.SIG_DFL)):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), action)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)  # held by the main process while forking
    threading.Thread(target=_end_with_parent, args=(parent_pid,), daemon=True, name="capcode-parent-watch").start()


def _end_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


