"""Reading a codebook: a shipped name (`default`, `propper`) or a YAML file, validated.

The YAML is read as a node tree (`yaml.compose`) rather than with `safe_load`, so every problem
can name its line, all problems are reported at once, and scalars stay text (`ja`, `nee`, `no`,
`1.0` are never turned into booleans or numbers).
"""

import re
from pathlib import Path
from typing import Optional

import yaml

from ..errors import CodebookError, where
from .records import LEVELS, Codebook, Condition, Dimension, Value, canonical_content, content_hash

SHIPPED_DIR = Path(__file__).parent.parent / "codebooks"  # pipeline/codebooks/*.yaml
MAX_ERRORS = 20

_TOP_KEYS = ("name", "version", "description", "dimensions")
# Column names of coding files (pipeline/codings.py); a dimension cannot be called like one of them.
RESERVED_IDS = ("fragment_id", "coder", "source", "start_char", "end_char", "dimension", "value", "row")
_DIMENSION_KEYS = ("id", "label", "description", "level", "only_when", "values")
_VALUE_KEYS = ("id", "label", "description", "examples")
_ID = re.compile(r"^[^\s]+$")
_LANG = re.compile(r"^[a-z]{2,3}$")
_NULL_TAG = "tag:yaml.org,2002:null"


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
        digest = content_hash(canonical_content(name, version, descriptions, dimensions))
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
