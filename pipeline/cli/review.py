"""`capcode review`: reviewing suggestions in the browser."""

import click

from .common import _codebook_option, _trust_model_option, cli, get_params


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
    from ..review.run import run_review

    run_review(fragments, model_dir, out, coder, get_params(ctx), train_codings, port, not no_browser, blind,
               codebook, echo=click.echo, trust_model=trust_model)
