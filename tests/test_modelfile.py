"""Model files: skops with a trusted-type check; pickles only on explicit trust; payloads never run."""

import hashlib
import json
import logging
import pickle
import re
import zipfile

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from pipeline.errors import ModelError
from pipeline.features import fragment_matrix, lemmatise
from pipeline.files import read_fragments
from pipeline.modelfile import check_estimators, load_model, refusal, save_model

TEXTS = ["Het overleg met de partners verloopt stroef.", "We hebben geen budget voor extra personeel.",
         "De burgemeester beslist over de koers.", "De dienst voert de plannen van het college uit.",
         "Samen met het OCMW zoeken we naar oplossingen.", "Intern ontbreekt het aan tijd."] * 4
LABELS = ["extern", "intern", "intern", "intern", "extern", "intern"] * 4


class Payload:
    """A pickle that creates `marker` the moment it is unpickled (what a crafted model would do)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def train_fixture_model(data_dir, out):
    """A real capcode model, trained by `capcode train` on the classifier fixtures (no CV: fast)."""
    from click.testing import CliRunner

    from pipeline.cli import cli

    params = out.parent / f"{out.name}-params.yaml"
    params.write_text("train:\n  cv_folds: 0\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--params", str(params), "train", "--fragments",
                                      str(data_dir / "classifier_fragments.jsonl"), "--codings",
                                      str(data_dir / "classifier_codings.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def models(data_dir, tmp_path_factory):
    """Real fitted scikit-learn pipelines, as capcode and a researcher would build them."""
    lemmas = Pipeline([("lemmas", FunctionTransformer(lemmatise)),
                       ("hash", HashingVectorizer(n_features=2 ** 12, alternate_sign=False)),
                       ("tfidf", TfidfTransformer()),
                       ("clf", CalibratedClassifierCV(LogisticRegression(max_iter=500), cv=2))]).fit(TEXTS, LABELS)
    fragments = list(read_fragments(data_dir / "classifier_fragments.jsonl"))[:24]
    X = fragment_matrix(fragments)
    y = ["a", "b", "c"] * (len(fragments) // 3)
    folder = train_fixture_model(data_dir, tmp_path_factory.mktemp("modelfile") / "team")
    stored = load_model(folder / "model.skops")
    features = stored["features"].transform(X)
    dimension = sorted(stored["estimators"])[0]
    capcode = stored["estimators"][dimension]
    return {"lemmas": (lemmas, np.array(TEXTS)), "capcode": (capcode, features),
            "svm": (CalibratedClassifierCV(LinearSVC(max_iter=5000), cv=2).fit(features, y), features),
            "dummy": (DummyClassifier(strategy="prior").fit(X, y), X)}


def test_real_pipelines_round_trip_with_identical_probabilities(models, tmp_path):
    stored = {"format": 3, "estimators": {name: model for name, (model, _) in models.items()}}
    digest = save_model(stored, tmp_path / "model.skops")
    assert digest == hashlib.sha256((tmp_path / "model.skops").read_bytes()).hexdigest()
    loaded = load_model(tmp_path / "model.skops", sha256=digest)
    estimators = check_estimators(loaded, tmp_path / "model.skops")
    for name, (model, X) in models.items():
        np.testing.assert_array_equal(estimators[name].predict_proba(X), model.predict_proba(X))
        assert list(estimators[name].predict(X)) == list(model.predict(X))


def test_training_the_same_model_twice_writes_the_same_bytes(data_dir, tmp_path):
    import time

    first = train_fixture_model(data_dir, tmp_path / "first")
    time.sleep(2.1)  # zip members record the time of writing in two-second steps
    second = train_fixture_model(data_dir, tmp_path / "second")
    assert (first / "model.skops").read_bytes() == (second / "model.skops").read_bytes()
    with zipfile.ZipFile(first / "model.skops") as archive:
        names = archive.namelist()
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert names[0] == "schema.json" and all(re.fullmatch(r"\d+\.np[yz]", n) for n in names[1:])


def test_a_part_shared_by_two_estimators_stays_one_object(models, tmp_path):
    capcode = models["capcode"][0]
    save_model({"estimators": {"a": capcode, "b": capcode}}, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    assert loaded["estimators"]["a"] is loaded["estimators"]["b"]
    np.testing.assert_array_equal(loaded["estimators"]["a"].predict_proba(models["capcode"][1]),
                                  capcode.predict_proba(models["capcode"][1]))


def test_a_model_file_holds_numbers_and_type_names_only(models, tmp_path):
    save_model({"estimators": {"capcode": models["capcode"][0]}}, tmp_path / "model.skops")
    with zipfile.ZipFile(tmp_path / "model.skops") as archive:
        schema = archive.read("schema.json").decode("utf-8")
        assert all(name == "schema.json" or name.endswith(".npy") for name in archive.namelist())
    assert "overleg" not in schema and "budget" not in schema  # no training text, no vocabulary


def test_a_changed_file_is_refused_by_its_hash(models, tmp_path):
    digest = save_model({"estimators": {"dummy": models["dummy"][0]}}, tmp_path / "model.skops")
    with pytest.raises(ModelError, match=r"model.skops: its sha256 does not match manifest.json"):
        load_model(tmp_path / "model.skops", sha256=digest[::-1])


def test_a_pickle_payload_never_runs_even_with_its_hash_updated(tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "model.joblib"
    path.write_bytes(pickle.dumps({"format": 3, "estimators": {"x": Payload(marker)}}, protocol=4))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ModelError, match=r"model.joblib: a pickle/joblib model file. Loading one runs any code "
                                         r"its maker put in it.*only if you trust whoever made this file, add --trust-model"):
        load_model(path, sha256=digest)
    assert not marker.exists()


def test_a_joblib_file_loads_only_with_explicit_trust_and_a_warning(models, tmp_path, caplog):
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump({"estimators": {"dummy": models["dummy"][0]}}, path)
    with pytest.raises(ModelError, match="a pickle/joblib model file"):
        load_model(path)
    with caplog.at_level(logging.WARNING, logger="capcode"):
        loaded = load_model(path, trust_pickle=True)
    assert "loading a pickle/joblib model because --trust-model was given" in caplog.text
    model, X = models["dummy"]
    np.testing.assert_array_equal(check_estimators(loaded, path)["dummy"].predict_proba(X), model.predict_proba(X))


def _skops_with(tmp_path, replace_type):
    """A skops file whose FunctionTransformer function is swapped for `replace_type` (module, name)."""
    path = tmp_path / "model.skops"
    save_model({"estimators": {"x": FunctionTransformer(np.sqrt)}}, path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])

    def swap(node):
        if isinstance(node, dict):
            if node.get("__class__") == "sqrt" or (node.get("__module__") == "numpy" and "sqrt" in str(node)):
                node["__module__"], node["__class__"] = replace_type
                node["__loader__"] = "FunctionNode"
                node["content"] = {"module_path": replace_type[0], "function": replace_type[1]}
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)

    swap(schema)
    members["schema.json"] = json.dumps(schema).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("module,name,why", [
    ("posix", "system", "which is not part of scikit-learn, NumPy, SciPy or capcode"),
    ("builtins", "eval", "which is not part of scikit-learn, NumPy, SciPy or capcode"),
    ("numpy", "save", "which can read or write files"),
    ("sklearn.datasets", "fetch_openml", "which can read or write files"),
])
def test_a_crafted_skops_file_with_a_foreign_function_is_refused_naming_it(tmp_path, module, name, why):
    path = _skops_with(tmp_path, (module, name))
    import skops.io

    assert f"{module}.{name}" in skops.io.get_untrusted_types(file=path)
    with pytest.raises(ModelError, match=rf"model.skops: holds '{module}.{name}', {why}; a capcode model holds only"):
        load_model(path)


def test_the_trust_list(tmp_path):
    assert refusal("sklearn.calibration._CalibratedClassifier") is None
    assert refusal("sklearn.feature_selection._univariate_selection.f_classif") is None
    assert refusal("pipeline.features.TextHasher") is None
    assert refusal("pipeline.features.lemmatise") is None
    assert refusal("numpy.memmap") == "which can read or write files"
    assert refusal("numpy.lib.npyio.NpzFile") == "which can read or write files"
    assert refusal("scipy.io.loadmat") == "which can read or write files"
    assert refusal("numpy.linalg.norm") == "a function that is not on capcode's list of trusted ones"
    assert refusal("pipeline.files.write_jsonl") == "a part of capcode that is not a model step"
    assert refusal("pipeline.nothing.Here") == "which does not exist in this version of capcode"
    assert refusal("sklearn.NoSuchThing") == "which does not exist in the installed libraries"
    assert refusal("os.system") == "which is not part of scikit-learn, NumPy, SciPy or capcode"


@pytest.mark.parametrize("stored,message", [
    ([1, 2, 3], "not a capcode model (no estimators per dimension inside)"),
    ({"estimators": {}}, "not a capcode model (no estimators per dimension inside)"),
    ({"estimators": {"niveau": np.zeros(3)}}, "the model for 'niveau' cannot give probabilities (ndarray)"),
])
def test_a_model_file_of_the_wrong_structure_is_a_model_error(tmp_path, stored, message):
    save_model(stored, tmp_path / "model.skops")
    with pytest.raises(ModelError) as caught:
        check_estimators(load_model(tmp_path / "model.skops"), tmp_path / "model.skops")
    assert message in str(caught.value)


@pytest.mark.parametrize("content,message", [
    (b"", "not a capcode model file (neither a skops nor a pickle/joblib file)"),
    (b"hello", "not a capcode model file (neither a skops nor a pickle/joblib file)"),
    (b"PK\x03\x04broken", "damaged zip archive"),
])
def test_damaged_model_files_are_model_errors(tmp_path, content, message):
    (tmp_path / "model.skops").write_bytes(content)
    with pytest.raises(ModelError, match=re.escape(message)):
        load_model(tmp_path / "model.skops")
    with pytest.raises(ModelError, match="missing; train the model again"):
        load_model(tmp_path / "absent.skops")


def test_a_skops_zip_without_a_schema_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "model.skops", "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(ModelError, match=r"model.skops: not a readable skops model file"):
        load_model(tmp_path / "model.skops")


def test_a_model_capcode_train_writes_is_skops_and_loads_only_trusted_types(tmp_path, data_dir):
    """`capcode train` writes model.skops; the manifest names it and its sha256, and it loads with the check."""
    out = train_fixture_model(data_dir, tmp_path / "team")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model_file"]["name"] == "model.skops" and manifest["model_file"]["format"] == "skops"
    assert not (out / "model.joblib").exists()
    with zipfile.ZipFile(out / "model.skops") as archive:
        assert "schema.json" in archive.namelist()
    stored = load_model(out / "model.skops", sha256=manifest["model_file"]["sha256"])
    estimators = check_estimators(stored, out / "model.skops")
    X = stored["features"].transform(fragment_matrix(list(read_fragments(data_dir / "classifier_fragments.jsonl"))))
    assert len(estimators) >= 2
    for estimator in estimators.values():
        probabilities = estimator.predict_proba(X)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_an_older_joblib_model_folder_predicts_the_same_only_with_trust_model(tmp_path, data_dir):
    """A model folder of the previous format (model.joblib) is refused by predict unless --trust-model."""
    import joblib
    from click.testing import CliRunner

    from pipeline.cli import cli

    out = train_fixture_model(data_dir, tmp_path / "team")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    fragments = str(data_dir / "classifier_fragments.jsonl")
    assert CliRunner().invoke(cli, ["predict", "--model", str(out), fragments, "--out",
                                    str(tmp_path / "new.jsonl")]).exit_code == 0
    old = tmp_path / "old"
    old.mkdir()
    joblib.dump(load_model(out / "model.skops"), old / "model.joblib")
    digest = hashlib.sha256((old / "model.joblib").read_bytes()).hexdigest()
    manifest.update(format=2, model_file={"name": "model.joblib", "sha256": digest})
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    refused = CliRunner().invoke(cli, ["predict", "--model", str(old), fragments, "--out", str(tmp_path / "old.jsonl")])
    assert refused.exit_code == 1 and "--trust-model" in refused.output and "Traceback" not in refused.output
    assert not (tmp_path / "old.jsonl").exists()
    trusted = CliRunner().invoke(cli, ["predict", "--model", str(old), fragments, "--out", str(tmp_path / "old.jsonl"),
                                       "--trust-model"])
    assert trusted.exit_code == 0, trusted.output
    assert (tmp_path / "old.jsonl").read_text("utf-8") == (tmp_path / "new.jsonl").read_text("utf-8")
