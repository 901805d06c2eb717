"""Codebooks: which dimensions may be coded, with which values, and when.

A codebook is a YAML file (see `pipeline/codebooks/default.yaml` and docs/codebooks-and-codings.md):

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

The package (each module imports only those above it; the shipped codebooks themselves are the
YAML files in `pipeline/codebooks/`):

- `records.py`  Codebook, Dimension, Value, Condition and the content hash
- `read.py`     a shipped name or a YAML file -> a validated Codebook (`load_codebook`)
- `show.py`     `capcode codebook show` and `capcode codebook check`

The names below are re-exported for callers of the package; code inside capcode imports them
from the module that owns them.
"""

from .read import (RESERVED_IDS, SHIPPED_DIR, codebook_path, format_errors, load_codebook, parse_codebook,
                   shipped_codebooks)
from .records import LEVELS, Codebook, Condition, Dimension, Value, content_hash
from .show import format_codebook, run_codebook_check, run_codebook_show

__all__ = [
    "LEVELS", "RESERVED_IDS", "SHIPPED_DIR", "Codebook", "Condition", "Dimension", "Value", "codebook_path",
    "content_hash", "format_codebook", "format_errors", "load_codebook", "parse_codebook", "run_codebook_check",
    "run_codebook_show", "shipped_codebooks",
]
