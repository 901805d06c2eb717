"""Codebooks: which dimensions may be coded, with which values, and when.

A codebook is a YAML file (see `codebooks/default.yaml` and the README):

    name: voorbeeld
    version: "1.0"
    dimensions:
      - id: relevant
        label: Relevant
        description: {nl: "Gaat het fragment over ...", en: "Is the fragment about ..."}
        values:
          - {id: ja, label: Ja, description: ..., examples: ["..."]}
          - nee                      # short form: id = label, no description
      - id: toon
        level: ordinal               # nominal (default), ordinal or interval
        only_when: {relevant: ja}    # coded only when relevant = ja
        values: [laag, midden, hoog] # ordinal: listed from low to high

It is read with the YAML node tree (`yaml.compose`) rather than `safe_load`, so
every problem can name its line, all problems are reported at once, and scalars
stay text (`ja`, `nee`, `no`, `1.0` are never turned into booleans or numbers).
Nothing in capcode assumes the dimensions of the default codebook: every stage
asks the codebook.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

import yaml

from .errors import CodebookError, where

LEVELS = ("nominal", "ordinal", "interval")
SHIPPED_DIR = Path(__file__).parent / "codebooks"
MAX_ERRORS = 20

_TOP_KEYS = ("name", "version", "description", "dimensions")
# Column names of coding files (pipeline/codings.py); a dimension cannot be called like one of them.
RESERVED_IDS = ("fragment_id", "coder", "source", "start_char", "end_char", "dimension", "value", "row")
_DIMENSION_KEYS = ("id", "label", "description", "level", "only_when", "values")
_VALUE_KEYS = ("id", "label", "description", "examples")
_ID = re.compile(r"^[^\s]+$")
_LANG = re.compile(r"^[a-z]{2,3}$")
_NULL_TAG = "tag:yaml.org,2002:null"


# ---- records ---------------------------------------------------------------


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
        return _content(self.name, self.version, self.descriptions or self.description, self.dimensions)


def _content(name, version, description, dimensions) -> dict:
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


# ---- loading ---------------------------------------------------------------


def shipped_codebooks() -> tuple:
    """Names of the codebooks that ship with capcode (`default`, ...)."""
    return tuple(sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml")))


def codebook_path(name_or_path) -> Path:
    """Resolve a shipped codebook name ('default') or a path to a codebook file."""
    text = str(name_or_path)
    path = Path(text)
    if path.exists() or path.suffix.lower() in (".yaml", ".yml") or "/" in text or "\\" in text:
        if not path.exists():
            raise CodebookError(f"{path}: codebook file not found.")
        return path
    shipped = SHIPPED_DIR / f"{text}.yaml"
    if shipped.exists():
        return shipped
    raise CodebookError(f"codebook '{text}': no such file and not a shipped codebook "
                        f"(shipped: {', '.join(shipped_codebooks())}); give a path to a .yaml file.")


def load_codebook(name_or_path="default") -> Codebook:
    """Read and validate a codebook: a shipped name ('default', 'propper') or a YAML path.

    A Codebook passed in is returned as is. All problems are raised together in one
    CodebookError, one line each, naming file and line.
    """
    if isinstance(name_or_path, Codebook):
        return name_or_path
    path = codebook_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CodebookError(f"{path}: not UTF-8 text; save the codebook as UTF-8.") from None
    return parse_codebook(text, origin=str(path))


def parse_codebook(text: str, origin: str = "<codebook>") -> Codebook:
    """Validate codebook YAML text and build a Codebook; `origin` names it in messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise CodebookError(f"{where(origin, line)}: not valid YAML ({problem}).") from None
    reader = _Reader(origin)
    codebook = reader.codebook(root)
    if reader.errors:
        raise CodebookError(format_errors(reader.sorted_errors(), f"{origin}: the codebook has"))
    return codebook


def format_errors(errors, intro: str, limit: int = MAX_ERRORS) -> str:
    """'<intro> N problem(s):' then one line each, at most `limit`, then 'and N more'."""
    count = len(errors)
    lines = [f"{intro} {count} problem{'s' if count != 1 else ''}:"]
    lines += [f"  {e}" for e in errors[:limit]]
    if count > limit:
        lines.append(f"  ... and {count - limit} more.")
    return "\n".join(lines)


class _Reader:
    """Walks the YAML node tree, building records and collecting every problem with its line."""

    def __init__(self, origin: str):
        self.origin = origin
        self.errors: list = []
        self._lines: list = []
        self._conditions: dict = {}  # dimension id -> its only_when node, for line numbers

    def error(self, node, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self._lines.append(line or 0)
        self.errors.append(f"{where(self.origin, line)}: {message}")

    def sorted_errors(self) -> list:
        """Problems in the order of their lines in the file (stable within a line)."""
        return [e for _, _, e in sorted(zip(self._lines, range(len(self.errors)), self.errors))]

    # -- node helpers --

    def mapping(self, node, what: str, allowed) -> dict:
        """{key: (key_node, value_node)} of a mapping node; unknown and duplicate keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping of keys (key: value).")
            return {}
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                self.error(key_node, f"{what} has a key that is not text.")
            elif key in out:
                self.error(key_node, f"{what} has '{key}' twice; keep one.")
            elif allowed is not None and key not in allowed:
                self.error(key_node, f"{what} has unknown key '{key}'; allowed keys are {', '.join(allowed)}.")
            else:
                out[key] = (key_node, value_node)
        return out

    def scalar(self, node, what: str, required: bool = True) -> Optional[str]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            if required:
                self.error(node, f"{what} is empty; give a value.")
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, f"{what} must be a single text value, not a list or mapping.")
            return None
        text = node.value.strip()
        if required and not text:
            self.error(node, f"{what} is empty; give a value.")
            return None
        return text

    def identifier(self, node, what: str) -> Optional[str]:
        text = self.scalar(node, what)
        if text is not None and not _ID.match(text):
            suggestion = re.sub(r"\s+", "_", text)
            self.error(node, f"{what} '{text}' contains spaces; use e.g. '{suggestion}'.")
            return None
        return text

    def texts(self, node, what: str) -> tuple:
        """A plain string, or {language: text}: returns ((language, text), ...); plain is ('', text)."""
        if node is None:
            return ()
        if isinstance(node, yaml.MappingNode):
            out = []
            for lang, (key_node, value_node) in self.mapping(node, what, None).items():
                if not _LANG.match(lang):
                    self.error(key_node, f"{what}: '{lang}' is not a language code such as nl or en.")
                    continue
                text = self.scalar(value_node, f"{what} ({lang})", required=False)
                if text:
                    out.append((lang, text))
            return tuple(out)
        text = self.scalar(node, what, required=False)
        return (("", text),) if text else ()

    @staticmethod
    def preferred(texts: tuple) -> str:
        """The Dutch text if given, else a plain string, else the first language."""
        lookup = dict(texts)
        for lang in ("nl", ""):
            if lookup.get(lang):
                return lookup[lang]
        return texts[0][1] if texts else ""

    # -- structure --

    def codebook(self, root) -> Codebook:
        if root is None:
            self.error(None, "the file is empty; a codebook needs name, version and dimensions.")
            return Codebook("", "", ())
        top = self.mapping(root, "the codebook", _TOP_KEYS)
        for key in ("name", "version", "dimensions"):
            if key not in top and isinstance(root, yaml.MappingNode):
                self.error(root, f"the codebook lacks '{key}'.")
        name = self.scalar(top["name"][1], "name") if "name" in top else ""
        version = self.scalar(top["version"][1], "version") if "version" in top else ""
        descriptions = self.texts(top.get("description", (None, None))[1], "description")
        dimensions = self.dimensions(top["dimensions"][1]) if "dimensions" in top else ()
        self.check_conditions(dimensions)
        name, version = name or "", version or ""
        digest = content_hash(_content(name, version, descriptions, dimensions))
        return Codebook(name, version, dimensions, digest, self.preferred(descriptions), self.origin, descriptions)

    def dimensions(self, node) -> tuple:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, "dimensions must be a non-empty list (each item starting with '- id: ...').")
            return ()
        out, seen = [], {}
        for item in node.value:
            dimension = self.dimension(item)
            if dimension is None:
                continue
            if dimension.id in seen:
                self.error(item, f"dimension id '{dimension.id}' is used twice (first on line {seen[dimension.id]}).")
                continue
            seen[dimension.id] = item.start_mark.line + 1
            out.append(dimension)
        return tuple(out)

    def dimension(self, node) -> Optional[Dimension]:
        keys = self.mapping(node, "a dimension", _DIMENSION_KEYS)
        if not keys:
            return None
        if "id" not in keys:
            self.error(node, "a dimension lacks 'id'.")
            return None
        dim_id = self.identifier(keys["id"][1], "dimension id")
        if dim_id is None:
            return None
        if dim_id.lower() in RESERVED_IDS:
            self.error(keys["id"][1], f"dimension id '{dim_id}' is a column name of coding files "
                                      f"({', '.join(RESERVED_IDS)}); choose another id.")
            return None
        what = f"dimension '{dim_id}'"
        label = self.preferred(self.texts(keys["label"][1], f"{what} label")) if "label" in keys else dim_id
        descriptions = self.texts(keys.get("description", (None, None))[1], f"{what} description")
        level = "nominal"
        if "level" in keys:
            level = self.scalar(keys["level"][1], f"{what} level") or "nominal"
            if level not in LEVELS:
                self.error(keys["level"][1], f"{what}: unknown level '{level}'; use one of {', '.join(LEVELS)}.")
                level = "nominal"
        condition = self.condition(keys["only_when"][1], what) if "only_when" in keys else None
        if "values" not in keys:
            self.error(node, f"{what} lacks 'values'.")
            values = ()
        else:
            values = self.values(keys["values"][1], what, level)
        dimension = Dimension(dim_id, label or dim_id, self.preferred(descriptions), values, level, condition,
                              descriptions)
        if condition is not None:
            self._conditions[dim_id] = keys["only_when"][1]
        return dimension

    def condition(self, node, what: str) -> Optional[Condition]:
        keys = self.mapping(node, f"{what} only_when", None)
        if len(keys) != 1:
            if keys:
                self.error(node, f"{what}: only_when takes one condition, e.g. only_when: {{relevant: ja}}.")
            return None
        (dim, (_, value_node)), = keys.items()
        value = self.scalar(value_node, f"{what} only_when {dim}")
        return Condition(dim, value) if value is not None else None

    def values(self, node, what: str, level: str) -> tuple:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, f"{what} has no values; list at least two (each '- id: ...' or a plain '- name').")
            return ()
        out, seen = [], {}
        for item in node.value:
            value = self.value(item, what)
            if value is None:
                continue
            if value.id in seen:
                self.error(item, f"{what}: value id '{value.id}' is used twice (first on line {seen[value.id]}).")
                continue
            if level == "interval" and not _is_number(value.id):
                self.error(item, f"{what} is interval, so its value ids must be numbers; '{value.id}' is not.")
            seen[value.id] = item.start_mark.line + 1
            out.append(value)
        if len(out) == 1:
            self.error(node, f"{what} has only one value; a dimension needs at least two.")
        return tuple(out)

    def value(self, node, what: str) -> Optional[Value]:
        if isinstance(node, yaml.ScalarNode):
            value_id = self.identifier(node, f"{what} value")
            return Value(value_id, value_id) if value_id else None
        keys = self.mapping(node, f"a value of {what}", _VALUE_KEYS)
        if not keys:
            return None
        if "id" not in keys:
            self.error(node, f"a value of {what} lacks 'id'.")
            return None
        value_id = self.identifier(keys["id"][1], f"{what} value id")
        if value_id is None:
            return None
        label = self.preferred(self.texts(keys["label"][1], f"{what} value '{value_id}' label")) if "label" in keys else value_id
        descriptions = self.texts(keys.get("description", (None, None))[1], f"{what} value '{value_id}' description")
        examples = self.examples(keys.get("examples", (None, None))[1], f"{what} value '{value_id}' examples")
        return Value(value_id, label or value_id, self.preferred(descriptions), examples, descriptions)

    def examples(self, node, what: str) -> tuple:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            return ()
        if isinstance(node, yaml.ScalarNode):
            return (node.value.strip(),) if node.value.strip() else ()
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{what} must be a list of texts.")
            return ()
        out = []
        for item in node.value:
            text = self.scalar(item, f"{what} item", required=False)
            if text:
                out.append(text)
        return tuple(out)

    def check_conditions(self, dimensions: tuple) -> None:
        """Conditions must name an existing dimension and one of its values, and not loop."""
        by_id = {d.id: d for d in dimensions}
        nodes = self._conditions
        for dimension in dimensions:
            condition = dimension.condition
            if condition is None:
                continue
            node = nodes.get(dimension.id)
            what = f"dimension '{dimension.id}' only_when"
            target = by_id.get(condition.dimension)
            if target is None:
                self.error(node, f"{what} names unknown dimension '{condition.dimension}'; "
                                 f"dimensions are {', '.join(by_id)}.")
            elif target.id == dimension.id:
                self.error(node, f"{what} names the dimension itself.")
            elif condition.value not in target.value_ids:
                self.error(node, f"{what}: '{condition.value}' is not a value of '{target.id}' "
                                 f"({', '.join(target.value_ids)}).")
        for dimension in dimensions:
            chain, current = [dimension.id], dimension
            while current.condition is not None and current.condition.dimension in by_id:
                current = by_id[current.condition.dimension]
                if current.id == dimension.id and len(chain) > 1:
                    self.error(nodes.get(dimension.id), f"conditions form a loop: {' -> '.join(chain + [current.id])}.")
                    break
                if current.id in chain:
                    break
                chain.append(current.id)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---- showing ---------------------------------------------------------------


def format_codebook(codebook: Codebook, language: str = "nl", examples: bool = True) -> str:
    """The codebook as readable text for a researcher (`capcode codebook show`)."""

    def pick(descriptions, fallback):
        lookup = dict(descriptions)
        return lookup.get(language) or fallback

    lines = [f"{codebook.name} {codebook.version}  ({len(codebook.dimensions)} dimensions, hash {codebook.hash[:12]})"]
    if codebook.description:
        lines += _wrap(pick(codebook.descriptions, codebook.description), "  ")
    for dimension in codebook.dimensions:
        lines.append("")
        head = f"{dimension.id}: {dimension.label}  [{dimension.level}]"
        if dimension.condition is not None:
            head += f"  only when {dimension.condition}"
        lines.append(head)
        lines += _wrap(pick(dimension.descriptions, dimension.description), "    ")
        for value in dimension.values:
            label = f" ({value.label})" if value.label != value.id else ""
            lines.append(f"  - {value.id}{label}")
            lines += _wrap(pick(value.descriptions, value.description), "      ")
            if examples:
                for example in value.examples:
                    lines += _wrap(f'e.g. "{example}"', "      ")
    return "\n".join(lines) + "\n"


def _wrap(text: str, indent: str, width: int = 100) -> list:
    import textwrap

    out = []
    for paragraph in str(text).splitlines():
        if paragraph.strip():
            out += textwrap.wrap(paragraph.strip(), width=width, initial_indent=indent,
                                 subsequent_indent=indent + "  " if paragraph.lstrip().startswith("-") else indent)
    return out


def run_codebook_show(name_or_path, language: str = "nl", as_json: bool = False) -> str:
    """Text (or JSON) of a codebook, for `capcode codebook show`."""
    codebook = load_codebook(name_or_path)
    if as_json:
        return json.dumps({**codebook.to_dict(), "hash": codebook.hash}, ensure_ascii=False, indent=2) + "\n"
    return format_codebook(codebook, language)


def run_codebook_check(name_or_path) -> str:
    """'OK: <name> <version>, N dimensions' or CodebookError with every problem."""
    codebook = load_codebook(name_or_path)
    return f"OK: {codebook.name} {codebook.version}, {len(codebook.dimensions)} dimensions"
