"""Learning while coding: retrain in a background process every `review.retrain_every` decisions.

Training is CPU work in Python and numpy for seconds to minutes; done in the server's own
process it would hold the interpreter and the page would stall. So one worker process
(started once, at a lower CPU priority, so the page keeps the processor it needs) does it:
it reads the fragments, the coding files the model learned from (`--train-codings`) and the
review's own codings file as saved so far, trains with the study's `train` settings exactly
as `capcode train` does (the feature cache beside the fragments makes it quicker each time),
and ranks every fragment with the new model (`queue.rank_fragments`). The server receives
the ranking and swaps it in; requests never wait for any of this. One training runs at a
time; decisions made meanwhile count towards the next one.

A retrained model never replaces one that learned from more fragments: until the codes given
to the review cover at least as many fragments as the model's own training data, retraining
waits (and the page says so).

The worker ends with the server: on Linux it is told to stop when its parent dies, also after
a `kill -9`.
"""

import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

log = logging.getLogger("capcode")


@dataclass(frozen=True)
class RetrainRequest:
    """What the worker needs to train and rank: paths and settings only (it reads the files itself)."""

    fragments_path: str
    codings_paths: tuple
    params: object  # config.Params
    codebook: str
    name: str
    version: int


@dataclass(frozen=True)
class RetrainResult:
    version: int
    ranking: object = None  # queue.Ranking; None when training failed
    fragments: int = 0  # fragments the new model learned from
    seconds: float = 0.0
    error: str = ""


def retrain_job(request: RetrainRequest) -> RetrainResult:
    """Train on the given codings and rank every fragment with the new model (runs in the worker)."""
    from ..codings import human_codings, read_codings
    from ..errors import CapcodeError
    from ..files import read_fragments
    from ..learn.cache import using_cache
    from ..learn.model import ModelSpec
    from ..predict import model_thresholds
    from ..codebook.read import load_codebook
    from ..train import cache_for, train_model
    from .queue import rank_fragments

    started = time.perf_counter()
    params = request.params
    try:
        codebook = load_codebook(request.codebook)
        fragments = list(read_fragments(request.fragments_path))
        codings = human_codings(read_codings(list(request.codings_paths), codebook=codebook, fragments=fragments))
        spec = ModelSpec.from_params(params.train, params.segment.spacy_model)
        with using_cache(cache_for(request.fragments_path, params)):
            model = train_model(fragments, codings, codebook, spec, params.train.disagreements, params.train.cv_folds,
                                params.evaluate.group_by, name=request.name,
                                target=params.evaluate.target_precision)
            ranking = rank_fragments(model, codebook, fragments, model_thresholds(model, params.predict))
    except CapcodeError as exc:
        return RetrainResult(request.version, error=str(exc), seconds=time.perf_counter() - started)
    return RetrainResult(request.version, ranking, int(model.manifest["training_data"]["fragments"]),
                         time.perf_counter() - started)


def _stop_with_parent() -> None:
    """Ask Linux to end this process when the server dies (also on SIGKILL); elsewhere a no-op."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(connection, warm_up: bool) -> None:
    """The worker's loop: a request in, a result out, until the server closes the connection."""
    import os
    import signal

    _stop_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is for the server, which ends us
    try:
        os.nice(10)
    except OSError:
        pass
    logging.getLogger("capcode").setLevel(logging.ERROR)  # the page reports; the terminal stays quiet
    import pipeline.train  # noqa: F401  (the first retraining does not wait for the imports)

    if warm_up:
        try:
            from pipeline.learn.encoder import embed  # noqa: F401

            embed(["warm"])
        except Exception:  # no encoder installed: designs without it do not need it
            pass
    try:
        connection.send("ready")
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        try:
            result = retrain_job(request)
        except Exception as exc:  # a bug, not the user's input: report it on the page rather than die
            result = RetrainResult(request.version, error=f"{type(exc).__name__}: {exc}")
        try:
            connection.send(result)
        except (BrokenPipeError, OSError):
            return


class Retrainer:
    """Counts decisions and, every `every` of them, retrains in the worker; `on_result` gets the outcome."""

    def __init__(self, every: int, make_request: Callable[[int], RetrainRequest],
                 on_result: Callable[[RetrainResult], None], enough: Callable[[], tuple], warm_up: bool = True):
        self.every = int(every)
        self.make_request = make_request
        self.on_result = on_result
        self.enough = enough  # () -> (ready, message): may a retrained model replace the current one?
        self.since = 0  # decisions since the last training set was taken
        self.version = 0  # retrainings finished
        self.running = False
        self.message = ""
        self.last: Optional[RetrainResult] = None
        self._lock = threading.Lock()
        self._process = self._connection = None
        self._started_at = 0.0
        self._ready = threading.Event()  # the worker has imported what it needs (and loaded the encoder)
        if self.every > 0:
            self._start_worker(warm_up)

    @property
    def enabled(self) -> bool:
        return self.every > 0

    def _start_worker(self, warm_up: bool) -> None:
        context = multiprocessing.get_context("spawn")  # a clean interpreter: no server threads or sockets copied
        parent, child = context.Pipe()
        self._process = context.Process(target=_worker, args=(child, warm_up), name="capcode-retrain", daemon=True)
        self._process.start()
        child.close()
        self._connection = parent
        threading.Thread(target=self._wait_until_ready, name="capcode-retrain-ready", daemon=True).start()

    def _wait_until_ready(self) -> None:
        try:
            self._connection.recv()  # "ready"
        except (EOFError, OSError):
            pass
        self._ready.set()

    def decided(self, count: int = 1) -> bool:
        """Count decisions (negative for an undo); start a retraining when one is due. True if started."""
        with self._lock:
            self.since = max(0, self.since + count)
            if not self.enabled or self.running or self.since < self.every:
                return False
        ready, message = self.enough()  # outside the lock: it asks the session, which may hold its own
        with self._lock:
            self.message = message
            if not ready or self.running:
                return False
            self.since = 0
            self.running = True
            self._started_at = time.monotonic()
            request = self.make_request(self.version + 1)
        threading.Thread(target=self._run, args=(request,), name="capcode-retrain-wait", daemon=True).start()
        return True

    def _run(self, request: RetrainRequest) -> None:
        self._ready.wait()
        try:
            self._connection.send(request)
            result = self._connection.recv()
        except (EOFError, OSError, BrokenPipeError):
            result = RetrainResult(request.version, error="the retraining process ended unexpectedly")
        with self._lock:
            self.running = False
            self.last = result
            if result.ranking is not None:
                self.version = result.version
                self.message = ""
            else:
                self.message = f"retraining failed: {result.error}"
                log.warning("retraining failed: %s", result.error)
        if result.ranking is not None:
            self.on_result(result)
        self.decided(0)  # decisions made while training may already make the next one due

    def status(self) -> dict:
        with self._lock:
            status = {"enabled": self.enabled, "every": self.every, "since": self.since, "running": self.running,
                      "version": self.version, "message": self.message, "ready": self._ready.is_set()}
            if self.running:
                status["running_for"] = round(time.monotonic() - self._started_at, 1)
            if self.last is not None:
                status["last"] = {"seconds": round(self.last.seconds, 1), "fragments": self.last.fragments,
                                  "ok": self.last.ranking is not None}
            return status

    def close(self) -> None:
        """End the worker (a training in progress is abandoned: the codings file has every decision)."""
        if self._process is None:
            return
        try:
            self._connection.close()
        except OSError:
            pass
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=5)
        self._process = None
