"""Word (.docx) files to plain text: unpacked once, only the main document part parsed.

The text is exactly what python-docx gives (`Paragraph.text` of each body paragraph, a table
row as its cells' text joined by tabs, content controls looked into), because capcode's
offsets refer to it. python-docx, however, parses every part of the package (styles,
numbering, theme: most of a .docx's XML) and builds an object per element; here only the three
members needed are unpacked, checked as they stream (`archives.BoundedZip.read_only`; the
others are checked by the zip's directory, never unpacked), and only the main document part
is parsed, with python-docx's own parser settings. A document this reader
is not sure about (package relations it does not expect, another content type, vertically
merged table cells) is handed to python-docx on the same checked bytes, so the result, or the
error, is python-docx's.
"""

import functools
import io
import posixpath
import threading

from .archives import DEFAULT_LIMITS, BoundedZip, ZipLimits
from .errors import InputError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_MAIN_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_HINT = "open it in Word and save it as .docx"

# The text of run content, as python-docx's CT_R.text gives it (w:br by its type).
_P, _R, _HYPERLINK, _T, _TAB, _BR, _CR, _NO_BREAK_HYPHEN, _PTAB = (
    _W + name for name in ("p", "r", "hyperlink", "t", "tab", "br", "cr", "noBreakHyphen", "ptab"))
_TBL, _TR, _TC, _SDT, _SDT_CONTENT, _BODY, _DOCUMENT = (
    _W + name for name in ("tbl", "tr", "tc", "sdt", "sdtContent", "body", "document"))
_FIXED = {_TAB: "\t", _CR: "\n", _NO_BREAK_HYPHEN: "-", _PTAB: "\t"}
_BR_TYPE = _W + "type"


class _Unsure(Exception):
    """This document is left to python-docx."""


_PARTS = frozenset({"[Content_Types].xml", "_rels/.rels", "word/document.xml"})


def read_docx(path, limits: ZipLimits, data: bytes) -> str:
    """Body paragraphs and table rows of a .docx, in order; headers and footers left out.

    `data` are the file's bytes (read once by the caller); they are checked here against
    `limits`: the members read while they are unpacked, the others by the zip's directory,
    all of them unpacked and checked before python-docx (which reads every part) is used.
    """
    with BoundedZip(data, path, limits, "a Word .docx") as archive:
        parts = archive.read_only(_PARTS)
        try:
            name = _main_part(parts)
            document = parts[name] if name in parts else archive.read(archive.archive.getinfo(name), xml=True)
        except (_Unsure, KeyError):
            return _with_python_docx(path, data, limits)
    try:
        return "\n\n".join(_blocks(_body(document)))
    except _Unsure:
        return _with_python_docx(path, data, limits)
    except RecursionError:
        raise InputError(f"{path}: tables or content controls nested too deeply to read; {_HINT}.") from None


def _parser():
    """This thread's parser, made once: a new one for every part cost more than parsing a small
    part (lxml advises a parser per thread; python-docx shares one)."""
    parser = getattr(_THREAD, "parser", None)
    if parser is None:
        from lxml import etree

        parser = _THREAD.parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False)  # as python-docx
    return parser


_THREAD = threading.local()


def _xml(data: bytes):
    from lxml import etree

    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError:
        raise _Unsure() from None


def _main_part(parts: dict) -> str:
    """The zip member name of the main document part, when the package names it plainly."""
    if "_rels/.rels" not in parts or "[Content_Types].xml" not in parts:
        raise _Unsure()
    relationships, content_types = parts["_rels/.rels"], parts["[Content_Types].xml"]
    remembered = len(relationships) + len(content_types) <= _REMEMBERED_BYTES
    name = (_named_main_part if remembered else _named_main_part.__wrapped__)(relationships, content_types)
    if name is None:
        raise _Unsure()
    return name


_REMEMBERED_BYTES = 64 * 1024  # larger package parts (a Word file's are a few kB) are not kept


@functools.lru_cache(maxsize=64)
def _named_main_part(relationships: bytes, content_types: bytes):
    """The main part's member name that these two package parts give (None when unsure).

    Kept for the parts last seen: the documents of one study, saved by one Word from one
    template, mostly carry both parts byte for byte alike, and parsing them cost as much as
    parsing a short interview's text. Both are still unpacked and checked for every file.
    """
    try:
        targets = [rel.get("Target") for rel in _xml(relationships).iter(f"{{{_PACKAGE_RELS}}}Relationship")
                   if rel.get("Type") == _OFFICE_DOCUMENT and rel.get("TargetMode") != "External"]
        if len(targets) != 1 or not targets[0]:
            return None
        partname = posixpath.normpath(posixpath.join("/", targets[0]))
        overrides = {item.get("PartName"): item.get("ContentType")
                     for item in _xml(content_types).iter(f"{{{_CONTENT_TYPES}}}Override")}
    except _Unsure:
        return None
    return partname[1:] if overrides.get(partname) == _MAIN_CONTENT_TYPE else None


def _body(document: bytes):
    if b"vMerge" in document:  # vertically merged cells repeat the cell above: python-docx's rules
        raise _Unsure()
    root = _xml(document)
    if root.tag != _DOCUMENT:
        raise _Unsure()
    body = root.find(_BODY)
    if body is None:
        raise _Unsure()
    return body


def _blocks(container):
    """One string per non-empty paragraph or table row under a body or table cell."""
    for child in container.iterchildren():
        tag = child.tag
        if tag == _P:
            text = _paragraph_text(child).strip()
            if text:
                yield text
        elif tag == _TBL:
            for row in _children(child, _TR):
                line = _row_text(row)
                if line:
                    yield line
        elif tag == _SDT:  # content controls wrap ordinary paragraphs
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _blocks(content)


# The text functions below look at every child and compare its tag, rather than asking lxml for
# the children of given tags (`iterchildren(_R, _HYPERLINK)`): lxml builds a tag matcher on each
# such call, which cost five times the rest of a paragraph's work. Comments and processing
# instructions (whose tag is a function) match no tag, as there.

def _children(element, tag: str) -> list:
    """The child elements with this tag, in order."""
    return [child for child in element if child.tag == tag]


def _paragraph_text(paragraph) -> str:
    """python-docx's Paragraph.text: the runs and hyperlinks directly in the paragraph."""
    parts = []
    for child in paragraph:
        tag = child.tag
        if tag == _R:
            _run_text(child, parts)
        elif tag == _HYPERLINK:
            for run in _children(child, _R):
                _run_text(run, parts)
    return "".join(parts)


def _run_text(run, parts: list) -> None:
    for item in run:
        tag = item.tag
        if tag == _T:
            parts.append(item.text or "")
        elif tag in _FIXED:
            parts.append(_FIXED[tag])
        elif tag == _BR:
            if item.get(_BR_TYPE, "textWrapping") == "textWrapping":
                parts.append("\n")


def _row_text(row) -> str:
    """A table row as its cells' text joined by tabs (a cell spanning columns counted once)."""
    cells = [("\n".join(_blocks(cell))).replace("\t", " ").strip() for cell in _children(row, _TC)]
    while cells and not cells[-1]:
        cells.pop()
    return "\t".join(cells).strip()


def _with_python_docx(path, data: bytes, limits: ZipLimits = DEFAULT_LIMITS) -> str:
    """The text as python-docx reads it: for documents this module does not read itself (every
    member is checked first: python-docx unpacks them all)."""
    import docx

    with BoundedZip(data, path, limits, "a Word .docx") as archive:
        archive.check_all()

    try:
        document = docx.Document(io.BytesIO(data))
        return "\n\n".join(_docx_blocks(document.element.body, document))
    except RecursionError:
        raise InputError(f"{path}: tables or content controls nested too deeply to read; {_HINT}.") from None
    except Exception as exc:  # python-docx raises several types for a zip that is no Word file
        raise InputError(f"{path}: cannot open as a Word .docx file ({type(exc).__name__}); {_HINT}.") from None


def _docx_blocks(container, document):
    """Yield one string per non-empty paragraph or table row under a body or table cell (python-docx)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in container.iterchildren():
        if child.tag == _P:
            text = Paragraph(child, document).text.strip()
            if text:
                yield text
        elif child.tag == _TBL:
            for row in Table(child, document).rows:
                line = _docx_row(row, document)
                if line:
                    yield line
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _docx_blocks(content, document)


def _docx_row(row, document) -> str:
    """A table row as its cells' text joined by tabs (merged cells counted once)."""
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        text = "\n".join(_docx_blocks(cell._tc, document)).replace("\t", " ").strip()
        cells.append(text)
    while cells and not cells[-1]:
        cells.pop()
    return "\t".join(cells).strip()
