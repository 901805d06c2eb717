"""Who interviews: decided per transcript from the turns, reported in one line, overridable."""

import json
import re

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.interviewer import RESPONDENT_LABELS, decide, is_backchannel, is_question, parse_named
from pipeline.records import Turn
from pipeline.turns import label_base, parse_turns

QUESTIONS = {
    "c7-r1.txt": ["Goedemorgen. Mag ik het gesprek opnemen?", "Wat is uw functie bij de gemeente?",
                  "Hoe is het integratiebeleid hier georganiseerd?", "Wie neemt daarin het voortouw?",
                  "Werkt u samen met externe partners?", "Is er een visie op integratie in het meerjarenplan?",
                  "Hebt u nog iets toe te voegen?"],
    "c7-r2.vtt": ["Dag Tom, dank je om mee te doen. Kun je eerst je rol toelichten?",
                  "Hoe verloopt de samenwerking met de scholen?",
                  "En wie stuurt het beleid bij als het niet goed loopt?", "Heb je genoeg mensen om dat op te volgen?"],
    "c8-r1.srt": ["Goed. Wat is uw rol in de gemeente?", "Welke plaats heeft integratie in het meerjarenplan?",
                  "Hoe betrekt u de zelforganisaties?", "En de administratie, volgt die uw beleid?"],
}
DETECTED = {
    "c7-r1.txt": "capcode: c7-r1.txt: interviewer Sofie Claes (7 of 8 turns are questions, "
                 "besides 2 short acknowledgements)",
    "c7-r2.vtt": "capcode: c7-r2.vtt: interviewer Els Janssens (4 of 4 turns are questions, "
                 "besides 2 short acknowledgements)",
    "c8-r1.srt": "capcode: c8-r1.srt: interviewer SPEAKER_00 (4 of 4 turns are questions, "
                 "besides 1 short acknowledgement)",
}
RESPONDENT = {"c7-r1.txt": "Marc Verhoeven", "c7-r2.vtt": "Tom De Smet", "c8-r1.srt": "SPEAKER_01"}


def segment(tmp_path, *args):
    out = tmp_path / "fragments.jsonl"
    result = CliRunner().invoke(cli, ["segment", *map(str, args), "--out", str(out)])
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return result, records


@pytest.fixture
def no_params(tmp_path, monkeypatch):
    """Run where no params.yaml is found: capcode's default settings."""
    monkeypatch.chdir(tmp_path)


# ---- the three conventions of issue 11, with default settings -------------------------


@pytest.mark.parametrize("name", ["c7-r1.txt", "c7-r2.vtt", "c8-r1.srt"])
def test_interviewer_without_settings_gives_questions_as_context_never_as_fragments(data_dir, tmp_path, no_params,
                                                                                    name):
    result, fragments = segment(tmp_path, data_dir / "own_study" / name)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == DETECTED[name]
    assert {f["speaker"] for f in fragments} == {RESPONDENT[name]}
    texts = {f["text"] for f in fragments}
    assert not texts & set(QUESTIONS[name])
    contexts = [f["context"] for f in fragments if f["context"]]
    assert set(contexts) == set(QUESTIONS[name])               # every question is the context of its answer
    assert len(contexts) >= len(fragments) - 1                  # (the .srt opens with the respondent's remark)
    assert all(not is_backchannel(c) for c in contexts)


def test_an_acknowledgement_does_not_replace_the_question_being_answered(data_dir, tmp_path, no_params):
    _, fragments = segment(tmp_path, data_dir / "own_study" / "c7-r1.txt")
    by_start = {f["text"].split(",")[0].split(".")[0]: f["context"] for f in fragments}
    assert by_start["We proberen dat samen te brengen in een stuurgroep"] == \
        "Hoe is het integratiebeleid hier georganiseerd?"          # after "Mm-hm."
    assert by_start["En het budget voor integratie is beperkt"] == "Wie neemt daarin het voortouw?"  # after "Oké."


def test_one_detection_line_per_transcript_with_speakers_and_counts_only(data_dir, tmp_path, no_params):
    result, _ = segment(tmp_path, data_dir / "own_study")
    lines = result.stderr.splitlines()
    assert lines[:3] == [DETECTED["c7-r1.txt"], DETECTED["c7-r2.vtt"], DETECTED["c8-r1.srt"]]
    assert lines[3] == "capcode: c8-r2.txt: interviewer I (by label; 4 of 4 turns are questions)"
    shape = re.compile(r"capcode: [\w.-]+: interviewer [\w ]+ \((by label; )?\d+ of \d+ turns are questions"
                       r"(, besides \d+ short acknowledgements?)?\)")
    assert all(shape.fullmatch(line) for line in lines[:4])  # labels and counts: no transcript text
    assert lines[4:] == [f"capcode: wrote 25 fragments to {tmp_path / 'fragments.jsonl'}"]


# ---- overrides ----------------------------------------------------------------------------


def write_manifest(path, rows):
    path.write_text("source,case,respondent,role,interviewer\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_the_manifest_column_interviewer_overrides_the_detection(data_dir, tmp_path, no_params):
    manifest = write_manifest(tmp_path / "manifest.csv", ["c7-r1.txt,7,1,ambtelijk,Marc Verhoeven",
                                                          "c8-r1.srt,8,1,politiek,geen"])
    result, fragments = segment(tmp_path, data_dir / "own_study" / "c7-r1.txt", data_dir / "own_study" / "c8-r1.srt",
                                "--manifest", manifest)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:2] == [
        "capcode: c7-r1.txt: interviewer Marc Verhoeven (as the manifest says; 1 of 9 turns are questions)",
        "capcode: c8-r1.srt: no interviewer (the manifest says 'geen')"]
    assert {f["speaker"] for f in fragments if f["source"] == "c7-r1.txt"} == {"Sofie Claes"}
    assert {f["speaker"] for f in fragments if f["source"] == "c8-r1.srt"} == {"SPEAKER_00", "SPEAKER_01"}


def test_a_manifest_interviewer_who_does_not_speak_is_one_clear_error_and_nothing_is_written(data_dir, tmp_path,
                                                                                            no_params):
    manifest = write_manifest(tmp_path / "manifest.csv", ["c7-r1.txt,7,1,ambtelijk,Sofie Klaas"])
    result, fragments = segment(tmp_path, data_dir / "own_study" / "c7-r1.txt", "--manifest", manifest)
    assert result.exit_code == 1 and fragments == []
    assert result.stderr.splitlines()[-1] == (
        f"Error: {manifest}, row 2, column 'interviewer': interviewer 'Sofie Klaas' is not a speaker in c7-r1.txt "
        "(speakers found: 'Sofie Claes', 'Marc Verhoeven'); write the label as in the transcript, or 'geen'.")
    assert "Traceback" not in result.output


def test_params_interviewer_labels_override_the_detection_and_a_suspicious_label_is_warned_about(
        data_dir, tmp_path, no_params):
    (tmp_path / "params.yaml").write_text("segment:\n  interviewer_labels: [SPEAKER_01]\n", encoding="utf-8")
    result, fragments = segment(tmp_path, data_dir / "own_study" / "c8-r1.srt")
    assert result.exit_code == 0, result.output
    assert {f["speaker"] for f in fragments} == {"SPEAKER_00"}
    warning = result.stderr.splitlines()[0]
    assert warning.startswith("capcode: warning: c8-r1.srt: interviewer SPEAKER_01 by label, but only 0 of 6 turns")
    assert "SPEAKER_00 asks (4 of 4 turns are questions" in warning


def test_unsure_detection_warns_once_and_says_how_to_settle_it(tmp_path, no_params):
    path = tmp_path / "panel.txt"
    path.write_text("Spreker 1: Ik denk dat het goed gaat met de samenwerking.\n"
                    "Spreker 2: Dat vind ik ook, al kan het beter.\n"
                    "Spreker 1: We zouden vaker moeten overleggen.\n"
                    "Spreker 2: Zeker met de scholen.\n", encoding="utf-8")
    result, fragments = segment(tmp_path, path)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("capcode: warning: panel.txt")]
    assert len(lines) == 1
    assert lines[0].startswith("capcode: warning: panel.txt: not sure who the interviewer is; took Spreker ")
    assert "manifest column 'interviewer'" in lines[0]


# ---- the decision itself ------------------------------------------------------------------


def turns_of(text, **kwargs):
    return parse_turns(text, "t.txt", **kwargs).turns


def test_respondent_labels_are_never_taken_for_the_interviewer():
    turns = turns_of("R: Wat bedoelt u?\nJan Peeters: Ik bedoel de stuurgroep.\nR: Die werkt goed.\n"
                     "Jan Peeters: Hoe vaak komt ze samen?\n")
    assert decide(turns, "t.txt").interviewers == ("Jan Peeters",)
    only_respondents = decide(turns_of("R: Ja?\nRespondent 2: Goed.\n"), "t.txt")
    assert only_respondents.interviewers == () and only_respondents.line() == \
        "t.txt: no interviewer (only respondent labels: R, Respondent 2)"


def test_one_speaker_has_no_interviewer_and_decisions_mark_exactly_the_chosen_turns():
    single = decide(turns_of("Jan Peeters: Eerst dit.\nJan Peeters: Dan dat.\n"), "t.txt")
    assert single.interviewers == () and single.line() == "t.txt: no interviewer (one speaker only, Jan Peeters)"
    turns = turns_of("An Smet: Wat doet u?\nJan Peeters: Ik werk hier al lang, op de dienst welzijn.\n"
                     "An Smet: En verder?\nJan Peeters: Niets bijzonders.\n")
    decision = decide(turns, "t.txt")
    assert [t.is_interviewer for t in decision.apply(turns)] == [True, False, True, False]
    assert decision.sure and decision.warning() is None


@pytest.mark.parametrize("text", ["Mm-hm.", "Ja.", "Oké.", "Oké, ja.", "Mhm", "Dat klopt.", "Ja ja.", "Ja?"])
def test_backchannel_turns(text):
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["Ja, met de scholen.", "Nee.", "Oké. Hoe verloopt dat?", "", "Goed, maar dat is niet alles."])
def test_turns_that_are_no_backchannel(text):
    assert not is_backchannel(text)


@pytest.mark.parametrize("text, asks", [
    ("Hoe verloopt de samenwerking?", True),
    ("Oké, duidelijk. En de scholen? Vertel eens.", True),          # short, with a question inside
    ("hoe verloopt de samenwerking met de scholen", True),          # speech recognition without punctuation
    ("Dat is moeilijk. " * 12 + "Wat moet je dan? " + "We doen ons best. " * 5, False),  # long answer, rhetorical
    ("Ik werk op de dienst welzijn.", False),
    ("wij werken samen met de scholen", False),
])
def test_questions(text, asks):
    assert is_question(text) is asks


def test_manifest_cells_for_the_interviewer():
    assert parse_named("") is None and parse_named("onbekend") is None
    assert parse_named("geen") == () and parse_named("Geen") == ()
    assert parse_named(" Sofie  Claes ; SPEAKER_02") == ("Sofie Claes", "SPEAKER_02")


def test_a_turn_record_keeps_its_span_when_marked():
    turns = (Turn("t.txt", 1, "A", False, 0, 5, "Vraag?"), Turn("t.txt", 2, "B", True, 6, 10, "Antw"))
    decision = decide(turns, "t.txt", named=("a",))
    marked = decision.apply(turns)
    assert [(t.speaker, t.is_interviewer, t.start_char, t.end_char) for t in marked] == [
        ("A", True, 0, 5), ("B", False, 6, 10)]


from hypothesis import given, settings
from hypothesis import strategies as st

LINES = st.sampled_from(["I: Wat doet u?", "R: Ik werk hier.", "Sofie Claes: Hoe gaat het?", "Sofie Claes: Mm-hm.",
                         "Jan Peeters: Goed, dank u.", "Jan Peeters: Wat bedoelt u?", "SPEAKER_00: Ja.",
                         "SPEAKER_01: En verder?", "", "gewone tekst", "Respondent 2: Oké."])


@settings(max_examples=200, deadline=None)
@given(st.lists(LINES, max_size=20))
def test_any_transcript_gets_a_decision_that_marks_exactly_the_chosen_speakers(lines):
    text = "\n".join(lines)
    turns = parse_turns(text, "t.txt").turns
    decision = decide(turns, "t.txt")
    marked = decision.apply(turns)
    assert [(t.start_char, t.end_char, t.text) for t in marked] == [(t.start_char, t.end_char, t.text) for t in turns]
    assert all(t.is_interviewer == (t.speaker in decision.interviewers) for t in marked)
    assert decision.line().startswith("t.txt: ")
    assert not any(label_base(s) in RESPONDENT_LABELS for s in decision.interviewers if decision.how == "turns")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["hoe", "Wat", "ja-ja", "’t", "-", "?", ".", " ", "  ", ",", "\n", "é", "x1", "…"]),
                max_size=120))
def test_a_turn_longer_than_a_question_has_more_words_than_a_question(pieces):
    from pipeline.interviewer import _LONGER_THAN_A_QUESTION, _WORD, QUESTION_MAX_WORDS

    text = "".join(pieces)
    assert bool(_LONGER_THAN_A_QUESTION.match(text)) == (len(_WORD.findall(text)) > QUESTION_MAX_WORDS)
