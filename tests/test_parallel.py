"""Work spread over processes or a Dask cluster: results, messages and errors as in one process."""

import hashlib
import json
import logging
import os
import sys

import pytest
from click.testing import CliRunner

import pipeline.segment as segment
from pipeline.cli import cli
from pipeline.errors import CapcodeError, ConfigError, InputError
from pipeline.parallel import WorkerError, Workers, ordered_map, resolve_jobs
from pipeline.segment import run_segment

log = logging.getLogger("capcode")
TWO = Workers(jobs=2, min_work=0)


def square_and_say(item):
    log.warning(f"item {item} in process {os.getpid()}")
    if item == "bad":
        raise InputError("bad.txt: this item cannot be used.")
    if item == "die":
        os._exit(3)
    return item * item


class Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def kept():
    handler = Kept()
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    yield handler
    log.removeHandler(handler)
    log.setLevel(level)


@pytest.fixture(params=["fork", "spawn"])
def start(request, monkeypatch):
    """Local workers started by fork (where the system has it) and by loky's spawn (the fallback)."""
    monkeypatch.setenv("CAPCODE_WORKER_START", request.param)
    return request.param


def test_results_and_messages_come_in_input_order_from_other_processes(kept, start):
    items = list(range(40))
    assert list(ordered_map(square_and_say, items, TWO)) == [i * i for i in items]
    assert [line.split(" in process")[0] for line in kept.lines] == [f"item {i}" for i in items]
    assert {line.split("in process ")[1] for line in kept.lines} - {str(os.getpid())}, "no other process did work"


def test_one_job_or_little_work_stays_in_this_process(kept):
    assert list(ordered_map(square_and_say, [1, 2, 3], Workers(jobs=1))) == [1, 4, 9]
    assert list(ordered_map(square_and_say, [4], Workers(jobs=2, min_work=100), weights=[10])) == [16]
    assert all(line.endswith(f"in process {os.getpid()}") for line in kept.lines)


def test_an_error_in_a_worker_is_raised_after_the_items_before_it(kept, start):
    got = []
    with pytest.raises(InputError, match="bad.txt: this item cannot be used."):
        for result in ordered_map(square_and_say, [1, 2, 3, "bad", 5, 6], TWO):
            got.append(result)
    assert got == [1, 4, 9]
    assert [line.split(" in process")[0] for line in kept.lines] == ["item 1", "item 2", "item 3", "item bad"]


def test_a_worker_that_dies_is_a_one_line_error(start):
    with pytest.raises(WorkerError, match="a worker process ended unexpectedly .*Run again with --jobs 1"):
        list(ordered_map(square_and_say, [1, "die", 3, 4], TWO))


def pids_of_a_nested_map(item):
    return item, os.getpid(), sorted({pid for _, pid in ordered_map(item_and_pid, range(8), TWO)})


def item_and_pid(item):
    return item, os.getpid()


def test_a_worker_does_not_spread_its_own_work(start):
    answers = list(ordered_map(pids_of_a_nested_map, range(6), TWO))
    assert [item for item, _, _ in answers] == list(range(6))
    assert all(inner == [worker] for _, worker, inner in answers)  # a nested map runs in the worker itself
    assert {worker for _, worker, _ in answers} - {os.getpid()}


def test_the_start_method_can_be_chosen(monkeypatch):
    from pipeline.forkpool import start_method

    monkeypatch.setenv("CAPCODE_WORKER_START", "spawn")
    assert start_method() == "spawn"
    monkeypatch.delenv("CAPCODE_WORKER_START")
    assert start_method() == ("fork" if os.name == "posix" and sys.platform != "darwin" else "spawn")
    monkeypatch.setenv("CAPCODE_WORKER_START", "threads")
    with pytest.raises(ConfigError, match="CAPCODE_WORKER_START=threads: unknown; use one of fork, spawn"):
        start_method()


def test_job_counts():
    assert resolve_jobs(0) == resolve_jobs(None) >= 1
    assert resolve_jobs(3) == 3
    with pytest.raises(ConfigError):
        resolve_jobs(-1)
    with pytest.raises(ConfigError, match="unknown; use one of local, dask"):
        Workers(backend="spark")


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def parallel_cli(monkeypatch):
    """The CLI with every input worth a worker process (the sample study is small)."""
    monkeypatch.setattr(segment, "MIN_BYTES_PER_WORKER", 1)
    monkeypatch.setattr(segment, "GROUP_FILES", 3)  # several groups, so that both workers get some


def test_segment_on_two_processes_writes_the_same_bytes_and_messages(tmp_path, parallel_cli):
    runner = CliRunner()
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.jsonl"
        result = runner.invoke(cli, ["segment", "data/sample/transcripts", "--manifest", "data/sample/manifest.csv",
                                     "--out", str(out), "--jobs", jobs])
        assert result.exit_code == 0, result.output
        outputs[jobs] = (digest(out), result.stderr.replace(str(out), "OUT"))
    assert outputs["1"] == outputs["2"]
    assert outputs["1"][1].count(": interviewer") == 34  # one line per transcript


def test_a_bad_transcript_in_a_parallel_run_is_one_error_line_and_no_output(tmp_path, parallel_cli):
    folder = tmp_path / "study"
    folder.mkdir()
    for name in sorted(os.listdir("data/sample/transcripts"))[:8]:
        (folder / name).write_bytes(open(f"data/sample/transcripts/{name}", "rb").read())
    (folder / "case9_respondent1.txt").write_bytes(b"R: goed\x00\x01 binair")
    out = tmp_path / "fragments.jsonl"
    result = CliRunner().invoke(cli, ["segment", str(folder), "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "case9_respondent1.txt" in errors[0] and "Traceback" not in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # no temporary file, no lock left


def test_shards_joined_in_order_are_the_single_file(tmp_path, parallel_cli):
    single, folder = tmp_path / "all.jsonl", tmp_path / "shards"
    args = ["data/sample/transcripts", "--manifest", "data/sample/manifest.csv"]
    assert run_segment(args[:1], single, manifest=args[2]) == 193
    for _ in range(2):  # a second run replaces the folder it wrote before
        assert run_segment(args[:1], folder, manifest=args[2], workers=TWO, shard_size=10) == 193
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [part["file"] for part in manifest["parts"]] == [f"part-{n:05d}.jsonl" for n in range(4)]
    assert sum(len(part["transcripts"]) for part in manifest["parts"]) == manifest["transcripts"] == 34
    joined = b"".join((folder / part["file"]).read_bytes() for part in manifest["parts"])
    assert joined == single.read_bytes()
    assert all(hashlib.sha256((folder / p["file"]).read_bytes()).hexdigest() == p["sha256"] for p in manifest["parts"])
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(CapcodeError, match="is not a folder of shards written by capcode"):
        run_segment(args[:1], other, shard_size=10)
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_segment_on_a_dask_cluster_equals_the_local_run(tmp_path, kept):
    import distributed  # the cluster extra: make install installs it (the dev extra)
    local = tmp_path / "local.jsonl"
    run_segment(["data/sample/transcripts"], local, manifest="data/sample/manifest.csv")
    local_lines = list(kept.lines)
    kept.lines.clear()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = tmp_path / "dask.jsonl"
        count = run_segment(["data/sample/transcripts"], remote, manifest="data/sample/manifest.csv",
                            workers=Workers(backend="dask", scheduler=cluster.scheduler_address, min_work=0))
        shards = tmp_path / "shards"
        run_segment(["data/sample/transcripts"], shards, manifest="data/sample/manifest.csv", shard_size=20,
                    workers=Workers(backend="dask", scheduler=cluster.scheduler_address))
    assert count == 193 and remote.read_bytes() == local.read_bytes()
    assert kept.lines[:len(local_lines)] == local_lines  # the interviewer lines, in order, once
    manifest = json.loads((shards / "manifest.json").read_text(encoding="utf-8"))
    assert b"".join((shards / p["file"]).read_bytes() for p in manifest["parts"]) == local.read_bytes()


def test_the_dask_backend_needs_an_address(monkeypatch, tmp_path):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    result = CliRunner().invoke(cli, ["segment", "data/sample/transcripts", "--out", str(tmp_path / "f.jsonl"),
                                      "--backend", "dask"])
    assert result.exit_code == 1
    assert "Error: --backend dask needs the scheduler's address" in result.stderr
    result = CliRunner().invoke(cli, ["segment", "data/sample/transcripts", "--out", str(tmp_path / "f.jsonl"),
                                      "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "--scheduler is for --backend dask" in result.stderr


def test_each_worker_thread_segments_with_a_pipeline_of_its_own():
    """A Dask worker may run several threads in one process; spaCy's objects are not shared between them."""
    import threading

    from pipeline.config import SegmentParams
    from pipeline.segment import segmenting_nlp

    main = segmenting_nlp(SegmentParams())
    seen = {}

    def work(name):
        seen[name] = (segmenting_nlp(SegmentParams()), segmenting_nlp(SegmentParams()))

    threads = [threading.Thread(target=work, args=(n,)) for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert main is segmenting_nlp(SegmentParams())
    assert all(first is second for first, second in seen.values())      # kept for the thread's lifetime
    assert len({id(main), id(seen["a"][0]), id(seen["b"][0])}) == 3       # one per thread
    assert seen["a"][0].pipe_names == main.pipe_names == ["capcode_sentences"]


def test_forked_workers_segment_with_the_pipeline_the_main_process_built(tmp_path, monkeypatch, parallel_cli):
    """The spaCy pipeline is built once, before the workers are forked; they segment with their copy of it."""
    from pipeline import dutch

    monkeypatch.delenv("CAPCODE_WORKER_START", raising=False)
    builds, worked = tmp_path / "builds.txt", tmp_path / "worked.txt"
    build, group = dutch._build_blank, segment.segment_group

    def counted_build(*args, **kwargs):
        with open(builds, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        return build(*args, **kwargs)

    def counted_group(*args, **kwargs):
        with open(worked, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        return group(*args, **kwargs)

    monkeypatch.setattr(dutch, "_build_blank", counted_build)
    monkeypatch.setattr(segment, "segment_group", counted_group)
    dutch._cached_nlp.cache_clear()
    args = (["data/sample/transcripts"], )
    assert run_segment(*args, tmp_path / "two.jsonl", manifest="data/sample/manifest.csv", workers=TWO) == 193
    workers = set(worked.read_text(encoding="utf-8").split())
    assert len(workers) == 2 and str(os.getpid()) not in workers  # two other processes did the work
    assert builds.read_text(encoding="utf-8").split() == [str(os.getpid())]  # built once, here
    run_segment(*args, tmp_path / "one.jsonl", manifest="data/sample/manifest.csv")
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()


# ---- the garbage collector while a group of transcripts is segmented ------------------------------

class _Cycle:
    def __init__(self):
        self.me = self


def test_older_objects_are_spared_by_the_collector_and_handed_back():
    import gc
    import weakref

    from pipeline.forkpool import older_objects_spared

    older = _Cycle()
    assert gc.get_freeze_count() == 0
    with older_objects_spared():
        assert gc.get_freeze_count() > 0
        made = weakref.ref(_Cycle())  # garbage made in the block is still collected
        gc.collect()
        assert made() is None
        dropped = weakref.ref(older)
        del older  # an older object that becomes garbage waits for the end of the block
        gc.collect()
        assert dropped() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert dropped() is None


def test_objects_frozen_by_the_caller_stay_frozen():
    import gc

    from pipeline.forkpool import older_objects_spared

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with older_objects_spared():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_segmenting_a_group_spares_the_older_objects(data_dir, nlp, monkeypatch):
    import gc

    from pipeline.config import SegmentParams

    seen = []
    original = segment.group_records
    monkeypatch.setattr(segment, "group_records", lambda *args: seen.append(gc.get_freeze_count()) or original(*args))
    jobs = segment.file_jobs([data_dir / "segment_study"])
    assert segment.segment_group(jobs, SegmentParams(), "fragment", segment.DEFAULT_LIMITS, nlp)
    assert seen and seen[0] > 0 and gc.get_freeze_count() == 0
