"""Scores, calibration and abstention thresholds.

- `scores`: accuracy, macro-F1 and Cohen's kappa against the coders.
- `calibration`: multi-class Brier score and expected calibration error (ECE) of the top
  probability, with the reliability table behind it.
- `fit_temperature` / `temper`: temperature scaling (Guo et al. 2017), one number per
  dimension fitted on out-of-fold probabilities of held-out cases: p_i ∝ p_i^(1/T). For a
  logistic regression this is exactly dividing its logits by T; it changes how sure the
  model says it is, never which value it suggests.
- `precision_coverage` / `threshold_for`: the lowest probability threshold whose kept
  suggestions reach a target precision on held-out cases, on enough fragments to mean something.
  `choose_threshold` (what `train` stores) is conservative: it asks that the precision's
  one-sided Wilson lower bound (`CONFIDENCE`, 95%) reach the target, not the precision itself.
  A precision measured on 90 held-out fragments moves by several points from one sample of
  cases to the next; the bound makes the stored threshold keep its promise on new cases
  instead of meeting it half of the time.
"""

import math
from statistics import NormalDist

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.0, 1.0001, 0.01))
MIN_KEPT = 10  # a threshold must keep at least this many fragments
CONFIDENCE = 0.95  # one-sided confidence of the lower bound a stored threshold's precision must reach
BOOTSTRAP = 1000  # case resamples for the lower bound of a precision measured over several cases
TEMPERATURES = tuple(float(t) for t in np.exp(np.linspace(np.log(0.05), np.log(5.0), 93)))


def scores(y_true, y_pred, labels) -> dict:
    """Accuracy, macro-F1 (over the values the coders used) and Cohen's kappa against the coders.

    The formulas of scikit-learn's accuracy_score, f1_score(average='macro', zero_division=0)
    and cohen_kappa_score on one confusion matrix (cross-validation scores thousands of
    candidate fits, and the library's input checks cost more than the arithmetic).
    """
    y_true, y_pred = list(y_true), list(y_pred)
    values = sorted(set(y_true) | set(y_pred))
    index = {v: i for i, v in enumerate(values)}
    k = len(values)
    truth = np.fromiter((index[v] for v in y_true), dtype=np.int64, count=len(y_true))
    guess = np.fromiter((index[v] for v in y_pred), dtype=np.int64, count=len(y_pred))
    confusion = np.bincount(truth * k + guess, minlength=k * k).reshape(k, k).astype(np.float64)
    kappa = 0.0
    if k > 1:
        true_sum, pred_sum = confusion.sum(axis=1), confusion.sum(axis=0)
        disagree = 1.0 - np.eye(k)
        expected = float(np.sum(disagree * (np.outer(pred_sum, true_sum) / pred_sum.sum())))
        kappa = 1.0 - float(np.sum(disagree * confusion)) / expected if expected != 0 else 0.0
    f1 = []
    for label in labels:
        i = index.get(label)
        if i is None:
            f1.append(0.0)
            continue
        denominator = confusion[i].sum() + confusion[:, i].sum()
        f1.append(2.0 * confusion[i, i] / denominator if denominator > 0 else 0.0)
    return {"accuracy": float(np.mean(truth == guess)) if len(truth) else 0.0,
            "macro_f1": float(np.mean(f1)) if f1 else 0.0, "kappa": 0.0 if math.isnan(kappa) else float(kappa)}


def per_value(y_true, y_pred, labels) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {v: {"precision": float(p), "recall": float(r), "f1": float(f), "n": int(s)}
            for v, p, r, f, s in zip(labels, precision, recall, f1, support)}


def calibration(y_true, proba, classes, bins: int = 10) -> dict:
    """Multi-class Brier score and expected calibration error of the top probability."""
    y_true = np.asarray(y_true, dtype=object)
    onehot = (y_true[:, None] == np.asarray(classes, dtype=object)[None, :]).astype(float)
    brier = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    top = proba.max(axis=1)
    correct = np.asarray(classes, dtype=object)[proba.argmax(axis=1)] == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece, reliability = 0.0, []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (top > low) & (top <= high) if low > 0 else (top >= low) & (top <= high)
        if inside.any():
            confidence, accuracy = float(top[inside].mean()), float(correct[inside].mean())
            ece += inside.mean() * abs(confidence - accuracy)
            reliability.append({"confidence": confidence, "accuracy": accuracy, "n": int(inside.sum())})
    return {"brier": brier, "ece": float(ece), "reliability": reliability}


def temper(proba, temperature) -> np.ndarray:
    """Probabilities raised to 1/T and renormalised (T > 1: less sure, T < 1: surer). `temperature`
    may also be an array that broadcasts against `proba` (several temperatures at once, each
    result the same numbers as its own call)."""
    proba = np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0)
    if np.ndim(temperature) == 0 and temperature == 1.0:
        return proba / proba.sum(axis=-1, keepdims=True)
    logits = np.log(proba) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=-1, keepdims=True)


def log_loss(y_true, proba, classes) -> float:
    """Mean negative log probability of the coded value (values outside `classes` are left out)."""
    index = {c: i for i, c in enumerate(classes)}
    rows = [(r, index[v]) for r, v in enumerate(y_true) if v in index]
    if not rows:
        return 0.0
    proba = np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(-np.mean([math.log(proba[r, c]) for r, c in rows]))


def fit_temperature(y_true, proba, classes) -> float:
    """The temperature that minimises the log loss of out-of-fold probabilities (1.0 if nothing to fit)."""
    y_true = np.asarray(y_true, dtype=object)
    index = {c: i for i, c in enumerate(classes)}
    known = np.array([v in index for v in y_true])
    if known.sum() < 2 or len(classes) < 2:
        return 1.0
    columns = np.array([index[v] for v in y_true[known]])
    losses = dict(zip(TEMPERATURES, temper_losses(np.asarray(proba)[known], columns, TEMPERATURES)))
    return float(min(TEMPERATURES, key=lambda t: (round(losses[t], 12), abs(math.log(t)))))


def temper_losses(proba, columns, temperatures) -> list:
    """For each temperature, -mean(log(temper(proba, t)[rows, columns])): the log loss of the coded
    values, every temperature at once, each number computed in `temper`'s own steps."""
    rows = np.arange(len(columns))
    losses = {}
    scaled = [t for t in temperatures if t != 1.0]
    if scaled:
        tempered = temper(proba, np.asarray(scaled, dtype=float)[:, None, None])  # temperatures x rows x values
        losses.update(zip(scaled, [-np.mean(row) for row in np.log(tempered[:, rows, columns])]))  # 1-d means
    if 1.0 in temperatures:
        losses[1.0] = -np.mean(np.log(temper(proba, 1.0)[rows, columns]))
    return [float(losses[t]) for t in temperatures]


def wilson_lower(correct: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Wilson score lower bound of a proportion `correct`/`n` (0.0 when n is 0).

    The precision of `n` kept suggestions is at least this with probability `confidence`
    (Wilson 1927; good coverage for small n and proportions near 1, unlike the normal interval).
    """
    if n <= 0:
        return 0.0
    z = NormalDist().inv_cdf(confidence)
    p = correct / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z * z / n))


def case_bootstrap_lower(correct, top_probability, groups, confidence: float = CONFIDENCE,
                         repeats: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """Per threshold of THRESHOLDS: the (1 - confidence) quantile of the kept suggestions' precision
    when the cases (`groups`) are drawn again with replacement (a cluster bootstrap).

    Suggestions for one municipality are right or wrong together (its words, its projects, its
    coder's habits), so a precision measured on 90 fragments from five cases holds much less
    evidence than 90 independent fragments: resampling whole cases says how much. A resample
    that keeps no fragment counts as precision 0 (it shows nothing).
    """
    correct = np.asarray(correct, dtype=bool)
    top = np.asarray(top_probability, dtype=float)
    cases, index = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    thresholds = np.asarray(THRESHOLDS)
    kept = _kept_per_case(index, len(cases), top, thresholds)  # per case and threshold: suggestions kept
    right = _kept_per_case(index[correct], len(cases), top[correct], thresholds)
    draws = np.random.default_rng(seed).multinomial(len(cases), np.full(len(cases), 1 / len(cases)), size=repeats)
    kept_b, right_b = draws @ kept, draws @ right
    precision = np.divide(right_b, kept_b, out=np.zeros_like(right_b), where=kept_b > 0)
    return np.quantile(precision, 1 - confidence, axis=0)


def _kept_per_case(index, n_cases, top, thresholds) -> np.ndarray:
    """cases x thresholds: how many of a case's fragments have `top` at or above each threshold
    (counted per case and threshold level in one pass, then summed from the top level down)."""
    level = np.searchsorted(thresholds, top, side="right")  # thresholds at or below each top probability
    counts = np.bincount(index * (len(thresholds) + 1) + level, minlength=n_cases * (len(thresholds) + 1))
    above = np.cumsum(counts.reshape(n_cases, -1)[:, ::-1], axis=1)[:, ::-1]  # fragments at level >= l
    return above[:, 1:].astype(np.float64)  # threshold t keeps the fragments whose level exceeds t


def precision_coverage(y_true, y_pred, top_probability, confidence: float = CONFIDENCE) -> list:
    """For each threshold: the share of fragments kept (probability >= threshold), their precision
    and its one-sided lower confidence bound (`lower`)."""
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    correct = y_true == y_pred
    curve = []
    for threshold in THRESHOLDS:
        kept = top_probability >= threshold
        n_kept = int(kept.sum())
        n_correct = int(correct[kept].sum())
        curve.append({"threshold": threshold, "coverage": float(kept.mean()) if len(kept) else 0.0,
                      "precision": n_correct / n_kept if n_kept else None,
                      "lower": wilson_lower(n_correct, n_kept, confidence) if n_kept else None, "n": n_kept})
    return curve


def threshold_for(curve, target: float, min_kept: int = MIN_KEPT, bound: bool = False):
    """The lowest threshold whose kept suggestions reach `target` precision, or None if none does.

    A threshold must keep at least `min_kept` fragments (or all of them, if fewer): a
    precision measured on one or two fragments says nothing. With `bound`, the precision's
    lower confidence bound must reach the target (what `choose_threshold` stores).
    """
    total = curve[0]["n"] if curve else 0
    needed = max(1, min(min_kept, total))
    key = "lower" if bound else "precision"
    for point in curve:
        if point["n"] >= needed and point[key] is not None and point[key] >= target:
            return point
    return None


def choose_threshold(y_true, proba, classes, target: float, min_fragments: int,
                     confidence: float = CONFIDENCE, groups=None, check_transfer: bool = True) -> dict:
    """The stored abstention rule of a dimension from held-out probabilities.

    The threshold is the lowest whose kept suggestions have a precision whose one-sided
    `confidence` lower bound reaches `target`: the evidence must show the target is met, not
    merely hint at it. The bound is the Wilson bound (fragments as independent trials) and,
    given the fragments' cases (`groups`), the lower of it and the cluster-bootstrap bound
    (`case_bootstrap_lower`: cases as the unit of evidence).

    With `groups` from three or more cases, the rule must also keep its promise on a case it
    has not seen (`check_transfer`): for each case, a threshold chosen the same way on the
    other cases is applied to that case's probabilities; pooled over the cases, the kept
    suggestions' precision must again show the target with `confidence`. On the sample, the
    tail a threshold keeps is precise in the cases it was set on and much less so in the next
    one (municipalities differ), so without this check the stored thresholds promised 0.8 and
    delivered 0.55-0.65 on held-out cases. Returns {threshold, coverage, precision, lower, kept, n,
    confidence, note}. Where no threshold passes, or fewer than `min_fragments` held-out
    fragments exist, the threshold is 1.0 (abstain on every fragment: review them all) and
    `note` says why: with too little evidence capcode abstains more, not less.
    """
    n = len(y_true)
    empty = {"threshold": 1.0, "coverage": 0.0, "precision": None, "lower": None, "kept": 0, "n": n,
             "confidence": confidence}
    if n < min_fragments:
        return {**empty, "note": f"only {n} held-out fragments (fewer than {min_fragments}): too few to estimate a "
                                 "threshold, so every suggestion is left for review"}
    predicted = np.asarray(classes, dtype=object)[np.asarray(proba).argmax(axis=1)]
    top = np.asarray(proba).max(axis=1)
    curve = precision_coverage(y_true, predicted, top, confidence)
    if groups is not None and len(set(groups)) > 1:
        by_cases = case_bootstrap_lower(np.asarray(y_true, dtype=object) == predicted, top, groups, confidence)
        for point, bound in zip(curve, by_cases):
            if point["lower"] is not None:
                point["lower"] = min(point["lower"], float(bound))
    point = threshold_for(curve, target, bound=True)
    if point is None:
        best = max((p["lower"] for p in curve if p["lower"] is not None and p["n"] >= min(MIN_KEPT, n)), default=0.0)
        cases = f" from {len(set(groups))} cases" if groups is not None else ""
        return {**empty, "note": f"on {n} held-out fragments{cases} no threshold shows a precision of at least {target:.2f} "
                                 f"with {confidence:.0%} confidence (best lower bound {floor2(best)}), so every "
                                 "suggestion is left for review"}
    rule = {"threshold": point["threshold"], "coverage": point["coverage"], "precision": point["precision"],
            "lower": point["lower"], "kept": point["n"], "n": n, "confidence": confidence, "note": ""}
    if check_transfer and groups is not None and len(set(groups)) >= 3:
        transfer = transfer_check(y_true, proba, classes, target, min_fragments, confidence, groups)
        rule["transfer"] = transfer
        if transfer["kept"] < MIN_KEPT or transfer["lower"] < target:
            found = (f"kept {transfer['kept']} suggestions of the case left out, {transfer['precision']:.0%} right "
                     f"(lower bound {floor2(transfer['lower'])})" if transfer["kept"] else
                     "kept none of the suggestions of the case left out")
            return {**empty, "transfer": transfer,
                    "note": f"thresholds set each without one case {found}: that does not show precision "
                            f"{target:.2f} on cases a threshold was not set on, so every suggestion is left for review"}
    return rule


def floor2(value: float) -> str:
    """A bound with two decimals, rounded down (0.797 is '0.79', not a '0.80' that failed)."""
    return f"{math.floor(value * 100 + 1e-9) / 100:.2f}"


def transfer_check(y_true, proba, classes, target, min_fragments, confidence, groups) -> dict:
    """Leave one case out: a threshold chosen on the other cases, applied to the case; pooled kept and right."""
    y_true, proba = np.asarray(y_true, dtype=object), np.asarray(proba)
    groups = np.asarray(groups, dtype=str)
    right_value = np.asarray(classes, dtype=object)[proba.argmax(axis=1)] == y_true
    kept = right = 0
    for case in sorted(set(groups)):
        inside = groups == case
        rule = choose_threshold(y_true[~inside], proba[~inside], classes, target, min_fragments, confidence,
                                list(groups[~inside]), check_transfer=False)
        if rule["threshold"] < 1.0:
            chosen = proba[inside].max(axis=1) >= rule["threshold"]
            kept += int(chosen.sum())
            right += int(right_value[inside][chosen].sum())
    return {"kept": kept, "precision": right / kept if kept else None,
            "lower": wilson_lower(right, kept, confidence) if kept else 0.0}
