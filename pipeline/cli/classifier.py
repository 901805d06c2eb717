"""`capcode train`, `predict`, `evaluate` and `suggest`: the classifier's commands."""

from pathlib import Path

import click

from .common import (_all_codings, _codebook_option, _codings_option, _trust_model_option, cli, get_params,
                     get_workers, workers_options)


def _with_codebook(params, codebook):
    """Params with the codebook given on the command line, if any."""
    import dataclasses

    return dataclasses.replace(params, codebook=codebook) if codebook else params


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
    from ..train import describe, run_train

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
    from ..predict import run_predict

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
    from ..evaluate import format_metrics, run_evaluate

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
    from ..predict import format_suggestions, run_suggest

    if more_codings and Path(fragments).suffix.lower() in (".csv", ".xlsx", ".tsv"):
        raise click.UsageError(f"{fragments} is a table, not a fragments file: give FRAGMENTS before --codings.")
    codings = _all_codings(codings, more_codings)
    suggestions = run_suggest(model_dir, fragments, get_params(ctx), n, out, strategy, codings, codebook, trust_model,
                              workers=get_workers(ctx, jobs, backend, scheduler))
    if out:
        click.echo(f"capcode: wrote {len(suggestions)} suggestions to {out}", err=True)
    else:
        click.echo(format_suggestions(suggestions))
