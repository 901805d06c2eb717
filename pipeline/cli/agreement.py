"""`capcode agreement` (per fragment or per span) and `capcode disagreements`."""

from pathlib import Path

import click

from .common import cli, get_params


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
        from ..agreement.span_run import run_span_agreement

        as_given = ctx.get_parameter_source("as_name") is not click.core.ParameterSource.DEFAULT
        _refuse_for_spans({"--fragments": fragments_path, "--level": level, "--predictions": predictions_path,
                           "--as": as_name if as_given else None})
        text = run_span_agreement(coding_files, transcripts, codebook_name, out_path, fmt, params.bootstrap,
                                  params.seed, merge_coders, disagreements_path, get_params(ctx).codebook)
        click.echo(text, nl=False)
        return
    from ..agreement.run import run_agreement

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
        from ..agreement.disagreements import run_merge

        click.echo(run_merge(coding_files, reconciled_path, out_path, codebook_name, fragments_path, coder_name,
                             merge_coders), nl=False)
        return
    from ..agreement.disagreements import run_disagreements

    click.echo(run_disagreements(coding_files, fragments_path, out_path, codebook_name, None, predictions_path,
                                 as_name, merge_coders), nl=False)
