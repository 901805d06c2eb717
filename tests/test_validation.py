"""One validation for all stages (issue 11.4): every stage that reads codings refuses exactly what
`capcode codings check` refuses, with its message, as one `Error:` line, exit 1 and no output;
predictions of another codebook are refused; several coding files and several manifests work."""

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import InputError
from pipeline.validation import read_checked_codings, summary_line

FRAGMENTS = "aggregate_fragments.jsonl"
KNOWN = "case1/r1.txt#0-75"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], obj={})


@pytest.fixture
def unknown_ids(tmp_path):
    """Five coded fragments, four of which are not in the fragments file."""
    path = tmp_path / "team.csv"
    rows = [f"{KNOWN},anna,nee"] + [f"elders.txt#{i}-{i + 5},anna,ja" for i in range(0, 40, 10)]
    path.write_text("fragment_id,coder,relevant\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def misspelt(tmp_path, data_dir):
    """The sample codings with the column strategisch_operationeel misspelt as 'strat_oper'."""
    text = (data_dir / "aggregate_codings.csv").read_text(encoding="utf-8")
    path = tmp_path / "misspelt.csv"
    path.write_text(text.replace("strategisch_operationeel", "strat_oper", 1), encoding="utf-8")
    return path


def stage_commands(codings, fragments, tmp_path):
    """Every stage that takes codings, each with its output inside tmp_path/'out'."""
    out = tmp_path / "out"
    return {
        "train": ["train", "--fragments", fragments, "--codings", codings, "--out", out / "model"],
        "evaluate": ["evaluate", "--fragments", fragments, "--codings", codings, "--out", out / "metrics.json",
                     "--no-designs", "--no-learning-curve"],
        "aggregate": ["aggregate", "--fragments", fragments, "--codings", codings, "--out", out / "agg"],
        "agreement": ["agreement", codings, "--codebook", "default", "--fragments", fragments,
                      "--out", out / "agreement.json"],
        "disagreements": ["disagreements", codings, "--codebook", "default", "--fragments", fragments,
                          "--out", out / "meeting.xlsx"],
        "export-qdpx": ["export-qdpx", "--fragments", fragments, "--codings", codings, "--out", out / "p.qdpx"],
    }


def first_problem(check_output: str) -> str:
    """The first problem `codings check` reports: its error list, or the one-problem refusal of its reader."""
    lines = check_output.splitlines()
    if "errors (" in check_output:
        start = next(i for i, line in enumerate(lines) if line.startswith("errors ("))
        return lines[start + 1].strip()
    return lines[1].strip()


@pytest.mark.parametrize("case", ["unknown_ids", "misspelt"])
@pytest.mark.parametrize("stage", ["train", "evaluate", "aggregate", "agreement", "disagreements", "export-qdpx"])
def test_every_stage_refuses_what_codings_check_refuses_with_its_message(request, data_dir, tmp_path, case, stage):
    codings = request.getfixturevalue(case)
    fragments = data_dir / FRAGMENTS
    check = invoke("codings", "check", codings, "--fragments", fragments)
    assert check.exit_code == 1
    message = first_problem(check.output)
    result = invoke(*stage_commands(codings, fragments, tmp_path)[stage])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0] == lines[-1]
    assert message in errors[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_four_of_five_unknown_ids_are_counted_in_one_line(unknown_ids, data_dir, tmp_path):
    result = invoke("train", "--fragments", data_dir / FRAGMENTS, "--codings", unknown_ids, "--out", tmp_path / "m")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {unknown_ids}: 4 of 5 coded fragments are not in the fragments file "
                                    "('elders.txt#0-5', 'elders.txt#10-15', 'elders.txt#20-25', 'elders.txt#30-35')")
    assert not (tmp_path / "m").exists()


def test_a_misspelt_dimension_column_is_named_with_the_dimension_it_stands_for(misspelt, data_dir, tmp_path):
    result = invoke("aggregate", "--fragments", data_dir / FRAGMENTS, "--codings", misspelt, "--out", tmp_path / "a")
    assert result.exit_code == 1
    assert result.output == (f"Error: {misspelt}, column 'strat_oper': not a dimension of codebook "
                             "'capaciteit-regierol'; did you mean 'strategisch_operationeel'? Rename the column.\n")


def test_a_column_unlike_any_missing_dimension_is_still_only_ignored(tmp_path, data_dir, caplog):
    path = tmp_path / "notes.csv"
    path.write_text(f"fragment_id,coder,relevant,remarks_anna\n{KNOWN},anna,ja,goed\n", encoding="utf-8")
    codings = read_checked_codings([path], "default", data_dir / FRAGMENTS)
    assert [(c.dimension, c.value) for c in codings] == [("relevant", "ja")]
    assert "remarks_anna are not dimensions" in caplog.text


def test_several_problems_become_one_line_with_their_count(tmp_path, data_dir):
    path = tmp_path / "bad.csv"
    path.write_text(f"fragment_id,coder,relevant,impact\n{KNOWN},anna,misschien,slecht\n", encoding="utf-8")
    with pytest.raises(Exception) as raised:
        read_checked_codings([path], "default", data_dir / FRAGMENTS)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}, row 2, column 'relevant': 'misschien' is not a value of 'relevant'")
    assert message.endswith("(and 1 more problem; 'capcode codings check' lists them all)")
    assert summary_line(["a", "b", "c"]) == "a (and 2 more problems; 'capcode codings check' lists them all)"


def test_conflicting_codes_are_refused_as_codings_check_refuses_them(tmp_path, data_dir):
    path = tmp_path / "twice.csv"
    path.write_text(f"fragment_id,coder,relevant\n{KNOWN},anna,ja\n{KNOWN},anna,nee\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"coder 'anna' coded 'relevant' 2 times \(ja, nee\); keep one value"):
        read_checked_codings([path], "default", data_dir / FRAGMENTS)


# ---- predictions -----------------------------------------------------------------------------


def test_aggregate_refuses_predictions_of_another_codebook(tmp_path, data_dir):
    other = tmp_path / "thema_predictions.jsonl"
    records = [{"fragment_id": KNOWN, "dimension": "thema", "value": "werk", "probability": 0.8, "abstained": False,
                "model": "thema"}]
    other.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = invoke("aggregate", "--fragments", data_dir / FRAGMENTS, "--predictions", other, "--out", tmp_path / "a")
    assert result.exit_code == 1
    assert result.output == (f"Error: {other}: dimension thema is not in codebook 'capaciteit-regierol' (relevant, "
                             "strategisch_operationeel, intern_extern, beleid_beheer, impact); the predictions were "
                             "made with a model of another codebook; give that codebook (--codebook) or predict "
                             "again with a model trained on this one.\n")
    assert not (tmp_path / "a").exists()


def test_aggregate_refuses_a_value_the_codebook_does_not_have(tmp_path, data_dir):
    other = tmp_path / "p.jsonl"
    other.write_text(json.dumps({"fragment_id": KNOWN, "dimension": "relevant", "value": "wellicht",
                                 "probability": 0.8}) + "\n", encoding="utf-8")
    result = invoke("aggregate", "--fragments", data_dir / FRAGMENTS, "--predictions", other, "--out", tmp_path / "a")
    assert result.exit_code == 1
    assert f"{other}, fragment '{KNOWN}': 'wellicht' is not a value of 'relevant'" in result.output
    assert len(result.output.strip().splitlines()) == 1


# ---- several files -----------------------------------------------------------------------------


def _split_codings(data_dir, tmp_path):
    lines = (data_dir / "aggregate_codings.csv").read_text(encoding="utf-8").splitlines()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    second.write_text("\n".join(lines[:1] + lines[4:]) + "\n", encoding="utf-8")
    return first, second


def test_aggregate_takes_several_codings_files_after_one_option(tmp_path, data_dir):
    first, second = _split_codings(data_dir, tmp_path)
    together = invoke("aggregate", "--fragments", data_dir / FRAGMENTS, "--codings", data_dir / "aggregate_codings.csv",
                      "--out", tmp_path / "one")
    split = invoke("aggregate", "--fragments", data_dir / FRAGMENTS, "--codings", first, second,
                   "--out", tmp_path / "two")
    assert together.exit_code == 0 and split.exit_code == 0, split.output
    assert split.stdout == together.stdout
    repeated = invoke("aggregate", "--fragments", data_dir / FRAGMENTS, "--codings", first, "--codings", second,
                      "--out", tmp_path / "three")
    assert repeated.stdout == together.stdout


def test_export_qdpx_takes_several_codings_files(tmp_path, data_dir):
    first, second = _split_codings(data_dir, tmp_path)
    result = invoke("export-qdpx", "--fragments", data_dir / FRAGMENTS, "--codings", first, second,
                    "--out", tmp_path / "p.qdpx")
    assert result.exit_code == 0, result.output
    assert "anna (" in result.output


def test_files_without_codings_option_are_a_usage_error(tmp_path, data_dir):
    first, second = _split_codings(data_dir, tmp_path)
    result = invoke("aggregate", "--fragments", data_dir / FRAGMENTS, "--out", tmp_path / "a", first)
    assert result.exit_code == 2 and "name coding files after --codings" in result.output


# ---- several manifests ---------------------------------------------------------------------------


@pytest.fixture
def two_studies(tmp_path):
    for study, case in (("noord", "Gent"), ("zuid", "Brugge")):
        folder = tmp_path / study
        folder.mkdir()
        (folder / f"{study}_r1.txt").write_text(
            "I: Hoe verloopt de samenwerking met de partners?\n\n"
            "R: We overleggen elke maand met de partners over het integratiebeleid en de planning.\n",
            encoding="utf-8")
        (folder / "manifest.csv").write_text(f"source,case,respondent,role\n{study}_r1.txt,{case},R1,extern\n",
                                             encoding="utf-8")
    return tmp_path


def test_two_manifests_combine_two_studies(two_studies, tmp_path):
    out = tmp_path / "fragments.jsonl"
    result = invoke("segment", two_studies / "noord", two_studies / "zuid", "--manifest",
                    two_studies / "noord" / "manifest.csv", "--manifest", two_studies / "zuid" / "manifest.csv",
                    "--out", out)
    assert result.exit_code == 0, result.output
    cases = {json.loads(line)["source"]: json.loads(line)["case"] for line in out.read_text("utf-8").splitlines()}
    assert cases == {"noord_r1.txt": "Gent", "zuid_r1.txt": "Brugge"}


def test_two_manifests_that_disagree_about_a_transcript_are_refused(two_studies, tmp_path):
    clash = two_studies / "clash.csv"
    clash.write_text("source,case,respondent,role\nnoord_r1.txt,Antwerpen,R1,extern\n", encoding="utf-8")
    out = tmp_path / "fragments.jsonl"
    result = invoke("segment", two_studies / "noord", "--manifest", two_studies / "noord" / "manifest.csv",
                    "--manifest", clash, "--out", out)
    assert result.exit_code == 1
    assert result.output == (f"Error: {two_studies / 'noord' / 'manifest.csv'}, row 2 and {clash}, row 2: disagree "
                             "about transcript 'noord_r1.txt' (Gent/respondent1/extern against "
                             "Antwerpen/respondent1/extern); keep one row for it, or make the rows agree.\n")
    assert not out.exists()


def test_the_same_row_in_two_manifests_is_fine(two_studies, tmp_path):
    same = two_studies / "same.csv"
    same.write_text("source,case,respondent,role\nnoord_r1.txt,Gent,R1,extern\n", encoding="utf-8")
    result = invoke("segment", two_studies / "noord", "--manifest", two_studies / "noord" / "manifest.csv",
                    "--manifest", same, "--out", tmp_path / "f.jsonl")
    assert result.exit_code == 0, result.output


def test_suggest_skips_the_fragments_of_several_codings_files(tmp_path, data_dir):
    from pipeline.config import Params, TrainParams
    from pipeline.files import read_table
    from pipeline.train import run_train

    fragments = data_dir / "classifier_fragments.jsonl"
    run_train(fragments, [data_dir / "classifier_codings.csv"], tmp_path / "m", Params(train=TrainParams(cv_folds=0)))
    lines = (data_dir / "classifier_codings.csv").read_text(encoding="utf-8").splitlines()
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    second.write_text("\n".join(lines[:1] + lines[3:5]) + "\n", encoding="utf-8")
    coded = {line.split(",")[0] for line in lines[1:5]}
    result = invoke("suggest", "--model", tmp_path / "m", fragments, "-n", "100", "--codings", first, second,
                    "--out", tmp_path / "next.csv")
    assert result.exit_code == 0, result.output
    listed = {row["fragment_id"] for row in read_table(tmp_path / "next.csv")[1]}
    assert listed and not listed & coded
    wrong_order = invoke("suggest", "--model", tmp_path / "m", "--codings", first, second, fragments)
    assert wrong_order.exit_code == 2 and "give FRAGMENTS before --codings" in wrong_order.output
