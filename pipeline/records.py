"""Plain records passed between stages.

Every character offset refers to the plain text of the source as
`capcode text FILE` prints it: ``plain_text[start_char:end_char] == text``.
"""

from dataclasses import asdict, dataclass, fields
from typing import Optional

UNKNOWN = "onbekend"
ROLES = ("ambtelijk", "politiek", "extern", "onbekend")


@dataclass(frozen=True)
class SourceInfo:
    """Who a transcript belongs to: case (municipality), respondent and role."""

    source: str
    case: str = UNKNOWN
    respondent: str = UNKNOWN
    role: str = UNKNOWN


@dataclass(frozen=True)
class Turn:
    """One speaker turn in a transcript, with its exact span in the plain text."""

    source: str
    index: int
    speaker: str
    is_interviewer: bool
    start_char: int
    end_char: int
    text: str
    timestamp: Optional[str] = None


@dataclass(frozen=True)
class Transcript:
    """A source read into plain text, its turns and its metadata."""

    info: SourceInfo
    text: str
    turns: tuple = ()

    @property
    def source(self) -> str:
        return self.info.source


@dataclass(frozen=True)
class Fragment:
    """A codable unit (turn, sentence or fragment), as written by `capcode segment`."""

    id: str
    source: str
    case: str
    respondent: str
    role: str
    speaker: str
    turn: int
    start_char: int
    end_char: int
    text: str
    context: str = ""
    n_words: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Fragment":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Coding:
    """One coder's value for one fragment on one dimension."""

    fragment_id: str
    coder: str
    dimension: str
    value: str


@dataclass(frozen=True)
class Prediction:
    """A model's suggested value for one fragment on one dimension."""

    fragment_id: str
    dimension: str
    value: str
    probability: float
    runner_up: Optional[str] = None
    runner_up_probability: Optional[float] = None
    abstained: bool = False
    model: str = ""
    in_training: bool = False  # the model was trained on this fragment: not a fair test of it

    def to_dict(self) -> dict:
        return asdict(self)
