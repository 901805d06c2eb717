"""The predictions file `capcode predict` writes, in the form its extension asks for.

- `.jsonl`: the machine format, one line per fragment and dimension with the runner-up
  (`files.write_predictions`), streamed.
- `.csv` / `.xlsx`: a table for people, one row per fragment: case, respondent, source,
  fragment_id and text, then per dimension (codebook order) the suggestion (`relevant`), its
  probability (`relevant_probability`, a number; in a workbook with a percent format) and whether
  the model abstained (`relevant_abstained`), and last the model and `in_training` (the model
  learned from this fragment: its suggestion is no independent coding). A dimension that does not
  apply to a fragment (its condition's suggestion differs) is left empty. The runner-up stays
  in the .jsonl only.

`files.read_predictions` reads all of them back.
"""

from collections import defaultdict
from pathlib import Path

from .errors import InputError
from .files import ABSTAINED_SUFFIX, PROBABILITY_SUFFIX, Percent, read_fragments, write_table
from .files import write_predictions as write_jsonl_predictions

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
        return write_jsonl_predictions(path, predictions)
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"--out {path}: write predictions to a .jsonl, .csv or .xlsx file.")
    if isinstance(fragments, (str, Path)):
        fragments = read_fragments(fragments)
    predictions = list(predictions)  # consumed before the fragments are read again for the table
    header, rows, count = table_rows(predictions, fragments, dimensions)
    write_table(path, header, rows, sheet="predictions")
    return count
