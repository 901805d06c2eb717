"""`capcode train`: one classifier per codebook dimension, learned from a team's hand-coded fragments.

The work is in `pipeline.learn`: labels from one or more coders (`learn.labels`), the
feature blocks computed once and shared by every dimension (`learn.blocks`), and per
dimension the procedure of `learn.model.fit_dimensions` (C by grouped cross-validation,
temperature calibration and an abstention threshold on held-out cases, then the final
fit). This module puts them together and writes the model folder (`learn.persist`).
"""

import logging
from pathlib import Path

import numpy as np

from .errors import ConfigError, InputError
from .features import fragment_matrix
from .learn.blocks import FeatureStore
from .learn.cache import study_cache_dir, using_cache
from .learn.crossval import group_keys
from .learn.designs import raw_step
from .learn.encoder import encoder_version, require_encoder
from .learn.honesty import id_digests
from .learn.labels import agreed_labels, data_hash, training_data, used_fragments  # noqa: F401 (agreed_labels: API)
from .learn.model import (ModelSpec, Task, TrainedModel, conditions_first, fit_dimensions, library_versions,
                          single_thread)
from .learn import outofcore
from .learn.linear import ROW_SPACE_MAX
from .learn.persist import FORMAT, MANIFEST_FILE, MODEL_FILE, load_model, read_manifest, save_model  # noqa: F401

log = logging.getLogger("capcode")

OUT_OF_CORE_ABOVE = 20_000  # training fragments above which train learns out of core (params: train.out_of_core_above)


def train_model(fragments, codings, codebook, spec: ModelSpec, rule: str = "majority", cv_folds: int = 5,
                group_by: str = "case", name: str = "model", target: float = 0.8,
                out_of_core_above: int = OUT_OF_CORE_ABOVE, spill_dir=None, workers=None,
                release_models: bool = False) -> TrainedModel:
    """Fit one pipeline per coded dimension and describe them in a manifest (pure: writes nothing
    but, above `out_of_core_above` training fragments, temporary feature chunks in `spill_dir`).

    `workers` (parallel.Workers): the cross-validation folds of every dimension, then the final
    fits, spread over processes or a Dask cluster (in memory only); the model is the one a
    single process trains. `release_models`: once the features are made, forget the spaCy pipeline,
    the sentence encoder and the feature cache's rows in memory before fitting (`capcode train`
    does; a process that goes on to predict keeps them)."""
    design = spec.design  # refuses a bad design or classifier before any work
    if design.uses_encoder:
        require_encoder()
    with single_thread():
        return _train_model(fragments, codings, codebook, spec, design, rule, cv_folds, group_by, name, target,
                            out_of_core_above, spill_dir, workers, release_models)


def _train_model(fragments, codings, codebook, spec, design, rule, cv_folds, group_by, name, target,
                 out_of_core_above, spill_dir, workers, release_models):
    data = training_data(list(fragments), codings, codebook, rule)
    used = used_fragments(data)
    out_of_core = out_of_core_above > 0 and len(used) > out_of_core_above
    if out_of_core and ("codebook" in design.blocks or spec.classifier != "lr"):
        raise ConfigError(f"{len(used)} training fragments are more than train.out_of_core_above "
                          f"({out_of_core_above}), and out-of-core training takes designs without 'codebook' "
                          "and the classifier 'lr'; change train.features/train.classifier or raise "
                          "train.out_of_core_above.")
    store = FeatureStore(used, spec.spacy_model, codebook)
    widths = store.widths(design)
    features = raw_step(design, spec.spacy_model, store.prior() if "codebook" in design.blocks else None)
    with using_cache(None):  # before the text models are released; the rows of this one fragment are not
        features.fit(fragment_matrix(used[:1]))  # kept, so the encoder embeds the run's rows in its usual batches
    estimators, dimensions, metrics, calibration = {}, {}, {}, {}
    tasks = []
    for dimension in codebook.dimensions:
        if dimension.id not in data:
            log.warning("dimension '%s' has no coded fragments; no model for it.", dimension.id)
            continue
        item = data[dimension.id]
        log.info("training '%s' on %d fragments", dimension.id, len(item.labels))
        rows = store.rows(item.fragments)
        fold_matrix = None
        if "codebook" in design.blocks:
            def fold_matrix(test, rows=rows, item=item):
                return store.matrix(design, rows, [item.fragments[i] for i in test])
        tasks.append(Task(dimension.id, rows, np.asarray(item.labels, dtype=object),
                          group_keys(item.fragments, group_by), fold_matrix))
    if out_of_core:
        log.info("%d training fragments: learning out of core, %d fragments at a time", len(used), outofcore.CHUNK)
        spill = outofcore.Spill(store, design, directory=spill_dir)
        if release_models:
            store.release_models()
        try:
            fits = outofcore.fit_out_of_core(spec, spill, tasks, widths, target, cv_folds)
        finally:
            spill.remove()
        learner = {**outofcore.describe(), "out_of_core_above": out_of_core_above}
    else:
        matrix = store.matrix(design, keep_blocks="codebook" in design.blocks)
        if release_models and "codebook" not in design.blocks:  # the codebook block is made again per fold
            store.release_models()
        fits = fit_dimensions(spec, matrix, tasks, widths, target, cv_folds, workers=workers)
        del matrix
        learner = {**in_memory_learner(spec), "out_of_core_above": out_of_core_above}
    for task in tasks:
        fit, item = fits[task.name], data[task.name]
        dimension = codebook.dimension(task.name)
        estimators[dimension.id] = fit.estimator
        kind = "classifier" if len(fit.classes) > 1 else "constant"
        if kind == "constant":
            log.warning("dimension '%s' has only the value '%s' in the codings; the model always suggests it.",
                        dimension.id, item.labels[0])
        dimensions[dimension.id] = {"n": len(item.labels), "values": item.counts(), "kind": kind,
                                    "condition": str(dimension.condition) if dimension.condition else None}
        if fit.cv is not None:
            metrics[dimension.id] = {**fit.cv, "group_by": group_by}
        calibration[dimension.id] = {"c": fit.c, "c_tried": {f"{c:g}": t for c, t in fit.tried.items()},
                                     "temperature": fit.temperature, "abstain": fit.rule}
        if fit.rule and fit.rule.get("note"):
            log.warning("dimension '%s': %s.", dimension.id, fit.rule["note"])
    manifest = {
        "format": FORMAT,
        "name": name,
        "codebook": {"name": codebook.name, "version": codebook.version, "hash": codebook.hash},
        "training_data": {"sha256": data_hash(data), "fragments": len(used), "disagreements": rule},
        "dimension_order": [d for d in conditions_first(codebook) if d in estimators],
        "dimensions": dimensions,
        "libraries": library_versions(),
        "encoder": encoder_version() if design.uses_encoder else None,
        "params": {"features": design.features, "classifier": spec.classifier, "c": spec.c, "seed": spec.seed,
                   "spacy_model": spec.spacy_model, "disagreements": rule, "cv_folds": cv_folds,
                   "group_by": group_by, "target_precision": target},
        "learner": learner,
        "cv_metrics": metrics,
        "calibration": calibration,
    }
    return TrainedModel(features, estimators, manifest, training_digests=id_digests([f.id for f in used]))


def in_memory_learner(spec) -> dict:
    """The learner of a study that fits in memory, as the manifest records it."""
    if spec.classifier != "lr":
        return {"kind": "in-memory", "classifier": "LinearSVC, sigmoid-calibrated (CalibratedClassifierCV)"}
    return {"kind": "in-memory", "classifier": "LogisticRegression (L-BFGS, class-balanced; solved in the span of "
                                               f"the training rows up to {ROW_SPACE_MAX} of them)"}


def load_inputs(fragments_path, codings_paths, codebook_name):
    """Read codebook, fragments and codings (the codings checked against both)."""
    from .codebook import load_codebook
    from .codings import human_codings
    from .files import read_fragments
    from .validation import read_checked_codings

    codebook = load_codebook(codebook_name)
    fragments = list(read_fragments(fragments_path))
    if not fragments:
        raise InputError(f"{fragments_path}: no fragments; make them with 'capcode segment'.")
    codings = human_codings(read_checked_codings(codings_paths, codebook, fragments))
    return codebook, fragments, codings


def cache_for(fragments_path, params):
    """The study's feature cache folder (None: keep features in memory only, `train.cache: false`)."""
    return study_cache_dir(fragments_path) if params.train.cache else None


def run_train(fragments_path, codings_paths, out_dir, params, workers=None) -> TrainedModel:
    """`capcode train`: read inputs, train per dimension, write the model folder (`workers`:
    where the cross-validation folds and final fits run, see `train_model`)."""
    codebook, fragments, codings = load_inputs(fragments_path, codings_paths, params.codebook)
    spec = ModelSpec.from_params(params.train, params.segment.spacy_model)
    cache_dir = cache_for(fragments_path, params)
    codings = iter(codings)  # read once into the labels, then the coding records are freed (100 MB at 100,000)
    with using_cache(cache_dir):
        model = train_model(fragments, codings, codebook, spec, params.train.disagreements, params.train.cv_folds,
                            params.evaluate.group_by, name=Path(out_dir).name,
                            target=params.evaluate.target_precision,
                            out_of_core_above=params.train.out_of_core_above, spill_dir=cache_dir,
                            workers=workers, release_models=True)
    save_model(model, out_dir, model.training_digests)
    return model


def describe(model: TrainedModel) -> str:
    """A short summary of a trained model for stdout: per dimension, n, values, CV kappa, C and threshold."""
    params = model.manifest["params"]
    lines = [f"model {model.name}: codebook {model.manifest['codebook']['name']} "
             f"{model.manifest['codebook']['version']}, design {params['features']}/{params['classifier']}"]
    for dimension, info in model.manifest["dimensions"].items():
        values = ", ".join(f"{v} {n}" for v, n in info["values"].items())
        scores = model.manifest["cv_metrics"].get(dimension)
        score = f"  cv kappa {scores['kappa']:.2f}" if scores else ""
        calibration = model.manifest.get("calibration", {}).get(dimension, {})
        rule = calibration.get("abstain")
        if rule:
            c = f", C {calibration['c']:g}" if calibration.get("c") else ""
            score += (f"{c}, abstains below {rule['threshold']:.2f}" if rule["threshold"] < 1.0
                      else f"{c}, abstains always (review)")
        lines.append(f"  {dimension}: {info['n']} fragments ({values}){score}")
    return "\n".join(lines)
