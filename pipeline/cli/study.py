"""`capcode init`, `coding-sheet` and `if-coded`: a study of your own."""

import click

from .common import _codebook_option, cli, get_params


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
    from ..study.init import init_study, next_steps

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
    from ..study.coding_sheet import run_coding_sheet

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
    from ..study.waiting import run_if_coded

    code = run_if_coded(codings, outs, list(command), codebook or get_params(ctx).codebook)
    ctx.exit(code)
