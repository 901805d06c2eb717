"""The `capcode` command line: parses options and calls library functions.

Each command forwards to a `run_*` function of its stage module, which tests call directly.
`common.py` holds the root group `cli` (errors as one line, logging, params.yaml) and the options
the commands share; one module per stage adds its commands to that group:

- `segment.py`: text, segment
- `codebooks.py`: codebook show, codebook check, codings check
- `classifier.py`: train, predict, evaluate, suggest
- `review.py`: review
- `agreement.py`: agreement, disagreements
- `aggregate.py`: aggregate
- `qdpx.py`: import-qdpx, export-qdpx, export-qdc
- `study.py`: init, coding-sheet, if-coded

The command modules import `common` and never each other or this package. Heavy libraries
(spaCy, scikit-learn, numpy) are imported inside the commands, so `capcode --help` stays quick.
"""

import sys

import click

from . import aggregate, agreement, classifier, codebooks, qdpx, review, segment, study  # noqa: F401 (they add the commands)
from .common import cli

__all__ = ["cli", "main"]


def main():
    """Console-script entry point: SIGTERM, SIGINT and SIGHUP stop a run cleanly (runs.py)."""
    from ..runs import RunInterrupted, remove_live_temps, stop_on_signals

    stop_on_signals()
    try:
        cli(obj={})
    except RunInterrupted as stopped:
        remove_live_temps()
        click.echo(f"capcode: stopped by {stopped.name}; outputs not finished were not written "
                   "(their temporary files are removed).", err=True)
        sys.exit(128 + stopped.signum)
