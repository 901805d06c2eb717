"""A path's text, suffix and stem exactly as pathlib gives them, without a Path per file.

Segmenting thousands of short transcripts, making a Path for each file (to name it in
messages, to see its type, to find case and respondent in its stem) cost about a tenth of
reading them (docs/scale.md). The paths capcode lists are already in the form
``str(Path(path))`` gives, with a plain file name: for such a path these functions take the
text as it is; for any other (a Path object, '..' or './' or '//' in it, a trailing slash,
a name without a plain suffix, Windows) they ask pathlib. tests/test_pathnames.py compares
them with pathlib on odd names.
"""

import os
from pathlib import Path


def path_text(path) -> str:
    """str(Path(path))."""
    return path if _plain(path) else str(Path(path))


def path_suffix(path) -> str:
    """Path(path).suffix."""
    name = _plain_name(path)
    return name[name.rfind("."):] if name else Path(path).suffix


def path_stem(path) -> str:
    """Path(path).stem."""
    name = _plain_name(path)
    return name[:name.rfind(".")] if name else Path(path).stem


def _plain(path) -> bool:
    """Whether `path` is text that pathlib leaves as it is: on POSIX, not empty, without empty
    ('//') or '.' components and without a trailing '/'."""
    return (isinstance(path, str) and os.sep == "/" and path != "" and "//" not in path
            and "/./" not in path and not path.startswith("./") and not path.endswith(("/", "/.")))


def _plain_name(path) -> str:
    """The last part of a plain path when its suffix is plain too (a dot with something before
    and after it, as in 'case1_respondent4.docx'); '' when pathlib is to be asked."""
    if not _plain(path):
        return ""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name if 0 < dot < len(name) - 1 else ""
