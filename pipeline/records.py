"""Plain records passed between stages.

Transcript and Turn (read and segmented), Fragment (what coders code), Coding (one coder's
value), Prediction (the model's suggestion) and, at the end of the chain, the Aggregate with
its per-case tables, which `pipeline.aggregate` computes and `pipeline.report` writes.
`record_maker` and `line_maker` give a unit of a transcript as a Fragment's dict and as its line
of fragments.jsonl.

Every character offset refers to the plain text of the source as
`capcode text FILE` prints it: ``plain_text[start_char:end_char] == text``.
"""

from dataclasses import asdict, dataclass, fields
from itertools import product
from json.encoder import encode_basestring
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


_NEW = object.__new__


def new_turn(source: str, index: int, speaker: str, is_interviewer: bool, start_char: int, end_char: int,
             text: str, timestamp: Optional[str] = None) -> Turn:
    """`Turn(...)` with the same fields, made three times faster (a transcript has hundreds of
    turns): a frozen dataclass's __init__ sets every field through object.__setattr__."""
    turn = _NEW(Turn)
    values = turn.__dict__
    values["source"], values["index"], values["speaker"], values["is_interviewer"] = source, index, speaker, is_interviewer
    values["start_char"], values["end_char"], values["text"], values["timestamp"] = start_char, end_char, text, timestamp
    return turn


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
        """The fields in order, as fragments.jsonl holds them (a shallow dict: every field is plain)."""
        return {name: getattr(self, name) for name in _FRAGMENT_FIELDS}

    @classmethod
    def from_dict(cls, data: dict) -> "Fragment":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


_FRAGMENT_FIELDS = tuple(f.name for f in fields(Fragment))


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


# ---- the aggregate: per-case tables (pipeline.aggregate computes, pipeline.report writes) ----

HUMAN = "human"
MODEL = "model"
PENDING = "te beoordelen"
ALL_CASES = "Alle cases"

# The three types of the report's ch. 6.2 (strategic capacity for the director role).
TYPES = {
    1: "geen expliciete strategische keuze voor integratiebeleid",
    2: "strategische keuze, zwaartepunt op operationeel niveau",
    3: "strategische visie op de regierol zelf",
}


@dataclass(frozen=True)
class DimensionSpec:
    """One dimension as the aggregate needs it: id, label and ordered values."""

    id: str
    label: str
    values: tuple
    value_labels: tuple = ()

    def value_label(self, value: str) -> str:
        labels = dict(zip(self.values, self.value_labels or self.values))
        return labels.get(value, value)


@dataclass(frozen=True)
class Layout:
    """Which dimension makes the tables, the columns and the rows of a case's tables."""

    tables: Optional[DimensionSpec]
    columns: Optional[DimensionSpec]
    rows: DimensionSpec

    @property
    def dimensions(self) -> tuple:
        """The cell dimensions in params order (niveau, locus, domein), absent ones left out."""
        return tuple(d for d in (self.tables, self.columns, self.rows) if d is not None)

    def cells(self) -> list:
        """Every cell as a tuple of values, tables outermost, rows innermost."""
        return list(product(*(d.values for d in self.dimensions)))

    def cell_name(self, cell: tuple) -> str:
        return " / ".join(cell)


@dataclass(frozen=True)
class Quote:
    """A short quote that shows what a cell is about."""

    fragment_id: str
    respondent: str
    role: str
    text: str
    confidence: float
    origin: str
    negatief: Optional[bool] = None


@dataclass(frozen=True)
class CellStats:
    """Counts for one cell of one case (or of all cases)."""

    cell: tuple
    n: int
    share: Optional[float]           # of the relevant fragments placed in a cell, in this case
    n_negatief: int
    n_impact: int                    # fragments in the cell with a known impact value
    n_human: int
    n_model: int
    quotes: tuple = ()

    @property
    def share_negatief(self) -> Optional[float]:
        return self.n_negatief / self.n_impact if self.n_impact else None


@dataclass(frozen=True)
class Profile:
    """A case's strategic/operational profile and the ch. 6 type the rule gives it."""

    n_relevant: int                  # relevant fragments placed in a cell
    n_strategic: int                 # of which on the strategic level
    n_strategic_negatief: int        # strategic fragments coded as weakening the capacity
    n_director: int                  # relevant fragments that name the director role itself
    type_id: int
    reason: str

    @property
    def share_strategic(self) -> Optional[float]:
        """S: how much of what is said is about the strategic level."""
        return self.n_strategic / self.n_relevant if self.n_relevant else None

    @property
    def share_director(self) -> Optional[float]:
        """R: how much of what is said names the director role itself."""
        return self.n_director / self.n_relevant if self.n_relevant else None

    @property
    def share_shortfall(self) -> Optional[float]:
        """N: how much of the strategic talk reports a shortfall (negatief)."""
        return self.n_strategic_negatief / self.n_strategic if self.n_strategic else None

    @property
    def type_label(self) -> str:
        return TYPES[self.type_id]


@dataclass(frozen=True)
class CaseAggregate:
    """Everything the reports show for one case (or for all cases together)."""

    case: str
    cells: tuple                     # CellStats in layout order
    n_fragments: int
    n_relevant: int                  # placed in a cell
    n_not_relevant: int
    n_pending_human: int             # relevant or unsure, but coders tied or left a dimension open
    n_pending_model: int             # the model abstained on a dimension that is needed
    n_uncoded: int                   # neither coded nor predicted
    by_role: tuple = ()              # (role, tuple of cell counts in layout order, n_human, n_model)
    profile: Optional[Profile] = None

    @property
    def n_pending(self) -> int:
        return self.n_pending_human + self.n_pending_model

    @property
    def n_human(self) -> int:
        return sum(c.n_human for c in self.cells)

    @property
    def n_model(self) -> int:
        return sum(c.n_model for c in self.cells)

    def cell(self, cell: tuple) -> CellStats:
        for stats in self.cells:
            if stats.cell == tuple(cell):
                return stats
        raise KeyError(cell)


@dataclass(frozen=True)
class Aggregate:
    """The result of `aggregate`: per case, all cases together, and the rule used."""

    layout: Layout
    cases: tuple                     # CaseAggregate per case, in natural order
    total: CaseAggregate
    impact: Optional[DimensionSpec]
    rule: Optional[str]              # the typology rule in words, None when it does not apply
    sources: tuple = ()              # "codings", "predictions"
    codebook: str = ""


# ---- a unit's record and its line of fragments.jsonl ------------------------------------------

def record_maker(transcript: Transcript):
    """A function making the record of one unit of `transcript`: a dict of a Fragment's fields, in order."""
    info, text = transcript.info, transcript.text
    source, case, respondent, role = info.source, info.case, info.respondent, info.role

    def record(turn, context, start, end, words):
        return {"id": f"{source}#{start}-{end}", "source": source, "case": case, "respondent": respondent,
                "role": role, "speaker": turn.speaker, "turn": turn.index, "start_char": start, "end_char": end,
                "text": text[start:end], "context": context, "n_words": words}

    return record


def line_maker(transcript: Transcript):
    """A function making the line of fragments.jsonl of one unit of `transcript`: the bytes
    json.dumps(record, ensure_ascii=False) gives for record_maker's dict (tests/test_units.py
    compares both), from a template and the C string encoder of the json module, twice as fast."""
    info, text, quoted = transcript.info, transcript.text, encode_basestring
    head = (f'{{"id": "", "source": {quoted(info.source)}, "case": {quoted(info.case)}, '
            f'"respondent": {quoted(info.respondent)}, "role": {quoted(info.role)}, "speaker": ').split('""', 1)
    before_id, after_id = head[0], head[1]
    id_head = quoted(info.source)[:-1] + "#"  # the id's quoted text: '#', digits and '-' need no escaping

    def line(turn, context, start, end, words):
        return (f'{before_id}{id_head}{start}-{end}"{after_id}{quoted(turn.speaker)}, "turn": {turn.index}, '
                f'"start_char": {start}, "end_char": {end}, "text": {quoted(text[start:end])}, '
                f'"context": {quoted(context)}, "n_words": {words}}}\n')

    return line
