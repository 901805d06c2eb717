"""Hand-coded fragments: wide, long and span forms, CSV/XLSX/JSONL, coders, checks, CLI."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.codebook import load_codebook
from pipeline.codings import SpanIndex, codings_by_fragment, detect_form, read_codings
from pipeline.codings_check import check_codings, format_report, run_codings_check
from pipeline.errors import CodebookError, InputError
from pipeline.files import read_fragments, write_table, write_xlsx
from pipeline.records import Coding, Fragment

F1, F2, F3, F4 = "case1/r1.txt#0-40", "case1/r1.txt#40-100", "case1/r1.txt#150-200", "case2/r4.docx#10-60"


@pytest.fixture
def fragments(data_dir):
    return list(read_fragments(data_dir / "codings_fragments.jsonl"))


def fragment(source, start, end):
    return Fragment(f"{source}#{start}-{end}", source, "1", "1", "ambtelijk", "R", 1, start, end, "t")


def test_wide_csv_with_coders_and_labels_normalised(data_dir):
    codings = read_codings(data_dir / "codings_wide.csv", codebook="default")
    assert Coding(F1, "anna", "relevant", "ja") in codings
    assert Coding(F2, "anna", "relevant", "nee") in codings       # 'Nee' in the file
    assert Coding(F4, "bert", "strategisch_operationeel", "operationeel") in codings  # 'Operationeel'
    assert not [c for c in codings if c.fragment_id == F2 and c.dimension != "relevant"]  # empty = not coded
    assert {c.dimension for c in codings} <= set(load_codebook().dimension_ids)  # 'opmerking' ignored
    assert len(codings) == 5 + 1 + 5 + 5 + 4


def test_long_csv_detected(data_dir):
    codings = read_codings(data_dir / "codings_long.csv", codebook="default")
    assert codings == [
        Coding(F1, "anna", "relevant", "ja"),
        Coding(F1, "anna", "strategisch_operationeel", "strategisch"),
        Coding(F1, "anna", "impact", "positief"),
        Coding(F2, "anna", "relevant", "nee"),
    ]


def test_detect_form():
    assert detect_form(["fragment_id", "coder", "relevant"]) == ("wide", "id")
    assert detect_form(["fragment_id", "dimension", "value"]) == ("long", "id")
    assert detect_form(["source", "start_char", "end_char", "dimension", "value"]) == ("long", "span")
    with pytest.raises(InputError, match="needs a 'fragment_id' column"):
        detect_form(["id", "relevant"])


def test_jsonl_without_coder_is_named_after_file(data_dir):
    codings = read_codings([data_dir / "codings_single.jsonl"], codebook="default")
    assert codings == [
        Coding(F1, "codings_single", "relevant", "ja"),
        Coding(F1, "codings_single", "impact", "positief"),
        Coding(F4, "codings_single", "relevant", "nee"),
    ]
    named = read_codings(data_dir / "codings_single.jsonl", coder_default="lies")
    assert {c.coder for c in named} == {"lies"}


def test_xlsx_wide_and_long(tmp_path):
    wide = tmp_path / "ploeg.xlsx"
    write_xlsx(wide, {"codes": (["fragment_id", "coder", "relevant", "impact"],
                                [[F1, "anna", "ja", "Negatief"], [F2, "anna", "nee", None]])})
    assert read_codings(wide, codebook="default") == [
        Coding(F1, "anna", "relevant", "ja"), Coding(F1, "anna", "impact", "negatief"),
        Coding(F2, "anna", "relevant", "nee")]
    long = tmp_path / "lang.xlsx"
    write_table(long, ["fragment_id", "dimension", "value"], [[F3, "relevant", "ja"], [F3, "impact", "neutraal"]])
    assert read_codings(long, codebook="default") == [
        Coding(F3, "lang", "relevant", "ja"), Coding(F3, "lang", "impact", "neutraal")]


def test_interval_values_from_spreadsheet_numbers(tmp_path):
    book = tmp_path / "cb.yaml"
    book.write_text("name: s\nversion: '1'\ndimensions:\n  - {id: score, level: interval, values: [1, 2, 3]}\n")
    sheet = tmp_path / "s.xlsx"
    write_xlsx(sheet, {"s": (["fragment_id", "score"], [[F1, 2.0], [F2, 3]])})
    assert [c.value for c in read_codings(sheet, codebook=book)] == ["2", "3"]


def test_span_form_attaches_to_most_overlapping_fragment(data_dir, fragments):
    codings = read_codings(data_dir / "codings_span.csv", codebook="default", fragments=fragments)
    by = codings_by_fragment(codings)
    assert by[F1]["anna"] == {"relevant": "ja", "impact": "positief"}      # 5-30 inside 0-40
    assert by[F2]["anna"] == {"relevant": "ja", "impact": "negatief"}      # 30-90: 10 vs 50 characters
    assert by[F4]["anna"] == {"relevant": "nee"}                           # source 'r4.docx' by file name
    assert by[F1]["bert"] == {"relevant": "ja", "impact": "neutraal"}      # 20-60: 20 vs 20, tie -> earlier


def test_span_index_rules():
    index = SpanIndex([fragment("a/x.txt", 0, 10), fragment("a/x.txt", 10, 20), fragment("b/x.txt", 0, 5),
                       fragment("c/y.docx", 0, 9)])
    assert index.attach("a/x.txt", 5, 15) == "a/x.txt#0-10"
    assert index.attach("a/x.txt", 8, 20) == "a/x.txt#10-20"
    assert index.attach("a/x.txt", 20, 30) is None
    assert index.resolve_source("x.txt") is None          # two sources named x.txt: ambiguous
    assert index.resolve_source("y.docx") == "c/y.docx"
    assert index.resolve_source("y") == "c/y.docx"        # stem, as some QDA tools name documents


def test_span_errors_named_by_row(tmp_path, fragments):
    path = tmp_path / "spans.csv"
    path.write_text("source,start_char,end_char,relevant\n"
                    "case1/r1.txt,100,150,ja\n"        # the gap between turns: no fragment
                    "onbekend.txt,0,10,ja\n"
                    "case1/r1.txt,abc,10,ja\n"
                    "case1/r1.txt,30,20,ja\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_codings(path, codebook="default", fragments=fragments)
    message = str(caught.value)
    assert f"{path}, row 2, column 'start_char': span case1/r1.txt 100-150 overlaps no fragment" in message
    assert f"{path}, row 3, column 'source': no fragments of source 'onbekend.txt'" in message
    assert f"{path}, row 4, column 'start_char': start_char and end_char must be whole numbers" in message
    assert f"{path}, row 5, column 'end_char': span 30-20 is empty or reversed" in message
    with pytest.raises(InputError, match="give the fragments file too"):
        read_codings(path, codebook="default")


def test_all_errors_at_once_with_row_and_column(data_dir):
    path = data_dir / "codings_bad.csv"
    with pytest.raises(InputError) as caught:
        read_codings(path, codebook="default")
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}: 5 problems:"
    assert lines[1:] == [
        f"  {path}, column 'impactt': not a dimension of codebook 'capaciteit-regierol'; did you mean 'impact'? "
        "Rename the column.",
        f"  {path}, row 2, column 'relevant': 'misschien' is not a value of 'relevant'; use one of ja, nee "
        "(or leave the cell empty).",
        f"  {path}, row 3, column 'fragment_id': empty; give the fragment id.",
        f"  {path}, row 3, column 'beleid_beheer': 'beheerr' is not a value of 'beleid_beheer'; use one of "
        "beleid, beheer (or leave the cell empty).",
        f"  {path}, row 4, column 'coder': empty; name the coder (or drop the column when the file holds one "
        "coder).",
    ]


def test_value_errors_only_raise_codebook_error_and_are_capped(tmp_path):
    path = tmp_path / "veel.csv"
    rows = "".join(f"f{i},anna,misschien\n" for i in range(25))
    path.write_text("fragment_id,coder,relevant\n" + rows, encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        read_codings(path, codebook="default")
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}: 25 problems:"
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "  ... and 5 more."
    assert lines[1].startswith(f"  {path}, row 2, column 'relevant'")


def test_long_form_unknown_dimension_suggests(tmp_path):
    path = tmp_path / "lang.csv"
    path.write_text("fragment_id,dimension,value\nf1,relevent,ja\nf1,,ja\nf1,impact,\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_codings(path, codebook="default")
    message = str(caught.value)
    assert "row 2, column 'value': 'relevent' is not a dimension of codebook 'capaciteit-regierol'; " \
           "did you mean 'relevant'?" in message
    assert "row 3, column 'dimension': empty" in message
    assert "row 4" not in message  # an empty value is simply not coded


def test_missing_file_reported_with_the_others(tmp_path, data_dir):
    with pytest.raises(InputError) as caught:
        read_codings([tmp_path / "weg.csv", data_dir / "codings_bad.csv"], codebook="default")
    message = str(caught.value)
    assert "weg.csv: file not found." in message and "'misschien' is not a value" in message


def test_same_coder_in_two_files_kept_apart_unless_merged(data_dir):
    paths = [data_dir / "codings_wide.csv", data_dir / "codings_long.csv"]
    apart = read_codings(paths, codebook="default")
    assert {c.coder for c in apart} == {"codings_wide:anna", "bert", "codings_long:anna"}
    merged = read_codings(paths, codebook="default", merge_coders=True)
    assert {c.coder for c in merged} == {"anna", "bert"}


def test_no_codebook_reads_every_other_column_as_a_dimension(data_dir):
    codings = read_codings(data_dir / "codings_wide.csv")
    assert Coding(F2, "anna", "relevant", "Nee") in codings  # not normalised without a codebook
    assert "opmerking" not in {c.dimension for c in codings}


def test_codings_by_fragment_keeps_the_first_value():
    codings = [Coding("f", "a", "relevant", "ja"), Coding("f", "a", "relevant", "nee"), Coding("f", "b", "relevant", "nee")]
    assert codings_by_fragment(codings) == {"f": {"a": {"relevant": "ja"}, "b": {"relevant": "nee"}}}


def test_check_reports_counts_coders_and_problems(data_dir, fragments):
    codings = read_codings(data_dir / "codings_wide.csv", codebook="default") + [
        Coding(F3, "anna", "impact", "positief"),                  # a second, different value: error
        Coding(F1, "bert", "relevant", "ja"),                      # the same value again: warning
        Coding(F2, "anna", "beleid_beheer", "beheer"),             # relevant = nee: violation
        Coding("elders.txt#0-5", "anna", "relevant", "ja"),        # not in the fragments file
        Coding(F4, "cas", "impact", "negatief"),                   # relevant not coded: unchecked
    ]
    report = check_codings(codings, fragments, "default")
    assert not report.ok
    assert report.n_fragments == 4 and report.n_coded_fragments == 4
    assert report.coders == {"anna": 4, "bert": 2, "cas": 1}
    assert report.counts["relevant"] == {"ja": 5, "nee": 1}
    assert report.counts["impact"] == {"positief": 1, "negatief": 2, "neutraal": 1}  # first value counts
    assert report.unknown_fragments == ("elders.txt#0-5",)
    assert {(d.fragment_id, d.coder, d.dimension, d.values) for d in report.duplicates} == {
        (F3, "anna", "impact", ("negatief", "positief")), (F1, "bert", "relevant", ("ja", "ja"))}
    assert [(v.fragment_id, v.dimension, v.value, v.condition, v.found) for v in report.violations] == [
        (F2, "beleid_beheer", "beheer", "relevant = ja", "nee")]
    assert report.incomplete == {
        "anna": {"strategisch_operationeel": 1, "intern_extern": 1, "beleid_beheer": 1, "impact": 1},  # elders
        "bert": {"impact": 1},
        "cas": {"relevant": 1},
    }
    assert any("coded 'impact' 2 times (negatief, positief); keep one value" in e for e in report.errors)
    assert any(e.startswith("1 of 5 coded fragments are not in the fragments file ('elders.txt#0-5')") for e in report.errors)
    assert any("gave beleid_beheer = beheer, but it is coded only when relevant = ja (found nee)" in e
               for e in report.errors)
    assert any("the same value, counted once" in w for w in report.warnings)
    assert any("coder 'cas': 1 fragment(s) with a value on impact but no value on relevant" in w
               for w in report.warnings)
    text = format_report(report, load_codebook())
    assert "coders: 3\n  anna: 4 fragments" in text
    assert "    negatief                  2   50.0%" in text
    assert text.rstrip().endswith("FAILED: 3 error(s)")  # duplicate, unknown fragment, violation


def test_clean_codings_pass(data_dir, fragments):
    codings = read_codings(data_dir / "codings_wide.csv", codebook="default")
    codings = [c for c in codings if c.coder == "anna"]
    report = check_codings(codings, fragments, "default")
    assert report.ok and report.errors == () and report.warnings == ()
    assert format_report(report, load_codebook()).endswith("\nOK\n")


def test_other_two_dimension_codebook_end_to_end(data_dir, tmp_path, fragments):
    codebook = load_codebook(data_dir / "codebook_two.yaml")
    path = tmp_path / "thema.csv"
    path.write_text(f"fragment_id,coder,thema,toon\n{F1},anna,werk,hoog\n{F2},anna,Taal,\n{F3},anna,taal,laag\n",
                    encoding="utf-8")
    codings = read_codings(path, codebook=codebook)
    assert codings_by_fragment(codings)[F2] == {"anna": {"thema": "taal"}}
    report = check_codings(codings, fragments, codebook)
    assert report.counts == {"thema": {"werk": 1, "taal": 2}, "toon": {"laag": 1, "midden": 0, "hoog": 1}}
    assert [(v.fragment_id, v.dimension, v.condition) for v in report.violations] == [(F3, "toon", "thema = werk")]
    text, ok = run_codings_check([path], data_dir / "codings_fragments.jsonl", data_dir / "codebook_two.yaml")
    assert not ok and "codebook: toon-en-thema 0.2" in text


def test_cli_codings_check_ok_with_warnings(data_dir):
    result = CliRunner().invoke(cli, ["codings", "check", str(data_dir / "codings_wide.csv"),
                                      "--fragments", str(data_dir / "codings_fragments.jsonl")])
    assert result.exit_code == 0, result.output
    assert "codings: 20 on 4 of 4 fragments (100%)" in result.output
    assert "coder 'bert': 1 coded fragment(s) have no value on impact where it applies." in result.output
    assert result.output.rstrip().endswith("OK with warnings")


def test_cli_codings_check_fails_on_errors(data_dir):
    runner = CliRunner()
    result = runner.invoke(cli, ["codings", "check", str(data_dir / "codings_bad.csv")])
    assert result.exit_code == 1
    assert "Error: " in result.output and "row 2, column 'relevant': 'misschien'" in result.output
    spans = runner.invoke(cli, ["codings", "check", str(data_dir / "codings_span.csv")])
    assert spans.exit_code == 1 and "give the fragments file too (--fragments)" in spans.output
    assert spans.output.count("give the fragments file too") == 1  # a file-wide problem once, not per row


def test_cli_codebook_from_params(data_dir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(f"codebook: {data_dir / 'codebook_two.yaml'}\n", encoding="utf-8")
    codings = tmp_path / "thema.jsonl"
    codings.write_text(json.dumps({"fragment_id": F1, "thema": "werk", "toon": "midden"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--params", str(params), "codings", "check", str(codings),
                                      "--fragments", str(data_dir / "codings_fragments.jsonl")])
    assert result.exit_code == 0, result.output
    assert "codebook: toon-en-thema 0.2" in result.output and "  thema: 1" in result.output
    override = CliRunner().invoke(cli, ["--params", str(params), "codings", "check", str(codings),
                                        "--codebook", "default"])
    assert override.exit_code == 1 and "'thema' is not a dimension" not in override.output
    assert "no column is a dimension of codebook 'capaciteit-regierol'" in override.output


def test_span_overlapping_several_fragments_is_noted(data_dir, fragments, caplog):
    with caplog.at_level("WARNING", logger="capcode"):
        read_codings(data_dir / "codings_span.csv", codebook="default", fragments=fragments)
    assert "2 coded span(s) overlap more than one fragment" in caplog.text


def test_dimension_named_like_metadata_column(tmp_path):
    book = tmp_path / "rol.yaml"
    book.write_text("name: r\nversion: '1'\ndimensions:\n  - {id: role, values: [leider, volger]}\n")
    path = tmp_path / "c.csv"
    path.write_text("fragment_id,role,text\nf1,leider,iets\n", encoding="utf-8")
    assert read_codings(path, codebook=book) == [Coding("f1", "c", "role", "leider")]


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(1, 200), min_size=1, max_size=8, unique=True),
       gaps=st.sets(st.integers(0, 8)), span=st.tuples(st.integers(0, 210), st.integers(1, 60)))
def test_span_attachment_matches_brute_force(cuts, gaps, span):
    """The attached fragment is the one sharing most characters; ties go to the earliest."""
    bounds = [0] + sorted(cuts)
    frags = [fragment("s.txt", a, b) for i, (a, b) in enumerate(zip(bounds, bounds[1:])) if i not in gaps]
    start, end = span[0], span[0] + span[1]
    overlaps = [(max(0, min(end, f.end_char) - max(start, f.start_char)), -f.start_char, f.id) for f in frags]
    best = max(overlaps, default=(0, 0, None))
    expected = best[2] if best[0] > 0 else None
    assert SpanIndex(frags).attach("s.txt", start, end) == expected


def test_model_suggestions_are_not_counted_as_a_persons_codes(caplog):
    from pipeline.codings import human_codings
    from pipeline.records import Coding

    codings = [Coding("a#0-4", "anna", "relevant", "ja"),
               Coding("a#0-4", "capcode-model-sample", "relevant", "nee"),
               Coding("b#5-9", "capcode-model-sample", "relevant", "ja")]
    with caplog.at_level("WARNING", logger="capcode"):
        kept = human_codings(codings)
    assert kept == [codings[0]]
    assert "2 coding(s) by capcode-model-sample" in caplog.text
