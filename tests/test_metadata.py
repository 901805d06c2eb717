"""Metadata: canonical case/respondent ids, file names, manifests and their errors."""

import pytest

from pipeline.errors import InputError
from pipeline.metadata import (canonical_case, canonical_respondent, canonical_role, info_from_name,
                               read_manifest, source_info)


@pytest.mark.parametrize("value,expected", [
    ("Case 1", "case1"), ("case01", "case1"), ("casus 1", "case1"), ("c1", "case1"), ("1", "case1"),
    ("C_12", "case12"), ("", "onbekend"), (None, "onbekend"), ("Onbekend", "onbekend"), ("Gent  Noord", "Gent Noord"),
])
def test_canonical_case(value, expected):
    assert canonical_case(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("Respondent 4", "respondent4"), ("resp04", "respondent4"), ("R4", "respondent4"), ("r 4", "respondent4"),
    ("4", "respondent4"), ("", "onbekend"), ("schepen-A", "schepen-A"),
])
def test_canonical_respondent(value, expected):
    assert canonical_respondent(value) == expected


def test_canonical_role():
    assert canonical_role("Ambtelijk") == "ambtelijk"
    assert canonical_role("") == "onbekend"
    with pytest.raises(InputError, match="unknown role 'burgemeester'; use one of ambtelijk, politiek, extern, onbekend"):
        canonical_role("burgemeester")


@pytest.mark.parametrize("name,case,respondent", [
    ("case1_respondent4.docx", "case1", "respondent4"),
    ("c1-r4.txt", "case1", "respondent4"),
    ("interviews/Casus 2 - Respondent 11.odt", "case2", "respondent11"),
    ("CASE03_R07.vtt", "case3", "respondent7"),
    ("case2.txt", "case2", "onbekend"),
    ("gesprek-schepen.txt", "onbekend", "onbekend"),
    ("rc1.txt", "onbekend", "onbekend"),
])
def test_info_from_file_name_never_guesses(name, case, respondent):
    info = info_from_name(name)
    assert (info.case, info.respondent, info.role) == (case, respondent, "onbekend")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_manifest_wins_over_the_file_name_and_empty_cells_fall_back(tmp_path):
    transcript = write(tmp_path / "case1_respondent4.txt", "R: ja\n")
    manifest = read_manifest(write(tmp_path / "m.csv", "source,case,respondent,role\n"
                                                        "case1_respondent4.txt,Case 7,,Politiek\n"))
    info = source_info("case1_respondent4.txt", transcript, manifest)
    assert (info.case, info.respondent, info.role) == ("case7", "respondent4", "politiek")


def test_manifest_rows_match_by_relative_path_or_unique_file_name(tmp_path):
    folder = tmp_path / "transcripts"
    folder.mkdir()
    transcript = write(folder / "a.txt", "R: ja\n")
    manifest = read_manifest(write(tmp_path / "m.csv", "source,case,respondent,role\ntranscripts/a.txt,1,2,extern\n"))
    assert source_info("a.txt", transcript, manifest).case == "case1"
    manifest.check_against([("a.txt", transcript)])
    by_name = read_manifest(write(tmp_path / "n.csv", "source,case\na.txt,3\n"))
    assert source_info("a.txt", transcript, by_name).case == "case3"
    by_name.check_against([("a.txt", transcript)])


def test_manifest_semicolon_csv_and_xlsx(tmp_path):
    from pipeline.files import write_table

    write(tmp_path / "m.csv", "source;case;respondent;role\nx.txt;2;5;extern\n")
    assert read_manifest(tmp_path / "m.csv").rows[0].case == "case2"
    write_table(tmp_path / "m.xlsx", ["source", "case", "respondent", "role"], [["x.txt", "Case 3", "R1", "politiek"]])
    row = read_manifest(tmp_path / "m.xlsx").rows[0]
    assert (row.row, row.case, row.respondent, row.role) == (2, "case3", "respondent1", "politiek")


@pytest.mark.parametrize("content,message", [
    ("source,case,respondent,role\na.txt,1,1,ambtelijk\nb.txt,1,2,burgemeester\n",
     "m.csv, row 3, column 'role': unknown role 'burgemeester'; use one of ambtelijk, politiek, extern, onbekend."),
    ("case,respondent\n1,2\n", "m.csv: a manifest needs a 'source' column"),
    ("source,case,functie\na.txt,1,x\n",
     "m.csv: unknown manifest column 'functie'; use source, case, respondent, role, interviewer."),
    ("source,case\na.txt,1\na.txt,2\n", "m.csv, row 3: source 'a.txt' also on row 2"),
    ("source,case\n,1\n", "m.csv, row 2: empty source"),
])
def test_bad_manifests_name_the_row(tmp_path, content, message):
    write(tmp_path / "a.txt", "R: ja\n")
    with pytest.raises(InputError) as caught:
        read_manifest(write(tmp_path / "m.csv", content))
    assert message in str(caught.value)


def test_a_manifest_row_naming_a_missing_file_is_an_error(tmp_path):
    transcript = write(tmp_path / "a.txt", "R: ja\n")
    write(tmp_path / "b.txt", "R: nee\n")  # exists, only not segmented in this run: fine
    manifest = read_manifest(write(tmp_path / "m.csv", "source,case\na.txt,1\nb.txt,1\nc.txt,2\n"))
    with pytest.raises(InputError) as caught:
        manifest.check_against([("a.txt", transcript)])
    assert str(caught.value) == (f"{tmp_path / 'm.csv'}, row 4: source 'c.txt' is not among the transcripts "
                                 "given and no such file exists; correct the name or remove the row.")


def test_manifest_interviewer_column(tmp_path):
    manifest = read_manifest(write(tmp_path / "m.csv", "source,case,interviewer\na.txt,1,Sofie Claes\n"
                                   "b.txt,1,geen\nc.txt,2,\nd.txt,2,SPEAKER_00; SPEAKER_02\n"))
    assert [row.interviewer for row in manifest.rows] == [("Sofie Claes",), (), None, ("SPEAKER_00", "SPEAKER_02")]
    without = read_manifest(write(tmp_path / "n.csv", "source,case\na.txt,1\n"))
    assert without.rows[0].interviewer is None
