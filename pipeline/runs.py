"""One run at a time per output, and nothing left behind when a run is stopped.

- **Temporary files.** An atomic write (`files.atomic_path`) writes `.NAME.<pid>-<host>.XXXX.tmp`
  beside its output and renames it into place when complete. The name says which process
  on which computer made it, so a later run can tell the leftover of a run that died
  (killed, power cut) from a file another run is still writing, and removes it
  (`remove_stale_temps`). Leftovers never block a run: capcode reads no hidden file.
- **Signals.** `stop_on_signals` makes SIGTERM, SIGINT and SIGHUP raise `RunInterrupted`
  in the main thread, so the run unwinds like after an error: every atomic write removes
  its temporary file and every lock is released; the command line prints one line and
  exits with 128 + the signal number. Only SIGKILL cannot be caught; its temporary file
  is removed by the next run that writes the same output.
- **Locks.** `output_lock(path)` takes `.NAME.lock` beside an output (file or folder) for
  the whole run. A second run that wants to write the same output stops at once with a
  message naming the process that holds it (or waits, with `wait`). The lock is an
  `flock` on the file, which the system releases when its process ends however it ends,
  so the lock of a dead run never blocks; where `flock` does not exist, the lock file is
  created exclusively (`O_EXCL`) and a lock whose process is gone is taken over.
"""

import contextlib
import datetime
import errno
import hashlib
import json
import os
import re
import signal
import socket
import time
from pathlib import Path

from .errors import CapcodeError

try:
    import fcntl
except ImportError:  # Windows: exclusive creation with the pid instead
    fcntl = None


class OutputBusy(CapcodeError):
    """Another capcode run is writing the same output."""


class RunInterrupted(BaseException):
    """SIGTERM, SIGINT or SIGHUP arrived: unwind, removing temporary files and releasing locks.

    A BaseException (like KeyboardInterrupt), so that no `except Exception` swallows it.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


# ---- who is running --------------------------------------------------------------------------


def host_tag() -> str:
    """Six hex digits standing for this computer (its name is not written into file names)."""
    return hashlib.sha1(socket.gethostname().encode("utf-8")).hexdigest()[:6]


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists on this computer (another user's counts as alive)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would end the process there; assume it is alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---- temporary files -------------------------------------------------------------------------

_LIVE_TEMPS = set()
_HELD_LOCKS = set()  # file descriptors of the output locks this process holds
_TEMP_OWNER = re.compile(r"\.(\d+)-([0-9a-f]{6})\.[^.]+\.tmp$")


def temp_prefix(path: Path) -> str:
    """The start of the name of a temporary file for `path`: `.NAME.<pid>-<host>.`"""
    return f".{path.name}.{os.getpid()}-{host_tag()}."


def register_temp(tmp) -> None:
    _LIVE_TEMPS.add(str(tmp))


def forget_temp(tmp) -> None:
    _LIVE_TEMPS.discard(str(tmp))


def remove_live_temps() -> int:
    """Remove the temporary files this process still has (after an interruption); return how many."""
    removed = 0
    for tmp in list(_LIVE_TEMPS):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
            removed += 1
        _LIVE_TEMPS.discard(tmp)
    return removed


def forget_parent_run() -> None:
    """In a worker forked from a run: the run's locks and temporary files are not this process's.

    Its copies of the lock files' descriptors are closed (an orphaned worker must not keep an
    output locked), and an interruption here removes none of the main process's temporary files.
    """
    _LIVE_TEMPS.clear()
    for fd in list(_HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()


def is_temp_name(name: str) -> bool:
    """Whether a file name is that of an atomic write's temporary file (of any capcode version)."""
    return name.startswith(".") and name.endswith(".tmp")


def stale_temp(path: Path) -> bool:
    """Whether temporary file `path` was left by a capcode run on this computer that has ended."""
    owner = _TEMP_OWNER.search(path.name)
    return bool(owner) and owner.group(2) == host_tag() and not process_alive(int(owner.group(1)))


def remove_stale_temps(path) -> int:
    """Remove the temporary files of dead runs beside output `path`; return how many."""
    path = Path(path)
    removed = 0
    with contextlib.suppress(OSError):
        for candidate in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
            if stale_temp(candidate):
                with contextlib.suppress(FileNotFoundError):
                    candidate.unlink()
                    removed += 1
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


# ---- signals ---------------------------------------------------------------------------------

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))
_stopping = False


def _raise_interrupted(signum, frame):
    global _stopping
    if _stopping:  # a second signal while unwinding: let the clean-up finish
        return
    _stopping = True
    raise RunInterrupted(signum)


def stop_on_signals() -> None:
    """From now on SIGTERM, SIGINT and SIGHUP raise RunInterrupted (call once, from the main thread)."""
    global _stopping
    _stopping = False
    for number in STOP_SIGNALS:
        signal.signal(number, _raise_interrupted)


# ---- locks -----------------------------------------------------------------------------------


def lock_path(path) -> Path:
    """The lock file of an output: `.NAME.lock` in the same folder."""
    path = Path(os.path.abspath(path))
    return path.parent / f".{path.name}.lock"


def _owner_text(command: str) -> str:
    return json.dumps({"pid": os.getpid(), "host": host_tag(), "command": command,
                       "started": datetime.datetime.now().isoformat(timespec="seconds")})


def _read_owner(lock: Path, fd=None) -> dict:
    try:
        if fd is not None:
            text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        else:
            text = lock.read_text(encoding="utf-8", errors="replace")
        owner = json.loads(text)
        return owner if isinstance(owner, dict) else {}
    except (OSError, ValueError):
        return {}


def _busy(output: Path, lock: Path, owner: dict) -> OutputBusy:
    who = f"process {owner['pid']}" if isinstance(owner.get("pid"), int) else "another process"
    if owner.get("host") not in (None, host_tag()):
        who += " on another computer"
    what = f" ('{owner['command']}', started {owner['started']})" if owner.get("command") and owner.get("started") else ""
    return OutputBusy(f"{output}: another capcode run is writing it ({who}{what}); wait until that run has "
                      f"finished, or write to another --out. If no such run exists, delete {lock}.")


class _Lock:
    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd
        _HELD_LOCKS.add(fd)

    def release(self) -> None:
        _HELD_LOCKS.discard(self.fd)
        with contextlib.suppress(OSError):
            mine = os.fstat(self.fd)
            current = os.stat(self.path)
            if (mine.st_ino, mine.st_dev) == (current.st_ino, current.st_dev):
                os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _try_flock(output: Path, lock: Path, command: str):
    """The lock, or None when the file we locked was just removed by its previous holder (try again)."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        owner = _read_owner(lock, fd)
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise _busy(output, lock, owner) from None
        raise
    try:
        current = os.stat(lock)
    except FileNotFoundError:
        current = None
    mine = os.fstat(fd)
    if current is None or (current.st_ino, current.st_dev) != (mine.st_ino, mine.st_dev):
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, _owner_text(command).encode("utf-8"), 0)
    return _Lock(lock, fd)


def _try_exclusive(output: Path, lock: Path, command: str):
    """The lock by exclusive creation; a lock file of a process that has ended is taken over."""
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        owner = _read_owner(lock)
        pid = owner.get("pid")
        if owner.get("host") == host_tag() and isinstance(pid, int) and not process_alive(pid):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
            return None
        raise _busy(output, lock, owner) from None
    os.write(fd, _owner_text(command).encode("utf-8"))
    return _Lock(lock, fd)


@contextlib.contextmanager
def output_lock(path, command: str = "capcode", wait: float = 0.0):
    """Hold the lock of output `path` (a file or a folder) for the duration of the block.

    Another run holding it raises OutputBusy at once, or after `wait` seconds of trying.
    Folders made for the lock file are removed again if the run leaves them empty.
    """
    output = Path(path)
    lock = lock_path(output)
    made = _make_folders(lock.parent)
    deadline = time.monotonic() + wait
    held = None
    try:
        while held is None:
            try:
                held = (_try_flock if fcntl is not None else _try_exclusive)(output, lock, command)
            except OutputBusy:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        yield lock
    finally:
        if held is not None:
            held.release()
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


@contextlib.contextmanager
def output_locks(paths, command: str = "capcode"):
    """Hold the locks of several outputs (in a fixed order, so two runs never wait on each other)."""
    unique = {os.path.abspath(p): p for p in paths}
    with contextlib.ExitStack() as stack:
        for absolute in sorted(unique):
            stack.enter_context(output_lock(unique[absolute], command))
        yield


def _make_folders(folder: Path) -> list:
    """Create `folder` and missing parents; return those created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    made = []
    for path in reversed(missing):
        try:
            path.mkdir()
            made.append(path)
        except FileExistsError:
            pass
    return made
