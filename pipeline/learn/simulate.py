"""Effort saved, measured: replay a study's coding in capcode's order against random order.

The question a team asks: how many fragments must we hand-code before the suggestions are
good enough, and does coding the fragments `capcode suggest` picks get there sooner? The
replay answers it on codings that already exist, under grouped cross-validation:

- the held-out cases of each fold are never coded; their kappa (model against coders,
  mean over the evaluated dimensions) is the score after every batch;
- the other cases form the pool. Both orders start from the same random batch; then
  *capcode's order* takes the next batch by uncertainty (1 - margin on the most unsure
  dimension, as `suggest` does), in turns across cases; *random order* draws the batch at
  random (several repeats, mean and spread);
- every step retrains the models (the design's blocks, fixed C for speed) on what is coded.

Reported: kappa against fragments coded for both orders, and the number of coded
fragments at which each first reaches the target kappa (`None` when it never does).
"""

import numpy as np

from .calibrate import scores
from .crossval import aligned_proba, folds_for, group_keys, predicted
from .model import fit_pipelines, single_thread
from .ranking import round_robin, uncertainty


def _fit_all(spec, X, widths, coded, labels, dimensions, c):
    """{dimension: fitted pipeline} on the coded fragments that have a label on it (None below 2 values)."""
    models = {}
    for dimension in dimensions:
        rows = [i for i in coded if i in labels[dimension]]
        y = np.asarray([labels[dimension][i] for i in rows], dtype=object)
        models[dimension] = fit_pipelines(spec, widths, X[rows], [(y, c)])[0] if len(set(y)) > 1 else None
    return models


def _kappa(models, X, test, labels, dimensions) -> dict:
    out = {}
    for dimension in dimensions:
        rows = [i for i in test if i in labels[dimension]]
        truth = [labels[dimension][i] for i in rows]
        classes = sorted(set(labels[dimension].values()))
        model = models[dimension]
        if model is None or not rows:
            out[dimension] = 0.0
            continue
        guess = predicted(aligned_proba(model, X[rows], classes), classes)
        out[dimension] = scores(truth, guess, classes)["kappa"]
    return out


def _next_by_uncertainty(models, X, remaining, fragments, conditions, n):
    scored = []
    rows = list(remaining)
    per_dimension = {d: (m.predict_proba(X[rows]), list(m.classes_)) for d, m in models.items() if m is not None}
    for position, row in enumerate(rows):
        best = 0.0
        for dimension, (proba, classes) in per_dimension.items():
            condition = conditions.get(dimension)
            if condition and condition[0] in per_dimension:
                parent_proba, parent_classes = per_dimension[condition[0]]
                if parent_classes[int(np.argmax(parent_proba[position]))] != condition[1]:
                    continue
            best = max(best, uncertainty(proba[position], "margin"))
        scored.append((fragments[row], best, row))
    return [item[2] for item in round_robin(scored, n)]


def simulate_effort(spec, store, data, codebook, group_by="case", n_folds=5, batch=10, repeats=5,
                    target_kappa=0.6, c=1.0, seed=0) -> dict:
    """Kappa on held-out cases after each coded batch, capcode's order against random order."""
    design = spec.design
    fragments = store.fragments
    dimensions = [d for d, item in data.items() if len(set(item.labels)) > 1]
    labels = {d: {store.row[f.id]: v for f, v in zip(data[d].fragments, data[d].labels)} for d in dimensions}
    conditions = {d.id: (d.condition.dimension, d.condition.value) for d in codebook.dimensions
                  if d.condition is not None and d.id in dimensions}
    widths = store.widths(design)
    folds = folds_for(group_keys(fragments, group_by), n_folds)
    rng = np.random.default_rng(seed)
    runs = {"capcode": [], "random": []}
    with single_thread():
        for train, test in folds:
            held_out = [fragments[i] for i in test] if "codebook" in design.blocks else []
            X = store.matrix(design, None, held_out)
            start = list(rng.choice(train, size=min(batch, len(train)), replace=False))
            for order in ["capcode"] + ["random"] * repeats:
                order_rng = np.random.default_rng(rng.integers(1 << 31))
                coded, curve = list(start), []
                while True:
                    models = _fit_all(spec, X, widths, coded, labels, dimensions, c)
                    kappas = _kappa(models, X, list(test), labels, dimensions)
                    curve.append((len(coded), float(np.mean(list(kappas.values()))), kappas))
                    remaining = [i for i in train if i not in set(coded)]
                    if not remaining:
                        break
                    size = min(batch, len(remaining))
                    if order == "capcode":
                        coded += _next_by_uncertainty(models, X, remaining, fragments, conditions, size)
                    else:
                        coded += list(order_rng.choice(remaining, size=size, replace=False))
                runs[order].append(curve)
    return summarise(runs, dimensions, target_kappa, batch, repeats, len(folds))


def summarise(runs, dimensions, target_kappa, batch, repeats, n_folds) -> dict:
    """Mean curves over folds (and random repeats), and fragments needed to reach the target kappa."""
    curves = {}
    for order, order_runs in runs.items():
        steps = min(len(r) for r in order_runs)
        points = []
        for step in range(steps):
            values = np.asarray([r[step][1] for r in order_runs])
            point = {"coded": int(np.mean([r[step][0] for r in order_runs])), "kappa": float(values.mean()),
                     "kappa_sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
            point["by_dimension"] = {d: float(np.mean([r[step][2][d] for r in order_runs])) for d in dimensions}
            points.append(point)
        curves[order] = points

    def reached(points, key=None):
        for point in points:
            value = point["kappa"] if key is None else point["by_dimension"][key]
            if value >= target_kappa:
                return point["coded"]
        return None

    return {"target_kappa": target_kappa, "batch": batch, "random_repeats": repeats, "folds": n_folds,
            "dimensions": dimensions, "curves": curves,
            "fragments_to_target": {order: reached(points) for order, points in curves.items()},
            "fragments_to_target_by_dimension": {order: {d: reached(points, d) for d in dimensions}
                                                 for order, points in curves.items()}}
