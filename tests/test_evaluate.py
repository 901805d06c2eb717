"""Evaluation: grouped folds, baselines, scores, calibration, thresholds, outputs."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.codebook import load_codebook
from pipeline.errors import InputError
from pipeline.evaluate import (build_lexicon, calibration, evaluate, folds_for, group_keys, lexicon_predict,
                               format_metrics, majority_value, precision_coverage, scores, threshold_for)
from pipeline.files import read_fragments
from pipeline.records import Coding, Fragment
from pipeline.train import ModelSpec

METRIC_KEYS = {"accuracy", "macro_f1", "kappa", "kappa_sd", "majority_kappa", "keywords_kappa", "char_tfidf_kappa",
               "ece", "coverage_at_threshold", "precision_at_threshold", "precision_at_threshold_lower", "n"}


def _fragment(text, case="1", respondent="1", index=0):
    return Fragment(f"c{case}/r{respondent}.txt#{index}-{index + 1}", f"c{case}/r{respondent}.txt", case, respondent,
                    "ambtelijk", "R", 1, index, index + 1, text)


def test_grouped_folds_never_split_a_case():
    fragments = [_fragment("x", case=str(i % 4), index=i) for i in range(20)]
    groups = group_keys(fragments, "case")
    folds = folds_for(groups, 3)
    assert len(folds) == 3
    for train, test in folds:
        assert {groups[i] for i in train}.isdisjoint(groups[i] for i in test)
    assert len(folds_for(groups, 5)) == 4  # fewer cases than folds: leave one case out
    assert folds_for(["a"] * 5, 5) is None


def test_respondents_are_grouped_within_their_case():
    fragments = [_fragment("x", case="1", respondent="1"), _fragment("x", case="2", respondent="1")]
    assert group_keys(fragments, "respondent") == ["1/1", "2/1"]


def test_majority_value_is_reproducible_on_ties():
    assert majority_value(["b", "a", "b", "a", "c"]) == "a"
    assert majority_value(["nee", "ja", "ja"]) == "ja"


def test_lexicon_comes_from_the_codebook_and_keeps_distinctive_words():
    dimension = load_codebook("default").dimension("intern_extern")
    lexicon = build_lexicon(dimension)
    assert set(lexicon) == {"intern", "extern"}
    assert lexicon["intern"] and lexicon["extern"]
    assert lexicon["intern"].isdisjoint(lexicon["extern"])
    assert not ({"de", "het", "een", "en"} & (lexicon["intern"] | lexicon["extern"]))
    assert {"scholen", "buurgemeente"} <= lexicon["extern"] and "organogram" in lexicon["intern"]
    texts = [_fragment("De scholen en de buurgemeente."), _fragment("Niets."), _fragment("Het organogram.")]
    assert lexicon_predict(lexicon, texts, "intern") == ["extern", "intern", "intern"]
    assert lexicon_predict(lexicon, texts[1:2], "extern") == ["extern"]  # no match: the fallback


def test_scores_and_calibration():
    result = scores(["ja", "ja", "nee", "nee"], ["ja", "nee", "nee", "nee"], ["ja", "nee"])
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["kappa"] == pytest.approx(0.5)
    perfect = calibration(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]), ["a", "b"])
    assert perfect["brier"] == pytest.approx(0.0) and perfect["ece"] == pytest.approx(0.0)
    wrong = calibration(["a", "b"], np.array([[0.0, 1.0], [1.0, 0.0]]), ["a", "b"])
    assert wrong["brier"] == pytest.approx(2.0) and wrong["ece"] == pytest.approx(1.0)


def test_threshold_is_the_lowest_reaching_the_target_precision():
    truth = ["a", "a", "a", "a"]
    predicted = ["a", "b", "a", "a"]
    curve = precision_coverage(truth, predicted, np.array([0.95, 0.55, 0.75, 0.65]))
    assert threshold_for(curve, 0.9) is None  # keeps fewer than 10 fragments
    point = threshold_for(curve, 0.9, min_kept=2)
    assert point["threshold"] == pytest.approx(0.56)
    assert point["coverage"] == pytest.approx(0.75) and point["precision"] == pytest.approx(1.0)
    assert threshold_for(precision_coverage(["a"], ["b"], np.array([0.9])), 0.8) is None


def test_wilson_lower_bound():
    from pipeline.learn.calibrate import wilson_lower

    assert wilson_lower(10, 10) == pytest.approx(0.787, abs=0.001)  # ten right out of ten: not yet 0.8 for sure
    assert wilson_lower(45, 50) == pytest.approx(0.808, abs=0.001)
    assert wilson_lower(0, 0) == 0.0 and wilson_lower(0, 5) == 0.0
    assert wilson_lower(45, 50, 0.99) < wilson_lower(45, 50, 0.95) < wilson_lower(45, 50, 0.80) < 0.9
    assert wilson_lower(90, 100) > wilson_lower(9, 10)  # more evidence, tighter bound


def test_stored_threshold_needs_the_precisions_lower_bound_to_reach_the_target():
    from pipeline.learn.calibrate import choose_threshold

    # 100 held-out fragments: the 40 surest all right, the others right 3 times in 4
    top = np.linspace(0.99, 0.5, 100)
    truth = np.where((np.arange(100) < 40) | (np.arange(100) % 4 != 0), "a", "b")
    proba = np.column_stack([top, 1 - top])
    plain = threshold_for(precision_coverage(truth, np.full(100, "a", dtype=object), top), 0.8)
    rule = choose_threshold(truth, proba, ["a", "b"], 0.8, 20)
    assert plain["precision"] >= 0.8 and rule["threshold"] > plain["threshold"]  # the bound asks for more
    assert rule["lower"] >= 0.8 and rule["kept"] < plain["n"] and rule["note"] == ""
    assert rule["coverage"] == pytest.approx(rule["kept"] / 100)
    # a precision of 0.85 on 20 fragments cannot show 0.8 with 95% confidence: abstain on all, and say why
    thin = choose_threshold(np.array(["a"] * 17 + ["b"] * 3), np.tile([0.9, 0.1], (20, 1)), ["a", "b"], 0.8, 20)
    assert thin["threshold"] == 1.0 and "95% confidence" in thin["note"] and "20 held-out fragments" in thin["note"]
    few = choose_threshold(np.array(["a"] * 12), np.tile([0.9, 0.1], (12, 1)), ["a", "b"], 0.8, 20)
    assert few["threshold"] == 1.0 and "too few" in few["note"]


def test_a_threshold_must_keep_its_promise_on_cases_it_was_not_set_on():
    from pipeline.learn.calibrate import case_bootstrap_lower, choose_threshold

    rng = np.random.default_rng(1)
    top = rng.uniform(0.5, 1.0, 240)
    proba = np.column_stack([top, 1 - top])
    cases = np.repeat(["c1", "c2", "c3", "c4"], 60)
    right = (top > 0.7) | (rng.random(240) < 0.5)  # the confident tail is right in every case
    truth = np.where(right, "a", "b")
    good = choose_threshold(truth, proba, ["a", "b"], 0.8, 20, groups=list(cases))
    assert good["threshold"] < 1.0 and good["transfer"]["kept"] >= 10 and good["transfer"]["lower"] >= 0.8
    # one municipality where the confident tail is wrong: the other three cannot vouch for a new one
    truth_bad = truth.copy()
    truth_bad[(cases == "c4") & (top > 0.7)] = "b"
    bad = choose_threshold(truth_bad, proba, ["a", "b"], 0.8, 20, groups=list(cases))
    assert bad["threshold"] == 1.0 and "every suggestion is left for review" in bad["note"]
    from pipeline.learn.calibrate import transfer_check

    held_out = transfer_check(truth_bad, proba, ["a", "b"], 0.8, 20, 0.95, list(cases))
    assert held_out["lower"] < 0.8  # set on three cases, the threshold fails the fourth
    # the case bootstrap is wider than Wilson when errors come in whole cases
    from pipeline.learn.calibrate import THRESHOLDS, wilson_lower

    at = THRESHOLDS.index(0.7)
    kept = top >= 0.7
    by_cases = case_bootstrap_lower(truth_bad == "a", top, cases)[at]
    assert by_cases < wilson_lower(int((truth_bad[kept] == "a").sum()), int(kept.sum()))


def test_c_is_chosen_by_out_of_fold_kappa_or_log_loss(data_dir):
    from pipeline.learn.blocks import FeatureStore
    from pipeline.learn.model import fit_dimension

    fragments = list(read_fragments(data_dir / "classifier_fragments.jsonl"))
    from pipeline.codings import read_codings

    codebook = load_codebook(data_dir / "classifier_codebook_two.yaml")
    codings = read_codings([str(data_dir / "classifier_codings_two.csv")], codebook=codebook)
    from pipeline.learn.labels import training_data

    item = training_data(fragments, codings, codebook)["thema"]
    store = FeatureStore(item.fragments)
    for c, criterion, best in (("auto", "kappa", max), ("logloss", "log_loss", min)):
        spec = ModelSpec(features="tfidf+lemma+char", c=c)
        fit = fit_dimension(spec, store.matrix(spec.design), item.labels, group_keys(item.fragments, "case"),
                            store.widths(spec.design), n_folds=3)
        assert set(fit.tried) == {0.3, 1.0, 3.0, 10.0}
        assert all(set(t) == {"log_loss", "kappa"} for t in fit.tried.values())
        assert fit.tried[fit.c][criterion] == best(t[criterion] for t in fit.tried.values())
    assert ModelSpec.from_design("lemma/lr/logloss", ModelSpec()).name == "lemma/lr/logloss"


def test_a_logloss_design_rides_on_its_twins_fits_and_gets_what_its_own_run_gives(data_dir, monkeypatch):
    from pipeline.codings import read_codings
    from pipeline.learn import model as model_module
    from pipeline.learn.blocks import FeatureStore
    from pipeline.learn.labels import training_data
    from pipeline.learn.nested import nested_runs

    codebook = load_codebook(data_dir / "classifier_codebook_two.yaml")
    codings = read_codings([str(data_dir / "classifier_codings_two.csv")], codebook=codebook)
    data = training_data(list(read_fragments(data_dir / "classifier_fragments.jsonl")), codings, codebook)
    items = [data["thema"]]
    store = FeatureStore(items[0].fragments)
    spec = ModelSpec(features="tfidf+lemma+char", c="auto")
    twin = ModelSpec.from_design("lemma+char+tfidf/lr/logloss", spec)
    folds = folds_for(group_keys(items[0].fragments, "case"), 3)
    calls, original = [], model_module.choose_by_cv
    monkeypatch.setattr(model_module, "choose_by_cv", lambda *a, **k: calls.append(1) or original(*a, **k))
    together = nested_runs(store, items, [(spec, 1.0), (twin, 1.0)], folds, "case", 0.8, 3, thresholds=[True, False])
    assert len(calls) == 3  # one inner cross-validation per outer fold serves both runs
    alone = [nested_runs(store, items, [(s, 1.0)], folds, "case", 0.8, 3, thresholds=[t])[0]
             for s, t in ((spec, True), (twin, False))]
    assert len(calls) == 9
    for shared, own in zip(together, alone):
        for dimension in ("thema",):
            np.testing.assert_array_equal(shared[dimension]["proba"], own[dimension]["proba"])
            np.testing.assert_array_equal(shared[dimension]["abstain"], own[dimension]["abstain"])
            assert shared[dimension]["folds"] == own[dimension]["folds"]
    # the runs differ where their rules differ: thresholds for the first only, C by log loss for the twin
    assert all(f["threshold"] == 0.0 for f in together[1]["thema"]["folds"])
    assert [f["c"] for f in together[0]["thema"]["folds"]] != [f["c"] for f in together[1]["thema"]["folds"]]


def test_evaluate_reports_every_dimension_with_baselines(data_dir):
    fragments = list(read_fragments(data_dir / "classifier_fragments.jsonl"))
    from pipeline.codings import read_codings

    codebook = load_codebook(data_dir / "classifier_codebook_two.yaml")
    codings = read_codings([str(data_dir / "classifier_codings_two.csv")], codebook=codebook)
    metrics, details, oof = evaluate(fragments, codings, codebook, ModelSpec(), n_folds=3, designs=("lemma/lr/1",),
                                     learning=True)
    assert set(metrics) == {"thema", "toon"}
    for summary in metrics.values():
        assert METRIC_KEYS <= set(summary)
    assert metrics["thema"]["n"] == 42
    thema = details["dimensions"]["thema"]
    assert thema["folds"] == 3
    assert sum(map(sum, thema["model"]["confusion"]["matrix"])) == 42
    assert set(thema["model"]["per_value"]) == {"werk", "taal"}
    assert [p["fraction"] for p in thema["learning_curve"]][-1] == 1.0
    assert set(thema["designs"]) == {"tfidf+lemma+char+context+use+use_context/lr", "lemma/lr/1"}
    assert len(thema["model"]["folds"]) == 3  # nested: one fitted procedure per outer fold
    assert all(f["c"] in (0.3, 1.0, 3.0, 10.0) for f in thema["model"]["folds"])
    # out-of-fold suggestions: one per coded fragment and dimension, none marked in-sample
    assert len([p for p in oof if p.dimension == "thema"]) == 42 and not any(p.in_training for p in oof)


def test_evaluate_needs_two_cases():
    fragments = [_fragment(f"tekst {i}", case="1", index=i) for i in range(6)]
    codings = [Coding(f.id, "a", "relevant", "ja" if i % 2 else "nee") for i, f in enumerate(fragments)]
    with pytest.raises(InputError, match="fewer than two cases, so grouped cross-validation is impossible"):
        evaluate(fragments, codings, load_codebook("default"), ModelSpec())


def test_cli_evaluate_writes_metrics_details_thresholds_and_plots(data_dir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(f"codebook: {data_dir / 'classifier_codebook_two.yaml'}\ntrain:\n  cv_folds: 3\n",
                      encoding="utf-8")
    out, details, oof, plots = (tmp_path / "metrics.json", tmp_path / "details.json",
                                tmp_path / "oof.jsonl", tmp_path / "plots")
    result = CliRunner().invoke(cli, ["--params", str(params), "evaluate",
                                      "--fragments", str(data_dir / "classifier_fragments.jsonl"),
                                      "--codings", str(data_dir / "classifier_codings_two.csv"),
                                      "--out", str(out), "--details", str(details), "--predictions-out",
                                      str(oof), "--plots", str(plots), "--no-designs", "--no-learning-curve"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[:4] == ["dimension", "n", "kappa", "±sd"]
    metrics = json.loads(out.read_text(encoding="utf-8"))
    assert set(metrics) == {"thema", "toon"}
    for summary in metrics.values():  # flat numbers, as 'dvc metrics show' wants
        assert METRIC_KEYS <= set(summary)
        assert all(v is None or isinstance(v, (int, float)) for v in summary.values())
    assert json.loads(details.read_text(encoding="utf-8"))["group_by"] == "case"
    predictions = [json.loads(line) for line in oof.read_text(encoding="utf-8").splitlines()]
    assert {p["dimension"] for p in predictions} == {"thema", "toon"}
    assert all(p["in_training"] is False and "(out-of-fold)" in p["model"] for p in predictions)
    assert {p.name for p in plots.iterdir()} >= {"thema_precision_coverage.png", "thema_confusion.png",
                                                 "toon_calibration.png"}
    assert (plots / "thema_confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_design_table_keeps_long_dimension_names_apart_from_their_figures():
    metrics = {"strategisch_operationeel": {"n": 112, "accuracy": 0.7, "macro_f1": 0.69, "kappa": 0.4, "kappa_sd": 0.1,
                                            "majority_kappa": 0.0, "keywords_kappa": 0.3, "char_tfidf_kappa": 0.29,
                                            "ece": 0.05, "coverage_at_threshold": 0.5, "precision_at_threshold": 0.8}}
    details = {"dimensions": {"strategisch_operationeel": {"designs": {"lemma/lr/1": {"kappa": 0.38}}}}}
    lines = format_metrics(metrics, details).splitlines()
    assert lines[1].split()[:3] == ["strategisch_operationeel", "112", "0.40"]
    assert [line.split() for line in lines if line.startswith("lemma/lr/1")] == [["lemma/lr/1", "0.38", "0.380"]]
    assert [line.split()[1] for line in lines if line.startswith("char-tfidf")] == ["0.29"]


def test_scores_are_scikit_learns_accuracy_macro_f1_and_kappa():
    import math
    import warnings

    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    rng = np.random.default_rng(0)
    for _ in range(300):
        values = ["a", "b", "c"][: rng.integers(1, 4)]
        truth = list(rng.choice(values, rng.integers(1, 30)))
        guess = list(rng.choice(values + ["d"], len(truth)))
        labels = sorted(set(truth)) if rng.random() < 0.7 else ["a", "b", "c", "z"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kappa = cohen_kappa_score(truth, guess) if len(set(truth) | set(guess)) > 1 else 0.0
            expected = {"accuracy": accuracy_score(truth, guess), "kappa": 0.0 if math.isnan(kappa) else kappa,
                        "macro_f1": f1_score(truth, guess, labels=labels, average="macro", zero_division=0)}
        assert scores(truth, guess, labels) == pytest.approx(expected, abs=1e-12)


def _evaluate_in_folder(folder, data_dir, workers, designs=True):
    """Run evaluate on the two-dimension fixture from a folder of its own (an empty feature cache);
    {file name: bytes} of what it wrote."""
    import shutil

    from pipeline.config import EvaluateParams, Params, TrainParams
    from pipeline.evaluate import run_evaluate

    folder.mkdir(exist_ok=True)
    shutil.copy(data_dir / "classifier_fragments.jsonl", folder / "fragments.jsonl")
    params = Params(codebook=str(data_dir / "classifier_codebook_two.yaml"), train=TrainParams(cv_folds=3),
                    evaluate=EvaluateParams(designs=("lemma+char/lr", "lemma+codebook/lr/1")))
    run_evaluate(folder / "fragments.jsonl", [data_dir / "classifier_codings_two.csv"], folder / "metrics.json",
                 params, details_path=folder / "details.json", predictions_out=folder / "oof.jsonl",
                 designs=designs, workers=workers)
    return {name: (folder / name).read_bytes() for name in ("metrics.json", "details.json", "oof.jsonl")}


def test_evaluate_on_two_processes_writes_what_one_process_writes(data_dir, tmp_path, monkeypatch):
    from pipeline import parallel
    from pipeline.parallel import Workers

    one = _evaluate_in_folder(tmp_path / "one", data_dir, None)
    used, original = [], parallel._executor
    monkeypatch.setattr(parallel, "_executor", lambda *a, **k: used.append(1) or original(*a, **k))
    two = _evaluate_in_folder(tmp_path / "two", data_dir, Workers(jobs=2, min_work=0))
    assert used, "the outer folds did not go to other processes"
    assert one == two
    details = json.loads(one["details.json"])
    assert set(details["dimensions"]["thema"]["designs"]) >= {"lemma+char/lr", "lemma+codebook/lr/1"}
    assert [p["fraction"] for p in details["dimensions"]["thema"]["learning_curve"]] == [0.25, 0.5, 0.75, 1.0]
    # the inner cross-validations the workers ran are kept in the study's cache, as one process keeps them;
    # a second run (workers reading them from the cache) writes the same files
    kept = [json.loads((tmp_path / d / ".capcode-cache" / "results.json").read_text(encoding="utf-8"))
            for d in ("one", "two")]
    assert kept[0] == kept[1] and len(kept[0]) > 10
    assert _evaluate_in_folder(tmp_path / "two", data_dir, Workers(jobs=2, min_work=0)) == one


def test_evaluate_on_a_dask_cluster_writes_what_one_process_writes(data_dir, tmp_path):
    import distributed  # the cluster extra: make install installs it (the dev extra)

    from pipeline.parallel import Workers

    one = _evaluate_in_folder(tmp_path / "one", data_dir, None, designs=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = _evaluate_in_folder(tmp_path / "dask", data_dir,
                                     Workers(backend="dask", scheduler=cluster.scheduler_address), designs=False)
    assert remote == one


def test_temperature_losses_at_once_are_those_of_temper_bit_for_bit():
    from pipeline.learn.calibrate import TEMPERATURES, temper, temper_losses

    rng = np.random.default_rng(5)
    for n_values, rows in ((2, 40), (3, 193), (5, 7)):
        proba = rng.dirichlet(np.ones(n_values), size=rows)
        proba[::6, 0] = 0.0  # clipped as temper clips
        coded = rng.integers(0, n_values, rows)
        temperatures = TEMPERATURES + (1.0,)
        expected = [-np.mean(np.log(temper(proba, t)[np.arange(rows), coded])) for t in temperatures]
        assert temper_losses(proba, coded, temperatures) == expected


def test_held_out_rows_are_weighted_once_and_scored_as_each_pipeline_scores_them(data_dir):
    from pipeline.codings import read_codings
    from pipeline.learn.blocks import FeatureStore
    from pipeline.learn.crossval import aligned_proba
    from pipeline.learn.labels import training_data
    from pipeline.learn.model import fit_pipelines
    from pipeline.learn.nested import HeldOut

    codebook = load_codebook(data_dir / "classifier_codebook_two.yaml")
    codings = read_codings([str(data_dir / "classifier_codings_two.csv")], codebook=codebook)
    item = training_data(list(read_fragments(data_dir / "classifier_fragments.jsonl")), codings, codebook)["thema"]
    spec = ModelSpec(features="tfidf+lemma+char")
    store = FeatureStore(item.fragments)
    X = store.matrix(spec.design)
    labels = np.asarray(item.labels, dtype=object)
    pipelines = fit_pipelines(spec, store.widths(spec.design), X[:30], [(labels[:30], 1.0), (labels[:30], 3.0)])
    held_out = HeldOut(X[30:])
    for pipeline in pipelines:
        np.testing.assert_array_equal(held_out.proba(pipeline, ["taal", "werk"]),
                                      aligned_proba(pipeline, X[30:], ["taal", "werk"]))
    assert len(held_out.weighted) == 1  # the two pipelines share their weighting: made once


def test_probabilities_of_several_models_from_one_product_are_each_models_own():
    """aligned_probas scores the logistic regressions of a fold in one product with the held-out
    rows; each model's probabilities are those of aligned_proba, bit for bit (a constant
    classifier of a one-value fold among them keeps its own)."""
    import scipy.sparse as sp
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    from pipeline.learn.crossval import aligned_proba, aligned_probas

    rng = np.random.default_rng(3)
    X = sp.random(60, 200, density=0.1, format="csr", random_state=3)
    two = np.where(rng.random(60) < 0.5, "ja", "nee")
    three = rng.choice(["a", "b", "c"], size=60)
    models = [LogisticRegression(C=c).fit(X, labels) for c in (0.3, 3.0) for labels in (two, three)]
    models.insert(1, DummyClassifier(strategy="most_frequent").fit(X, two))
    held_out = sp.random(15, 200, density=0.1, format="csr", random_state=4)
    for classes in (["a", "b", "c", "ja", "nee"],):
        together = aligned_probas(models, held_out, classes)
        assert len(together) == len(models)
        for model, proba in zip(models, together):
            assert np.array_equal(proba, aligned_proba(model, held_out, classes))
