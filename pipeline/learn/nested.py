"""Nested grouped cross-validation: the whole training procedure scored on cases it never saw.

For each outer fold (a held-out case or group of cases) `fit_dimensions` runs exactly as
`capcode train` runs it, on the training cases only: it chooses C, fits the temperature
and sets the abstention threshold by inner grouped folds. The held-out case is then
suggested with that fold's model, calibration and threshold. So the kappa, the
calibration error and the precision/coverage at the thresholds that `evaluate` reports
come from choices that never looked at the fragments they are scored on.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from .blocks import block_key
from .cache import active_cache, results_for_worker
from .calibrate import CONFIDENCE, scores, temper, wilson_lower
from .crossval import aligned_proba, group_keys, predicted
from .model import Task, fit_dimensions_twins, single_thread, twins
from .spreading import spread as spread_units, unit_key


def nested_predictions(spec, store, item, folds, group_by: str, target: float, inner_folds: int,
                       fraction: float = 1.0) -> dict:
    """Calibrated out-of-fold probabilities, abstentions and per-fold facts of one design on one dimension.

    `fraction` < 1 trains each fold on that share of its training fragments (learning curve).
    """
    return nested_for_dimensions(spec, store, [item], folds, group_by, target, inner_folds, fraction)[item.dimension]


def nested_for_dimensions(spec, store, items, folds, group_by: str, target: float, inner_folds: int,
                          fraction: float = 1.0, workers=None) -> dict:
    """`nested_predictions` of dimensions coded on the same fragments, {dimension: result}.

    They share each outer fold's matrix and, inside it, the inner folds' weighting, kept
    columns and row span (`model.fit_dimensions`); their results are those of separate runs.
    """
    return nested_runs(store, items, [(spec, fraction)], folds, group_by, target, inner_folds, workers)[0]


@dataclass
class OuterWork:
    """What the outer folds of `nested_runs` share: the feature blocks of the fragments (rows of
    the store), the fragments' rows, cases and labels, and the settings of the procedure."""

    specs: list
    blocks: dict  # (block name, tfidf) -> the block's matrix over the store's rows
    widths: list  # per spec
    rows: np.ndarray
    groups: np.ndarray
    labels: dict
    classes: dict
    target: float
    inner_folds: int
    cache_dir: object = None  # the study's cache: stored inner cross-validation results are reused
    thresholds: tuple = ()  # per spec: whether its folds set abstention thresholds (default: all do)
    store: object = None  # in this process only: codebook designs make their fold matrices from it
    fragments: list = None
    riders: dict = None  # unit key -> the runs computed with that unit (`model.twins` of its run, same rows)


def nested_runs(store, items, runs, folds, group_by: str, target: float, inner_folds: int, workers=None,
                thresholds=None) -> list:
    """`nested_for_dimensions` of several (spec, fraction) runs on the same folds, a result per run.

    `thresholds` (a bool per run, default all): whether a run's folds set abstention
    thresholds; a run without them (a design compared only by kappa and calibration, a
    step of the learning curve) never abstains and skips the costliest part of deciding.

    Every outer fold of every run is one unit of work (`outer_fold`: the whole training
    procedure on the fold's training cases), spread over `workers` (parallel.Workers); each
    unit builds its design's matrix from the shared blocks, as one process does per fold. A
    run that differs from an earlier one only in how C is chosen (`model.twins`: a design and
    its /logloss variant, on the same rows) rides on that run's units: one inner
    cross-validation serves both, each deciding from it as its own run would.
    Runs of designs with the codebook block (fold matrices made from the study's texts) are
    computed in this process. The results are those of one process, whatever the workers.
    """
    fragments = items[0].fragments
    labels = {item.dimension: np.asarray(item.labels, dtype=object) for item in items}
    blocks = {}
    for spec, _ in runs:
        if "codebook" not in spec.design.blocks:
            for name in spec.design.blocks:
                blocks[block_key(name, spec.design)] = store.block(name, spec.design)
    cache = active_cache()
    work = OuterWork([spec for spec, _ in runs], blocks, [store.widths(spec.design) for spec, _ in runs],
                     store.rows(fragments), np.asarray(group_keys(fragments, group_by), dtype=object), labels,
                     {d: sorted(set(y)) for d, y in labels.items()}, target, inner_folds,
                     str(cache.directory) if cache is not None and cache.directory is not None else None,
                     tuple(thresholds) if thresholds is not None else (True,) * len(runs))
    units, local, riders = [], [], {}
    for number, (spec, fraction) in enumerate(runs):
        rng = np.random.default_rng(spec.seed)
        for train, test in folds:
            if fraction < 1.0:
                train = np.sort(rng.choice(train, size=max(2, int(round(fraction * len(train)))), replace=False))
            unit = (number, train, test)
            if "codebook" in spec.design.blocks:
                local.append(unit)
                continue
            # a run that only chooses C otherwise (a /logloss design) rides on its twin's fits
            twin = next((u for u in units if twins(work.specs[u[0]], spec) and np.array_equal(u[1], train)
                         and np.array_equal(u[2], test)), None)
            if twin is None:
                units.append(unit)
            else:
                riders.setdefault(unit_key(twin), []).append(number)
    work.riders = riders
    # an outer fold repeats the work of a train on its rows: inner folds x C x dimensions, then the final fits
    weights = [len(train) * (inner_folds * len(work.specs[number].grid()) + 1) * len(labels)
               for number, train, _ in units]
    answers = {}
    here = OuterWork(**{**work.__dict__, "store": store, "fragments": fragments})
    for (by_run, kept), (_, _, test) in zip(spread_units(outer_fold, work, units, workers, weights)
                                            + spread_units(outer_fold, here, local), units + local):
        answers.update({unit_key((number, None, test)): fits for number, fits in by_run.items()})
        if cache is not None:
            for key, record in kept.items():
                cache.keep_result(key, record)
    results = []
    for number in range(len(runs)):
        out = {d: {"proba": np.zeros((len(y), len(work.classes[d]))), "abstain": np.zeros(len(y), dtype=bool),
                   "folds": []} for d, y in labels.items()}
        for _, test in folds:
            for dimension, (fold_proba, abstain, facts) in answers[unit_key((number, None, test))].items():
                out[dimension]["proba"][test] = fold_proba
                out[dimension]["abstain"][test] = abstain
                out[dimension]["folds"].append(facts)
        for dimension, result in out.items():
            classes = work.classes[dimension]
            result.update(classes=classes, predicted=predicted(result["proba"], classes),
                          kept=np.ones(len(labels[dimension]), dtype=bool))
        results.append(out)
    return results


def design_matrix(work: OuterWork, spec):
    """The design's raw blocks side by side for the work's rows, as `FeatureStore.matrix` makes them."""
    return sp.hstack([work.blocks[block_key(name, spec.design)][work.rows] for name in spec.design.blocks],
                     format="csr", dtype=np.float32)


def outer_fold(work: OuterWork, unit):
    """One outer fold of one run (a unit of `nested_runs`) and of the runs riding on it:
    ({run: {dimension: (calibrated probabilities of the held-out rows, abstentions, the fold's
    facts)}}, new inner cross-validation results)."""
    number, train, test = unit
    spec, widths = work.specs[number], work.widths[number]
    numbers = [number] + (work.riders or {}).get(unit_key(unit), [])
    with single_thread(), results_for_worker(work.cache_dir) as kept:
        if work.store is not None and "codebook" in spec.design.blocks:
            held_out = [work.fragments[i] for i in test]
            X = work.store.matrix(spec.design, work.rows, held_out)

            def fold_matrix(inner_test, train=train, held_out=held_out):
                inner = held_out + [work.fragments[train[i]] for i in inner_test]
                return work.store.matrix(spec.design, work.rows[train], inner)
        else:
            X, fold_matrix = design_matrix(work, spec), None
        groups = work.groups
        tasks = [Task(d, np.arange(len(train)), y[train], list(groups[train]), fold_matrix)
                 for d, y in work.labels.items()]
        choosers = [(work.specs[n], work.target if work.thresholds[n] else None) for n in numbers]
        by_run = dict(zip(numbers, fit_dimensions_twins(choosers, X[train], tasks, widths, work.inner_folds)))
        return {n: fold_answers(work, fits, train, test, X) for n, fits in by_run.items()}, kept


def fold_answers(work: OuterWork, fits, train, test, X) -> dict:
    """{dimension: (calibrated probabilities of the held-out rows, abstentions, the fold's facts)}."""
    groups, held_out = work.groups, HeldOut(X[test])
    answer = {}
    for dimension, y in work.labels.items():
        fit, classes = fits[dimension], work.classes[dimension]
        fold_proba = temper(held_out.proba(fit.estimator, classes), fit.temperature)
        threshold = fit.rule["threshold"] if fit.rule else 0.0
        abstain = (fold_proba.max(axis=1) < threshold) | (threshold >= 1.0)
        fold_scores = scores(y[test], predicted(fold_proba, classes), classes)
        answer[dimension] = (fold_proba, abstain,
                             {"held_out": sorted(set(groups[test])), "n": int(len(test)),
                              "kappa": fold_scores["kappa"], "macro_f1": fold_scores["macro_f1"], "c": fit.c,
                              "temperature": fit.temperature, "threshold": threshold,
                              "train_fragments": int(len(train)),
                              "threshold_note": (fit.rule or {}).get("note", "")})
    return answer


class HeldOut:
    """The held-out rows of an outer fold, each weighting of them made once: the pipelines of the
    dimensions (and twin runs) fitted on the same rows share their weighting and kept columns."""

    def __init__(self, X):
        self.X, self.weighted = X, {}

    def proba(self, estimator, classes) -> np.ndarray:
        """`aligned_proba` of the rows (the pipeline's own steps, each weighting made once)."""
        if not isinstance(estimator, Pipeline) or len(estimator.steps) != 3:
            return aligned_proba(estimator, self.X, classes)
        key = tuple(id(step) for _, step in estimator.steps[:-1])
        if key not in self.weighted:  # the fitted steps' own transform, without the input checks of each
            rows = self.X
            for _, step in estimator.steps[:-1]:
                rows = rows if step in (None, "passthrough") else \
                    step.transform_fold(rows) if hasattr(step, "transform_fold") else step.transform(rows)
            self.weighted[key] = (rows, estimator.steps[:-1])  # steps kept alive
        return aligned_proba(estimator.steps[-1][1], self.weighted[key][0], classes)


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
