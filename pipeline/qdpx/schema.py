"""The REFI-QDA standard as capcode uses it: namespaces, schemas, safe XML parsing, GUIDs.

A project (`project.qde` inside a `.qdpx` zip) lives in the namespace
`urn:QDA-XML:project:1.0`, a codebook alone (`.qdc`) in `urn:QDA-XML:codebook:1.0`; both are
checked against the standard's XSD files in `pipeline/schemas/`. XML is parsed without entities,
DTDs or network access, so a project file cannot make capcode read local files. GUIDs capcode
writes are uuid5 of the content, so the same export repeats byte for byte.
"""

import re
import uuid
from pathlib import Path

from lxml import etree

from ..errors import InputError, where

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMA_DIR = Path(__file__).parent.parent / "schemas"
PROJECT_XSD = SCHEMA_DIR / "Project-mrt2019.xsd"
CODEBOOK_XSD = SCHEMA_DIR / "Codebook.xsd"

MODEL_USER_PREFIX = "capcode-model-"  # the REFI user of a model's suggestions: never a person's name
ORIGIN = "capcode"                    # the origin attribute of capcode's exports
# Fixed namespace for uuid5: the same content always gets the same GUID.
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/capcode/refi-qda")


def tag(name: str, ns: str = PROJECT_NS) -> str:
    return f"{{{ns}}}{name}"


def stable_guid(*parts) -> str:
    """A GUID derived from content (uuid5), so re-exports of the same data are identical."""
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def norm_guid(guid: str) -> str:
    return guid.strip().strip("{}").lower()


_schemas = {}


def load_schema(path) -> etree.XMLSchema:
    """The XSD at `path`, compiled once per process."""
    path = Path(path)
    if path not in _schemas:
        _schemas[path] = etree.XMLSchema(etree.parse(str(path)))
    return _schemas[path]


def xml_parser() -> etree.XMLParser:
    # No entities, DTDs or network: a project file must not be able to read local files.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _short(message: str) -> str:
    """An lxml message without the namespace noise: Element '{urn:..}Code' -> Element 'Code'."""
    return re.sub(r"\{[^}]*\}", "", message).strip()


def schema_problems(tree, schema_path) -> list:
    """The schema violations of `tree` as (line, message), empty when it is valid."""
    schema = load_schema(schema_path)
    try:
        if schema.validate(tree):
            return []
    except etree.Error as exc:  # libxml2 gives up on nodes it cannot validate (e.g. unexpanded entities)
        return [(None, f"cannot be checked ({_short(str(exc))})")]
    return [(error.line, _short(error.message)) for error in schema.error_log]


def parse_xml(data: bytes, origin: str):
    """Parse XML bytes; a syntax error names `origin` and the line. A DOCTYPE is refused."""
    try:
        tree = etree.fromstring(data, xml_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise InputError(f"{where(origin, line)}: not well-formed XML ({_short(exc.msg)}); "
                         "export the project again from your QDA software.") from None
    except ValueError as exc:  # e.g. an encoding declaration lxml does not accept for bytes
        raise InputError(f"{origin}: cannot be read as XML ({exc}); export the project again.") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InputError(f"{origin}: declares a DOCTYPE; REFI-QDA exports never do, and a DOCTYPE can make an "
                         "XML reader fetch other files or expand text without end. Refused; export the project again.")
    return tree


def describe_element(element) -> str:
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
        key = norm_guid(element.get("guid"))
        if key in seen:
            first = seen[key]
            raise InputError(
                f"{where(origin, element.sourceline)}: {describe_element(element)} has GUID {element.get('guid')}, "
                f"already used by {describe_element(first)} on line {first.sourceline}; GUIDs must be unique. "
                "Export the project again, or ask the tool's support about duplicated GUIDs.")
        seen[key] = element
