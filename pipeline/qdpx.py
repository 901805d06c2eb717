"""Exchange with QDA software (NVivo, ATLAS.ti, MAXQDA, QualCoder) through REFI-QDA.

A REFI-QDA project is a `.qdpx` zip holding `project.qde` (XML in the namespace
`urn:QDA-XML:project:1.0`) and the sources under `sources/`; a codebook alone is a
`.qdc` file (`urn:QDA-XML:codebook:1.0`).

Import (`capcode import-qdpx`) turns a project into files capcode reads: the text
sources as `.txt` files, the hand codings in the long span form (one coder per REFI
user), the code tree, a manifest (cases, respondents, roles) and a list of the codes
it could not map to the codebook.
Export (`capcode export-qdpx`) turns fragments, predictions and (optionally) human
codings into a project a researcher opens in their own tool: every suggestion is a
coding by a user named `capcode-model-<name>`, so it is never mistaken for a
person's code. REFI-QDA has no description on a Coding, so the probabilities go in
the description of the coded selection. All GUIDs are uuid5 of the content, so an
export repeats byte for byte.

Selection offsets: REFI-QDA counts Unicode code points from 0, end exclusive.
Some tools count UTF-16 code units (an emoji then counts twice) or count a
Windows line end differently; import detects this, says so and converts.
"""

import json
import logging
import re
import unicodedata
import uuid
import zipfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Optional

from lxml import etree

from .errors import CodebookError, InputError, where
from .files import atomic_open, atomic_path, read_table, write_table

log = logging.getLogger("capcode")

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMA_DIR = Path(__file__).parent / "schemas"
PROJECT_XSD = SCHEMA_DIR / "Project-mrt2019.xsd"
CODEBOOK_XSD = SCHEMA_DIR / "Codebook.xsd"

REVIEW_CODE = "te beoordelen"
MODEL_USER_PREFIX = "capcode-model-"
ORIGIN = "capcode"
# Fixed namespace for uuid5: the same content always gets the same GUID.
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/capcode/refi-qda")
# One colour per dimension (colour-blind friendly, Okabe-Ito), grey for `te beoordelen`.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#882255", "#44AA99", "#117733")
REVIEW_COLOUR = "#999999"
# Extensions dropped from a source name before '.txt' is added (what capcode reads, and common others).
TEXT_EXTENSIONS = (".txt", ".md", ".docx", ".doc", ".odt", ".rtf", ".pdf", ".vtt", ".srt")
MAX_MEMBER_BYTES = 200 * 1024 * 1024
_UNSAFE = re.compile(r'[\x00-\x1f<>:"|?*\\]')


def _tag(name: str, ns: str = PROJECT_NS) -> str:
    return f"{{{ns}}}{name}"


def stable_guid(*parts) -> str:
    """A GUID derived from content (uuid5), so re-exports of the same data are identical."""
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _norm_guid(guid: str) -> str:
    return guid.strip().strip("{}").lower()


# ---- records ---------------------------------------------------------------


@dataclass(frozen=True)
class QdaCode:
    """One code of the project's code tree; `path` joins the names from the root with '/'."""

    guid: str
    name: str
    path: str
    parent: str
    codable: bool
    color: str = ""
    line: Optional[int] = None


@dataclass(frozen=True)
class QdaCoding:
    """One code applied to a selection by one user."""

    guid: str
    code: str
    user: str
    line: Optional[int] = None


@dataclass(frozen=True)
class QdaSelection:
    """A PlainTextSelection as written by the tool (offsets not yet checked)."""

    guid: str
    start: int
    end: int
    name: str
    user: str
    codings: tuple
    line: Optional[int] = None


@dataclass(frozen=True)
class QdaSource:
    """A TextSource with its plain text and selections."""

    guid: str
    name: str
    text: str
    selections: tuple
    line: Optional[int] = None
    case: str = ""        # name of the REFI Case that holds the source (SourceRef), if exactly one
    respondent: str = ""  # from a variable named 'respondent' on the source or its case
    role: str = ""        # from a variable named 'rol' or 'role'


@dataclass(frozen=True)
class QdaProject:
    """What capcode takes from a project.qde: users, code tree and text sources."""

    name: str
    origin: str
    users: dict          # normalised guid -> user name
    codes: tuple         # QdaCode in document order
    sources: tuple       # QdaSource
    skipped: dict = field(default_factory=dict)  # what was left out, with counts
    origin_file: str = "project.qde"               # for messages: 'PROJECT.qdpx: project.qde'


@dataclass(frozen=True)
class SpanCoding:
    """A coding of a span of an imported source, in code points of its plain text."""

    source: str
    start_char: int
    end_char: int
    coder: str
    code: str            # code guid
    selection: str       # selection guid


# ---- schemas and XML parsing -------------------------------------------------

_schemas = {}


def load_schema(path) -> etree.XMLSchema:
    """The XSD at `path`, compiled once per process."""
    path = Path(path)
    if path not in _schemas:
        _schemas[path] = etree.XMLSchema(etree.parse(str(path)))
    return _schemas[path]


def _parser() -> etree.XMLParser:
    # No entities, DTDs or network: a project file must not be able to read local files.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _short(message: str) -> str:
    """An lxml message without the namespace noise: Element '{urn:..}Code' -> Element 'Code'."""
    return re.sub(r"\{[^}]*\}", "", message).strip()


def schema_problems(tree, schema_path) -> list:
    """The schema violations of `tree` as (line, message), empty when it is valid."""
    schema = load_schema(schema_path)
    if schema.validate(tree):
        return []
    return [(error.line, _short(error.message)) for error in schema.error_log]


def parse_xml(data: bytes, origin: str):
    """Parse XML bytes; a syntax error names `origin` and the line."""
    try:
        return etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise InputError(f"{where(origin, line)}: not well-formed XML ({_short(exc.msg)}); "
                         "export the project again from your QDA software.") from None


def _describe(element) -> str:
    """'<Code name="x">' for messages: the element's local name and its name attribute."""
    local = etree.QName(element).localname
    name = element.get("name")
    return f"<{local} name=\"{name}\">" if name else f"<{local} guid=\"{element.get('guid', '')}\">"


def check_unique_guids(root, origin: str) -> None:
    """Refuse a project in which two elements share a GUID (the tool's export is damaged)."""
    seen = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or element.get("guid") is None:
            continue
        key = _norm_guid(element.get("guid"))
        if key in seen:
            first = seen[key]
            raise InputError(
                f"{where(origin, element.sourceline)}: {_describe(element)} has GUID {element.get('guid')}, "
                f"already used by {_describe(first)} on line {first.sourceline}; GUIDs must be unique. "
                "Export the project again, or ask the tool's support about duplicated GUIDs.")
        seen[key] = element


# ---- reading a .qdpx -----------------------------------------------------------


def _zip_members(archive: zipfile.ZipFile) -> dict:
    """Member names keyed by a normalised form (posix slashes, lower case) for lenient look-up."""
    members = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        members.setdefault(info.filename.replace("\\", "/").lstrip("/").lower(), info)
    return members


def _read_member(archive, info, origin) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise InputError(f"{origin}: '{info.filename}' is larger than {MAX_MEMBER_BYTES // 2**20} MB; "
                         "capcode reads text projects only.")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, OSError) as exc:
        raise InputError(f"{origin}: cannot read '{info.filename}' from the zip ({exc}); "
                         "export the project again.") from None


def read_project_xml(path) -> tuple:
    """Open a .qdpx and validate its project.qde; return (root, zip members, open archive, origin for messages)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found.")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            head = handle.read(2048)
        if path.suffix.lower() == ".qdc" or (b"<CodeBook" in head and CODEBOOK_NS.encode() in head):
            raise InputError(f"{path}: a REFI-QDA codebook (.qdc), not a project (.qdpx); import it into your "
                             "QDA tool, code there, and export the project as .qdpx.")
        raise InputError(f"{path}: not a zip archive, so not a REFI-QDA project (.qdpx). "
                         "Export the project from your QDA software as 'REFI-QDA project'.")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: damaged zip archive ({exc}); export the project again.") from None
    try:
        members = _zip_members(archive)
        root, origin = _validated_root(archive, members, path)
    except BaseException:
        archive.close()
        raise
    return root, members, archive, origin


def _validated_root(archive, members, path) -> tuple:
    """The <Project> element of project.qde, checked against the schema and for unique GUIDs."""
    info = members.get("project.qde")
    if info is None:
        candidates = [name for name in members if name.endswith(".qde")]
        if len(candidates) != 1:
            raise InputError(f"{path}: no project.qde inside, so not a REFI-QDA project. "
                             "Export the project from your QDA software as 'REFI-QDA project' (.qdpx).")
        info = members[candidates[0]]
    origin = f"{path}: {info.filename}"
    tree = parse_xml(_read_member(archive, info, path), origin)
    root = tree.getroot()
    if root.tag != _tag("Project"):
        qname = etree.QName(root)
        hint = (" (a REFI-QDA codebook, not a project: import it into your QDA tool, code there and "
                "export the project)") if qname.namespace == CODEBOOK_NS else ""
        raise InputError(f"{where(origin, root.sourceline)}: the root element is <{qname.localname}> in namespace "
                         f"'{qname.namespace or ''}', not <Project> in '{PROJECT_NS}'{hint}.")
    problems = schema_problems(tree, PROJECT_XSD)
    if problems:
        line, message = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputError(f"{where(origin, line)}: does not follow the REFI-QDA project schema: "
                         f"{message}{more}")
    check_unique_guids(root, origin)
    return root, origin


def _children(element, name):
    return element.findall(_tag(name))


def parse_users(root) -> dict:
    """User GUID -> a unique display name (the name, else the id, else the GUID)."""
    users, counts = {}, Counter()
    for user in root.iter(_tag("User")):
        name = (user.get("name") or user.get("id") or user.get("guid")).strip()
        counts[name] += 1
        users[_norm_guid(user.get("guid"))] = name
    for guid, name in list(users.items()):
        if counts[name] > 1:  # two users with the same name stay two coders
            users[guid] = f"{name} ({guid[:8]})"
    return users


def parse_codes(root) -> tuple:
    """The code tree, depth first, with each code's full path."""
    codes = []

    def walk(element, parent_guid, parent_path):
        for code in _children(element, "Code"):
            name = code.get("name", "").strip()
            path = f"{parent_path}/{name}" if parent_path else name
            codes.append(QdaCode(_norm_guid(code.get("guid")), name, path, parent_guid,
                                 code.get("isCodable", "true").strip() in ("true", "1"),
                                 code.get("color", ""), code.sourceline))
            walk(code, _norm_guid(code.get("guid")), path)

    codebook = root.find(_tag("CodeBook"))
    if codebook is not None:
        walk(codebook.find(_tag("Codes")), "", "")
    return tuple(codes)


def _user_of(element, fallback: str) -> str:
    guid = element.get("creatingUser") or element.get("modifyingUser")
    return _norm_guid(guid) if guid else fallback


def _decode_text(data: bytes, origin: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{origin}: the plain text is not UTF-8 (byte {exc.start}), as REFI-QDA requires; "
                         "export the project again or convert the source to UTF-8.") from None
    if text.startswith("\ufeff"):
        # A byte-order mark is not part of the text; tools do not count it.
        text = text[1:]
    return text


def source_text(element, archive, members, origin) -> Optional[str]:
    """The plain text of a TextSource: inline PlainTextContent or the internal .txt file."""
    content = element.find(_tag("PlainTextContent"))
    if content is not None:
        return content.text or ""
    path = (element.get("plainTextPath") or "").strip()
    if not path:
        return None
    described = f"{where(origin, element.sourceline)}: {_describe(element)}"
    if not path.lower().startswith("internal://"):
        raise InputError(f"{described} refers to '{path}', a file outside the project; export the project "
                         "with its sources embedded (internal).")
    name = path[len("internal://"):].replace("\\", "/").lstrip("/")
    info = members.get(f"sources/{name}".lower()) or members.get(name.lower())
    if info is None:
        raise InputError(f"{described} refers to '{path}', which is missing from the zip (expected "
                         f"sources/{name}); export the project again with its sources.")
    return _decode_text(_read_member(archive, info, origin), f"{origin}: {info.filename}")


def parse_selection(element, default_user: str) -> QdaSelection:
    user = _user_of(element, default_user)
    codings = tuple(
        QdaCoding(_norm_guid(c.get("guid")), _norm_guid(c.find(_tag("CodeRef")).get("targetGUID")),
                  _user_of(c, user), c.sourceline)
        for c in _children(element, "Coding"))
    return QdaSelection(_norm_guid(element.get("guid")), int(element.get("startPosition")),
                        int(element.get("endPosition")), element.get("name") or "", user, codings,
                        element.sourceline)


RESPONDENT_VARIABLES = ("respondent",)
ROLE_VARIABLES = ("rol", "role")


def parse_variables(root) -> dict:
    """Variable GUID -> its name, lower case (only respondent and role are used)."""
    return {_norm_guid(v.get("guid")): v.get("name", "").strip().casefold() for v in root.iter(_tag("Variable"))}


def _variable_values(element, variables) -> dict:
    """{variable name: text} of an element's VariableValue children."""
    values = {}
    for item in _children(element, "VariableValue"):
        name = variables.get(_norm_guid(item.find(_tag("VariableRef")).get("targetGUID")), "")
        value = next((child.text for child in item if etree.QName(child).localname.endswith("Value")
                      and etree.QName(child).localname != "VariableRef"), None)
        if name and value is not None and value.strip():
            values[name] = value.strip()
    return values


def parse_cases(root, variables) -> dict:
    """Source GUID -> list of (case name, {variable: value}) for each Case that refers to it."""
    out = defaultdict(list)
    for case in root.iter(_tag("Case")):
        values = _variable_values(case, variables)
        for ref in _children(case, "SourceRef"):
            out[_norm_guid(ref.get("targetGUID"))].append(((case.get("name") or "").strip(), values))
    return out


def source_metadata(element, guid: str, cases: dict, variables: dict) -> dict:
    """Case, respondent and role of a TextSource from the project's Cases and Variables, where given."""
    values = {}
    holding = cases.get(guid, [])
    if len(holding) == 1:
        values.update(holding[0][1])
    values.update(_variable_values(element, variables))
    pick = lambda names: next((values[n] for n in names if n in values), "")  # noqa: E731
    return {"case": holding[0][0] if len(holding) == 1 else "",
            "respondent": pick(RESPONDENT_VARIABLES), "role": pick(ROLE_VARIABLES)}


def read_project(path) -> QdaProject:
    """Read and validate a .qdpx: users, code tree and the text sources with their selections."""
    root, members, archive, origin = read_project_xml(path)
    with archive:
        users = parse_users(root)
        codes = parse_codes(root)
        default_user = _norm_guid(root.get("creatingUserGUID") or "") or ""
        variables = parse_variables(root)
        cases = parse_cases(root, variables)
        skipped = Counter()
        sources = []
        sources_element = root.find(_tag("Sources"))
        for element in (sources_element if sources_element is not None else ()):
            if not isinstance(element.tag, str):
                continue
            local = etree.QName(element).localname
            if local != "TextSource":
                skipped[f"{local} (not a text source)"] += 1
                continue
            selections = tuple(parse_selection(s, _user_of(element, default_user))
                               for s in _children(element, "PlainTextSelection"))
            whole = len(_children(element, "Coding"))
            if whole:
                skipped["codings of a whole source (not of a text span)"] += whole
            text = source_text(element, archive, members, origin)
            if text is None:
                if selections:
                    raise InputError(f"{where(origin, element.sourceline)}: {_describe(element)} has selections "
                                     "but no plain text (plainTextPath or PlainTextContent); export it again.")
                skipped["text sources without plain text"] += 1
                continue
            name = (element.get("name") or "").strip() or _norm_guid(element.get("guid"))
            guid = _norm_guid(element.get("guid"))
            sources.append(QdaSource(guid, name, text, selections, element.sourceline,
                                     **source_metadata(element, guid, cases, variables)))
    check_references(codes, sources, origin)
    return QdaProject(root.get("name", ""), root.get("origin", ""), users, codes, tuple(sources), dict(skipped),
                      origin)


def check_references(codes, sources, origin) -> None:
    """Every coding must point at a code of the code tree."""
    known = {code.guid for code in codes}
    for source in sources:
        for selection in source.selections:
            for coding in selection.codings:
                if coding.code not in known:
                    raise InputError(f"{where(origin, coding.line)}: <Coding guid=\"{coding.guid}\"> in source "
                                     f"'{source.name}' refers to code {coding.code}, which is not in the "
                                     "CodeBook; export the project again.")


# ---- selection offsets ---------------------------------------------------------


@dataclass(frozen=True)
class OffsetConvention:
    """How a tool counted positions: code points or UTF-16 units, and line ends."""

    name: str
    utf16: bool
    newline: str  # "as-is", "crlf-as-one" (CR LF counted once), "lf-as-two" (LF counted as CR LF)
    explanation: str


CONVENTIONS = (
    OffsetConvention("codepoints", False, "as-is", "Unicode code points, as REFI-QDA specifies"),
    OffsetConvention("utf16", True, "as-is",
                     "UTF-16 code units (each emoji or other character beyond U+FFFF counted twice)"),
    OffsetConvention("crlf-as-one", False, "crlf-as-one", "code points, with each Windows line end (CR LF) counted once"),
    OffsetConvention("lf-as-two", False, "lf-as-two", "code points, with each line end (LF) counted as two (CR LF)"),
    OffsetConvention("utf16+crlf-as-one", True, "crlf-as-one",
                     "UTF-16 code units, with each Windows line end (CR LF) counted once"),
    OffsetConvention("utf16+lf-as-two", True, "lf-as-two", "UTF-16 code units, with each line end counted as two"),
)
CONVENTION_NAMES = ("auto",) + tuple(c.name for c in CONVENTIONS)


def convention(name: str) -> OffsetConvention:
    for candidate in CONVENTIONS:
        if candidate.name == name:
            return candidate
    raise InputError(f"unknown offset convention '{name}'; use one of {', '.join(CONVENTION_NAMES)}.")


def _width(text: str, index: int, conv: OffsetConvention) -> int:
    char = text[index]
    width = 2 if conv.utf16 and ord(char) > 0xFFFF else 1
    if char == "\r" and conv.newline == "crlf-as-one" and text.startswith("\n", index + 1):
        return 0
    if char == "\n" and conv.newline == "lf-as-two" and not (index and text[index - 1] == "\r"):
        return 2
    return width


def differs(text: str, conv: OffsetConvention) -> bool:
    """Whether `conv` counts this text differently from code points at all."""
    if conv.utf16 and any(ord(c) > 0xFFFF for c in text):
        return True
    if conv.newline == "crlf-as-one" and "\r\n" in text:
        return True
    if conv.newline == "lf-as-two" and re.search(r"(?<!\r)\n", text):
        return True
    return False


def tool_to_codepoint(text: str, conv: OffsetConvention) -> dict:
    """Map each position as the tool counts it to the code point position (the first one, if several)."""
    mapping, offset = {}, 0
    for index in range(len(text)):
        mapping.setdefault(offset, index)
        offset += _width(text, index, conv)
    mapping.setdefault(offset, len(text))
    return mapping


def _norm_space(text: str) -> str:
    return " ".join(text.split())


def _name_matches(name: str, selected: str) -> bool:
    """Whether a selection's name (many tools store the selected text there) agrees with the text."""
    name = _norm_space(name).rstrip(".…").strip()
    if len(name) < 4:
        return False
    selected = _norm_space(selected)
    return selected == name or (len(name) >= 8 and selected.startswith(name))


def _map_source(source: QdaSource, conv: OffsetConvention):
    """Selections of `source` in code points under `conv`: list of (selection, start, end) or (selection, None, None)."""
    if conv.name == "codepoints" or not differs(source.text, conv):
        mapping = None
    else:
        mapping = tool_to_codepoint(source.text, conv)
    out = []
    for selection in source.selections:
        if mapping is None:
            start, end = selection.start, selection.end
            ok = 0 <= start <= end <= len(source.text)
        else:
            start, end = mapping.get(selection.start), mapping.get(selection.end)
            ok = start is not None and end is not None and start <= end
        out.append((selection, start, end) if ok else (selection, None, None))
    return out


@dataclass(frozen=True)
class OffsetCheck:
    """The convention chosen for a project's selections and the evidence for it."""

    convention: OffsetConvention
    valid: dict          # convention name -> selections within the text
    name_matches: dict   # convention name -> selections whose name equals the selected text
    total: int
    ambiguous_sources: tuple = ()


def detect_offsets(sources, forced: str = "auto", origin: str = "project.qde") -> OffsetCheck:
    """Choose how the project's tool counted positions, from all selections of all sources.

    Code points (the standard) win unless some selection falls outside the text or
    between the halves of a character under them while another convention fits all, or
    the selection names (the selected text, as many tools store it) agree better
    with another convention.
    """
    total = sum(len(s.selections) for s in sources)
    candidates = CONVENTIONS if forced == "auto" else (convention(forced),)
    valid, names = {}, {}
    for conv in candidates:
        n_valid = n_names = 0
        for source in sources:
            for selection, start, end in _map_source(source, conv):
                if start is None:
                    continue
                n_valid += 1
                n_names += _name_matches(selection.name, source.text[start:end])
        valid[conv.name], names[conv.name] = n_valid, n_names
    fitting = [c for c in candidates if valid[c.name] == total]
    if not fitting:
        _raise_outside(sources, candidates[0], origin)
    best = fitting[0]
    for conv in fitting[1:]:
        if names[conv.name] > names[best.name]:
            best = conv
    ambiguous = ()
    if best.name == "codepoints" and any(c.name == "utf16" for c in fitting) and \
            names["codepoints"] <= names.get("utf16", 0):
        ambiguous = tuple(s.name for s in sources if _selection_after_astral(s))
    return OffsetCheck(best, valid, names, total, ambiguous)


def _selection_after_astral(source: QdaSource) -> bool:
    """Whether a selection ends after the first character beyond U+FFFF, where UTF-16 counting would shift it."""
    first = next((i for i, c in enumerate(source.text) if ord(c) > 0xFFFF), None)
    return first is not None and any(s.end > first for s in source.selections)


def _raise_outside(sources, conv, origin) -> None:
    for source in sources:
        for selection, start, _ in _map_source(source, conv):
            if start is None:
                raise InputError(
                    f"{where(origin, selection.line)}: <PlainTextSelection guid=\"{selection.guid}\"> in source "
                    f"'{source.name}' runs from {selection.start} to {selection.end}, outside its text of "
                    f"{len(source.text)} characters (counted as {conv.explanation}); export the project "
                    "again, or check that the source text was not edited after coding.")
    raise InputError("the selections fit no known offset convention.")  # pragma: no cover


def span_codings(project: QdaProject, check: OffsetCheck, files: dict, moves: Optional[dict] = None) -> list:
    """Every coding of every selection as a SpanCoding in code points of the written text.

    `files` maps source guid -> file; `moves` maps source guid -> {old: new position}
    when the written text was normalised (see `as_capcode_sees_it`).
    """
    out, moves = [], moves or {}
    for source in project.sources:
        if source.guid not in files:
            continue
        move = moves.get(source.guid)
        for selection, start, end in _map_source(source, check.convention):
            if move is not None:
                start, end = move[start], move[end]
            if start == end:
                continue
            for coding in selection.codings:
                coder = project.users.get(coding.user) or (coding.user or "onbekend")
                out.append(SpanCoding(files[source.guid], start, end, coder, coding.code, selection.guid))
    return out


def _chunks(text: str):
    """Split text into (start, end) pieces that normalise independently: a line end, or a starter
    character with the combining marks that follow it."""
    index, length = 0, len(text)
    while index < length:
        if text.startswith("\r\n", index):
            yield index, index + 2
            index += 2
            continue
        end = index + 1
        while end < length and unicodedata.combining(text[end]):
            end += 1
        yield index, end
        index = end


def as_capcode_sees_it(text: str) -> tuple:
    """(text as capcode's reader returns it, old position -> new position).

    capcode reads .txt with `\n` line ends in Unicode NFC (pipeline.readers), so the
    imported text is written that way and every offset is moved with it. A position
    inside a piece that changed (between CR and LF, before a combining mark) moves to
    the piece's start.
    """
    if "\r" not in text and unicodedata.is_normalized("NFC", text):
        return text, None
    pieces, positions, new = [], {}, 0
    for start, end in _chunks(text):
        piece = text[start:end].replace("\r\n", "\n").replace("\r", "\n")
        piece = unicodedata.normalize("NFC", piece)
        for old in range(start, end):
            positions[old] = new
        pieces.append(piece)
        new += len(piece)
    positions[len(text)] = new
    result = "".join(pieces)
    expected = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    if result != expected:  # composition across starters (e.g. Hangul jamo): map by alignment
        result, positions = expected, _aligned_positions(text, expected)
    return result, positions


def _aligned_positions(old: str, new: str) -> dict:
    import difflib

    positions = {}
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(i2 - i1):
            positions[i1 + offset] = j1 + (offset if tag == "equal" else 0)
    positions[len(old)] = len(new)
    return positions


# ---- mapping codes to dimensions and values -------------------------------------


@dataclass(frozen=True)
class CodeMapping:
    """What a code means for capcode: a dimension and value, or why it has none."""

    dimension: str = ""
    value: str = ""
    status: str = "mapped"  # mapped | unmapped | ignored | review
    reason: str = ""


def _find_dimension(codebook, text: str):
    folded = text.strip().casefold()
    for dimension in codebook.dimensions:
        if folded in (dimension.id.casefold(), dimension.label.strip().casefold()):
            return dimension
    return None


def _map_pair(codebook, dimension_text: str, value_text: str):
    dimension = _find_dimension(codebook, dimension_text)
    if dimension is None:
        return None, f"'{dimension_text.strip()}' is not a dimension of codebook '{codebook.name}'"
    value = dimension.normalize(value_text)
    if value is None:
        return None, (f"'{value_text.strip()}' is not a value of dimension '{dimension.id}' "
                      f"({', '.join(dimension.value_ids)})")
    return CodeMapping(dimension.id, value), ""


def _path_key(text: str) -> str:
    return "/".join(part.strip().casefold() for part in re.split(r"\s*[/\\>]\s*", text.strip()) if part.strip())


def read_mapping(path, codebook) -> dict:
    """A mapping file (csv/xlsx/jsonl: code, dimension, value) as {key: CodeMapping}.

    `code` is the code's path in the tree ('Thema's/Strategie'), its name, or its GUID.
    A row with empty dimension and value deliberately leaves the code out.
    """
    header, rows = read_table(path)
    missing = [c for c in ("code", "dimension", "value") if c not in header]
    if missing:
        raise InputError(f"{path}: a mapping file needs the columns code, dimension, value "
                         f"(missing {', '.join(missing)}).")
    mapping = {}
    for row in rows:
        code, dimension, value = (str(row.get(k, "")).strip() for k in ("code", "dimension", "value"))
        if not code:
            continue
        if not dimension and not value:
            mapping[_path_key(code)] = CodeMapping(status="ignored", reason=f"left out by {Path(path).name}")
            continue
        mapped, reason = _map_pair(codebook, dimension, value)
        if mapped is None:
            raise CodebookError(f"{where(path, row['row'])}: {reason}; fix the mapping file.")
        mapping[_path_key(code)] = mapped
    return mapping


def _is_review(code: QdaCode, by_guid: dict) -> bool:
    while code.parent:
        code = by_guid[code.parent]
    return code.name.strip().casefold() == REVIEW_CODE


def map_codes(codes, codebook, mapping: Optional[dict] = None) -> dict:
    """Code guid -> CodeMapping, by the mapping file first, then by convention.

    Conventions: a code hierarchy ending in `dimension/value` (any depth above it), or
    a code named `dimension: value`. Dimensions and values match ids or labels,
    ignoring case. Codes under `te beoordelen` are capcode's own review marks.
    """
    mapping = mapping or {}
    by_guid = {code.guid: code for code in codes}
    names = Counter(code.name.strip().casefold() for code in codes)
    out = {}
    for code in codes:
        keys = [_path_key(code.path), code.guid]
        if names[code.name.strip().casefold()] == 1:
            keys.append(_path_key(code.name))
        found = next((mapping[k] for k in keys if k in mapping), None)
        if found is not None:
            out[code.guid] = found
            continue
        if _is_review(code, by_guid):
            out[code.guid] = CodeMapping(status="review", reason="capcode suggestion to review, not a code")
            continue
        reasons = []
        parts = code.path.split("/")
        if len(parts) >= 2:
            mapped, reason = _map_pair(codebook, parts[-2], parts[-1])
            if mapped:
                out[code.guid] = mapped
                continue
            reasons.append(reason)
        if ":" in code.name:
            dimension, value = code.name.split(":", 1)
            mapped, reason = _map_pair(codebook, dimension, value)
            if mapped:
                out[code.guid] = mapped
                continue
            reasons.append(reason)
        if not reasons:
            reasons.append("not named 'dimension: value' nor placed under a dimension")
        out[code.guid] = CodeMapping(status="unmapped", reason="; ".join(reasons))
    return out


# ---- writing an import -----------------------------------------------------------


def safe_relative_path(name: str, fallback: str) -> PurePosixPath:
    """A harmless relative .txt path from a source name: no '..', no absolute path, no odd characters."""
    parts = []
    for part in re.split(r"[/\\]+", unicodedata.normalize("NFC", name)):
        part = _UNSAFE.sub("_", part).strip().strip(".")
        if part and part not in (".", ".."):
            parts.append(part[:120])
    if not parts:
        parts = [fallback]
    stem = parts[-1]
    for extension in TEXT_EXTENSIONS:
        if stem.lower().endswith(extension) and len(stem) > len(extension):
            stem = stem[: -len(extension)]
            break
    parts[-1] = stem + ".txt"
    return PurePosixPath(*parts)


def assign_files(sources) -> dict:
    """Source guid -> unique relative file path under sources/ (deterministic; clashes get -2, -3)."""
    files, used = {}, set()
    for source in sources:
        path = safe_relative_path(source.name, source.guid)
        candidate, number = path, 2
        while str(candidate).casefold() in used:
            candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
            number += 1
        used.add(str(candidate).casefold())
        files[source.guid] = str(candidate)
    return files


def _inside(base: Path, relative: str) -> Path:
    target = (base / relative).resolve()
    if not target.is_relative_to(base.resolve()):
        raise InputError(f"source name '{relative}' would be written outside {base}; refused.")
    return target


CODINGS_COLUMNS = ("source", "start_char", "end_char", "coder", "dimension", "value", "code")


@dataclass(frozen=True)
class ImportResult:
    """Everything an import writes, computed before anything is written."""

    texts: dict            # relative file under sources/ -> text as capcode reads it
    sources: list          # rows of sources.csv
    codings: list          # rows of codings.csv
    codes: list            # rows of codes.csv
    unmapped: list         # rows of unmapped_codes.csv
    manifest: list         # rows of manifest.csv (source, case, respondent, role)
    summary: dict


SOURCES_COLUMNS = ("guid", "name", "file", "characters", "selections")
CODES_COLUMNS = ("guid", "path", "name", "parent", "codable", "color", "dimension", "value", "status", "codings")
UNMAPPED_COLUMNS = ("guid", "path", "codings", "reason")
MANIFEST_COLUMNS = ("source", "case", "respondent", "role")


def manifest_rows(sources, files) -> list:
    """source,case,respondent,role for `capcode segment --manifest`; an unknown role is left empty."""
    from .records import ROLES

    rows = []
    for source in sources:
        role = source.role.strip().casefold()
        if role and role not in ROLES:
            log.warning("source '%s': role '%s' is not one of %s; left empty in manifest.csv.",
                        source.name, source.role, ", ".join(ROLES))
            role = ""
        rows.append((files[source.guid], source.case, source.respondent, role))
    return rows


def import_project(project: QdaProject, codebook, mapping: Optional[dict] = None, offsets: str = "auto") -> ImportResult:
    """Turn a read project into capcode's files: texts, span codings, code tree, unmapped codes."""
    check = detect_offsets(project.sources, offsets, project.origin_file)
    report_offsets(check, project)
    meaning = map_codes(project.codes, codebook, mapping)
    skipped = dict(project.skipped)
    written = {}
    for source in project.sources:
        if source.text.strip():
            written[source.guid] = as_capcode_sees_it(source.text)
        else:
            key = "text sources with an empty plain text"
            skipped[key] = skipped.get(key, 0) + 1
    kept = [s for s in project.sources if s.guid in written]
    files = assign_files(kept)
    spans = span_codings(project, check, files, {g: m for g, (_, m) in written.items() if m is not None})
    if any(move is not None for _, move in written.values()):
        log.info("some sources were written with \\n line ends in Unicode NFC (as capcode reads text); "
                 "their selection offsets were moved with them.")

    used = Counter(span.code for span in spans)
    by_guid = {code.guid: code for code in project.codes}
    codings = _dedupe(sorted(
        (span.source, span.start_char, span.end_char, span.coder, meaning[span.code].dimension,
         meaning[span.code].value, by_guid[span.code].path)
        for span in spans if meaning[span.code].status == "mapped"))
    unmapped = [c for c in project.codes if meaning[c.guid].status == "unmapped" and (used[c.guid] or c.codable)]
    summary = {
        "project": project.name, "origin": project.origin, "sources": len(kept),
        "selections": check.total, "codings": len(spans), "mapped_codings": len(codings),
        "unmapped_codings": sum(used[c.guid] for c in unmapped),
        "unmapped_codes_used": sum(1 for c in unmapped if used[c.guid]),
        "review_codings": sum(used[g] for g, m in meaning.items() if m.status == "review"),
        "coders": dict(sorted(Counter(row[3] for row in codings).items())),
        "offsets": check.convention.name, "offsets_explanation": check.convention.explanation,
        "skipped": skipped, "codebook": codebook.name, "codebook_hash": codebook.hash,
    }
    model_users = [coder for coder in summary["coders"] if coder.startswith(MODEL_USER_PREFIX)]
    if model_users:  # train and aggregate leave these out (codings.human_codings); agreement keeps them
        log.warning("codings.csv holds the suggestions of %s (a capcode export): they are a model's, not a coder's; "
                    "train and aggregate leave them out.", ", ".join(model_users))
    return ImportResult(
        texts={files[s.guid]: written[s.guid][0] for s in kept},
        sources=[(s.guid, s.name, files[s.guid], len(written[s.guid][0]), len(s.selections)) for s in kept],
        codings=codings,
        codes=[(c.guid, c.path, c.name, c.parent, c.codable, c.color, meaning[c.guid].dimension,
                meaning[c.guid].value, meaning[c.guid].status, used[c.guid]) for c in project.codes],
        unmapped=[(c.guid, c.path, used[c.guid], meaning[c.guid].reason) for c in unmapped],
        manifest=manifest_rows(kept, files),
        summary=summary)


def check_output_folder(out_dir: Path, files) -> None:
    """Refuse to mix an import with other texts in OUT/sources: `capcode segment` would read them all."""
    sources_dir = out_dir / "sources"
    if not sources_dir.is_dir():
        return
    expected = {str(PurePosixPath(f)) for f in files}
    others = sorted(p.relative_to(sources_dir).as_posix() for p in sources_dir.rglob("*")
                    if p.is_file() and p.relative_to(sources_dir).as_posix() not in expected)
    if others:
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        raise InputError(f"{sources_dir}: holds files that are not in this project ({shown}); "
                         "give a new or empty --out folder (or remove them).")


def write_import(result: ImportResult, out_dir) -> None:
    """Write an ImportResult into `out_dir`, every file atomically, never outside `out_dir`."""
    out_dir = Path(out_dir)
    sources_dir = out_dir / "sources"
    check_output_folder(out_dir, result.texts)
    for relative, text in result.texts.items():
        with atomic_open(_inside(sources_dir, relative), newline="") as handle:
            handle.write(text)
    write_table(out_dir / "sources.csv", SOURCES_COLUMNS, result.sources)
    write_table(out_dir / "codings.csv", CODINGS_COLUMNS, result.codings)
    write_table(out_dir / "codes.csv", CODES_COLUMNS, result.codes)
    write_table(out_dir / "unmapped_codes.csv", UNMAPPED_COLUMNS, result.unmapped)
    write_table(out_dir / "manifest.csv", MANIFEST_COLUMNS, result.manifest)
    with atomic_open(out_dir / "qdpx_import.json") as handle:
        handle.write(json.dumps(result.summary, ensure_ascii=False, indent=2) + "\n")


def run_import_qdpx(project_path, out_dir, codebook, mapping_path=None, offsets: str = "auto") -> dict:
    """Import a .qdpx into `out_dir`: sources/, sources.csv, codings.csv, codes.csv, unmapped_codes.csv.

    Returns the summary (also written as qdpx_import.json).
    """
    from .codebook import load_codebook

    codebook = load_codebook(codebook)
    project = read_project(project_path)
    mapping = read_mapping(mapping_path, codebook) if mapping_path else {}
    result = import_project(project, codebook, mapping, offsets)
    result.summary["segment_command"] = (f"capcode segment {Path(out_dir) / 'sources'} "
                                         f"--manifest {Path(out_dir) / 'manifest.csv'} --out fragments.jsonl")
    write_import(result, out_dir)
    summary = result.summary
    if summary["unmapped_codings"]:
        log.warning("%d codings use %d codes that match no dimension/value of codebook '%s'; they are listed in "
                    "%s and left out of codings.csv (name the codes 'dimension: value', put them under a "
                    "dimension code, or give --mapping).", summary["unmapped_codings"],
                    summary["unmapped_codes_used"], codebook.name, Path(out_dir) / "unmapped_codes.csv")
    for what, count in summary["skipped"].items():
        log.warning("left out %d %s.", count, what)
    return summary


def _dedupe(rows):
    """One row per coder, span and dimension; a tool may store the same coding twice."""
    seen, out = set(), []
    for row in rows:
        if row[:6] not in seen:
            seen.add(row[:6])
            out.append(row)
    return out


def report_offsets(check: OffsetCheck, project: QdaProject) -> None:
    """Say which offset convention was used, loudly when it is not the standard one."""
    tool = project.origin or "the tool"
    if check.convention.name != "codepoints":
        outside = check.total - check.valid.get("codepoints", check.total)
        evidence = (f"{outside} of them fall outside the text when read as code points" if outside else
                    f"the selected text matches the selection names {check.name_matches[check.convention.name]} "
                    f"times this way, {check.name_matches.get('codepoints', 0)} times as code points")
        log.warning("%s wrote selection positions in %s, not in Unicode code points as REFI-QDA specifies "
                    "(%s); capcode converted all %d selections. Force a convention with --offsets if this "
                    "is wrong.", tool, check.convention.explanation, evidence, check.total)
    if project.origin.split(" ")[0] == ORIGIN:
        return  # capcode's own exports count code points
    for name in check.ambiguous_sources:
        log.warning("source '%s' contains characters beyond U+FFFF (e.g. emoji); its selections were read as "
                    "code points (the standard), which fits, but a tool counting UTF-16 units would also fit. "
                    "If codings look shifted after such a character, import again with --offsets utf16.", name)


# ---- export ------------------------------------------------------------------------


def model_user_name(model: str) -> str:
    """The REFI user that owns a model's suggestions: never a person's name."""
    model = (model or "").strip()
    return model if model.startswith(MODEL_USER_PREFIX) else (f"{MODEL_USER_PREFIX}{model}" if model else "capcode-model")


def code_guid(codebook, *parts) -> str:
    return stable_guid("code", codebook.name, *parts)


def review_guid(codebook, dimension_id: Optional[str] = None) -> str:
    return stable_guid("review", codebook.name, *([dimension_id] if dimension_id else []))


def _describe_text(label: str, description: str) -> str:
    return f"{label}: {description}" if description and description != label else label


def code_tree(codebook, ns: str = PROJECT_NS, review: bool = True):
    """The codebook as REFI codes: one code per dimension (not codable), one child per value.

    Each dimension gets a colour; its values share it. With `review`, a grey code
    `te beoordelen` holds one child per dimension for abstained suggestions.
    """
    codes = etree.Element(_tag("Codes", ns))
    for number, dimension in enumerate(codebook.dimensions):
        colour = PALETTE[number % len(PALETTE)]
        parent = etree.SubElement(codes, _tag("Code", ns), guid=code_guid(codebook, dimension.id),
                                  name=dimension.id, isCodable="false", color=colour)
        text = _describe_text(dimension.label, dimension.description)
        if dimension.condition is not None:
            text += f" (alleen gecodeerd als {dimension.condition})"
        etree.SubElement(parent, _tag("Description", ns)).text = text
        for value in dimension.values:
            child = etree.SubElement(parent, _tag("Code", ns), guid=code_guid(codebook, dimension.id, value.id),
                                     name=value.id, isCodable="true", color=colour)
            etree.SubElement(child, _tag("Description", ns)).text = _describe_text(value.label, value.description)
    if review:
        parent = etree.SubElement(codes, _tag("Code", ns), guid=review_guid(codebook), name=REVIEW_CODE,
                                  isCodable="false", color=REVIEW_COLOUR)
        etree.SubElement(parent, _tag("Description", ns)).text = (
            "capcode was not sure enough to suggest a value (it abstained): code these by hand.")
        for dimension in codebook.dimensions:
            etree.SubElement(parent, _tag("Code", ns), guid=review_guid(codebook, dimension.id),
                             name=dimension.id, isCodable="true", color=REVIEW_COLOUR)
    return codes


def build_codebook_xml(codebook) -> bytes:
    """A .qdc document: the codebook alone, in the REFI-QDA codebook namespace."""
    root = etree.Element(_tag("CodeBook", CODEBOOK_NS), nsmap={None: CODEBOOK_NS},
                         origin=f"{ORIGIN} (codebook {codebook.name} {codebook.version})")
    root.append(code_tree(codebook, CODEBOOK_NS, review=False))
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    _assert_valid(data, CODEBOOK_XSD, "codebook")
    return data


def _assert_valid(data: bytes, schema_path, what: str) -> None:
    problems = schema_problems(etree.fromstring(data, _parser()).getroottree(), schema_path)
    if problems:  # a bug in capcode, not the user's input
        raise RuntimeError(f"capcode built an invalid REFI-QDA {what}: line {problems[0][0]}: {problems[0][1]}")


@dataclass(frozen=True)
class ExportSelection:
    """One span of one source coded by one user, with its codes and a note."""

    source: str
    start: int
    end: int
    user: str
    name: str
    codes: tuple          # code guids
    description: str = ""


def _p(value) -> str:
    return f"{float(value):.2f}"


def suggestion_selections(fragments: dict, predictions, codebook) -> list:
    """One selection per fragment and model: a coding per suggested value, `te beoordelen` when abstained."""
    grouped = defaultdict(list)
    for prediction in predictions:
        if prediction.fragment_id not in fragments:
            raise InputError(f"prediction for fragment '{prediction.fragment_id}', which is not in the fragments "
                             "file; use the fragments the predictions were made from.")
        grouped[(prediction.fragment_id, model_user_name(prediction.model))].append(prediction)
    order = {d.id: i for i, d in enumerate(codebook.dimensions)}
    out = []
    for (fragment_id, user), items in grouped.items():
        fragment = fragments[fragment_id]
        codes, notes = [], []
        for p in sorted(items, key=lambda x: (order.get(x.dimension, len(order)), x.dimension)):
            if not codebook.has_dimension(p.dimension):
                raise CodebookError(f"prediction for '{fragment_id}' is on dimension '{p.dimension}', which codebook "
                                    f"'{codebook.name}' does not have; give the codebook the model was trained with.")
            if p.abstained:
                codes.append(review_guid(codebook, p.dimension))
                runner = f"; daarna {p.runner_up} p={_p(p.runner_up_probability)}" if p.runner_up and \
                    p.runner_up_probability is not None else ""
                notes.append(f"{p.dimension}: {REVIEW_CODE} (beste gok {p.value} p={_p(p.probability)}{runner})")
            elif p.value:
                codebook.dimension(p.dimension).value(p.value)
                codes.append(code_guid(codebook, p.dimension, p.value))
                notes.append(f"{p.dimension} = {p.value} (p={_p(p.probability)})")
        if codes:
            out.append(ExportSelection(fragment.source, fragment.start_char, fragment.end_char, user, fragment_id,
                                       tuple(codes), f"Suggestie van {user}: " + "; ".join(notes)))
    return out


def human_selections(fragments: dict, codings, codebook) -> list:
    """One selection per fragment and coder, with a coding per dimension value."""
    grouped = defaultdict(list)
    for coding in codings:
        if coding.fragment_id not in fragments:
            raise InputError(f"coding of fragment '{coding.fragment_id}' by '{coding.coder}', which is not in the "
                             "fragments file; give the fragments the codings were made on.")
        grouped[(coding.fragment_id, coding.coder or "onbekend")].append(coding)
    out = []
    for (fragment_id, coder), items in grouped.items():
        fragment = fragments[fragment_id]
        codes = []
        for coding in items:
            codebook.dimension(coding.dimension).value(coding.value)
            guid = code_guid(codebook, coding.dimension, coding.value)
            if guid not in codes:
                codes.append(guid)
        out.append(ExportSelection(fragment.source, fragment.start_char, fragment.end_char, coder, fragment_id,
                                   tuple(codes)))
    return out


def build_project_xml(codebook, texts: dict, selections, name: str, metadata: Optional[dict] = None) -> tuple:
    """The project.qde document and {zip member: text} for the sources; validated against the XSD.

    `metadata` maps a source to its SourceInfo-like (case, respondent, role): cases become
    REFI Cases holding their sources, respondent and role variables of each source.
    """
    metadata = metadata or {}
    users = sorted({s.user for s in selections})
    user_guids = {user: stable_guid("user", user) for user in users}
    root = etree.Element(_tag("Project"), nsmap={None: PROJECT_NS}, name=name, origin=ORIGIN)
    model_users = [u for u in users if u.startswith("capcode-model")]
    if model_users:
        root.set("creatingUserGUID", user_guids[model_users[0]])
    if users:
        users_element = etree.SubElement(root, _tag("Users"))
        for user in users:
            etree.SubElement(users_element, _tag("User"), guid=user_guids[user], name=user)
    etree.SubElement(root, _tag("CodeBook")).append(code_tree(codebook))
    source_guids = {source: stable_guid("source", source, text) for source, text in texts.items()}
    variable_guids = _add_cases(root, metadata, source_guids)
    by_source = defaultdict(list)
    for selection in selections:
        by_source[selection.source].append(selection)
    members = {}
    if texts:
        sources_element = etree.SubElement(root, _tag("Sources"))
        for source in sorted(texts):
            text, guid = texts[source], source_guids[source]
            members[f"sources/{guid}.txt"] = text
            element = etree.SubElement(sources_element, _tag("TextSource"), guid=guid, name=source,
                                       plainTextPath=f"internal://{guid}.txt")
            for selection in sorted(by_source.get(source, ()), key=lambda s: (s.start, s.end, s.user)):
                _add_selection(element, selection, user_guids[selection.user], text)
            _add_variable_values(element, metadata.get(source), variable_guids)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    _assert_valid(data, PROJECT_XSD, "project")
    return data, members


EXPORT_VARIABLES = ("respondent", "rol")


def _known(value) -> bool:
    return bool(value) and value != "onbekend"


def _add_cases(root, metadata: dict, source_guids: dict) -> dict:
    """Variables respondent/rol and one Case per case (municipality) holding its sources; returns variable GUIDs."""
    if not any(_known(v) for info in metadata.values() for v in info):
        return {}
    variable_guids = {name: stable_guid("variable", name) for name in EXPORT_VARIABLES}
    variables = etree.SubElement(root, _tag("Variables"))
    for name in EXPORT_VARIABLES:
        etree.SubElement(variables, _tag("Variable"), guid=variable_guids[name], name=name, typeOfVariable="Text")
    by_case = defaultdict(list)
    for source, (case, _, _) in metadata.items():
        if _known(case) and source in source_guids:
            by_case[case].append(source)
    if by_case:
        cases = etree.SubElement(root, _tag("Cases"))
        for case in sorted(by_case):
            element = etree.SubElement(cases, _tag("Case"), guid=stable_guid("case", case), name=case)
            for source in sorted(by_case[case]):
                etree.SubElement(element, _tag("SourceRef"), targetGUID=source_guids[source])
    return variable_guids


def _add_variable_values(element, info, variable_guids: dict) -> None:
    if not info or not variable_guids:
        return
    _, respondent, role = info
    for name, value in zip(EXPORT_VARIABLES, (respondent, role)):
        if _known(value):
            item = etree.SubElement(element, _tag("VariableValue"))
            etree.SubElement(item, _tag("VariableRef"), targetGUID=variable_guids[name])
            etree.SubElement(item, _tag("TextValue")).text = value


def _add_selection(parent, selection: ExportSelection, user_guid: str, text: str) -> None:
    if not 0 <= selection.start <= selection.end <= len(text):
        raise InputError(f"fragment '{selection.name}' ({selection.start}-{selection.end}) lies outside the text of "
                         f"'{selection.source}' ({len(text)} characters); segment the transcripts again.")
    element = etree.SubElement(parent, _tag("PlainTextSelection"),
                               guid=stable_guid("selection", selection.user, selection.name),
                               name=selection.name, startPosition=str(selection.start),
                               endPosition=str(selection.end), creatingUser=user_guid)
    if selection.description:
        etree.SubElement(element, _tag("Description")).text = selection.description
    for code in selection.codes:
        coding = etree.SubElement(element, _tag("Coding"), guid=stable_guid("coding", selection.user, selection.name,
                                                                             code),
                                  creatingUser=user_guid)
        etree.SubElement(coding, _tag("CodeRef"), targetGUID=code)


def write_zip(path, members: dict) -> None:
    """Write a zip atomically with fixed timestamps and order, so equal content gives equal bytes."""
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in members:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                data = members[name]
                archive.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)


def rebuild_text(fragments) -> str:
    """A source's text from its fragments alone: each at its offsets, the gaps blank (ending in a line break)."""
    length = max(f.end_char for f in fragments)
    chars = [" "] * length
    covered = [False] * length
    for fragment in sorted(fragments, key=lambda f: f.start_char):
        if len(fragment.text) != fragment.end_char - fragment.start_char:
            raise InputError(f"fragment '{fragment.id}': its text has {len(fragment.text)} characters but its span "
                             f"{fragment.start_char}-{fragment.end_char} has {fragment.end_char - fragment.start_char}.")
        for offset, char in enumerate(fragment.text, start=fragment.start_char):
            if covered[offset] and chars[offset] != char:
                raise InputError(f"fragments overlapping '{fragment.id}' disagree about the text; give --transcripts.")
            chars[offset], covered[offset] = char, True
    for index in range(length):
        if not covered[index] and (index + 1 == length or covered[index + 1]):
            chars[index] = "\n"
    return "".join(chars)


def source_texts(fragments, transcripts=None) -> dict:
    """The plain text of every source the fragments come from, checked against the fragments.

    From the transcripts (read as `capcode segment` read them) when given; otherwise
    rebuilt from the fragments, with blanks where no fragment is (interviewer turns).
    """
    by_source = defaultdict(list)
    for fragment in fragments:
        by_source[fragment.source].append(fragment)
    texts = {}
    if transcripts is None:
        log.warning("no --transcripts: the texts are rebuilt from the fragments; what lies between fragments "
                    "(e.g. interviewer turns) is left blank.")
        return {source: rebuild_text(items) for source, items in by_source.items()}
    from .readers import read_plain_text

    transcripts = Path(transcripts)
    for source, items in sorted(by_source.items()):
        path = transcripts if transcripts.is_file() else transcripts / source
        if transcripts.is_file() and transcripts.name != source:
            raise InputError(f"{transcripts}: fragments come from '{source}'; give the folder that was segmented.")
        if not path.is_file():
            raise InputError(f"{path}: transcript not found; give as --transcripts the folder given to "
                             "'capcode segment'.")
        text = read_plain_text(path)
        for fragment in items:
            if text[fragment.start_char:fragment.end_char] != fragment.text:
                raise InputError(f"{path}: the text at {fragment.start_char}-{fragment.end_char} differs from fragment "
                                 f"'{fragment.id}'; the transcript changed after segmenting: segment it again.")
        texts[source] = text
    return texts


def run_export_qdpx(fragments_path, predictions_path, out, codebook, codings_paths=(), transcripts=None,
                    name: Optional[str] = None) -> dict:
    """Write a .qdpx with the transcripts, the codebook, the model's suggestions and any human codings."""
    from .codebook import load_codebook
    from .files import read_fragments, read_predictions

    codebook = load_codebook(codebook)
    fragment_list = list(read_fragments(fragments_path))
    fragments = {f.id: f for f in fragment_list}
    predictions = read_predictions(predictions_path) if predictions_path else []
    codings = []
    if codings_paths:
        from .codings import read_codings

        codings = read_codings(list(codings_paths), codebook=codebook, fragments=fragment_list)
    selections = suggestion_selections(fragments, predictions, codebook) + \
        human_selections(fragments, codings, codebook)
    texts = source_texts(fragment_list, transcripts)
    name = name or f"capcode {codebook.name}"
    metadata = {}
    for fragment in fragment_list:
        metadata.setdefault(fragment.source, (fragment.case, fragment.respondent, fragment.role))
    data, members = build_project_xml(codebook, texts, selections, name, metadata)
    write_zip(out, {"project.qde": data, **dict(sorted(members.items()))})
    users = Counter(s.user for s in selections)
    return {"sources": len(texts), "selections": len(selections), "users": dict(sorted(users.items())),
            "abstained": sum(1 for p in predictions if p.abstained)}


def run_export_qdc(codebook, out) -> None:
    """Write the codebook alone as a REFI-QDA .qdc file."""
    from .codebook import load_codebook

    data = build_codebook_xml(load_codebook(codebook))
    with atomic_open(out, "wb") as handle:
        handle.write(data)
