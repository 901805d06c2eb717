"""The root of the `capcode` command, and what its commands share.

The root group turns problems with the user's input (CapcodeError, a path that cannot be read or
written) into one line on stderr with exit code 1; `--verbose` adds the traceback. Every command
holds the lock of each output it writes while it runs. Here too: params.yaml read once per run
(`get_params`), and the options several stages take (`--codebook`, `--codings`, `--trust-model`,
`--jobs`/`--backend`/`--scheduler`). The command modules import this module and nothing else of
the package.
"""

import logging
import sys
import traceback
from pathlib import Path

import click

from .. import __version__
from ..errors import CapcodeError

log = logging.getLogger("capcode")


# options that name what a command writes: each is locked for the run (runs.output_lock)
OUTPUT_OPTIONS = ("out", "out_dir", "out_path", "details", "thresholds_out", "plots")


class CapcodeCommand(click.Command):
    """A command that holds the lock of every output it writes while it runs."""

    def invoke(self, ctx):
        from ..runs import output_locks

        outputs = [ctx.params[name] for name in OUTPUT_OPTIONS if ctx.params.get(name)]
        names, current = [], ctx
        while current.parent is not None:
            names.insert(0, current.info_name)
            current = current.parent
        with output_locks(outputs, command=" ".join(["capcode", *names])):
            return super().invoke(ctx)


class CapcodeGroup(click.Group):
    """A click group that turns CapcodeError into a one-line 'Error: ...' message."""

    command_class = CapcodeCommand
    group_class = type  # subgroups are CapcodeGroups too

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CapcodeError as exc:
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc(file=sys.stderr)
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a folder that does not exist or may not be written, a full disk
            if isinstance(exc, BrokenPipeError) or not exc.filename:
                raise
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc(file=sys.stderr)
            name = str(exc.filename)
            if Path(name).name.startswith(".") and name.endswith((".tmp", ".lock")):  # an atomic write's or lock's file
                name = str(Path(name).parent)
            raise click.ClickException(f"{name}: {exc.strerror or exc}; check that the path is right and that "
                                       "you may read or write there.") from None


class _Formatter(logging.Formatter):
    def format(self, record):
        prefix = "warning: " if record.levelno == logging.WARNING else ("error: " if record.levelno >= logging.ERROR else "")
        return f"capcode: {prefix}{record.getMessage()}"


def setup_logging(verbose: bool) -> None:
    """Log to stderr: notices and warnings always, progress notes on a terminal or with -v."""
    from ..errors import NOTICE

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    # progress notes (INFO) show on a terminal; in scripts and CI only notices and warnings, unless -v
    log.setLevel(logging.DEBUG if verbose else (logging.INFO if sys.stderr.isatty() else NOTICE))
    log.propagate = False


@click.group(cls=CapcodeGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Manual: README.md, then docs/ (one page per stage; docs/architecture.md maps the code).")
@click.version_option(__version__, "--version", prog_name="capcode")
@click.option("-v", "--verbose", is_flag=True, help="Show progress notes and, on errors, the full traceback.")
@click.option("--params", "params_path", type=click.Path(dir_okay=False), default=None,
              help="Parameters file (default: params.yaml in the current folder, if present).")
@click.pass_context
def cli(ctx, verbose, params_path):
    """capcode: suggest and check codes for interview fragments.

    Stages: text, segment, codebook, codings, train, predict, evaluate, suggest, review,
    agreement, disagreements, aggregate, import-qdpx, export-qdpx, export-qdc.
    A study of your own: init (then coding-sheet and if-coded run in its dvc.yaml).

    Example:

        capcode segment data/sample/transcripts --out fragments.jsonl
    """
    setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["params_path"] = params_path


def get_params(ctx):
    """The validated parameters for this run, read once."""
    from ..config import load_params

    obj = ctx.find_root().obj
    if "params" not in obj:
        obj["params"] = load_params(obj.get("params_path"))
    return obj["params"]


def _limits(ctx):
    """What a zip file may unpack to (params.yaml `limits`), for the readers."""
    from ..archives import ZipLimits

    return ZipLimits.from_params(get_params(ctx).limits)


def workers_options(command):
    """--jobs, --backend and --scheduler: where a stage's work runs (pipeline/parallel.py, docs/scale.md)."""
    command = click.option("--scheduler", default=None, metavar="ADDRESS",
                           help="With --backend dask: the Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                "(default: the environment variable DASK_SCHEDULER_ADDRESS).")(command)
    command = click.option("--backend", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                           help="local: processes on this computer; dask: an existing Dask cluster "
                                "(pip install 'capcode[cluster]').")(command)
    return click.option("--jobs", type=click.IntRange(min=0), default=None,
                        help="Processes to use: 0 = all cores, 1 = this process only (default: 'jobs' in "
                             "params.yaml, else all cores). The output is the same whatever the number.")(command)


def get_workers(ctx, jobs, backend, scheduler):
    """A parallel.Workers from the command line, params.yaml `jobs` where --jobs is not given."""
    from ..parallel import Workers, resolve_jobs

    if scheduler and backend != "dask":
        raise click.UsageError("--scheduler is for --backend dask.")
    return Workers(jobs=resolve_jobs(get_params(ctx).jobs if jobs is None else jobs), backend=backend,
                   scheduler=scheduler)


_trust_model_option = click.option(
    "--trust-model", "trust_model", is_flag=True,
    help="Also open a pickle/joblib model file (capcode's older format). Such a file can run any code "
         "when it is opened: only for a model you made yourself or fully trust.")


_codebook_option = click.option("--codebook", default=None,
                                help="Codebook name or YAML file (default: params.yaml 'codebook').")


def _codings_option(command=None, required=True, help=None):
    """`--codings A.csv [B.csv ...]`: one or more coding files (the option may also be repeated).

    Files after the first land in MORE_CODINGS; the command adds them to `codings`.
    """
    def decorate(command):
        command = click.argument("more_codings", nargs=-1, type=click.Path(dir_okay=False),
                                 metavar="[MORE_CODINGS]...")(command)
        return click.option("--codings", "codings", multiple=True, required=required, type=click.Path(dir_okay=False),
                            help=help or "Coding file(s) (wide, long or span form; .csv/.xlsx/.jsonl): "
                                         "--codings team.csv coder2.csv")(command)

    return decorate(command) if command is not None else decorate


def _all_codings(codings, more_codings) -> tuple:
    """The files of --codings and those after it; files after it without --codings are a usage error."""
    if more_codings and not codings:
        raise click.UsageError(f"unexpected file(s) {' '.join(more_codings)}: name coding files after --codings.")
    return tuple(codings) + tuple(more_codings)
