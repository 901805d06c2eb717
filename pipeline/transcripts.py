"""Finding the transcripts in the files and folders a command is given.

A transcript's **source** name is its path relative to the folder given (posix slashes), or
its file name when a file is given; fragment ids start with it, so two transcripts with one
source name are refused. A folder is listed in one walk: hidden files and folders and Word's
lock files (~$...) are skipped, and documents capcode cannot read (.doc, .pdf ...) are named in
a warning rather than silently left out.
"""

import logging
import os
from pathlib import Path

from .errors import InputError
from .readers import SUPPORTED_SUFFIXES, unsupported_message

log = logging.getLogger("capcode")


def find_transcripts(inputs) -> list:
    """(source, path) for every transcript in `inputs` (files or folders, searched recursively).

    `source` is the path relative to the folder given (posix slashes) or the
    file name when a file is given. Hidden files and Word lock files (~$...) are skipped.
    """
    return [(source, Path(path)) for source, path in transcript_paths(inputs)]


def transcript_paths(inputs) -> list:
    """`find_transcripts` with each path as text (str(Path(path))): no Path object per file."""
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    found, seen = [], {}
    for given in inputs:
        given = Path(given)
        if not given.exists():
            raise InputError(f"{given}: no such file or folder.")
        if given.is_dir():
            files, left_out = _listing(given)
            if not files:
                raise InputError(f"{given}: no transcripts in this folder (looked for "
                                 f"{', '.join(SUPPORTED_SUFFIXES)}, also in subfolders).")
            _warn_left_out(given, left_out)
            pairs = sorted(files)
        else:
            if given.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise InputError(unsupported_message(given))
            pairs = [(given.name, str(given))]
        for source, path in pairs:
            if source in seen and Path(seen[source]).resolve() != Path(path).resolve():
                raise InputError(f"{path}: has the same source name '{source}' as {seen[source]}; "
                                 "fragment ids would clash. Rename one, or give their common folder.")
            if source not in seen:
                seen[source] = path
                found.append((source, path))
    return found


# Documents that look like transcripts but cannot be read: an interview must not drop out unnoticed.
LEFT_OUT_SUFFIXES = (".doc", ".rtf", ".pdf", ".pages", ".odf")
HIDDEN = (".", "~$")  # hidden files and folders, Word's lock files


def _listing(folder: Path) -> tuple:
    """([(source, path)] of the transcripts, [source] of the files left out) in a folder and its
    subfolders, as os.walk would find them (each path as str(Path(path)) gives it), in one pass of
    os.scandir: the kind of each entry comes with the listing, no system call per file. Hidden
    files and folders are skipped, symbolic links to folders not followed, unreadable folders
    left out."""
    transcripts, left_out = [], []
    root = str(folder)
    pending = [(root, "", "" if root == os.curdir else root)]  # (folder, its source prefix, its path as given)
    while pending:
        directory, prefix, shown = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError:
            continue
        within = os.path.join(shown, "")  # the folder with a separator: os.path.join(shown, name) == within + name
        for entry in entries:
            name = entry.name
            if name.startswith(HIDDEN):
                continue
            path = within + name
            if _is(entry.is_dir):
                if not _is(entry.is_symlink):
                    pending.append((entry.path, f"{prefix}{name}/", path))
                continue
            suffix = os.path.splitext(name)[1].lower()
            if (suffix in SUPPORTED_SUFFIXES or suffix in LEFT_OUT_SUFFIXES) and _is(entry.is_file):
                (transcripts.append((prefix + name, path)) if suffix in SUPPORTED_SUFFIXES
                 else left_out.append(prefix + name))
    return transcripts, left_out


def _is(test) -> bool:
    """An os.DirEntry test, False when the entry cannot be looked at (as os.walk and os.path.isfile take it)."""
    try:
        return test()
    except OSError:
        return False


def _warn_left_out(folder: Path, left_out: list) -> None:
    if left_out:
        left_out = sorted(left_out)
        shown = ", ".join(left_out[:5]) + (" ..." if len(left_out) > 5 else "")
        log.warning(f"{folder}: left out {len(left_out)} file(s) capcode cannot read ({shown}); save them as "
                    ".docx or .txt to include them.")
