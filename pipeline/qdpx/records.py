"""What capcode takes from a REFI-QDA project: users, the code tree, text sources and selections.

Offsets in these records are as the tool wrote them; `offsets.py` decides how the tool counted
and turns them into SpanCoding records in code points of capcode's text.
"""

from dataclasses import dataclass, field
from typing import Optional


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
