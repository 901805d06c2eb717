"""Training beyond memory: the same procedure as `model.fit_dimensions`, out of core.

Above `train.out_of_core_above` training fragments, `train` does not hold the features of
all fragments at once. It writes the design's raw feature rows to disk in chunks of
`CHUNK` fragments (float32 sparse, `Spill`), computed through the study's feature cache,
and learns each dimension with scikit-learn's SGDClassifier (log loss, so probabilities
stay available; L2 penalty alpha = 1 / (C x training fragments), the same objective as
the logistic regression of smaller studies; class-balanced weights) by `partial_fit`
over the chunks, `EPOCHS` passes in a shuffled chunk order. Memory holds one chunk, the
models and a few numbers per fragment, so it grows with the study only through the
fragment list and the labels.

What is learned is decided as for a smaller study: C by out-of-fold kappa (or log loss)
on the same grouped folds, a temperature and an abstention threshold on those
out-of-fold probabilities (`model.decide`), then the final model on all fragments with
the chosen C. The TF-IDF weights and kept columns of each fold and of the final model
come from document frequencies counted in one pass over the chunks. Every model of a
pass (folds x values of C x dimensions on the same fragments) learns from the chunk
while it is in memory. A fold's rows are picked from the raw chunk and TF-IDF weighted in
place (`weigh_in_place`), so besides the chunk memory holds one fold's rows at a time; by
then `capcode train` has let go of spaCy and the sentence encoder (`FeatureStore.release_models`).
"""

import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

from .cache import active_cache
from .crossval import aligned_proba, folds_for
from .designs import ActiveColumns, BlockTfidf, weighting_step
from .model import DimensionFit, cv_key, decide, from_record, same_rows

CHUNK = 4096  # fragments per chunk on disk
EPOCHS = 5  # passes over the chunks per model


class Spill:
    """A design's raw feature rows on disk, in chunks of consecutive rows (a temporary folder)."""

    def __init__(self, store, design, chunk: int = CHUNK, directory=None):
        if directory is not None:
            Path(directory).mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="capcode-spill-", dir=directory))
        self.starts, self.paths, self.width = [], [], 0
        digest = hashlib.sha256()
        try:
            for start in range(0, len(store.fragments), chunk):
                rows = np.arange(start, min(len(store.fragments), start + chunk))
                matrix = store.rows_matrix(design, rows)
                path = self.directory / f"chunk-{len(self.paths):06d}.npz"
                np.savez(path, data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                         shape=np.asarray(matrix.shape))
                for array in (matrix.data, matrix.indices, matrix.indptr):
                    digest.update(np.ascontiguousarray(array).tobytes())
                self.starts.append(start)
                self.paths.append(path)
                self.width = matrix.shape[1]
        except BaseException:
            self.remove()
            raise
        self.n_rows = len(store.fragments)
        self.digest = digest.hexdigest()

    def chunk(self, number: int):
        """(first row, raw matrix) of one chunk."""
        with np.load(self.paths[number], allow_pickle=False) as stored:
            matrix = sp.csr_matrix((stored["data"], stored["indices"], stored["indptr"]), shape=tuple(stored["shape"]))
        return self.starts[number], matrix

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def tfidf_from_counts(spans, document_frequency, n_rows: int) -> BlockTfidf:
    """A fitted BlockTfidf from document frequencies counted over some rows (what fitting on them gives)."""
    weights = BlockTfidf(tuple(spans))
    weights.spans_ = tuple(tuple(s) for s in spans)
    weights.n_features_in_ = int(weights.spans_[-1][1])
    weights.weights_ = []
    for start, end, weighted in weights.spans_:
        if not weighted:
            weights.weights_.append(None)
            continue
        step = TfidfTransformer(sublinear_tf=True)
        df = document_frequency[start:end].astype(np.float32) + np.float32(1.0)  # as TfidfTransformer.fit does
        step.idf_ = np.full_like(df, fill_value=n_rows + 1, dtype=np.float32)
        step.idf_ /= df
        np.log(step.idf_, out=step.idf_)
        step.idf_ += 1.0
        step.n_features_in_ = end - start
        weights.weights_.append(step)
    return weights


def active_from_counts(filled, width: int) -> ActiveColumns:
    """A fitted ActiveColumns keeping the columns that some counted row fills."""
    active = ActiveColumns()
    active.columns_ = np.flatnonzero(filled).astype(np.int64)
    active.n_features_in_ = width
    return active


def sgd(c: float, n_train: int, labels, seed: int) -> SGDClassifier:
    """Log-loss SGD with the penalty of logistic regression at C, class-balanced over `labels`."""
    values, counts = np.unique(np.asarray(labels, dtype=object), return_counts=True)
    weights = {v: len(labels) / (len(values) * n) for v, n in zip(values, counts)}
    return SGDClassifier(loss="log_loss", penalty="l2", alpha=1.0 / (c * max(1, n_train)), class_weight=weights,
                         random_state=seed)


class _Group:
    """Dimensions on the same rows: their folds, each fold's weighting, and their models."""

    def __init__(self, tasks, folds, spill_rows: int):
        self.tasks = tasks
        self.folds = folds
        self.member = np.full(spill_rows, -1, dtype=np.int64)  # spill row -> position in the tasks' rows
        self.member[tasks[0].rows] = np.arange(len(tasks[0].rows))
        self.fold_of = np.full(len(tasks[0].rows), -1, dtype=np.int64)
        for number, (_, test) in enumerate(folds or []):
            self.fold_of[test] = number
        self.steps = {}  # fold number (-1: all rows) -> (weights, active)
        self.models = {}  # (fold, task name, C) -> estimator

    def design(self, matrix, fold: int, rows):
        """Some rows of a chunk (positions in `matrix`) as the models of `fold` see them.

        Rows are picked from the raw chunk first and weighted in place afterwards, a slice
        of rows at a time (`weigh_in_place`): a row's TF-IDF depends on that row alone, so
        this gives the values of weighting the whole chunk and then picking, without a
        weighted copy of the chunk per fold. Cross-validation models keep every column: a
        column no training row of theirs fills keeps weight zero under SGD, so dropping it
        (as the final model does, to stay small) changes no probability.
        """
        weights, active = self.steps[fold]
        X = matrix[rows]
        if weights != "passthrough":
            weigh_in_place(weights, X)
        return X if fold >= 0 else kept_columns(X, active)


def kept_columns(X, active):
    """`active.transform(X)` for rows whose non-zeros all lie in the kept columns (the final model's
    rows: it keeps every column they fill), by renumbering the columns in place of copying them."""
    position = np.full(X.shape[1], -1, dtype=np.int32)
    position[active.columns_] = np.arange(len(active.columns_), dtype=np.int32)
    indices = position[X.indices]
    if len(indices) and indices.min() < 0:
        return active.transform(X)
    return sp.csr_matrix((X.data, indices, X.indptr), shape=(X.shape[0], len(active.columns_)))


WEIGH_ROWS = 512  # rows weighted at once (the temporaries of TermCounts stay a few MB)


def weigh_in_place(weights, X) -> None:
    """BlockTfidf's weighting of a float32 CSR matrix with sorted, summed indices, in its own data."""
    weights.weigh_in_place(X, WEIGH_ROWS)


def count_steps(spec, spill, groups, widths) -> None:
    """One pass: document frequencies and filled columns per fold (training rows) and over all rows."""
    spans = weighting_step(spec.design, widths)
    for group in groups:
        folds = len(group.folds or [])
        group.df = np.zeros((folds + 1, spill.width), dtype=np.int64)
        group.n = np.zeros(folds + 1, dtype=np.int64)
    for number in range(len(spill.paths)):
        start, matrix = spill.chunk(number)
        for group in groups:
            positions = group.member[start:start + matrix.shape[0]]
            inside = np.flatnonzero(positions >= 0)
            if not len(inside):
                continue
            part = matrix[inside]
            fold_of = group.fold_of[positions[inside]]
            group.df[-1] += np.bincount(part.indices, minlength=spill.width)
            group.n[-1] += len(inside)
            for fold in range(len(group.df) - 1):
                rows = np.flatnonzero(fold_of == fold)
                group.df[fold] += np.bincount(part[rows].indices, minlength=spill.width)
                group.n[fold] += len(rows)
    for group in groups:
        for fold in list(range(len(group.df) - 1)) + [-1]:
            df = group.df[-1] - group.df[fold] if fold >= 0 else group.df[-1]
            n = int(group.n[-1] - group.n[fold]) if fold >= 0 else int(group.n[-1])
            weights = "passthrough" if spans == "passthrough" else tfidf_from_counts(spans.spans, df, n)
            group.steps[fold] = (weights, active_from_counts(df > 0, spill.width))
        del group.df


def passes(spill, groups, epochs: int, seed: int, learn, held_out: bool = False) -> None:
    """`learn(group, fold, positions, designed matrix)` for every chunk, fold and group, `epochs` times:
    a fold's training rows of the chunk (its held-out rows with `held_out`; the final models, fold
    -1: every row of the group), `positions` their places in the group's rows."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for number in rng.permutation(len(spill.paths)):
            start, matrix = spill.chunk(number)
            matrix.sum_duplicates()
            for group in groups:
                positions = group.member[start:start + matrix.shape[0]]
                inside = np.flatnonzero(positions >= 0)
                if not len(inside):
                    continue
                for fold in sorted(group.steps):
                    if fold < 0:
                        rows = inside
                    else:
                        in_fold = group.fold_of[positions[inside]] == fold
                        rows = inside[in_fold if held_out else ~in_fold]
                    if len(rows):
                        learn(group, fold, positions[rows], group.design(matrix, fold, rows))
            del matrix


def fit_out_of_core(spec, spill, tasks, widths, target: float = 0.8, n_folds: int = 5,
                    epochs: int = EPOCHS) -> dict:
    """{task name: DimensionFit} for tasks whose rows index the spill's rows (see the module doc)."""
    cache = active_cache()
    fits, pending = {}, []
    for task in tasks:
        labels = np.asarray(task.labels, dtype=object)
        classes = sorted(set(labels))
        folds = folds_for(task.groups, n_folds) if n_folds >= 2 and len(classes) > 1 else None
        key = cv_key(spec, f"out-of-core-{epochs}-{spill.digest}-{hashlib.sha256(task.rows.tobytes()).hexdigest()}",
                     labels, task.groups, n_folds, target) if folds else None
        stored = cache.result(key) if cache is not None and key else None
        fits[task.name] = from_record(stored, classes) if stored else DimensionFit(None, classes, 1.0)
        if len(classes) < 2:
            fits[task.name].rule = {"threshold": 1.0, "coverage": 0.0, "precision": None, "n": len(labels),
                                    "note": f"the coders used only '{classes[0]}': every suggestion is left for "
                                            "review"} if n_folds >= 2 else None
        elif folds is None and n_folds >= 2:
            fits[task.name].rule = {"threshold": 1.0, "coverage": 0.0, "precision": None, "n": len(labels),
                                    "note": "fewer than two cases: no held-out case to set a threshold on, so "
                                            "every suggestion is left for review"}
        elif folds and not stored:
            pending.append((task, folds, key))
        if spec.c not in ("auto", "logloss") and not stored and len(classes) > 1:
            fits[task.name].c = float(spec.c)
    cv_groups = [_Group([t for t, _, _ in entries], entries[0][1], spill.n_rows)
                 for entries in same_rows(pending, lambda entry: entry[0])]
    if cv_groups:
        count_steps(spec, spill, cv_groups, widths)
        for group in cv_groups:
            del group.steps[-1]  # the final weighting is counted again below, for every dimension
        cross_validate(spec, spill, cv_groups, epochs)
        for group in cv_groups:
            for task in group.tasks:
                classes = fits[task.name].classes
                fit = fits[task.name] = decide(spec, np.asarray(task.labels, dtype=object), task.groups, classes,
                                               group.oof[task.name], len(group.folds), target)
                key = next(k for t, _, k in pending if t is task)
                if cache is not None and key:
                    cache.keep_result(key, {"c": fit.c, "temperature": fit.temperature, "rule": fit.rule,
                                            "cv": fit.cv, "tried": {repr(c): t for c, t in fit.tried.items()}})
    final_groups = [_Group(group, None, spill.n_rows) for group in same_rows(tasks, lambda task: task)]
    count_steps(spec, spill, final_groups, widths)
    final_fit(spec, spill, final_groups, fits, epochs)
    return fits


def cross_validate(spec, spill, groups, epochs: int) -> None:
    """Models per fold, C and dimension learned over the chunks; then their out-of-fold probabilities."""
    grid = spec.grid()
    for group in groups:
        group.classes = {t.name: np.asarray(sorted(set(t.labels)), dtype=object) for t in group.tasks}
        group.labels = {t.name: np.asarray(t.labels, dtype=object) for t in group.tasks}
        for fold, (train, _) in enumerate(group.folds):
            for task in group.tasks:
                y = group.labels[task.name][train]
                for c in grid:
                    group.models[(fold, task.name, c)] = (sgd(c, len(train), y, spec.seed) if len(set(y)) > 1 else
                                                          DummyClassifier(strategy="most_frequent").fit(
                                                              np.zeros((len(y), 1)), y))

    def learn(group, fold, positions, X):
        for task in group.tasks:
            y = group.labels[task.name][positions]
            for c in grid:
                model = group.models[(fold, task.name, c)]
                if isinstance(model, SGDClassifier):
                    model.partial_fit(X, y, classes=group.classes[task.name])

    passes(spill, groups, epochs, spec.seed, learn)
    for group in groups:
        group.oof = {t.name: {c: np.zeros((len(t.labels), len(group.classes[t.name]))) for c in grid}
                     for t in group.tasks}

    def predict(group, fold, positions, X):
        for task in group.tasks:
            for c in grid:
                model = group.models[(fold, task.name, c)]
                group.oof[task.name][c][positions] = aligned_proba(model, X, list(group.classes[task.name]))

    passes(spill, groups, 1, spec.seed, predict, held_out=True)
    for group in groups:
        group.models.clear()


def final_fit(spec, spill, groups, fits, epochs: int) -> None:
    """Each dimension's final pipeline on all its fragments at its chosen C."""
    for group in groups:
        weights, active = group.steps[-1]
        for task in group.tasks:
            fit = fits[task.name]
            if fit.estimator is not None:
                continue
            labels = np.asarray(task.labels, dtype=object)
            classifier = (sgd(fit.c, len(labels), labels, spec.seed) if len(fit.classes) > 1 else
                          DummyClassifier(strategy="most_frequent").fit(np.zeros((len(labels), 1)), labels))
            group.models[(-1, task.name, None)] = classifier
            fit.estimator = Pipeline([("weights", weights), ("active", active), ("classifier", classifier)])

    def learn(group, fold, positions, X):
        for task in group.tasks:
            model = group.models.get((-1, task.name, None))
            if isinstance(model, SGDClassifier):
                model.partial_fit(X, np.asarray(task.labels, dtype=object)[positions],
                                  classes=np.asarray(fits[task.name].classes, dtype=object))

    passes(spill, groups, epochs, spec.seed, learn)


def describe(epochs: int = EPOCHS, chunk: int = None) -> dict:
    """The learner as the manifest records it."""
    chunk = CHUNK if chunk is None else chunk
    return {"kind": "out-of-core", "classifier": "SGDClassifier(loss='log_loss', penalty='l2', "
                                                 "alpha=1/(C x training fragments), class-balanced)",
            "epochs": epochs, "chunk_fragments": chunk}
