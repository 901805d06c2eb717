"""REFI-QDA import and export: schema validity, round trip, offsets, code mapping, bad input."""

import csv
import json
import logging
import unicodedata
import zipfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner
from lxml import etree

from pipeline import qdpx
from pipeline.qdpx import importing, offsets
from pipeline.cli import cli
from pipeline.codebook import load_codebook
from pipeline.codings import read_codings
from pipeline.errors import CodebookError, InputError
from pipeline.files import read_fragments, write_table
from pipeline.prediction_tables import read_predictions, write_predictions
from pipeline.readers import read_plain_text
from pipeline.records import Coding, Prediction

SAMPLES = Path(__file__).parent / "data" / "refi_qda_samples"  # real tools' exports, see its README.md
NS = qdpx.PROJECT_NS


# ---- helpers ---------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def export_fixture(data_dir, out, *extra):
    return invoke("export-qdpx", "--fragments", data_dir / "qdpx_fragments.jsonl",
                  "--predictions", data_dir / "qdpx_predictions.jsonl",
                  "--codings", data_dir / "qdpx_codings.csv",
                  "--transcripts", data_dir / "qdpx_transcripts", "--out", out, *extra)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def project_root(path):
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read("project.qde"))


USER_A = "11111111-1111-1111-1111-111111111111"
USER_B = "22222222-2222-2222-2222-222222222222"
SRC = "33333333-3333-3333-3333-333333333333"


def _guid(number: int) -> str:
    return f"00000000-0000-0000-0000-{number:012d}"


def make_qde(sources, codes=None, users=None, origin="Test QDA 1.0", extra_sources=""):
    """A project.qde text: `sources` is [(guid, name, path_or_None, [(start, end, name, [(code guid, user)])])]."""
    users = users if users is not None else [(USER_A, "anna"), (USER_B, "bert")]
    codes = codes if codes is not None else (
        f'<Code guid="{_guid(1)}" name="impact" isCodable="false">'
        f'<Code guid="{_guid(2)}" name="negatief" isCodable="true"/>'
        f'<Code guid="{_guid(3)}" name="positief" isCodable="true"/></Code>'
        f'<Code guid="{_guid(4)}" name="relevant: ja" isCodable="true"/>'
        f'<Code guid="{_guid(5)}" name="Thema" isCodable="true"/>')
    number = 100
    parts = []
    for guid, name, path, selections in sources:
        body = []
        for start, end, sel_name, codings in selections:
            number += 1
            inner = "".join(f'<Coding guid="{_guid(number * 10 + i)}" creatingUser="{user}">'
                            f'<CodeRef targetGUID="{code}"/></Coding>' for i, (code, user) in enumerate(codings))
            body.append(f'<PlainTextSelection guid="{_guid(number)}" name="{sel_name}" startPosition="{start}" '
                        f'endPosition="{end}" creatingUser="{USER_A}">{inner}</PlainTextSelection>')
        attr = f' plainTextPath="{path}"' if path else ""
        parts.append(f'<TextSource guid="{guid}" name="{name}"{attr}>{"".join(body)}</TextSource>')
    user_xml = "".join(f'<User guid="{g}" name="{n}"/>' for g, n in users)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="test" origin="{origin}">\n'
            f'<Users>{user_xml}</Users>\n<CodeBook><Codes>{codes}</Codes></CodeBook>\n'
            f'<Sources>{"".join(parts)}{extra_sources}</Sources>\n</Project>\n')


def make_qdpx(path, qde, members):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        for name, data in members.items():
            archive.writestr(name, data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def one_source_project(tmp_path, text, selections, **kwargs):
    """A .qdpx with one text source 'interview' holding `text` and the given selections."""
    qde = make_qde([(SRC, "interview", f"internal://{SRC}.txt", selections)], **kwargs)
    return make_qdpx(tmp_path / "in.qdpx", qde, {f"sources/{SRC}.txt": text})


# ---- export ---------------------------------------------------------------------


def test_export_validates_against_the_project_schema_and_repeats_byte_for_byte(data_dir, tmp_path):
    first, second = tmp_path / "a.qdpx", tmp_path / "b.qdpx"
    result = export_fixture(data_dir, first)
    assert result.exit_code == 0, result.output
    assert "capcode-model-tfidf (4)" in result.output
    export_fixture(data_dir, second)
    assert first.read_bytes() == second.read_bytes()
    root = project_root(first)
    schema = etree.XMLSchema(etree.parse(str(qdpx.PROJECT_XSD)))
    assert schema.validate(root), schema.error_log
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist()[0] == "project.qde"
        for source in root.iter(f"{{{NS}}}TextSource"):
            member = "sources/" + source.get("plainTextPath").removeprefix("internal://")
            text = archive.read(member).decode("utf-8")
            assert text == read_plain_text(data_dir / "qdpx_transcripts" / source.get("name"))


def test_export_code_tree_users_and_suggestions(data_dir, tmp_path):
    export_fixture(data_dir, tmp_path / "p.qdpx")
    root = project_root(tmp_path / "p.qdpx")
    users = {u.get("name"): u.get("guid") for u in root.iter(f"{{{NS}}}User")}
    assert list(users) == ["anna", "bert", "capcode", "capcode-model-tfidf"]  # people first
    top = root.find(f"{{{NS}}}CodeBook/{{{NS}}}Codes")
    names = [c.get("name") for c in top.findall(f"{{{NS}}}Code")]
    codebook = load_codebook("default")
    assert names == [*codebook.dimension_ids, qdpx.REVIEW_CODE]
    colours = [c.get("color") for c in top.findall(f"{{{NS}}}Code")]
    assert len(set(colours)) == len(colours)  # a colour per dimension, grey for te beoordelen
    impact = top.find(f"{{{NS}}}Code[@name='impact']")
    assert impact.get("isCodable") == "false"
    assert tuple(c.get("name") for c in impact.findall(f"{{{NS}}}Code")) == codebook.value_ids("impact")
    review = {c.get("guid"): c.get("name") for c in top.find(f"{{{NS}}}Code[@name='{qdpx.REVIEW_CODE}']")}
    model = users["capcode-model-tfidf"]
    selection = next(s for s in root.iter(f"{{{NS}}}PlainTextSelection")
                     if s.get("creatingUser") == model and s.get("name") == "case1/r1.txt#119-150")
    assert (selection.get("startPosition"), selection.get("endPosition")) == ("119", "150")
    description = selection.find(f"{{{NS}}}Description").text
    assert "relevant = ja (p=0.90)" in description
    assert "impact: te beoordelen (beste gok negatief p=0.41; daarna neutraal p=0.39)" in description
    refs = [c.find(f"{{{NS}}}CodeRef").get("targetGUID") for c in selection.findall(f"{{{NS}}}Coding")]
    assert sorted(review[r] for r in refs if r in review) == ["impact", "strategisch_operationeel"]
    assert all(c.get("creatingUser") == model for c in selection.findall(f"{{{NS}}}Coding"))


def test_export_without_transcripts_rebuilds_text_at_the_same_offsets(data_dir, tmp_path):
    result = invoke("export-qdpx", "--fragments", data_dir / "qdpx_fragments.jsonl",
                    "--predictions", data_dir / "qdpx_predictions.jsonl", "--out", tmp_path / "p.qdpx")
    assert result.exit_code == 0, result.output
    project = qdpx.read_project(tmp_path / "p.qdpx")
    texts = {s.name: s.text for s in project.sources}
    for fragment in read_fragments(data_dir / "qdpx_fragments.jsonl"):
        assert texts[fragment.source][fragment.start_char:fragment.end_char] == fragment.text


def test_export_refuses_a_transcript_that_changed(data_dir, tmp_path):
    changed = tmp_path / "t"
    (changed / "case1").mkdir(parents=True)
    (changed / "case1" / "r1.txt").write_text("Iets heel anders.\n" * 20, encoding="utf-8")
    (changed / "r2.txt").write_text((data_dir / "qdpx_transcripts" / "r2.txt").read_text(encoding="utf-8"))
    with pytest.raises(InputError, match="changed after segmenting"):
        qdpx.run_export_qdpx(data_dir / "qdpx_fragments.jsonl", data_dir / "qdpx_predictions.jsonl",
                             tmp_path / "p.qdpx", "default", transcripts=changed)
    assert not (tmp_path / "p.qdpx").exists()


def test_export_qdc_validates_and_shares_guids_with_the_project(data_dir, tmp_path):
    result = invoke("export-qdc", "--codebook", "default", "--out", tmp_path / "cb.qdc")
    assert result.exit_code == 0, result.output
    tree = etree.parse(str(tmp_path / "cb.qdc"))
    schema = etree.XMLSchema(etree.parse(str(qdpx.CODEBOOK_XSD)))
    assert schema.validate(tree), schema.error_log
    assert tree.getroot().tag == f"{{{qdpx.CODEBOOK_NS}}}CodeBook"
    qdc_guids = {c.get("guid") for c in tree.iter(f"{{{qdpx.CODEBOOK_NS}}}Code")}
    export_fixture(data_dir, tmp_path / "p.qdpx")
    project_guids = {c.get("guid") for c in project_root(tmp_path / "p.qdpx").iter(f"{{{NS}}}Code")}
    assert qdc_guids and qdc_guids < project_guids  # the project adds only 'te beoordelen'


def test_export_lists_people_first_and_never_the_model_first(data_dir, tmp_path):
    """QualCoder makes the first <User> the one who codes next: a person, else capcode, never the model."""
    export_fixture(data_dir, tmp_path / "both.qdpx")
    invoke("export-qdpx", "--fragments", data_dir / "qdpx_fragments.jsonl", "--predictions",
           data_dir / "qdpx_predictions.jsonl", "--out", tmp_path / "model.qdpx")
    for name, first in (("both.qdpx", "anna"), ("model.qdpx", "capcode")):
        root = project_root(tmp_path / name)
        users = [u.get("name") for u in root.find(f"{{{NS}}}Users")]
        assert users[0] == first and users[-1] == "capcode-model-tfidf"
        assert root.get("creatingUserGUID") == next(u.get("guid") for u in root.iter(f"{{{NS}}}User")
                                                    if u.get("name") == "capcode")


def test_sources_carry_creating_user_time_and_case_as_a_variable(data_dir, tmp_path):
    export_fixture(data_dir, tmp_path / "p.qdpx")
    root = project_root(tmp_path / "p.qdpx")
    guids = {u.get("name"): u.get("guid") for u in root.iter(f"{{{NS}}}User")}
    variables = {v.get("guid"): v.get("name") for v in root.iter(f"{{{NS}}}Variable")}
    assert sorted(variables.values()) == ["case", "respondent", "rol"]
    cases = {f.source: f.case for f in read_fragments(data_dir / "qdpx_fragments.jsonl")}
    sources = list(root.iter(f"{{{NS}}}TextSource"))
    assert sources
    for source in sources:
        assert source.get("creatingUser") == guids["capcode"]
        assert source.get("creationDateTime") == qdpx.write.EXPORT_TIME
        values = {variables[v.find(f"{{{NS}}}VariableRef").get("targetGUID")]: v.find(f"{{{NS}}}TextValue").text
                  for v in source.findall(f"{{{NS}}}VariableValue")}
        assert values["case"] == cases[source.get("name")]
    stamped = [e for e in root.iter() if e.get("creationDateTime") is not None]
    assert {e.get("creationDateTime") for e in stamped} == {"1980-01-01T00:00:00Z"}
    assert {etree.QName(e).localname for e in stamped} == {"Project", "TextSource", "PlainTextSelection", "Coding"}


def test_creation_time_comes_from_created_or_source_date_epoch_never_the_clock(data_dir, tmp_path, monkeypatch):
    result = export_fixture(data_dir, tmp_path / "a.qdpx", "--created", "2024-05-31T16:00:00+02:00")
    assert result.exit_code == 0, result.output
    times = {e.get("creationDateTime") for e in project_root(tmp_path / "a.qdpx").iter() if e.get("creationDateTime")}
    assert times == {"2024-05-31T14:00:00Z"}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1717164000")
    export_fixture(data_dir, tmp_path / "b.qdpx")
    assert project_root(tmp_path / "b.qdpx").get("creationDateTime") == "2024-05-31T14:00:00Z"
    export_fixture(data_dir, tmp_path / "c.qdpx")
    assert (tmp_path / "b.qdpx").read_bytes() == (tmp_path / "c.qdpx").read_bytes()
    bad = export_fixture(data_dir, tmp_path / "d.qdpx", "--created", "gisteren")
    assert bad.exit_code == 1 and bad.output.startswith("Error: --created gisteren: not a date and time")
    assert not (tmp_path / "d.qdpx").exists()


def test_case_survives_a_tool_that_drops_the_cases(data_dir, tmp_path):
    """A tool that ignores <Case><SourceRef> (as QualCoder's import does) keeps the source variable `case`."""
    export_fixture(data_dir, tmp_path / "p.qdpx")
    with zipfile.ZipFile(tmp_path / "p.qdpx") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    root = etree.fromstring(members["project.qde"])
    root.remove(root.find(f"{{{NS}}}Cases"))
    members["project.qde"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with zipfile.ZipFile(tmp_path / "nocases.qdpx", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    project = qdpx.read_project(tmp_path / "nocases.qdpx")
    cases = {f.source: f.case for f in read_fragments(data_dir / "qdpx_fragments.jsonl")}
    assert {s.name: s.case for s in project.sources} == cases


# ---- round trip -----------------------------------------------------------------


def test_import_of_an_export_gives_back_the_same_codings(data_dir, tmp_path):
    export_fixture(data_dir, tmp_path / "p.qdpx")
    result = invoke("import-qdpx", tmp_path / "p.qdpx", "--out", tmp_path / "imp")
    assert result.exit_code == 0, result.output
    assert "unmapped 0" in result.output and "te beoordelen 3" in result.output
    assert "capcode-model-tfidf (a capcode export): they are a model's, not a coder's" in result.output
    fragments = list(read_fragments(data_dir / "qdpx_fragments.jsonl"))
    # the imported texts are the transcripts as capcode reads them, under the same relative paths
    for fragment in fragments:
        text = read_plain_text(tmp_path / "imp" / "sources" / fragment.source)
        assert text[fragment.start_char:fragment.end_char] == fragment.text
    back = set(read_codings(tmp_path / "imp" / "codings.csv", codebook="default", fragments=fragments))
    human = set(read_codings(data_dir / "qdpx_codings.csv", codebook="default"))
    model = {Coding(p.fragment_id, "capcode-model-tfidf", p.dimension, p.value)
             for p in read_predictions(data_dir / "qdpx_predictions.jsonl") if not p.abstained}
    assert back == human | model
    summary = json.loads((tmp_path / "imp" / "qdpx_import.json").read_text())
    assert summary["coders"] == {"anna": 15, "bert": 10, "capcode-model-tfidf": 13}
    assert summary["offsets"] == "codepoints"


# ---- import: real tools' exports ---------------------------------------------------


def test_import_atlasti_sample_lists_its_code_tree_and_unmapped_codes(tmp_path, caplog):
    summary = qdpx.run_import_qdpx(SAMPLES / "atlasti-codebook-only.qdpx", tmp_path / "imp", "default")
    assert summary["origin"].startswith("ATLAS.ti") and summary["sources"] == 0
    codes = read_csv(tmp_path / "imp" / "codes.csv")
    assert [c["path"] for c in codes] == ["Commits", "Commits/2022-05-10T02:05:59Z 19e4dce",
                                         "Commits/2022-02-11T10:39:25Z cdbfd92"]
    unmapped = read_csv(tmp_path / "imp" / "unmapped_codes.csv")
    assert len(unmapped) == 3 and all(u["codings"] == "0" for u in unmapped)
    assert read_csv(tmp_path / "imp" / "codings.csv") == []


def test_import_nvivo_sample_keeps_users_and_skips_empty_texts(tmp_path):
    summary = qdpx.run_import_qdpx(SAMPLES / "nvivo-mac15-codetree.qdpx", tmp_path / "imp", "default")
    assert summary["skipped"] == {"text sources with an empty plain text": 2}
    codes = read_csv(tmp_path / "imp" / "codes.csv")
    assert len(codes) == 262
    assert "rq1_definition/competencies/programming" in {c["path"] for c in codes}


# ---- import: code mapping -----------------------------------------------------------


TEXT = "R1: Het overleg verloopt stroef. We hebben geen budget.\n"


def test_codes_map_by_hierarchy_and_by_name_and_unmapped_are_listed(tmp_path, caplog):
    selections = [(4, 32, "Het overleg verloopt stroef.", [(_guid(2), USER_A), (_guid(4), USER_A), (_guid(5), USER_A)]),
                  (33, 55, "We hebben geen budget.", [(_guid(2), USER_B)])]
    project = one_source_project(tmp_path, TEXT, selections)
    with caplog.at_level(logging.WARNING, logger="capcode"):
        summary = qdpx.run_import_qdpx(project, tmp_path / "imp", "default")
    rows = read_csv(tmp_path / "imp" / "codings.csv")
    assert [(r["source"], r["start_char"], r["end_char"], r["coder"], r["dimension"], r["value"], r["code"])
            for r in rows] == [
        ("interview.txt", "4", "32", "anna", "impact", "negatief", "impact/negatief"),
        ("interview.txt", "4", "32", "anna", "relevant", "ja", "relevant: ja"),
        ("interview.txt", "33", "55", "bert", "impact", "negatief", "impact/negatief")]
    unmapped = read_csv(tmp_path / "imp" / "unmapped_codes.csv")
    assert [(u["path"], u["codings"]) for u in unmapped] == [("Thema", "1")]
    assert "1 codings use 1 codes that match no dimension/value" in caplog.text
    assert summary["coders"] == {"anna": 2, "bert": 1}
    sources = read_csv(tmp_path / "imp" / "sources.csv")
    assert sources[0]["guid"] == SRC and sources[0]["name"] == "interview" and sources[0]["file"] == "interview.txt"


def test_mapping_file_maps_other_names_and_can_leave_codes_out(tmp_path):
    codes = (f'<Code guid="{_guid(1)}" name="Thema\'s" isCodable="false">'
             f'<Code guid="{_guid(2)}" name="Moeizaam overleg" isCodable="true"/></Code>'
             f'<Code guid="{_guid(3)}" name="Memo" isCodable="true"/>')
    project = one_source_project(tmp_path, TEXT, [(4, 32, "x", [(_guid(2), USER_A), (_guid(3), USER_A)])], codes=codes)
    mapping = tmp_path / "map.csv"
    mapping.write_text("code,dimension,value\nThema's / Moeizaam overleg,Impact,Negatief\nMemo,,\n", encoding="utf-8")
    summary = qdpx.run_import_qdpx(project, tmp_path / "imp", "default", mapping_path=mapping)
    rows = read_csv(tmp_path / "imp" / "codings.csv")
    assert [(r["dimension"], r["value"]) for r in rows] == [("impact", "negatief")]
    assert read_csv(tmp_path / "imp" / "unmapped_codes.csv") == []
    statuses = {c["path"]: c["status"] for c in read_csv(tmp_path / "imp" / "codes.csv")}
    assert statuses["Memo"] == "ignored" and summary["unmapped_codings"] == 0


def test_mapping_file_with_a_value_outside_the_codebook_names_the_row(tmp_path):
    project = one_source_project(tmp_path, TEXT, [])
    mapping = tmp_path / "map.csv"
    mapping.write_text("code,dimension,value\nThema,impact,heel slecht\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"map.csv, line 2: 'heel slecht' is not a value of dimension 'impact'"):
        qdpx.run_import_qdpx(project, tmp_path / "imp", "default", mapping_path=mapping)


# ---- import: offsets ------------------------------------------------------------------

EMOJI = "R1: Top 🙂 dag. Het overleg verloopt stroef.\n"   # the emoji is one code point, two UTF-16 units
START = EMOJI.index("Het")
END = EMOJI.index("stroef.") + len("stroef.")


def _imported(tmp_path, text, start, end, name="Het overleg verloopt stroef.", **kwargs):
    project = one_source_project(tmp_path, text, [(start, end, name, [(_guid(2), USER_A)])])
    summary = qdpx.run_import_qdpx(project, tmp_path / "imp", "default", **kwargs)
    row = read_csv(tmp_path / "imp" / "codings.csv")[0]
    written = read_plain_text(tmp_path / "imp" / "sources" / row["source"])
    return summary, written[int(row["start_char"]):int(row["end_char"])]


def test_code_point_offsets_are_taken_as_they_are(tmp_path):
    summary, selected = _imported(tmp_path, EMOJI, START, END)
    assert summary["offsets"] == "codepoints" and selected == "Het overleg verloopt stroef."


def test_utf16_offsets_are_detected_from_the_selection_names_and_converted(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="capcode"):
        summary, selected = _imported(tmp_path, EMOJI, START + 1, END + 1)
    assert summary["offsets"] == "utf16" and selected == "Het overleg verloopt stroef."
    assert "UTF-16 code units" in caplog.text and "not in Unicode code points" in caplog.text


def test_utf16_offsets_are_detected_when_a_selection_ends_past_the_code_points(tmp_path):
    text = "R1: 🙂🙂 prima.\n"
    start, end = text.index("prima"), len(text) - 1
    summary, selected = _imported(tmp_path, text, start + 2, end + 2, name="")
    assert summary["offsets"] == "utf16" and selected == "prima."


def test_ambiguous_emoji_text_says_how_to_force_utf16(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="capcode"):
        summary, selected = _imported(tmp_path, EMOJI, START + 1, END + 1, name="")
    assert summary["offsets"] == "codepoints" and "--offsets utf16" in caplog.text
    summary, selected = _imported(tmp_path, EMOJI, START + 1, END + 1, name="", offsets="utf16")
    assert selected == "Het overleg verloopt stroef."


CRLF = "I: Hoe gaat het?\r\nR1: Het overleg verloopt stroef.\r\nI: Waarom?\r\nR1: Geen budget.\r\n"


def test_crlf_counted_as_two_is_standard_and_written_with_lf(tmp_path):
    start = CRLF.index("Het")
    summary, selected = _imported(tmp_path, CRLF, start, start + 28)
    assert summary["offsets"] == "codepoints" and selected == "Het overleg verloopt stroef."
    written = (tmp_path / "imp" / "sources" / "interview.txt").read_bytes()
    assert b"\r" not in written


def test_crlf_counted_as_one_is_detected_and_converted(tmp_path, caplog):
    start = CRLF.replace("\r\n", "\n").index("Geen")
    with caplog.at_level(logging.WARNING, logger="capcode"):
        summary, selected = _imported(tmp_path, CRLF, start, start + 12, name="Geen budget.")
    assert summary["offsets"] == "crlf-as-one" and selected == "Geen budget."
    assert "Windows line end (CR LF) counted once" in caplog.text


def test_lf_counted_as_two_is_detected_and_converted(tmp_path):
    text = CRLF.replace("\r\n", "\n")
    start = CRLF.index("Geen")
    summary, selected = _imported(tmp_path, text, start, start + 12, name="Geen budget.")
    assert summary["offsets"] == "lf-as-two" and selected == "Geen budget."


def test_decomposed_accents_are_written_in_nfc_and_offsets_follow(tmp_path):
    text = "R1: Cafe\u0301 en re\u0301gie zijn belangrijk.\n"   # NFD: e + combining acute
    start = text.index("zijn")
    summary, selected = _imported(tmp_path, text, start, start + len("zijn belangrijk."), name="")
    assert selected == "zijn belangrijk."
    assert "régie" in read_plain_text(tmp_path / "imp" / "sources" / "interview.txt")


# ---- import: bad input ---------------------------------------------------------------


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "x.qdpx"
    path.write_text("hello", encoding="utf-8")
    result = invoke("import-qdpx", path, "--out", tmp_path / "imp")
    assert result.exit_code == 1
    assert "not a zip archive, so not a REFI-QDA project" in result.output
    assert not (tmp_path / "imp").exists()


def test_a_zip_without_project_qde_is_refused(tmp_path):
    path = make_qdpx(tmp_path / "x.qdpx", "<a/>", {})
    with zipfile.ZipFile(tmp_path / "y.qdpx", "w") as archive:
        archive.writestr("data.txt", "x")
    with pytest.raises(InputError, match="no project.qde inside"):
        qdpx.read_project(tmp_path / "y.qdpx")
    with pytest.raises(InputError, match=r"root element is <a>"):
        qdpx.read_project(path)


def test_a_codebook_file_zipped_as_a_project_is_named(tmp_path):
    qdc = qdpx.build_codebook_xml(load_codebook("default"))
    path = make_qdpx(tmp_path / "x.qdpx", qdc, {})
    with pytest.raises(InputError, match="a REFI-QDA codebook, not a project"):
        qdpx.read_project(path)


def test_schema_violation_names_line_and_element(tmp_path):
    qde = make_qde([(SRC, "interview", f"internal://{SRC}.txt", [(4, "x12", "a", [])])])
    path = make_qdpx(tmp_path / "x.qdpx", qde, {f"sources/{SRC}.txt": TEXT})
    result = invoke("import-qdpx", path, "--out", tmp_path / "imp")
    assert result.exit_code == 1
    assert "x.qdpx: project.qde, line 5: does not follow the REFI-QDA project schema" in result.output
    assert "Element 'PlainTextSelection', attribute 'endPosition': 'x12' is not a valid value" in result.output


def test_malformed_xml_names_the_line(tmp_path):
    path = make_qdpx(tmp_path / "x.qdpx", '<?xml version="1.0"?>\n<Project name="a">\n<Users>\n</Project>', {})
    with pytest.raises(InputError, match=r"project.qde, line 4: not well-formed XML"):
        qdpx.read_project(path)


def test_a_source_missing_from_the_zip_is_named(tmp_path):
    qde = make_qde([(SRC, "interview 7", f"internal://{SRC}.txt", [])])
    path = make_qdpx(tmp_path / "x.qdpx", qde, {})
    with pytest.raises(InputError, match=r'<TextSource name="interview 7"> refers to .*which is missing from the zip'):
        qdpx.read_project(path)


def test_a_selection_outside_the_text_is_named(tmp_path):
    project = one_source_project(tmp_path, TEXT, [(4, 500, "x", [(_guid(2), USER_A)])])
    with pytest.raises(InputError) as error:
        qdpx.run_import_qdpx(project, tmp_path / "imp", "default")
    message = str(error.value)
    assert "project.qde, line 5: <PlainTextSelection guid=" in message
    assert "runs from 4 to 500, outside its text of 56 characters" in message
    assert not (tmp_path / "imp").exists()


def test_duplicated_guids_are_named_with_both_elements(tmp_path):
    codes = (f'<Code guid="{_guid(1)}" name="impact" isCodable="true"/>'
             f'<Code guid="{_guid(1).upper()}" name="impact2" isCodable="true"/>')
    project = one_source_project(tmp_path, TEXT, [], codes=codes)
    with pytest.raises(InputError, match=r'<Code name="impact2"> has GUID .* already used by <Code name="impact">'):
        qdpx.read_project(project)


def test_a_coding_of_an_unknown_code_is_named(tmp_path):
    project = one_source_project(tmp_path, TEXT, [(4, 32, "x", [(_guid(99), USER_A)])])
    with pytest.raises(InputError, match=r"<Coding guid=.*refers to code .*not in the CodeBook"):
        qdpx.read_project(project)


def test_plain_text_that_is_not_utf8_is_refused(tmp_path):
    project = one_source_project(tmp_path, "Caf\xe9".encode("latin-1"), [])
    with pytest.raises(InputError, match="not UTF-8"):
        qdpx.read_project(project)


def test_zip_slip_names_never_write_outside_the_output_folder(tmp_path):
    evil = "../../../evil"
    qde = make_qde([(SRC, evil, "internal://../../escape.txt", [(0, 4, "R1: ", [(_guid(2), USER_A)])]),
                    (_guid(7), "/etc/passwd", f"internal://{_guid(7)}.txt", []),
                    (_guid(8), "..", f"internal://{_guid(8)}.txt", [])])
    members = {"sources/../../escape.txt": TEXT, f"sources/{_guid(7)}.txt": TEXT, f"sources/{_guid(8)}.txt": TEXT,
               "../outside.txt": "x"}
    path = make_qdpx(tmp_path / "x.qdpx", qde, members)
    out = tmp_path / "deep" / "imp"
    summary = qdpx.run_import_qdpx(path, out, "default")
    assert summary["sources"] == 3
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written == {"codes.csv", "codings.csv", "manifest.csv", "qdpx_import.json", "sources.csv",
                       "sources/etc/passwd.txt", "sources/evil.txt", f"sources/{_guid(8)}.txt", "unmapped_codes.csv"}
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        {"x.qdpx", "deep", "imp", "sources", "etc", *[Path(w).name for w in written]})


def test_safe_relative_path_strips_traversal_and_odd_characters():
    assert str(importing.safe_relative_path("../a/./b:c.docx", "g")) == "a/b_c.txt"
    assert str(importing.safe_relative_path("C:\\Users\\x\\Interview 1.TXT", "g")) == "C_/Users/x/Interview 1.txt"
    assert str(importing.safe_relative_path("..", "guid")) == "guid.txt"


# ---- the sample study ------------------------------------------------------------------

ROOT = Path(__file__).parent.parent


def _renamed(fragment_id: str) -> str:
    """A fragment id after import: the source file becomes .txt (case1_r4.docx#1-9 -> case1_r4.txt#1-9)."""
    source, span = fragment_id.split("#")
    return f"{importing.safe_relative_path(source, source)}#{span}"


def test_sample_study_round_trip(tmp_path):
    sample = ROOT / "data" / "sample"
    fragments_path, again_path = tmp_path / "fragments.jsonl", tmp_path / "again.jsonl"
    result = invoke("segment", sample / "transcripts", "--manifest", sample / "manifest.csv", "--out", fragments_path)
    assert result.exit_code == 0, result.output
    fragments = list(read_fragments(fragments_path))
    team = read_codings([sample / "codings" / "team.csv", sample / "codings" / "coder2.csv"],
                        codebook="default", fragments=fragments)
    predictions = [Prediction(c.fragment_id, c.dimension, c.value, 0.9 if i % 3 else 0.4, None, None, i % 3 == 0,
                              "sample") for i, c in enumerate(x for x in team if x.coder == "team")]
    write_predictions(tmp_path / "predictions.jsonl", predictions)
    codings_path = tmp_path / "codings.csv"
    write_table(codings_path, ("fragment_id", "coder", "dimension", "value"),
                [(c.fragment_id, c.coder, c.dimension, c.value) for c in team])

    result = invoke("export-qdpx", "--fragments", fragments_path, "--predictions", tmp_path / "predictions.jsonl",
                    "--codings", codings_path, "--transcripts", sample / "transcripts", "--out", tmp_path / "s.qdpx")
    assert result.exit_code == 0, result.output
    result = invoke("import-qdpx", tmp_path / "s.qdpx", "--out", tmp_path / "imp")
    assert result.exit_code == 0, result.output
    result = invoke("segment", tmp_path / "imp" / "sources", "--manifest", tmp_path / "imp" / "manifest.csv",
                    "--out", again_path)
    assert result.exit_code == 0, result.output

    again = list(read_fragments(again_path))
    assert [(_renamed(f.id), f.start_char, f.end_char, f.text, f.case, f.respondent, f.role) for f in fragments] == \
        [(f.id, f.start_char, f.end_char, f.text, f.case, f.respondent, f.role) for f in again]
    assert {f.role for f in again} >= {"ambtelijk", "politiek"}
    back = set(read_codings(tmp_path / "imp" / "codings.csv", codebook="default", fragments=again))
    expected = {Coding(_renamed(c.fragment_id), c.coder, c.dimension, c.value) for c in team} | \
        {Coding(_renamed(p.fragment_id), "capcode-model-sample", p.dimension, p.value)
         for p in predictions if not p.abstained}
    assert len(fragments) > 100 and len(back) > 500
    assert back == expected


def test_a_damaged_zip_member_is_named(tmp_path):
    path = one_source_project(tmp_path, TEXT, [])
    data = bytearray(path.read_bytes())
    at = data.index(b"<Users>")
    data[at + 1] = ord("X")  # stored, not compressed: the CRC check fails
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"cannot read 'project.qde' from the zip .*export the project again"):
        qdpx.read_project(path)


def test_import_again_into_the_same_folder_works_but_foreign_texts_are_refused(tmp_path):
    project = one_source_project(tmp_path, TEXT, [(4, 32, "x", [(_guid(2), USER_A)])])
    qdpx.run_import_qdpx(project, tmp_path / "imp", "default")
    qdpx.run_import_qdpx(project, tmp_path / "imp", "default")  # same files: fine
    (tmp_path / "imp" / "sources" / "old interview.txt").write_text("R1: oud.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"holds files that are not in this project \(old interview.txt\)"):
        qdpx.run_import_qdpx(project, tmp_path / "imp", "default")


def test_a_qdc_codebook_given_as_project_is_explained(tmp_path):
    assert invoke("export-qdc", "--out", tmp_path / "cb.qdc").exit_code == 0
    result = invoke("import-qdpx", tmp_path / "cb.qdc", "--out", tmp_path / "imp")
    assert result.exit_code == 1
    assert "cb.qdc: a REFI-QDA codebook (.qdc), not a project (.qdpx)" in result.output


# ---- properties of the offset conversions --------------------------------------------

PIECES = ["a", "b", " ", "\u00e9", "\n", "\r\n", "\r", "\U0001F642", "e\u0301", "\u0301"]
TRICKY = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


def _tool_length(prefix: str, conv) -> int:
    """How a tool following `conv` counts `prefix`, computed independently of qdpx."""
    if conv.newline == "crlf-as-one":
        prefix = prefix.replace("\r\n", "\n")
    elif conv.newline == "lf-as-two":
        prefix = prefix.replace("\r\n", "\x00").replace("\n", "\r\n").replace("\x00", "\r\n")
    return len(prefix.encode("utf-16-le")) // 2 if conv.utf16 else len(prefix)


@settings(max_examples=60, deadline=None)
@given(TRICKY, st.data())
def test_tool_offsets_map_back_to_code_points(text, data):
    position = data.draw(st.integers(0, len(text)))
    if text[position - 1:position + 1] == "\r\n":
        position -= 1  # between CR and LF is not a position some tools can express
    for conv in offsets.CONVENTIONS:
        tool_position = _tool_length(text[:position], conv)
        mapping = offsets.tool_to_codepoints(text, conv, [tool_position, len(text) * 3 + 1])
        assert mapping[tool_position] == position
        assert len(text) * 3 + 1 not in mapping  # past the end: no position


def test_a_position_between_the_halves_of_an_emoji_does_not_exist_for_utf16():
    text = "a\U0001F642b"
    mapping = offsets.tool_to_codepoints(text, offsets.convention("utf16"), range(6))
    assert mapping == {0: 0, 1: 1, 3: 2, 4: 3}


def _stable_bounds(text: str) -> list:
    """Positions that are not inside a piece: not between CR and LF, not before a combining mark."""
    return [i for i in range(len(text) + 1)
            if i == len(text) or not (unicodedata.combining(text[i]) or text[i - 1:i + 1] == "\r\n")]


@settings(max_examples=60, deadline=None)
@given(TRICKY, st.data())
def test_normalised_text_keeps_every_span(text, data):
    bounds = _stable_bounds(text)
    a, b = sorted(data.draw(st.lists(st.sampled_from(bounds), min_size=2, max_size=2)))
    new, moves = offsets.as_capcode_sees_it(text, [a, b])
    assert new == unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    moves = moves or {i: i for i in range(len(text) + 1)}
    piece = unicodedata.normalize("NFC", text[a:b].replace("\r\n", "\n").replace("\r", "\n"))
    assert new[moves[a]:moves[b]] == piece


# characters where NFC does more than compose a letter with its accents: Hangul jamo (two
# starters composing), Kannada and Tamil vowel parts, a starter decomposing into marks (U+0F73),
# singletons (U+212B), composition exclusions (U+FB1D), a mark decomposing into two (U+0344),
# marks of different classes that get reordered
HARD = ["a", "e", "\n", "\r", "\u0301", "\u0323", "\u0308", "\u1100", "\u1161", "\u11a8", "\uac00",
        "\u0cc6", "\u0cd5", "\u0bc6", "\u0bbe", "\u0f71", "\u0f72", "\u0f73", "\u212b", "\ufb1d",
        "\u05b4", "\u0344", "\u0345", "\u1e0b", "\U0001F642"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(HARD), max_size=40).map("".join), st.data())
def test_normalising_piece_by_piece_equals_normalising_the_whole(text, data):
    positions = data.draw(st.lists(st.integers(0, len(text)), max_size=6))
    with mock.patch.object(offsets, "_aligned_positions", side_effect=AssertionError("fell back")):
        new, moves = offsets.as_capcode_sees_it(text, positions + [0, len(text)])
    expected = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    assert new == expected
    if moves is None:
        return
    assert moves[0] == 0 and moves[len(text)] == len(new)
    ordered = [moves[p] for p in sorted(set(positions + [0, len(text)]))]
    assert ordered == sorted(ordered) and all(0 <= m <= len(new) for m in ordered)


def test_the_pieces_that_can_change_are_found_without_the_fallback(monkeypatch):
    def no_fallback(*args):
        raise AssertionError("fell back to aligning the whole line")

    monkeypatch.setattr(offsets, "_aligned_positions", no_fallback)
    for text in ["\u1100\u1161\u11a8x", "\u0cc6\u0cd5 \u0bc6\u0bbe", "a\u0f73\u0323", "e\u0323\u0301\u212b\ufb1d",
                 "\u0344\u0345\r\n\uac00\u11a8"]:
        new, _ = offsets.as_capcode_sees_it(text, range(len(text) + 1))
        assert new == unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def test_cases_and_variables_become_a_manifest_and_come_back(tmp_path, data_dir):
    export_fixture(data_dir, tmp_path / "p.qdpx")
    root = project_root(tmp_path / "p.qdpx")
    assert [c.get("name") for c in root.iter(f"{{{NS}}}Case")] == ["1", "2"]
    qdpx.run_import_qdpx(tmp_path / "p.qdpx", tmp_path / "imp", "default")
    assert read_csv(tmp_path / "imp" / "manifest.csv") == [
        {"source": "case1/r1.txt", "case": "1", "respondent": "1", "role": "ambtelijk"},
        {"source": "r2.txt", "case": "2", "respondent": "2", "role": "ambtelijk"}]


def test_case_variables_from_another_tool_fill_the_manifest(tmp_path):
    variables = (f'<Variables><Variable guid="{_guid(60)}" name="Rol" typeOfVariable="Text"/>'
                 f'<Variable guid="{_guid(61)}" name="Respondent" typeOfVariable="Text"/></Variables>'
                 f'<Cases><Case guid="{_guid(62)}" name="Gent">'
                 f'<VariableValue><VariableRef targetGUID="{_guid(60)}"/><TextValue>Politiek</TextValue></VariableValue>'
                 f'<VariableValue><VariableRef targetGUID="{_guid(61)}"/><TextValue>R4</TextValue></VariableValue>'
                 f'<SourceRef targetGUID="{SRC}"/></Case></Cases>')
    qde = make_qde([(SRC, "interview", f"internal://{SRC}.txt", [])]).replace("</CodeBook>", "</CodeBook>" + variables)
    path = make_qdpx(tmp_path / "x.qdpx", qde, {f"sources/{SRC}.txt": TEXT})
    qdpx.run_import_qdpx(path, tmp_path / "imp", "default")
    assert read_csv(tmp_path / "imp" / "manifest.csv") == [
        {"source": "interview.txt", "case": "Gent", "respondent": "R4", "role": "politiek"}]
