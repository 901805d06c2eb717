"""Training: agreed labels, conditional dimensions, the model folder, its manifest and its checks."""

import hashlib
import json

import pytest
import sklearn
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.codebook import load_codebook
from pipeline.config import Params, TrainParams
from pipeline.errors import ConfigError, InputError, ModelError
from pipeline.files import read_fragments
from pipeline.records import Coding
from pipeline.train import (MANIFEST_FILE, MODEL_FILE, ModelSpec, agreed_labels, load_model, run_train,
                            training_data)

RARE_TEXT_WORD = "zwaluwstaartverbinding"  # in one fragment's text of the fixture
RARE_CONTEXT_WORD = "kwispeldeurtje"  # in one fragment's interviewer question


def _params(**train):
    return Params(train=TrainParams(**{"cv_folds": 0, **train}))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("models") / "team"
    run_train(data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"], out, _params(cv_folds=2))
    return out


def test_majority_drops_ties_and_agreed_keeps_only_unanimous_units():
    codings = [Coding("f1", "anna", "impact", "positief"), Coding("f1", "bert", "impact", "negatief"),
               Coding("f2", "anna", "impact", "positief"), Coding("f2", "bert", "impact", "positief"),
               Coding("f2", "carl", "impact", "negatief"), Coding("f3", "anna", "impact", "neutraal")]
    assert agreed_labels(codings, "majority") == {("f2", "impact"): "positief", ("f3", "impact"): "neutraal"}
    assert agreed_labels(codings, "agreed") == {("f3", "impact"): "neutraal"}
    with pytest.raises(ConfigError, match="train.disagreements: unknown rule 'vote'"):
        agreed_labels(codings, "vote")


def test_conditional_dimension_trains_only_where_its_condition_holds(data_dir):
    fragments = list(read_fragments(data_dir / "classifier_fragments.jsonl"))
    by_id = {f.id: f for f in fragments}
    codings = [Coding(fragments[0].id, "a", "relevant", "ja"), Coding(fragments[0].id, "a", "impact", "positief"),
               Coding(fragments[1].id, "a", "relevant", "nee"), Coding(fragments[1].id, "a", "impact", "negatief"),
               Coding(fragments[2].id, "a", "impact", "neutraal")]  # relevant not coded: condition unknown
    data = training_data(fragments, codings, load_codebook("default"))
    assert [f.id for f in data["impact"].fragments] == [fragments[0].id]
    assert data["impact"].labels == ("positief",)
    assert set(f.id for f in data["relevant"].fragments) == {fragments[0].id, fragments[1].id}
    assert by_id[fragments[0].id] in data["relevant"].fragments


def test_codings_of_other_fragments_are_refused_with_a_hint(data_dir):
    fragments = list(read_fragments(data_dir / "classifier_fragments.jsonl"))
    with pytest.raises(InputError, match="fragment ids written by 'capcode segment'"):
        training_data(fragments, [Coding("elders.txt#0-5", "a", "relevant", "ja")], load_codebook("default"))


def test_model_folder_has_model_and_manifest(model_dir):
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    codebook = load_codebook("default")
    assert (model_dir / MODEL_FILE).exists()
    assert manifest["codebook"] == {"name": codebook.name, "version": codebook.version, "hash": codebook.hash}
    assert len(manifest["training_data"]["sha256"]) == 64
    assert manifest["training_data"]["fragments"] == 42
    assert manifest["dimensions"]["relevant"]["values"] == {"ja": 33, "nee": 9}
    # two coders disagree on impact in one unit per case: those units are left out under 'majority'
    assert manifest["dimensions"]["impact"]["n"] == 30
    assert manifest["dimensions"]["impact"]["condition"] == "relevant = ja"
    assert manifest["libraries"]["scikit-learn"] == sklearn.__version__
    assert manifest["params"]["features"] == "tfidf+lemma+char+context+use+use_context"
    assert manifest["params"]["c"] == "auto" and manifest["encoder"]
    assert manifest["params"]["disagreements"] == "majority"
    assert set(manifest["cv_metrics"]) == set(codebook.dimension_ids)
    assert {"accuracy", "macro_f1", "kappa", "n"} <= set(manifest["cv_metrics"]["relevant"])
    for dimension in codebook.dimension_ids:  # stored calibration and abstention rule per dimension
        calibration = manifest["calibration"][dimension]
        assert calibration["c"] in (0.3, 1.0, 3.0, 10.0) and calibration["temperature"] > 0
        assert 0.0 <= calibration["abstain"]["threshold"] <= 1.0
    # 30 coded impact fragments from 3 cases: a 2-fold CV leaves too few held-out fragments per value
    # to reach the target, and capcode then abstains on everything rather than guess
    rules = [manifest["calibration"][d]["abstain"] for d in codebook.dimension_ids]
    assert all(r["note"] for r in rules if r["threshold"] >= 1.0)
    assert manifest["model_file"]["name"] == MODEL_FILE


def test_model_file_holds_no_training_text(model_dir):
    for name in (MODEL_FILE, MANIFEST_FILE):
        content = (model_dir / name).read_bytes().lower()
        for word in (RARE_TEXT_WORD, RARE_CONTEXT_WORD, "taalcafé", "omgevingsanalyse"):
            assert word.encode("utf-8") not in content, (name, word)
            assert word.encode("utf-16-le") not in content, (name, word)


def test_load_checks_and_returns_the_estimators(model_dir):
    model = load_model(model_dir, load_codebook("default"))
    assert model.dimension_order() == list(load_codebook("default").dimension_ids)
    assert list(model.estimators["impact"].classes_) == ["negatief", "neutraal", "positief"]


def test_load_refuses_a_model_for_another_codebook(model_dir, data_dir):
    other = load_codebook(data_dir / "classifier_codebook_two.yaml")
    with pytest.raises(ModelError, match="trained for codebook 'capaciteit-regierol' version 1.0 .* not for "
                                         "'thema-toon' version 0.1"):
        load_model(model_dir, other)


def test_load_refuses_a_changed_model_file(model_dir, tmp_path):
    copy = tmp_path / "team"
    copy.mkdir()
    (copy / MANIFEST_FILE).write_bytes((model_dir / MANIFEST_FILE).read_bytes())
    (copy / MODEL_FILE).write_bytes((model_dir / MODEL_FILE).read_bytes() + b"\0")
    with pytest.raises(ModelError, match="sha256 does not match manifest.json"):
        load_model(copy, load_codebook("default"))


def test_load_refuses_another_scikit_learn_version(model_dir, tmp_path):
    copy = tmp_path / "team"
    copy.mkdir()
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["libraries"]["scikit-learn"] = "0.24.2"
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    (copy / MODEL_FILE).write_bytes((model_dir / MODEL_FILE).read_bytes())
    with pytest.raises(ModelError, match=r"made with scikit-learn 0.24.2, this installation has .*install "
                                         r"scikit-learn 0.24.x or train the model again"):
        load_model(copy, load_codebook("default"))


def test_load_refuses_a_folder_without_manifest(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load_model(tmp_path / "missing", load_codebook("default"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="manifest.json: missing; this is not a capcode model folder"):
        load_model(tmp_path / "empty", load_codebook("default"))


def test_unknown_classifier_is_a_config_error(data_dir, tmp_path):
    with pytest.raises(ConfigError, match="train.classifier: unknown classifier 'forest'"):
        run_train(data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"], tmp_path / "m",
                  _params(classifier="forest"))


def test_condition_dimensions_come_first():
    from pipeline.codebook import parse_codebook
    from pipeline.train import conditions_first

    codebook = parse_codebook("name: x\nversion: '1'\ndimensions:\n"
                              "  - {id: toon, only_when: {thema: werk}, values: [laag, hoog]}\n"
                              "  - {id: thema, values: [werk, taal]}\n"
                              "  - {id: los, values: [a, b]}\n")
    assert conditions_first(codebook) == ["thema", "toon", "los"]


def test_design_from_name():
    spec = ModelSpec.from_design("lemma+char/svm", ModelSpec(c=2.0, seed=3))
    assert (spec.features, spec.classifier, spec.c, spec.seed) == ("lemma+char", "svm", 2.0, 3)


def test_cli_train_with_another_codebook(data_dir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  cv_folds: 0\n  classifier: svm\n", encoding="utf-8")
    out = tmp_path / "models" / "thema"
    result = CliRunner().invoke(cli, ["--params", str(params), "train",
                                      "--fragments", str(data_dir / "classifier_fragments.jsonl"),
                                      "--codings", str(data_dir / "classifier_codings_two.csv"),
                                      "--codebook", str(data_dir / "classifier_codebook_two.yaml"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "thema: 42 fragments" in result.output
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["codebook"]["name"] == "thema-toon"
    assert manifest["dimension_order"] == ["thema", "toon"]
    assert manifest["params"]["classifier"] == "svm"


def test_cli_train_takes_several_coding_files_after_one_option(data_dir, tmp_path):
    fragments = list(read_fragments(data_dir / "classifier_fragments.jsonl"))
    second = tmp_path / "carl.csv"
    second.write_text(f"fragment_id,relevant\n{fragments[0].id},nee\n{fragments[3].id},nee\n", encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  cv_folds: 0\n  disagreements: agreed\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--params", str(params), "train", "--fragments",
                                      str(data_dir / "classifier_fragments.jsonl"), "--codings",
                                      str(data_dir / "classifier_codings.csv"), str(second), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text(encoding="utf-8"))
    # carl disagrees on the first fragment (anna and bert: ja) and agrees on the fourth (nee)
    assert manifest["dimensions"]["relevant"]["n"] == 41
    assert manifest["training_data"]["disagreements"] == "agreed"


def test_cli_train_reports_a_missing_codings_file_in_one_line(data_dir, tmp_path):
    result = CliRunner().invoke(cli, ["train", "--fragments", str(data_dir / "classifier_fragments.jsonl"),
                                      "--codings", str(tmp_path / "none.csv"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ") and "none.csv" in result.output


def test_a_second_train_reuses_the_cross_validation_it_would_repeat(data_dir, tmp_path, monkeypatch):
    import shutil

    import pipeline.learn.model as model_module

    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(data_dir / "classifier_fragments.jsonl", study / "fragments.jsonl")
    codings = study / "codings.csv"
    shutil.copy(data_dir / "classifier_codings.csv", codings)
    params = _params(cv_folds=2, features="tfidf+lemma+char+context")
    run_train(study / "fragments.jsonl", [codings], tmp_path / "first", params)
    results = json.loads((study / ".capcode-cache" / "results.json").read_text(encoding="utf-8"))
    assert len(results) == 5  # one record per dimension: numbers and notes only
    assert RARE_TEXT_WORD not in json.dumps(results)

    def no_cv(*args, **kwargs):
        raise AssertionError("cross-validation ran again on unchanged inputs")

    monkeypatch.setattr(model_module, "choose_by_cv", no_cv)
    run_train(study / "fragments.jsonl", [codings], tmp_path / "second", params)
    first, second = (json.loads((tmp_path / d / MANIFEST_FILE).read_text(encoding="utf-8")) for d in ("first", "second"))
    assert first["calibration"] == second["calibration"] and first["cv_metrics"] == second["cv_metrics"]
    # other settings (here the target precision) are another key: cross-validation runs again
    with pytest.raises(AssertionError, match="ran again"):
        run_train(study / "fragments.jsonl", [codings], tmp_path / "third",
                  Params(train=params.train, evaluate=type(params.evaluate)(target_precision=0.9)))


def test_dimensions_on_the_same_fragments_share_folds_and_get_what_separate_fits_give(data_dir, monkeypatch):
    import numpy as np

    import pipeline.learn.model as model_module
    from pipeline.codings import read_codings
    from pipeline.learn.blocks import FeatureStore
    from pipeline.learn.crossval import group_keys
    from pipeline.learn.model import Task, fit_dimension, fit_dimensions

    codebook = load_codebook(data_dir / "classifier_codebook_two.yaml")
    fragments = list(read_fragments(data_dir / "classifier_fragments.jsonl"))
    codings = read_codings([str(data_dir / "classifier_codings_two.csv")], codebook=codebook)
    data = training_data(fragments, codings, codebook)
    spec = ModelSpec(features="tfidf+lemma+char+context")
    store = FeatureStore(data["thema"].fragments)
    X, widths = store.matrix(spec.design), store.widths(spec.design)
    groups = group_keys(data["thema"].fragments, "case")
    rows = np.arange(X.shape[0])
    designs = []
    original = model_module.fold_design
    monkeypatch.setattr(model_module, "fold_design", lambda *a, **k: designs.append(1) or original(*a, **k))
    # a second dimension on the same fragments: the labels of 'thema' in another order of names
    relabelled = np.asarray([f"x-{v}" for v in data["thema"].labels], dtype=object)
    shared = fit_dimensions(spec, X, [Task("a", rows, np.asarray(data["thema"].labels, dtype=object), groups),
                                      Task("b", rows, relabelled, groups)], widths, n_folds=3)
    assert len(designs) == 3 + 1  # three folds and the final weighting, once for both dimensions
    alone = fit_dimension(spec, X, data["thema"].labels, groups, widths, n_folds=3)
    for fit in shared.values():
        assert fit.c == alone.c and fit.temperature == alone.temperature and fit.rule == alone.rule
        assert np.allclose(fit.estimator.predict_proba(X), alone.estimator.predict_proba(X))


def test_cross_validation_on_the_split_matrix_decides_what_scikit_learns_fits_decide(data_dir, monkeypatch):
    """Above the row span's size, the folds' fits go through `linear.fit_logistic_many`: the C it
    chooses, the scores of every C tried, the temperature and the threshold are those of
    scikit-learn's own LogisticRegression fits on the same folds."""
    import numpy as np
    import scipy.sparse as sp

    import pipeline.learn.linear as linear
    import pipeline.learn.model as model_module
    from pipeline.codings import read_codings
    from pipeline.learn.blocks import FeatureStore
    from pipeline.learn.crossval import group_keys
    from pipeline.learn.model import fit_dimension

    codebook = load_codebook(data_dir / "classifier_codebook_two.yaml")
    fragments = list(read_fragments(data_dir / "classifier_fragments.jsonl"))
    data = training_data(fragments, read_codings([str(data_dir / "classifier_codings_two.csv")],
                                                 codebook=codebook), codebook)
    spec = ModelSpec(features="tfidf+lemma+char+context")
    store = FeatureStore(data["thema"].fragments)
    X, widths = store.matrix(spec.design), store.widths(spec.design)
    groups = group_keys(data["thema"].fragments, "case")
    monkeypatch.setattr(linear, "ROW_SPACE_MAX", 0)  # every fold in the columns, as at 10,000 fragments
    calls = []
    original = model_module.fit_logistic_many
    monkeypatch.setattr(model_module, "fit_logistic_many", lambda *a, **k: calls.append(1) or original(*a, **k))
    ours = fit_dimension(spec, X, data["thema"].labels, groups, widths, n_folds=3)
    assert len(calls) == 3  # one call per fold, every C of the grid
    def whole(split):  # the fold matrix a ColumnSplit was made of
        joined = sp.hstack([sp.csr_matrix(split.dense), split.sparse]).tocsr()
        return joined[:, np.argsort(np.r_[split.dense_columns, split.sparse_columns])]

    monkeypatch.setattr(model_module, "fit_logistic_many",
                        lambda A, problems: [linear.logistic(c).fit(whole(A), y) for y, c in problems])
    theirs = fit_dimension(spec, X, data["thema"].labels, groups, widths, n_folds=3)
    assert ours.c == theirs.c and ours.rule == theirs.rule and ours.tried.keys() == theirs.tried.keys()
    for c, scores in ours.tried.items():
        assert scores["kappa"] == theirs.tried[c]["kappa"]
        assert abs(scores["log_loss"] - theirs.tried[c]["log_loss"]) <= 2e-4
    assert abs(ours.temperature - theirs.temperature) < 1e-3
    np.testing.assert_allclose(ours.oof, theirs.oof, atol=1e-3)


def model_contents(folder) -> tuple:
    """What a model folder holds: the manifest and model.skops, byte for byte (a model is saved
    with the same bytes every time: modelfile.canonical_skops)."""
    return (json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8")), (folder / MODEL_FILE).read_bytes())


def _spied_executor(monkeypatch) -> list:
    """Count the times work is handed to other processes (parallel._executor)."""
    from pipeline import parallel

    used, original = [], parallel._executor
    monkeypatch.setattr(parallel, "_executor", lambda *a, **k: used.append(1) or original(*a, **k))
    return used


def test_train_on_two_processes_writes_the_model_one_process_writes(data_dir, tmp_path, monkeypatch):
    from pipeline.parallel import Workers

    params = Params(train=TrainParams(cv_folds=3, features="tfidf+lemma+char+context", cache=False))
    inputs = (data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"])
    run_train(*inputs, tmp_path / "one" / "model", params)
    used = _spied_executor(monkeypatch)
    run_train(*inputs, tmp_path / "two" / "model", params, workers=Workers(jobs=2, min_work=0))  # however small
    assert used, "the folds did not go to other processes"
    one, two = model_contents(tmp_path / "one" / "model"), model_contents(tmp_path / "two" / "model")
    assert one[0] == two[0] and one[0]["calibration"]["relevant"]["c_tried"]
    assert one[1] == two[1] and one[0]["model_file"]["sha256"] == hashlib.sha256(one[1]).hexdigest()


def test_train_spreads_only_work_worth_another_process(data_dir, tmp_path, monkeypatch):
    from pipeline.parallel import Workers

    used = _spied_executor(monkeypatch)
    params = Params(train=TrainParams(cv_folds=3, features="lemma+char", cache=False))
    run_train(data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"], tmp_path / "m",
              params, workers=Workers(jobs=2))
    assert not used  # 41 fragments: starting a process costs more than the folds


def test_cli_train_and_evaluate_take_jobs(data_dir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(f"codebook: {data_dir / 'classifier_codebook_two.yaml'}\ntrain:\n  cv_folds: 2\n"
                      "  features: lemma+char\n  cache: false\n", encoding="utf-8")
    inputs = ["--fragments", str(data_dir / "classifier_fragments.jsonl"), "--codings",
              str(data_dir / "classifier_codings_two.csv")]
    result = CliRunner().invoke(cli, ["--params", str(params), "train", *inputs, "--out", str(tmp_path / "m"),
                                      "--jobs", "2"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["--params", str(params), "evaluate", *inputs, "--out",
                                      str(tmp_path / "metrics.json"), "--no-designs", "--no-learning-curve",
                                      "--jobs", "2"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["--params", str(params), "train", *inputs, "--out", str(tmp_path / "m"),
                                      "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "--scheduler is for --backend dask" in result.output


def test_train_on_a_dask_cluster_writes_the_model_one_process_writes(data_dir, tmp_path):
    import distributed  # the cluster extra: make install installs it (the dev extra)

    from pipeline.parallel import Workers

    params = Params(train=TrainParams(cv_folds=3, features="tfidf+lemma+char+context", cache=False))
    inputs = (data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"])
    run_train(*inputs, tmp_path / "one" / "model", params)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        run_train(*inputs, tmp_path / "dask" / "model", params,
                  workers=Workers(backend="dask", scheduler=cluster.scheduler_address))
    assert model_contents(tmp_path / "one" / "model") == model_contents(tmp_path / "dask" / "model")


@pytest.mark.parametrize("out_of_core_above", [0, 10])
def test_train_releases_spacy_and_the_encoder_before_fitting_and_writes_the_same_model(data_dir, tmp_path,
                                                                                       out_of_core_above):
    """`capcode train` forgets the text models once the features are made (their memory serves
    the fitting), in memory and out of core; the model is the one a run that keeps them writes,
    byte for byte, and nothing loads them again."""
    from pipeline.dutch import _cached_nlp
    from pipeline.learn import encoder
    from pipeline.learn.model import ModelSpec
    from pipeline.learn.persist import save_model
    from pipeline.train import load_inputs, train_model

    params = _params(cv_folds=2, cache=False, out_of_core_above=out_of_core_above)
    inputs = (data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"])
    codebook, fragments, codings = load_inputs(*inputs, params.codebook)
    spec = ModelSpec.from_params(params.train, params.segment.spacy_model)
    for name, release in (("kept", False), ("released", True)):
        model = train_model(fragments, codings, codebook, spec, cv_folds=2, name="model",
                            out_of_core_above=out_of_core_above, spill_dir=tmp_path / "spill", release_models=release)
        save_model(model, tmp_path / name / "model", model.training_digests)
        loaded = bool(encoder._ENCODERS) and _cached_nlp.cache_info().currsize > 0
        assert loaded != release, "a run that keeps them has them loaded; one that releases them never again"
    run_train(*inputs, tmp_path / "command" / "model", params)  # `capcode train` releases them
    assert not encoder._ENCODERS and _cached_nlp.cache_info().currsize == 0
    assert ((tmp_path / "kept" / "model" / MODEL_FILE).read_bytes() ==
            (tmp_path / "released" / "model" / MODEL_FILE).read_bytes())
