"""A codebook as records: Codebook, Dimension, Value, Condition, and its content hash.

The hash is the sha256 of the codebook's content as canonical JSON (comments and layout do not
count); models store it, so a model is never used with another codebook.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Mapping, Optional

from ..errors import CodebookError

LEVELS = ("nominal", "ordinal", "interval")


@dataclass(frozen=True)
class Value:
    """One value a dimension can take; description and examples also feed keyword baselines."""

    id: str
    label: str
    description: str = ""
    examples: tuple = ()
    descriptions: tuple = ()  # ((language, text), ...) as written; `description` is the Dutch one if given

    def text(self) -> str:
        """Label, all descriptions and examples as one text (a keyword lexicon for this value)."""
        parts = [self.label] + [t for _, t in self.descriptions] + list(self.examples)
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Condition:
    """`only_when: {dimension: value}`: the dimension is coded only when `dimension` has `value`."""

    dimension: str
    value: str

    def __str__(self) -> str:
        return f"{self.dimension} = {self.value}"


@dataclass(frozen=True)
class Dimension:
    """One coding dimension: its values (in order, which matters for ordinal ones) and its condition."""

    id: str
    label: str
    description: str
    values: tuple
    level: str = "nominal"
    condition: Optional[Condition] = None
    descriptions: tuple = ()

    @property
    def value_ids(self) -> tuple:
        return tuple(v.id for v in self.values)

    def value(self, value_id: str) -> Value:
        for value in self.values:
            if value.id == value_id:
                return value
        raise CodebookError(f"dimension '{self.id}' has no value '{value_id}'; "
                            f"its values are {', '.join(self.value_ids)}.")

    def normalize(self, raw) -> Optional[str]:
        """The value id a coder meant by `raw`, or None if it is not a value of this dimension.

        Accepts the id exactly, then the id or the label ignoring case and surrounding
        spaces, then a whole number written as a decimal ("2.0" for "2", as Excel writes it).
        """
        if raw is None:
            return None
        text = str(raw).strip()
        if text in self.value_ids:
            return text
        folded = text.casefold()
        matches = {v.id for v in self.values if folded in (v.id.casefold(), v.label.strip().casefold())}
        if len(matches) == 1:
            return matches.pop()
        try:
            number = float(text)
        except ValueError:
            return None
        if number.is_integer() and str(int(number)) in self.value_ids:
            return str(int(number))
        return None


@dataclass(frozen=True)
class Codebook:
    """A validated codebook. `hash` is the sha256 of its canonical JSON content (not of the file)."""

    name: str
    version: str
    dimensions: tuple
    hash: str = ""
    description: str = ""
    source: str = field(default="", compare=False)  # the file it was read from (not part of the hash)
    descriptions: tuple = ()

    @property
    def dimension_ids(self) -> tuple:
        return tuple(d.id for d in self.dimensions)

    def dimension(self, dimension_id: str) -> Dimension:
        for dimension in self.dimensions:
            if dimension.id == dimension_id:
                return dimension
        raise CodebookError(f"codebook '{self.name}' has no dimension '{dimension_id}'; "
                            f"its dimensions are {', '.join(self.dimension_ids)}.")

    def has_dimension(self, dimension_id: str) -> bool:
        return dimension_id in self.dimension_ids

    def value_ids(self, dimension_id: str) -> tuple:
        return self.dimension(dimension_id).value_ids

    def applies(self, dimension_id: str, codes: Mapping) -> bool:
        """Whether `dimension_id` is to be coded for a fragment with these codes ({dimension: value}).

        True without a condition. With `only_when: {d: v}` it is True only when the fragment
        has value v on d and d itself applies (conditions chain); a missing value on d counts
        as not applying, so an uncoded `relevant` never licenses `beleid_beheer`.
        """
        dimension = self.dimension(dimension_id)
        seen = set()
        while dimension.condition is not None and dimension.id not in seen:
            seen.add(dimension.id)
            condition = dimension.condition
            if codes.get(condition.dimension) != condition.value:
                return False
            dimension = self.dimension(condition.dimension)
        return True

    def lexicon(self, dimension_id: str) -> dict:
        """{value id: label, descriptions and examples as one text}: keywords per value of a dimension."""
        return {value.id: value.text() for value in self.dimension(dimension_id).values}

    def to_dict(self) -> dict:
        """Plain content (what the hash is computed from), e.g. for `capcode codebook show --json`."""
        return canonical_content(self.name, self.version, self.descriptions or self.description, self.dimensions)


def canonical_content(name, version, description, dimensions) -> dict:
    def text(descriptions, fallback):
        return dict(descriptions) if descriptions else fallback

    return {
        "name": name,
        "version": version,
        "description": text(description, "") if isinstance(description, tuple) else description,
        "dimensions": [
            {
                "id": d.id,
                "label": d.label,
                "description": text(d.descriptions, d.description),
                "level": d.level,
                "only_when": {d.condition.dimension: d.condition.value} if d.condition else None,
                "values": [
                    {"id": v.id, "label": v.label, "description": text(v.descriptions, v.description),
                     "examples": list(v.examples)}
                    for v in d.values
                ],
            }
            for d in dimensions
        ],
    }


def content_hash(content: dict) -> str:
    """sha256 of canonical JSON (sorted keys, no spaces, UTF-8): stable across runs and machines."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
