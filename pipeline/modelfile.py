"""Model files that cannot run code when they are loaded: skops, with an explicit list of trusted types.

A pickle or joblib file runs whatever its maker put in it the moment it is loaded; a hash
in a manifest proves only that the file did not change, not who made it. capcode therefore
saves models with skops (`skops.io`), a zip of JSON and NumPy arrays that names every type
it holds, and before loading one checks each type skops does not already trust itself
against this list:

- classes from scikit-learn, NumPy and SciPy, except the modules and classes that read or
  write files (`*.io`, datasets, `memmap`, NumPy's file formats, test helpers, ...);
- functions only where they are pure computations: NumPy ufuncs (which skops trusts
  itself), scikit-learn's `metrics` and `feature_selection` functions, and the capcode
  functions listed in `CAPCODE_FUNCTIONS`;
- capcode's own estimator classes (subclasses of scikit-learn's `BaseEstimator` in
  `pipeline`).

Anything else is refused with a message that names it. A pickle/joblib model is opened
only when the caller says it trusts the file (`trust_pickle`, the `--trust-model` option),
with a warning. The file is read once: size limits (archives.py), the hash and the types
are checked on the very bytes that are then loaded.
"""

import hashlib
import importlib
import io
import logging
from pathlib import Path
from typing import Optional

from .archives import DEFAULT_LIMITS, MB, ZipLimits, check_zip, write_fixed_zip
from .errors import CapcodeError, ModelError

log = logging.getLogger("capcode")

MODEL_FORMAT = "skops"
TRUSTED_PACKAGES = ("sklearn", "numpy", "scipy")
# parts of a dotted name that mark code able to read or write files, or load native code
REFUSED_PARTS = frozenset({"io", "datasets", "testing", "_testing", "f2py", "distutils", "ctypeslib", "npyio",
                           "_npyio_impl", "format", "_format_impl", "_datasource", "DataSource", "memmap",
                           "_lib", "externals", "load", "loads", "save", "savez", "savez_compressed", "savetxt",
                           "loadtxt", "genfromtxt", "fromfile", "tofile", "fromregex", "dump", "dumps"})
FUNCTION_MODULES = ("sklearn.metrics.", "sklearn.feature_selection.")
CAPCODE_PACKAGE = "pipeline"
# capcode functions a model step may call (e.g. in a FunctionTransformer); add one here when a model uses it
CAPCODE_FUNCTIONS = frozenset({"pipeline.features.lemmatise"})

_PICKLE_STARTS = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00", b"\x04\x22\x4d\x18")


def save_model(obj, path) -> str:
    """Write `obj` as a skops file atomically; return the file's sha256 (for the manifest)."""
    import skops.io

    from .files import atomic_path

    buffer = io.BytesIO()
    skops.io.dump(obj, buffer, compression=8)  # zipfile.ZIP_DEFLATED
    data = canonical_skops(buffer.getvalue())
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


_VALUE_LOADERS = frozenset({"JsonNode"})  # plain values (numbers, strings): their identity means nothing


def canonical_skops(data: bytes) -> bytes:
    """The same skops file with the same bytes every time the same model is saved.

    skops names a model's parts after their addresses in memory (`__id__` and the array files'
    names) and stamps each zip member with the time of writing, so two saves of one model
    differ. Here the parts are numbered in the order the schema meets them, plain values each
    on their own (whether two equal numbers were one object in memory depends on where the
    model was fitted: in this process or another), with a fixed time stamp. Reproducible files
    keep DVC and the manifest's hash from seeing a change where none is.
    """
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    schema = json.loads(members.pop("schema.json").decode("utf-8"))
    numbers, files = {}, {}
    _renumber(schema, numbers, files)
    unnamed = set(members) - set(files)
    if unnamed:
        raise ModelError(f"the model file would hold a part its schema does not name ({sorted(unnamed)[0]}).")
    out = io.BytesIO()
    parts = {"schema.json": json.dumps(schema, indent=2).encode("utf-8")}
    parts.update((new, members[old]) for old, new in files.items())
    write_fixed_zip(out, parts)
    return out.getvalue()


def _renumber(node, numbers: dict, files: dict) -> None:
    """Number the `__id__`s and array files of a skops schema in the order they appear (see above)."""
    if isinstance(node, list):
        for item in node:
            _renumber(item, numbers, files)
        return
    if not isinstance(node, dict):
        return
    if "__id__" in node:
        old = node["__id__"]
        if node.get("__loader__") in _VALUE_LOADERS:
            node["__id__"] = len(numbers) + 1
            numbers[("value", len(numbers))] = node["__id__"]
        else:
            node["__id__"] = numbers.setdefault(old, len(numbers) + 1)
    if isinstance(node.get("file"), str):
        extension = node["file"].partition(".")[2]
        new = f"{node['__id__']}.{extension}"
        files.setdefault(node["file"], new)
        node["file"] = new
    for key, value in node.items():
        if key not in ("__id__", "file"):
            _renumber(value, numbers, files)


def load_model(path, trust_pickle: bool = False, sha256: Optional[str] = None,
               limits: ZipLimits = DEFAULT_LIMITS):
    """Load a model file saved by `save_model`; a pickle/joblib file only with `trust_pickle`.

    `sha256`, when given, must match the file (from the model's manifest). Every problem is
    a ModelError naming the file: missing, too large, changed, a type that is not trusted,
    a pickle without `trust_pickle`, a damaged file.
    """
    path = Path(path)
    data = _read(path, limits)
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ModelError(f"{path}: its sha256 does not match manifest.json (the file was changed or damaged); "
                         "refusing to load it. Train the model again or restore the original file.")
    if data.startswith(b"PK\x03\x04"):
        return _load_skops(path, data, limits)
    if not data.startswith(_PICKLE_STARTS):
        raise ModelError(f"{path}: not a capcode model file (neither a skops nor a pickle/joblib file); "
                         "train the model again with 'capcode train'.")
    if not trust_pickle:
        raise ModelError(f"{path}: a pickle/joblib model file. Loading one runs any code its maker put in it, so "
                         "capcode does not open it: train the model again with 'capcode train' (models are saved "
                         "as skops files now), or, only if you trust whoever made this file, add --trust-model.")
    return _load_pickle(path, data)


def _read(path: Path, limits: ZipLimits) -> bytes:
    if not path.is_file():
        raise ModelError(f"{path}: missing; train the model again.")
    size = path.stat().st_size
    if size > limits.archive_bytes:
        raise ModelError(f"{path}: {size / MB:,.0f} MB is more than the limit of {limits.describe_archive()}.")
    return path.read_bytes()


def _load_skops(path: Path, data: bytes, limits: ZipLimits):
    import skops.io

    try:
        check_zip(data, path, limits, "a model file")
    except CapcodeError as exc:
        raise ModelError(str(exc)) from None
    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises many types for a zip that is not one of its files
        raise ModelError(f"{path}: not a readable skops model file ({type(exc).__name__}); "
                         "train the model again with 'capcode train'.") from None
    refused = [(name, why) for name in untrusted for why in [refusal(name)] if why]
    if refused:
        name, why = refused[0]
        more = f" (and {len(refused) - 1} more: {', '.join(n for n, _ in refused[1:4])})" if len(refused) > 1 else ""
        raise ModelError(f"{path}: holds '{name}', {why}{more}; a capcode model holds only scikit-learn, NumPy and "
                         "SciPy parts and capcode's own, so the file is not loaded. Train the model again with "
                         "'capcode train'.")
    try:
        return skops.io.loads(data, trusted=list(untrusted))
    except Exception as exc:  # a damaged or hand-made file
        raise ModelError(f"{path}: cannot be loaded ({type(exc).__name__}); train the model again.") from None


def _load_pickle(path: Path, data: bytes):
    import joblib

    log.warning("%s: loading a pickle/joblib model because --trust-model was given; such a file can run any "
                "code on this computer. Train the model again with 'capcode train' to get a skops file.", path)
    try:
        return joblib.load(io.BytesIO(data))
    except Exception as exc:  # unpickling raises many types for a damaged file
        raise ModelError(f"{path}: cannot be loaded ({type(exc).__name__}); train the model again.") from None


def refusal(name: str) -> Optional[str]:
    """Why type or function `name` (as skops names it) may not be loaded; None when it is trusted."""
    parts = name.split(".")
    if parts[0] == CAPCODE_PACKAGE:
        return _capcode_refusal(name)
    if parts[0] not in TRUSTED_PACKAGES:
        return "which is not part of scikit-learn, NumPy, SciPy or capcode"
    if REFUSED_PARTS.intersection(parts):
        return "which can read or write files"
    found = _resolve(name)
    if found is None:
        return "which does not exist in the installed libraries"
    if isinstance(found, type):
        return None
    if callable(found) and name.startswith(FUNCTION_MODULES):
        return None
    return "a function that is not on capcode's list of trusted ones"


def _capcode_refusal(name: str) -> Optional[str]:
    from sklearn.base import BaseEstimator

    found = _resolve(name)
    if found is None:
        return "which does not exist in this version of capcode"
    if isinstance(found, type) and issubclass(found, BaseEstimator):
        return None
    if name in CAPCODE_FUNCTIONS and callable(found):
        return None
    return "a part of capcode that is not a model step"


def _resolve(name: str):
    """The object a dotted name stands for, importing only its module (within the trusted packages)."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute, None)
            if found is None:
                return None
        return found
    return None


def check_estimators(stored, path) -> dict:
    """The {dimension: fitted estimator} of a loaded model object ({'estimators': {...}, ...}).

    A file of another structure (not made by capcode, or damaged) is a ModelError, not a
    crash when the first prediction is asked for.
    """
    estimators = stored.get("estimators") if isinstance(stored, dict) else None
    if not isinstance(estimators, dict) or not estimators:
        raise ModelError(f"{path}: not a capcode model (no estimators per dimension inside); train the model again.")
    for dimension, estimator in estimators.items():
        if not isinstance(dimension, str) or not callable(getattr(estimator, "predict_proba", None)):
            raise ModelError(f"{path}: the model for '{dimension}' cannot give probabilities "
                             f"({type(estimator).__name__}); train the model again.")
    return estimators
