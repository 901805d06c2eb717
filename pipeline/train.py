"""Train one classifier per codebook dimension on a team's hand-coded fragments.

Each dimension gets its own scikit-learn Pipeline: hashed features
(`pipeline.features`) followed by a class-balanced linear model with
probabilities (logistic regression, or a linear SVM calibrated with a sigmoid).
A conditional dimension (`only_when: {relevant: ja}`) is trained only on the
fragments whose agreed codes satisfy the condition (`Codebook.applies`).

Several coders: every fragment and dimension gets one training label, chosen by
`train.disagreements`:
  - ``majority``: the value most coders gave; a tie (e.g. one coder each way) is
    left out of training;
  - ``agreed``: only units on which every coder who coded them agrees.
A unit coded by a single coder counts under both rules.

A model directory holds `model.joblib` (the fitted pipelines, numbers only) and
`manifest.json` (codebook, training-data hash, counts, library versions,
parameters, cross-validated metrics, the sha256 of `model.joblib`). `load_model`
checks all of that before unpickling anything.
"""

import collections
import hashlib
import json
import logging
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import joblib
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from . import __version__
from .errors import ConfigError, InputError, ModelError
from .features import build_features, fragment_matrix

log = logging.getLogger("capcode")

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
FORMAT = 1
CLASSIFIERS = ("lr", "svm")
DISAGREEMENT_RULES = ("majority", "agreed")


@dataclass(frozen=True)
class ModelSpec:
    """How a dimension's pipeline is built: feature design, classifier and its settings."""

    features: str = "lemma+char+context"
    classifier: str = "lr"
    c: float = 1.0
    seed: int = 0
    spacy_model: str = "blank"

    @classmethod
    def from_params(cls, train_params, spacy_model: str = "blank") -> "ModelSpec":
        return cls(train_params.features, train_params.classifier, float(train_params.c),
                   int(train_params.seed), spacy_model)

    @classmethod
    def from_design(cls, design: str, base: "ModelSpec") -> "ModelSpec":
        """A spec from 'features/classifier' (e.g. 'lemma+char/svm'), other settings from `base`."""
        features, _, classifier = design.partition("/")
        return cls(features, classifier or base.classifier, base.c, base.seed, base.spacy_model)

    @property
    def design(self) -> str:
        return f"{self.features}/{self.classifier}"


@dataclass(frozen=True)
class DimensionData:
    """The training examples of one dimension: fragments and their agreed labels."""

    dimension: str
    fragments: tuple
    labels: tuple

    def counts(self) -> dict:
        return dict(sorted(collections.Counter(self.labels).items()))


@dataclass
class TrainedModel:
    """Fitted estimators per dimension and the manifest that describes them."""

    estimators: dict
    manifest: dict
    directory: Path = field(default=None)

    @property
    def name(self) -> str:
        return self.manifest.get("name", "model")

    def dimension_order(self) -> list:
        return [d for d in self.manifest["dimension_order"] if d in self.estimators]


# ---- labels ----------------------------------------------------------------


def agreed_labels(codings, rule: str = "majority") -> dict:
    """{(fragment_id, dimension): value}: one label per unit from all coders, by `rule`."""
    if rule not in DISAGREEMENT_RULES:
        raise ConfigError(f"train.disagreements: unknown rule {rule!r}; use 'majority' or 'agreed'.")
    votes = collections.defaultdict(dict)
    for coding in codings:
        votes[(coding.fragment_id, coding.dimension)][coding.coder] = coding.value
    labels = {}
    for unit, by_coder in votes.items():
        counts = collections.Counter(by_coder.values()).most_common()
        if rule == "agreed":
            if len(counts) == 1:
                labels[unit] = counts[0][0]
        elif len(counts) == 1 or counts[0][1] > counts[1][1]:
            labels[unit] = counts[0][0]
    return labels


def training_data(fragments, codings, codebook, rule: str = "majority") -> dict:
    """{dimension: DimensionData} for every codebook dimension that has coded fragments.

    Conditional dimensions keep only fragments where the condition holds in the
    agreed labels; codings of fragments missing from `fragments` are left out (with a warning).
    """
    by_id = {f.id: f for f in fragments}
    labels = agreed_labels(codings, rule)
    codes = collections.defaultdict(dict)
    unknown = set()
    for (fragment_id, dimension), value in labels.items():
        if fragment_id not in by_id:
            unknown.add(fragment_id)
            continue
        codes[fragment_id][dimension] = value
    if unknown:
        log.warning("%d coded fragment(s) are not in the fragments file and are left out.", len(unknown))
    data = {}
    for dimension in codebook.dimensions:
        chosen = [(by_id[fid], c[dimension.id]) for fid, c in codes.items()
                  if dimension.id in c and codebook.applies(dimension.id, c)]
        chosen.sort(key=lambda pair: pair[0].id)
        if chosen:
            data[dimension.id] = DimensionData(dimension.id, tuple(f for f, _ in chosen), tuple(v for _, v in chosen))
    if not data:
        raise InputError("no coded fragment matches the fragments file: the codings must use the fragment ids "
                         "written by 'capcode segment' for these transcripts.")
    return data


def data_hash(data: dict) -> str:
    """sha256 over the training units (fragment id, text, context, dimension, label), order-independent."""
    digest = hashlib.sha256()
    for dimension in sorted(data):
        for fragment, label in sorted(zip(data[dimension].fragments, data[dimension].labels), key=lambda p: p[0].id):
            digest.update(json.dumps([dimension, fragment.id, fragment.text, fragment.context, label],
                                     ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


# ---- estimators ------------------------------------------------------------


def build_classifier(spec: ModelSpec, labels):
    """The class-balanced probabilistic linear model of `spec` for these labels."""
    if spec.classifier not in CLASSIFIERS:
        raise ConfigError(f"train.classifier: unknown classifier {spec.classifier!r}; use 'lr' or 'svm'.")
    # newton-cg: a few exact steps, much faster than lbfgs on wide hashed features
    logistic = LogisticRegression(C=spec.c, class_weight="balanced", solver="newton-cg", max_iter=1000)
    if spec.classifier == "lr":
        return logistic
    smallest = min(collections.Counter(labels).values())
    folds = min(3, smallest)
    if folds < 2:  # too few examples of a value to calibrate on held-out folds
        return logistic
    svm = LinearSVC(C=spec.c, class_weight="balanced", random_state=spec.seed)
    return CalibratedClassifierCV(svm, method="sigmoid", cv=folds)


def compute_features(spec: ModelSpec, fragments):
    """(fitted feature step, sparse feature matrix) for fragments.

    The hashers learn nothing from the data, so one feature matrix serves every
    dimension and every cross-validation fold; computing it once is what makes
    training and evaluation fast.
    """
    step = build_features(spec.features, spec.spacy_model)
    return step, step.fit_transform(fragment_matrix(fragments))


def fit_classifier(spec: ModelSpec, features, labels):
    """The classifier of `spec` fitted on a feature matrix; a constant for a single value."""
    labels = np.asarray(labels, dtype=object)
    classifier = DummyClassifier(strategy="most_frequent") if len(set(labels)) < 2 else build_classifier(spec, labels)
    with single_thread():
        classifier.fit(features, labels)
    return classifier


def as_pipeline(step, classifier):
    """One dimension's model: the (shared, fitted) feature step followed by its classifier."""
    return Pipeline([("features", step), ("classifier", classifier)])


def single_thread():
    """Limit BLAS/OpenMP to one thread: the solvers' vector operations on a shared machine
    run about three times faster than with competing threads."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


# ---- training --------------------------------------------------------------


def conditions_first(codebook) -> list:
    """Dimension ids in codebook order, except that a condition's dimension comes before the
    dimensions that depend on it (prediction needs its value first)."""
    order, placed = [], set()

    def place(dimension):
        if dimension.id in placed:
            return
        placed.add(dimension.id)
        if dimension.condition is not None and codebook.has_dimension(dimension.condition.dimension):
            place(codebook.dimension(dimension.condition.dimension))
        order.append(dimension.id)

    for dimension in codebook.dimensions:
        place(dimension)
    return order


def library_versions() -> dict:
    import scipy
    import sklearn
    import spacy

    return {"python": platform.python_version(), "capcode": __version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "spacy": spacy.__version__,
            "joblib": joblib.__version__}


def train_model(fragments, codings, codebook, spec: ModelSpec, rule: str = "majority", cv_folds: int = 5,
                group_by: str = "case", name: str = "model") -> TrainedModel:
    """Fit one estimator per coded dimension and describe them in a manifest (pure: writes nothing)."""
    fragments = list(fragments)
    data = training_data(fragments, codings, codebook, rule)
    build_features(spec.features, spec.spacy_model)  # refuse a bad design before any work
    if spec.classifier not in CLASSIFIERS:
        raise ConfigError(f"train.classifier: unknown classifier {spec.classifier!r}; use 'lr' or 'svm'.")
    estimators, dimensions, metrics = {}, {}, {}
    used = sorted({f.id: f for item in data.values() for f in item.fragments}.values(), key=lambda f: f.id)
    row = {f.id: index for index, f in enumerate(used)}
    step, features = compute_features(spec, used)
    for dimension in codebook.dimensions:
        if dimension.id not in data:
            log.warning("dimension '%s' has no coded fragments; no model for it.", dimension.id)
            continue
        item = data[dimension.id]
        log.info("training '%s' on %d fragments", dimension.id, len(item.labels))
        rows = [row[f.id] for f in item.fragments]
        estimators[dimension.id] = as_pipeline(step, fit_classifier(spec, features[rows], item.labels))
        kind = "classifier" if len(set(item.labels)) > 1 else "constant"
        if kind == "constant":
            log.warning("dimension '%s' has only the value '%s' in the codings; the model always suggests it.",
                        dimension.id, item.labels[0])
        dimensions[dimension.id] = {"n": len(item.labels), "values": item.counts(), "kind": kind,
                                    "condition": str(dimension.condition) if dimension.condition else None}
        if cv_folds and kind == "classifier":
            from .evaluate import cross_validated_scores

            scores = cross_validated_scores(item, spec, group_by, cv_folds)
            if scores is not None:
                metrics[dimension.id] = scores
    manifest = {
        "format": FORMAT,
        "name": name,
        "codebook": {"name": codebook.name, "version": codebook.version, "hash": codebook.hash},
        "training_data": {"sha256": data_hash(data), "fragments": len({f.id for d in data.values() for f in d.fragments}),
                          "disagreements": rule},
        "dimension_order": [d for d in conditions_first(codebook) if d in estimators],
        "dimensions": dimensions,
        "libraries": library_versions(),
        "params": {**asdict(spec), "disagreements": rule, "cv_folds": cv_folds, "group_by": group_by},
        "cv_metrics": metrics,
    }
    return TrainedModel(estimators, manifest)


def save_model(model: TrainedModel, directory) -> Path:
    """Write model.joblib and manifest.json (with the model file's sha256) atomically into `directory`."""
    from .files import atomic_open, atomic_path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / MODEL_FILE) as tmp:
        joblib.dump({"format": FORMAT, "estimators": model.estimators}, tmp, compress=0)
        digest = file_sha256(tmp)
    manifest = {**model.manifest, "model_file": {"name": MODEL_FILE, "sha256": digest}}
    with atomic_open(directory / MANIFEST_FILE) as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    model.manifest, model.directory = manifest, directory
    return directory


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def major_minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def read_manifest(directory) -> dict:
    """The manifest of a model directory; ModelError if it is missing or unreadable."""
    directory = Path(directory)
    path = directory / MANIFEST_FILE
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such model folder; make one with 'capcode train ... --out {directory}'.")
    if not path.exists():
        raise ModelError(f"{path}: missing; this is not a capcode model folder (train one with 'capcode train').")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: damaged ({exc}); train the model again.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"{path}: not a capcode model manifest of format {FORMAT}; train the model again.")
    return manifest


def check_manifest(manifest: dict, directory, codebook) -> None:
    """Refuse a model made for another codebook or with another scikit-learn major.minor version."""
    import sklearn

    made_for = manifest.get("codebook", {})
    if made_for.get("hash") != codebook.hash:
        raise ModelError(
            f"{directory}: this model was trained for codebook '{made_for.get('name')}' version "
            f"{made_for.get('version')} (hash {str(made_for.get('hash'))[:12]}), not for '{codebook.name}' "
            f"version {codebook.version} (hash {codebook.hash[:12]}); use that codebook (--codebook) "
            "or train a new model.")
    trained_with = manifest.get("libraries", {}).get("scikit-learn", "?")
    if major_minor(trained_with) != major_minor(sklearn.__version__):
        raise ModelError(
            f"{directory}: the model was made with scikit-learn {trained_with}, this installation has "
            f"{sklearn.__version__}; install scikit-learn {major_minor(trained_with)}.x or train the model again.")


def load_model(directory, codebook) -> TrainedModel:
    """Load a model folder after checking its manifest, codebook, library versions and file hash."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    check_manifest(manifest, directory, codebook)
    path = directory / MODEL_FILE
    if not path.exists():
        raise ModelError(f"{path}: missing; train the model again.")
    expected = manifest.get("model_file", {}).get("sha256")
    if file_sha256(path) != expected:
        raise ModelError(f"{path}: its sha256 does not match manifest.json (the file was changed or damaged); "
                         "refusing to load it. Train the model again or restore the original file.")
    try:
        stored = joblib.load(path)
    except Exception as exc:  # unpickling raises many types for a damaged file
        raise ModelError(f"{path}: cannot be loaded ({type(exc).__name__}); train the model again.") from None
    return TrainedModel(stored["estimators"], manifest, directory)


# ---- edges -----------------------------------------------------------------


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


def run_train(fragments_path, codings_paths, out_dir, params) -> TrainedModel:
    """`capcode train`: read inputs, train per dimension, write the model folder."""
    codebook, fragments, codings = load_inputs(fragments_path, codings_paths, params.codebook)
    spec = ModelSpec.from_params(params.train, params.segment.spacy_model)
    model = train_model(fragments, codings, codebook, spec, params.train.disagreements, params.train.cv_folds,
                        params.evaluate.group_by, name=Path(out_dir).name)
    save_model(model, out_dir)
    return model


def describe(model: TrainedModel) -> str:
    """A short summary of a trained model for stdout: per dimension, n, values and CV macro-F1."""
    lines = [f"model {model.name}: codebook {model.manifest['codebook']['name']} "
             f"{model.manifest['codebook']['version']}, design {model.manifest['params']['features']}/"
             f"{model.manifest['params']['classifier']}"]
    for dimension, info in model.manifest["dimensions"].items():
        values = ", ".join(f"{v} {n}" for v, n in info["values"].items())
        scores = model.manifest["cv_metrics"].get(dimension)
        score = f"  cv macro-F1 {scores['macro_f1']:.2f}" if scores else ""
        lines.append(f"  {dimension}: {info['n']} fragments ({values}){score}")
    return "\n".join(lines)

