"""Reading a .qdpx: the zip, its project.qde (validated) and the plain text of every text source.

`read_project(path)` gives a QdaProject or refuses the file with one line naming the file, line
and element: not a zip, no project.qde, XML that breaks the schema, two elements sharing a GUID,
a source whose text is missing or not UTF-8, a coding of a code that is not in the code tree.
Pictures, audio, video and PDF sources are left out and counted (`QdaProject.skipped`).
"""

import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Optional

from lxml import etree

from ..archives import DEFAULT_LIMITS, BoundedZip, ZipLimits, load_zip_bytes
from ..errors import InputError, where
from .records import QdaCode, QdaCoding, QdaProject, QdaSelection, QdaSource
from .schema import (CODEBOOK_NS, PROJECT_NS, PROJECT_XSD, check_unique_guids, describe_element, norm_guid,
                     parse_xml, schema_problems, tag)


class ProjectZip(BoundedZip):
    """A .qdpx read within the limits (archives.py); a damaged member asks for a new export."""

    def _again(self) -> str:
        return "export the project again."


def _zip_members(archive: ProjectZip) -> dict:
    """Member names keyed by a normalised form (posix slashes, lower case) for lenient look-up."""
    members = {}
    for info in archive.infolist():
        members.setdefault(info.filename.replace("\\", "/").lstrip("/").lower(), info)
    return members


def read_project_xml(path, limits: ZipLimits = DEFAULT_LIMITS) -> tuple:
    """Open a .qdpx and validate its project.qde; return (root, zip members, open archive, origin for messages).

    Members are read within `limits` (per member, per project, XML elements), never by
    what the zip's header claims; a project.qde with a DOCTYPE is refused.
    """
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
    archive = ProjectZip(load_zip_bytes(path, limits), path, limits, "a REFI-QDA project")
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
    tree = parse_xml(archive.read(info, xml=True), origin)
    root = tree.getroot()
    if root.tag != tag("Project"):
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
    return element.findall(tag(name))


def parse_users(root) -> dict:
    """User GUID -> a unique display name (the name, else the id, else the GUID)."""
    users, counts = {}, Counter()
    for user in root.iter(tag("User")):
        name = (user.get("name") or user.get("id") or user.get("guid")).strip()
        counts[name] += 1
        users[norm_guid(user.get("guid"))] = name
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
            codes.append(QdaCode(norm_guid(code.get("guid")), name, path, parent_guid,
                                 code.get("isCodable", "true").strip() in ("true", "1"),
                                 code.get("color", ""), code.sourceline))
            walk(code, norm_guid(code.get("guid")), path)

    codebook = root.find(tag("CodeBook"))
    if codebook is not None:
        walk(codebook.find(tag("Codes")), "", "")
    return tuple(codes)


def _user_of(element, fallback: str) -> str:
    guid = element.get("creatingUser") or element.get("modifyingUser")
    return norm_guid(guid) if guid else fallback


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
    content = element.find(tag("PlainTextContent"))
    if content is not None:
        return content.text or ""
    path = (element.get("plainTextPath") or "").strip()
    if not path:
        return None
    described = f"{where(origin, element.sourceline)}: {describe_element(element)}"
    if not path.lower().startswith("internal://"):
        raise InputError(f"{described} refers to '{path}', a file outside the project; export the project "
                         "with its sources embedded (internal).")
    name = path[len("internal://"):].replace("\\", "/").lstrip("/")
    info = members.get(f"sources/{name}".lower()) or members.get(name.lower())
    if info is None:
        raise InputError(f"{described} refers to '{path}', which is missing from the zip (expected "
                         f"sources/{name}); export the project again with its sources.")
    return _decode_text(archive.read(info), f"{origin}: {info.filename}")


def parse_selection(element, default_user: str) -> QdaSelection:
    user = _user_of(element, default_user)
    codings = tuple(
        QdaCoding(norm_guid(c.get("guid")), norm_guid(c.find(tag("CodeRef")).get("targetGUID")),
                  _user_of(c, user), c.sourceline)
        for c in _children(element, "Coding"))
    return QdaSelection(norm_guid(element.get("guid")), int(element.get("startPosition")),
                        int(element.get("endPosition")), element.get("name") or "", user, codings,
                        element.sourceline)


CASE_VARIABLES = ("case", "casus")  # where a tool kept the case only as a source variable
RESPONDENT_VARIABLES = ("respondent",)
ROLE_VARIABLES = ("rol", "role")


def parse_variables(root) -> dict:
    """Variable GUID -> its name, lower case (only respondent and role are used)."""
    return {norm_guid(v.get("guid")): v.get("name", "").strip().casefold() for v in root.iter(tag("Variable"))}


def _variable_values(element, variables) -> dict:
    """{variable name: text} of an element's VariableValue children."""
    values = {}
    for item in _children(element, "VariableValue"):
        name = variables.get(norm_guid(item.find(tag("VariableRef")).get("targetGUID")), "")
        value = next((child.text for child in item if etree.QName(child).localname.endswith("Value")
                      and etree.QName(child).localname != "VariableRef"), None)
        if name and value is not None and value.strip():
            values[name] = value.strip()
    return values


def parse_cases(root, variables) -> dict:
    """Source GUID -> list of (case name, {variable: value}) for each Case that refers to it."""
    out = defaultdict(list)
    for case in root.iter(tag("Case")):
        values = _variable_values(case, variables)
        for ref in _children(case, "SourceRef"):
            out[norm_guid(ref.get("targetGUID"))].append(((case.get("name") or "").strip(), values))
    return out


def source_metadata(element, guid: str, cases: dict, variables: dict) -> dict:
    """Case, respondent and role of a TextSource from the project's Cases and Variables, where given."""
    values = {}
    holding = cases.get(guid, [])
    if len(holding) == 1:
        values.update(holding[0][1])
    values.update(_variable_values(element, variables))
    pick = lambda names: next((values[n] for n in names if n in values), "")  # noqa: E731
    return {"case": holding[0][0] if len(holding) == 1 else pick(CASE_VARIABLES),
            "respondent": pick(RESPONDENT_VARIABLES), "role": pick(ROLE_VARIABLES)}


def read_project(path, limits: ZipLimits = DEFAULT_LIMITS) -> QdaProject:
    """Read and validate a .qdpx: users, code tree and the text sources with their selections."""
    root, members, archive, origin = read_project_xml(path, limits)
    with archive:
        users = parse_users(root)
        codes = parse_codes(root)
        default_user = norm_guid(root.get("creatingUserGUID") or "") or ""
        variables = parse_variables(root)
        cases = parse_cases(root, variables)
        skipped = Counter()
        sources = []
        sources_element = root.find(tag("Sources"))
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
                    raise InputError(f"{where(origin, element.sourceline)}: {describe_element(element)} has selections "
                                     "but no plain text (plainTextPath or PlainTextContent); export it again.")
                skipped["text sources without plain text"] += 1
                continue
            name = (element.get("name") or "").strip() or norm_guid(element.get("guid"))
            guid = norm_guid(element.get("guid"))
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
