"""Nested grouped cross-validation: the whole training procedure scored on cases it never saw.

For each outer fold (a held-out case or group of cases) `fit_dimensions` runs exactly as
`capcode train` runs it, on the training cases only: it chooses C, fits the temperature
and sets the abstention threshold by inner grouped folds. The held-out case is then
suggested with that fold's model, calibration and threshold. So the kappa, the
calibration error and the precision/coverage at the thresholds that `evaluate` reports
come from choices that never looked at the fragments they are scored on.
"""

import numpy as np

from .calibrate import CONFIDENCE, scores, temper, wilson_lower
from .crossval import aligned_proba, group_keys, predicted
from .model import Task, fit_dimensions


def nested_predictions(spec, store, item, folds, group_by: str, target: float, inner_folds: int,
                       fraction: float = 1.0) -> dict:
    """Calibrated out-of-fold probabilities, abstentions and per-fold facts of one design on one dimension.

    `fraction` < 1 trains each fold on that share of its training fragments (learning curve).
    """
    return nested_for_dimensions(spec, store, [item], folds, group_by, target, inner_folds, fraction)[item.dimension]


def nested_for_dimensions(spec, store, items, folds, group_by: str, target: float, inner_folds: int,
                          fraction: float = 1.0) -> dict:
    """`nested_predictions` of dimensions coded on the same fragments, {dimension: result}.

    They share each outer fold's matrix and, inside it, the inner folds' weighting, kept
    columns and row span (`model.fit_dimensions`); their results are those of separate runs.
    """
    design = spec.design
    fragments = items[0].fragments
    rows = store.rows(fragments)
    groups = np.asarray(group_keys(fragments, group_by), dtype=object)
    widths = store.widths(design)
    labels = {item.dimension: np.asarray(item.labels, dtype=object) for item in items}
    classes = {d: sorted(set(y)) for d, y in labels.items()}
    out = {d: {"proba": np.zeros((len(y), len(classes[d]))), "abstain": np.zeros(len(y), dtype=bool), "folds": []}
           for d, y in labels.items()}
    rng = np.random.default_rng(spec.seed)
    for train, test in folds:
        if fraction < 1.0:
            train = np.sort(rng.choice(train, size=max(2, int(round(fraction * len(train)))), replace=False))
        held_out = [fragments[i] for i in test] if "codebook" in design.blocks else []
        X = store.matrix(design, rows, held_out)
        fold_matrix = None
        if held_out:
            def fold_matrix(inner_test, train=train, held_out=held_out):
                inner = held_out + [fragments[train[i]] for i in inner_test]
                return store.matrix(design, rows[train], inner)
        tasks = [Task(d, np.arange(len(train)), y[train], list(groups[train]), fold_matrix) for d, y in labels.items()]
        fits = fit_dimensions(spec, X[train], tasks, widths, target, inner_folds)
        for dimension, y in labels.items():
            fit, result = fits[dimension], out[dimension]
            fold_proba = temper(aligned_proba(fit.estimator, X[test], classes[dimension]), fit.temperature)
            result["proba"][test] = fold_proba
            threshold = fit.rule["threshold"] if fit.rule else 0.0
            result["abstain"][test] = (fold_proba.max(axis=1) < threshold) | (threshold >= 1.0)
            fold_scores = scores(y[test], predicted(fold_proba, classes[dimension]), classes[dimension])
            result["folds"].append({"held_out": sorted(set(groups[test])), "n": int(len(test)),
                                    "kappa": fold_scores["kappa"], "macro_f1": fold_scores["macro_f1"], "c": fit.c,
                                    "temperature": fit.temperature, "threshold": threshold,
                                    "train_fragments": int(len(train)),
                                    "threshold_note": (fit.rule or {}).get("note", "")})
    for dimension, result in out.items():
        result.update(classes=classes[dimension], predicted=predicted(result["proba"], classes[dimension]),
                      kept=np.ones(len(labels[dimension]), dtype=bool))
    return out


def spread(facts, key: str = "kappa") -> dict:
    """Mean and standard deviation over folds (weighted equally), and the range."""
    values = np.asarray([f[key] for f in facts], dtype=float)
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()), "max": float(values.max())}


def at_thresholds(labels, result, confidence: float = CONFIDENCE) -> dict:
    """Precision and coverage of the suggestions kept by each fold's own stored threshold, with the
    precision's one-sided lower confidence bound and the folds that abstained on everything."""
    labels = np.asarray(labels, dtype=object)
    kept = ~result["abstain"]
    n_kept = int(kept.sum())
    correct = int((labels[kept] == result["predicted"][kept]).sum())
    return {"coverage": float(kept.mean()), "precision": correct / n_kept if n_kept else None,
            "lower": wilson_lower(correct, n_kept, confidence) if n_kept else None, "confidence": confidence,
            "kept": n_kept, "n": int(len(labels)),
            "folds_abstaining_on_all": sum(1 for f in result["folds"] if f["threshold"] >= 1.0)}
