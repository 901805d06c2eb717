"""Outputs are atomic; tables round-trip through csv, xlsx and jsonl."""

import pytest

from pipeline.errors import InputError
from pipeline.files import (atomic_open, read_jsonl, read_predictions, read_table, write_jsonl,
                            write_predictions, write_table)
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


def test_a_table_cell_beyond_the_csv_field_limit_is_a_one_line_error(tmp_path):
    path = tmp_path / "codings.csv"
    path.write_text("fragment_id,coder,dimension,value\na,b,c,d\na,b,c," + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"codings.csv, line 3: cannot be read as a table \(field larger than field limit"):
        read_table(path)
