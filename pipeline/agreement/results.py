"""Every agreement figure of a dimension, and of all dimensions, with what is undefined explained.

`dimension_agreement` computes the statistics of one DimensionData (alpha with its bootstrap
interval, Fleiss, Gwet's AC1, Brennan-Prediger, Cohen per pair of coders, per-value agreement,
confusion matrices) and attaches a plain-language note to each figure that is undefined (None)
and to each choice a reader should know of (conditions, single-coded units).
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .bootstrap import BootstrapInterval, bootstrap_alpha, dimension_seed
from .statistics import (brennan_prediger, fleiss_kappa, gwet_ac1, kappa_from_confusion, krippendorff_alpha,
                         observed_agreement, pair_confusions, single_threaded_blas, specific_agreement,
                         unit_value_counts)
from .units import DimensionData


@dataclass(frozen=True, eq=False)
class PairAgreement:
    """Two coders on one dimension: Cohen's kappa over the units both coded, and their confusion matrix."""

    coder_a: str
    coder_b: str
    n_units: int
    kappa: Optional[float]
    percent_agreement: Optional[float]
    confusion: np.ndarray   # rows: coder_a's values, columns: coder_b's values


@dataclass(frozen=True)
class ValueAgreement:
    """One value of a dimension: how often it was given (pairable codes) and its specific agreement."""

    value: str
    n: int
    share: Optional[float]
    specific_agreement: Optional[float]


@dataclass(frozen=True, eq=False)
class DimensionAgreement:
    """Every agreement figure of one dimension, with plain-language notes on what is undefined and why."""

    dimension: str
    level: str
    values: tuple
    coders: tuple                 # coders with at least one code on this dimension
    n_units: int                  # units coded by two or more coders: the units the statistics use
    n_units_single: int           # units coded by one coder only (missing data, left out)
    n_pairable_values: int
    percent_agreement: Optional[float]   # in percent
    unanimous: Optional[float]           # percent of n_units on which all their coders agree
    krippendorff_alpha: Optional[float]
    bootstrap: BootstrapInterval
    fleiss_kappa: Optional[float]
    gwet_ac1: Optional[float]
    brennan_prediger: Optional[float]
    pairs: tuple                  # PairAgreement per coder pair
    per_value: tuple              # ValueAgreement per value
    condition: str = ""
    condition_units: int = 0
    condition_left_out: int = 0
    notes: tuple = ()

    @property
    def n_coders(self) -> int:
        return len(self.coders)

    @property
    def alpha_ci95(self) -> tuple:
        return (self.bootstrap.low, self.bootstrap.high)


def dimension_agreement(data: DimensionData, n_resamples: int = 1000, seed: int = 0) -> DimensionAgreement:
    """All statistics of one dimension, each undefined one (None) explained in `notes`."""
    with single_threaded_blas():
        return _dimension_agreement(data, n_resamples, seed)


def _dimension_agreement(data: DimensionData, n_resamples: int, seed: int) -> DimensionAgreement:
    n_values = len(data.values)
    active = [i for i in range(len(data.coders)) if (data.codes[i] >= 0).any()]
    codes = data.codes[active]
    coders = tuple(data.coders[i] for i in active)
    counts = unit_value_counts(codes, n_values) if len(coders) else np.zeros((len(data.units), n_values), dtype=np.int64)
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    n_units, n_single = int(len(pairable)), int((m == 1).sum())
    totals = pairable.sum(axis=0)
    notes = list(data.notes)
    if data.condition:
        notes.insert(0, f"computed over the {data.condition_units} units that all coders who coded "
                        f"'{data.condition.split(' = ')[0]}' agree satisfy {data.condition}; "
                        f"{data.condition_left_out} unit(s) with codes on {data.dimension} left out "
                        "because coders disagreed on the condition or rejected it.")

    p_a = observed_agreement(counts)
    alpha = krippendorff_alpha(counts, data.level, data.numeric)
    interval = bootstrap_alpha(counts, data.level, data.numeric, n_resamples, dimension_seed(seed, data.dimension))
    fleiss, ac1, bp = fleiss_kappa(counts), gwet_ac1(counts), brennan_prediger(counts)
    unanimous = float(np.mean((pairable > 0).sum(axis=1) == 1)) * 100.0 if n_units else None

    used = [data.values[i] for i in np.flatnonzero(totals)]
    if len(coders) < 2:
        who = f"only one coder ({coders[0]})" if coders else "no coder"
        where_ = " on the units that satisfy its condition" if data.condition else ""
        notes.append(f"{who} coded this dimension{where_}: agreement needs at least two coders, so every "
                     "statistic is undefined (null).")
    elif n_units == 0:
        notes.append("no unit was coded by two or more coders (the coders' units do not overlap): every "
                     "statistic is undefined (null).")
    else:
        if len(used) == 1:
            named = {"Krippendorff's alpha": alpha, "Fleiss' kappa": fleiss, "Gwet's AC1": ac1,
                     "Brennan-Prediger": bp}
            undefined = [k for k, v in named.items() if v is None]
            defined = ["percent agreement"] + [k for k, v in named.items() if v is not None]
            notes.append(f"all {int(totals.sum())} codes on units with two or more coders are '{used[0]}': "
                         f"with no variation, {' and '.join(undefined)} "
                         f"{'is' if len(undefined) == 1 else 'are'} 0/0 and undefined (null), although the "
                         f"coders agree 100%; report {', '.join(defined)} instead.")
        if n_values < 2:
            notes.append(f"only one value ('{data.values[0]}') is known for this dimension, so Gwet's AC1 and "
                         "Brennan-Prediger (which need the number of possible values) are undefined; give "
                         "--codebook to declare all values.")
        if interval.resamples == 0:
            notes.append("no confidence interval: the bootstrap is switched off (agreement.bootstrap = 0).")
        elif interval.low is None and alpha is not None:
            notes.append("no bootstrap resample had variation: the confidence interval is undefined.")
        elif interval.defined < interval.resamples and interval.low is not None:
            notes.append(f"{interval.resamples - interval.defined} of {interval.resamples} bootstrap resamples "
                         "had no variation (alpha undefined) and were left out of the interval.")
    if n_single:
        notes.append(f"{n_single} unit(s) coded by one coder only: missing data, left out of every agreement "
                     "term; only the value shares (chance agreement) of Fleiss' kappa and Gwet's AC1 use them, "
                     "as Gwet (2014) defines these with missing ratings.")

    pairs = []
    for (a, b), table in zip(*pair_confusions(codes, n_values)):
        shared = int(table.sum())
        kappa = kappa_from_confusion(table)
        if shared == 0:
            notes.append(f"{coders[a]} and {coders[b]} coded no unit in common: their Cohen's kappa is undefined.")
        elif kappa is None:
            only = data.values[int(np.flatnonzero(table.sum(axis=0) + table.sum(axis=1))[0])]
            notes.append(f"{coders[a]} and {coders[b]} both gave only '{only}' on their {shared} shared units: "
                         "their Cohen's kappa is 0/0 and undefined (agreement 100%).")
        pairs.append(PairAgreement(coders[a], coders[b], shared, kappa,
                                   float(np.trace(table) / shared * 100.0) if shared else None, table))

    specific = specific_agreement(counts) if n_units else [None] * n_values
    total = int(totals.sum())
    per_value = tuple(ValueAgreement(v, int(totals[i]), float(totals[i] / total) if total else None, specific[i])
                      for i, v in enumerate(data.values))
    return DimensionAgreement(
        dimension=data.dimension, level=data.level, values=data.values, coders=coders,
        n_units=n_units, n_units_single=n_single, n_pairable_values=total,
        percent_agreement=None if p_a is None else p_a * 100.0, unanimous=unanimous,
        krippendorff_alpha=alpha, bootstrap=interval, fleiss_kappa=fleiss, gwet_ac1=ac1, brennan_prediger=bp,
        pairs=tuple(pairs), per_value=per_value, condition=data.condition,
        condition_units=data.condition_units, condition_left_out=data.condition_left_out, notes=tuple(notes))


@dataclass(frozen=True)
class AgreementReport:
    """Agreement on every dimension of a set of codings, and how it was computed."""

    dimensions: tuple             # DimensionAgreement, codebook order
    coders: tuple
    codebook: str = ""            # "name version", or "" without a codebook
    resamples: int = 1000
    seed: int = 0
    notes: tuple = ()


def agreement_report(data: Sequence[DimensionData], n_resamples: int = 1000, seed: int = 0,
                     codebook: str = "", notes: Sequence[str] = ()) -> AgreementReport:
    """Agreement of every dimension; the bootstrap of each dimension is seeded by `seed` and its name."""
    results = tuple(dimension_agreement(d, n_resamples, seed) for d in data)
    coders = tuple(dict.fromkeys(c for d in data for c in d.coders))
    return AgreementReport(results, coders, codebook, n_resamples, seed, tuple(notes))
