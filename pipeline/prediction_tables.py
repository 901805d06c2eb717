"""The predictions file `capcode predict` writes, in the form its extension asks for.

- `.jsonl`: the machine format, one line per fragment and dimension with the runner-up
  (`write_predictions`), streamed.
- `.csv` / `.xlsx`: a table for people, one row per fragment: case, respondent, source,
  fragment_id and text, then per dimension (codebook order) the suggestion (`relevant`), its
  probability (`relevant_probability`, a number; in a workbook with a percent format) and whether
  the model abstained (`relevant_abstained`), and last the model and `in_training` (the model
  learned from this fragment: its suggestion is no independent coding). A dimension that does not
  apply to a fragment (its condition's suggestion differs) is left empty. The runner-up stays
  in the .jsonl only.

`read_predictions` reads all of them back, in any of these forms (and the long form as a table).
"""

from collections import defaultdict
from pathlib import Path

from .errors import InputError
from .errors import where
from .files import Percent, read_fragments, read_table, write_jsonl, write_table

PREDICTION_COLUMNS = ("fragment_id", "dimension", "value", "probability", "runner_up",
                      "runner_up_probability", "abstained", "model", "in_training")
# The spreadsheet form (one row per fragment, `pipeline.prediction_tables`): per dimension the
# suggestion in a column named after it, then these two.
PROBABILITY_SUFFIX = "_probability"
ABSTAINED_SUFFIX = "_abstained"


def write_predictions(path, predictions) -> int:
    """Write Prediction records in the long form, one line per fragment and dimension; returns the count.

    .jsonl is the machine format `capcode predict` writes; .csv/.xlsx in this form are for
    other programs (`capcode predict` writes spreadsheets one row per fragment, with
    `pipeline.prediction_tables`). `read_predictions` reads every form.
    """
    rows = ([getattr(p, c) for c in PREDICTION_COLUMNS] for p in predictions)
    if Path(path).suffix.lower() == ".jsonl":
        return write_jsonl(path, (dict(zip(PREDICTION_COLUMNS, row)) for row in rows))
    rows = list(rows)
    write_table(path, PREDICTION_COLUMNS, rows, sheet="predictions")
    return len(rows)


def _probability(path, row, column):
    """A probability cell as a float (None when empty); refused when not a number between 0 and 1."""
    raw = row.get(column)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InputError(f"{where(path, row['row'])}, column '{column}': {raw!r} is not a number.") from None
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise InputError(f"{where(path, row['row'])}, column '{column}': {value} is not a probability; "
                         "it must lie between 0 and 1 (as 'capcode predict' writes it).")
    return value


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "ja", "yes", "waar")
    return bool(value)


def wide_dimensions(header) -> list:
    """The dimensions of a predictions table in the one-row-per-fragment form (a column X beside X_probability)."""
    return [h for h in header if h and f"{h}{PROBABILITY_SUFFIX}" in header]


def read_predictions(path):
    """Read Prediction records from any file `capcode predict` writes: .jsonl (one line per fragment
    and dimension) or a .csv/.xlsx table (one row per fragment, or one per fragment and dimension)."""
    from .records import Prediction

    header, rows = read_table(path)
    if "dimension" not in header and "fragment_id" in header and wide_dimensions(header):
        return _read_wide_predictions(path, header, rows)
    missing = [c for c in ("fragment_id", "dimension", "value", "probability") if c not in header]
    if missing:
        raise InputError(f"{path}: not a predictions file (missing column {', '.join(missing)}).")
    out = []
    for row in rows:
        absent = [c for c in ("fragment_id", "dimension", "value", "probability") if c not in row]
        if absent:  # a JSON Lines record can lack what others have
            raise InputError(f"{where(path, row['row'])}: lacks {', '.join(absent)}; "
                             "expected a predictions file as 'capcode predict' writes it.")
        probability = _probability(path, row, "probability")
        if probability is None:
            raise InputError(f"{where(path, row['row'])}, column 'probability': empty; give the probability.")
        runner = row.get("runner_up") or None
        runner_p = _probability(path, row, "runner_up_probability")
        out.append(Prediction(str(row["fragment_id"]), str(row["dimension"]), str(row["value"]), probability,
                              runner, runner_p, _flag(row.get("abstained", False)), str(row.get("model", "")),
                              _flag(row.get("in_training", False))))
    return out


def _read_wide_predictions(path, header, rows) -> list:
    """Predictions from the one-row-per-fragment table: a prediction where a dimension's cell has a value."""
    from .records import Prediction

    dimensions = wide_dimensions(header)
    out = []
    for row in rows:
        fragment_id = str(row.get("fragment_id", "")).strip()
        if not fragment_id:
            raise InputError(f"{where(path, row['row'])}, column 'fragment_id': empty; give the fragment id.")
        for dimension in dimensions:
            value = str(row.get(dimension, "")).strip()
            if not value:
                continue
            probability = _probability(path, row, dimension + PROBABILITY_SUFFIX)
            if probability is None:
                raise InputError(f"{where(path, row['row'])}, column '{dimension}{PROBABILITY_SUFFIX}': empty "
                                 f"beside the suggestion '{value}'; give its probability.")
            out.append(Prediction(fragment_id, dimension, value, probability, None, None,
                                  _flag(row.get(dimension + ABSTAINED_SUFFIX, False)), str(row.get("model", "")),
                                  _flag(row.get("in_training", False))))
    return out


FRAGMENT_COLUMNS = ("case", "respondent", "source", "fragment_id", "text")
TABLE_SUFFIXES = (".csv", ".xlsx")


def table_header(dimensions) -> list:
    """The columns of the one-row-per-fragment table for these dimensions."""
    header = list(FRAGMENT_COLUMNS)
    for dimension in dimensions:
        header += [dimension, dimension + PROBABILITY_SUFFIX, dimension + ABSTAINED_SUFFIX]
    return header + ["model", "in_training"]


def table_rows(predictions, fragments, dimensions=None) -> tuple:
    """(header, rows, number of predictions): one row per fragment, in the fragments' order.

    `dimensions` sets the column order (the codebook's); dimensions not named come after, as they occur.
    """
    by_fragment = defaultdict(dict)
    order = list(dimensions or ())
    models = {}
    trained_on = set()
    count = 0
    for prediction in predictions:
        by_fragment[prediction.fragment_id][prediction.dimension] = prediction
        models.setdefault(prediction.fragment_id, prediction.model)
        if prediction.in_training:
            trained_on.add(prediction.fragment_id)
        if prediction.dimension not in order:
            order.append(prediction.dimension)
        count += 1
    header = table_header(order)
    rows, seen = [], set()
    for fragment in fragments:
        seen.add(fragment.id)
        suggestions = by_fragment.get(fragment.id, {})
        row = [fragment.case, fragment.respondent, fragment.source, fragment.id, fragment.text]
        for dimension in order:
            p = suggestions.get(dimension)
            row += [p.value, Percent(p.probability), p.abstained] if p is not None else ["", None, None]
        rows.append(row + [models.get(fragment.id, ""), fragment.id in trained_on])
    missing = sorted(set(by_fragment) - seen)
    if missing:
        raise InputError(f"prediction for fragment '{missing[0]}', which is not in the fragments file "
                         f"({len(missing)} such); use the fragments the predictions were made from.")
    return header, rows, count


def write_prediction_file(path, predictions, fragments, dimensions=None) -> int:
    """Write predictions as `path`'s extension asks (.jsonl, .csv, .xlsx); return how many there are.

    `fragments`: the Fragment records (or the fragments file) the predictions were made for, in
    order; the tables take each fragment's case, respondent, source and text from them.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        return write_predictions(path, predictions)
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"--out {path}: write predictions to a .jsonl, .csv or .xlsx file.")
    if isinstance(fragments, (str, Path)):
        fragments = read_fragments(fragments)
    predictions = list(predictions)  # consumed before the fragments are read again for the table
    header, rows, count = table_rows(predictions, fragments, dimensions)
    write_table(path, header, rows, sheet="predictions")
    return count
