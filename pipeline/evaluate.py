"""`capcode evaluate`: how good are the suggestions? Nested grouped cross-validation against baselines.

Folds are grouped by case (default) or respondent (`learn.crossval`). Inside every outer
fold the whole training procedure of `capcode train` runs on the training cases only
(`learn.nested`: C, temperature and threshold chosen by inner grouped folds), so nothing
reported here was tuned on the case it is scored on. Per dimension, on the same folds:
the default design, the designs of `evaluate.designs`, and three baselines (majority,
codebook keywords, the plain char-tfidf reference; `learn.baselines`). Reported: kappa
(mean and spread over folds), macro-F1, accuracy, Brier score, expected calibration error
of the calibrated probabilities, and precision/coverage at each fold's own stored
threshold. `--predictions-out` writes the out-of-fold suggestions (an honest
model-as-coder for `capcode agreement`), `--simulate` the effort curve (`learn.simulate`).
"""

import collections
import json
import logging

import numpy as np
from sklearn.metrics import confusion_matrix

from .errors import InputError
from .learn.baselines import baseline_predictions, build_lexicon, lexicon_predict, majority_value  # noqa: F401
from .learn.blocks import FeatureStore
from .learn.cache import using_cache
from .learn.calibrate import calibration, per_value, precision_coverage, scores, threshold_for  # noqa: F401
from .learn.crossval import folds_for, group_keys  # noqa: F401 (the evaluate API)
from .learn.encoder import require_encoder
from .learn.labels import training_data, used_fragments
from .learn.model import ModelSpec, single_thread
from .learn.nested import at_thresholds, nested_for_dimensions, spread  # noqa: F401 (nested_for_dimensions: API)
from .learn.nested import nested_runs as nested_run_list
from .records import Prediction

log = logging.getLogger("capcode")

LEARNING_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
BASELINES = ("majority", "keywords", "char-tfidf")


def nested_runs(store, items, spec: ModelSpec, folds, group_by, target, inner_folds, designs=(), learning=True,
                workers=None):
    """Every nested run of dimensions coded on the same fragments, shared between them:
    {dimension: {"model": result, "designs": {name: result}, "learning": {fraction: result}}}.

    The default design, the other designs and the learning curve's fractions are computed
    together, every outer fold of each one unit of work for `workers` (`learn.nested.nested_runs`).
    """
    runs = {item.dimension: {"designs": {}, "learning": {}} for item in items}
    plan = [("model", spec, 1.0)]
    for design in designs:
        variant = ModelSpec.from_design(design, spec)
        if variant.name not in [s.name for kind, s, _ in plan if kind != "learning"]:
            plan.append(("design", variant, 1.0))
    if learning:
        plan += [("learning", spec, fraction) for fraction in LEARNING_FRACTIONS[:-1]]
    # thresholds are reported for the default design only: the others are compared by kappa and ECE
    results = nested_run_list(store, items, [(s, fraction) for _, s, fraction in plan], folds, group_by, target,
                              inner_folds, workers, [kind == "model" for kind, _, _ in plan])
    for (kind, variant, fraction), by_dimension in zip(plan, results):
        for dimension, result in by_dimension.items():
            if kind == "model":
                runs[dimension]["model"] = runs[dimension]["designs"][spec.name] = result
                runs[dimension]["learning"][1.0] = result
            elif kind == "design":
                runs[dimension]["designs"][variant.name] = result
            else:
                runs[dimension]["learning"][fraction] = result
    return runs


def evaluate_dimension(store, item, dimension, spec: ModelSpec, folds, group_by, target, inner_folds,
                       designs=(), learning=True, runs=None, memo=None):
    """Everything measured for one dimension: (summary, details, out-of-fold result of the default design).

    `runs`: this dimension's entry of `nested_runs` (computed here when not given); `memo`
    shares the baselines' matrices between dimensions coded on the same fragments.
    """
    if runs is None:
        runs = nested_runs(store, [item], spec, folds, group_by, target, inner_folds, designs, learning)[item.dimension]
    labels = sorted(set(item.labels))
    order = [v for v in dimension.value_ids if v in labels] + [v for v in labels if v not in dimension.value_ids]
    result = runs["model"]
    predicted, proba, classes = result["predicted"], result["proba"], result["classes"]
    baselines = baseline_predictions(item, folds, dimension, spec.spacy_model, memo)
    model_scores = scores(item.labels, predicted, labels)
    calib = calibration(item.labels, proba, classes)
    stored = at_thresholds(item.labels, result)
    kappa_spread = spread(result["folds"])
    summary = {**model_scores, "kappa_sd": kappa_spread["sd"], "n": len(item.labels), "brier": calib["brier"],
               "ece": calib["ece"], "coverage_at_threshold": stored["coverage"],
               "precision_at_threshold": stored["precision"], "precision_at_threshold_lower": stored["lower"]}
    for name, guess in baselines.items():
        key = name.replace("-", "_")
        baseline_scores = scores(item.labels, guess, labels)
        summary[f"{key}_kappa"] = baseline_scores["kappa"]
        summary[f"{key}_macro_f1"] = baseline_scores["macro_f1"]

    def confusion(guess):
        return {"labels": order, "matrix": confusion_matrix(item.labels, guess, labels=order).tolist()}

    details = {
        "values": dict(collections.Counter(item.labels)),
        "model": {"scores": model_scores, "kappa_over_folds": kappa_spread, "folds": result["folds"],
                  "per_value": per_value(item.labels, predicted, order), "confusion": confusion(predicted)},
        "calibration": calib,
        "at_stored_thresholds": stored,
        "precision_coverage": precision_coverage(item.labels, predicted, proba.max(axis=1)),
        "baselines": {name: {"scores": scores(item.labels, guess, labels), "confusion": confusion(guess)}
                      for name, guess in baselines.items()},
    }
    details["designs"] = {name: design_row(item.labels, labels, run) for name, run in runs["designs"].items()}
    if learning:
        details["learning_curve"] = learning_curve(item, labels, runs["learning"])
    return summary, details, result


def design_row(truth, labels, result) -> dict:
    calib = calibration(truth, result["proba"], result["classes"])
    return {**scores(truth, result["predicted"], labels), "kappa_over_folds": spread(result["folds"]),
            "ece": calib["ece"], "c": [f["c"] for f in result["folds"]]}


def learning_curve(item, labels, results) -> list:
    """Kappa on the held-out folds when training on a growing share of the training folds."""
    points = []
    for fraction in LEARNING_FRACTIONS:
        result = results[fraction]
        points.append({"fraction": fraction,
                       "train_fragments": int(np.mean([f["train_fragments"] for f in result["folds"]])),
                       **{k: v for k, v in scores(item.labels, result["predicted"], labels).items()
                          if k in ("kappa", "macro_f1")}})
    return points


def out_of_fold_predictions(item, result, model_name: str):
    """Prediction records of the out-of-fold suggestions (each by a model that never saw its case)."""
    classes = result["classes"]
    for row, fragment in enumerate(item.fragments):
        ranked = np.argsort(-result["proba"][row], kind="stable")
        first = ranked[0]
        runner = (classes[ranked[1]], round(float(result["proba"][row, ranked[1]]), 4)) if len(classes) > 1 else (None, None)
        yield Prediction(fragment.id, item.dimension, classes[first], round(float(result["proba"][row, first]), 4),
                         runner[0], runner[1], bool(result["abstain"][row]), model_name, False)


def evaluate(fragments, codings, codebook, spec: ModelSpec, rule="majority", group_by="case", n_folds=5,
             target=0.8, designs=(), learning=True, simulate=None, workers=None):
    """Nested grouped CV of every dimension with two or more coded values: (metrics, details, oof predictions).

    `workers` (parallel.Workers): the outer folds of every design and learning-curve step
    spread over processes or a Dask cluster; the results are those of one process."""
    if spec.design.uses_encoder or any(ModelSpec.from_design(d, spec).design.uses_encoder for d in designs):
        require_encoder()
    with single_thread():
        return _evaluate(fragments, codings, codebook, spec, rule, group_by, n_folds, target, designs, learning,
                         simulate, workers)


def _evaluate(fragments, codings, codebook, spec, rule, group_by, n_folds, target, designs, learning, simulate,
              workers):
    data = training_data(list(fragments), codings, codebook, rule)
    store = FeatureStore(used_fragments(data), spec.spacy_model, codebook)
    metrics, oof = {}, []
    details = {"group_by": group_by, "design": spec.name, "target_precision": target, "dimensions": {},
               "nested": {"outer_folds": n_folds, "inner_folds": n_folds, "c_grid": list(spec.grid())}}
    evaluated = []
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
        evaluated.append((dimension, item, folds))
    runs, memo = {}, {}
    for group in same_fragments(evaluated):
        for dimension, item, folds in group:
            log.info("evaluating '%s' on %d fragments in %d folds", dimension.id, len(item.labels), len(folds))
        runs.update(nested_runs(store, [item for _, item, _ in group], spec, group[0][2], group_by, target,
                                n_folds, designs, learning, workers))
    for dimension, item, folds in evaluated:
        summary, detail, result = evaluate_dimension(store, item, dimension, spec, folds, group_by, target, n_folds,
                                                     designs, learning, runs[dimension.id], memo)
        metrics[dimension.id] = summary
        details["dimensions"][dimension.id] = {**detail, "folds": len(folds)}
        oof.extend(out_of_fold_predictions(item, result, f"{spec.name} (out-of-fold)"))
    if not metrics:
        raise InputError("no dimension has two or more coded values; nothing to evaluate.")
    if simulate:
        from .learn.simulate import simulate_effort

        log.info("simulating coding effort (capcode's order against random order)")
        c = float(spec.c) if spec.c not in ("auto", "logloss") else 1.0
        details["simulation"] = simulate_effort(spec, store, data, codebook, group_by, n_folds, simulate["batch"],
                                                simulate["repeats"], simulate.get("target_kappa", 0.6), c, spec.seed)
    return metrics, details, oof


def same_fragments(evaluated) -> list:
    """(dimension, item, folds) entries grouped by the fragments they are coded on (order kept)."""
    groups = {}
    for entry in evaluated:
        groups.setdefault(tuple(f.id for f in entry[1].fragments), []).append(entry)
    return list(groups.values())


# ---- outputs ---------------------------------------------------------------


def write_json(path, data) -> None:
    from .files import atomic_open

    with atomic_open(path) as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def run_evaluate(fragments_path, codings_paths, out_path, params, group_by=None, plots_dir=None,
                 details_path=None, designs=True, learning=True, predictions_out=None, simulate=False, workers=None):
    """`capcode evaluate`: nested grouped cross-validation; writes metrics.json (and details, plots, predictions).
    `workers`: where the outer folds run (see `evaluate`)."""
    from .train import cache_for, load_inputs

    codebook, fragments, codings = load_inputs(fragments_path, codings_paths, params.codebook)
    group_by = group_by or params.evaluate.group_by
    if group_by == "fragment":
        log.warning("random fragment-level folds: scores are optimistic because fragments of one case "
                    "share words; use them only for comparison with --group-by case.")
    spec = ModelSpec.from_params(params.train, params.segment.spacy_model)
    plan = {"batch": params.evaluate.simulate_batch, "repeats": params.evaluate.simulate_repeats} if simulate else None
    with using_cache(cache_for(fragments_path, params)):
        metrics, details, oof = evaluate(fragments, codings, codebook, spec, params.train.disagreements, group_by,
                                         params.train.cv_folds if params.train.cv_folds >= 2 else 5,
                                         params.evaluate.target_precision,
                                         tuple(params.evaluate.designs) if designs else (), learning, plan,
                                         workers)
    write_json(out_path, metrics)
    if details_path:
        write_json(details_path, details)
    if predictions_out:
        from .prediction_tables import write_predictions

        write_predictions(predictions_out, oof)
    if plots_dir:
        from .learn.plots import write_plots

        write_plots(details, plots_dir)
    return metrics, details


def format_metrics(metrics: dict, details: dict) -> str:
    """Tables for stdout: the default design per dimension, then kappa of every design and baseline."""
    lines = [f"{'dimension':<26}{'n':>5}{'kappa':>7}{'±sd':>6}{'macroF1':>8}{'ECE':>6}{'cover':>7}{'prec':>6}"
             f"{'(low)':>7}  kappa of majority / keywords / char-tfidf"]
    for dimension, m in metrics.items():
        precision = f"{m['precision_at_threshold']:.2f}" if m.get("precision_at_threshold") is not None else "-"
        lower = f"({m['precision_at_threshold_lower']:.2f})" if m.get("precision_at_threshold_lower") is not None \
            else ""
        lines.append(f"{dimension:<26}{m['n']:>5}{m['kappa']:>7.2f}{m['kappa_sd']:>6.2f}{m['macro_f1']:>8.2f}"
                     f"{m['ece']:>6.2f}{m['coverage_at_threshold']:>7.2f}{precision:>6}{lower:>7}"
                     f"  {m['majority_kappa']:.2f} / {m['keywords_kappa']:.2f} / {m['char_tfidf_kappa']:.2f}")
    target = details.get("target_precision")
    if target is not None:
        lines.append(f"cover/prec: share of held-out fragments kept by each fold's stored threshold and their "
                     f"precision (low: its one-sided 95% Wilson bound; target {target:.2f}); cover 0: abstains on all")
    lines += ["", "kappa by design (nested grouped CV; mean and sd over folds of the mean kappa):"]
    lines += design_table(metrics, details)
    simulation = details.get("simulation")
    if simulation:
        reach = simulation["fragments_to_target"]
        lines += ["", f"effort: fragments coded until mean kappa {simulation['target_kappa']} on held-out cases: "
                      f"capcode's order {reach['capcode'] or 'not reached'}, random order {reach['random'] or 'not reached'}"]
    return "\n".join(lines)


def design_table(metrics: dict, details: dict) -> list:
    """One row per design and baseline: kappa per dimension and the mean over dimensions."""
    dimensions = list(details["dimensions"])
    names = list(next(iter(details["dimensions"].values()))["designs"]) if dimensions else []
    width = max([len(n) for n in names + list(BASELINES)] + [10]) + 2
    lines = [" " * width + "".join(f"{d[:12]:>13}" for d in dimensions) + f"{'mean':>8}"]
    for name in names:
        values = [details["dimensions"][d]["designs"][name]["kappa"] for d in dimensions]
        lines.append(f"{name:<{width}}" + "".join(f"{v:>13.2f}" for v in values) + f"{np.mean(values):>8.3f}")
    for name in BASELINES:
        values = [metrics[d][f"{name.replace('-', '_')}_kappa"] for d in dimensions]
        lines.append(f"{name:<{width}}" + "".join(f"{v:>13.2f}" for v in values) + f"{np.mean(values):>8.3f}")
    return lines
