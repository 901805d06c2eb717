"""`capcode text` and `capcode segment`: reading transcripts and cutting them into fragments."""

import sys

import click

from .common import _limits, cli, get_params, get_workers, workers_options


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
    from ..segment import run_text

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
    from ..segment import run_segment, with_interviewer

    params = with_interviewer(get_params(ctx).segment, include_interviewer)
    count = run_segment(list(inputs), out, params, unit, list(manifests) or None, limits=_limits(ctx),
                        workers=get_workers(ctx, jobs, backend, scheduler), shard_size=shard_size)
    click.echo(f"capcode: wrote {count} {unit}s to {out}", err=True)
