"""Nested grouped cross-validation: the whole training procedure scored on cases it never saw.

For each outer fold (a held-out case or group of cases) `fit_dimension` runs exactly as
`capcode train` runs it, on the training cases only: it chooses C, fits the temperature
and sets the abstention threshold by inner grouped folds. The held-out case is then
suggested with that fold's model, calibration and threshold. So the kappa, the
calibration error and the precision/coverage at the thresholds that `evaluate` reports
come from choices that never looked at the fragments they are scored on.
"""

import numpy as np

from .calibrate import CONFIDENCE, scores, temper, wilson_lower
from .crossval import aligned_proba, group_keys, predicted
from .model import fit_dimension


def nested_predictions(spec, store, item, folds, group_by: str, target: float, inner_folds: int,
                       fraction: float = 1.0) -> dict:
    """Calibrated out-of-fold probabilities, abstentions and per-fold facts of one design on one dimension.

    `fraction` < 1 trains each fold on that share of its training fragments (learning curve).
    """
    design = spec.design
    rows = store.rows(item.fragments)
    labels = np.asarray(item.labels, dtype=object)
    classes = sorted(set(labels))
    groups = np.asarray(group_keys(item.fragments, group_by), dtype=object)
    widths = store.widths(design)
    proba = np.zeros((len(labels), len(classes)))
    abstain = np.zeros(len(labels), dtype=bool)
    kept = np.ones(len(labels), dtype=bool)
    rng = np.random.default_rng(spec.seed)
    facts = []
    for train, test in folds:
        if fraction < 1.0:
            train = np.sort(rng.choice(train, size=max(2, int(round(fraction * len(train)))), replace=False))
        held_out = [item.fragments[i] for i in test] if "codebook" in design.blocks else []
        X = store.matrix(design, rows, held_out)
        fold_matrix = None
        if held_out:
            def fold_matrix(inner_test, train=train, held_out=held_out):
                inner = held_out + [item.fragments[train[i]] for i in inner_test]
                return store.matrix(design, rows[train], inner)
        fit = fit_dimension(spec, X[train], labels[train], list(groups[train]), widths, target, inner_folds,
                            fold_matrix)
        fold_proba = temper(aligned_proba(fit.estimator, X[test], classes), fit.temperature)
        proba[test] = fold_proba
        threshold = fit.rule["threshold"] if fit.rule else 0.0
        abstain[test] = (fold_proba.max(axis=1) < threshold) | (threshold >= 1.0)
        fold_scores = scores(labels[test], predicted(fold_proba, classes), classes)
        facts.append({"held_out": sorted(set(groups[test])), "n": int(len(test)), "kappa": fold_scores["kappa"],
                      "macro_f1": fold_scores["macro_f1"], "c": fit.c, "temperature": fit.temperature,
                      "threshold": threshold, "train_fragments": int(len(train)),
                      "threshold_note": (fit.rule or {}).get("note", "")})
    return {"proba": proba, "classes": classes, "predicted": predicted(proba, classes), "abstain": abstain,
            "folds": facts, "kept": kept}


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
