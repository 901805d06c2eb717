"""How good are the suggestions? Grouped cross-validation against two baselines.

Cross-validation is grouped by case (default) or respondent: all fragments of a
case are in the same fold, so the model is always scored on a municipality it
has not seen. Fragments of one interview share names, projects and turns of
phrase; a random fragment split lets the model recognise the case instead of
the concept and overstates how well it will do on a new study.

Per dimension the same folds score the model and two baselines: the majority
value (of the training folds) and a keyword lexicon built from the codebook's
own descriptions and examples (lemmatised, no training data). Conditional
dimensions are scored on the fragments where the coders' codes meet the
condition. Also measured: calibration (Brier score, expected calibration error),
precision against coverage when abstaining below a threshold, the lowest
threshold that reaches the target precision, a learning curve and a comparison
of feature/classifier designs.
"""

import collections
import json
import logging
import math
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from .errors import ConfigError, InputError
from .features import lemmatise
from .train import ModelSpec, compute_features, fit_classifier, training_data

log = logging.getLogger("capcode")

GROUPINGS = ("case", "respondent", "fragment")
LEARNING_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.0, 1.0001, 0.01))
MIN_LEXICON_WORD = 3
MIN_KEPT = 10  # a threshold must keep at least this many fragments


# ---- folds -----------------------------------------------------------------


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
    return list(splitter.split(indices, groups=groups))


# ---- baselines -------------------------------------------------------------


def majority_value(labels) -> str:
    """The most frequent label (ties: the first in sorted order, so the choice is reproducible)."""
    counts = collections.Counter(labels)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def build_lexicon(dimension, spacy_model: str = "blank") -> dict:
    """{value: set of lemmas} from each value's label, Dutch description and examples.

    Stop words, short words and lemmas shared by several values are dropped, so each
    lexicon holds the words that distinguish its value.
    """
    from spacy.lang.nl.stop_words import STOP_WORDS

    texts = []
    for value in dimension.values:
        parts = [value.label] + [t for lang, t in value.descriptions if lang in ("nl", "")] + list(value.examples)
        if not value.descriptions and value.description:
            parts.append(value.description)
        texts.append("\n".join(p for p in parts if p))
    lexicons = {}
    for value, lemmas in zip(dimension.values, lemmatise(texts, spacy_model)):
        lexicons[value.id] = {w for w in lemmas.split() if len(w) >= MIN_LEXICON_WORD and w.isalpha()
                              and w not in STOP_WORDS}
    shared = collections.Counter(w for words in lexicons.values() for w in words)
    return {value: {w for w in words if shared[w] == 1} for value, words in lexicons.items()}


def lexicon_predict(lexicon: dict, fragments, fallback: str, spacy_model: str = "blank") -> list:
    """Per fragment the value whose lexicon it matches most often; `fallback` when none or a tie."""
    out = []
    for lemmas in lemmatise([f.text for f in fragments], spacy_model):
        words = lemmas.split()
        scores = {value: sum(w in vocabulary for w in words) for value, vocabulary in lexicon.items()}
        best = max(scores.values(), default=0)
        winners = [v for v, s in scores.items() if s == best]
        out.append(winners[0] if best > 0 and len(winners) == 1 else fallback)
    return out


# ---- scores ----------------------------------------------------------------


def scores(y_true, y_pred, labels) -> dict:
    """Accuracy, macro-F1 (over the values the coders used) and Cohen's kappa against the coders."""
    y_true, y_pred = list(y_true), list(y_pred)
    kappa = cohen_kappa_score(y_true, y_pred) if len(set(y_true) | set(y_pred)) > 1 else 0.0
    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
            "kappa": 0.0 if math.isnan(kappa) else float(kappa)}


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


def precision_coverage(y_true, y_pred, top_probability) -> list:
    """For each threshold: the share of fragments kept (probability >= threshold) and their precision."""
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    correct = y_true == y_pred
    curve = []
    for threshold in THRESHOLDS:
        kept = top_probability >= threshold
        n_kept = int(kept.sum())
        curve.append({"threshold": threshold, "coverage": float(kept.mean()) if len(kept) else 0.0,
                      "precision": float(correct[kept].mean()) if n_kept else None, "n": n_kept})
    return curve


def threshold_for(curve, target: float, min_kept: int = MIN_KEPT):
    """The lowest threshold whose kept suggestions reach `target` precision, or None if none does.

    A threshold must keep at least `min_kept` fragments (or all of them, if fewer): a
    precision measured on one or two fragments says nothing.
    """
    total = curve[0]["n"] if curve else 0
    needed = max(1, min(min_kept, total))
    for point in curve:
        if point["n"] >= needed and point["precision"] is not None and point["precision"] >= target:
            return point
    return None


# ---- cross-validation ------------------------------------------------------


def item_features(item, spec: ModelSpec, cache=None):
    """The feature matrix of a dimension's fragments for `spec`, computed once per feature design."""
    key = (item.dimension, spec.features, spec.spacy_model)
    if cache is None:
        return compute_features(spec, item.fragments)[1]
    if key not in cache:
        cache[key] = compute_features(spec, item.fragments)[1]
    return cache[key]


def cv_predictions(item, spec: ModelSpec, folds, fraction: float = 1.0, cache=None):
    """Out-of-fold predictions and class probabilities (columns: sorted values) of one design."""
    classes = sorted(set(item.labels))
    labels = np.asarray(item.labels, dtype=object)
    features = item_features(item, spec, cache)
    predicted = np.empty(len(labels), dtype=object)
    proba = np.zeros((len(labels), len(classes)))
    rng = np.random.default_rng(spec.seed)
    for train, test in folds:
        if fraction < 1.0:
            train = np.sort(rng.choice(train, size=max(2, int(round(fraction * len(train)))), replace=False))
        classifier = fit_classifier(spec, features[train], labels[train])
        fold_proba = classifier.predict_proba(features[test])
        full = np.zeros((len(test), len(classes)))
        for column, value in enumerate(classifier.classes_):
            full[:, classes.index(value)] = fold_proba[:, column]
        proba[test] = full
        predicted[test] = np.asarray(classes, dtype=object)[full.argmax(axis=1)]
    return predicted, proba, classes


def baseline_predictions(item, folds, dimension, spacy_model: str):
    """Out-of-fold predictions of the majority and lexicon baselines."""
    labels = np.asarray(item.labels, dtype=object)
    majority = np.empty(len(labels), dtype=object)
    lexical = np.empty(len(labels), dtype=object)
    lexicon = build_lexicon(dimension, spacy_model)
    for train, test in folds:
        fallback = majority_value(labels[train])
        majority[test] = fallback
        lexical[test] = lexicon_predict(lexicon, [item.fragments[i] for i in test], fallback, spacy_model)
    return majority, lexical


def cross_validated_scores(item, spec: ModelSpec, group_by: str = "case", n_folds: int = 5):
    """Grouped-CV accuracy, macro-F1 and kappa of one dimension (for a model's manifest); None if not possible."""
    folds = folds_for(group_keys(item.fragments, group_by), n_folds)
    if folds is None:
        return None
    predicted, _, _ = cv_predictions(item, spec, folds)
    return {**scores(item.labels, predicted, sorted(set(item.labels))), "n": len(item.labels),
            "folds": len(folds), "group_by": group_by}


def evaluate_dimension(item, dimension, spec: ModelSpec, folds, target: float, designs=(), learning=True) -> dict:
    """Everything measured for one dimension: model, baselines, calibration, thresholds, curves, designs."""
    labels = sorted(set(item.labels))
    order = [v for v in dimension.value_ids if v in labels] + [v for v in labels if v not in dimension.value_ids]
    cache = {}
    predicted, proba, classes = cv_predictions(item, spec, folds, cache=cache)
    majority, lexical = baseline_predictions(item, folds, dimension, spec.spacy_model)
    top = proba.max(axis=1)
    curve = precision_coverage(item.labels, predicted, top)
    chosen = threshold_for(curve, target)
    model_scores = scores(item.labels, predicted, labels)
    calib = calibration(item.labels, proba, classes)
    summary = {
        **model_scores,
        "majority_macro_f1": scores(item.labels, majority, labels)["macro_f1"],
        "lexicon_macro_f1": scores(item.labels, lexical, labels)["macro_f1"],
        "majority_accuracy": scores(item.labels, majority, labels)["accuracy"],
        "lexicon_accuracy": scores(item.labels, lexical, labels)["accuracy"],
        "brier": calib["brier"],
        "ece": calib["ece"],
        "threshold": chosen["threshold"] if chosen else None,
        "coverage_at_threshold": chosen["coverage"] if chosen else 0.0,
        "n": len(item.labels),
    }
    details = {
        "values": dict(collections.Counter(item.labels)),
        "model": {"scores": model_scores, "per_value": per_value(item.labels, predicted, order),
                  "confusion": {"labels": order, "matrix": confusion_matrix(item.labels, predicted, labels=order).tolist()}},
        "majority": {"scores": scores(item.labels, majority, labels), "per_value": per_value(item.labels, majority, order),
                     "confusion": {"labels": order, "matrix": confusion_matrix(item.labels, majority, labels=order).tolist()}},
        "lexicon": {"scores": scores(item.labels, lexical, labels), "per_value": per_value(item.labels, lexical, order),
                    "confusion": {"labels": order, "matrix": confusion_matrix(item.labels, lexical, labels=order).tolist()}},
        "calibration": calib,
        "precision_coverage": curve,
    }
    if learning:
        details["learning_curve"] = learning_curve(item, spec, folds, labels, cache)
    if designs:
        details["designs"] = compare_designs(item, spec, folds, labels, designs, cache)
    return summary, details


def learning_curve(item, spec, folds, labels, cache=None) -> list:
    """Macro-F1 on the held-out folds when training on a growing share of the training folds."""
    points = []
    for fraction in LEARNING_FRACTIONS:
        predicted, _, _ = cv_predictions(item, spec, folds, fraction, cache)
        sizes = [max(2, int(round(fraction * len(train)))) for train, _ in folds]
        points.append({"fraction": fraction, "train_fragments": int(np.mean(sizes)),
                       "macro_f1": scores(item.labels, predicted, labels)["macro_f1"]})
    return points


def compare_designs(item, spec, folds, labels, designs, cache=None) -> dict:
    """Macro-F1, accuracy and Brier of each 'features/classifier' design on the same folds."""
    out = {}
    for design in designs:
        variant = ModelSpec.from_design(design, spec)
        predicted, proba, classes = cv_predictions(item, variant, folds, cache=cache)
        calib = calibration(item.labels, proba, classes)
        out[variant.design] = {**scores(item.labels, predicted, labels), "brier": calib["brier"], "ece": calib["ece"]}
    return out


def evaluate(fragments, codings, codebook, spec: ModelSpec, rule="majority", group_by="case", n_folds=5,
             target=0.8, designs=(), learning=True):
    """Cross-validate every dimension with two or more coded values: (metrics, details)."""
    data = training_data(list(fragments), codings, codebook, rule)
    metrics, details = {}, {"group_by": group_by, "design": spec.design, "target_precision": target, "dimensions": {}}
    for dimension in codebook.dimensions:
        item = data.get(dimension.id)
        if item is None:
            log.warning("dimension '%s': no coded fragments; not evaluated.", dimension.id)
            continue
        if len(set(item.labels)) < 2:
            log.warning("dimension '%s': only one value coded; not evaluated.", dimension.id)
            continue
        folds = folds_for(group_keys(item.fragments, group_by), n_folds)
        if folds is None:
            raise InputError(f"dimension '{dimension.id}': its coded fragments come from fewer than two "
                             f"{group_by}s, so grouped cross-validation is impossible; code fragments of more "
                             "cases or use --group-by respondent.")
        log.info("evaluating '%s' on %d fragments in %d folds", dimension.id, len(item.labels), len(folds))
        summary, detail = evaluate_dimension(item, dimension, spec, folds, target, designs, learning)
        metrics[dimension.id] = summary
        details["dimensions"][dimension.id] = {**detail, "folds": len(folds)}
    if not metrics:
        raise InputError("no dimension has two or more coded values; nothing to evaluate.")
    return metrics, details


# ---- outputs ---------------------------------------------------------------


def thresholds_yaml(metrics: dict, target: float) -> str:
    """A params.yaml snippet with the per-dimension thresholds that reach the target precision."""
    lines = [f"# thresholds reaching precision {target} in grouped cross-validation (capcode evaluate);",
             "# copy into params.yaml. 1.0 = the target was not reached: review every suggestion.",
             "predict:", "  thresholds:"]
    for dimension, summary in metrics.items():
        value = summary["threshold"] if summary["threshold"] is not None else 1.0
        lines.append(f"    {dimension}: {value}")
    return "\n".join(lines) + "\n"


def write_plots(details: dict, directory) -> list:
    """PNG plots per dimension (precision-coverage, confusion, reliability) and a learning curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def save(figure, name):
        from .files import atomic_path

        with atomic_path(directory / name) as tmp:
            figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(directory / name)

    target = details["target_precision"]
    for dimension, detail in details["dimensions"].items():
        curve = [p for p in detail["precision_coverage"] if p["precision"] is not None]
        figure, axis = plt.subplots(figsize=(5, 4))
        axis.plot([p["coverage"] for p in curve], [p["precision"] for p in curve], marker=".")
        axis.axhline(target, linestyle="--", color="grey", label=f"target {target}")
        axis.set(xlabel="coverage (share of fragments not abstained)", ylabel="precision",
                 title=f"{dimension}: precision vs coverage", xlim=(0, 1.02), ylim=(0, 1.02))
        axis.legend(loc="lower left")
        save(figure, f"{dimension}_precision_coverage.png")

        confusion = detail["model"]["confusion"]
        figure, axis = plt.subplots(figsize=(1.2 * len(confusion["labels"]) + 2, 1.2 * len(confusion["labels"]) + 1.5))
        matrix = np.asarray(confusion["matrix"])
        axis.imshow(matrix, cmap="Blues")
        for (row, column), count in np.ndenumerate(matrix):
            axis.text(column, row, str(count), ha="center", va="center")
        axis.set_xticks(range(len(confusion["labels"])), confusion["labels"], rotation=30)
        axis.set_yticks(range(len(confusion["labels"])), confusion["labels"])
        axis.set(xlabel="model", ylabel="coders", title=f"{dimension}: confusion")
        save(figure, f"{dimension}_confusion.png")

        reliability = detail["calibration"]["reliability"]
        figure, axis = plt.subplots(figsize=(4, 4))
        axis.plot([0, 1], [0, 1], linestyle="--", color="grey")
        axis.plot([r["confidence"] for r in reliability], [r["accuracy"] for r in reliability], marker="o")
        axis.set(xlabel="predicted probability", ylabel="share correct", title=f"{dimension}: calibration",
                 xlim=(0, 1), ylim=(0, 1))
        save(figure, f"{dimension}_calibration.png")

    curves = {d: v["learning_curve"] for d, v in details["dimensions"].items() if "learning_curve" in v}
    if curves:
        figure, axis = plt.subplots(figsize=(6, 4))
        for dimension, points in curves.items():
            axis.plot([p["train_fragments"] for p in points], [p["macro_f1"] for p in points], marker="o", label=dimension)
        axis.set(xlabel="training fragments", ylabel="macro-F1 (grouped CV)", title="learning curve", ylim=(0, 1))
        axis.legend(fontsize="small")
        save(figure, "learning_curve.png")
    return written


def write_json(path, data) -> None:
    from .files import atomic_open

    with atomic_open(path) as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def run_evaluate(fragments_path, codings_paths, out_path, params, group_by=None, plots_dir=None,
                 details_path=None, thresholds_path=None, designs=True, learning=True):
    """`capcode evaluate`: grouped cross-validation; writes metrics.json (and details, thresholds, plots)."""
    from .train import load_inputs

    codebook, fragments, codings = load_inputs(fragments_path, codings_paths, params.codebook)
    group_by = group_by or params.evaluate.group_by
    if group_by == "fragment":
        log.warning("random fragment-level folds: scores are optimistic because fragments of one case "
                    "share words; use them only for comparison with --group-by case.")
    spec = ModelSpec.from_params(params.train, params.segment.spacy_model)
    metrics, details = evaluate(fragments, codings, codebook, spec, params.train.disagreements, group_by,
                                params.train.cv_folds if params.train.cv_folds >= 2 else 5,
                                params.evaluate.target_precision,
                                tuple(params.evaluate.designs) if designs else (), learning)
    write_json(out_path, metrics)
    if details_path:
        write_json(details_path, details)
    if thresholds_path:
        from .files import atomic_open

        with atomic_open(thresholds_path) as handle:
            handle.write(thresholds_yaml(metrics, params.evaluate.target_precision))
    if plots_dir:
        write_plots(details, plots_dir)
    return metrics, details


def format_metrics(metrics: dict, details: dict) -> str:
    """A table for stdout: per dimension n, the model's scores and both baselines' macro-F1."""
    lines = [f"{'dimension':<26}{'n':>6}{'acc':>7}{'macroF1':>9}{'kappa':>7}{'major.':>8}{'lexicon':>9}"
             f"{'brier':>7}{'thresh':>8}{'cover':>7}"]
    for dimension, m in metrics.items():
        threshold = f"{m['threshold']:.2f}" if m["threshold"] is not None else "-"
        lines.append(f"{dimension:<26}{m['n']:>6}{m['accuracy']:>7.2f}{m['macro_f1']:>9.2f}{m['kappa']:>7.2f}"
                     f"{m['majority_macro_f1']:>8.2f}{m['lexicon_macro_f1']:>9.2f}{m['brier']:>7.2f}"
                     f"{threshold:>8}{m['coverage_at_threshold']:>7.2f}")
    designs = {d: v["designs"] for d, v in details["dimensions"].items() if "designs" in v}
    if designs:
        names = list(next(iter(designs.values())))
        lines.append("")
        lines.append("macro-F1 by design: " + " | ".join(names))
        for dimension, by_design in designs.items():
            lines.append(f"  {dimension:<24}  " + "  ".join(f"{by_design[n]['macro_f1']:.2f}" for n in names))
    return "\n".join(lines)
