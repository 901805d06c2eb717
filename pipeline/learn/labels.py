"""One training label per fragment and dimension, from one or more coders.

Several coders: every fragment and dimension gets one label, chosen by `train.disagreements`:
  - ``majority``: the value most coders gave; a tie (e.g. one coder each way) is left out;
  - ``agreed``: only units on which every coder who coded them agrees.
A unit coded by a single coder counts under both rules. A conditional dimension
(`only_when: {relevant: ja}`) keeps only fragments whose agreed codes meet the condition.
"""

import collections
import hashlib
import json
import logging
from dataclasses import dataclass

from ..errors import ConfigError, InputError

log = logging.getLogger("capcode")

DISAGREEMENT_RULES = ("majority", "agreed")


@dataclass(frozen=True)
class DimensionData:
    """The training examples of one dimension: fragments and their agreed labels."""

    dimension: str
    fragments: tuple
    labels: tuple

    def counts(self) -> dict:
        return dict(sorted(collections.Counter(self.labels).items()))


def agreed_labels(codings, rule: str = "majority") -> dict:
    """{(fragment_id, dimension): value}: one label per unit from all coders, by `rule`."""
    if rule not in DISAGREEMENT_RULES:
        raise ConfigError(f"train.disagreements: unknown rule {rule!r}; use 'majority' or 'agreed'.")
    votes = collections.defaultdict(dict)
    for coding in codings:
        votes[(coding.fragment_id, coding.dimension)][coding.coder] = coding.value
    labels = {}
    for unit, by_coder in votes.items():
        counts = collections.Counter(by_coder.values()).most_common()
        if rule == "agreed":
            if len(counts) == 1:
                labels[unit] = counts[0][0]
        elif len(counts) == 1 or counts[0][1] > counts[1][1]:
            labels[unit] = counts[0][0]
    return labels


def training_data(fragments, codings, codebook, rule: str = "majority") -> dict:
    """{dimension: DimensionData} for every codebook dimension that has coded fragments.

    Conditional dimensions keep only fragments where the condition holds in the
    agreed labels; codings of fragments missing from `fragments` are left out (with a warning).
    """
    by_id = {f.id: f for f in fragments}
    labels = agreed_labels(codings, rule)
    codes = collections.defaultdict(dict)
    unknown = set()
    for (fragment_id, dimension), value in labels.items():
        if fragment_id not in by_id:
            unknown.add(fragment_id)
            continue
        codes[fragment_id][dimension] = value
    if unknown:
        log.warning("%d coded fragment(s) are not in the fragments file and are left out.", len(unknown))
    data = {}
    for dimension in codebook.dimensions:
        chosen = [(by_id[fid], c[dimension.id]) for fid, c in codes.items()
                  if dimension.id in c and codebook.applies(dimension.id, c)]
        chosen.sort(key=lambda pair: pair[0].id)
        if chosen:
            data[dimension.id] = DimensionData(dimension.id, tuple(f for f, _ in chosen), tuple(v for _, v in chosen))
    if not data:
        raise InputError("no coded fragment matches the fragments file: the codings must use the fragment ids "
                         "written by 'capcode segment' for these transcripts.")
    return data


def data_hash(data: dict) -> str:
    """sha256 over the training units (fragment id, text, context, dimension, label), order-independent."""
    digest = hashlib.sha256()
    for dimension in sorted(data):
        for fragment, label in sorted(zip(data[dimension].fragments, data[dimension].labels), key=lambda p: p[0].id):
            digest.update(json.dumps([dimension, fragment.id, fragment.text, fragment.context, label],
                                     ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def used_fragments(data: dict) -> list:
    """Every fragment that any dimension trains on, once, sorted by id."""
    return sorted({f.id: f for item in data.values() for f in item.fragments}.values(), key=lambda f: f.id)
