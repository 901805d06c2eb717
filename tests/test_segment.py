"""Segmentation: fragments, sentences and turns with exact offsets, stable ids, bad input."""

import dataclasses
import json

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import SegmentParams
from pipeline.errors import ConfigError, InputError
from pipeline.readers import read_plain_text
from pipeline.segment import find_transcripts, group_sentences, iter_units, paragraphs, run_segment, run_text

FORMATS = ["readers_utf8.txt", "readers_bom.md", "readers_crlf.txt", "readers_cr.txt", "readers_cp1252.txt",
           "readers_utf16.txt", "readers_interview.docx", "readers_interview.odt", "readers_voices.vtt",
           "readers_speakers.srt", "readers_nospeakers.srt"]


@pytest.mark.parametrize("unit", ["fragment", "sentence", "turn"])
@pytest.mark.parametrize("name", FORMATS)
def test_offsets_point_into_the_plain_text_for_every_format(data_dir, nlp, name, unit):
    plain = read_plain_text(data_dir / name)
    units = list(iter_units([data_dir / name], SegmentParams(include_interviewer=True), unit, nlp=nlp))
    assert units
    for fragment in units:
        assert plain[fragment.start_char:fragment.end_char] == fragment.text
        assert fragment.id == f"{name}#{fragment.start_char}-{fragment.end_char}"
        assert fragment.text == fragment.text.strip() and fragment.n_words > 0


@pytest.mark.parametrize("unit", ["fragment", "sentence", "turn"])
def test_every_units_words_are_the_tokenizers_count_of_its_text(data_dir, nlp, unit):
    units = list(iter_units([data_dir / "segment_study", data_dir / "own_study"], SegmentParams(), unit, nlp=nlp))
    assert len({unit.source for unit in units}) > 3
    assert [unit.n_words for unit in units] == \
        [sum(not (token.is_punct or token.is_space) for token in nlp.tokenizer(unit.text)) for unit in units]


def test_word_files_give_the_respondent_answers_with_their_questions(data_dir, nlp):
    for name in ("readers_interview.docx", "readers_interview.odt"):
        units = list(iter_units([data_dir / name], SegmentParams(), "fragment", nlp=nlp))
        assert [(u.speaker, u.turn, u.text, u.context) for u in units] == [
            ("R", 2, "We hebben twee voltijdse medewerkers. Het budget is beperkt, bv. voor de taalcafés.",
             "Hoe is de dienst georganiseerd?"),
            ("R", 2, "Tweede alinea met “aanhalingstekens” en één café… Dat is zo.", "Hoe is de dienst georganiseerd?"),
            ("R", 4, "Ja, met de zelforganisaties.\nEn met het OCMW.", "Werkt u samen met verenigingen?"),
        ]


def test_fragments_are_whole_sentences_within_max_words_and_one_speaker(data_dir, nlp):
    params = SegmentParams(max_words=20)
    folder = data_dir / "segment_study"
    fragments = list(iter_units([folder], params, "fragment", nlp=nlp))
    sentences = list(iter_units([folder], params, "sentence", nlp=nlp))
    turns = {(t.source, t.turn): t for t in iter_units([folder], params, "turn", nlp=nlp)}
    sentence_spans = {(s.source, s.start_char) for s in sentences} | {(s.source, s.end_char) for s in sentences}
    for fragment in fragments:
        assert fragment.n_words <= 20
        assert (fragment.source, fragment.start_char) in sentence_spans   # starts at a sentence start
        assert (fragment.source, fragment.end_char) in sentence_spans     # ends at a sentence end
        turn = turns[(fragment.source, fragment.turn)]
        assert turn.start_char <= fragment.start_char < fragment.end_char <= turn.end_char
        assert "\n\n" not in fragment.text                                # never across a paragraph break
    case1 = [f for f in fragments if f.source == "case1_respondent4.txt"]
    assert [f.n_words for f in case1] == [15, 15, 10, 17, 19]              # as even as possible
    assert case1[0].text.startswith("Ik denk dat het belangrijk is")
    assert case1[3].text == "Overleggen is hier meer ad hoc, bv. met de dienst vrije tijd. Er is geen structureel overleg."


def test_metadata_context_and_sources_of_a_folder(data_dir, nlp):
    units = list(iter_units([data_dir / "segment_study"], SegmentParams(), "turn",
                            manifest=data_dir / "segment_manifest.csv", nlp=nlp))
    by_source = {}
    for unit in units:
        by_source.setdefault(unit.source, []).append(unit)
    assert list(by_source) == ["c2-r1.md", "case1_respondent4.txt", "sub/case3_respondent2.vtt"]
    first = by_source["case1_respondent4.txt"][0]
    assert (first.case, first.respondent, first.role, first.speaker) == ("case1", "respondent4", "ambtelijk", "R")
    assert first.context == "Hoe is het integratiebeleid hier georganiseerd?"
    named = by_source["c2-r1.md"]
    assert [(u.case, u.respondent, u.role, u.speaker) for u in named] == [("case2", "respondent1", "onbekend", "Jan Peeters")] * 2
    assert named[1].context == "Hoe verloopt de samenwerking met het OCMW?"
    vtt = by_source["sub/case3_respondent2.vtt"]
    assert [(u.role, u.speaker, u.text, u.context) for u in vtt] == [
        ("extern", "Respondent", "De scholen en het CAW. Ook de zelforganisaties, zeker sinds 2015.",
         "Welke partners zijn belangrijk?")]


def test_interviewer_turns_only_when_asked(data_dir, nlp):
    folder = data_dir / "segment_study"
    without = list(iter_units([folder], SegmentParams(), "turn", nlp=nlp))
    with_int = list(iter_units([folder], SegmentParams(include_interviewer=True), "turn", nlp=nlp))
    assert all(u.speaker not in ("I", "Interviewer", "Onderzoeker") for u in without)
    asked = [u for u in with_int if u.speaker in ("I", "Interviewer", "Onderzoeker")]
    assert len(asked) == 5 and all(u.context == "" for u in asked)
    assert len(with_int) == len(without) + 5


def test_ids_are_stable_across_runs(data_dir, nlp, tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert run_segment([data_dir / "segment_study"], first, SegmentParams(), nlp=nlp) == \
        run_segment([data_dir / "segment_study"], second, SegmentParams(), nlp=nlp)
    assert first.read_bytes() == second.read_bytes()
    records = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    assert len({r["id"] for r in records}) == len(records)
    assert set(records[0]) == {"id", "source", "case", "respondent", "role", "speaker", "turn", "start_char",
                               "end_char", "text", "context", "n_words"}


def test_a_long_unpunctuated_sentence_is_cut_evenly_after_commas(tmp_path, nlp):
    path = tmp_path / "r.txt"
    path.write_text("R: " + "we hebben te weinig mensen, en dat merk je elke dag opnieuw " * 20 + "\n", encoding="utf-8")
    units = list(iter_units([path], SegmentParams(max_words=50), "fragment", nlp=nlp))
    assert [u.n_words for u in units] == [41, 48, 36, 36, 36, 43]  # 240 words; cut only after commas
    assert all(u.text.endswith(",") for u in units[:-1])


def test_a_long_sentence_without_any_punctuation_is_cut_into_even_runs(tmp_path, nlp):
    path = tmp_path / "r.txt"
    path.write_text("R: " + "we hebben te weinig mensen en dat merk je " * 30 + "\n", encoding="utf-8")
    units = list(iter_units([path], SegmentParams(max_words=50), "fragment", nlp=nlp))
    assert [u.n_words for u in units] == [45, 45, 45, 45, 45, 45]


def test_a_one_megabyte_line_is_segmented(tmp_path, nlp):
    path = tmp_path / "long.txt"
    path.write_text("R: " + "Het budget is beperkt, zegt de schepen. " * 26_000 + "\n", encoding="utf-8")
    plain = read_plain_text(path)
    assert len(plain) > 1_000_000
    units = list(iter_units([path], SegmentParams(), "fragment", nlp=nlp))
    assert len(units) > 1000 and max(u.n_words for u in units) <= 80
    for unit in units[:: len(units) // 50]:
        assert plain[unit.start_char:unit.end_char] == unit.text


def test_group_sentences_is_few_and_even():
    sentences = [(0, 1, 30), (2, 3, 30), (4, 5, 30), (6, 7, 5)]
    assert [[s[2] for s in g] for g in group_sentences(sentences, 80)] == [[30, 30], [30, 5]]
    assert [[s[2] for s in g] for g in group_sentences([(0, 1, 100), (2, 3, 10)], 80)] == [[100], [10]]
    assert group_sentences([], 80) == []


def test_paragraphs_split_at_blank_lines():
    text = "R: Een.\nTwee.\n \n\nDrie.\n"
    assert [(text[a:b], continued) for a, b, continued in paragraphs(text, 3, len(text))] == \
        [("Een.\nTwee.", False), ("Drie.", False)]


def test_find_transcripts_sources_and_skipped_files(data_dir, tmp_path):
    found = find_transcripts([data_dir / "segment_study"])
    assert [source for source, _ in found] == ["c2-r1.md", "case1_respondent4.txt", "sub/case3_respondent2.vtt"]
    assert find_transcripts([data_dir / "readers_utf8.txt"])[0][0] == "readers_utf8.txt"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_text("R: a\n", encoding="utf-8")
    (tmp_path / "b" / "x.txt").write_text("R: b\n", encoding="utf-8")
    (tmp_path / "a" / "~$x.docx").write_bytes(b"lock")
    with pytest.raises(InputError, match="same source name 'x.txt'"):
        find_transcripts([tmp_path / "a", tmp_path / "b"])


def test_documents_capcode_cannot_read_are_named_not_dropped_silently(tmp_path, caplog):
    (tmp_path / "case1_respondent1.txt").write_text("R: a\n", encoding="utf-8")
    (tmp_path / "case1_respondent2.pdf").write_bytes(b"%PDF")
    (tmp_path / "~$case1_respondent1.doc").write_bytes(b"lock")
    with caplog.at_level("WARNING", logger="capcode"):
        assert [s for s, _ in find_transcripts([tmp_path])] == ["case1_respondent1.txt"]
    assert "left out 1 file(s) capcode cannot read (case1_respondent2.pdf)" in caplog.text


def test_unknown_unit_and_bad_max_words(data_dir, nlp):
    with pytest.raises(ConfigError, match="unknown unit 'word'"):
        list(iter_units([data_dir / "readers_utf8.txt"], SegmentParams(), "word", nlp=nlp))
    with pytest.raises(ConfigError, match="max_words: must be at least 1"):
        list(iter_units([data_dir / "readers_utf8.txt"], SegmentParams(max_words=0), nlp=nlp))


def test_run_text_gives_the_plain_text(data_dir):
    assert run_text(data_dir / "readers_interview.odt") == read_plain_text(data_dir / "readers_interview.odt")


# ---- the command line ------------------------------------------------------------

def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_segment_command_writes_jsonl(data_dir, tmp_path):
    out = tmp_path / "out" / "fragments.jsonl"
    result = invoke("segment", data_dir / "segment_study", "--manifest", data_dir / "segment_manifest.csv",
                    "--out", out, "--unit", "sentence", "--include-interviewer")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert result.stderr.splitlines() == [
        "capcode: c2-r1.md: interviewer Interviewer (by label; 2 of 2 turns are questions)",
        "capcode: case1_respondent4.txt: interviewer I (by label; 2 of 2 turns are questions)",
        "capcode: sub/case3_respondent2.vtt: interviewer Onderzoeker (by label; 1 of 1 turn is a question)",
        f"capcode: wrote {len(records)} sentences to {out}"]
    assert result.stdout == ""
    assert {r["speaker"] for r in records} >= {"I", "R", "Interviewer", "Onderzoeker", "Jan Peeters", "Respondent"}


def test_params_yaml_settings_reach_the_segmenter(data_dir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("segment:\n  max_words: 12\n  interviewer_labels: [Jan Peeters]\n", encoding="utf-8")
    out = tmp_path / "f.jsonl"
    result = invoke("--params", params, "segment", data_dir / "segment_study" / "c2-r1.md", "--out", out)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["speaker"] for r in records} == {"Interviewer"} and all(r["n_words"] <= 12 for r in records)


def test_empty_transcripts_are_skipped_with_a_warning(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("I: Vraag?\nR: Antwoord.\n", encoding="utf-8")
    (tmp_path / "in" / "b.txt").write_bytes(b"")
    result = invoke("segment", tmp_path / "in", "--out", tmp_path / "f.jsonl")
    assert result.exit_code == 0
    assert "b.txt: the file is empty" in result.stderr and "Skipped." in result.stderr
    assert len((tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines()) == 1


def bad_input_cases(data_dir, tmp_path):
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    (empty_folder / "notes.csv").write_text("a,b\n", encoding="utf-8")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a_good.txt").write_text("I: Vraag?\nR: Antwoord.\n", encoding="utf-8")
    (mixed / "b_bad.docx").write_bytes(b"not a zip")
    manifest_missing = tmp_path / "m1.csv"
    manifest_missing.write_text("source,case\nreaders_utf8.txt,1\ngeen.txt,2\n", encoding="utf-8")
    manifest_role = tmp_path / "m2.csv"
    manifest_role.write_text("source,role\nreaders_utf8.txt,schepen\n", encoding="utf-8")
    only_questions = tmp_path / "q.txt"
    only_questions.write_text("I: Vraag een?\nI: Vraag twee?\n", encoding="utf-8")
    return [
        ([empty_folder], f"{empty_folder}: no transcripts in this folder"),
        ([tmp_path / "nope"], f"{tmp_path / 'nope'}: no such file or folder."),
        ([data_dir / "readers_old.doc"], "readers_old.doc: unsupported file type '.doc'"),
        ([data_dir / "segment_study" / "notes.csv"], "notes.csv: unsupported file type '.csv'"),
        ([mixed], "b_bad.docx: not a Word .docx file (it is not a zip archive)"),
        ([data_dir / "readers_binary.txt"], "looks like a binary file"),
        ([data_dir / "readers_undecodable.txt"], "readers_undecodable.txt, line 2: undecodable bytes"),
        ([data_dir / "readers_utf8.txt", "--manifest", manifest_missing], "m1.csv, row 3: source 'geen.txt' is not among"),
        ([data_dir / "readers_utf8.txt", "--manifest", manifest_role], "m2.csv, row 2, column 'role': unknown role 'schepen'"),
        ([only_questions], "no fragments found in"),
    ]


def test_bad_input_is_one_line_and_leaves_no_output(data_dir, tmp_path):
    out = tmp_path / "fragments.jsonl"
    for args, message in bad_input_cases(data_dir, tmp_path):
        result = invoke("segment", *args, "--out", out)
        assert result.exit_code == 1, (args, result.output)
        last = result.stderr.strip().splitlines()[-1]  # warnings about the files may come first
        assert last.startswith("Error: ") and message in last, (message, result.stderr)
        assert "Traceback" not in result.stderr
        assert not out.exists(), args
        assert not list(tmp_path.glob(".fragments.jsonl.*")), "temporary file left behind"


def test_output_with_a_transcript_extension_is_refused(data_dir, tmp_path):
    target = tmp_path / "readers_utf8.txt"
    target.write_text("I: keep me\n", encoding="utf-8")
    result = invoke("segment", target, "--out", target)
    assert result.exit_code == 1 and "give a .jsonl file name" in result.stderr
    assert target.read_text(encoding="utf-8") == "I: keep me\n"


def test_a_failed_run_keeps_the_previous_output(data_dir, tmp_path):
    out = tmp_path / "fragments.jsonl"
    out.write_text("previous\n", encoding="utf-8")
    result = invoke("segment", data_dir / "readers_utf8.txt", data_dir / "readers_binary.txt", "--out", out)
    assert result.exit_code == 1
    assert out.read_text(encoding="utf-8") == "previous\n"


def test_include_interviewer_flag_overrides_params(data_dir, tmp_path):
    params = dataclasses.replace(SegmentParams(), include_interviewer=False)
    from pipeline.segment import with_interviewer

    assert with_interviewer(params, True).include_interviewer
    assert with_interviewer(params, False) is params


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PIECES = st.sampled_from(["I: Wat doet u?\n", "R: Ik werk hier. ", "Dat is zo, bv. het MAT. ", "\n\n", "\n",
                          "Het (…) budget… ", "“Ja,” zei hij. ", "00:12:34 ", "R: ", "woord " * 30])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(PIECES, st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)), max_size=30),
       st.integers(min_value=1, max_value=40))
def test_fragment_offsets_are_exact_for_any_text(nlp, tmp_path, pieces, max_words):
    path = tmp_path / "h.txt"
    path.write_text("".join(pieces) + "x", encoding="utf-8")
    plain = read_plain_text(path)
    previous_end = 0
    for fragment in iter_units([path], SegmentParams(max_words=max_words), "fragment", nlp=nlp):
        assert plain[fragment.start_char:fragment.end_char] == fragment.text
        assert fragment.start_char >= previous_end and 0 < fragment.n_words <= max_words
        previous_end = fragment.end_char


def test_transcript_paths_are_the_paths_find_transcripts_gives_as_text(data_dir, tmp_path, monkeypatch):
    from pipeline.transcripts import transcript_paths

    (tmp_path / "sub").mkdir()
    (tmp_path / "case1_respondent1.txt").write_text("R: a\n", encoding="utf-8")
    (tmp_path / "sub" / "case1_respondent2.txt").write_text("R: b\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for inputs in (["."], [tmp_path], ["sub"], ["sub/case1_respondent2.txt"], [data_dir / "segment_study"]):
        paths = transcript_paths(inputs)
        assert paths == [(source, str(path)) for source, path in find_transcripts(inputs)]
    assert transcript_paths(["."]) == [("case1_respondent1.txt", "case1_respondent1.txt"),
                                       ("sub/case1_respondent2.txt", "sub/case1_respondent2.txt")]


def test_folder_listing_skips_hidden_and_linked_folders_and_follows_linked_files(tmp_path, caplog):
    import os

    for name in ["x.txt", "a/y.docx", "a/b/z.vtt", ".h/q.txt", "a/.w.txt", "a/~$l.docx", "r.pdf", "a/b/s.doc"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("R: x\n", encoding="utf-8")
    (tmp_path / "folder.txt").mkdir()
    os.symlink(tmp_path / "a", tmp_path / "linked")               # a linked folder: not followed
    os.symlink(tmp_path / "x.txt", tmp_path / "a" / "lx.txt")     # a linked file: read
    os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.txt")  # a link to nothing: no transcript
    with caplog.at_level("WARNING", logger="capcode"):
        found = find_transcripts([tmp_path])
    assert [(source, path.relative_to(tmp_path).as_posix()) for source, path in found] == [
        ("a/b/z.vtt", "a/b/z.vtt"), ("a/lx.txt", "a/lx.txt"), ("a/y.docx", "a/y.docx"), ("x.txt", "x.txt")]
    assert "left out 2 file(s) capcode cannot read (a/b/s.doc, r.pdf)" in caplog.text


def test_a_group_of_files_logs_and_fails_in_file_order(tmp_path, nlp, caplog):
    # the files of a group are read first, then their turns found: what each file says (or raises)
    # still comes in file order
    (tmp_path / "a.txt").write_text("Geen labels hier.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"")
    (tmp_path / "c.txt").write_text("Ook geen labels.\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="capcode"):
        run_segment([tmp_path], tmp_path / "f.jsonl", nlp=nlp)
    said = [record.getMessage() for record in caplog.records]
    first = [next(n for n, message in enumerate(said) if message.startswith(name))
             for name in ("a.txt", str(tmp_path / "b.txt"), "c.txt")]
    assert first == sorted(first) and "Skipped" in said[first[1]]
    (tmp_path / "b.txt").write_bytes(b"R: \x00\x01 binary")
    caplog.clear()
    with caplog.at_level("WARNING", logger="capcode"), pytest.raises(InputError, match="b.txt: looks like a binary"):
        run_segment([tmp_path], tmp_path / "g.jsonl", nlp=nlp)
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "a.txt: no speaker labels" in said and "c.txt" not in said  # a.txt done, c.txt not reached
    assert not (tmp_path / "g.jsonl").exists()


def test_a_manifest_interviewer_missing_from_a_file_fails_after_that_files_warnings(tmp_path, nlp, caplog):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "a.txt").write_text("I: Hoe gaat het?\n\nR: Goed.\n", encoding="utf-8")
    (folder / "b.txt").write_text("Geen labels hier.\n", encoding="utf-8")
    (folder / "c.txt").write_text("Ook geen labels.\n", encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("source,case,respondent,role,interviewer\na.txt,1,1,ambtelijk,\nb.txt,1,2,ambtelijk,Sofie\n"
                        "c.txt,1,3,ambtelijk,\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="capcode"), \
            pytest.raises(InputError, match="interviewer 'Sofie' is not a speaker in b.txt"):
        run_segment([folder], tmp_path / "f.jsonl", manifest=manifest, nlp=nlp)
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "b.txt: no speaker labels found" in said and "c.txt" not in said
