"""Units of learning work spread over processes or a Dask cluster, results as one process gives them.

`train` spreads its cross-validation folds and final fits (`model.cv_fold`, `model.final_fit`),
`evaluate` its outer folds (`nested.outer_fold`): `spread(function, shared, units, workers)` is
`[function(shared, unit) for unit in units]`, computed by `parallel.ordered_map` in input order.
`shared` holds what every unit reads (feature matrices, labels): forked workers (forkpool.py)
inherit it, shared copy-on-write; it travels to a loky worker once per chunk of units
(memory-mapped), and is scattered once by the Dask backend.
"""

import dataclasses

import numpy as np
import scipy.sparse as sp

MIN_ROW_FITS = 5000  # least work (training rows x fits, ~0.5 CPU s) per extra forked process (it starts in ~0.2 s)
MIN_ROW_FITS_SPAWNED = 20000  # ~2 CPU s per extra process started afresh (loky: its start costs ~2 s)


def spread(function, shared, units, workers=None, weights=None) -> list:
    """[function(shared, unit) for unit in units], computed by `workers` (None: in this process), in order.

    `shared` (the matrices every unit reads) is inherited by forked workers; it travels to each
    loky worker once per chunk of units (its large arrays memory-mapped, not copied).
    `weights`: each unit's work in training rows x fits; below MIN_ROW_FITS of work per
    extra process, fewer local processes are started (none for a small study).
    """
    units = list(units)
    if workers is None or not units:
        return [function(shared, unit) for unit in units]
    from ..parallel import forks, ordered_map

    if workers.min_work is None and weights is not None:
        workers = dataclasses.replace(workers, min_work=MIN_ROW_FITS if forks(workers) else MIN_ROW_FITS_SPAWNED)
    return list(ordered_map(Bound(function, shared), units, workers, weights=weights))


def unit_key(unit) -> tuple:
    """The key of a (number, train rows, test rows) unit among the answers: its number and test rows."""
    number, _, test = unit
    return number, np.asarray(test).tobytes()


class Bound:
    """function(shared, unit) as a one-argument worker function that tells its size: joblib's Dask
    backend scatters an argument larger than a kilobyte to the cluster once, instead of sending
    it with every task, and measures it with `sys.getsizeof` (so `__sizeof__` counts the arrays)."""

    def __init__(self, function, shared):
        self.function, self.shared = function, shared

    def __call__(self, unit):
        return self.function(self.shared, unit)

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + _nbytes(self.shared)


def _nbytes(value) -> int:
    """Bytes of the arrays and sparse matrices in a value (dataclasses, dicts, lists and tuples searched)."""
    if sp.issparse(value):
        return sum(getattr(value, name).nbytes for name in ("data", "indices", "indptr") if hasattr(value, name))
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(_nbytes(getattr(value, name)) for name in value.__dataclass_fields__)
    return 0
