"""Transcript readers: every supported file becomes one plain text.

The plain text is what `capcode text FILE` prints and what every character
offset capcode writes refers to (``plain_text[start_char:end_char] == text``).
Each reader decides once how its format becomes text:

- ``.txt``/``.md``: UTF-8 (with or without BOM; UTF-16 with BOM), newlines
  made ``\\n``; a Windows-1252 file is read with a warning.
- ``.docx``/``.odt``: body paragraphs and table rows in document order, one
  paragraph per block separated by a blank line; a table row is its cells
  joined by a tab. Headers, footers, footnotes and comments are left out.
- ``.vtt``/``.srt``: consecutive cues of one speaker become one line
  ``[hh:mm:ss] Speaker: text`` (the first cue's start time); the speaker comes
  from a ``<v Speaker>`` voice tag or a leading ``Speaker:`` in the cue text.

All text is put in Unicode NFC form, so the same word always has the same
characters whatever program wrote the file.
"""

import codecs
import io
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .archives import DEFAULT_LIMITS, MB, ZipLimits, check_zip, load_zip_bytes
from .errors import InputError
from .pathnames import path_suffix, path_text
from .subtitles import read_srt, read_vtt

TEXT_SUFFIXES = (".txt", ".md")
WORD_SUFFIXES = (".docx", ".odt")
SUBTITLE_SUFFIXES = (".vtt", ".srt")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + WORD_SUFFIXES + SUBTITLE_SUFFIXES

LONG_LINE = 100_000  # characters; a line this long is warned about (not a normal transcript line)

_HINTS = {
    ".doc": "open it in Word and save it as .docx",
    ".rtf": "open it in Word and save it as .docx",
    ".pdf": "export the transcript from the program that made it as .docx or .txt",
    ".pages": "export it as .docx",
    ".odf": "save it as .odt",
    ".json": "transcription tools can usually export .vtt or .srt; use that",
}


class EmptyTranscript(InputError):
    """A transcript file without any text (segment skips it with a warning)."""


@dataclass(frozen=True)
class Document:
    """A source read into plain text.

    `speakers` lists speaker names the format itself marks (VTT voice tags,
    subtitle ``Name:`` prefixes), so the turn parser accepts them as labels.
    `warnings` are one-line notes for the researcher (the caller logs them).
    """

    path: str
    text: str
    speakers: tuple = ()
    warnings: tuple = ()


def read_plain_text(path) -> str:
    """The plain text of a transcript, exactly as capcode sees it."""
    return read_document(path).text


def read_document(path, limits: ZipLimits = DEFAULT_LIMITS) -> Document:
    """Read a supported transcript file into a Document; bad input raises InputError.

    `limits` caps what a file may unpack to (see pipeline/archives.py); a plain text or
    subtitle file may be at most `limits.member_bytes` large.
    """
    path = path_text(path)  # as str(Path(path)) gives it (pathnames.py: no Path per file)
    suffix = path_suffix(path).lower()
    data = read_regular_file(path, _byte_cap(suffix, limits)) if suffix in SUPPORTED_SUFFIXES else None
    if data is None:  # not an ordinary file of a size within the cap: every check made by name
        data = _read_checked(path, suffix, limits)
    speakers, warnings = (), ()
    if suffix in TEXT_SUFFIXES:
        text, warnings = decode_text(data, path)
    elif suffix == ".docx":
        text = read_docx(path, limits, data)
    elif suffix == ".odt":
        text = read_odt(path, limits, data)
    else:
        raw, warnings = decode_text(data, path)
        text, speakers = (read_vtt if suffix == ".vtt" else read_srt)(raw, path)
    text = unicodedata.normalize("NFC", text)
    if not text or text.isspace():
        raise EmptyTranscript(f"{path}: the transcript is empty (no text found); check the export or remove the file.")
    return Document(path, text, tuple(speakers), warnings + long_line_warnings(text, path))


def _byte_cap(suffix: str, limits: ZipLimits) -> int:
    """The largest file of this type read: a text's own cap, a zipped document's archive cap."""
    return limits.archive_bytes if suffix in WORD_SUFFIXES else limits.member_bytes


# Opening never waits (a named pipe) nor takes a terminal: anything but a regular file is closed
# again unread and looked at by name.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0))


def read_regular_file(path, cap: int):
    """The bytes of a regular file of 1 to `cap` bytes, or None for anything else (missing,
    unreadable, a folder, a device, empty, too large) or on any error while reading.

    One open, one fstat of the descriptor and one read: the file is looked up by name once
    (a stat before the open looked it up twice). What it returns None for, `_read_checked`
    looks at by name, as every file was looked at before: the errors stay the same.
    """
    try:
        handle = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode) or not 0 < status.st_size <= cap:
            return None
        return _read_to_end(handle, status.st_size)
    except OSError:
        return None
    finally:
        os.close(handle)


def _read_checked(path: str, suffix: str, limits: ZipLimits) -> bytes:
    """The bytes of a transcript file, each check made by name, in this order: it exists, is no
    folder, has a supported type, is not empty; then the size cap (a zipped document: first
    whether it is a zip at all)."""
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{path}: file not found.") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError(f"{path}: is a folder; give a transcript file.")
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(unsupported_message(path))
    if status.st_size == 0:
        raise EmptyTranscript(f"{path}: the file is empty (0 bytes); export the transcript again or remove the file.")
    if suffix in WORD_SUFFIXES:
        _refuse_non_zip(path, path, suffix)
        return load_zip_bytes(path, limits)
    return read_text_bytes(path, limits, status.st_size)


def unsupported_message(path) -> str:
    """The error for a file capcode cannot read, with a hint for common formats."""
    path = Path(path)
    suffix = path.suffix.lower() or "(none)"
    hint = _HINTS.get(path.suffix.lower(), f"save it as one of {', '.join(SUPPORTED_SUFFIXES)}")
    return f"{path}: unsupported file type '{suffix}'; {hint}."


def long_line_warnings(text: str, path) -> tuple:
    """Warn about lines of LONG_LINE characters or more: they can be read but are rarely a transcript."""
    if len(text) < LONG_LINE:
        return ()
    long = next(((number, len(line)) for number, line in enumerate(text.split("\n"), start=1)
                 if len(line) >= LONG_LINE), None)
    if long is None:
        return ()
    line, length = long
    return (f"{path}, line {line}: a line of {length:,} characters; is this really a transcript? "
            "It is read, but sentences may be cut where no punctuation is found.",)


# ---- plain text files -------------------------------------------------------

def read_text_bytes(path, limits: ZipLimits = DEFAULT_LIMITS, size=None) -> bytes:
    """The bytes of a text transcript, refused above the per-file cap (no interview comes near it).

    `size`: the file's size when the caller has just read it (one system call less per file).
    """
    if size is None:
        size = os.stat(path).st_size
    if size > limits.member_bytes:
        raise InputError(f"{path}: {size / MB:,.0f} MB is more than the limit of {limits.describe_member()} "
                         "for one transcript; is this really an interview? Raise the limit if it is.")
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        return _read_to_end(handle, size)
    finally:
        os.close(handle)


def _read_to_end(handle: int, size: int) -> bytes:
    """What an open file holds: one read of the size just found (and one byte more: a file that
    grew is read to its end)."""
    chunks = [os.read(handle, size + 1)]
    if len(chunks[0]) != size:  # grew, shrank, or a short read: read on until the end
        while chunks[-1]:
            chunks.append(os.read(handle, max(size, 64 * 1024)))
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# A complete UTF-8 multi-byte character (not followed by a further continuation byte).
_UTF8_MULTIBYTE = re.compile(rb"(?:[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3})(?![\x80-\xbf])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# The same characters as bytes: UTF-8 and Windows-1252 write each of them as this one byte and use
# the byte for nothing else, so bytes without them decode to text without them (checked first: fast).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, *range(0x0e, 0x20), 0x7f])
# Each of them made NUL: a translation without deletions is the bytes type's fastest pass.
_CONTROL_TO_NUL = bytes(0 if byte in _CONTROL_BYTES else byte for byte in range(256))


def decode_text(data: bytes, path) -> tuple:
    """Decode bytes of a text transcript; return (text with \\n newlines, warnings)."""
    warnings = ()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{path}: damaged UTF-16 text; save it again as UTF-8.") from None
    elif b"\x00" in data:
        raise InputError(f"{path}: looks like a binary file, not text (it contains NUL bytes); "
                         "export the transcript as .txt, .docx or .odt.")
    else:
        try:
            # "utf-8-sig" only for a file that starts with the mark: its decoder is Python code
            text = data.decode("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
        except UnicodeDecodeError as exc:
            text = decode_legacy(data, exc, path)
            warnings = (f"{path}: not UTF-8; read as Windows-1252 (West European). "
                        "Check accents in the output, and save the file as UTF-8 to silence this warning.",)
        if b"\x00" not in data.translate(_CONTROL_TO_NUL):  # (NUL itself was refused above)
            text = text[1:] if text.startswith("\ufeff") else text
            return (text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text), warnings
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    control = _CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise InputError(f"{path}, line {line}: control character {control.group()!r} in the text; "
                         "this looks like a binary file. Export the transcript as .txt, .docx or .odt.")
    return text, warnings


def decode_legacy(data: bytes, error: UnicodeDecodeError, path) -> str:
    """Read a file that is not UTF-8 as Windows-1252, unless it is UTF-8 with stray bytes."""
    line = data.count(b"\n", 0, error.start) + 1
    if _UTF8_MULTIBYTE.search(data[: error.start]) or _UTF8_MULTIBYTE.search(data[error.end:]):
        raise InputError(f"{path}, line {line}: undecodable bytes (byte {error.start}): the file mixes "
                         "UTF-8 with another encoding. Open it in a text editor and save it as UTF-8.")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}, line {line}: undecodable bytes (byte {exc.start}): neither UTF-8 nor "
                         "Windows-1252 text. Open it in a text editor and save it as UTF-8.") from None


# ---- zipped documents: Word (.docx) ------------------------------------------

_ZIPPED = {".docx": ("a Word .docx", "open it in Word and save it as .docx"),
           ".odt": ("an OpenDocument .odt", "open it in LibreOffice and save it as .odt")}


def _refuse_non_zip(path, file, suffix: str) -> None:
    """Refuse a .docx or .odt that is no zip archive at all; `file`: its path, or its bytes in a BytesIO."""
    if not zipfile.is_zipfile(file):
        what, hint = _ZIPPED[suffix]
        raise InputError(f"{path}: not {what} file (it is not a zip archive); {hint}.")


def _zip_bytes(path, suffix: str, limits: ZipLimits, data=None) -> bytes:
    """The bytes of a zipped document, refused when they are no zip archive; read by name
    (and checked as read_document checks a file) when `data` is not given."""
    if data is None:
        return _read_checked(path_text(path), suffix, limits)
    _refuse_non_zip(path, io.BytesIO(data), suffix)
    return data


def read_docx(path, limits: ZipLimits = DEFAULT_LIMITS, data=None) -> str:
    """Body paragraphs and table rows of a .docx, in order; headers and footers left out (wordfiles.py).
    `data`: the file's bytes, when read already."""
    from .wordfiles import read_docx as read_word_text

    return read_word_text(path, limits, _zip_bytes(path, ".docx", limits, data))


# ---- OpenDocument (.odt) ----------------------------------------------------

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ODT_SKIP = {(_TEXT_NS, "note"), (_OFFICE_NS, "annotation"), (_TEXT_NS, "tracked-changes"),
             (_TEXT_NS, "sequence-decls"), (_OFFICE_NS, "forms")}


_ODT_TEXT_MIMETYPE = "application/vnd.oasis.opendocument.text"


def read_odt(path, limits: ZipLimits = DEFAULT_LIMITS, data=None) -> str:
    """Paragraphs, headings, lists and table rows of an .odt body, in order. `data`: the file's
    bytes, when read already."""
    what, hint = _ZIPPED[".odt"]
    data = _zip_bytes(path, ".odt", limits, data)
    check_zip(data, path, limits, what)
    from odf.opendocument import load

    try:
        document = load(io.BytesIO(data))
    except RecursionError:
        raise InputError(f"{path}: sections or lists nested too deeply to read; {hint}.") from None
    except Exception as exc:  # odfpy raises KeyError, xml errors, ... for damaged files
        raise InputError(f"{path}: cannot open as an OpenDocument .odt file ({type(exc).__name__}); {hint}.") from None
    mimetype = str(getattr(document, "mimetype", "") or "")
    if not mimetype.startswith(_ODT_TEXT_MIMETYPE):
        kind = {"spreadsheet": "spreadsheet (.ods)", "presentation": "presentation (.odp)",
                "graphics": "drawing (.odg)"}.get(mimetype.rpartition(".")[2], f"file of type '{mimetype or 'unknown'}'")
        raise InputError(f"{path}: an OpenDocument {kind}, not a text document; save the transcript as a "
                         "text document (.odt) in LibreOffice Writer.")
    body = getattr(document, "text", None)
    if body is None:
        raise InputError(f"{path}: an OpenDocument file without a text body; {hint}.")
    try:
        return "\n\n".join(_odt_blocks(body))
    except RecursionError:
        raise InputError(f"{path}: sections or lists nested too deeply to read; {hint}.") from None
    except (ValueError, TypeError, AttributeError) as exc:  # e.g. <text:s text:c="x">
        raise InputError(f"{path}: damaged OpenDocument text ({type(exc).__name__}); {hint}.") from None


def _odt_blocks(element):
    """Yield one string per non-empty paragraph/heading or table row."""
    for child in element.childNodes:
        if child.nodeType != child.ELEMENT_NODE or child.qname in _ODT_SKIP:
            continue
        if child.qname in ((_TEXT_NS, "p"), (_TEXT_NS, "h")):
            text = _odt_inline(child).strip()
            if text:
                yield text
        elif child.qname == (_TABLE_NS, "table-row"):
            cells = ["\n".join(_odt_blocks(cell)).replace("\t", " ").strip()
                     for cell in child.childNodes
                     if cell.nodeType == cell.ELEMENT_NODE and cell.qname == (_TABLE_NS, "table-cell")]
            while cells and not cells[-1]:
                cells.pop()
            line = "\t".join(cells).strip()
            if line:
                yield line
        else:  # sections, lists, list items, tables, row groups: look inside
            yield from _odt_blocks(child)


MAX_SPACES = 10_000  # one <text:s text:c="N"/>; a real document has a handful


def _space_count(value) -> int:
    """The number of spaces a <text:s> stands for; an absurd count would build a huge text from a tiny file."""
    count = int(value or 1)
    if count > MAX_SPACES:
        raise ValueError(f"text:s with {count} spaces")
    return max(count, 0)


def _odt_inline(element) -> str:
    """The text of a paragraph: spans, links, spaces (text:s), tabs and line breaks."""
    parts = []
    for child in element.childNodes:
        if child.nodeType == child.TEXT_NODE:
            parts.append(child.data)
        elif child.nodeType != child.ELEMENT_NODE or child.qname in _ODT_SKIP:
            continue
        elif child.qname == (_TEXT_NS, "s"):
            parts.append(" " * _space_count(child.getAttrNS(_TEXT_NS, "c")))
        elif child.qname == (_TEXT_NS, "tab"):
            parts.append("\t")
        elif child.qname == (_TEXT_NS, "line-break"):
            parts.append("\n")
        else:
            parts.append(_odt_inline(child))
    return "".join(parts)
