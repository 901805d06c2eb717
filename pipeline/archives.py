"""Zip archives (.docx, .odt, .xlsx, .qdpx, model files) read with bounded memory.

A zip's directory states how large each member is, but nothing makes that true: a member
can unpack to a thousand times its packed size (a "zip bomb"), or to more than its header
says. capcode therefore never trusts the header. Every member is streamed through the
decompressor in small pieces with a running byte count and refused as soon as it passes
the per-member cap, or the whole archive passes the per-archive cap. Members that hold XML
are also checked while they stream: a DOCTYPE (no Word, LibreOffice, Excel or REFI-QDA
export carries one; it is how entity and external-file tricks start) and more elements
than `ZipLimits.xml_elements` (a document part is parsed into memory as a tree) are
refused. A reader that reads only some members (.docx: `BoundedZip.read_only`) checks the
others by what the directory says (their size, their number), never unpacking them: a
member that is never unpacked can take no memory. Only 'stored' and 'deflate' members are
read: no export capcode reads uses anything else, and bzip2/LZMA cannot be unpacked in
bounded steps by Python's zipfile.

A file is read once into memory (`load_zip_bytes`), checked (`check_zip`), and the same
bytes are handed to the library that parses it, so what was checked is what is read.
"""

import codecs
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CapcodeError, InputError

MB = 1024 * 1024
CHUNK = 256 * 1024
READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
MAX_MEMBERS = 10_000  # files inside one zip a reader that reads only some of them accepts (Word writes tens)

_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass(frozen=True)
class ZipLimits:
    """How much one archive may unpack to (params.yaml `limits`).

    The defaults are far above any interview: a two-hour transcript is well under 1 MB of
    text, a few MB of Word XML with well under 300,000 elements.
    """

    member_bytes: int = 100 * MB
    archive_bytes: int = 1000 * MB
    xml_elements: int = 1_000_000

    @classmethod
    def from_params(cls, params) -> "ZipLimits":
        """From the `limits` section of params.yaml (config.LimitParams), or the defaults for None."""
        if params is None:
            return cls()
        return cls(params.member_mb * MB, params.archive_mb * MB, params.xml_elements)

    def describe_member(self) -> str:
        return f"{self.member_bytes // MB} MB (limits.member_mb in params.yaml)"

    def describe_archive(self) -> str:
        return f"{self.archive_bytes // MB} MB (limits.archive_mb in params.yaml)"


DEFAULT_LIMITS = ZipLimits()


def load_zip_bytes(path, limits: ZipLimits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a zip file, refused when the file itself is larger than the archive cap."""
    path = Path(path)
    size = path.stat().st_size
    if size > limits.archive_bytes:
        raise InputError(f"{path}: {size / MB:,.0f} MB is more than the limit of {limits.describe_archive()}; "
                         "raise the limit if this file is genuine.")
    return path.read_bytes()


class BoundedZip:
    """An open zip whose members are only read through the byte budget of `limits`."""

    def __init__(self, data: bytes, origin, limits: ZipLimits = DEFAULT_LIMITS, what: str = "a zip archive"):
        self.origin, self.limits, self.what = str(origin), limits, what
        self.unpacked = 0  # bytes unpacked so far, all members together
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
        except Exception as exc:  # zipfile parses a hostile directory: any failure means a damaged file
            raise InputError(f"{self.origin}: damaged zip archive ({exc}); {self._again()}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.archive.close()

    def _again(self) -> str:
        return "export or save the file again."

    def infolist(self) -> list:
        return [info for info in self.archive.infolist() if not info.filename.endswith("/")]  # "" is a file too

    def stream(self, info):
        """Yield the unpacked bytes of a member in pieces, counting them against both caps."""
        name = info.filename
        if info.flag_bits & 0x1:
            raise InputError(f"{self.origin}: '{name}' is encrypted; save the file again without a password.")
        if info.compress_type not in READABLE_METHODS:
            method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise InputError(f"{self.origin}: '{name}' is packed with {method}, which capcode does not unpack "
                             f"(the programs that write a {self.what} use deflate); {self._again()}")
        seen = 0
        try:
            with self.archive.open(info) as handle:
                while True:
                    chunk = handle.read(CHUNK)
                    if not chunk:
                        break
                    seen += len(chunk)
                    self.unpacked += len(chunk)
                    if seen > self.limits.member_bytes:
                        raise self._member_too_large(name)
                    if self.unpacked > self.limits.archive_bytes:
                        raise self._archive_too_large()
                    yield chunk
        except CapcodeError:
            raise
        except Exception as exc:  # BadZipFile, zlib.error, EOFError, ...: a damaged member
            raise InputError(f"{self.origin}: cannot read '{name}' from the zip ({exc}); {self._again()}") from None

    def _member_too_large(self, name: str) -> InputError:
        return InputError(f"{self.origin}: '{name}' unpacks to more than {self.limits.describe_member()}; refused "
                          "as a possible zip bomb (raise the limit if the file is genuine).")

    def _archive_too_large(self) -> InputError:
        return InputError(f"{self.origin}: its members unpack to more than {self.limits.describe_archive()} "
                          "together; refused as a possible zip bomb (raise the limit if the file is genuine).")

    def check_directory(self, read=frozenset()) -> None:
        """Refuse, from the zip's directory alone, more than MAX_MEMBERS members, or members not
        named in `read` that say they unpack beyond the limits (they count towards the archive's
        cap by what they say). That is all the check a member that is never unpacked needs; the
        members in `read` are checked while they stream (a header may lie)."""
        infos = self.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputError(f"{self.origin}: holds {len(infos):,} files inside; with more than {MAX_MEMBERS:,} "
                             f"it is not {self.what}. Refused; {self._again()}")
        for info in infos:
            if info.filename not in read:
                if info.file_size > self.limits.member_bytes:
                    raise self._member_too_large(info.filename)
                self.unpacked += info.file_size
        if self.unpacked > self.limits.archive_bytes:
            raise self._archive_too_large()

    def read(self, info, xml: bool = False) -> bytes:
        """A member's bytes; with `xml`, also checked as XML (see `XmlScan`)."""
        scan = XmlScan(self.origin, info.filename, self.limits) if xml else None
        parts = []
        for chunk in self.stream(info):
            if scan is not None:
                scan.feed(chunk)
            parts.append(chunk)
        if scan is not None:
            scan.close()
        return b"".join(parts)

    def check_all(self, keep=()) -> dict:
        """Unpack every member once, checking sizes and every XML member; return the bytes of the
        members named in `keep` (so that a reader need not unpack them a second time)."""
        return self._checked(self.infolist(), keep)

    def read_only(self, names) -> dict:
        """The bytes of the members named in `names` that the zip holds, unpacked and checked as
        `check_all` checks them, after `check_directory`: for a reader that reads those members
        and no others (a member that is never unpacked can do no harm beyond what its header says)."""
        self.check_directory(names)
        return self._checked([info for info in self.infolist() if info.filename in names], names)

    def _checked(self, infos, keep) -> dict:
        kept = {}
        for info in infos:
            scan = None
            parts = [] if info.filename in keep else None
            for chunk in self.stream(info):
                if scan is None:
                    scan = XmlScan(self.origin, info.filename, self.limits) if looks_like_xml(chunk) else False
                if scan:
                    scan.feed(chunk)
                if parts is not None:
                    parts.append(chunk)
            if scan:
                scan.close()
            if parts is not None:
                kept[info.filename] = b"".join(parts)
        return kept


def check_zip(data: bytes, origin, limits: ZipLimits = DEFAULT_LIMITS, what: str = "a zip archive") -> None:
    """Refuse a zip whose members unpack beyond the limits or whose XML carries a DOCTYPE."""
    with BoundedZip(data, origin, limits, what) as archive:
        archive.check_all()


def ascii_compatible(encoding: str) -> bool:
    """Whether XML markup in `encoding` is the same bytes as in ASCII (not UTF-7, EBCDIC, ...)."""
    probe = '<?xml version="1.0"?><!DOCTYPE a><a b="c"/>'
    try:
        if codecs.lookup(encoding).name == "utf-7":  # '+ADw-' is '<' there: a DOCTYPE could hide
            return False
        return probe.encode(encoding) == probe.encode("ascii") and probe.encode("ascii").decode(encoding) == probe
    except (LookupError, UnicodeError, ValueError):
        return False


# how XML starts in the encodings an XML parser recognises without a declaration (UTF-32/UCS-4 in its
# four byte orders, UTF-16 without a byte-order mark, EBCDIC's '<?xm')
_UCS4_STARTS = (b"<\x00\x00\x00", b"\x00\x00\x00<", b"\x00\x00<\x00", b"\x00<\x00\x00")
_EBCDIC_START = b"\x4c\x6f\xa7\x94"


def looks_like_xml(head: bytes) -> bool:
    """Whether a member may be XML: it starts with '<' after a byte-order mark and white space
    (or with white space only), or like XML in UTF-16, UTF-32 or EBCDIC."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"<\x00", b"\x00<", _EBCDIC_START)):
        return True
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    rest = head.lstrip(b" \t\r\n")
    return not rest or rest[:1] == b"<"


_LT, _SLASH, _QUESTION, _BANG = b"</?!"


class XmlScan:
    """Checks an XML member while it streams: its encoding, no DOCTYPE, not too many elements.

    The element count is an upper bound (every '<' that opens a tag), so it never
    under-counts; a DOCTYPE is found wherever it is, also split over two pieces.
    """

    def __init__(self, origin: str, name: str, limits: ZipLimits):
        self.origin, self.name, self.limits = origin, name, limits
        # an SVG picture often names its DTD; pictures are never parsed by the readers, only counted
        self.doctype_allowed = name.lower().endswith(".svg")
        self.decoder = None
        self.tail = ""
        self.elements = 0
        self.raw = False  # markup is its ASCII bytes: scanned without decoding

    def _decoder_for(self, head: bytes):
        if head.startswith(codecs.BOM_UTF8):
            return self._bytes()
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE) + _UCS4_STARTS):
            self._refuse_encoding("UTF-32")
        if head.startswith(_EBCDIC_START):
            self._refuse_encoding("EBCDIC")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return codecs.getincrementaldecoder("utf-16")("replace")
        if head.startswith(b"<\x00"):
            return codecs.getincrementaldecoder("utf-16-le")("replace")
        if head.startswith(b"\x00<"):
            return codecs.getincrementaldecoder("utf-16-be")("replace")
        declared = _DECLARED_ENCODING.match(head.lstrip(b" \t\r\n"))
        encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
        if encoding in ("utf-8", "utf8"):
            return self._bytes()
        if encoding in ("utf-16", "utf16"):
            return codecs.getincrementaldecoder("utf-16")("replace")
        if ascii_compatible(encoding):  # markup is the ASCII bytes
            return self._bytes()
        self._refuse_encoding(encoding)

    def _bytes(self):
        """Scan the bytes themselves: in UTF-8 and the ASCII-compatible encodings every byte of
        '<', '!', '?', '/' and 'DOCTYPE' is that ASCII character and no other character contains
        those bytes, so counting and searching bytes finds exactly what the decoded text shows."""
        self.raw, self.tail = True, b""
        return True

    def _raw_counts(self, data: bytes) -> tuple:
        """(DOCTYPE seen, '<' in `data`, '</', '<?' and '<!' ending in `data`) of a piece of bytes:
        a small piece counted by `bytes.count`, a larger one in one vectorised pass (a Word file's
        styles are most of its XML), which costs more than counting a small piece."""
        doctype = b"<!DOCTYPE" in data or b"<!DOCTYPE" in self.tail + data[:8]
        if len(data) < _VECTORISED_FROM:
            opened = data.count(b"<")
            closing = data.count(b"</") + data.count(b"<?") + data.count(b"<!")
        else:
            opened, closing = _vectorised_counts(data)
        if self.tail.endswith(b"<") and data[:1] in (b"/", b"?", b"!"):
            closing += 1
        self.tail = (self.tail + data[:8])[-8:] if len(data) < 8 else data[-8:]
        return doctype, opened, closing

    def _refuse_encoding(self, encoding: str):
        raise InputError(f"{self.origin}: '{self.name}' is XML in the text encoding {encoding}, which capcode "
                         "does not read (exports use UTF-8); save the file again.")

    def feed(self, chunk: bytes) -> None:
        if self.decoder is None:
            self.decoder = self._decoder_for(chunk[:200])
        self._check(chunk if self.raw else self.decoder.decode(chunk))

    def close(self) -> None:
        if self.decoder is not None and not self.raw:
            self._check(self.decoder.decode(b"", final=True))

    def _check(self, text) -> None:
        """Look at the next piece of the member (text, or bytes when `raw`)."""
        if not text:
            return
        if self.raw:
            doctype, opened, closing = self._raw_counts(text)
        else:
            joined = self.tail + text
            doctype = "<!DOCTYPE" in joined
            # tags opened in `text` (a '<' at the end of the tail was counted with the piece before it)
            opened = text.count("<")
            closing = joined.count("</") + joined.count("<?") + joined.count("<!")
            closing -= self.tail.count("</") + self.tail.count("<?") + self.tail.count("<!")
            self.tail = joined[-8:]
        if doctype and not self.doctype_allowed:
            raise InputError(f"{self.origin}: '{self.name}' declares a DOCTYPE; files exported by Word, LibreOffice, "
                             "Excel and QDA software never do, and a DOCTYPE can make an XML reader fetch other "
                             "files or expand text without end. Refused; export the file again.")
        self.elements += opened - closing
        if self.elements > self.limits.xml_elements:
            raise InputError(f"{self.origin}: '{self.name}' holds more than {self.limits.xml_elements:,} XML "
                             "elements (limits.xml_elements in params.yaml); refused, since it would be read "
                             "into memory whole (raise the limit if the file is genuine).")


_VECTORISED_FROM = 4096  # bytes: below this, counting with bytes.count is faster than numpy's calls


def _vectorised_counts(data: bytes) -> tuple:
    """('<' in `data`, '<' followed by '/', '?' or '!' in `data`), each in one pass of numpy."""
    import numpy

    codes = numpy.frombuffer(data, dtype=numpy.uint8)
    opens = numpy.flatnonzero(codes == _LT)
    after = opens + 1
    after = codes[after[after < len(codes)]]
    return len(opens), int(numpy.count_nonzero((after == _SLASH) | (after == _QUESTION) | (after == _BANG)))


FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


def fixed_member(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed time stamp and mode, so that equal content gives equal bytes."""
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def write_fixed_zip(target, members: dict) -> None:
    """Write {name: bytes or text} to `target` (a path or a binary file) as a zip whose bytes
    depend only on the members and their order: what keeps DVC and checksums from seeing a
    change in a model file, a QDA project or a workbook where there is none."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(fixed_member(name), data.encode("utf-8") if isinstance(data, str) else data)
