"""`capcode agreement --unit span`: reading spans, the report's figures and formats, the QDA round
trip on the sample study, the disagreement listing and bad input."""

import csv
import json
import logging

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipeline.agreement import spans
from pipeline.agreement.span_disagreements import span_disagreements
from pipeline.agreement.span_results import span_agreement_report
from pipeline.agreement.span_run import run_span_agreement
from pipeline.agreement.span_units import RawSpan, build_study, load_span_study
from pipeline.cli import cli
from pipeline.codings import read_codings
from pipeline.errors import CodebookError, InputError
from pipeline.files import read_fragments, write_table

from conftest import ROOT

SAMPLE = ROOT / "data" / "sample"
SPAN_HEADER = ("source", "start_char", "end_char", "coder", "dimension", "value")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_spans(path, rows):
    write_table(path, SPAN_HEADER, rows)
    return path


@pytest.fixture
def texts(tmp_path):
    folder = tmp_path / "transcripts"
    folder.mkdir()
    (folder / "a.txt").write_text("R1: " + "woord " * 40 + "\n", encoding="utf-8")     # 245 characters
    (folder / "b.txt").write_text("R2: " + "zin. " * 30 + "\n", encoding="utf-8")       # 155 characters
    return folder


# ---- the sample study ----------------------------------------------------------------------------


def test_sample_study_json_has_the_figures_the_issue_names(tmp_path):
    out = tmp_path / "spans.json"
    result = invoke("agreement", "--unit", "span", SAMPLE / "codings" / "team.csv", SAMPLE / "codings" / "coder2.csv",
                    "--transcripts", SAMPLE / "transcripts", "--codebook", "default", "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["unit"] == "span" and report["coders"] == ["team", "coder2"]
    impact = report["dimensions"]["impact"]["unitizing"]
    assert set(impact["by_value"]) == {"positief", "negatief", "neutraal"}
    for value in impact["by_value"].values():
        assert {"alpha_u", "observed", "expected", "character_kappa", "character_agreement"} <= set(value)
    # overall alpha-U is 1 - sum D_o / sum D_e over the values
    observed = sum(v["observed"] for v in impact["by_value"].values())
    expected = sum(v["expected"] for v in impact["by_value"].values())
    assert impact["alpha_u"] == pytest.approx(1 - observed / expected)
    low, high = impact["alpha_u_ci95"]
    assert low <= impact["alpha_u"] <= high
    # coder2 coded 12 of the 34 transcripts: the others are left out, and said to be
    assert impact["n_sources"] == 12 and impact["sources_left_out"] == 22
    assert any("22 source(s) coded by only some" in n for n in impact["notes"])
    # the two coders give different impact values to some passages: listed, value kind
    assert impact["disagreements"]["passages"] >= 1 and impact["disagreements"]["value"] >= 1


def test_sample_study_export_to_qdpx_and_back_gives_alpha_u_one(tmp_path):
    """A coder's spans, exported to a .qdpx and imported again, agree perfectly with themselves."""
    fragments_path = tmp_path / "fragments.jsonl"
    assert invoke("segment", SAMPLE / "transcripts", "--manifest", SAMPLE / "manifest.csv",
                  "--out", fragments_path).exit_code == 0
    fragments = {f.id: f for f in read_fragments(fragments_path)}
    team = [c for c in read_codings([SAMPLE / "codings" / "team.csv"], codebook="default",
                                    fragments=list(fragments.values()))]
    write_table(tmp_path / "team_codings.csv", ("fragment_id", "coder", "dimension", "value"),
                [(c.fragment_id, c.coder, c.dimension, c.value) for c in team])
    # what capcode exports: each coding on the span of its fragment, by coder 'before'
    before = write_spans(tmp_path / "before.csv", [
        (fragments[c.fragment_id].source, fragments[c.fragment_id].start_char, fragments[c.fragment_id].end_char,
         "before", c.dimension, c.value) for c in team])
    assert invoke("export-qdpx", "--fragments", fragments_path, "--codings", tmp_path / "team_codings.csv",
                  "--transcripts", SAMPLE / "transcripts", "--out", tmp_path / "s.qdpx").exit_code == 0
    assert invoke("import-qdpx", tmp_path / "s.qdpx", "--out", tmp_path / "imp").exit_code == 0

    for inputs in ([before, tmp_path / "imp"], [before, tmp_path / "s.qdpx"],
                   [before, tmp_path / "imp" / "codings.csv", "--transcripts", tmp_path / "imp" / "sources"]):
        out = tmp_path / "round.json"
        result = invoke("agreement", "--unit", "span", *inputs, "--codebook", "default", "--out", out)
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["coders"] == ["before", "team"]
        assert set(report["dimensions"]) == {"relevant", "strategisch_operationeel", "intern_extern",
                                             "beleid_beheer", "impact"}
        for dimension in report["dimensions"].values():
            unitizing = dimension["unitizing"]
            assert unitizing["n_sources"] == 34 and unitizing["alpha_u"] == 1.0
            for value in unitizing["by_value"].values():
                assert value["observed"] == 0.0
                assert value["alpha_u"] in (1.0, None) and value["character_kappa"] in (1.0, None)
            assert unitizing["disagreements"]["passages"] == 0
        assert report["dimensions"]["relevant"]["unitizing"]["by_value"]["ja"]["alpha_u"] == 1.0


# ---- figures --------------------------------------------------------------------------------------


def test_three_coders_give_all_coder_and_pairwise_figures(tmp_path, texts):
    rows = [("a.txt", 4, 60, "anna", "impact", "negatief"), ("a.txt", 100, 150, "anna", "impact", "positief"),
            ("b.txt", 4, 50, "anna", "impact", "negatief"),
            ("a.txt", 10, 60, "ben", "impact", "negatief"), ("a.txt", 100, 140, "ben", "impact", "negatief"),
            ("b.txt", 4, 60, "ben", "impact", "negatief"),
            ("a.txt", 4, 70, "cor", "impact", "negatief"), ("a.txt", 100, 150, "cor", "impact", "positief"),
            ("b.txt", 20, 50, "cor", "impact", "neutraal")]
    study = load_span_study([write_spans(tmp_path / "c.csv", rows)], texts, "default")
    report = span_agreement_report(study, resamples=200, seed=3)
    impact = report.dimensions[0]
    assert impact.coders == ("anna", "ben", "cor") and len(impact.pairs) == 3
    assert impact.alpha_u is not None and impact.interval.low <= impact.alpha_u <= impact.interval.high
    negatief = next(v for v in impact.by_value if v.value == "negatief")
    pair_kappas = [next(pv for pv in p.by_value if pv.value == "negatief").character_kappa for p in impact.pairs]
    assert negatief.character_kappa == pytest.approx(np.mean(pair_kappas))      # Light's kappa
    # the all-coder alpha-U of a value is the three-coder formula, not a mean of the pairs
    bounds = study.bounds
    dim = study.dimensions[0]
    v = dim.values.index("negatief")
    units = [dim.units(c, v, bounds) for c in range(3)]
    deltas = [spans.pair_terms(units[a], units[b], 2).delta for a, b in ((0, 1), (0, 2), (1, 2))]
    d_o, d_e = spans.disagreements(spans.value_terms(units, deltas, study.lengths))
    assert negatief.alpha_u == pytest.approx(1 - d_o / d_e)
    assert negatief.alpha_u != pytest.approx(np.mean([next(pv for pv in p.by_value if pv.value == "negatief").alpha_u
                                                      for p in impact.pairs]))
    text = run_span_agreement([tmp_path / "c.csv"], texts, "default", resamples=50)
    assert "pairs of coders" in text and "anna - cor" in text


def test_pairs_use_the_sources_both_coded(tmp_path, texts):
    rows = [("a.txt", 4, 60, "anna", "impact", "negatief"), ("b.txt", 4, 60, "anna", "impact", "negatief"),
            ("a.txt", 4, 60, "ben", "impact", "negatief"), ("b.txt", 4, 60, "ben", "impact", "negatief"),
            ("a.txt", 4, 30, "cor", "impact", "negatief")]
    study = load_span_study([write_spans(tmp_path / "c.csv", rows)], texts)
    result = span_agreement_report(study, resamples=0).dimensions[0]
    assert result.n_sources == 1 and result.sources_left_out == 1            # only a.txt has all three
    by_pair = {(p.coder_a, p.coder_b): p for p in result.pairs}
    assert by_pair["anna", "ben"].n_sources == 2 and by_pair["anna", "ben"].alpha_u == 1.0
    assert by_pair["anna", "cor"].n_sources == 1 and by_pair["anna", "cor"].alpha_u < 1.0


def test_overlapping_spans_of_one_coder_and_value_are_merged_with_a_warning(tmp_path, texts, caplog):
    rows = [("a.txt", 4, 60, "anna", "impact", "negatief"), ("a.txt", 40, 90, "anna", "impact", "negatief"),
            ("a.txt", 90, 120, "anna", "impact", "negatief"),                  # touches: stays apart
            ("a.txt", 50, 80, "anna", "impact", "positief"),                   # other value: may overlap
            ("a.txt", 4, 90, "ben", "impact", "negatief"), ("a.txt", 90, 120, "ben", "impact", "negatief")]
    with caplog.at_level(logging.WARNING, logger="capcode"):
        study = load_span_study([write_spans(tmp_path / "c.csv", rows)], texts)
    assert "overlapping spans of one coder with the same value were merged" in caplog.text
    dim = study.dimensions[0]
    assert dim.merged == (("anna", 1),)
    anna = dim.units(0, dim.values.index("negatief"), study.bounds)
    assert list(zip(anna.start.tolist(), anna.end.tolist())) == [(4, 90), (90, 120)]
    result = span_agreement_report(study, resamples=0).dimensions[0]
    assert next(v for v in result.by_value if v.value == "negatief").alpha_u == 1.0
    assert any("merged" in n for n in result.notes)


def test_bootstrap_is_seeded(tmp_path):
    paths = [SAMPLE / "codings" / "team.csv", SAMPLE / "codings" / "coder2.csv"]
    first = run_span_agreement(paths, SAMPLE / "transcripts", "default", fmt="json", resamples=100, seed=5)
    again = run_span_agreement(paths, SAMPLE / "transcripts", "default", fmt="json", resamples=100, seed=5)
    other = run_span_agreement(paths, SAMPLE / "transcripts", "default", fmt="json", resamples=100, seed=6)
    assert first == again and first != other
    impact = json.loads(first)["dimensions"]["impact"]["unitizing"]
    assert impact["bootstrap"]["resamples"] == 100 and impact["alpha_u_ci95"][0] < impact["alpha_u_ci95"][1]


# ---- disagreements -------------------------------------------------------------------------------


def test_disagreement_passages_name_the_kind_and_carry_the_text(tmp_path, texts):
    rows = [("a.txt", 4, 40, "anna", "impact", "negatief"), ("a.txt", 4, 40, "ben", "impact", "positief"),   # value
            ("a.txt", 60, 100, "anna", "impact", "negatief"), ("a.txt", 70, 100, "ben", "impact", "negatief"),  # boundary
            ("a.txt", 150, 160, "anna", "impact", "neutraal"),                                              # missing
            ("b.txt", 4, 30, "anna", "impact", "negatief"), ("b.txt", 4, 30, "ben", "impact", "negatief")]   # agree
    study = load_span_study([write_spans(tmp_path / "c.csv", rows)], texts)
    passages = span_disagreements(study, 0)
    found = {(p.start, p.end): (p.kinds, p.differing) for p in passages}
    assert found == {(4, 40): (("value",), 36), (60, 100): (("boundary",), 10), (150, 160): (("missing",), 10)}
    assert [p.start for p in passages] == [4, 60, 150]          # most differing characters first
    text = (texts / "a.txt").read_text(encoding="utf-8")
    assert passages[0].text == text[4:40]
    assert passages[0].codes == {"anna": (("negatief", 4, 40),), "ben": (("positief", 4, 40),)}

    out = tmp_path / "meeting.csv"
    assert invoke("agreement", "--unit", "span", tmp_path / "c.csv", "--transcripts", texts,
                  "--disagreements", out).exit_code == 0
    with open(out, encoding="utf-8", newline="") as handle:
        listing = list(csv.DictReader(handle))
    assert [r["kind"] for r in listing] == ["value", "boundary", "missing"]
    assert listing[0]["anna"] == "negatief 4-40" and listing[0]["ben"] == "positief 4-40"
    assert listing[0]["text"] == text[4:40] and listing[2]["ben"] == "" and "decision" in listing[0]


def test_xlsx_report_has_figures_listing_pairs_sources(tmp_path):
    out = tmp_path / "spans.xlsx"
    result = invoke("agreement", "--unit", "span", SAMPLE / "codings" / "team.csv", SAMPLE / "codings" / "coder2.csv",
                    "--transcripts", SAMPLE / "transcripts", "--codebook", "default", "--out", out)
    assert result.exit_code == 0, result.output
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == ["figures", "disagreements", "pairs", "per_source", "about"]
    figures = list(book["figures"].values)
    assert figures[0][:5] == ("dimension", "value", "n_sources", "n_characters", "alpha_u")
    assert ("impact", "(all values)") in {row[:2] for row in figures[1:]}
    listing = list(book["disagreements"].values)
    assert listing[0][6] == "text" and len(listing) > 1 and all(row[6] for row in listing[1:])
    per_source = list(book["per_source"].values)
    assert per_source[0][-4:] == ("percent_both", "percent_a_only", "percent_b_only", "percent_neither")
    assert len(per_source) - 1 == 12 * 11         # 12 sources both coded x the 11 values of the 5 dimensions
    for row in per_source[1:]:
        assert sum(row[-4:]) == pytest.approx(100.0)


def test_table_and_csv(tmp_path):
    paths = [SAMPLE / "codings" / "team.csv", SAMPLE / "codings" / "coder2.csv"]
    text = run_span_agreement(paths, SAMPLE / "transcripts", "default", resamples=20)
    assert "Krippendorff's alpha-U" in text and "per source: alpha-U / character Cohen's kappa" in text
    assert "largest disagreements" in text and "case1_respondent3.txt" in text
    rows = list(csv.reader(run_span_agreement(paths, SAMPLE / "transcripts", "default", fmt="csv",
                                              resamples=20).splitlines()))
    assert rows[0] == ["dimension", "statistic", "coder_a", "coder_b", "value", "source", "estimate"]
    stats = {(r[0], r[1], r[4], r[5]) for r in rows[1:]}
    assert ("impact", "alpha_u", "", "") in stats and ("impact", "character_kappa", "negatief", "") in stats
    assert ("impact", "character_kappa", "negatief", "case1_respondent3.txt") in stats


# ---- bad input -----------------------------------------------------------------------------------


def test_a_span_past_the_end_of_its_text_is_refused_with_file_and_row(tmp_path, texts):
    path = write_spans(tmp_path / "c.csv", [("a.txt", 4, 60, "anna", "impact", "negatief"),
                                            ("b.txt", 100, 900, "ben", "impact", "negatief")])
    out = tmp_path / "out.json"
    result = invoke("agreement", "--unit", "span", path, "--transcripts", texts, "--out", out)
    assert result.exit_code == 1
    assert "c.csv, row 3, column 'end_char': span 100-900 runs past the end of 'b.txt' (155 characters)" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize("rows, message", [
    ([("c.txt", 4, 60, "anna", "impact", "negatief")], "row 2, column 'source': no transcript 'c.txt'"),
    ([("a.txt", 60, 4, "anna", "impact", "negatief")], "row 2, column 'end_char': span 60-4 is empty or reversed"),
    ([("a.txt", "x", 4, "anna", "impact", "negatief")], "row 2, column 'start_char': start_char and end_char must be"),
])
def test_bad_spans_are_refused(tmp_path, texts, rows, message):
    path = write_spans(tmp_path / "c.csv", rows)
    result = invoke("agreement", "--unit", "span", path, "--transcripts", texts)
    assert result.exit_code == 1 and message in result.output


def test_values_are_checked_against_the_codebook(tmp_path, texts):
    path = write_spans(tmp_path / "c.csv", [("a.txt", 4, 60, "anna", "impact", "rampzalig")])
    with pytest.raises(CodebookError, match=r"c.csv, row 2: 'rampzalig' is not a value of 'impact'"):
        load_span_study([path], texts, "default")


def test_fragment_codes_and_mixed_options_are_refused(tmp_path, texts):
    result = invoke("agreement", "--unit", "span", SAMPLE / "codings" / "team.csv")
    assert result.exit_code == 1 and "give --transcripts DIR" in result.output
    write_table(tmp_path / "ids.csv", ("fragment_id", "coder", "impact"), [("a.txt#0-9", "anna", "negatief")])
    result = invoke("agreement", "--unit", "span", tmp_path / "ids.csv", "--transcripts", texts)
    assert result.exit_code == 1 and "codes fragments (fragment_id), not text spans" in result.output
    result = invoke("agreement", SAMPLE / "codings" / "team.csv", "--transcripts", texts)
    assert result.exit_code == 2 and "--transcripts is for --unit span" in result.output
    result = invoke("agreement", "--unit", "span", SAMPLE / "codings" / "team.csv", "--transcripts", texts,
                    "--predictions", tmp_path / "p.jsonl")
    assert result.exit_code == 2 and "--predictions is for --unit fragment" in result.output
    result = invoke("agreement", "--unit", "span", SAMPLE / "codings" / "team.csv", "--transcripts",
                    SAMPLE / "transcripts", "--disagreements", tmp_path / "meeting.txt")
    assert result.exit_code == 1 and "write the span disagreements to a .xlsx or .csv file" in result.output


def import_folder(path, text, rows):
    (path / "sources").mkdir(parents=True)
    (path / "sources" / "a.txt").write_text(text, encoding="utf-8")
    write_spans(path / "codings.csv", rows)
    return path


def test_import_folders_are_read_and_must_hold_the_same_texts(tmp_path):
    one = import_folder(tmp_path / "one", "R1: een tekst van enige lengte.\n", [("a.txt", 4, 20, "anna", "impact", "negatief")])
    two = import_folder(tmp_path / "two", "R1: een tekst van enige lengte.\n", [("a.txt", 4, 22, "ben", "impact", "negatief")])
    other = import_folder(tmp_path / "other", "R1: een andere tekst.\n", [("a.txt", 4, 20, "ben", "impact", "negatief")])
    study = load_span_study([one, two])
    assert study.coders == ("anna", "ben") and study.sources == ("a.txt",)
    with pytest.raises(InputError, match=r"source 'a.txt' has another text than in .*one"):
        load_span_study([one, other])
    with pytest.raises(InputError, match="no coded spans found"):
        build_study({"a.txt": "x"}, [])
    assert build_study({"a.txt": "xyz"}, [RawSpan("t", "a.txt", 0, 2, "anna", "d", "v")]).coders == ("anna",)


@st.composite
def passages_data(draw):
    lengths = draw(st.lists(st.integers(5, 60), min_size=1, max_size=3))
    rows = []
    for coder in draw(st.sampled_from([("anna", "ben"), ("anna", "ben", "cor")])):
        for s, length in enumerate(lengths):
            rows.append(RawSpan("t", f"s{s}.txt", 0, 1, coder, "other", "x"))   # every coder coded every source
            for _ in range(draw(st.integers(1 if s == 0 else 0, 4))):   # every coder marks something
                start = draw(st.integers(0, length - 1))
                end = draw(st.integers(start + 1, length))
                rows.append(RawSpan("t", f"s{s}.txt", start, end, coder, "d", draw(st.sampled_from("xyz"))))
    return {f"s{s}.txt": "a" * n for s, n in enumerate(lengths)}, rows


def passages_by_characters(study, index):
    """The passage listing, one character at a time: (source, start, end, differing, kinds)."""
    dim = study.dimensions[index]
    out = []
    for s, source in enumerate(study.sources):
        present = [c for c in dim.coders() if study.coded[c, s]]
        spans_s = sorted((int(dim.start[i]), int(dim.end[i]), int(dim.coder[i]), dim.values[dim.value[i]])
                         for i in range(len(dim.start)) if dim.source[i] == s and dim.coder[i] in present)
        groups, reach = [], -1
        for span in spans_s:
            if span[0] >= reach:
                groups.append([])
            groups[-1].append(span)
            reach = max(reach, span[1]) if span[0] < reach else span[1]
        for group in groups:
            low, high = min(g[0] for g in group), max(g[1] for g in group)
            active = {g[2] for g in group}
            differing, kinds = 0, set()
            for ch in range(low, high):
                sets = [frozenset(g[3] for g in group if g[2] == c and g[0] <= ch < g[1]) for c in present]
                if len(set(sets)) > 1:
                    differing += 1
                    if len({x for x in sets if x}) > 1:
                        kinds.add("value")
                    if any(not x and c in active for x, c in zip(sets, present)):
                        kinds.add("boundary")
            if len(active) < len(present):
                kinds.add("missing")
            if differing:
                out.append((source, low, high, differing, tuple(k for k in ("value", "boundary", "missing") if k in kinds)))
    return sorted(out)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(passages_data())
def test_disagreement_passages_equal_a_character_by_character_reading(data):
    texts, rows = data
    study = build_study(texts, rows)
    index = [d.dimension for d in study.dimensions].index("d")
    got = sorted((p.source, p.start, p.end, p.differing, p.kinds) for p in span_disagreements(study, index))
    assert got == passages_by_characters(study, index)
