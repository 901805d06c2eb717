"""`capcode aggregate`: the per-case tables and the reports."""

import click

from .common import _all_codings, _codings_option, cli, get_params


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

    from ..aggregate.run import run_aggregate

    params = get_params(ctx)
    run_aggregate(fragments_path, out_dir, _all_codings(codings, more_codings), predictions_path,
                  codebook or params.codebook, params.aggregate, report_tables, cases_path, params.report.language)
    click.echo((Path(out_dir) / "overview.txt").read_text(encoding="utf-8"), nl=False)
