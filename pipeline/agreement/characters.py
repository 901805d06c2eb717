"""NVivo's coding comparison: Cohen's kappa and percent agreement over characters.

For one value and two coders every character of a source is coded with that value by both, by one
of them, or by neither: a 2 x 2 table. NVivo's coding comparison query reports, per code and
source, the percent agreement (both + neither) / characters and Cohen's kappa of that table
(QSR International / Lumivero, NVivo help, "Run a coding comparison query"; Cohen, J. (1960). A
coefficient of agreement for nominal scales. Educational and Psychological Measurement 20(1),
37-46). capcode gives both per source and pooled over sources: the sources' tables are added, so
the pooled kappa is the kappa over all characters of all sources (not an average of the sources'
kappas). With more than two coders the figure for all coders is Light's kappa, the mean of the
pairwise kappas (Light, R. J. (1971). Measures of response agreement for qualitative data: some
generalizations and alternatives. Psychological Bulletin 76(5), 365-377), beside mean pairwise
percent agreement.

Tables are arrays (..., 4) of character counts in the order TABLE_CELLS, so that per-source,
pooled and bootstrap tables are the same arithmetic.
"""

import numpy as np

TABLE_CELLS = ("both", "a_only", "b_only", "neither")


def character_tables(coded_a, coded_b, both, length) -> np.ndarray:
    """(..., 4) tables from the characters each coder coded, both coded and the source length."""
    coded_a, coded_b, both, length = (np.asarray(x, dtype=float) for x in (coded_a, coded_b, both, length))
    return np.stack([both, coded_a - both, coded_b - both, length - coded_a - coded_b + both], axis=-1)


def table_kappa(tables) -> np.ndarray:
    """Cohen's kappa of each table (NaN where undefined: no characters, or p_e = 1 because both
    coders coded every character or none)."""
    tables = np.asarray(tables, dtype=float)
    both, a_only, b_only, neither = (tables[..., k] for k in range(4))
    n = both + a_only + b_only + neither
    coded_a, coded_b = both + a_only, both + b_only
    with np.errstate(divide="ignore", invalid="ignore"):
        p_o = (both + neither) / n
        p_e = (coded_a * coded_b + (n - coded_a) * (n - coded_b)) / (n * n)
        kappa = (p_o - p_e) / (1.0 - p_e)
    return np.where((n > 0) & (p_e < 1.0 - 1e-15), kappa, np.nan)


def table_agreement(tables) -> np.ndarray:
    """Percent agreement (both + neither) / characters of each table, in percent; NaN without characters."""
    tables = np.asarray(tables, dtype=float)
    n = tables.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, 100.0 * (tables[..., 0] + tables[..., 3]) / n, np.nan)


def light_kappa(kappas) -> np.ndarray:
    """Light's kappa: the mean of pairwise kappas (pairs on axis 0), over the pairs where defined."""
    kappas = np.asarray(kappas, dtype=float)
    defined = np.isfinite(kappas)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(defined.any(axis=0), np.where(defined, kappas, 0.0).sum(axis=0) / defined.sum(axis=0), np.nan)


def as_optional(value):
    """A float, or None where NaN (undefined)."""
    value = float(value)
    return value if np.isfinite(value) else None
