"""`capcode codebook show|check` and `capcode codings check`: the codebook and the team's codings."""

import click

from .common import cli, get_params


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
    from ..codebook.show import run_codebook_show

    click.echo(run_codebook_show(codebook_file, language=lang, as_json=as_json), nl=False)


@codebook.command("check", epilog="Manual: docs/codebooks-and-codings.md")
@click.argument("codebook_file", metavar="FILE")
def codebook_check(codebook_file):
    """Validate a codebook file; every problem is listed with its line.

    Prints 'OK: <name> <version>, N dimensions', or the problems and exits 1.

    Example:

        capcode codebook check my_codebook.yaml
    """
    from ..codebook.show import run_codebook_check

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
    from ..codings_check import run_codings_check

    name = codebook_name or get_params(ctx).codebook
    text, ok = run_codings_check(coding_files, fragments_path, name, merge_coders=merge_coders)
    click.echo(text, nl=False)
    if not ok:
        ctx.exit(1)
