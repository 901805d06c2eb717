"""Codes and the codebook, both ways: a project's codes as dimension values, the codebook as a code tree.

Import: a code means `dimension = value` when it sits under a code named after the dimension
(`impact` > `negatief`, any depth above) or is named `dimension: value`; a mapping file
(`read_mapping`) names the others; codes under `te beoordelen` are capcode's own review marks.
Export: one code per dimension (not codable, one colour each) with its values below it, and a
grey `te beoordelen` code for abstained suggestions; GUIDs derive from the codebook, so the codes
of `export-qdc` and `export-qdpx` are the same codes.
"""

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from lxml import etree

from ..errors import CodebookError, InputError, where
from ..files import read_table
from .records import QdaCode
from .schema import PROJECT_NS, stable_guid, tag

REVIEW_CODE = "te beoordelen"  # capcode's review marks: abstained suggestions, not codes
# One colour per dimension (colour-blind friendly, Okabe-Ito), grey for `te beoordelen`.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#882255", "#44AA99", "#117733")
REVIEW_COLOUR = "#999999"


@dataclass(frozen=True)
class CodeMapping:
    """What a code means for capcode: a dimension and value, or why it has none."""

    dimension: str = ""
    value: str = ""
    status: str = "mapped"  # mapped | unmapped | ignored | review
    reason: str = ""


def _find_dimension(codebook, text: str):
    folded = text.strip().casefold()
    for dimension in codebook.dimensions:
        if folded in (dimension.id.casefold(), dimension.label.strip().casefold()):
            return dimension
    return None


def _map_pair(codebook, dimension_text: str, value_text: str):
    dimension = _find_dimension(codebook, dimension_text)
    if dimension is None:
        return None, f"'{dimension_text.strip()}' is not a dimension of codebook '{codebook.name}'"
    value = dimension.normalize(value_text)
    if value is None:
        return None, (f"'{value_text.strip()}' is not a value of dimension '{dimension.id}' "
                      f"({', '.join(dimension.value_ids)})")
    return CodeMapping(dimension.id, value), ""


def _path_key(text: str) -> str:
    return "/".join(part.strip().casefold() for part in re.split(r"\s*[/\\>]\s*", text.strip()) if part.strip())


def read_mapping(path, codebook) -> dict:
    """A mapping file (csv/xlsx/jsonl: code, dimension, value) as {key: CodeMapping}.

    `code` is the code's path in the tree ('Thema's/Strategie'), its name, or its GUID.
    A row with empty dimension and value deliberately leaves the code out.
    """
    header, rows = read_table(path)
    missing = [c for c in ("code", "dimension", "value") if c not in header]
    if missing:
        raise InputError(f"{path}: a mapping file needs the columns code, dimension, value "
                         f"(missing {', '.join(missing)}).")
    mapping = {}
    for row in rows:
        code, dimension, value = (str(row.get(k, "")).strip() for k in ("code", "dimension", "value"))
        if not code:
            continue
        if not dimension and not value:
            mapping[_path_key(code)] = CodeMapping(status="ignored", reason=f"left out by {Path(path).name}")
            continue
        mapped, reason = _map_pair(codebook, dimension, value)
        if mapped is None:
            raise CodebookError(f"{where(path, row['row'])}: {reason}; fix the mapping file.")
        mapping[_path_key(code)] = mapped
    return mapping


def _is_review(code: QdaCode, by_guid: dict) -> bool:
    while code.parent:
        code = by_guid[code.parent]
    return code.name.strip().casefold() == REVIEW_CODE


def map_codes(codes, codebook, mapping: Optional[dict] = None) -> dict:
    """Code guid -> CodeMapping, by the mapping file first, then by convention.

    Conventions: a code hierarchy ending in `dimension/value` (any depth above it), or
    a code named `dimension: value`. Dimensions and values match ids or labels,
    ignoring case. Codes under `te beoordelen` are capcode's own review marks.
    """
    mapping = mapping or {}
    by_guid = {code.guid: code for code in codes}
    names = Counter(code.name.strip().casefold() for code in codes)
    out = {}
    for code in codes:
        keys = [_path_key(code.path), code.guid]
        if names[code.name.strip().casefold()] == 1:
            keys.append(_path_key(code.name))
        found = next((mapping[k] for k in keys if k in mapping), None)
        if found is not None:
            out[code.guid] = found
            continue
        if _is_review(code, by_guid):
            out[code.guid] = CodeMapping(status="review", reason="capcode suggestion to review, not a code")
            continue
        reasons = []
        parts = code.path.split("/")
        if len(parts) >= 2:
            mapped, reason = _map_pair(codebook, parts[-2], parts[-1])
            if mapped:
                out[code.guid] = mapped
                continue
            reasons.append(reason)
        if ":" in code.name:
            dimension, value = code.name.split(":", 1)
            mapped, reason = _map_pair(codebook, dimension, value)
            if mapped:
                out[code.guid] = mapped
                continue
            reasons.append(reason)
        if not reasons:
            reasons.append("not named 'dimension: value' nor placed under a dimension")
        out[code.guid] = CodeMapping(status="unmapped", reason="; ".join(reasons))
    return out


def code_guid(codebook, *parts) -> str:
    return stable_guid("code", codebook.name, *parts)


def review_guid(codebook, dimension_id: Optional[str] = None) -> str:
    return stable_guid("review", codebook.name, *([dimension_id] if dimension_id else []))


def _describe_text(label: str, description: str) -> str:
    return f"{label}: {description}" if description and description != label else label


def code_tree(codebook, ns: str = PROJECT_NS, review: bool = True):
    """The codebook as REFI codes: one code per dimension (not codable), one child per value.

    Each dimension gets a colour; its values share it. With `review`, a grey code
    `te beoordelen` holds one child per dimension for abstained suggestions.
    """
    codes = etree.Element(tag("Codes", ns))
    for number, dimension in enumerate(codebook.dimensions):
        colour = PALETTE[number % len(PALETTE)]
        parent = etree.SubElement(codes, tag("Code", ns), guid=code_guid(codebook, dimension.id),
                                  name=dimension.id, isCodable="false", color=colour)
        text = _describe_text(dimension.label, dimension.description)
        if dimension.condition is not None:
            text += f" (alleen gecodeerd als {dimension.condition})"
        etree.SubElement(parent, tag("Description", ns)).text = text
        for value in dimension.values:
            child = etree.SubElement(parent, tag("Code", ns), guid=code_guid(codebook, dimension.id, value.id),
                                     name=value.id, isCodable="true", color=colour)
            etree.SubElement(child, tag("Description", ns)).text = _describe_text(value.label, value.description)
    if review:
        parent = etree.SubElement(codes, tag("Code", ns), guid=review_guid(codebook), name=REVIEW_CODE,
                                  isCodable="false", color=REVIEW_COLOUR)
        etree.SubElement(parent, tag("Description", ns)).text = (
            "capcode was not sure enough to suggest a value (it abstained): code these by hand.")
        for dimension in codebook.dimensions:
            etree.SubElement(parent, tag("Code", ns), guid=review_guid(codebook, dimension.id),
                             name=dimension.id, isCodable="true", color=REVIEW_COLOUR)
    return codes
