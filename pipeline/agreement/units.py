"""Reliability data: coders' codes (and a model's predictions) as one matrix per dimension.

`load_codings` reads coding files as `pipeline.codings.read_codings` does (each file's coders
kept apart) and adds a model's predictions as one more coder (`prediction_codings`).
`reliability_data` turns Coding records into a DimensionData per dimension: coders x units of
value indices, -1 where a coder did not code a unit. With a codebook, its values, their order,
its levels and its conditions apply; without, the values that occur. Both `capcode agreement`
and `capcode disagreements` build on these.
"""

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import CodebookError, InputError
from .statistics import LEVELS

log = logging.getLogger("capcode")


@dataclass(frozen=True, eq=False)
class DimensionData:
    """One dimension's codes as a reliability data matrix, with what it means.

    `codes[i, u]` is the index in `values` of coder i's value for unit u, -1 when not coded (or
    when the unit falls outside the dimension's condition). `numeric` holds the numbers of the
    values for the interval level.
    """

    dimension: str
    level: str
    values: tuple
    coders: tuple
    units: tuple
    codes: np.ndarray
    numeric: Optional[tuple] = None
    condition: str = ""            # e.g. "relevant = ja"; "" when the dimension always applies
    condition_units: int = 0       # units the coders agree the condition holds for
    condition_left_out: int = 0    # units with codes on the dimension left out by the condition
    notes: tuple = ()


def _number(text: str) -> Optional[float]:
    try:
        number = float(str(text).replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _ordered_values(observed) -> tuple:
    """Observed values in a sensible order without a codebook: numerically when all are numbers."""
    numbers = [_number(v) for v in observed]
    if all(n is not None for n in numbers):
        return tuple(v for _, v in sorted(zip(numbers, observed)))
    return tuple(sorted(observed))


def _value_numbers(dimension: str, values: tuple, level: str, from_codebook: bool) -> tuple:
    """(numbers for the interval level or None, note): values' own numbers, else their ranks."""
    if level != "interval":
        return None, ""
    numbers = [_number(v) for v in values]
    if all(n is not None for n in numbers):
        return tuple(numbers), ""
    if from_codebook:
        return (tuple(float(i + 1) for i in range(len(values))),
                f"interval level on values that are not numbers: they are scored 1..{len(values)} "
                "in codebook order (equal spacing assumed).")
    bad = next(v for v, n in zip(values, numbers) if n is None)
    raise InputError(f"dimension '{dimension}': the interval level needs numbers as values, found '{bad}'; "
                     "use --level nominal or ordinal, or give a codebook that orders the values.")


def _fill_codes(codings: list, coder_index: dict, unit_index: dict, value_index: dict) -> np.ndarray:
    """The coders x units matrix of value indices of one dimension's codings (-1 = not coded).

    The same code given twice counts once; a coder giving one unit two different values is
    refused, naming the first cases.
    """
    rows = np.fromiter((coder_index[c.coder] for c in codings), dtype=np.int64, count=len(codings))
    columns = np.fromiter((unit_index[c.fragment_id] for c in codings), dtype=np.int64, count=len(codings))
    values = np.fromiter((value_index[c.value] for c in codings), dtype=np.int64, count=len(codings))
    keys = rows * len(unit_index) + columns
    order = np.argsort(keys, kind="stable")
    repeated = np.flatnonzero((keys[order][1:] == keys[order][:-1]) & (values[order][1:] != values[order][:-1]))
    if len(repeated):
        conflicts = []
        for i in repeated[:3]:
            first, second = codings[order[i]], codings[order[i + 1]]
            conflicts.append(f"{first.fragment_id}: coder '{first.coder}' gave {first.dimension} both "
                             f"'{first.value}' and '{second.value}'")
        more = f" (and {len(repeated) - 3} more)" if len(repeated) > 3 else ""
        raise InputError("; ".join(conflicts) + more + ". Keep one value per coder, fragment and dimension "
                         "('capcode codings check' lists them all).")
    codes = np.full((len(coder_index), len(unit_index)), -1, dtype=np.int64)
    codes[rows, columns] = values
    return codes


def reliability_data(codings, codebook=None, level: Optional[str] = None, unit_order: Optional[Sequence[str]] = None,
                     apply_conditions: bool = True) -> list:
    """DimensionData for every coded dimension (codebook order first), from Coding records.

    Without a codebook, values are those that occur (numbers in numeric order, else
    alphabetical) and the level is nominal unless `level` says otherwise. With a codebook, its
    values, their order and its levels apply (`level` overrides the level for every dimension),
    and a dimension with a condition (`only_when: {relevant: ja}`) is computed over the units
    that all coders who coded the condition agree satisfy it (`apply_conditions`).
    """
    codings = list(codings)
    if level is not None and level not in LEVELS:
        raise InputError(f"unknown level '{level}'; use one of {', '.join(LEVELS)}.")
    coders = tuple(dict.fromkeys(c.coder for c in codings))
    coded_units = dict.fromkeys(c.fragment_id for c in codings)
    if unit_order is not None:
        ordered = list(dict.fromkeys(u for u in unit_order if u in coded_units))
        placed = set(ordered)
        units = tuple(ordered + [u for u in coded_units if u not in placed])
    else:
        units = tuple(coded_units)
    coder_index = {c: i for i, c in enumerate(coders)}
    unit_index = {u: i for i, u in enumerate(units)}
    by_dimension = {}
    for coding in codings:
        by_dimension.setdefault(coding.dimension, []).append(coding)
    observed = {d: {c.value for c in group} for d, group in by_dimension.items()}
    if codebook is not None:
        for dimension in observed:
            if not codebook.has_dimension(dimension):
                raise CodebookError(f"dimension '{dimension}' is coded but is not in codebook '{codebook.name}' "
                                    f"({', '.join(codebook.dimension_ids)}).")
        dimensions = [d for d in codebook.dimension_ids if d in observed]
    else:
        dimensions = list(observed)

    matrices = {}
    specs = {}
    for dimension in dimensions:
        notes = []
        if codebook is not None:
            spec = codebook.dimension(dimension)
            values = spec.value_ids
            unknown = sorted(observed[dimension] - set(values))
            if unknown:
                raise CodebookError(f"dimension '{dimension}': value(s) {', '.join(unknown)} are not in codebook "
                                    f"'{codebook.name}'; use one of {', '.join(values)}.")
            dim_level = level or spec.level
            if level and level != spec.level:
                notes.append(f"level {level} (--level) instead of the codebook's {spec.level}.")
        else:
            values = _ordered_values(sorted(observed[dimension]))
            dim_level = level or "nominal"
            if dim_level == "ordinal" and not all(_number(v) is not None for v in values):
                notes.append(f"ordinal level without a codebook: values taken in alphabetical order "
                             f"({', '.join(values)}); give a codebook to set their order.")
        numeric, note = _value_numbers(dimension, values, dim_level, codebook is not None)
        if note:
            notes.append(note)
        value_index = {v: i for i, v in enumerate(values)}
        specs[dimension] = (dim_level, values, numeric, notes)
        matrices[dimension] = (_fill_codes(by_dimension[dimension], coder_index, unit_index, value_index),
                               value_index)

    out = []
    included_cache = {}
    for dimension in dimensions:
        dim_level, values, numeric, notes = specs[dimension]
        codes = matrices[dimension][0]
        condition, condition_units, left_out = "", 0, 0
        if apply_conditions and codebook is not None and codebook.dimension(dimension).condition is not None:
            condition = str(codebook.dimension(dimension).condition)
            included = _condition_holds(codebook, dimension, matrices, len(units), included_cache)
            condition_units = int(included.sum())
            left_out = int(((codes >= 0).any(axis=0) & ~included).sum())
            codes = np.where(included[None, :], codes, -1)
        out.append(DimensionData(dimension, dim_level, tuple(values), coders, units, codes, numeric,
                                 condition, condition_units, left_out, tuple(notes)))
    return out


def _condition_holds(codebook, dimension: str, matrices: dict, n_units: int, cache: dict) -> np.ndarray:
    """Units for which every coder who coded the condition's dimension gave the condition's value.

    Conditions chain (a condition on a conditional dimension needs both). A unit whose condition
    dimension nobody coded does not qualify.
    """
    if dimension in cache:
        return cache[dimension]
    condition = codebook.dimension(dimension).condition
    if condition is None:
        holds = np.ones(n_units, dtype=bool)
    elif condition.dimension not in matrices:
        holds = np.zeros(n_units, dtype=bool)
    else:
        codes, value_index = matrices[condition.dimension]
        wanted = value_index.get(condition.value, -2)
        voted = codes >= 0
        holds = voted.any(axis=0) & ~(voted & (codes != wanted)).any(axis=0)
        holds &= _condition_holds(codebook, condition.dimension, matrices, n_units, cache)
    cache[dimension] = holds
    return holds


def prediction_codings(predictions, name: str, codebook=None, human_coders=()) -> tuple:
    """A model's predictions as the codings of one more coder `name`; abstentions are not codes.

    Returns (codings, notes). With a codebook, dimensions and values are checked like a coder's.
    """
    from ..records import Coding

    if name in set(human_coders):
        raise InputError(f"--as {name}: a coder of that name is already in the coding files; choose another name.")
    codings, abstained = [], 0
    for prediction in predictions:
        if prediction.abstained:
            abstained += 1
            continue
        value = prediction.value
        if codebook is not None:
            if not codebook.has_dimension(prediction.dimension):
                raise CodebookError(f"predictions: dimension '{prediction.dimension}' is not in codebook "
                                    f"'{codebook.name}'; were they made with another codebook?")
            normal = codebook.dimension(prediction.dimension).normalize(value)
            if normal is None:
                raise CodebookError(f"predictions: '{value}' is not a value of '{prediction.dimension}' in codebook "
                                    f"'{codebook.name}'; were they made with another codebook?")
            value = normal
        codings.append(Coding(prediction.fragment_id, name, prediction.dimension, value))
    notes = [f"the model's predictions take part as coder '{name}'"
             + (f"; its {abstained} abstention(s) count as not coded." if abstained else ".")]
    return codings, notes


def load_codings(coding_paths, codebook=None, fragments=None, predictions_path=None, as_name: str = "model",
                 merge_coders: bool = False) -> tuple:
    """(codings, fragments, notes): coding files read with `pipeline.codings.read_codings` (each
    file's coders kept apart), plus the predictions as one more coder when given."""
    from ..files import read_fragments
    from ..validation import read_checked_codings, read_checked_predictions

    fragment_list = list(read_fragments(fragments)) if isinstance(fragments, (str, Path)) else fragments
    codings = list(read_checked_codings(coding_paths, codebook, fragment_list, merge_coders=merge_coders))
    notes = []
    if predictions_path is not None:
        from ..learn.honesty import refuse_in_sample

        predictions = read_checked_predictions(predictions_path, codebook, fragment_list)
        refuse_in_sample(predictions, predictions_path)  # no in-sample agreement reported as agreement
        extra, notes = prediction_codings(predictions, as_name, codebook, {c.coder for c in codings})
        codings += extra
    if not codings:
        raise InputError(f"{', '.join(str(p) for p in coding_paths)}: no codes found (all cells empty?).")
    return codings, fragment_list, notes
