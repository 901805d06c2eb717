"""Spreadsheet-safe outputs (issue 14.3), across every writer: text from transcripts, file, case
and coder names that starts like a formula is a text cell in every workbook capcode writes and
carries the apostrophe prefix in every CSV, and capcode reads the CSV back to the exact text."""

import csv
import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import Params, TrainParams
from pipeline.files import CSV_TEXT_PREFIX, FORMULA_STARTS, _PLAIN_NUMBER, read_table
from pipeline.train import run_train

PAYLOADS = ("=HYPERLINK(\"http://x\",\"klik\") ", "+1+1 ", "-2+3 ", "@SUM(A1) ", "\t=1 ")


def hostile(value: str, index: int) -> str:
    return PAYLOADS[index % len(PAYLOADS)] + value


@pytest.fixture(scope="module")
def study(tmp_path_factory, data_dir):
    """The classifier fixture with formula-like case names, respondents, texts, fragment ids and coders."""
    folder = tmp_path_factory.mktemp("hostile")
    ids = {}
    records = []
    for index, line in enumerate((data_dir / "classifier_fragments.jsonl").read_text("utf-8").splitlines()):
        record = json.loads(line)
        ids[record["id"]] = "=" + record["id"]
        record.update(id=ids[record["id"]], case=hostile(record["case"], index),
                      respondent=hostile(record["respondent"], index + 1), text=hostile(record["text"], index + 2))
        records.append(record)
    (folder / "fragments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with open(data_dir / "classifier_codings.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    coders = {"anna": "@anna", "bert": "-bert"}
    with open(folder / "codings.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            # written raw, as a tool that knows nothing of prefixes would: capcode reads it as it is
            writer.writerow({**row, "fragment_id": ids[row["fragment_id"]], "coder": coders[row["coder"]]})
    run_train(folder / "fragments.jsonl", [folder / "codings.csv"], folder / "model", Params(train=TrainParams(cv_folds=0)))
    outputs = []
    for suffix in (".xlsx", ".csv"):
        outputs += [
            ["predict", "--model", folder / "model", folder / "fragments.jsonl", "--out", folder / f"predictions{suffix}"],
            ["suggest", "--model", folder / "model", folder / "fragments.jsonl", "-n", "10",
             "--out", folder / f"suggest{suffix}"],
            ["agreement", folder / "codings.csv", "--fragments", folder / "fragments.jsonl", "--predictions",
             folder / "independent.jsonl", "--as", "=model", "--out", folder / f"agreement{suffix}"],
            ["disagreements", folder / "codings.csv", "--fragments", folder / "fragments.jsonl",
             "--out", folder / f"disagreements{suffix}"],
        ]
    outputs.insert(0, ["predict", "--model", folder / "model", folder / "fragments.jsonl",
                       "--out", folder / "predictions.jsonl"])
    outputs.append(["aggregate", "--fragments", folder / "fragments.jsonl", "--codings", folder / "codings.csv",
                    "--predictions", folder / "predictions.jsonl", "--out", folder / "aggregate"])
    for args in outputs:
        if args[0] == "agreement" and not (folder / "independent.jsonl").exists():
            # agreement refuses in-sample suggestions (the model learned these fragments); this test
            # is about formula-like text, so it scores the same suggestions marked as independent
            lines = (folder / "predictions.jsonl").read_text("utf-8").splitlines()
            independent = [{**json.loads(line), "in_training": False} for line in lines]
            (folder / "independent.jsonl").write_text("".join(json.dumps(r) + "\n" for r in independent), "utf-8")
        result = CliRunner().invoke(cli, [str(a) for a in args], obj={})
        assert result.exit_code == 0, (args[0], result.output)
    return folder


WORKBOOKS = ["predictions.xlsx", "suggest.xlsx", "agreement.xlsx", "disagreements.xlsx", "aggregate/aggregates.xlsx"]
TABLES = ["predictions.csv", "suggest.csv", "agreement.csv", "disagreements.csv", "aggregate/aggregates.csv"]


@pytest.mark.parametrize("name", WORKBOOKS)
def test_no_workbook_holds_a_formula_and_the_payloads_are_text(study, name):
    book = load_workbook(study / name)
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    payloads = [cell for cell in cells if isinstance(cell.value, str) and cell.value[:1] in FORMULA_STARTS]
    assert payloads, f"{name} has no formula-like text, so the test proves nothing"
    assert all(cell.data_type == "s" for cell in payloads)


@pytest.mark.parametrize("name", TABLES)
def test_no_csv_cell_starts_like_a_formula_and_capcode_reads_the_text_back(study, name):
    with open(study / name, encoding="utf-8", newline="") as handle:
        raw = [cell for row in csv.reader(handle) for cell in row]
    unsafe = [cell for cell in raw if cell[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(cell)]
    assert not unsafe
    prefixed = [cell for cell in raw if cell.startswith(CSV_TEXT_PREFIX)]
    if name != "aggregate/aggregates.csv":  # case names: the aggregate's csv has them too
        assert prefixed, f"{name} has no prefixed cell, so the test proves nothing"
    header, rows = read_table(study / name)
    values = set(header) | {v for row in rows for k, v in row.items() if k != "row"}
    assert {cell[len(CSV_TEXT_PREFIX):] for cell in prefixed} <= {str(v) for v in values}


def test_csv_of_predictions_reads_back_exactly(study):
    header, rows = read_table(study / "predictions.csv")
    fragments = [json.loads(line) for line in (study / "fragments.jsonl").read_text("utf-8").splitlines()]
    assert [r["fragment_id"] for r in rows] == [f["id"] for f in fragments]
    assert [r["case"] for r in rows] == [f["case"] for f in fragments]
    assert [r["respondent"] for r in rows] == [f["respondent"] for f in fragments]
    assert [r["text"] for r in rows] == [f["text"] for f in fragments]


def test_csv_of_disagreements_keeps_coder_names(study):
    header, _ = read_table(study / "disagreements.csv")
    assert "@anna" in header and "-bert" in header
    with open(study / "disagreements.csv", encoding="utf-8", newline="") as handle:
        assert {"'@anna", "'-bert"} <= set(next(csv.reader(handle)))


def test_agreement_workbook_keeps_proportions_as_numbers_with_a_percent_format(study):
    book = load_workbook(study / "agreement.xlsx")
    figures = book["figures"]
    header = [c.value for c in figures[1]]
    cells = [figures.cell(row=r, column=header.index("percent_agreement") + 1) for r in range(2, figures.max_row + 1)]
    assert cells and all(c.data_type == "n" and c.number_format == "0.0%" for c in cells)
    alpha = figures.cell(row=2, column=header.index("krippendorff_alpha") + 1)
    assert alpha.data_type == "n" and alpha.number_format == "General"  # a coefficient, not a share
