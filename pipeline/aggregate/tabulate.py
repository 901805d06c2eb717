"""The pure core of the aggregate: which value counts for each fragment, its cell, the counts per case.

`merge_sources` decides, per fragment, which value counts on each dimension (a human code always
wins over a model prediction; an abstained prediction is "te beoordelen", never a label), `place`
puts a fragment in a cell, and `aggregate` cross-tabulates the dimensions named in
`AggregateParams` per case, per respondent role and across cases, with a few typical quotes per
cell. With the default codebook that gives the report's layout: two tables (strategische /
operationele capaciteit), columns intern / extern, rows beleidscapaciteit / beheerscapaciteit.
With another codebook the same code cross-tabulates whatever dimensions params.yaml names.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Optional, Sequence

from ..config import AggregateParams
from ..errors import CodebookError, ConfigError
from ..records import (ALL_CASES, HUMAN, MODEL, PENDING, Aggregate, CaseAggregate, CellStats, Coding, DimensionSpec,
                       Fragment, Layout, Prediction, Profile, Quote)
from .typology import director_pattern, place_case, rule_text, typology_applies


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
