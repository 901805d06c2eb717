"""`capcode codebook show` and `capcode codebook check`: a codebook as text for a researcher."""

import json

from .read import load_codebook
from .records import Codebook


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
