"""The `capcode` command line: parses options and calls library functions.

Each command forwards to a `run_*` function of its stage module, which tests
call directly. Problems with the user's input (CapcodeError) are printed as one
line on stderr with exit code 1; `--verbose` adds the traceback.
"""

import logging
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import CapcodeError

log = logging.getLogger("capcode")


# options that name what a command writes: each is locked for the run (runs.output_lock)
OUTPUT_OPTIONS = ("out", "out_dir", "out_path", "details", "thresholds_out", "plots")


class CapcodeCommand(click.Command):
    """A command that holds the lock of every output it writes while it runs."""

    def invoke(self, ctx):
        from .runs import output_locks

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
    from .errors import NOTICE

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
    from .config import load_params

    obj = ctx.find_root().obj
    if "params" not in obj:
        obj["params"] = load_params(obj.get("params_path"))
    return obj["params"]


def _limits(ctx):
    """What a zip file may unpack to (params.yaml `limits`), for the readers."""
    from .archives import ZipLimits

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
    from .parallel import Workers, resolve_jobs

    if scheduler and backend != "dask":
        raise click.UsageError("--scheduler is for --backend dask.")
    return Workers(jobs=resolve_jobs(get_params(ctx).jobs if jobs is None else jobs), backend=backend,
                   scheduler=scheduler)


_trust_model_option = click.option(
    "--trust-model", "trust_model", is_flag=True,
    help="Also open a pickle/joblib model file (capcode's older format). Such a file can run any code "
         "when it is opened: only for a model you made yourself or fully trust.")


# ---- commands are added below, one block per stage -------------------------

# [text/segment commands]

@cli.command("text", epilog="Manual: docs/reading-and-segmentation.md")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def text_command(ctx, file):
    """Print the plain text of a transcript exactly as capcode sees it.

    Every character offset capcode writes (start_char, end_char) refers to this
    text. Supported: .txt, .md, .docx, .odt, .vtt, .srt.

    Example:

        capcode text interviews/case1_respondent4.docx > case1_respondent4.txt
    """
    from .segment import run_text

    text = run_text(file, _limits(ctx))
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    stream.write(text.encode("utf-8"))  # UTF-8 bytes as they are: no newline translation, any locale
    stream.flush()


@cli.command("segment", epilog="Manual: docs/reading-and-segmentation.md; on many cores or a cluster: docs/scale.md")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(),
              help="JSON Lines file to write (one unit per line); with --shard-size, a folder.")
@click.option("--unit", type=click.Choice(["fragment", "sentence", "turn"]), default="fragment",
              show_default=True, help="What one record is.")
@click.option("--manifest", "manifests", multiple=True, type=click.Path(dir_okay=False),
              help="Table (source,case,respondent,role[,interviewer]) with each transcript's metadata; give it "
                   "again for another study's manifest (rows about one transcript must agree).")
@click.option("--include-interviewer", is_flag=True,
              help="Also write interviewer turns as units (normally only their context).")
@click.option("--shard-size", type=click.IntRange(min=1), default=None, metavar="N",
              help="Write --out as a folder: one .jsonl per N transcripts plus manifest.json (joined in order, "
                   "the parts are the single file).")
@workers_options
@click.pass_context
def segment_command(ctx, inputs, out, unit, manifests, include_interviewer, shard_size, jobs, backend, scheduler):
    """Cut transcripts (files or folders) into codable fragments, sentences or turns.

    A fragment is a respondent turn split at blank lines and then into groups
    of whole sentences of at most segment.max_words words (params.yaml).

    The interviewer of each transcript is found from its speaker labels
    (segment.interviewer_labels) or else from the turns themselves (who asks the
    questions), and reported in one line per transcript; a manifest column
    'interviewer' overrides it. Interviewer turns are the context of the answers.

    Transcripts are spread over all cores (--jobs), or a Dask cluster (--backend dask);
    the output is the same byte for byte.

    Example:

    \b
        capcode segment data/sample/transcripts --manifest data/sample/manifest.csv --out fragments.jsonl
    """
    from .segment import run_segment, with_interviewer

    params = with_interviewer(get_params(ctx).segment, include_interviewer)
    count = run_segment(list(inputs), out, params, unit, list(manifests) or None, limits=_limits(ctx),
                        workers=get_workers(ctx, jobs, backend, scheduler), shard_size=shard_size)
    click.echo(f"capcode: wrote {count} {unit}s to {out}", err=True)


# [codebook/codings commands]


@cli.group(epilog="Manual: docs/codebooks-and-codings.md")
def codebook():
    """Show or check a codebook (the dimensions and values that may be coded).

    Example:

        capcode codebook show default
    """


@codebook.command("show", epilog="Manual: docs/codebooks-and-codings.md")
@click.argument("codebook_file", metavar="FILE|NAME", default="default")
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl", show_default=True,
              help="Language of the descriptions (nl or en).")
@click.option("--json", "as_json", is_flag=True, help="Print the codebook as JSON (with its hash).")
def codebook_show(codebook_file, lang, as_json):
    """Print a codebook readably: dimensions, values, conditions, descriptions, examples.

    FILE is a codebook YAML file, or the name of a shipped codebook ('default', 'propper').

    Example:

        capcode codebook show default --lang en
    """
    from .codebook.show import run_codebook_show

    click.echo(run_codebook_show(codebook_file, language=lang, as_json=as_json), nl=False)


@codebook.command("check", epilog="Manual: docs/codebooks-and-codings.md")
@click.argument("codebook_file", metavar="FILE")
def codebook_check(codebook_file):
    """Validate a codebook file; every problem is listed with its line.

    Prints 'OK: <name> <version>, N dimensions', or the problems and exits 1.

    Example:

        capcode codebook check my_codebook.yaml
    """
    from .codebook.show import run_codebook_check

    click.echo(run_codebook_check(codebook_file))


@cli.group(epilog="Manual: docs/codebooks-and-codings.md")
def codings():
    """Check the team's hand-coded fragments.

    Example:

    \b
        capcode codings check data/sample/codings/team.csv --fragments fragments.jsonl
    """


@codings.command("check", epilog="Manual: docs/codebooks-and-codings.md")
@click.argument("coding_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--fragments", "fragments_path", type=click.Path(dir_okay=False), default=None,
              help="Fragments file from 'capcode segment' (needed for span-form codings and to find unknown fragments).")
@click.option("--codebook", "codebook_name", default=None,
              help="Codebook name or YAML file (default: 'codebook' in params.yaml, else 'default').")
@click.option("--merge-coders", is_flag=True,
              help="Treat the same coder name in different files as one coder (default: kept apart as FILE:CODER).")
@click.pass_context
def codings_check(ctx, coding_files, fragments_path, codebook_name, merge_coders):
    """Report counts per dimension, value and coder, and problems in coding files.

    Errors (exit 1): values not in the codebook, codes on fragments not in the fragments file,
    one coder giving a fragment two different values, values where a condition is contradicted
    (e.g. beleid_beheer coded while relevant = nee). Warnings do not fail the check.

    Example:

    \b
        capcode codings check team.csv --fragments fragments.jsonl --codebook default
    """
    from .codings_check import run_codings_check

    name = codebook_name or get_params(ctx).codebook
    text, ok = run_codings_check(coding_files, fragments_path, name, merge_coders=merge_coders)
    click.echo(text, nl=False)
    if not ok:
        ctx.exit(1)

# [train/predict/evaluate/suggest commands]

def _with_codebook(params, codebook):
    """Params with the codebook given on the command line, if any."""
    import dataclasses

    return dataclasses.replace(params, codebook=codebook) if codebook else params


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


@cli.command("train", epilog="Manual: docs/classifier.md")
@click.option("--fragments", required=True, type=click.Path(dir_okay=False),
              help="Fragments file written by 'capcode segment'.")
@_codings_option
@_codebook_option
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Model folder to write (model.skops + manifest.json).")
@workers_options
@click.pass_context
def train_command(ctx, fragments, codings, more_codings, codebook, out, jobs, backend, scheduler):
    """Train one classifier per codebook dimension on hand-coded fragments.

    Settings come from params.yaml 'train' (features, classifier, disagreements:
    majority or agreed). The folder gets model.skops and manifest.json with the
    codebook, data hash, counts per value, library versions and grouped
    cross-validated scores.

    Example:

    \b
        capcode train --fragments fragments.jsonl --codings codings/team.csv --out models/team
    """
    from .train import describe, run_train

    model = run_train(fragments, codings + more_codings, out, _with_codebook(get_params(ctx), codebook),
                      workers=get_workers(ctx, jobs, backend, scheduler))
    click.echo(describe(model))
    click.echo(f"capcode: wrote model to {out}", err=True)


@cli.command("predict", epilog="Manual: docs/classifier.md")
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False),
              help="Model folder written by 'capcode train'.")
@click.argument("fragments", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Predictions file: .jsonl, .csv or .xlsx.")
@_codebook_option
@_trust_model_option
@workers_options
@click.pass_context
def predict_command(ctx, model_dir, fragments, out, codebook, trust_model, jobs, backend, scheduler):
    """Suggest a value for every fragment and dimension, abstaining where unsure.

    .jsonl (the machine format): one line per fragment and dimension with fragment_id,
    dimension, value, calibrated probability, runner_up, abstained (probability below the
    threshold train stored in the model, which reaches evaluate.target_precision on held-out
    cases; predict.thresholds in params.yaml overrides it) and in_training (the model learned
    from this fragment). .xlsx or .csv (to read and filter): one row per fragment with case,
    respondent, source, fragment_id and text, then per dimension the suggestion, its
    probability and whether the model abstained. Abstentions are the review queue.

    Example:

    \b
        capcode predict --model models/team fragments.jsonl --out predictions.jsonl
        capcode predict --model models/team fragments.jsonl --out predictions.xlsx
    """
    from .predict import run_predict

    count = run_predict(model_dir, fragments, out, get_params(ctx), codebook, trust_model,
                        workers=get_workers(ctx, jobs, backend, scheduler))
    click.echo(f"capcode: wrote {count} predictions to {out}", err=True)


@cli.command("evaluate", epilog="Manual: docs/classifier.md")
@click.option("--fragments", required=True, type=click.Path(dir_okay=False),
              help="Fragments file written by 'capcode segment'.")
@_codings_option
@_codebook_option
@click.option("--group-by", type=click.Choice(["case", "respondent", "fragment"]), default=None,
              help="Cross-validation groups (default: params.yaml evaluate.group_by, 'case'). "
                   "'fragment' (random folds) overstates scores; only for comparison.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="metrics.json to write (per dimension; 'dvc metrics show' reads it).")
@click.option("--details", "details", type=click.Path(dir_okay=False), default=None,
              help="JSON with confusion matrices, per-value scores, curves and the design comparison.")
@click.option("--predictions-out", "predictions_out", type=click.Path(dir_okay=False), default=None,
              help="Write the out-of-fold suggestions (each by a model that never saw its case): the honest "
                   "input for 'capcode agreement --predictions ... --as model'.")
@click.option("--plots", "plots", type=click.Path(file_okay=False), default=None, help="Folder for PNG plots.")
@click.option("--simulate", is_flag=True,
              help="Also replay the coding in capcode's suggest order against random order (effort curve; "
                   "effort.png with --plots).")
@click.option("--designs/--no-designs", default=True, show_default=True,
              help="Also compare the designs in evaluate.designs.")
@click.option("--learning-curve/--no-learning-curve", "learning", default=True, show_default=True,
              help="Also compute the learning curve.")
@workers_options
@click.pass_context
def evaluate_command(ctx, fragments, codings, more_codings, codebook, group_by, out, details, predictions_out, plots,
                     simulate, designs, learning, jobs, backend, scheduler):
    """Cross-validate the classifier by case (nested) and compare it with baselines and other designs.

    A case's fragments are never both in training and test, and C, calibration and
    thresholds are chosen inside each fold. Per dimension: kappa (mean and spread
    over folds), macro-F1, calibration error (ECE), precision and coverage at the
    thresholds train stores, and the majority, keyword and char-tfidf baselines.
    Manual: docs/classifier.md.

    Example:

    \b
        capcode evaluate --fragments fragments.jsonl --codings codings/team.csv --out metrics.json --plots plots
    """
    from .evaluate import format_metrics, run_evaluate

    metrics, detail = run_evaluate(fragments, codings + more_codings, out, _with_codebook(get_params(ctx), codebook),
                                   group_by, plots, details, designs, learning, predictions_out, simulate,
                                   workers=get_workers(ctx, jobs, backend, scheduler))
    click.echo(format_metrics(metrics, detail))
    click.echo(f"capcode: wrote {out}", err=True)


@cli.command("suggest", epilog="Manual: docs/classifier.md")
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False),
              help="Model folder written by 'capcode train'.")
@click.argument("fragments", type=click.Path(dir_okay=False))
@click.option("-n", "n", type=click.IntRange(min=1), default=20, show_default=True, help="How many fragments.")
@click.option("--strategy", type=click.Choice(["margin", "entropy"]), default="margin", show_default=True,
              help="Uncertainty measure.")
@_codings_option(required=False, help="Coding file(s) whose fragments are already coded and are skipped: "
                                      "--codings team.csv coder2.csv (after FRAGMENTS).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the list as .csv, .xlsx or .jsonl instead of printing it.")
@_codebook_option
@_trust_model_option
@workers_options
@click.pass_context
def suggest_command(ctx, model_dir, fragments, n, strategy, codings, more_codings, out, codebook, trust_model, jobs,
                    backend, scheduler):
    """List the fragments whose hand-coding would most help the model.

    Uncertainty sampling: the fragments the model is least sure about (smallest
    margin between the two best values, on any dimension), taken in turns from
    each case so the next coding round covers every case.

    Example:

    \b
        capcode suggest --model models/team new_fragments.jsonl -n 20 --out to_code.xlsx
    """
    from .predict import format_suggestions, run_suggest

    if more_codings and Path(fragments).suffix.lower() in (".csv", ".xlsx", ".tsv"):
        raise click.UsageError(f"{fragments} is a table, not a fragments file: give FRAGMENTS before --codings.")
    codings = _all_codings(codings, more_codings)
    suggestions = run_suggest(model_dir, fragments, get_params(ctx), n, out, strategy, codings, codebook, trust_model,
                              workers=get_workers(ctx, jobs, backend, scheduler))
    if out:
        click.echo(f"capcode: wrote {len(suggestions)} suggestions to {out}", err=True)
    else:
        click.echo(format_suggestions(suggestions))


@cli.command("review", epilog="Manual: docs/review.md")
@click.option("--fragments", "fragments", required=True, type=click.Path(dir_okay=False),
              help="Fragments file from 'capcode segment'.")
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False),
              help="Model folder written by 'capcode train'.")
@click.option("--codings", "out", required=True, type=click.Path(dir_okay=False),
              help="Codings file (.csv) your decisions are written to, one at a time; an existing one is resumed.")
@click.option("--coder", required=True, help="Your name as a coder (the 'coder' column).")
@click.option("--train-codings", "train_codings", multiple=True, type=click.Path(dir_okay=False),
              help="Coding file(s) the model learned from: retraining learns from these plus your decisions; "
                   "other coders' codes in them show on the cards (repeat the option for several files).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port on 127.0.0.1 (default: the first free one from 8765).")
@click.option("--no-browser", is_flag=True, help="Only print the address; do not open a browser.")
@click.option("--blind", is_flag=True,
              help="Hide the model's suggestions and other coders' codes: an independent coding for 'capcode agreement'.")
@_codebook_option
@_trust_model_option
@click.pass_context
def review_command(ctx, fragments, model_dir, out, coder, train_codings, port, no_browser, blind, codebook,
                   trust_model):
    """Review suggestions in the browser, one fragment at a time, keyboard first.

    Serves a page on 127.0.0.1 only and prints its address with a secret token. Every
    decision is written at once to the codings file, which every other command reads
    with --codings; starting again resumes where you stopped. Every 'review.retrain_every'
    decisions (params.yaml) the model is retrained in the background. Stop with Ctrl-C.

    Example:

    \b
        capcode review --fragments fragments.jsonl --model models/team --codings review_anna.csv \\
            --coder anna --train-codings codings/team.csv
    """
    from .review.run import run_review

    run_review(fragments, model_dir, out, coder, get_params(ctx), train_codings, port, not no_browser, blind,
               codebook, echo=click.echo, trust_model=trust_model)


# [agreement/disagreements commands]


def _refuse_as_without_predictions(predictions_path) -> None:
    """--as names the coder of --predictions; alone it would be ignored without a word."""
    ctx = click.get_current_context()
    if predictions_path is None and ctx.get_parameter_source("as_name") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--as names the coder of the predictions: give --predictions FILE too.")


def _refuse_for_spans(given: dict) -> None:
    """Options of fragment mode that span mode has no use for: refused rather than ignored."""
    for option, value in given.items():
        if value is not None:
            raise click.UsageError(f"{option} is for --unit fragment; span agreement compares the coders' own spans.")


@cli.command("agreement", epilog="Manual: docs/agreement.md")
@click.argument("coding_files", nargs=-1, required=True, type=click.Path())
@click.option("--unit", type=click.Choice(["fragment", "span"]), default="fragment", show_default=True,
              help="fragment: codes per fragment (alpha, kappa, AC1); span: the coders' own text spans "
                   "(alpha-U, character kappa), from span codings with --transcripts, a .qdpx or an import folder.")
@click.option("--codebook", "codebook_name", default=None,
              help="Codebook name or YAML file: checks values, sets levels and conditions (default: none; "
                   "dimensions and values as coded).")
@click.option("--transcripts", "transcripts", type=click.Path(file_okay=False), default=None,
              help="--unit span: the transcripts folder (as given to 'capcode segment'); offsets refer to their text.")
@click.option("--disagreements", "disagreements_path", type=click.Path(dir_okay=False), default=None,
              help="--unit span: also write the passages where coders differ, with the text (.xlsx or .csv).")
@click.option("--fragments", "fragments_path", type=click.Path(dir_okay=False), default=None,
              help="Fragments file (for span-form codings, fragment order and the text in the disagreements sheet).")
@click.option("--level", type=click.Choice(["nominal", "ordinal", "interval"]), default=None,
              help="Level of measurement for every dimension (default: the codebook's, else nominal).")
@click.option("--predictions", "predictions_path", type=click.Path(dir_okay=False), default=None,
              help="A predictions file from 'capcode predict', taking part as one more coder.")
@click.option("--as", "as_name", default="model", show_default=True, help="Coder name of the predictions.")
@click.option("--merge-coders", is_flag=True,
              help="Treat the same coder name in different files as one coder (default: kept apart as FILE:CODER).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the report here (default: print it).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "xlsx", "csv"]), default=None,
              help="table (readable), json, xlsx (figures + disagreements sheets) or csv (one figure per row); "
                   "default: from --out's extension, else table.")
@click.pass_context
def agreement_command(ctx, coding_files, unit, codebook_name, transcripts, disagreements_path, fragments_path, level,
                      predictions_path, as_name, merge_coders, out_path, fmt):
    """Inter-coder agreement per dimension: Krippendorff's alpha (95% bootstrap CI), Fleiss',
    Cohen's (per pair) kappa, Gwet's AC1, Brennan-Prediger, percent and per-value agreement.

    Several coding files are merged, each file's coders kept apart. Units coded by only some
    coders are missing data, not disagreement. Bootstrap resamples and seed come from
    'agreement' in params.yaml.

    With --unit span the coders' own spans are compared: Krippendorff's alpha-U per dimension
    and value, and NVivo's character kappa and agreement, pooled and per source.

    Example:

    \b
        capcode agreement data/sample/codings/team.csv data/sample/codings/coder2.csv \\
            --codebook default --fragments fragments.jsonl
        capcode agreement team.csv --predictions predictions.jsonl --as model --out agreement.json
        capcode agreement --unit span team.csv coder2.csv --transcripts transcripts --codebook default
        capcode agreement --unit span project.qdpx --out agreement.xlsx
    """
    params = get_params(ctx).agreement
    if unit == "span":
        from .agreement.span_run import run_span_agreement

        as_given = ctx.get_parameter_source("as_name") is not click.core.ParameterSource.DEFAULT
        _refuse_for_spans({"--fragments": fragments_path, "--level": level, "--predictions": predictions_path,
                           "--as": as_name if as_given else None})
        text = run_span_agreement(coding_files, transcripts, codebook_name, out_path, fmt, params.bootstrap,
                                  params.seed, merge_coders, disagreements_path, get_params(ctx).codebook)
        click.echo(text, nl=False)
        return
    from .agreement.run import run_agreement

    for option, given in (("--transcripts", transcripts), ("--disagreements", disagreements_path)):
        if given is not None:
            raise click.UsageError(f"{option} is for --unit span (fragment codes: 'capcode disagreements').")
    folders = [f for f in coding_files if Path(f).is_dir()]
    if folders:
        raise click.UsageError(f"{folders[0]} is a folder; give coding files (a folder of spans needs --unit span).")
    _refuse_as_without_predictions(predictions_path)
    text = run_agreement(coding_files, codebook_name, fragments_path, level, predictions_path, as_name,
                         out_path, fmt, params.bootstrap, params.seed, merge_coders)
    click.echo(text, nl=False)


@cli.command("disagreements", epilog="Manual: docs/agreement.md")
@click.argument("coding_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--fragments", "fragments_path", type=click.Path(dir_okay=False), default=None,
              help="Fragments file from 'capcode segment': gives each unit's text, case and respondent.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The sheet to write (.xlsx or .csv); with --merge, the consensus codings (.csv, .xlsx, .jsonl).")
@click.option("--codebook", "codebook_name", default=None,
              help="Codebook name or YAML file (checks values; with --merge, drops values the consensus rules out).")
@click.option("--predictions", "predictions_path", type=click.Path(dir_okay=False), default=None,
              help="A predictions file taking part as one more coder.")
@click.option("--as", "as_name", default="model", show_default=True, help="Coder name of the predictions.")
@click.option("--merge", "reconciled_path", type=click.Path(dir_okay=False), default=None,
              help="A disagreements sheet with its 'consensus' column filled in: write consensus codings to --out.")
@click.option("--coder", "coder_name", default="consensus", show_default=True,
              help="With --merge: the coder name of the consensus codes.")
@click.option("--merge-coders", is_flag=True,
              help="Treat the same coder name in different files as one coder (default: kept apart as FILE:CODER).")
def disagreements_command(coding_files, fragments_path, out_path, codebook_name, predictions_path, as_name,
                          reconciled_path, coder_name, merge_coders):
    """List every unit where coders differ, for a reconciliation meeting; or merge the outcome.

    The sheet has one row per dimension and unit, sorted by dimension: fragment text, case,
    respondent, each coder's value and an empty 'consensus' column. Fill that in, then run with
    --merge to write a consensus codings file (long form: fragment_id, coder, dimension, value):
    the sheet's consensus where given, else the value the coders agreed on.

    Example:

    \b
        capcode disagreements team.csv --fragments fragments.jsonl --out meeting.xlsx
        capcode disagreements team.csv --merge meeting.xlsx --out consensus.csv
    """
    _refuse_as_without_predictions(predictions_path)
    if reconciled_path:
        from .agreement.disagreements import run_merge

        click.echo(run_merge(coding_files, reconciled_path, out_path, codebook_name, fragments_path, coder_name,
                             merge_coders), nl=False)
        return
    from .agreement.disagreements import run_disagreements

    click.echo(run_disagreements(coding_files, fragments_path, out_path, codebook_name, None, predictions_path,
                                 as_name, merge_coders), nl=False)

# [aggregate commands]


@cli.command("aggregate", epilog="Manual: docs/aggregates-and-reports.md")
@click.option("--fragments", "fragments_path", required=True, type=click.Path(dir_okay=False),
              help="Fragments file written by 'capcode segment'.")
@_codings_option(required=False, help="Hand codings (CSV/XLSX/JSONL), one or more files: --codings team.csv "
                                      "coder2.csv. A human code wins over a prediction.")
@click.option("--predictions", "predictions_path", type=click.Path(dir_okay=False), default=None,
              help="Predictions written by 'capcode predict'; abstentions are counted as 'te beoordelen'.")
@click.option("--codebook", default=None,
              help="Codebook name or YAML path (default: 'codebook' in params.yaml).")
@click.option("--report-tables", type=click.Path(dir_okay=False), default=None,
              help="Optional case,table,column,row,item table of a report to set beside the computed tables.")
@click.option("--cases", "cases_path", type=click.Path(dir_okay=False), default=None,
              help="Optional cases table (case, type): the report's own ch. 6 type, set beside the rule's.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for summary.md, report.html, aggregates.xlsx, aggregates.csv and the PNGs.")
@click.pass_context
def aggregate_command(ctx, fragments_path, codings, more_codings, predictions_path, codebook, report_tables,
                      cases_path, out_dir):
    """Per-case tables of coded and predicted fragments, and an overview across cases.

    Cross-tabulates the dimensions named under 'aggregate' in params.yaml (by default
    strategisch/operationeel x intern/extern x beleid/beheer), per case, per respondent
    role and across cases; places each case against the report's ch. 6 types; prints the
    overview on stdout.

    Example:

    \b
        capcode aggregate --fragments out/fragments.jsonl \\
            --codings data/sample/codings/team.csv --predictions out/predictions.jsonl \\
            --out out/aggregate
    """
    from pathlib import Path

    from .aggregate.run import run_aggregate

    params = get_params(ctx)
    run_aggregate(fragments_path, out_dir, _all_codings(codings, more_codings), predictions_path,
                  codebook or params.codebook, params.aggregate, report_tables, cases_path, params.report.language)
    click.echo((Path(out_dir) / "overview.txt").read_text(encoding="utf-8"), nl=False)


# [qdpx commands]


@cli.command("import-qdpx", epilog="Manual: docs/qda-exchange.md")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for sources/, sources.csv, codings.csv, codes.csv, unmapped_codes.csv, manifest.csv, "
                   "qdpx_import.json.")
@click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False), default=None,
              help="CSV/XLSX with columns code, dimension, value for codes not named by the convention.")
@click.option("--codebook", default=None,
              help="Codebook name or YAML path (default: 'codebook' in params.yaml).")
@click.option("--offsets", type=click.Choice(["auto", "codepoints", "utf16", "crlf-as-one", "lf-as-two",
                                              "utf16+crlf-as-one", "utf16+lf-as-two"]), default="auto",
              show_default=True, help="How the tool counted selection positions; 'auto' detects and says so.")
@click.pass_context
def import_qdpx_command(ctx, project, out_dir, mapping_path, codebook, offsets):
    """Import hand codings from a REFI-QDA project (.qdpx from NVivo, ATLAS.ti, MAXQDA, QualCoder).

    Writes the text sources as .txt files, the codings in the long span form (one coder per
    REFI user; codes mapped to codebook dimensions by a hierarchy 'dimension/value' or a
    name 'dimension: value', or by --mapping), the code tree, and the codes it could not map.

    Example:

    \b
        capcode import-qdpx project.qdpx --out imported
        capcode segment imported/sources --manifest imported/manifest.csv --out fragments.jsonl
        capcode codings check imported/codings.csv --fragments fragments.jsonl
    """
    from .qdpx.importing import run_import_qdpx

    summary = run_import_qdpx(project, out_dir, codebook or get_params(ctx).codebook, mapping_path, offsets,
                              _limits(ctx))
    coders = ", ".join(f"{name} ({count})" for name, count in summary["coders"].items()) or "none"
    click.echo(f"sources: {summary['sources']}\nselections: {summary['selections']}\n"
               f"codings: {summary['codings']} (mapped {summary['mapped_codings']}, unmapped "
               f"{summary['unmapped_codings']}, te beoordelen {summary['review_codings']})\n"
               f"coders: {coders}\noffsets: {summary['offsets']}\n"
               f"next: {summary['segment_command']}")


@cli.command("export-qdpx", epilog="Manual: docs/qda-exchange.md")
@click.option("--fragments", "fragments_path", required=True, type=click.Path(dir_okay=False),
              help="Fragments file written by 'capcode segment'.")
@click.option("--predictions", "predictions_path", type=click.Path(dir_okay=False), default=None,
              help="Predictions written by 'capcode predict' (suggestions by user capcode-model-<name>).")
@_codings_option(required=False, help="Hand codings to include under each coder's own user, one or more files: "
                                      "--codings team.csv coder2.csv.")
@click.option("--codebook", default=None,
              help="Codebook name or YAML path (default: 'codebook' in params.yaml).")
@click.option("--transcripts", type=click.Path(exists=True), default=None,
              help="The folder given to 'capcode segment' (without it the text between fragments is blank).")
@click.option("--name", default=None, help="Project name shown in the QDA tool (default: 'capcode <codebook>').")
@click.option("--created", default=None, metavar="DATETIME",
              help="Creation time to record on the project, sources and codings, e.g. 2024-05-31T14:00:00Z "
                   "(default: SOURCE_DATE_EPOCH if set, else 1980-01-01T00:00:00Z, so exports repeat byte for byte).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The .qdpx file to write.")
@click.pass_context
def export_qdpx_command(ctx, fragments_path, predictions_path, codings, more_codings, codebook, transcripts, name,
                        created, out):
    """Export suggestions (and hand codings) as a REFI-QDA project to open in a QDA tool.

    One text source per transcript, the codebook as a code tree (dimension, then value),
    each suggestion as a coding of its fragment by user 'capcode-model-<name>' with the
    probabilities in the selection's description; abstentions under 'te beoordelen'. Human
    coders come first among the users; each source carries its case, respondent and rol.

    Example:

    \b
        capcode export-qdpx --fragments fragments.jsonl --predictions predictions.jsonl \\
            --transcripts data/sample/transcripts --out suggestions.qdpx
    """
    from .qdpx.write import run_export_qdpx

    codings_paths = _all_codings(codings, more_codings)
    if not predictions_path and not codings_paths:
        raise click.UsageError("give --predictions, --codings or both.")
    summary = run_export_qdpx(fragments_path, predictions_path, out, codebook or get_params(ctx).codebook,
                              codings_paths, transcripts, name, created)
    users = ", ".join(f"{user} ({count})" for user, count in summary["users"].items()) or "none"
    click.echo(f"{out}: {summary['sources']} sources, {summary['selections']} coded selections "
               f"({summary['abstained']} abstentions under 'te beoordelen'); users: {users}")


@cli.command("export-qdc", epilog="Manual: docs/qda-exchange.md")
@click.option("--codebook", default=None,
              help="Codebook name or YAML path (default: 'codebook' in params.yaml).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The .qdc file to write.")
@click.pass_context
def export_qdc_command(ctx, codebook, out):
    """Write the codebook alone as a REFI-QDA codebook (.qdc) to import into a QDA tool.

    Example:

        capcode export-qdc --codebook default --out codebook.qdc
    """
    from .qdpx.write import run_export_qdc

    run_export_qdc(codebook or get_params(ctx).codebook, out)
    click.echo(out)


# [study commands]


@cli.command("init", epilog="Manual: docs/your-own-study.md")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--transcripts", "transcripts", multiple=True, type=click.Path(),
              help="A folder of transcripts (or single files) to copy into the study; may be repeated.")
@click.option("--codebook", "codebook_name", default="default", show_default=True,
              help="Codebook name or YAML file; the study gets its own copy (codebook.yaml).")
def init_command(folder, transcripts, codebook_name):
    """Make a study folder of your own: transcripts, manifest, codebook, settings, DVC pipeline.

    FOLDER must not exist yet (or be empty). It gets the transcripts (copied), a
    manifest.csv with case and respondent from the file names and the interviewer
    of each transcript, a copy of the codebook, a codings template, params.yaml
    with every setting explained, a dvc.yaml whose paths all point into the
    folder, and a README (in Dutch) with the next commands. In the folder,
    `dvc repro` segments the transcripts and makes a coding sheet; once there
    are codes, it also trains, predicts, evaluates and aggregates.

    Example:

    \b
        capcode init mystudy --transcripts ~/interviews
        cd mystudy && dvc repro
    """
    from .study.init import init_study, next_steps

    summary = init_study(folder, transcripts, codebook_name)
    click.echo(next_steps(summary))


@cli.command("coding-sheet", epilog="Manual: docs/your-own-study.md")
@click.option("--fragments", required=True, type=click.Path(dir_okay=False),
              help="Fragments file written by 'capcode segment'.")
@click.option("--codings", "codings_path", type=click.Path(dir_okay=False), default=None,
              help="Codings file whose codes are filled in (if it exists), so coding can go on in the sheet.")
@_codebook_option
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The sheet to write: .xlsx (with a pick list per dimension) or .csv.")
@click.pass_context
def coding_sheet_command(ctx, fragments, codings_path, codebook, out):
    """Write a sheet to code the fragments in: id, case, respondent, question, text, a column per dimension.

    Saved as the study's codings file (e.g. codings/team.xlsx), the sheet is read
    by train, evaluate and aggregate as it is; its text columns are ignored there.

    Example:

    \b
        capcode coding-sheet --fragments out/fragments.jsonl --codings codings/team.xlsx --out out/coding-sheet.xlsx
    """
    from .study.coding_sheet import run_coding_sheet

    counts = run_coding_sheet(fragments, codebook or get_params(ctx).codebook, out, codings_path)
    todo = counts["fragments"] - counts["coded"]
    hint = f"; code it and save it as {codings_path or 'your codings file'}, then dvc repro" if todo else ""
    click.echo(f"capcode: wrote {out}: {counts['fragments']} fragments, {counts['coded']} with codes{hint}.", err=True)


@cli.command("if-coded", epilog="Manual: docs/your-own-study.md", context_settings={"ignore_unknown_options": True})
@click.argument("codings", type=click.Path(dir_okay=False))
@click.option("--outs", "outs", multiple=True, type=click.Path(),
              help="An output of the command; until there are codes it is written as a placeholder. Repeatable.")
@_codebook_option
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def if_coded_command(ctx, codings, outs, codebook, command):
    """Run a command once CODINGS holds codes; until then write placeholders and say so (exit 0).

    Used in a study's dvc.yaml (see 'capcode init') so that `dvc repro` succeeds
    before the team has coded anything, and trains, predicts, evaluates and
    aggregates as soon as it has.

    Example:

    \b
        capcode if-coded codings/team.xlsx --outs model -- capcode train --fragments out/fragments.jsonl --codings codings/team.xlsx --out model
    """
    from .study.waiting import run_if_coded

    code = run_if_coded(codings, outs, list(command), codebook or get_params(ctx).codebook)
    ctx.exit(code)


def main():
    """Console-script entry point: SIGTERM, SIGINT and SIGHUP stop a run cleanly (runs.py)."""
    from .runs import RunInterrupted, remove_live_temps, stop_on_signals

    stop_on_signals()
    try:
        cli(obj={})
    except RunInterrupted as stopped:
        remove_live_temps()
        click.echo(f"capcode: stopped by {stopped.name}; outputs not finished were not written "
                   "(their temporary files are removed).", err=True)
        sys.exit(128 + stopped.signum)


if __name__ == "__main__":
    main()
