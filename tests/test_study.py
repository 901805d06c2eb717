"""A study of one's own: `capcode init`, the coding sheet, waiting for codes, and `dvc repro` end to end."""

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.codebook import load_codebook
from pipeline.config import Params, load_params
from pipeline.files import read_table, write_table
from pipeline.records import Fragment
from pipeline.study import (PARAM_NOTES, aggregate_for, existing_codes, has_codes, params_yaml, study_params,
                            write_coding_sheet, write_placeholder)

DIMENSIONS = ["relevant", "strategisch_operationeel", "intern_extern", "beleid_beheer", "impact"]


def invoke(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def study(tmp_path, data_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("init", tmp_path / "mystudy", "--transcripts", data_dir / "own_study")
    assert result.exit_code == 0, result.output
    return tmp_path / "mystudy", result


# ---- capcode init ---------------------------------------------------------------------------


def test_init_makes_a_study_folder_with_everything_a_study_needs(study):
    folder, result = study
    assert sorted(p.name for p in folder.iterdir()) == [
        ".dvc", ".dvcignore", "README.md", "codebook.yaml", "codings", "dvc.yaml", "manifest.csv", "params.yaml",
        "transcripts"]
    assert sorted(p.name for p in (folder / "transcripts").iterdir()) == ["c7-r1.txt", "c7-r2.vtt", "c8-r1.srt",
                                                                          "c8-r2.txt"]
    assert read_csv(folder / "manifest.csv") == [
        {"source": "c7-r1.txt", "case": "case7", "respondent": "respondent1", "role": "onbekend",
         "interviewer": "Sofie Claes"},
        {"source": "c7-r2.vtt", "case": "case7", "respondent": "respondent2", "role": "onbekend",
         "interviewer": "Els Janssens"},
        {"source": "c8-r1.srt", "case": "case8", "respondent": "respondent1", "role": "onbekend",
         "interviewer": "SPEAKER_00"},
        {"source": "c8-r2.txt", "case": "case8", "respondent": "respondent2", "role": "onbekend", "interviewer": "I"},
    ]
    assert (folder / "codebook.yaml").read_text(encoding="utf-8") == \
        (Path(__file__).parent.parent / "pipeline" / "codebooks" / "default.yaml").read_text(encoding="utf-8")
    header, rows = read_table(folder / "codings" / "team.xlsx")
    assert header == ["fragment_id", "case", "respondent", "context", "text"] + DIMENSIONS and rows == []
    config = (folder / ".dvc" / "config").read_text(encoding="utf-8")
    assert "no_scm = true" in config and "analytics = false" in config and "check_update = false" in config
    # the terminal: who interviews, then what to do next
    assert "capcode: c7-r1.txt: interviewer Sofie Claes (7 of 8 turns are questions" in result.stderr
    assert result.stdout.startswith(f"Made the study folder {folder}/: 4 transcript(s)")
    assert f"  cd {folder}\n  dvc repro" in result.stdout


def test_the_study_params_file_comments_every_setting_and_reads_back_as_the_defaults(study):
    folder, _ = study
    text = (folder / "params.yaml").read_text(encoding="utf-8")
    params = load_params(folder / "params.yaml")
    assert params == dataclasses.replace(Params(), codebook="codebook.yaml")
    settings = [line for line in text.splitlines() if re.match(r"^\s*\w+: \S", line)]
    assert len(settings) == len(PARAM_NOTES)
    assert all(" # " in line for line in settings), [line for line in settings if " # " not in line]


def test_every_setting_capcode_knows_has_a_note_for_the_study_params_file():
    keys = []
    for spec in dataclasses.fields(Params):
        value = getattr(Params(), spec.name)
        if dataclasses.is_dataclass(value):
            keys += [f"{spec.name}.{sub.name}" for sub in dataclasses.fields(value)]
        else:
            keys.append(spec.name)
    missing = [key for key in keys if key not in PARAM_NOTES]
    assert not missing, f"add a note for these settings to pipeline/study.py PARAM_NOTES: {missing}"
    assert sorted(PARAM_NOTES) == sorted(keys), "PARAM_NOTES has notes for settings that no longer exist"


def test_the_study_pipeline_stays_inside_the_folder_and_names_only_existing_settings(study):
    folder, _ = study
    spec = yaml.safe_load((folder / "dvc.yaml").read_text(encoding="utf-8"))
    paths = list(spec["vars"][0]["study"].values())
    for stage in spec["stages"].values():
        for dep in stage.get("deps", []):
            paths.append(dep)
            assert not str(dep).startswith("pipeline/"), "a study must not depend on capcode's source files"
    assert all(not Path(p).is_absolute() and ".." not in Path(p).parts for p in paths)
    known = yaml.safe_load((folder / "params.yaml").read_text(encoding="utf-8"))
    for name, stage in spec["stages"].items():
        for key in stage.get("params", []):
            node = known
            for part in key.split("."):
                assert part in node, f"{name}: {key} is not in the study's params.yaml"
                node = node[part]
    commands = [stage["cmd"] for stage in spec["stages"].values()]
    assert all(c.split()[0] == "capcode" and c.split()[1] in cli.commands for c in commands)


def test_init_with_another_codebook_names_its_dimensions_for_the_aggregate(tmp_path, data_dir):
    result = invoke("init", tmp_path / "p", "--transcripts", data_dir / "own_study" / "c8-r2.txt",
                    "--codebook", "propper")
    assert result.exit_code == 0, result.output
    params = load_params(tmp_path / "p" / "params.yaml")
    assert (params.aggregate.relevance, params.aggregate.niveau, params.aggregate.locus, params.aggregate.domein,
            params.aggregate.impact) == ("relevant", "regiecomponent", "type_regisseur", "", "")
    assert aggregate_for(load_codebook("default")) == Params().aggregate


def test_init_without_transcripts_makes_an_empty_study_and_says_to_add_them(tmp_path):
    result = invoke("init", tmp_path / "empty")
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "empty" / "transcripts").iterdir()) == []
    assert read_csv(tmp_path / "empty" / "manifest.csv") == []
    assert f"First put the transcripts in {tmp_path / 'empty'}/transcripts/" in result.stdout


def test_init_leaves_an_unsure_interviewer_for_the_researcher(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "case1_r1.txt").write_text(
        "Spreker 1: Ik denk dat het goed gaat.\nSpreker 2: Dat vind ik ook.\n"
        "Spreker 1: We zouden vaker moeten overleggen.\nSpreker 2: Zeker met de scholen.\n", encoding="utf-8")
    (tmp_path / "in" / "interview gent.txt").write_text("I: Hoe gaat het?\nR: Goed.\n", encoding="utf-8")
    result = invoke("init", tmp_path / "s", "--transcripts", tmp_path / "in")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "s" / "manifest.csv")
    assert [(r["case"], r["respondent"], r["interviewer"]) for r in rows] == [
        ("case1", "respondent1", ""), ("onbekend", "onbekend", "I")]
    assert "capcode: warning: case1_r1.txt: not sure who the interviewer is" in result.stderr
    assert "Name the interviewer in manifest.csv (column interviewer) for: case1_r1.txt." in result.stdout
    assert "Fill in case and respondent in manifest.csv for 1 transcript(s)" in result.stdout


def bad_init_cases(tmp_path, data_dir):
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine", encoding="utf-8")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.txt").write_text("I: Vraag?\nR: Antwoord.\n", encoding="utf-8")
    (broken / "b.docx").write_bytes(b"not a zip")
    return [
        (["init", full], f"Error: {full}: already exists and is not an empty folder; give a new folder name "
                         "(capcode init never writes into an existing study)."),
        (["init", tmp_path / "s", "--transcripts", tmp_path / "nope"], f"Error: {tmp_path / 'nope'}: no such file or folder."),
        (["init", tmp_path / "s", "--codebook", "nosuch"], "Error: codebook 'nosuch': no such file and not a shipped "
                                                           "codebook (shipped: default, propper); give a path to a .yaml file."),
        (["init", tmp_path / "s", "--transcripts", broken], f"Error: {broken / 'b.docx'}"),
    ]


def test_bad_input_to_init_is_one_error_line_and_leaves_nothing_behind(tmp_path, data_dir):
    for args, message in bad_init_cases(tmp_path, data_dir):
        before = sorted(p.name for p in tmp_path.iterdir())
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.splitlines()[-1].startswith(message), result.stderr
        assert "Traceback" not in result.output
        assert sorted(p.name for p in tmp_path.iterdir()) == before   # no study, no temporary folder
    assert (tmp_path / "full" / "notes.txt").read_text(encoding="utf-8") == "mine"


# ---- the coding sheet -----------------------------------------------------------------------------


def fragment(number, source="c1-r1.txt"):
    return Fragment(id=f"{source}#{number * 10}-{number * 10 + 5}", source=source, case="case1",
                    respondent="respondent1", role="onbekend", speaker="R", turn=number, start_char=number * 10,
                    end_char=number * 10 + 5, text=f"Antwoord {number}.", context=f"Vraag {number}?", n_words=2)


def test_the_coding_sheet_has_a_row_per_fragment_pick_lists_and_the_codebook(tmp_path):
    from openpyxl import load_workbook

    codebook = load_codebook("default")
    fragments = [fragment(1), fragment(2), fragment(3)]
    counts = write_coding_sheet(fragments, codebook, tmp_path / "sheet.xlsx",
                                codes={fragments[1].id: {"relevant": "ja", "impact": "negatief"},
                                       "gone.txt#0-5": {"relevant": "nee"}})
    assert counts == {"fragments": 3, "coded": 1, "dropped": 1}
    header, rows = read_table(tmp_path / "sheet.xlsx")
    assert header == ["fragment_id", "case", "respondent", "context", "text"] + DIMENSIONS
    assert [(r["fragment_id"], r["context"], r["text"], r["relevant"], r["impact"]) for r in rows] == [
        ("c1-r1.txt#10-15", "Vraag 1?", "Antwoord 1.", "", ""),
        ("c1-r1.txt#20-25", "Vraag 2?", "Antwoord 2.", "ja", "negatief"),
        ("c1-r1.txt#30-35", "Vraag 3?", "Antwoord 3.", "", "")]
    book = load_workbook(tmp_path / "sheet.xlsx")
    assert book.sheetnames == ["fragmenten", "codeboek"]
    rules = {str(rule.sqref): rule.formula1 for rule in book["fragmenten"].data_validations.dataValidation}
    assert rules["F2:F4"] == '"ja,nee"' and rules["J2:J4"] == '"positief,negatief,neutraal"'
    codebook_rows = list(book["codeboek"].iter_rows(values_only=True))
    assert codebook_rows[0] == ("dimensie", "waarde", "label", "omschrijving", "alleen als")
    assert ("impact", "negatief") in {row[:2] for row in codebook_rows}


def test_the_saved_sheet_is_a_codings_file_train_can_read(tmp_path):
    from pipeline.codings import read_codings

    codebook = load_codebook("default")
    fragments = [fragment(1), fragment(2)]
    write_coding_sheet(fragments, codebook, tmp_path / "team.xlsx",
                       codes={fragments[0].id: {"relevant": "ja", "strategisch_operationeel": "strategisch"}})
    codings = read_codings([tmp_path / "team.xlsx"], codebook=codebook)
    assert [(c.fragment_id, c.coder, c.dimension, c.value) for c in codings] == [
        (fragments[0].id, "team", "relevant", "ja"), (fragments[0].id, "team", "strategisch_operationeel", "strategisch")]


@pytest.mark.parametrize("header, rows, expected", [
    (["fragment_id", "coder", "relevant"], [["a.txt#0-5", "els", "ja"], ["a.txt#6-9", "els", ""]],
     {"a.txt#0-5": {"relevant": "ja"}}),
    (["fragment_id", "coder", "dimension", "value"], [["a.txt#0-5", "els", "Relevant", "nee"]],
     {"a.txt#0-5": {"relevant": "nee"}}),
    (["source", "start_char", "end_char", "relevant", "impact"], [["a.txt", "0", "5", "ja", "positief"]],
     {"a.txt#0-5": {"relevant": "ja", "impact": "positief"}}),
])
def test_codes_already_given_are_found_in_every_form(tmp_path, header, rows, expected):
    write_table(tmp_path / "c.csv", header, rows)
    assert existing_codes(tmp_path / "c.csv", load_codebook("default")) == expected


def test_coding_sheet_command_keeps_the_codes_and_warns_about_codes_of_vanished_fragments(tmp_path):
    fragments = tmp_path / "fragments.jsonl"
    fragments.write_text("".join(json.dumps(fragment(n).to_dict()) + "\n" for n in (1, 2)), encoding="utf-8")
    write_table(tmp_path / "team.csv", ["fragment_id", "relevant"], [["c1-r1.txt#10-15", "ja"], ["old.txt#1-2", "nee"]])
    result = invoke("coding-sheet", "--fragments", fragments, "--codings", tmp_path / "team.csv",
                    "--codebook", "default", "--out", tmp_path / "sheet.csv")
    assert result.exit_code == 0, result.output
    assert [r["relevant"] for r in read_csv(tmp_path / "sheet.csv")] == ["ja", ""]
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"capcode: warning: {tmp_path / 'team.csv'}: 1 coded fragment(s) are no longer "
                               "among the fragments")
    assert lines[1] == (f"capcode: wrote {tmp_path / 'sheet.csv'}: 2 fragments, 1 with codes; code it and save it "
                        f"as {tmp_path / 'team.csv'}, then dvc repro.")


# ---- waiting for codes --------------------------------------------------------------------------------


def test_a_codings_file_has_codes_only_when_a_code_cell_is_filled(tmp_path):
    codebook = load_codebook("default")
    write_coding_sheet([fragment(1)], codebook, tmp_path / "empty.xlsx")
    assert not has_codes(tmp_path / "empty.xlsx", codebook)
    assert not has_codes(tmp_path / "absent.xlsx", codebook)
    write_table(tmp_path / "misspelt.csv", ["fragment_id", "relevnt"], [["a#0-1", "ja"]])
    assert has_codes(tmp_path / "misspelt.csv", codebook)   # train will say what is wrong; no silent skipping
    write_coding_sheet([fragment(1)], codebook, tmp_path / "one.xlsx", codes={fragment(1).id: {"impact": "neutraal"}})
    assert has_codes(tmp_path / "one.xlsx", codebook)


def test_placeholders_of_every_kind(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.skops").write_bytes(b"old")
    for name in ("model", "p.jsonl", "m.json", "t.yaml", "sheet.xlsx"):
        write_placeholder(tmp_path / name, "codings/team.xlsx")
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["WAITING-FOR-CODES.txt"]
    assert json.loads((tmp_path / "p.jsonl").read_text(encoding="utf-8")) == {
        "placeholder": "waiting for codes in codings/team.xlsx"}
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8")) == {}
    assert yaml.safe_load((tmp_path / "t.yaml").read_text(encoding="utf-8")) == {}
    assert (tmp_path / "sheet.xlsx").read_bytes() == b""


def test_if_coded_runs_the_command_only_when_there_are_codes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    codebook = load_codebook("default")
    write_coding_sheet([fragment(1)], codebook, tmp_path / "team.xlsx")
    script = "import sys; open('ran.txt', 'w').write('ran'); sys.exit(int(sys.argv[1]))"
    command = ["if-coded", "team.xlsx", "--outs", "out/model", "--codebook", "default", "--",
               sys.executable, "-c", script]
    waiting = invoke(*command, "0")
    assert waiting.exit_code == 0, waiting.output
    assert not (tmp_path / "ran.txt").exists() and (tmp_path / "out" / "model" / "WAITING-FOR-CODES.txt").exists()
    assert waiting.stderr.startswith("capcode: '") and "waits for codes: team.xlsx holds none yet" in waiting.stderr
    write_coding_sheet([fragment(1)], codebook, tmp_path / "team.xlsx", codes={fragment(1).id: {"relevant": "ja"}})
    coded = invoke(*command, "3")
    assert (tmp_path / "ran.txt").read_text() == "ran" and coded.exit_code == 3   # its exit code passes through


# ---- end to end: a new study with DVC, before and after codes ------------------------------------------------


def code_the_sheet(sheet, target):
    """What a researcher does: fill in the coding sheet and save it as the study's codings file."""
    from openpyxl import load_workbook

    book = load_workbook(sheet)
    rows = book["fragmenten"]
    header = [cell.value for cell in rows[1]]
    options = {"strategisch_operationeel": ["strategisch", "operationeel"], "intern_extern": ["intern", "extern"],
               "beleid_beheer": ["beleid", "beheer"], "impact": ["positief", "negatief", "neutraal"]}
    for number, row in enumerate(rows.iter_rows(min_row=2)):
        cells = dict(zip(header, row))
        cells["relevant"].value = "nee" if number % 4 == 3 else "ja"
        if cells["relevant"].value == "ja":
            for shift, (dimension, values) in enumerate(options.items()):
                cells[dimension].value = values[(number + shift) % len(values)]
    book.save(target)


def dvc_repro(folder):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(["dvc", "repro"], cwd=folder, env=env, capture_output=True, text=True)


def test_a_new_study_runs_with_dvc_repro_before_and_after_codes(study):
    folder, _ = study
    first = dvc_repro(folder)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "capcode: c7-r1.txt: interviewer Sofie Claes (as the manifest says;" in first.stderr
    assert "capcode: wrote out/coding-sheet.xlsx: 25 fragments, 0 with codes; code it and save it as " \
           "codings/team.xlsx, then dvc repro." in first.stderr
    for stage in ("train", "predict", "evaluate", "aggregate"):
        assert f"capcode: 'capcode {stage}' waits for codes: codings/team.xlsx holds none yet" in first.stderr
    assert "ERROR" not in first.stdout + first.stderr
    assert (folder / "model" / "WAITING-FOR-CODES.txt").exists()

    code_the_sheet(folder / "out" / "coding-sheet.xlsx", folder / "codings" / "team.xlsx")
    params = (folder / "params.yaml").read_text(encoding="utf-8")   # a quicker evaluation, as a researcher may set
    params = re.sub(r"(?m)^  designs: \[.*?\]", "  designs: []", params)
    (folder / "params.yaml").write_text(re.sub(r"(?m)^  cv_folds: 5", "  cv_folds: 0", params), encoding="utf-8")
    second = dvc_repro(folder)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "waits for codes" not in second.stderr
    assert "Stage 'segment' didn't change" in second.stdout
    fragments = (folder / "out" / "fragments.jsonl").read_text(encoding="utf-8").splitlines()
    predicted = {json.loads(line)["fragment_id"]
                 for line in (folder / "out" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()}
    assert predicted == {json.loads(line)["id"] for line in fragments}
    assert (folder / "model" / "model.skops").exists() and not (folder / "model" / "WAITING-FOR-CODES.txt").exists()
    assert {"relevant", "impact"} <= set(json.loads((folder / "out" / "evaluate" / "metrics.json").read_text()))
    rows = read_csv(folder / "out" / "aggregate" / "aggregates.csv")
    assert {r["case"] for r in rows} == {"case7", "case8"}
    assert "<html" in (folder / "out" / "aggregate" / "report.html").read_text(encoding="utf-8")

    third = dvc_repro(folder)
    assert third.returncode == 0 and "Data and pipelines are up to date." in third.stdout
