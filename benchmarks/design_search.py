"""The design experiments behind docs/classifier.md's "Tried and not kept" and what follows it.

Nested grouped cross-validation of design variants on the sample study (team codings), with the
same outer folds as `capcode evaluate` (GroupKFold, 5 folds over the 7 cases) unless
`--partition-seed` assigns the cases to 5 folds at random. Every choice that depends on labels
(C, block weights, decision rules, ensemble and voting weights, temperatures) is made on
inner grouped folds of the training cases only. Feature blocks come from capcode's own FeatureStore (and the study's
feature cache), with columns that are zero in every fragment dropped: an exact shortcut, since
such columns get zero weight. Prints kappa per content dimension and their mean.

Usage:
  python benchmarks/design_search.py                       # every variant (the first 15: about 6 min on one core;
                                                           # lda, chain and the soft votes take longer)
  python benchmarks/design_search.py --only default logloss --partition-seed 3
  python benchmarks/design_search.py --only default vote3 chain --five-partitions   # paired, five partitions
"""

import argparse
import collections
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CONTENT = ("strategisch_operationeel", "intern_extern", "beleid_beheer", "impact")
C_GRID = (0.3, 1.0, 3.0, 10.0)
TEXT, EMBEDDINGS = ("lemma", "char", "context"), ("use", "use_context")
DEFAULT = TEXT + EMBEDDINGS
BLOCK = {}
STORE = None
MEMO = {}  # (blocks, weights, train rows, test rows, C, labels) -> probabilities: members shared by variants


# ---- data and folds ------------------------------------------------------------------------


def load(fragments_path, cache_dir):
    from pipeline.learn.blocks import FeatureStore
    from pipeline.learn.cache import using_cache
    from pipeline.learn.designs import Design
    from pipeline.learn.labels import training_data, used_fragments
    from pipeline.train import load_inputs

    codebook, fragments, codings = load_inputs(fragments_path, [ROOT / "data/sample/codings/team.csv"], "default")
    data = training_data(fragments, codings, codebook)
    used = used_fragments(data)
    store = FeatureStore(used, "blank", codebook)
    with using_cache(cache_dir):
        raw = Design(DEFAULT, True, "lr")
        for block in DEFAULT:
            matrix = sp.csc_matrix(store.block(block, raw))
            BLOCK[block] = sp.csr_matrix(matrix[:, np.flatnonzero(np.diff(matrix.indptr))])
    global STORE
    STORE = store
    USED[:] = store.fragments
    load_codebook_vectors(codebook, cache_dir)
    load_sentence_rows(store.fragments, cache_dir)
    return fragments, data, used, store


def random_partition(seed):
    """folds_for with the cases assigned to 5 folds at random (as GroupKFold when there are fewer cases)."""
    from pipeline.learn.crossval import folds_for

    def folds(groups, n):
        groups = list(groups)
        cases = sorted(set(groups))
        if len(cases) <= n:
            return folds_for(groups, n)
        order = np.random.default_rng(seed).permutation(cases)
        fold_of = {case: i % n for i, case in enumerate(order)}
        index = np.arange(len(groups))
        return [(index[[fold_of[g] != f for g in groups]], index[[fold_of[g] == f for g in groups]])
                for f in range(n)]
    return folds


# ---- models --------------------------------------------------------------------------------


def transform_for(rows, blocks, weights=None):
    """Sublinear TF-IDF per hashed block learned on `rows`; a function from rows to the feature matrix."""
    from sklearn.feature_extraction.text import TfidfTransformer

    idf = {b: TfidfTransformer(sublinear_tf=True).fit(BLOCK[b][rows]) for b in blocks if b in TEXT}

    def transform(other):
        parts = [(idf[b].transform(BLOCK[b][other]) if b in idf else BLOCK[b][other]) * (weights or {}).get(b, 1.0)
                 for b in blocks]
        return sp.hstack(parts, format="csr")
    return transform


def block_model(blocks, weights=None):
    """fit_predict(train rows, labels, test rows, classes, C) of balanced LR on `blocks`."""
    from sklearn.linear_model import LogisticRegression

    from pipeline.learn.crossval import aligned_proba

    def fit_predict(train, y, test, classes, c):
        key = (blocks, tuple(sorted((weights or {}).items())), train.tobytes(), test.tobytes(), c, "|".join(y),
               tuple(classes))
        if key not in MEMO:
            MEMO[key] = fitted_proba(train, y, test, classes, c)
        return MEMO[key]

    def fitted_proba(train, y, test, classes, c):
        if len(set(y)) < 2:
            out = np.zeros((len(test), len(classes)))
            out[:, classes.index(y[0])] = 1.0
            return out
        transform = transform_for(train, blocks, weights)
        model = LogisticRegression(C=c, class_weight="balanced", solver="newton-cg", max_iter=1000)
        return aligned_proba(model.fit(transform(train), y), transform(test), classes)
    return fit_predict


def inner_oof(rows, y, groups, classes, configs, fit_predict, folds_for):
    folds = folds_for(list(groups), 5)
    out = {}
    for config in configs:
        proba = np.zeros((len(y), len(classes)))
        for train, test in folds:
            proba[test] = fit_predict(rows[train], y[train], rows[test], classes, config)
        out[config] = proba
    return out


def kappa_of(y, proba, classes):
    from pipeline.learn.calibrate import scores
    from pipeline.learn.crossval import predicted

    return scores(y, predicted(proba, classes), classes)["kappa"]


def chosen(configs, fit_predict, criterion="kappa", rule=False):
    """A method: choose a config (and, with `rule`, class weights for the decision) on inner folds."""
    from pipeline.learn.calibrate import log_loss

    def method(rows, y, groups, classes, folds_for, **_):
        oof = inner_oof(rows, y, groups, classes, configs, fit_predict, folds_for)
        if criterion == "log_loss":
            best = min(configs, key=lambda c: log_loss(y, oof[c], classes))
        else:
            best = max(configs, key=lambda c: (round(kappa_of(y, oof[c], classes), 9), -configs.index(c)))
        weights = best_prior(y, oof[best], classes) if rule else np.ones(len(classes))
        return lambda test: fit_predict(rows, y, test, classes, best) * weights
    return method


def best_prior(y, proba, classes):
    """Class weights (first fixed at 1, others in 0.5-2) maximising kappa of argmax(proba * w)."""
    grid = np.exp(np.linspace(np.log(0.5), np.log(2.0), 9))
    best = (kappa_of(y, proba, classes), np.ones(len(classes)))
    for rest in itertools.product(grid, repeat=len(classes) - 1):
        w = np.asarray((1.0,) + rest)
        k = kappa_of(y, proba * w, classes)
        if k > best[0] + 1e-9:
            best = (k, w)
    return best[1]


def ensemble(parts, weight_inside=False):
    """Separately tuned and temperature-calibrated block models, combined by a geometric mean."""
    from pipeline.learn.calibrate import fit_temperature, temper

    def method(rows, y, groups, classes, folds_for, **_):
        members, oofs = [], []
        for blocks in parts:
            fit_predict = block_model(blocks)
            oof = inner_oof(rows, y, groups, classes, list(C_GRID), fit_predict, folds_for)
            c = max(C_GRID, key=lambda c: (round(kappa_of(y, oof[c], classes), 9), -C_GRID.index(c)))
            t = fit_temperature(y, oof[c], classes)
            members.append((fit_predict, c, t))
            oofs.append(np.log(temper(oof[c], t)))
        share = [1 / len(parts)] * len(parts)
        if weight_inside:
            a = max(np.linspace(0, 1, 11), key=lambda a: kappa_of(y, np.exp(a * oofs[0] + (1 - a) * oofs[1]), classes))
            share = [a, 1 - a]

        def predict(test):
            logs = [np.log(temper(f(rows, y, test, classes, c), t)) for f, c, t in members]
            return np.exp(sum(w * p for w, p in zip(share, logs)))
        return predict
    return method


def joint_cells(data):
    """The three report dimensions as one 8-valued label, marginalised back per dimension."""
    three = CONTENT[:3]
    codes = {d: dict(zip([f.id for f in data[d].fragments], data[d].labels)) for d in three}
    cell = {fid: "|".join(codes[d][fid] for d in three) for fid in codes[three[0]]}

    def method_for(dimension):
        position = three.index(dimension)

        def method(rows, y, groups, classes, folds_for, ids, **_):
            cells_y = np.asarray([cell[i] for i in ids], dtype=object)
            cells = sorted(set(cells_y))

            def marginal(proba):
                out = np.zeros((len(proba), len(classes)))
                for j, value in enumerate(cells):
                    out[:, classes.index(value.split("|")[position])] += proba[:, j]
                return out
            fit_predict = block_model(DEFAULT)
            oof = inner_oof(rows, cells_y, groups, cells, list(C_GRID), fit_predict, folds_for)
            c = max(C_GRID, key=lambda c: kappa_of(y, marginal(oof[c]), classes))
            return lambda test: marginal(fit_predict(rows, cells_y, test, cells, c))
        return method
    return method_for


# ---- extra blocks: metadata and neighbours -----------------------------------------------


def add_metadata_blocks(fragments, used, cache_dir):
    from pipeline.learn.cache import cached_rows, using_cache
    from pipeline.learn.encoder import block_key, embed

    by_source = collections.defaultdict(list)
    for f in sorted(fragments, key=lambda f: (f.source, f.start_char)):
        by_source[f.source].append(f)
    roles = sorted({f.role for f in used})
    role = np.zeros((len(used), len(roles)), dtype=np.float32)
    position = np.zeros((len(used), 3), dtype=np.float32)
    previous, following = [], []
    for i, f in enumerate(used):
        role[i, roles.index(f.role)] = 1.0
        sequence = by_source[f.source]
        k = sequence.index(f)
        position[i] = [k / max(1, len(sequence) - 1), k == 0, k == len(sequence) - 1]
        previous.append(sequence[k - 1].text if k > 0 else "")
        following.append(sequence[k + 1].text if k + 1 < len(sequence) else "")
    BLOCK["role"], BLOCK["position"] = sp.csr_matrix(role), sp.csr_matrix(position)
    with using_cache(cache_dir):
        BLOCK["use_previous"] = sp.csr_matrix(np.asarray(cached_rows(block_key(), previous, embed)))
        BLOCK["use_next"] = sp.csr_matrix(np.asarray(cached_rows(block_key(), following, embed)))
        BLOCK["use_sentences"] = sp.csr_matrix(sentence_mean_embeddings(used))


def sentence_mean_embeddings(used):
    """Per fragment: the unit-length mean of its sentences' embeddings (capcode's sentence splitter)."""
    from pipeline.dutch import build_nlp
    from pipeline.learn.cache import cached_rows
    from pipeline.learn.encoder import block_key, embed

    nlp = build_nlp("blank")
    sentences = [[s.text for s in nlp(f.text).sents if s.text.strip()] or [f.text] for f in used]
    vectors = np.asarray(cached_rows(block_key(), [s for group in sentences for s in group], embed))
    out, start = np.zeros((len(used), vectors.shape[1]), dtype=np.float32), 0
    for i, group in enumerate(sentences):
        mean = vectors[start:start + len(group)].mean(axis=0)
        out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        start += len(group)
    return out


# ---- soft voting, codebook prototypes, discriminant analysis, classifier chain -------------
#
# A member is `make(dimension) -> (fit_predict(train, y, test, classes, config), configs)`; `blend`
# chooses each member's config and temperature on inner folds, then averages the tempered
# probabilities (soft voting) with weights fixed a priori or chosen on the same inner folds.

USED = []  # the coded fragments, in FeatureStore row order (for codebook quotes)
CODEBOOK = {}  # "entries", "vectors": the codebook's texts (names only used) and their embeddings


def lr_member(blocks, weights=None):
    fit_predict = block_model(blocks, weights)
    return lambda dimension: (fit_predict, list(C_GRID))


def dense(blocks, rows):
    return np.hstack([BLOCK[b][rows].toarray() for b in blocks])


def codebook_prototypes(dimension, classes, held_out_rows):
    """Unit-length mean embedding of each value's description and examples, without entries that
    quote a held-out fragment (as the `codebook` part does in evaluate)."""
    from pipeline.learn.designs import prototypes, quoted_entries

    entries, vectors = CODEBOOK["entries"], CODEBOOK["vectors"]
    leave_out = quoted_entries(entries, [USED[i] for i in held_out_rows])
    columns, matrix = prototypes(entries, vectors, leave_out)
    return np.vstack([matrix[columns.index(f"{dimension}={value}")] for value in classes])


def unit(matrix):
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def centroid_member(codebook_weights=(0.0, 1.0, 3.0, 10.0), codebook_only=False):
    """Nearest centroid on the fragment's sentence embedding (cosine), each value's centroid
    shrunk towards its codebook prototype: centroid = unit(sum of the value's training
    embeddings + a * prototype); config a. Scores are cosines turned into probabilities by a
    softmax at a fixed scale (blend's temperature then calibrates them)."""

    def make(dimension):
        def fit_predict(train, y, test, classes, a):
            proto = codebook_prototypes(dimension, classes, test)
            X = BLOCK["use"][train].toarray()
            sums = np.vstack([X[y == value].sum(axis=0) for value in classes])
            centroids = unit(proto if codebook_only else sums + a * proto)
            logits = 20.0 * BLOCK["use"][test].toarray() @ centroids.T
            logits -= logits.max(axis=1, keepdims=True)
            out = np.exp(logits)
            return out / out.sum(axis=1, keepdims=True)
        return fit_predict, [0.0] if codebook_only else list(codebook_weights)
    return make


def lda_member(blocks=("use", "use_context")):
    """Shrinkage linear discriminant analysis on the sentence embeddings, equal class priors;
    config: the shrinkage (Ledoit-Wolf 'auto' or fixed)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from pipeline.learn.crossval import aligned_proba

    def make(dimension):
        def fit_predict(train, y, test, classes, shrinkage):
            if len(set(y)) < 2:
                return block_model(blocks)(train, y, test, classes, 1.0)
            present = sorted(set(y))
            model = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage,
                                               priors=np.full(len(present), 1 / len(present)))
            return aligned_proba(model.fit(dense(blocks, train), y), dense(blocks, test), classes)
        return fit_predict, ["auto", 0.5, 0.9]
    return make


def chain_member(data, weight=1.0):
    """Classifier chain, stacked: the default design plus the other content dimensions'
    probabilities (default design, C = 1), out-of-fold over the training cases for training rows,
    from models fitted on all training cases for the others; config C."""
    from pipeline.learn.crossval import folds_for, group_keys

    labels = {d: dict(zip((int(r) for r in STORE.rows(data[d].fragments)), data[d].labels)) for d in CONTENT}
    case = dict(zip((int(r) for r in STORE.rows(data[CONTENT[0]].fragments)),
                    group_keys(data[CONTENT[0]].fragments, "case")))
    base = block_model(DEFAULT)

    def others(dimension, train, test):
        train_out, test_out = [], []
        for other in CONTENT:
            if other == dimension:
                continue
            classes = sorted(set(labels[other].values()))
            y = np.asarray([labels[other][int(r)] for r in train], dtype=object)
            oof = np.zeros((len(train), len(classes)))
            for inner_train, inner_test in folds_for([case[int(r)] for r in train], 5):
                oof[inner_test] = base(train[inner_train], y[inner_train], train[inner_test], classes, 1.0)
            train_out.append(oof)
            test_out.append(base(train, y, test, classes, 1.0))
        return np.hstack(train_out) * weight, np.hstack(test_out) * weight

    def make(dimension):
        def fit_predict(train, y, test, classes, c):
            from sklearn.linear_model import LogisticRegression

            from pipeline.learn.crossval import aligned_proba

            if len(set(y)) < 2:
                return base(train, y, test, classes, c)
            extra_train, extra_test = others(dimension, train, test)
            transform = transform_for(train, DEFAULT)
            model = LogisticRegression(C=c, class_weight="balanced", solver="newton-cg", max_iter=1000)
            model.fit(sp.hstack([transform(train), sp.csr_matrix(extra_train)], format="csr"), y)
            return aligned_proba(model, sp.hstack([transform(test), sp.csr_matrix(extra_test)], format="csr"), classes)
        return fit_predict, list(C_GRID)
    return make


SENTENCES = {}  # "owner": fragment row of each sentence, "vectors": the sentence's embedding


def load_sentence_rows(used, cache_dir):
    """Every sentence of every coded fragment (capcode's splitter) and its embedding."""
    from pipeline.dutch import build_nlp
    from pipeline.learn.cache import cached_rows, using_cache
    from pipeline.learn.encoder import block_key, embed

    nlp = build_nlp("blank")
    owner, texts = [], []
    for i, f in enumerate(used):
        sentences = [s.text for s in nlp(f.text).sents if s.text.strip()]
        if len(sentences) > 1:
            owner += [i] * len(sentences)
            texts += sentences
    with using_cache(cache_dir):
        SENTENCES["vectors"] = np.asarray(cached_rows(block_key(), texts, embed), dtype=np.float32)
    SENTENCES["owner"] = np.asarray(owner, dtype=int)


def sentence_rows_member(sentence_weight=1.0):
    """Embedding LR (use + use_context) trained on the fragments plus each of their sentences as
    an extra row with the fragment's code (weight `sentence_weight` / number of sentences, so a
    fragment counts at most 1 + sentence_weight); predicts from whole fragments; config C."""
    from sklearn.linear_model import LogisticRegression

    from pipeline.learn.crossval import aligned_proba

    def make(dimension):
        def fit_predict(train, y, test, classes, c):
            if len(set(y)) < 2:
                return block_model(EMBEDDINGS)(train, y, test, classes, c)
            label = dict(zip(train.tolist(), y))
            pick = np.flatnonzero(np.isin(SENTENCES["owner"], train))
            owners = SENTENCES["owner"][pick]
            counts = collections.Counter(owners.tolist())
            X = np.vstack([dense(EMBEDDINGS, train),
                           np.hstack([SENTENCES["vectors"][pick], BLOCK["use_context"][owners].toarray()])])
            labels = np.concatenate([y, np.asarray([label[o] for o in owners.tolist()], dtype=object)])
            weight = np.concatenate([np.ones(len(train)), [sentence_weight / counts[o] for o in owners.tolist()]])
            balance = {v: len(labels) / (len(classes) * weight[labels == v].sum()) for v in set(labels)}
            weight = weight * np.asarray([balance[v] for v in labels])
            model = LogisticRegression(C=c, solver="newton-cg", max_iter=1000)
            model.fit(X, labels, sample_weight=weight)
            return aligned_proba(model, dense(EMBEDDINGS, test), classes)
        return fit_predict, list(C_GRID)
    return make


def averaged_over_c(blocks):
    """No choice of C at all: the mean of the probabilities of the fits at every C of the grid
    (choosing C on 90 fragments from 5-6 cases is itself noisy)."""
    fit_predict = block_model(blocks)

    def method(rows, y, groups, classes, folds_for, **_):
        return lambda test: np.mean([fit_predict(rows, y, test, classes, c) for c in C_GRID], axis=0)
    return method


def simplex(n, step=0.25):
    """Weight vectors on a grid of the simplex, equal weights first (ties keep them)."""
    ticks = np.arange(0, 1 + 1e-9, step)
    grid = [w for w in itertools.product(ticks, repeat=n) if abs(sum(w) - 1) < 1e-9]
    return [tuple([1 / n] * n)] + grid


def blend(members, weights=None, inside=False):
    """Soft voting: each member's config chosen by inner kappa and its probabilities tempered
    (temperature by inner log loss), then a weighted arithmetic mean; weights fixed (equal unless
    given) or, with `inside`, the simplex grid point of best inner kappa."""
    from pipeline.learn.calibrate import fit_temperature, temper

    def method(rows, y, groups, classes, folds_for, dimension, **_):
        chosen_members, oofs = [], []
        for make in members:
            fit_predict, configs = make(dimension)
            oof = inner_oof(rows, y, groups, classes, configs, fit_predict, folds_for)
            best = max(configs, key=lambda c: (round(kappa_of(y, oof[c], classes), 9), -configs.index(c)))
            t = fit_temperature(y, oof[best], classes)
            chosen_members.append((fit_predict, best, t))
            oofs.append(temper(oof[best], t))
        share = list(weights or [1 / len(members)] * len(members))
        if inside:
            share = max(simplex(len(members)),
                        key=lambda w: round(kappa_of(y, sum(a * o for a, o in zip(w, oofs)), classes), 9))

        def predict(test):
            return sum(a * temper(f(rows, y, test, classes, c), t)
                       for a, (f, c, t) in zip(share, chosen_members) if a > 0)
        return predict
    return method


def load_codebook_vectors(codebook, cache_dir):
    from pipeline.learn.cache import cached_rows, using_cache
    from pipeline.learn.designs import codebook_entries
    from pipeline.learn.encoder import block_key, embed

    entries = codebook_entries(codebook)
    with using_cache(cache_dir):
        CODEBOOK["vectors"] = np.asarray(cached_rows(block_key(), [t for _, t in entries], embed), dtype=np.float32)
    CODEBOOK["entries"] = entries


# ---- running ---------------------------------------------------------------------------


def variants(data):
    grid = list(C_GRID)
    joint = joint_cells(data)
    return {
        "default": ("default: C by inner kappa (the default)", chosen(grid, block_model(DEFAULT))),
        "logloss": ("C by inner log loss", chosen(grid, block_model(DEFAULT), "log_loss")),
        "wide-c": ("C grid 0.1-100", chosen([0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0], block_model(DEFAULT))),
        "use-x2": ("sentence-encoder blocks weighted x2", chosen(grid, block_model(DEFAULT, {"use": 2, "use_context": 2}))),
        "use-x4": ("sentence-encoder blocks weighted x4", chosen(grid, block_model(DEFAULT, {"use": 4, "use_context": 4}))),
        "prior-rule": ("class weights for kappa, chosen inside", chosen(grid, block_model(DEFAULT), rule=True)),
        "joint": ("joint 8-valued cell, marginalised", joint),
        "role": ("+ respondent role", chosen(grid, block_model(DEFAULT + ("role",)))),
        "neighbours": ("+ previous and next answer (embeddings)",
                       chosen(grid, block_model(DEFAULT + ("use_previous", "use_next")))),
        "position": ("+ position in the interview (artifact check)", chosen(grid, block_model(DEFAULT + ("position",)))),
        "sentences": ("sentence-mean embedding instead of whole fragment",
                      chosen(grid, block_model(("lemma", "char", "context", "use_sentences", "use_context")))),
        "sentences+": ("+ sentence-mean embedding", chosen(grid, block_model(DEFAULT + ("use_sentences",)))),
        "ens": ("ensemble text | embeddings, geometric mean", ensemble([TEXT, EMBEDDINGS])),
        "ens-all": ("ensemble all blocks | embeddings", ensemble([DEFAULT, EMBEDDINGS])),
        "ens-weight": ("ensemble text | embeddings, weight inside", ensemble([TEXT, EMBEDDINGS], True)),
        "vote3": ("soft vote: default | embeddings LR | char LR", blend([lr_member(DEFAULT), lr_member(EMBEDDINGS),
                                                                       lr_member(("char",))])),
        "vote3-inside": ("soft vote of three, weights chosen inside", blend([lr_member(DEFAULT), lr_member(EMBEDDINGS),
                                                                  lr_member(("char",))], inside=True)),
        "vote-text-emb": ("soft vote: text LR | embeddings LR", blend([lr_member(TEXT), lr_member(EMBEDDINGS)])),
        "codebook-zero": ("codebook prototypes alone (zero-shot)", blend([centroid_member(codebook_only=True)])),
        "centroid": ("nearest centroid, shrunk to codebook (a inside)", blend([centroid_member()])),
        "def+centroid": ("soft vote: default | codebook centroid", blend([lr_member(DEFAULT), centroid_member()])),
        "def+centroid-in": ("default | codebook centroid, weight inside", blend([lr_member(DEFAULT), centroid_member()],
                                                                   inside=True)),
        "lda": ("shrinkage LDA on embeddings", blend([lda_member()])),
        "def+lda": ("soft vote: default | shrinkage LDA", blend([lr_member(DEFAULT), lda_member()])),
        "def+lda+centroid": ("soft vote: default | LDA | codebook centroid",
                             blend([lr_member(DEFAULT), lda_member(), centroid_member()])),
        "emb": ("embeddings LR alone (use+use_context)", blend([lr_member(EMBEDDINGS)])),
        "sent-rows": ("embeddings LR + sentences as extra rows", blend([sentence_rows_member()])),
        "def+emb": ("soft vote: default | embeddings LR", blend([lr_member(DEFAULT), lr_member(EMBEDDINGS)])),
        "def+sent-rows": ("soft vote: default | embeddings LR + sentence rows",
                          blend([lr_member(DEFAULT), sentence_rows_member()])),
        "c-average": ("default blocks, probabilities averaged over C", averaged_over_c(DEFAULT)),
        "chain": ("chain: + other dimensions' out-of-fold probabilities", blend([chain_member(data)])),
    }


def evaluate(name, label, method, data, store, folds_for):
    from pipeline.learn.crossval import group_keys

    started, kappas = time.perf_counter(), {}
    dimensions = CONTENT[:3] if name == "joint" else CONTENT
    for dimension in dimensions:
        item = data[dimension]
        rows = store.rows(item.fragments)
        y = np.asarray(item.labels, dtype=object)
        groups = np.asarray(group_keys(item.fragments, "case"), dtype=object)
        ids = np.asarray([f.id for f in item.fragments], dtype=object)
        classes = sorted(set(y))
        proba = np.zeros((len(y), len(classes)))
        fitted = method(dimension) if name == "joint" else method
        for train, test in folds_for(list(groups), 5):
            predict = fitted(rows[train], y[train], groups[train], classes, folds_for, ids=ids[train],
                             dimension=dimension)
            proba[test] = predict(rows[test])
        kappas[dimension] = kappa_of(y, proba, classes)
    mean = float(np.mean(list(kappas.values())))
    print(f"{label:<52}" + "".join(f"{kappas.get(d, float('nan')):>8.3f}" for d in CONTENT) +
          f"{mean:>8.3f}  ({time.perf_counter() - started:.0f} s)", flush=True)
    return kappas


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="variants to run (default: all)")
    parser.add_argument("--partition-seed", type=int, help="assign cases to folds at random with this seed")
    parser.add_argument("--five-partitions", action="store_true",
                        help="GroupKFold's partition and random seeds 1-4; then each variant's mean over the "
                             "five and its paired difference from the default")
    parser.add_argument("--fragments", help="the sample's fragments (default: segmented on the fly)")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from classifier import sample_inputs
    from pipeline.learn.crossval import folds_for

    threadpool_limits(1)
    with tempfile.TemporaryDirectory(prefix="capcode-designs-") as tmp:
        fragments_path = Path(args.fragments) if args.fragments else sample_inputs(Path(tmp))[0]
        cache_dir = fragments_path.resolve().parent / ".capcode-cache"
        fragments, data, used, store = load(fragments_path, cache_dir)
        add_metadata_blocks(fragments, used, cache_dir)
        table = variants(data)
        names = args.only or list(table)
        seeds = [None, 1, 2, 3, 4] if args.five_partitions else [args.partition_seed]
        means = collections.defaultdict(dict)
        for seed in seeds:
            folds = folds_for if seed is None else random_partition(seed)
            print("partition: " + ("GroupKFold (as capcode evaluate)" if seed is None else f"random, seed {seed}"))
            print(f"{'variant (nested, choices on inner folds)':<52}" + "".join(f"{d[:7]:>8}" for d in CONTENT) +
                  f"{'mean':>8}")
            for name in names:
                label, method = table[name]
                kappas = evaluate(name, label, method, data, store, folds)
                means[name][seed] = float(np.mean(list(kappas.values())))
        if len(seeds) > 1:
            summarise(means, table, seeds)
    return 0


def summarise(means, table, seeds):
    """Mean kappa over the partitions, and the paired difference from the default on each."""
    print("\nover the partitions (mean of the 4 content dimensions; joint: 3)")
    print(f"{'variant':<52}{'mean':>8}{'sd':>7}   paired difference from the default (mean, sd, per partition)")
    for name, by_seed in means.items():
        values = np.asarray([by_seed[s] for s in seeds])
        line = f"{table[name][0]:<52}{values.mean():>8.3f}{values.std(ddof=1):>7.3f}"
        if "default" in means and name != "default":
            diff = values - np.asarray([means["default"][s] for s in seeds])
            line += f"   {diff.mean():+.3f} ± {diff.std(ddof=1):.3f}  (" + " ".join(f"{d:+.3f}" for d in diff) + ")"
        print(line, flush=True)

if __name__ == "__main__":
    sys.exit(main())
