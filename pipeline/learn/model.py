"""Fitting one dimension: C by grouped cross-validation, calibrated probabilities, an abstention threshold.

`fit_dimension` is the whole learning procedure of one codebook dimension, used by
`capcode train` on all coded fragments and by `capcode evaluate` inside every outer fold
(nested cross-validation, so the scores it reports never saw the held-out case):

1. out-of-fold probabilities under grouped folds for each C of the grid (or the fixed C);
   the C with the best kappa wins (ties: the smaller C, the stronger regularisation). A
   design ending in ``/logloss`` chooses by log loss instead; on the sample that gave the
   same kappa for the default design and a lower one for others (docs/classifier.md);
2. a temperature fitted on those held-out probabilities (`calibrate.fit_temperature`);
3. the lowest threshold whose kept, calibrated suggestions on held-out cases show the
   target precision with 95% confidence (`calibrate.choose_threshold`; 1.0, review
   everything, where the evidence is too thin);
4. the final pipeline (TF-IDF weighting of the hashed blocks, then the classifier) on all
   fragments with the chosen C.

Steps 1-3 are kept in the study's cache (`cache.FeatureCache.result`) under a hash of the
exact feature matrix, labels, cases and settings (`cv_key`), so a second run on the same
study does only step 4.
"""

import collections
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from .. import __version__
from ..errors import ConfigError
from .cache import active_cache
from .calibrate import CONFIDENCE, MIN_KEPT, choose_threshold, fit_temperature, log_loss, scores, temper
from .crossval import aligned_probas, folds_for, predicted
from .designs import LOG_LOSS, ROWS_AT_ONCE, ActiveColumns, Design, weighting_step
from .linear import (ColumnSplit, as_float64, fit_logistic, fit_logistic_many, fit_logistic_path, logistic, row_space,
                     row_space_pays)
from .spreading import Bound, spread, unit_key  # noqa: F401 (Bound: part of the learning API)
from .trained import TrainedModel, conditions_first, library_versions  # noqa: F401 (the model's API, as before)

C_GRID = (0.3, 1.0, 3.0, 10.0)
MIN_THRESHOLD_FRAGMENTS = 20  # fewer held-out fragments than this: no threshold is estimated


@dataclass(frozen=True)
class ModelSpec:
    """How a dimension's pipeline is built: feature design, classifier, C ('auto': tuned), seed, spaCy model."""

    features: str = "tfidf+use+use_context+lemma+char+context"
    classifier: str = "lr"
    c: object = "auto"
    seed: int = 0
    spacy_model: str = "blank"

    @classmethod
    def from_params(cls, train_params, spacy_model: str = "blank") -> "ModelSpec":
        return cls(train_params.features, train_params.classifier, parse_c(train_params.c),
                   int(train_params.seed), spacy_model)

    @classmethod
    def from_design(cls, design: str, base: "ModelSpec") -> "ModelSpec":
        """A spec from 'features/classifier[/C]' (e.g. 'lemma+char/svm'), other settings from `base`."""
        parsed = Design.parse(design, "evaluate.designs")
        classifier = design.partition("/")[2].partition("/")[0] or base.classifier
        return cls(parsed.features, classifier, parsed.c if parsed.c is not None else base.c, base.seed,
                   base.spacy_model)

    @property
    def design(self) -> Design:
        parsed = Design.parse(self.features)
        return Design(parsed.blocks, parsed.tfidf, self.classifier, self.c if self.c != "auto" else None)

    @property
    def name(self) -> str:
        c = "" if self.c == "auto" else f"/{LOG_LOSS}" if self.c == LOG_LOSS else f"/{float(self.c):g}"
        return f"{self.design.features}/{self.classifier}{c}"

    def grid(self) -> tuple:
        return C_GRID if self.c in ("auto", LOG_LOSS) else (float(self.c),)


def parse_c(value):
    """train.c: 'auto' or a positive number."""
    if str(value).strip().lower() == "auto":
        return "auto"
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number > 0:
        raise ConfigError(f"train.c: {value!r}; use 'auto' (chosen by grouped cross-validation) or a positive number.")
    return number


def build_classifier(classifier: str, c: float, labels, seed: int = 0):
    """The class-balanced probabilistic linear model for these labels."""
    if classifier not in ("lr", "svm"):
        raise ConfigError(f"train.classifier: unknown classifier {classifier!r}; use 'lr' or 'svm'.")
    if classifier == "lr":
        return logistic(c)
    folds = min(3, min(collections.Counter(labels).values()))
    if folds < 2:  # too few examples of a value to calibrate on held-out folds
        return logistic(c)
    return CalibratedClassifierCV(LinearSVC(C=c, class_weight="balanced", random_state=seed), method="sigmoid",
                                  cv=folds)


def single_thread():
    """Limit BLAS/OpenMP to one thread: the solvers' vector operations on a shared machine
    run about three times faster than with competing threads (the pools found once per process)."""
    from ..forkpool import thread_pools

    return thread_pools().limit(limits=1)


@dataclass
class DimensionFit:
    """A fitted dimension and what cross-validation said about it."""

    estimator: object
    classes: list
    c: Optional[float] = None
    temperature: float = 1.0
    rule: Optional[dict] = None  # threshold, coverage, precision, n, note; None: no cross-validation
    cv: Optional[dict] = None  # scores of the out-of-fold suggestions (C chosen on the same folds)
    oof: Optional[np.ndarray] = field(default=None, repr=False)  # calibrated out-of-fold probabilities
    tried: dict = field(default_factory=dict)  # C -> {"log_loss", "kappa"} out of fold


@dataclass
class Task:
    """One dimension's training problem on a shared raw matrix: its rows, labels and case groups.

    `fold_matrix(test positions)`, when given, makes the raw matrix of these rows for a fold
    (the codebook block leaves out examples that quote the fold's held-out fragments).
    """

    name: str
    rows: np.ndarray
    labels: np.ndarray
    groups: list
    fold_matrix: object = None


def fit_dimension(spec: ModelSpec, X, labels, groups, widths: dict, target: float = 0.8, n_folds: int = 5,
                  fold_matrix=None) -> DimensionFit:
    """Choose C, calibrate and set the threshold by grouped CV, then fit on everything (see module doc)."""
    task = Task("dimension", np.arange(X.shape[0]), np.asarray(labels, dtype=object), list(groups), fold_matrix)
    return fit_dimensions(spec, X, [task], widths, target, n_folds)["dimension"]


def fit_dimensions(spec: ModelSpec, X, tasks, widths: dict, target: float = 0.8, n_folds: int = 5,
                   workers=None) -> dict:
    """`fit_dimension` for several dimensions on one raw matrix X: {task name: DimensionFit}.

    Dimensions with the same rows and cases (the content dimensions of a codebook whose
    relevance condition they share) share everything that does not depend on the labels:
    the folds, each fold's TF-IDF weights, kept columns and row span, and the final weighting.
    `workers` (parallel.Workers): the folds of every group, then the groups' final fits,
    spread over processes (`cv_fold`, `final_fit`); the fits are those of one process.
    """
    return fit_dimensions_twins([(spec, target)], X, tasks, widths, n_folds, workers)[0]


def twins(first: ModelSpec, second: ModelSpec) -> bool:
    """Whether two specs differ only in how C is chosen from the same grid (kappa or log loss):
    their cross-validation fits are the same, only their decisions differ."""
    return (first.design.features, first.classifier, first.seed, first.spacy_model, first.grid()) == \
        (second.design.features, second.classifier, second.seed, second.spacy_model, second.grid())


def fit_dimensions_twins(choosers, X, tasks, widths: dict, n_folds: int = 5, workers=None) -> list:
    """`fit_dimensions` of each (spec, target) of `choosers`, specs that are `twins` (a design
    and its /logloss variant): one {task name: DimensionFit} per chooser, each what its own
    `fit_dimensions` gives. The out-of-fold fits are made once for all of them; each chooser
    decides C, temperature and threshold from them, and a final fit is shared where the
    chosen C of every task on the same rows agrees (else made as its own run makes it).
    """
    spec = choosers[0][0]
    assert all(twins(spec, other) for other, _ in choosers), "fit_dimensions_twins: specs must share their fits"
    fits, pending, digests = [{} for _ in choosers], [], {}
    cache = active_cache()
    for task in tasks:
        labels = np.asarray(task.labels, dtype=object)
        classes = sorted(set(labels))
        if len(classes) < 2:
            for by_task in fits:
                constant = DummyClassifier(strategy="most_frequent").fit(sp.csr_matrix((len(labels), X.shape[1])),
                                                                         labels)
                rule = {"threshold": 1.0, "coverage": 0.0, "precision": None, "n": len(labels),
                        "note": f"the coders used only '{classes[0]}': every suggestion is left for review"}
                by_task[task.name] = DimensionFit(constant, classes, rule=rule if n_folds >= 2 else None)
            continue
        folds = folds_for(task.groups, n_folds) if n_folds >= 2 else None
        if folds is None:
            grid = spec.grid()
            for by_task in fits:
                by_task[task.name] = fit = DimensionFit(None, classes, grid[0] if len(grid) == 1 else 1.0)
                if n_folds >= 2:
                    fit.rule = {"threshold": 1.0, "coverage": 0.0, "precision": None, "n": len(labels),
                                "note": "fewer than two cases: no held-out case to set a threshold on, so every "
                                        "suggestion is left for review"}
            continue
        keys = [None] * len(choosers)
        if task.fold_matrix is None and cache is not None:
            rows_key = np.asarray(task.rows).tobytes()
            if rows_key not in digests:
                digests[rows_key] = matrix_digest(take_rows(X, task.rows))
            keys = [cv_key(chooser, digests[rows_key], labels, task.groups, n_folds, target)
                    for chooser, target in choosers]
        needed = []
        for number, key in enumerate(keys):
            stored = cache.result(key) if key else None
            if stored:
                fits[number][task.name] = from_record(stored, classes)
            needed.append(not stored)
        if any(needed):
            pending.append((task, folds, keys, needed))
    groups = same_rows(pending, lambda entry: entry[0])
    if groups:
        decisions = choose_by_cv(spec, X, [([task for task, _, _, _ in group], group[0][1]) for group in groups],
                                 widths, choosers[0][1], workers, choosers[1:])
        for group, decided in zip(groups, decisions):
            for task, _, keys, needed in group:
                for number, key in enumerate(keys):
                    if not needed[number]:
                        continue
                    fit = fits[number][task.name] = decided[number][task.name]
                    if key:
                        cache.keep_result(key, {"c": fit.c, "temperature": fit.temperature, "rule": fit.rule,
                                                "cv": fit.cv, "tried": {repr(c): t for c, t in fit.tried.items()}})
    final_fits(spec, X, tasks, widths, fits, workers)
    return fits


def final_fits(spec: ModelSpec, X, tasks, widths: dict, fits: list, workers=None) -> None:
    """The final pipelines of the tasks whose fits (one {task name: DimensionFit} per twin
    chooser) have none yet; a group of tasks on the same rows with the same labels and chosen
    C as an earlier chooser's shares its pipelines (the same fits, made once)."""
    plans, problems = [], []
    for by_task in fits:
        unfitted = same_rows([task for task in tasks if by_task[task.name].estimator is None], lambda task: task)
        numbers, earlier = [], len(problems)  # shared only with another chooser's: each run's own fits stay apart
        for group in unfitted:
            problem = (group[0].rows, [(np.asarray(t.labels, dtype=object), by_task[t.name].c) for t in group])
            same = [n for n, known in enumerate(problems[:earlier]) if same_problem(known, problem)]
            if not same:
                problems.append(problem)
            numbers.append(same[0] if same else len(problems) - 1)
        plans.append((by_task, unfitted, numbers))
    weights = [len(rows) * len(group) for rows, group in problems]
    pipelines = spread(final_fit, FinalFits(spec, widths, X, problems), range(len(problems)), workers, weights)
    for by_task, unfitted, numbers in plans:
        for group, number in zip(unfitted, numbers):
            for task, pipeline in zip(group, pipelines[number]):
                by_task[task.name].estimator = pipeline


def same_problem(first, second) -> bool:
    """Whether two final-fit problems (rows, [(labels, C)]) are the same fits."""
    (rows_a, fits_a), (rows_b, fits_b) = first, second
    return np.array_equal(rows_a, rows_b) and len(fits_a) == len(fits_b) and all(
        c_a == c_b and np.array_equal(y_a, y_b) for (y_a, c_a), (y_b, c_b) in zip(fits_a, fits_b))


@dataclass
class FinalFits:
    """What the final fits of `fit_dimensions` share: per group of tasks on the same rows, the
    rows and (labels, chosen C) of each task."""

    spec: ModelSpec
    widths: dict
    X: object
    problems: list


def final_fit(shared: FinalFits, number: int) -> list:
    """The fitted pipelines of one group of tasks (a unit of `spread`)."""
    rows, problems = shared.problems[number]
    return fit_pipelines(shared.spec, shared.widths, take_rows(shared.X, rows), problems)


def same_rows(entries, task_of) -> list:
    """Entries grouped by their task's rows and cases (input order kept)."""
    groups = {}
    for entry in entries:
        task = task_of(entry)
        key = (np.asarray(task.rows).tobytes(), tuple(map(str, task.groups))) if task.fold_matrix is None else id(task)
        groups.setdefault(key, []).append(entry)
    return list(groups.values())


def fold_design(spec: ModelSpec, widths: dict, matrix, train, test=None, split: bool = False):
    """(weighting, kept columns, training rows, test rows, row span) of a fold: all that its fits share.

    `split`: training rows too many for the row span come as the `linear.ColumnSplit` that
    `fit_logistic_many` fits on, made from the weighted rows directly (one pass fewer)."""
    weights = weighting_step(spec.design, widths)
    rows = take_rows(matrix, train)
    A = sp.csr_matrix(rows, dtype=np.float32)
    if weights != "passthrough" and rows is not matrix:  # A is this fold's own copy: weighted in place
        weights.fit_fold(A)
        A.sum_duplicates()
        weights.weigh_in_place(A, ROWS_AT_ONCE)
    elif weights != "passthrough":
        A = weights.fit_transform(A)
    active = ActiveColumns()
    if split and spec.classifier == "lr":
        active.fit_fold(A)
        A = (active.renumbered(A) if row_space_pays(A.shape[0], len(active.columns_))
             else ColumnSplit(A, active.columns_))
    else:
        A = active.fit_transform(A)
    B = None
    if test is not None:
        B = matrix[test] if weights == "passthrough" else weights.transform_fold(matrix[test])
        B = active.transform_fold(sp.csr_matrix(B, dtype=np.float32))
    space = row_space(A) if spec.classifier == "lr" and not isinstance(A, ColumnSplit) else None
    return weights, active, A, B if space is None or B is None else as_float64(B), space  # B converted once, not per fit


def take_rows(X, rows):
    """X[rows], or X itself when `rows` are all its rows in order (no copy)."""
    rows = np.asarray(rows)
    if len(rows) == X.shape[0] and (len(rows) == 0 or (rows[0] == 0 and np.all(np.diff(rows) == 1))):
        return X
    return X[rows]


def fit_classifier(spec: ModelSpec, c: float, A, y, space=None):
    """The dimension's classifier fitted on weighted, kept columns (logistic regression in the row span when given)."""
    if len(set(y)) < 2:  # a fold whose training cases coded one value only
        return DummyClassifier(strategy="most_frequent").fit(A, y)
    if spec.classifier == "lr":
        return fit_logistic(A, y, c, space)
    return build_classifier(spec.classifier, c, y, spec.seed).fit(A, y)


def fit_pipelines(spec: ModelSpec, widths: dict, matrix, problems) -> list:
    """One fitted pipeline (weighting, kept columns, classifier) per (labels, C) on the same rows of `matrix`."""
    with single_thread():
        weights, active, A, _, space = fold_design(spec, widths, matrix, np.arange(matrix.shape[0]))
        return [Pipeline([("weights", weights), ("active", active),
                          ("classifier", fit_classifier(spec, c, A, labels, space))]) for labels, c in problems]


@dataclass
class FoldWork:
    """What the cross-validation folds of `choose_by_cv` share: the raw matrix, and per group of
    tasks on the same rows their rows, labels, classes and `fold_matrix` (codebook designs)."""

    spec: ModelSpec
    widths: dict
    X: object
    groups: list  # (rows, {task name: labels}, {task name: classes}, fold_matrix or None)


def cv_fold(work: FoldWork, unit) -> dict:
    """Out-of-fold probabilities of one fold of one group, {task name: {C: probabilities of the
    fold's test rows}} (a unit of `spread`): the fold's weighting, kept columns and row span
    are made once and serve every task and C."""
    number, train, test = unit
    rows, labels, classes, fold_matrix = work.groups[number]
    spec = work.spec
    with single_thread():
        if fold_matrix is None:  # the group's rows of X, taken once per fold
            _, _, A, B, space = fold_design(spec, work.widths, work.X, np.asarray(rows)[train],
                                            np.asarray(rows)[test], split=True)
        else:
            _, _, A, B, space = fold_design(spec, work.widths, fold_matrix(test), train, test, split=True)
        return {name: dict(zip(spec.grid(), aligned_probas(models, B, classes[name])))
                for name, models in fold_models(spec, A, {name: y[train] for name, y in labels.items()},
                                                space).items()}


def fold_models(spec: ModelSpec, A, labels: dict, space=None) -> dict:
    """{task name: a fitted classifier per C of the grid} on one fold's training matrix. Logistic
    regression without a row span: every (task, C) on one split of A (`linear.fit_logistic_many`:
    the same fits as scikit-learn's, with cheaper products), the split made once for the fold."""
    if spec.classifier != "lr" or space is not None:  # in the span: each task's C path at once (fit_logistic_path)
        return {name: fit_logistic_path(A, y, spec.grid(), space) if space is not None and len(set(y)) > 1 else
                [fit_classifier(spec, c, A, y, space) for c in spec.grid()] for name, y in labels.items()}
    problems = [(name, y, c) for name, y in labels.items() if len(set(y)) > 1 for c in spec.grid()]
    fitted = iter(fit_logistic_many(A, [(y, c) for _, y, c in problems]))
    shape_only = sp.csr_matrix(A.shape)  # what a one-value fold's constant classifier is fitted on
    return {name: [fit_classifier(spec, c, shape_only, y) if len(set(y)) < 2 else next(fitted) for c in spec.grid()]
            for name, y in labels.items()}


def choose_by_cv(spec, X, groups, widths, target, workers=None, others=()) -> list:
    """For each (tasks on the same rows, their folds) of `groups`: C by out-of-fold kappa (or log
    loss), the temperature and the threshold, from fits on shared fold matrices; per group a
    list of {task name: DimensionFit} without final fits: that of `spec`, then one per
    (twin spec, target) of `others`, decided from the same out-of-fold probabilities. Every
    fold of every group is one unit of work (`cv_fold`), spread over `workers`; folds of
    codebook designs, whose fold matrices are made from the study's texts, are computed in
    this process."""
    shared, local, units = [], [], []
    for number, (tasks, folds) in enumerate(groups):
        first = tasks[0]
        shared.append((first.rows, {t.name: np.asarray(t.labels, dtype=object) for t in tasks},
                       {t.name: sorted(set(t.labels)) for t in tasks}, first.fold_matrix))
        for train, test in folds:
            (units if first.fold_matrix is None else local).append((number, train, test))
    # what travels to other processes: the matrix and labels, not the codebook designs' fold makers
    portable = FoldWork(spec, widths, X, [(rows, labels, classes, None) for rows, labels, classes, _ in shared])
    weights = [len(train) * len(shared[number][1]) * len(spec.grid()) for number, train, _ in units]
    answers = dict(zip(map(unit_key, units), spread(cv_fold, portable, units, workers, weights)))
    answers.update(zip(map(unit_key, local), spread(cv_fold, FoldWork(spec, widths, X, shared), local)))
    decisions = []
    for number, (tasks, folds) in enumerate(groups):
        _, labels, classes, _ = shared[number]
        oof = {t.name: {c: np.zeros((len(t.labels), len(classes[t.name]))) for c in spec.grid()} for t in tasks}
        for train, test in folds:
            answer = answers[unit_key((number, train, test))]
            for name, by_c in answer.items():
                for c, proba in by_c.items():
                    oof[name][c][test] = proba
        decisions.append([{t.name: decide(chooser, labels[t.name], t.groups, classes[t.name], oof[t.name],
                                          len(folds), chosen_target) for t in tasks}
                          for chooser, chosen_target in [(spec, target), *others]])
    return decisions


def decide(spec, labels, groups, classes, oof_by_c, n_folds, target) -> DimensionFit:
    """C by out-of-fold kappa (or log loss; ties: the smaller C), then temperature and threshold."""
    best, tried = None, {}
    for c, oof in oof_by_c.items():
        loss = log_loss(labels, oof, classes)
        kappa = scores(labels, predicted(oof, classes), classes)["kappa"]
        tried[c] = {"log_loss": round(loss, 4), "kappa": round(kappa, 4)}
        criterion = loss if spec.c == LOG_LOSS else -kappa  # lower is better
        if best is None or criterion < best[0] - 1e-9:
            best = (criterion, c, oof)
    _, c, oof = best
    temperature = fit_temperature(labels, oof, classes)
    calibrated = temper(oof, temperature)
    fit = DimensionFit(None, classes, c, temperature, oof=calibrated)
    fit.tried = tried
    if target is not None:  # None: no threshold wanted (`evaluate` reports none for its other designs)
        fit.rule = choose_threshold(labels, calibrated, classes, target, MIN_THRESHOLD_FRAGMENTS, groups=list(groups))
    fit.cv = {**scores(labels, predicted(calibrated, classes), classes), "n": int(len(labels)), "folds": n_folds}
    return fit


def from_record(record: dict, classes) -> DimensionFit:
    """A DimensionFit from what an earlier run's cross-validation decided (`FeatureCache.result`)."""
    fit = DimensionFit(None, classes, record["c"], record["temperature"], rule=record["rule"], cv=record["cv"])
    fit.tried = {float(c): t for c, t in record["tried"].items()}
    return fit


@functools.lru_cache(maxsize=1)
def procedure_digest() -> str:
    """sha256 of the code that decides C, temperature and threshold: any change to it is a new cache key."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("model.py", "calibrate.py", "crossval.py", "designs.py", "linear.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def matrix_digest(X) -> str:
    """sha256 of a sparse matrix's exact contents."""
    digest = hashlib.sha256(json.dumps(list(X.shape)).encode("utf-8"))
    matrix = sp.csr_matrix(X)
    for array in (matrix.data, matrix.indices, matrix.indptr):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def cv_key(spec, features_digest: str, labels, groups, n_folds, target) -> str:
    """sha256 of everything cross-validation decides from: features (exactly), labels, cases, settings, versions."""
    import sklearn

    digest = hashlib.sha256()
    settings = ["cv-6", __version__, procedure_digest(), sklearn.__version__, spec.name, spec.seed,
                list(spec.grid()), n_folds, target, CONFIDENCE, MIN_KEPT, MIN_THRESHOLD_FRAGMENTS, features_digest]
    digest.update(json.dumps(settings).encode("utf-8"))
    for values in (labels, groups):
        digest.update("\x00".join(map(str, values)).encode("utf-8") + b"\x01")
    return digest.hexdigest()
