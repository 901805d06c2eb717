"""Clean interruption: locks per output, temporary files of dead runs, signals, a full disk.

The subprocess tests start real `capcode` processes (python -m pipeline.cli), stop them with
real signals and look at what is left in the folder.
"""

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline import runs
from pipeline.cli import cli
from pipeline.errors import OutputError
from pipeline.files import atomic_open, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def dead_pid() -> int:
    """The pid of a process that has just ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def leftovers(folder: Path) -> list:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".tmp", ".lock")))


# ---- locks --------------------------------------------------------------------------------------


@pytest.fixture(params=["flock", "exclusive"])
def lock_kind(request, monkeypatch):
    if request.param == "exclusive":
        monkeypatch.setattr(runs, "fcntl", None)
    return request.param


def test_a_second_run_on_the_same_output_stops_with_a_message(tmp_path, lock_kind):
    out = tmp_path / "predictions.jsonl"
    with runs.output_lock(out, "capcode predict"):
        with pytest.raises(runs.OutputBusy) as caught:
            with runs.output_lock(out, "capcode predict"):
                pass
    message = str(caught.value)
    assert message.startswith(f"{out}: another capcode run is writing it (process {os.getpid()} ('capcode predict', started ")
    assert "wait until that run has finished, or write to another --out" in message
    assert leftovers(tmp_path) == []  # released: the lock file is gone
    with runs.output_lock(out):  # and can be taken again
        pass


def test_the_lock_of_a_dead_run_does_not_block(tmp_path, lock_kind):
    out = tmp_path / "model"
    runs.lock_path(out).write_text(json.dumps({"pid": dead_pid(), "host": runs.host_tag(), "command": "capcode train",
                                               "started": "2026-01-01T10:00:00"}), encoding="utf-8")
    with runs.output_lock(out, "capcode train") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert leftovers(tmp_path) == []


def test_a_lock_of_a_living_process_on_this_computer_blocks_without_flock(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "fcntl", None)
    out = tmp_path / "out.csv"
    runs.lock_path(out).write_text(json.dumps({"pid": 1, "host": runs.host_tag()}), encoding="utf-8")
    with pytest.raises(runs.OutputBusy, match=r"another capcode run is writing it \(process 1\)"):
        with runs.output_lock(out):
            pass


def test_waiting_for_a_lock_gives_up_after_the_wait(tmp_path):
    out = tmp_path / "a.jsonl"
    with runs.output_lock(out):
        started = time.monotonic()
        with pytest.raises(runs.OutputBusy):
            with runs.output_lock(out, wait=0.3):
                pass
        assert time.monotonic() - started >= 0.3


def test_a_lock_makes_no_folders_it_leaves_behind(tmp_path):
    with runs.output_lock(tmp_path / "new" / "deeper" / "f.jsonl"):
        assert (tmp_path / "new" / "deeper").is_dir()
    assert not (tmp_path / "new").exists()


def test_commands_lock_their_outputs(tmp_path, data_dir):
    out = tmp_path / "fragments.jsonl"
    with runs.output_lock(out, "capcode segment"):
        result = CliRunner().invoke(cli, ["segment", str(data_dir / "readers_utf8.txt"), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {out}: another capcode run is writing it (process {os.getpid()}")
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


# ---- temporary files ----------------------------------------------------------------------------


def test_the_temporary_file_of_a_dead_run_is_removed_and_others_are_kept(tmp_path):
    out = tmp_path / "fragments.jsonl"
    stale = tmp_path / f".fragments.jsonl.{dead_pid()}-{runs.host_tag()}.abcd1234.tmp"
    living = tmp_path / f".fragments.jsonl.1-{runs.host_tag()}.abcd1234.tmp"
    elsewhere = tmp_path / f".fragments.jsonl.{dead_pid()}-000000.abcd1234.tmp"
    for path in (stale, living, elsewhere):
        path.write_text("half", encoding="utf-8")
    write_jsonl(out, [{"a": 1}])
    assert not stale.exists() and living.exists() and elsewhere.exists()
    assert out.read_text(encoding="utf-8") == '{"a": 1}\n'


def test_a_temporary_file_left_in_an_import_folder_does_not_block_importing_again(tmp_path):
    from pipeline.qdpx.importing import run_import_qdpx
    from tests.test_qdpx import SRC, TEXT, one_source_project

    project = one_source_project(tmp_path, TEXT, [])
    run_import_qdpx(project, tmp_path / "imp", "default")
    (tmp_path / "imp" / "sources" / f".interview.txt.{dead_pid()}-{runs.host_tag()}.x1y2z3.tmp").write_text("half")
    (tmp_path / "imp" / "sources" / ".interview.txt.k3j4h5.tmp").write_text("half")  # an older capcode's
    summary = run_import_qdpx(project, tmp_path / "imp", "default")
    assert summary["sources"] == 1
    assert leftovers(tmp_path / "imp") == [".interview.txt.k3j4h5.tmp"]  # dead run's removed; unknown kept


def test_a_full_disk_names_the_output_and_leaves_nothing(tmp_path):
    out = tmp_path / "predictions.jsonl"
    out.write_text("the earlier result\n", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        with atomic_open(out) as handle:
            handle.write("x")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(caught.value) == (f"{out}: cannot be written, the disk is full (No space left on device); "
                                 "nothing was written. Free some space and run again.")
    assert out.read_text(encoding="utf-8") == "the earlier result\n"
    assert leftovers(tmp_path) == []


# ---- real processes -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_transcript(tmp_path_factory, data_dir):
    """A transcript that takes a few seconds to segment (the sample interviews, repeated)."""
    parts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "data" / "sample" / "transcripts").glob("*.txt"))]
    path = tmp_path_factory.mktemp("long") / "case1_respondent1.txt"
    path.write_text("\n\n".join(parts * 12), encoding="utf-8")
    return path


def start(args, cwd, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def wait_for(predicate, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def writing(folder: Path, name: str):
    return lambda: any(p.name.startswith(f".{name}.") and p.name.endswith(".tmp") for p in folder.iterdir())


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_run_removes_its_temporary_file_and_lock(tmp_path, long_transcript, signum, code):
    process = start(["segment", long_transcript, "--out", tmp_path / "fragments.jsonl"], tmp_path)
    assert wait_for(writing(tmp_path, "fragments.jsonl")), process.communicate()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr.decode().strip().splitlines()[-1] == (
        f"capcode: stopped by {signal.Signals(signum).name}; outputs not finished were not written "
        "(their temporary files are removed).")
    assert "Traceback" not in stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_after_a_killed_run_the_next_run_cleans_up_and_succeeds(tmp_path, long_transcript):
    process = start(["segment", long_transcript, "--out", tmp_path / "fragments.jsonl"], tmp_path)
    assert wait_for(writing(tmp_path, "fragments.jsonl")), process.communicate()
    process.kill()  # SIGKILL cannot be caught: its temporary file and lock file stay
    process.communicate()
    assert any(name.endswith(".tmp") for name in leftovers(tmp_path))
    again = start(["segment", long_transcript, "--out", tmp_path / "fragments.jsonl"], tmp_path)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()
    assert leftovers(tmp_path) == [] and (tmp_path / "fragments.jsonl").stat().st_size > 0


def test_two_runs_writing_the_same_output(tmp_path, long_transcript):
    first = start(["segment", long_transcript, "--out", tmp_path / "fragments.jsonl"], tmp_path)
    assert wait_for(lambda: runs.lock_path(tmp_path / "fragments.jsonl").exists()), first.communicate()
    second = start(["segment", long_transcript, "--out", "fragments.jsonl"], tmp_path)  # the same file, relative
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 1
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"Error: fragments.jsonl: another capcode run is writing it (process {first.pid} ('capcode segment', started ")
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr.decode()
    assert leftovers(tmp_path) == []
    assert sum(1 for _ in open(tmp_path / "fragments.jsonl", encoding="utf-8")) > 100


def _small_file_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_write_the_system_refuses_names_the_output_file(tmp_path, long_transcript):
    process = start(["segment", long_transcript, "--out", tmp_path / "fragments.jsonl"], tmp_path,
                    preexec_fn=_small_file_limit)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1
    lines = stderr.decode().strip().splitlines()
    # before it, segment's one line per transcript on who interviews (labels and counts, no text)
    assert all(line.startswith("capcode: ") and "interviewer" in line for line in lines[:-1])
    assert lines[-1:] == [
        f"Error: {tmp_path / 'fragments.jsonl'}: cannot be written, the file would be larger than this system "
        "allows (File too large)."]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---- runs with worker processes -----------------------------------------------------------------

PARALLEL = ("import sys, pipeline.segment as s; s.MIN_BYTES_PER_WORKER = 1; "  # however small, two workers
            "sys.argv = ['capcode'] + sys.argv[1:]; from pipeline.cli import main; main()")


@pytest.fixture(scope="module")
def long_study(tmp_path_factory, long_transcript):
    """Several long transcripts: work for two worker processes for a few seconds."""
    folder = tmp_path_factory.mktemp("study")
    for number in range(1, 7):
        (folder / f"case{number}_respondent1.txt").write_bytes(long_transcript.read_bytes())
    return folder


def start_parallel(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", PARALLEL, *map(str, args), "--jobs", "2"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def children(pid: int) -> list:
    """The living processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state != "Z":
                found.append(int(entry))
    return found


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_ctrl_c_stops_a_run_and_its_workers_and_leaves_nothing(tmp_path, long_study):
    process = start_parallel(["segment", long_study, "--out", tmp_path / "fragments.jsonl"], tmp_path)
    assert wait_for(lambda: len(children(process.pid)) >= 2), process.communicate()
    workers = children(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches every process of the command
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    assert stderr.decode().strip().splitlines()[-1].startswith("capcode: stopped by SIGINT; ")
    assert "Traceback" not in stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert wait_for(lambda: all(gone(pid) for pid in workers), 10)


def test_the_workers_of_a_killed_run_end_and_hold_no_lock(tmp_path, long_study):
    process = start_parallel(["segment", long_study, "--out", tmp_path / "fragments.jsonl"], tmp_path)
    assert wait_for(lambda: len(children(process.pid)) >= 2), process.communicate()
    workers = children(process.pid)
    process.kill()  # the main process only: its workers must notice and end
    process.communicate()
    assert wait_for(lambda: all(gone(pid) for pid in workers), 10), "a worker outlived its main process"
    again = start_parallel(["segment", long_study, "--out", tmp_path / "fragments.jsonl"], tmp_path)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()
    assert leftovers(tmp_path) == [] and (tmp_path / "fragments.jsonl").stat().st_size > 0
