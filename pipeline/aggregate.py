"""Per-case aggregates: the report's capacity tables from coded and predicted fragments.

The core is pure: `merge_sources` decides, per fragment, which value counts on
each dimension (a human code always wins over a model prediction; an abstained
prediction is "te beoordelen", never a label), and `aggregate` cross-tabulates
the dimensions named in `AggregateParams` per case, per respondent role and
across cases. With the default codebook that gives the report's layout: two
tables (strategische / operationele capaciteit), columns intern / extern, rows
beleidscapaciteit / beheerscapaciteit. With another codebook the same code
cross-tabulates whatever dimensions params.yaml names.

Each case is also placed against the three types of the report's ch. 6 by a
transparent rule on shares the data give (see `place_case` and `rule_text`):
how much of what respondents say names the director role (regierol) itself,
and whether their strategic fragments mostly report a shortfall.

`run_aggregate` is the edge: it reads the files and hands the result to
`pipeline.report`, which writes summary.md, report.html, aggregates.xlsx,
aggregates.csv and the PNGs.
"""

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Optional, Sequence

from .config import AggregateParams
from .errors import CodebookError, ConfigError, InputError, where
from .records import Coding, Fragment, Prediction

log = logging.getLogger("capcode")

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


# ---- records ---------------------------------------------------------------

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
class Resolved:
    """One fragment with the values that count: from humans, or else from the model."""

    fragment: Fragment
    origin: str                      # HUMAN or MODEL
    values: tuple                    # (dimension, value) pairs that are settled
    pending: tuple = ()              # dimensions left 'te beoordelen' (abstained or coders tied)
    confidence: float = 1.0          # humans count as 1.0; the model its lowest probability used

    def value(self, dimension: str) -> Optional[str]:
        return dict(self.values).get(dimension)


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


# ---- dimensions ------------------------------------------------------------

def specs_from_codebook(codebook) -> dict:
    """DimensionSpec per dimension id from a codebook object (see pipeline.codebook)."""
    specs = {}
    for dim in codebook.dimensions:
        values = tuple(v.id for v in dim.values)
        labels = tuple(getattr(v, "label", None) or v.id for v in dim.values)
        specs[dim.id] = DimensionSpec(dim.id, getattr(dim, "label", None) or dim.id, values, labels)
    return specs


def specs_from_data(resolved: Sequence[Resolved]) -> dict:
    """DimensionSpec per dimension inferred from the values seen, when no codebook is at hand."""
    seen = defaultdict(set)
    for item in resolved:
        for dimension, value in item.values:
            seen[dimension].add(value)
    return {dim: DimensionSpec(dim, dim, tuple(sorted(values))) for dim, values in seen.items()}


def build_layout(specs: dict, params: AggregateParams, origin: str = "params.yaml") -> Layout:
    """The tables/columns/rows layout from the dimensions params names (empty names are left out)."""
    named = [(key, getattr(params, key)) for key in ("niveau", "locus", "domein")]
    chosen = []
    for key, dim in named:
        if not dim:
            continue
        if dim not in specs:
            known = ", ".join(sorted(specs)) or "none"
            raise CodebookError(f"{origin}: aggregate.{key} names dimension '{dim}', which the codebook does not have "
                                f"(it has: {known}); set aggregate.{key} to one of those, or to '' to leave it out.")
        chosen.append(specs[dim])
    if not chosen:
        raise ConfigError(f"{origin}: aggregate.niveau, aggregate.locus and aggregate.domein are all empty; "
                          "name at least one dimension to cross-tabulate.")
    if len(chosen) == 1:
        return Layout(None, None, chosen[0])
    if len(chosen) == 2:
        return Layout(None, chosen[0], chosen[1])
    return Layout(chosen[0], chosen[1], chosen[2])


# ---- merging human codes and predictions ----------------------------------

def consensus(values: Sequence[str]) -> Optional[str]:
    """The value most coders gave; None when the top values tie (then it is 'te beoordelen')."""
    counts = Counter(values).most_common()
    if not counts:
        return None
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0]


def merge_sources(fragments: Sequence[Fragment], codings: Sequence[Coding] = (),
                  predictions: Sequence[Prediction] = ()) -> tuple:
    """Resolve every fragment to the values that count.

    Returns (merged, uncoded): `merged` holds (Resolved, probabilities per dimension)
    pairs, `uncoded` the fragments that are neither coded nor predicted. A fragment
    that any human coded takes all its values from the humans (majority of coders per
    dimension; a tie leaves that dimension 'te beoordelen'). Only fragments no human
    coded take the model's predictions; an abstained prediction leaves its dimension
    'te beoordelen' and never counts as the label it leaned to.
    """
    human = defaultdict(lambda: defaultdict(list))
    for coding in codings:
        if coding.value not in (None, ""):
            human[coding.fragment_id][coding.dimension].append(coding.value)
    model = defaultdict(dict)
    for prediction in predictions:
        model[prediction.fragment_id][prediction.dimension] = prediction
    merged, uncoded = [], []
    for fragment in fragments:
        if fragment.id in human:
            values, pending = [], []
            for dimension, given in human[fragment.id].items():
                value = consensus(given)
                if value is None:
                    pending.append(dimension)
                else:
                    values.append((dimension, value))
            merged.append((Resolved(fragment, HUMAN, tuple(values), tuple(pending), 1.0), {}))
        elif fragment.id in model:
            values, pending, probabilities = [], [], {}
            for dimension, prediction in model[fragment.id].items():
                if prediction.abstained:
                    pending.append(dimension)
                else:
                    values.append((dimension, prediction.value))
                    probabilities[dimension] = float(prediction.probability)
            confidence = min(probabilities.values()) if probabilities else 0.0
            merged.append((Resolved(fragment, MODEL, tuple(values), tuple(pending), confidence), probabilities))
        else:
            uncoded.append(fragment)
    return merged, uncoded


# ---- placing a fragment ----------------------------------------------------

@dataclass(frozen=True)
class Placement:
    """Where one resolved fragment lands: a cell, not relevant, or 'te beoordelen'."""

    status: str                      # "cell", "not relevant", PENDING
    cell: tuple = ()
    negatief: Optional[bool] = None  # None when impact is unknown
    confidence: float = 1.0


def place(item: Resolved, probabilities: dict, layout: Layout, params: AggregateParams) -> Placement:
    """Decide the cell of a fragment; anything unsettled that is needed makes it 'te beoordelen'."""
    values = dict(item.values)
    needed = [params.relevance] if params.relevance else []
    if params.relevance:
        relevance = values.get(params.relevance)
        if relevance is None:
            return Placement(PENDING)
        if relevance != params.relevant_value:
            return Placement("not relevant")
    cell = []
    for spec in layout.dimensions:
        value = values.get(spec.id)
        if value is None:
            return Placement(PENDING)
        if value not in spec.values:
            raise CodebookError(f"fragment {item.fragment.id}: '{value}' is not a value of '{spec.id}' "
                                f"({', '.join(spec.values)}); were the {'codes' if item.origin == HUMAN else 'predictions'} "
                                "made with another codebook? Give the matching --codebook.")
        cell.append(value)
        needed.append(spec.id)
    negatief = None
    impact = values.get(params.impact) if params.impact else None
    if impact is not None:
        negatief = impact == params.negative_value
    confidence = 1.0 if item.origin == HUMAN else min((probabilities.get(d, 0.0) for d in needed), default=0.0)
    return Placement("cell", tuple(cell), negatief, confidence)


# ---- quotes ----------------------------------------------------------------

def shorten(text: str, max_words: int) -> str:
    """A short quote: whole sentences up to `max_words` words, else the first words and '(…)'."""
    words = " ".join(text.split()).split(" ")
    if len(words) <= max_words:
        return " ".join(words)
    head = " ".join(words[:max_words])
    end = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
    if end >= len(head) // 3:
        return head[: end + 1] + " (…)"
    return head.rstrip(",;:") + " (…)"


def pick_quotes(candidates: Sequence[tuple], how_many: int, max_words: int) -> tuple:
    """The most typical fragments of a cell: highest confidence first, each from another respondent.

    `candidates` are (Resolved, Placement) pairs. Ties go to fragments near 35 words
    (the report's median quote), then to the fragment id, so the pick is stable.
    """
    ordered = sorted(candidates, key=lambda c: (-c[1].confidence, abs(c[0].fragment.n_words - 35), c[0].fragment.id))
    chosen, respondents = [], set()
    for item, placement in ordered:
        who = (item.fragment.case, item.fragment.respondent)
        if who in respondents:
            continue
        respondents.add(who)
        chosen.append(Quote(item.fragment.id, item.fragment.respondent, item.fragment.role,
                            shorten(item.fragment.text, max_words), round(placement.confidence, 3), item.origin,
                            placement.negatief))
        if len(chosen) == how_many:
            break
    return tuple(chosen)


# ---- the typology of ch. 6 -------------------------------------------------

def director_pattern(terms: Sequence[str]):
    """A regex that finds a word starting with any of `terms` (regie, regisseur, transversa...)."""
    if not terms:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\w*", re.IGNORECASE)


def rule_text(params: AggregateParams) -> str:
    """The placing rule in words, printed beside the placements.

    Grounded in ch. 6.2 of the report: type 3 cases have a strategic vision on the
    director role itself (and work on transversal cooperation), so respondents talk
    about the regierol; type 2 cases chose an integration policy but experience a
    lack of involvement of strategic management, so their strategic fragments mostly
    report a shortfall; type 1 cases chose not to have an explicit policy, so their
    strategic talk is descriptive or positive about the broader social policy.
    """
    terms = ", ".join(f"{t}…" for t in params.director_terms)
    return (f"R = share of relevant fragments that name the director role itself ({terms}); "
            f"S = share '{params.strategic_value}'; N = share '{params.negative_value}' among the strategic "
            f"fragments. Type 3 ({TYPES[3]}) when S ≥ {params.type_min_strategic:.2f} and "
            f"R ≥ {params.type_min_director:.2f}; else type 2 ({TYPES[2]}) when S ≥ {params.type_min_strategic:.2f} "
            f"and N > {params.type_min_shortfall:.2f}; otherwise type 1 ({TYPES[1]}).")


def place_case(n_relevant: int, n_strategic: int, n_strategic_negatief: int, n_director: int,
               params: AggregateParams) -> Profile:
    """Place one case against the ch. 6 types by the rule of `rule_text`."""
    s = n_strategic / n_relevant if n_relevant else 0.0
    r = n_director / n_relevant if n_relevant else 0.0
    n = n_strategic_negatief / n_strategic if n_strategic else 0.0
    min_s, min_r, min_n = params.type_min_strategic, params.type_min_director, params.type_min_shortfall
    if not n_relevant:  # say so, rather than show S = 0.00 as if it had been measured
        type_id, reason = 1, "no relevant fragments in a cell: S, R and N unknown; type 1 only by default"
    elif s < min_s:
        type_id, reason = 1, f"S = {s:.2f} < {min_s:.2f}"
    elif r >= min_r:
        type_id, reason = 3, f"R = {r:.2f} ≥ {min_r:.2f}"
    elif n > min_n:
        type_id, reason = 2, f"R = {r:.2f} < {min_r:.2f}, N = {n:.2f} > {min_n:.2f}"
    else:
        type_id, reason = 1, f"R = {r:.2f} < {min_r:.2f}, N = {n:.2f} ≤ {min_n:.2f}"
    return Profile(n_relevant, n_strategic, n_strategic_negatief, n_director, type_id, reason)


def typology_applies(layout: Layout, params: AggregateParams) -> bool:
    """The ch. 6 typology needs a niveau dimension with the strategic value, and an impact dimension."""
    return bool(params.impact) and any(d.id == params.niveau and params.strategic_value in d.values
                                       for d in layout.dimensions)


# ---- aggregation -----------------------------------------------------------

def natural_key(text: str):
    """Sort 'Case 2' before 'Case 10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", str(text))]


def aggregate_case(case: str, placed: Sequence[tuple], layout: Layout, params: AggregateParams,
                   n_uncoded: int = 0) -> CaseAggregate:
    """Counts, shares, quotes, roles and profile for one case from (Resolved, Placement) pairs."""
    in_cells = [(item, p) for item, p in placed if p.status == "cell"]
    n_relevant = len(in_cells)
    by_cell = defaultdict(list)
    for item, p in in_cells:
        by_cell[p.cell].append((item, p))
    cells = []
    for cell in layout.cells():
        members = by_cell.get(cell, [])
        n = len(members)
        cells.append(CellStats(
            cell=cell, n=n, share=(n / n_relevant) if n_relevant else None,
            n_negatief=sum(1 for _, p in members if p.negatief),
            n_impact=sum(1 for _, p in members if p.negatief is not None),
            n_human=sum(1 for item, _ in members if item.origin == HUMAN),
            n_model=sum(1 for item, _ in members if item.origin == MODEL),
            quotes=pick_quotes(members, params.quotes, params.quote_words)))
    pending = [item for item, p in placed if p.status == PENDING]
    return CaseAggregate(
        case=case, cells=tuple(cells), n_fragments=len(placed) + n_uncoded, n_relevant=n_relevant,
        n_not_relevant=sum(1 for _, p in placed if p.status == "not relevant"),
        n_pending_human=sum(1 for item in pending if item.origin == HUMAN),
        n_pending_model=sum(1 for item in pending if item.origin == MODEL),
        n_uncoded=n_uncoded, by_role=_by_role(in_cells, layout),
        profile=_profile(in_cells, layout, params))


def _by_role(in_cells: Sequence[tuple], layout: Layout) -> tuple:
    roles = sorted({item.fragment.role for item, _ in in_cells}, key=natural_key)
    rows = []
    for role in roles:
        members = [(item, p) for item, p in in_cells if item.fragment.role == role]
        counts = Counter(p.cell for _, p in members)
        rows.append((role, tuple(counts.get(cell, 0) for cell in layout.cells()),
                     sum(1 for item, _ in members if item.origin == HUMAN),
                     sum(1 for item, _ in members if item.origin == MODEL)))
    return tuple(rows)


def _profile(in_cells: Sequence[tuple], layout: Layout, params: AggregateParams) -> Optional[Profile]:
    if not typology_applies(layout, params):
        return None
    index = [d.id for d in layout.dimensions].index(params.niveau)
    strategic = [(item, p) for item, p in in_cells if p.cell[index] == params.strategic_value]
    pattern = director_pattern(params.director_terms)
    n_director = sum(1 for item, _ in in_cells if pattern and pattern.search(item.fragment.text))
    return place_case(len(in_cells), len(strategic), sum(1 for _, p in strategic if p.negatief), n_director, params)


def aggregate(fragments: Sequence[Fragment], codings: Sequence[Coding] = (),
              predictions: Sequence[Prediction] = (), params: AggregateParams = AggregateParams(),
              specs: Optional[dict] = None, codebook_name: str = "") -> Aggregate:
    """Merge codes and predictions and cross-tabulate them per case and across cases.

    `specs` maps dimension ids to DimensionSpec (from the codebook, which fixes the
    order of values in the tables); without it the values seen in the data are used.
    """
    merged, uncoded = merge_sources(fragments, codings, predictions)
    resolved = [item for item, _ in merged]
    specs = specs if specs is not None else specs_from_data(resolved)
    layout = build_layout(specs, params)
    placed_by_case = defaultdict(list)
    for item, probabilities in merged:
        placed_by_case[item.fragment.case].append((item, place(item, probabilities, layout, params)))
    uncoded_by_case = Counter(f.case for f in uncoded)
    cases = sorted(set(placed_by_case) | set(uncoded_by_case), key=natural_key)
    per_case = tuple(aggregate_case(case, placed_by_case.get(case, []), layout, params, uncoded_by_case[case])
                     for case in cases)
    everything = [pair for case in cases for pair in placed_by_case.get(case, [])]
    total = aggregate_case(ALL_CASES, everything, layout, params, len(uncoded))
    sources = tuple(name for name, given in (("codings", codings), ("predictions", predictions)) if given)
    impact = specs.get(params.impact) if params.impact else None
    rule = rule_text(params) if typology_applies(layout, params) else None
    return Aggregate(layout, per_case, total, impact, rule, sources, codebook_name)


# ---- comparing with the report's own tables --------------------------------

@dataclass(frozen=True)
class ReportItem:
    """One item of the report's per-case tables (data/sample/report_tables.csv)."""

    case: str
    cell: tuple
    item: str
    negatief: bool = False


def match_value(text: str, spec: DimensionSpec) -> Optional[str]:
    """Map a table heading ('Strategische capaciteit', 'Beheerscapaciteit', 'intern') to a value id."""
    text = " ".join(str(text).lower().split())
    for value, label in zip(spec.values, spec.value_labels or spec.values):
        if text in (value.lower(), str(label).lower()):
            return value
    for value in spec.values:
        stem = value.lower()[:6]
        if stem and text.startswith(stem):
            return value
    return None


def read_report_tables(path, layout: Layout) -> list:
    """Read case,table,column,row,item (optional negatief) into ReportItems matched to the layout."""
    from .files import read_table

    header, rows = read_table(path)
    wanted = {"case", "item"}
    missing = sorted(wanted - set(header))
    if missing:
        raise InputError(f"{path}: missing column {', '.join(missing)}; expected case,table,column,row,item.")
    keys = {"tables": "table", "columns": "column", "rows": "row"}
    items = []
    # read_table keeps the line number under 'row', which this file's own 'row' column overwrites
    for line, row in enumerate(rows, start=2):
        cell = []
        for attr, column in keys.items():
            spec = getattr(layout, attr)
            if spec is None:
                continue
            value = match_value(row.get(column, ""), spec)
            if value is None:
                raise InputError(f"{where(path, line, column)}: '{row.get(column, '')}' matches no value of "
                                 f"'{spec.id}' ({', '.join(spec.values)}).")
            cell.append(value)
        flag = next((str(row[k]) for k in ("weakening", "negatief", "negative", "italic") if k in row), "")
        flag = flag.strip().lower()
        items.append(ReportItem(str(row["case"]), tuple(cell), str(row["item"]),
                                flag in ("1", "true", "ja", "yes", "negatief", "x")))
    return items


def compare_with_report(result: Aggregate, items: Sequence[ReportItem]) -> list:
    """Per case and cell: the report's items beside the computed n, and whether they agree.

    Agreement is read at the level the report allows: a cell the report fills should
    have fragments, and an empty report cell should have few. Returns rows of
    (case, cell, report items, CellStats, verdict).
    """
    by_cell = defaultdict(list)
    for item in items:
        by_cell[(item.case, item.cell)].append(item)
    rows = []
    for case in result.cases:
        for stats in case.cells:
            listed = by_cell.get((case.case, stats.cell), [])
            if listed and stats.n:
                verdict = "beide"
            elif listed:
                verdict = "alleen rapport"
            elif stats.n:
                verdict = "alleen data"
            else:
                verdict = "beide leeg"
            rows.append((case.case, stats.cell, tuple(listed), stats, verdict))
    return rows


def read_case_types(path) -> dict:
    """{case: type} from a cases table with columns case and type (and optional name, also a key).

    The type column holds how the report itself places each case (1, 2 or 3 of ch. 6);
    it is only set beside the rule's placement, never used to make it.
    """
    from .files import read_table

    header, rows = read_table(path)
    if "case" not in header or "type" not in header:
        raise InputError(f"{path}: a cases table needs columns 'case' and 'type' (the report's ch. 6 type, "
                         f"1, 2 or 3) to be compared; it has {', '.join(header)}.")
    types = {}
    for line, row in enumerate(rows, start=2):
        raw = str(row.get("type", "")).strip()
        if not raw:
            continue
        try:
            number = int(float(raw))
        except ValueError:
            number = 0
        if number not in TYPES:
            raise InputError(f"{where(path, line, 'type')}: '{raw}' is not a ch. 6 type; use 1, 2 or 3 "
                             "or leave it empty.")
        for key in (row.get("case"), row.get("name")):
            if key:
                types[str(key)] = number
    return types


# ---- reading and writing at the edge ---------------------------------------

def run_aggregate(fragments_path, out_dir, codings_paths: Sequence = (), predictions_path=None,
                  codebook="default", params: AggregateParams = AggregateParams(), report_tables=None,
                  cases=None) -> Aggregate:
    """Read fragments, codings and/or predictions; aggregate; write every report into `out_dir`.

    `codebook` (a name or a path) fixes the dimensions and the order of values in the
    tables; None infers both from the data. `report_tables` (case,table,column,row,item)
    and `cases` (case,type) hold a report's own tables and ch. 6 types, set beside the
    computed ones in summary.md and report.html.
    """
    from . import report
    from .files import read_fragments, read_predictions

    if not codings_paths and predictions_path is None:
        raise ConfigError("give --codings, --predictions or both: there is nothing to aggregate.")
    fragments = list(read_fragments(fragments_path))
    if not fragments:
        raise InputError(f"{fragments_path}: no fragments; make them with 'capcode segment'.")
    specs, codebook_name, loaded = None, "", None
    if codebook is not None:
        from .codebook import load_codebook

        loaded = load_codebook(codebook)
        specs, codebook_name = specs_from_codebook(loaded), f"{loaded.name} {loaded.version}".strip()
    codings = []
    if codings_paths:
        from .codings import human_codings, read_codings

        codings = human_codings(read_codings(list(codings_paths), codebook=loaded, fragments=fragments))
    predictions = read_predictions(predictions_path) if predictions_path is not None else []
    known = {f.id for f in fragments}
    _check_ids(codings, known, "codings", codings_paths)
    _check_ids(predictions, known, "predictions", [predictions_path] if predictions_path else [])
    result = aggregate(fragments, codings, predictions, params, specs, codebook_name)
    items = read_report_tables(report_tables, result.layout) if report_tables else None
    comparison = compare_with_report(result, items) if items is not None else None
    report_types = read_case_types(cases) if cases else {}
    report.write_reports(result, Path(out_dir), comparison=comparison, params=params, report_types=report_types)
    log.info("aggregate: %d cases, %d relevant fragments placed, %d te beoordelen; reports in %s",
             len(result.cases), result.total.n_relevant, result.total.n_pending, out_dir)
    return result


def _check_ids(records, known: set, what: str, paths) -> None:
    """Codes or predictions for fragments not in the fragments file point at a mix-up.

    None matching is an error (wrong file); some not matching is a warning, since
    fragments re-segmented with other settings legitimately lose a few codes.
    """
    ids = {r.fragment_id for r in records}
    unknown = sorted(ids - known)
    if not unknown:
        return
    names = ", ".join(str(p) for p in paths)
    hint = "segment with the settings the codes were made on, or code in span form (source,start_char,end_char)"
    if len(unknown) == len(ids):
        raise InputError(f"{names}: none of the {what} refer to a fragment in the fragments file "
                         f"(first: {unknown[0]}); {hint}.")
    log.warning("%s: %d of %d fragments in the %s are not in the fragments file and are left out; %s.",
                names, len(unknown), len(ids), what, hint)
