"""The `capcode` command line: parses options and calls library functions.

Each command forwards to a `run_*` function of its stage module, which tests
call directly. Problems with the user's input (CapcodeError) are printed as one
line on stderr with exit code 1; `--verbose` adds the traceback.
"""

import logging
import sys
import traceback

import click

from . import __version__
from .errors import CapcodeError

log = logging.getLogger("capcode")


class CapcodeGroup(click.Group):
    """A click group that turns CapcodeError into a one-line 'Error: ...' message."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CapcodeError as exc:
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc(file=sys.stderr)
            raise click.ClickException(str(exc)) from None


class _Formatter(logging.Formatter):
    def format(self, record):
        prefix = "warning: " if record.levelno == logging.WARNING else ("error: " if record.levelno >= logging.ERROR else "")
        return f"capcode: {prefix}{record.getMessage()}"


def setup_logging(verbose: bool) -> None:
    """Log to stderr: warnings always, progress notes with -v."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False


@click.group(cls=CapcodeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="capcode")
@click.option("-v", "--verbose", is_flag=True, help="Show progress notes and, on errors, the full traceback.")
@click.option("--params", "params_path", type=click.Path(dir_okay=False), default=None,
              help="Parameters file (default: params.yaml in the current folder, if present).")
@click.pass_context
def cli(ctx, verbose, params_path):
    """capcode: suggest and check codes for interview fragments.

    Stages: text, segment, codebook, codings, train, predict, evaluate, suggest,
    agreement, disagreements, aggregate, import-qdpx, export-qdpx, export-qdc.

    Example:

        capcode segment data/sample/transcripts --out fragments.jsonl
    """
    setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["params_path"] = params_path


def get_params(ctx):
    """The validated parameters for this run, read once."""
    from .config import load_params

    obj = ctx.find_root().obj
    if "params" not in obj:
        obj["params"] = load_params(obj.get("params_path"))
    return obj["params"]


# ---- commands are added below, one block per stage -------------------------

# [text/segment commands]

# [codebook/codings commands]

# [train/predict/evaluate/suggest commands]

# [agreement/disagreements commands]

# [aggregate commands]

# [qdpx commands]


def main():
    """Console-script entry point."""
    cli(obj={})


if __name__ == "__main__":
    main()
