"""One validation for every stage that reads codings or predictions.

`train`, `evaluate`, `suggest`, `aggregate`, `agreement`, `disagreements` and `export-qdpx` read
coding files with `read_checked_codings`: it refuses exactly what `capcode codings check` refuses
(the same reader, then the same `check_codings`), with the same message, as one line: the first
problem, and how many more there are (`capcode codings check` lists them all). Predictions are
read with `read_checked_predictions`: refused when they are on dimensions or values the
codebook does not have (made with another codebook's model) or on fragments that are not in
the fragments file.
"""

import logging
from pathlib import Path

from .codebook.read import load_codebook
from .codings import as_fragments, read_codings
from .codings_check import check_codings
from .errors import CapcodeError, InputError
from .prediction_tables import read_predictions

log = logging.getLogger("capcode")


def summary_line(problems, intro: str = "") -> str:
    """The first problem, and how many more there are, as one line."""
    problems = list(problems)
    more = len(problems) - 1
    tail = (f" (and {more} more problem{'s' if more > 1 else ''}; 'capcode codings check' lists them all)"
            if more > 0 else "")
    return f"{intro}{problems[0]}{tail}"


def _names(paths) -> str:
    return ", ".join(str(p) for p in paths)


def read_checked_codings(paths, codebook=None, fragments=None, merge_coders: bool = False) -> list:
    """Coding files read as `capcode codings check` reads them, refused with one line where it fails.

    `codebook`: a Codebook, a name or a path (None: dimensions and values as coded, as
    `capcode agreement` allows); `fragments`: Fragment records or a fragments file (None: the
    fragment ids cannot be checked, as in `codings check` without --fragments).
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    codebook = load_codebook(codebook) if codebook is not None else None
    fragments = as_fragments(fragments)
    try:
        codings = read_codings(paths, codebook, fragments, merge_coders=merge_coders)
    except CapcodeError as exc:
        problems = getattr(exc, "problems", ())
        if not problems:
            raise
        raise type(exc)(summary_line(problems)) from None
    refuse_failed_check(codings, fragments, codebook, paths)
    return codings


def refuse_failed_check(codings, fragments, codebook, paths) -> None:
    """Raise InputError (one line) when `check_codings` finds errors; warnings are only counted."""
    report = check_codings(codings, fragments, codebook)
    if not report.ok:
        raise InputError(summary_line(report.errors, f"{_names(paths)}: "))
    if report.warnings:
        log.info("%s: %d warning(s) about the codings; 'capcode codings check' lists them.",
                 _names(paths), len(report.warnings))


def read_checked_predictions(path, codebook=None, fragments=None) -> list:
    """Predictions of `path`, refused with one line when they do not fit the codebook or the fragments."""
    predictions = read_predictions(path)
    if codebook is not None:
        check_prediction_codebook(predictions, load_codebook(codebook), path)
    if fragments is not None:
        known = {f.id for f in as_fragments(fragments)}
        predicted = {p.fragment_id for p in predictions}
        unknown = sorted(predicted - known)
        if unknown:
            listed = ", ".join(f"'{u}'" for u in unknown[:3]) + (", ..." if len(unknown) > 3 else "")
            raise InputError(f"{path}: {len(unknown)} of {len(predicted)} predicted fragments are not in the fragments "
                             f"file ({listed}); predict again on these fragments (capcode predict).")
    return predictions


def check_prediction_codebook(predictions, codebook, path) -> None:
    """Predictions on a dimension or value the codebook lacks were made for another codebook."""
    advice = ("the predictions were made with a model of another codebook; give that codebook (--codebook) "
              "or predict again with a model trained on this one.")
    for prediction in predictions:
        if not codebook.has_dimension(prediction.dimension):
            others = sorted({p.dimension for p in predictions} - set(codebook.dimension_ids))
            raise InputError(f"{path}: dimension{'s' if len(others) > 1 else ''} {', '.join(others)} "
                             f"{'are' if len(others) > 1 else 'is'} not in codebook '{codebook.name}' "
                             f"({', '.join(codebook.dimension_ids)}); {advice}")
        if codebook.dimension(prediction.dimension).normalize(prediction.value) is None:
            raise InputError(f"{path}, fragment '{prediction.fragment_id}': '{prediction.value}' is not a value of "
                             f"'{prediction.dimension}' in codebook '{codebook.name}'; {advice}")
