"""`capcode import-qdpx`, `export-qdpx` and `export-qdc`: exchange with QDA software (REFI-QDA)."""

import click

from .common import _all_codings, _codings_option, _limits, cli, get_params


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
    from ..qdpx.importing import run_import_qdpx

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
    from ..qdpx.write import run_export_qdpx

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
    from ..qdpx.write import run_export_qdc

    run_export_qdc(codebook or get_params(ctx).codebook, out)
    click.echo(out)
