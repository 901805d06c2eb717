"""The report's ch. 6 typology: each case placed by a transparent rule on shares the data give.

How much of what respondents say names the director role (regierol) itself (R), how much is on
the strategic level (S), and whether their strategic fragments mostly report a shortfall (N).
The rule is printed beside its placements (`rule_text`); thresholds and words come from
params.yaml (`aggregate.type_min_*`, `aggregate.director_terms`).
"""

import re
from typing import Sequence

from ..config import AggregateParams
from ..records import TYPES, Layout, Profile


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
