"""Predictions as spreadsheets researchers can use (issue 11.5): one row per fragment, with its text;
probabilities as numbers (a percent format in a workbook); read back by every stage."""

import csv

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import Params, TrainParams
from pipeline.errors import InputError
from pipeline.files import read_fragments, read_table
from pipeline.prediction_tables import read_predictions
from pipeline.prediction_tables import table_header, write_prediction_file
from pipeline.predict import run_predict
from pipeline.records import Fragment, Prediction
from pipeline.train import run_train

PARAMS = Params(train=TrainParams(cv_folds=0))
DIMENSIONS = ["relevant", "strategisch_operationeel", "intern_extern", "beleid_beheer", "impact"]


@pytest.fixture(scope="module")
def predicted(tmp_path_factory, data_dir):
    """A model trained on the classifier fixture and its predictions in all three forms."""
    folder = tmp_path_factory.mktemp("predicted")
    fragments = data_dir / "classifier_fragments.jsonl"
    run_train(fragments, [data_dir / "classifier_codings.csv"], folder / "model", PARAMS)
    counts = {suffix: run_predict(folder / "model", fragments, folder / f"p{suffix}", PARAMS)
              for suffix in (".jsonl", ".csv", ".xlsx")}
    return folder, fragments, counts


def test_tables_have_one_row_per_fragment_with_its_text(predicted):
    folder, fragments_path, counts = predicted
    fragments = list(read_fragments(fragments_path))
    assert counts[".csv"] == counts[".xlsx"] == counts[".jsonl"] > len(fragments)
    for suffix in (".csv", ".xlsx"):
        header, rows = read_table(folder / f"p{suffix}")
        assert header == table_header(DIMENSIONS)
        assert header[:5] == ["case", "respondent", "source", "fragment_id", "text"]
        assert [r["fragment_id"] for r in rows] == [f.id for f in fragments]
        assert [r["text"] for r in rows] == [f.text.strip() for f in fragments]
        assert {r["model"] for r in rows} == {"model"}


def test_tables_read_back_as_the_jsonl_predictions_without_runner_up(predicted):
    folder, _, _ = predicted
    expected = sorted((p.fragment_id, p.dimension, p.value, p.probability, p.abstained, p.model)
                      for p in read_predictions(folder / "p.jsonl"))
    for suffix in (".csv", ".xlsx"):
        got = sorted((p.fragment_id, p.dimension, p.value, p.probability, p.abstained, p.model)
                     for p in read_predictions(folder / f"p{suffix}"))
        assert got == expected


def test_workbook_probabilities_are_numbers_with_a_percent_format(predicted):
    folder, _, _ = predicted
    sheet = load_workbook(folder / "p.xlsx")["predictions"]
    header = [c.value for c in sheet[1]]
    column = header.index("relevant_probability") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert cells and all(c.data_type == "n" and c.number_format == "0%" and 0 <= c.value <= 1 for c in cells)
    flags = [sheet.cell(row=r, column=header.index("relevant_abstained") + 1) for r in range(2, sheet.max_row + 1)]
    assert {c.data_type for c in flags} == {"b"}
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")


def test_csv_probabilities_are_plain_numbers(predicted):
    folder, _, _ = predicted
    with open(folder / "p.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(0.0 <= float(r["relevant_probability"]) <= 1.0 for r in rows)
    assert {r["relevant_abstained"] for r in rows} <= {"True", "False"}


def test_dimensions_that_do_not_apply_are_left_empty(predicted):
    folder, _, _ = predicted
    rows = read_table(folder / "p.xlsx")[1]
    not_relevant = [r for r in rows if r["relevant"] == "nee"]
    assert not_relevant
    assert all(r["impact"] == "" and r["impact_probability"] == "" for r in not_relevant)


def test_aggregate_reads_the_workbook_as_it_reads_the_jsonl(predicted, tmp_path):
    folder, fragments, _ = predicted
    runs = {}
    for suffix in (".jsonl", ".xlsx"):
        result = CliRunner().invoke(cli, ["aggregate", "--fragments", str(fragments), "--predictions",
                                          str(folder / f"p{suffix}"), "--out", str(tmp_path / suffix)], obj={})
        assert result.exit_code == 0, result.output
        runs[suffix] = result.stdout
    assert runs[".jsonl"] == runs[".xlsx"]


def test_formula_text_in_a_fragment_is_safe_in_both_tables(tmp_path):
    fragment = Fragment("=cmd.txt#0-6", "=cmd.txt", "+case", "@r1", "onbekend", "R", 0, 0, 6, "=1+1 x")
    predictions = [Prediction(fragment.id, "relevant", "ja", 0.9, "nee", 0.1, False, "-m")]
    for suffix in (".csv", ".xlsx"):
        write_prediction_file(tmp_path / f"p{suffix}", predictions, [fragment], ["relevant"])
        row = read_table(tmp_path / f"p{suffix}")[1][0]
        assert (row["case"], row["respondent"], row["source"], row["text"]) == ("+case", "@r1", "=cmd.txt", "=1+1 x")
    assert "'=1+1 x" in (tmp_path / "p.csv").read_text(encoding="utf-8")
    sheet = load_workbook(tmp_path / "p.xlsx").active
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_a_prediction_for_a_fragment_not_given_is_refused(tmp_path):
    fragment = Fragment("a.txt#0-4", "a.txt", "c", "r", "onbekend", "R", 0, 0, 4, "Goed")
    with pytest.raises(InputError, match="prediction for fragment 'b.txt#0-4', which is not in the fragments file"):
        write_prediction_file(tmp_path / "p.csv", [Prediction("b.txt#0-4", "relevant", "ja", 0.9)], [fragment])
    assert not (tmp_path / "p.csv").exists()


def test_a_wide_table_with_a_suggestion_but_no_probability_is_named(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("fragment_id,relevant,relevant_probability,relevant_abstained\na.txt#0-4,ja,,False\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"p\.csv, line 2, column 'relevant_probability': empty beside"):
        read_predictions(path)
