"""Grouped cross-validation: the one place where folds are made and out-of-fold probabilities computed.

Folds are grouped by case (default) or respondent: all fragments of a case are in the
same fold, so a model is always scored on a municipality it has not seen. Fragments of
one interview share names, projects and turns of phrase; a random fragment split lets
the model recognise the case instead of the concept and overstates how well it will do
on a new study. `train` (choosing C, calibrating, setting thresholds) and `evaluate`
(nested: that whole procedure inside each outer fold) both call this module.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from ..errors import ConfigError
from .newton import logistic_proba

GROUPINGS = ("case", "respondent", "fragment")


def group_keys(fragments, group_by: str) -> list:
    """The cross-validation group of each fragment: its case, its (case, respondent) or itself."""
    if group_by not in GROUPINGS:
        raise ConfigError(f"evaluate.group_by: unknown grouping {group_by!r}; use 'case' or 'respondent'.")
    if group_by == "case":
        return [f.case for f in fragments]
    if group_by == "respondent":
        return [f"{f.case}/{f.respondent}" for f in fragments]
    return [f.id for f in fragments]


def folds_for(groups, n_folds: int):
    """Grouped folds: one per group when there are few groups, else GroupKFold; None below two groups."""
    n_groups = len(set(groups))
    if n_groups < 2 or n_folds < 2:
        return None
    indices = np.arange(len(groups))
    splitter = LeaveOneGroupOut() if n_groups <= n_folds else GroupKFold(n_splits=n_folds)
    return list(splitter.split(indices, groups=list(groups)))


def aligned_proba(estimator, X, classes, scores=None) -> np.ndarray:
    """predict_proba of X with one column per value of `classes` (zeros for values the fold lacked);
    `scores`: a logistic regression's X @ coef_.T, when computed already."""
    proba = logistic_proba(estimator, X, scores) if type(estimator) is LogisticRegression else \
        estimator.predict_proba(X)
    out = np.zeros((X.shape[0], len(classes)))
    position = {c: i for i, c in enumerate(classes)}
    for column, value in enumerate(estimator.classes_):
        out[:, position[value]] = proba[:, column]
    return out


def aligned_probas(estimators, X, classes) -> list:
    """`aligned_proba` of each estimator on the same X, the logistic regressions' scores in one
    product with X (each column sums the same terms in the same order as its own product)."""
    logistic = [e for e in estimators if type(e) is LogisticRegression]
    if len(logistic) < 2:
        return [aligned_proba(e, X, classes) for e in estimators]
    scores = np.asarray(X @ np.hstack([e.coef_.T for e in logistic]))
    bounds = dict(zip(map(id, logistic), np.cumsum([0] + [len(e.intercept_) for e in logistic])))
    return [aligned_proba(e, X, classes, scores[:, bounds[id(e)]:bounds[id(e)] + len(e.intercept_)].copy())
            if type(e) is LogisticRegression else aligned_proba(e, X, classes) for e in estimators]


def out_of_fold(fit, X, labels, folds, classes=None, fold_matrix=None) -> np.ndarray:
    """Out-of-fold probabilities (columns: `classes`, default the sorted labels) of `fit(X, y) -> estimator`.

    `fold_matrix(test_index)`, when given, returns the feature matrix to use for that fold
    (for blocks that must not see the held-out fragments); otherwise X serves every fold.
    """
    labels = np.asarray(labels, dtype=object)
    classes = sorted(set(labels)) if classes is None else list(classes)
    proba = np.zeros((len(labels), len(classes)))
    for train, test in folds:
        matrix = X if fold_matrix is None else fold_matrix(test)
        proba[test] = aligned_proba(fit(matrix[train], labels[train]), matrix[test], classes)
    return proba


def predicted(proba, classes) -> np.ndarray:
    """The most probable value per row."""
    return np.asarray(classes, dtype=object)[np.asarray(proba).argmax(axis=1)]
