"""Tests for pipeline.report and the `capcode aggregate` command on tiny fixture files."""

import base64
import csv
import re

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.aggregate import aggregate, run_aggregate
from pipeline.cli import cli
from pipeline.config import AggregateParams
from pipeline.files import read_fragments
from pipeline.prediction_tables import read_predictions
from pipeline.report import CSV_HEADER, cell_code, overview_text, sheet_name

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def written(tmp_path_factory, data_dir):
    """Run the aggregate once on the fixtures (codings and predictions) and keep the result."""
    out = tmp_path_factory.mktemp("aggregate")
    result = run_aggregate(data_dir / "aggregate_fragments.jsonl", out, [data_dir / "aggregate_codings.csv"],
                           data_dir / "aggregate_predictions.jsonl", "default", AggregateParams())
    return out, result


@pytest.fixture(scope="module")
def written_en(tmp_path_factory, data_dir):
    """The same aggregate with `report.language: en`."""
    out = tmp_path_factory.mktemp("aggregate_en")
    result = run_aggregate(data_dir / "aggregate_fragments.jsonl", out, [data_dir / "aggregate_codings.csv"],
                           data_dir / "aggregate_predictions.jsonl", "default", AggregateParams(), language="en")
    return out, result


def test_every_output_is_written(written):
    out, _ = written
    names = {p.name for p in out.iterdir()}
    assert {"summary.md", "report.html", "aggregates.xlsx", "aggregates.csv", "heatmap.png", "profiles.png",
            "overview.txt"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert (out / "heatmap.png").read_bytes().startswith(PNG_MAGIC)


def test_csv_has_one_row_per_case_and_cell_with_human_and_model_counts(written):
    out, _ = written
    with open(out / "aggregates.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 2 * 8
    row = next(r for r in rows if r["case"] == "Case 1" and r["niveau"] == "operationeel"
               and r["locus"] == "extern" and r["domein"] == "beheer")
    # fragments 5 and 6 of case 1 are predicted only: both land here
    assert (row["n"], row["share"], row["n_human"], row["n_model"]) == ("2", "0.4", "0", "2")
    human_won = next(r for r in rows if r["case"] == "Case 1" and r["niveau"] == "strategisch"
                     and r["locus"] == "intern" and r["domein"] == "beleid")
    # fragment 1 is coded strategisch/intern/beleid and predicted operationeel/extern/beheer: the human wins
    assert (human_won["n"], human_won["n_human"], human_won["n_model"], human_won["share_negatief"]) == ("2", "2", "0", "0.0")
    assert sum(float(r["share"]) for r in rows if r["case"] == "Case 2") == pytest.approx(1.0)


def test_abstained_prediction_counted_apart_as_te_beoordelen(written):
    _, result = written
    case2 = result.cases[1]
    assert case2.case == "Case 2" and case2.n_pending_model == 1 and case2.n_relevant == 4
    text = overview_text(result)
    assert "te beoordelen" in text.splitlines()[0]
    assert re.search(r"^Case 2\s+4\s", text, re.MULTILINE)


def test_summary_has_overview_types_tables_quotes_and_roles(written_en):
    out, _ = written_en
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "## Overview" in summary and "| Case 1 | 5 |" in summary and "| All cases | 9 |" in summary
    assert "Rule: R = share of relevant fragments that name the director role itself" in summary
    assert "| Case 2 | 25% (1/4) | 0% (0/4) | 0% (0/1) | 1: no explicit strategic choice for integration policy" in summary
    assert "### Strategisch" in summary and "| Beheerscapaciteit | 1 (20%), 100% negatief | 0 |" in summary
    # a negatief quote is printed in italics, with its respondent
    assert "“*Wij staan niet goed op het organogram, we hebben het mandaat niet om horizontaal te werken.*” (R1, ambtelijk; human)" in summary
    assert "## By respondent role" in summary and "| Case 1 | politiek |" in summary


def test_summary_in_dutch_is_dutch_throughout(written):
    out, _ = written
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# capcode: capaciteit per case\n\nBronnen: coderingen, voorspellingen; codeboek")
    assert "## Overzicht" in summary and "| Case 1 | 5 |" in summary and "| Alle cases | 9 |" in summary
    assert "Regel: R = aandeel van de relevante fragmenten dat de regierol zelf noemt" in summary
    assert "| Case 2 | 25% (1/4) | 0% (0/4) | 0% (0/1) | 1: geen expliciete strategische keuze" in summary
    assert "(R1, ambtelijk; handmatig)" in summary and "## Per rol van de respondent" in summary
    for english in ("Overview", "Rule", "human", "Sources", "relevant fragments placed", "By respondent role",
                    "## Legend\n", "uncoded", "share of"):
        assert english not in summary, english


def test_every_mark_has_a_legend_in_both_languages(written, written_en):
    for (out, _), italics, heading in ((written, "*cursief*", "## Legenda"), (written_en, "*italics*", "## Legend")):
        summary = (out / "summary.md").read_text(encoding="utf-8")
        legend = summary.split(heading, 1)[1].split("\n## ", 1)[0]
        assert f"- {italics} " in legend and "`s.i.bel` = Strategisch / Intern / Beleidscapaciteit" in legend
        for mark in ("n (x%)", "–:", "S, R, N", "x% negatief"):
            assert mark in legend, mark
        page = (out / "report.html").read_text(encoding="utf-8")
        legend_html = page.split("<ul class='note'>", 1)[1].split("</ul>", 1)[0]
        assert "<i>" in legend_html and "<code>s.i.bel</code>" in legend_html and "class='pending'" in legend_html
        assert legend_html.count("<li>") == legend.count("\n- ") + 1  # and the colour of a cell


def test_report_language_sets_the_page_language_and_the_sheet_names(written, written_en):
    for (out, _), language, sheets, pending in ((written, "nl", ["overzicht", "rollen"], "te beoordelen"),
                                                (written_en, "en", ["overview", "roles"], "to review")):
        page = (out / "report.html").read_text(encoding="utf-8")
        assert page.startswith(f"<!doctype html><html lang='{language}'>")
        book = load_workbook(out / "aggregates.xlsx")
        assert book.sheetnames == [sheets[0], "Case 1", "Case 2", sheets[1]]
        assert book["Case 1"].cell(row=book["Case 1"].max_row, column=1).value == pending
        overview = (out / "overview.txt").read_text(encoding="utf-8")
        assert pending in overview.splitlines()[0]
    page = (written[0] / "report.html").read_text(encoding="utf-8")
    for english in (">Overview<", ">Legend<", " human / ", "Sources:", "By respondent role"):
        assert english not in page, english


def test_shares_in_the_workbook_are_numbers_with_a_percent_format(written):
    out, _ = written
    book = load_workbook(out / "aggregates.xlsx")
    overview = book["overzicht"]
    header = [c.value for c in overview[1]]
    share = overview.cell(row=2, column=header.index("s.i.bel") + 1)
    assert share.data_type == "n" and share.number_format == "0%" and share.value == pytest.approx(0.4)
    case = book["Case 1"]
    case_header = [c.value for c in case[1]]
    assert case_header[4:7] == ["aandeel", "aandeel negatief", "n handmatig"]
    first = case.cell(row=2, column=5)
    assert first.data_type == "n" and first.number_format == "0%" and 0 < first.value <= 1
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref


def test_html_is_self_contained_with_embedded_pngs(written):
    out, _ = written
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<style>" in page and "http://" not in page and "https://" not in page
    sources = re.findall(r"src='([^']+)'", page)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert base64.b64decode(sources[0].split(",", 1)[1]).startswith(PNG_MAGIC)
    assert "Case 2" in page and "te beoordelen" in page
    assert "&lt;" not in page.split("<body>")[0]  # escaping only where text is inserted


def test_xlsx_has_overview_one_sheet_per_case_and_roles(written):
    out, _ = written
    book = load_workbook(out / "aggregates.xlsx", read_only=True)
    assert book.sheetnames == ["overzicht", "Case 1", "Case 2", "rollen"]
    rows = list(book["Case 1"].iter_rows(values_only=True))
    assert rows[0][:4] == ("strategisch_operationeel", "intern_extern", "beleid_beheer", "n")
    assert rows[1][:4] == ("strategisch", "intern", "beleid", 2)
    assert rows[-1][0] == "te beoordelen"
    book.close()


def test_report_tables_comparison_in_summary(tmp_path, data_dir):
    tables = tmp_path / "report_tables.csv"
    tables.write_text("case,table,column,row,item\n"
                      "Case 1,strategisch,intern,beleid,Strategisch meerjarenplan\n"
                      "Case 1,operationeel,intern,beleid,Integratieambtenaar\n", encoding="utf-8")
    cases = tmp_path / "cases.csv"
    cases.write_text("case,name,type\ncase1,Case 1,3\ncase2,Case 2,1\n", encoding="utf-8")
    run_aggregate(data_dir / "aggregate_fragments.jsonl", tmp_path / "out", [data_dir / "aggregate_codings.csv"],
                  None, "default", AggregateParams(), report_tables=tables, cases=cases, language="en")
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "## Computed tables beside the report's tables" in summary
    assert "| Case 1 | Strategisch / Intern / Beleidscapaciteit | Strategisch meerjarenplan | 2 (67%), 0% negatief | both |" in summary
    assert "| Case 1 | Operationeel / Intern / Beleidscapaciteit | Integratieambtenaar | 0 | report only |" in summary
    # codings only: case 1 R = 2/3 -> type 3 (as the table says); case 2 N = 0/1 -> type 1 (as the table says)
    assert "| Case 1 | 100% (3/3) | 67% (2/3) | 33% (1/3) | 3: strategic vision on the director role itself |" in summary
    assert "The rule gives the report's own type for 2 of 2 cases." in summary


def test_cases_table_with_a_bad_type_names_the_line(tmp_path, data_dir):
    cases = tmp_path / "cases.csv"
    cases.write_text("case,type\nCase 1,3\nCase 2,vier\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["aggregate", "--fragments", str(data_dir / "aggregate_fragments.jsonl"),
                                      "--codings", str(data_dir / "aggregate_codings.csv"), "--cases", str(cases),
                                      "--out", str(tmp_path / "agg")], obj={})
    assert result.exit_code == 1
    assert "cases.csv, line 3, column 'type': 'vier' is not a ch. 6 type" in result.output


def test_cli_prints_the_overview_and_writes_reports(tmp_path, data_dir):
    result = CliRunner().invoke(cli, ["aggregate", "--fragments", str(data_dir / "aggregate_fragments.jsonl"),
                                      "--predictions", str(data_dir / "aggregate_predictions.jsonl"),
                                      "--out", str(tmp_path / "agg")], obj={})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("case")
    assert "Case 1" in result.output and "Alle cases" in result.output
    assert (tmp_path / "agg" / "report.html").exists()


def test_cli_without_codings_or_predictions_is_a_one_line_error(tmp_path, data_dir):
    result = CliRunner().invoke(cli, ["aggregate", "--fragments", str(data_dir / "aggregate_fragments.jsonl"),
                                      "--out", str(tmp_path / "agg")], obj={})
    assert result.exit_code == 1
    assert "Error: give --codings, --predictions or both" in result.output
    assert not (tmp_path / "agg").exists()


def test_cli_predictions_for_other_fragments_is_an_error(tmp_path, data_dir):
    other = tmp_path / "other.jsonl"
    other.write_text('{"fragment_id": "x.txt#0-5", "dimension": "relevant", "value": "ja", "probability": 0.9}\n',
                     encoding="utf-8")
    result = CliRunner().invoke(cli, ["aggregate", "--fragments", str(data_dir / "aggregate_fragments.jsonl"),
                                      "--predictions", str(other), "--out", str(tmp_path / "agg")], obj={})
    assert result.exit_code == 1
    assert "other.jsonl: 1 of 1 predicted fragments are not in the fragments file ('x.txt#0-5')" in result.output


def test_cli_codebook_without_the_named_dimensions_says_what_to_set(tmp_path, data_dir):
    book = tmp_path / "thema.yaml"
    book.write_text("name: thema\nversion: '1'\ndimensions:\n  - id: thema\n    values: [wonen, werk]\n",
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["aggregate", "--fragments", str(data_dir / "aggregate_fragments.jsonl"),
                                      "--predictions", str(data_dir / "aggregate_predictions.jsonl"),
                                      "--codebook", str(book), "--out", str(tmp_path / "agg")], obj={})
    assert result.exit_code == 1
    assert "aggregate.niveau names dimension 'strategisch_operationeel'" in result.output
    assert "Traceback" not in result.output


def test_sheet_names_are_excel_safe_and_unique():
    taken = set()
    assert sheet_name("Case 1/2: [x]", taken) == "Case 1_2_ _x_"
    assert sheet_name("a" * 40, taken) == "a" * 31
    assert sheet_name("a" * 40, taken) == "a" * 27 + " (2)"


def test_cell_codes_are_short_and_distinct(data_dir):
    fragments = list(read_fragments(data_dir / "aggregate_fragments.jsonl"))
    result = aggregate(fragments, (), read_predictions(data_dir / "aggregate_predictions.jsonl"), AggregateParams())
    codes = [cell_code(result.layout, c) for c in result.layout.cells()]
    assert len(set(codes)) == len(codes)
    assert all(len(c) <= 12 for c in codes)


def test_data_cannot_put_html_or_markdown_into_the_reports(tmp_path):
    import json

    hostile_case = "<script>alert('case')</script>"
    fragments = tmp_path / "f.jsonl"
    texts = ["<img src=x onerror=alert(1)> het strategisch *plan* [link](javascript:x) `code`",
             "</td><script>alert(2)</script> operationeel werk"]
    records, start = [], 0
    for i, text in enumerate(texts):
        records.append({"id": f"a.txt#{start}-{start + len(text)}", "source": "a.txt", "case": hostile_case,
                        "respondent": "<b>R1</b>", "role": "ambtelijk", "start_char": start,
                        "end_char": start + len(text), "text": text})
        start += len(text) + 1
    fragments.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    codings = tmp_path / "c.csv"
    codings.write_text("fragment_id,coder,relevant,strategisch_operationeel,intern_extern,beleid_beheer,impact\n"
                       + "".join(f"{r['id']},anna,ja,strategisch,intern,beleid,negatief\n" for r in records),
                       encoding="utf-8")
    run_aggregate(fragments, tmp_path / "out", [codings], None, "default", AggregateParams())
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    for raw in ("<script", "<img", "</td>", "<b>", "[link](", "*plan*", "`code`"):
        assert raw not in summary, raw
    assert "&lt;script>alert('case')&lt;/script>" in summary and "\\*plan\\*" in summary
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    body = page.split("<body>", 1)[1]
    assert "<script" not in body and "<img src=x" not in body and "<b>R1" not in body
    assert "&lt;script&gt;alert(&#x27;case&#x27;)&lt;/script&gt;" in body


def test_report_reasons_match_the_rule_in_both_languages():
    from pipeline.aggregate.typology import place_case
    from pipeline.report.language import Words

    params = AggregateParams()
    for counts in [(0, 0, 0, 0), (10, 1, 1, 5), (10, 5, 1, 4), (10, 5, 4, 1), (10, 5, 2, 1), (4, 0, 0, 0)]:
        profile = place_case(*counts, params)
        assert Words("en").reason(profile, params) == profile.reason
        dutch = Words("nl").reason(profile, params)
        assert dutch == profile.reason or profile.n_relevant == 0 and dutch.startswith("geen relevante fragmenten")
