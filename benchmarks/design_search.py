"""The design experiments behind docs/classifier.md ("Tried and not kept", "How much of this is luck").

Nested grouped cross-validation of design variants on the sample study (team codings), with the
same outer folds as `capcode evaluate` (GroupKFold, 5 folds over the 7 cases) unless
`--partition-seed` assigns the cases to 5 folds at random. Every choice that depends on labels
(C, block weights, decision rules, ensemble weights) is made on inner grouped folds of the
training cases only. Feature blocks come from capcode's own FeatureStore (and the study's
feature cache), with columns that are zero in every fragment dropped: an exact shortcut, since
such columns get zero weight. Prints kappa per content dimension and their mean.

Usage:
  python benchmarks/design_search.py                       # every variant (about 6 min on one core)
  python benchmarks/design_search.py --only default logloss --partition-seed 3
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

    def method(rows, y, groups, classes, folds_for):
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

    def method(rows, y, groups, classes, folds_for):
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

        def method(rows, y, groups, classes, folds_for, ids):
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
            extra = {"ids": ids[train]} if name == "joint" else {}
            predict = fitted(rows[train], y[train], groups[train], classes, folds_for, **extra)
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
        folds = folds_for if args.partition_seed is None else random_partition(args.partition_seed)
        table = variants(data)
        names = args.only or list(table)
        print("partition: " + ("GroupKFold (as capcode evaluate)" if args.partition_seed is None
                               else f"random, seed {args.partition_seed}"))
        print(f"{'variant (nested, choices on inner folds)':<52}" + "".join(f"{d[:7]:>8}" for d in CONTENT) +
              f"{'mean':>8}")
        for name in names:
            label, method = table[name]
            evaluate(name, label, method, data, store, folds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
