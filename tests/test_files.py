"""Outputs are atomic; tables round-trip through csv, xlsx and jsonl."""

import pytest

from pipeline.errors import InputError
from pipeline.files import atomic_open, read_jsonl, read_table, write_jsonl, write_table
from pipeline.prediction_tables import read_predictions, write_predictions
from pipeline.records import Prediction


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_jsonl_round_trip_keeps_non_ascii(tmp_path):
    path = tmp_path / "x.jsonl"
    write_jsonl(path, [{"text": "één ‘citaat’ …"}])
    assert list(read_jsonl(path)) == [{"text": "één ‘citaat’ …"}]


def test_bad_json_line_is_named(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"x\.jsonl, line 2: not valid JSON .*one JSON object per line"):
        list(read_jsonl(path))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl"])
def test_tables_round_trip(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    write_table(path, ["a", "b"], [["1", "x"], ["2", "ë"]])
    header, rows = read_table(path)
    assert header == ["a", "b"]
    assert [(r["a"], r["b"]) for r in rows] == [("1", "x"), ("2", "ë")]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl"])
def test_predictions_round_trip(tmp_path, suffix):
    preds = [Prediction("s.txt#0-10", "relevant", "ja", 0.9, "nee", 0.1, False, "m"),
             Prediction("s.txt#11-20", "relevant", "nee", 0.55, "ja", 0.45, True, "m")]
    path = tmp_path / f"p{suffix}"
    assert write_predictions(path, preds) == 2
    assert read_predictions(path) == preds


@pytest.mark.parametrize("value", ["1.7", "-0.2", "nan"])
def test_probability_outside_0_1_is_refused_with_its_row(tmp_path, value):
    path = tmp_path / "p.csv"
    path.write_text("fragment_id,dimension,value,probability\ns.txt#0-10,relevant,ja,0.9\n"
                    f"s.txt#11-20,relevant,nee,{value}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"p\.csv, (line|row) 3, column 'probability': .* between 0 and 1"):
        read_predictions(path)


def test_csv_that_is_not_utf8_is_a_one_line_error(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("fragment_id,coder\ns.txt#0-10,José\n".encode("cp1252"))
    with pytest.raises(InputError, match=r"excel\.csv: not UTF-8 text .* 'CSV UTF-8"):
        read_table(path)


def test_jsonl_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"b": "Jos\xe9"}\n')
    with pytest.raises(InputError, match=r"x\.jsonl, line 2: not UTF-8 text"):
        list(read_jsonl(path))
    path.write_bytes(b'\xef\xbb\xbf{"a": "\xc3\xa9"}\r\n')  # a BOM and Windows line ends are fine
    assert list(read_jsonl(path)) == [{"a": "é"}]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_column_name_used_twice_is_refused(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    write_table(path, ["fragment_id", "relevant", "relevant", "", ""], [["s#0-1", "ja", "nee", "", ""]])
    with pytest.raises(InputError, match=r"column 'relevant' appears 2 times"):
        read_table(path)


def test_unknown_table_format_is_refused(tmp_path):
    with pytest.raises(InputError, match="unknown output format"):
        write_table(tmp_path / "t.pdf", ["a"], [])


def test_outputs_follow_the_umask_not_owner_only(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        target = tmp_path / "shared.csv"
        write_table(target, ["a"], [["1"]])
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644


def test_fragment_with_missing_metadata_is_read_as_unknown(tmp_path):
    from pipeline.files import read_fragments

    path = tmp_path / "f.jsonl"
    path.write_text('\n{"id": "a.txt#0-4", "source": "a.txt", "start_char": 0, "end_char": 4, "text": "Goed"}\n',
                    encoding="utf-8")
    [fragment] = list(read_fragments(path))
    assert (fragment.case, fragment.respondent, fragment.role, fragment.n_words) == ("onbekend", "onbekend", "onbekend", 1)


def test_fragment_with_text_offset_is_named_with_its_line(tmp_path):
    from pipeline.files import read_fragments

    path = tmp_path / "f.jsonl"
    path.write_text('\n{"id": "a", "source": "a.txt", "start_char": "0", "end_char": 4, "text": "Goed"}\n',
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"f\.jsonl, line 2, column 'start_char': expected a whole number"):
        list(read_fragments(path))


# ---- spreadsheet-safe outputs (issue 14.3) ----------------------------------------------------

FORMULA_PAYLOADS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(1)", "\t=cmd|' /C calc'!A0", "\r=1", "=HYPERLINK(\"x\")",
                    "'=already quoted", "''+twice", "'-5", "-", "-x", "@"]
PLAIN = ["-5", "+3", "-0.25", "-0,5", "12", "gewoon tekst", "'quote at start", "'", "a=b", "ëen", ""]


def test_csv_prefixes_formula_text_and_reads_it_back_exactly(tmp_path):
    path = tmp_path / "t.csv"
    values = FORMULA_PAYLOADS + PLAIN
    write_table(path, ["value", "=header"], [[v, v] for v in values])
    import csv

    with open(path, encoding="utf-8", newline="") as handle:
        raw = list(csv.reader(handle))
    assert raw[0] == ["value", "'=header"]
    for (cell, _), value in zip(raw[1:], values):
        if value in FORMULA_PAYLOADS:
            assert cell == "'" + value, value      # the prefix, and nothing else changed
        else:
            assert cell == value, value            # plain text and numbers-as-text as they are
    header, rows = read_table(path)
    assert header == ["value", "=header"]
    assert [r["value"] for r in rows] == values
    assert [r["=header"] for r in rows] == values


def test_numbers_are_written_as_numbers_not_text(tmp_path):
    from pipeline.files import Percent

    path = tmp_path / "t.csv"
    write_table(path, ["n", "share", "p"], [[-5, Percent(0.25), -0.5]])
    assert path.read_text(encoding="utf-8").splitlines()[1] == "-5,0.25,-0.5"


def test_csv_from_elsewhere_with_the_prefix_is_read_without_it(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n'=1+1, ja \n'-5,'plain\n", encoding="utf-8")
    header, rows = read_table(path)
    assert [(r["a"], r["b"]) for r in rows] == [("=1+1", "ja"), ("-5", "'plain")]


def test_workbook_stores_formula_text_as_text_cells(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "t.xlsx"
    values = FORMULA_PAYLOADS + PLAIN
    write_table(path, ["n", "value", "=header"], [[i, v, v] for i, v in enumerate(values)])
    sheet = load_workbook(path).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert cells and all(cell.data_type != "f" for cell in cells)
    assert sheet["C1"].value == "=header" and sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"
    # read back as written (the reader trims surrounding spaces and tabs of workbook cells, as before)
    assert [r["value"] for r in read_table(path)[1]] == [v.strip() for v in values]


def test_every_workbook_has_a_frozen_header_filters_widths_and_percent_shares(tmp_path):
    from openpyxl import load_workbook

    from pipeline.files import Percent, write_xlsx

    path = tmp_path / "t.xlsx"
    write_xlsx(path, {"een": (["case", "share", "text"], [["case1", Percent(0.2), "x" * 300], ["c2", None, "kort"]]),
                      "twee": (["a"], [])})
    book = load_workbook(path)
    sheet = book["een"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:C3"
    assert sheet["B2"].data_type == "n" and sheet["B2"].value == pytest.approx(0.2)
    assert sheet["B2"].number_format == "0%"
    widths = [sheet.column_dimensions[c].width for c in "ABC"]
    assert widths[0] < widths[2] <= 60 and widths[1] >= 6
    assert book["twee"].freeze_panes == "A2" and book["twee"].auto_filter.ref == "A1:A1"


def test_control_characters_do_not_break_a_workbook(tmp_path):
    path = tmp_path / "t.xlsx"
    write_table(path, ["text"], [["a\x0bb\x00c"]])
    assert read_table(path)[1][0]["text"] == "a\ufffdb\ufffdc"


def test_a_table_cell_beyond_the_csv_field_limit_is_a_one_line_error(tmp_path):
    path = tmp_path / "codings.csv"
    path.write_text("fragment_id,coder,dimension,value\na,b,c,d\na,b,c," + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"codings.csv, line 3: cannot be read as a table \(field larger than field limit"):
        read_table(path)


def test_a_workbook_written_twice_has_the_same_bytes(tmp_path, monkeypatch):
    """openpyxl stamps properties and zip members with the time of saving; capcode's workbooks do not."""
    import time

    from openpyxl import load_workbook

    from pipeline.files import write_xlsx

    sheets = {"cases": (["case", "n"], [["case1", 3], ["case2", 5]])}
    write_xlsx(tmp_path / "a.xlsx", sheets)
    later = time.time() + 3 * 86400  # three days on: every time stamp openpyxl or zipfile takes moves
    monkeypatch.setattr(time, "time", lambda: later)
    write_xlsx(tmp_path / "b.xlsx", sheets)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    assert [row for row in load_workbook(tmp_path / "b.xlsx")["cases"].values] == [("case", "n"), ("case1", 3),
                                                                                   ("case2", 5)]
