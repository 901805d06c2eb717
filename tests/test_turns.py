"""Speaker turns: transcript conventions, exact spans, interviewer labels, no-label files."""

import pytest

from pipeline.readers import read_document
from pipeline.turns import is_interviewer_label, parse_turns


def speakers(text, **kwargs):
    split = parse_turns(text, "t.txt", **kwargs)
    for turn in split.turns:
        assert text[turn.start_char:turn.end_char] == turn.text
    return [(t.speaker, t.is_interviewer, t.text, t.timestamp) for t in split.turns]


def test_short_labels_and_multi_line_turns():
    text = "I: Wat is uw functie?\nR: Ik ben diensthoofd.\nDat doe ik al lang.\n\nI: Dank u.\n"
    assert speakers(text) == [
        ("I", True, "Wat is uw functie?", None),
        ("R", False, "Ik ben diensthoofd.\nDat doe ik al lang.", None),
        ("I", True, "Dank u.", None),
    ]


def test_long_labels_numbers_and_names():
    text = ("Interviewer: Hoe gaat het?\nRespondent 3: Goed.\nSpreker 1: Ook goed.\n"
            "Jan Van den Broeck: Hallo.\nInterviewer: En u?\nJan Van den Broeck: Prima.\n")
    assert [(s, i) for s, i, *_ in speakers(text)] == [
        ("Interviewer", True), ("Respondent 3", False), ("Spreker 1", False),
        ("Jan Van den Broeck", False), ("Interviewer", True), ("Jan Van den Broeck", False)]


@pytest.mark.parametrize("line", [
    "[00:12:34] R: Het MAT.", "00:12:34 R: Het MAT.", "R [00:12:34]: Het MAT.", "R: [00:12:34] Het MAT.",
    "(00:12:34) R: Het MAT.", "00:12:34 - R: Het MAT.", "**R:** [00:12:34] Het MAT.", "[00:12:34]\nR: Het MAT.",
])
def test_timestamps_before_or_after_the_label(line):
    assert speakers("I: Vraag?\n" + line + "\n")[1] == ("R", False, "Het MAT.", "00:12:34")


def test_speaker_line_with_text_on_the_next_lines():
    text = "Interviewer\nWat doet u?\n\nSpeaker 1  0:03\nIk werk bij de stad.\nAl tien jaar.\n"
    assert speakers(text) == [
        ("Interviewer", True, "Wat doet u?", None),
        ("Speaker 1", False, "Ik werk bij de stad.\nAl tien jaar.", "00:00:03"),
    ]


def test_table_rows_with_tab_separated_speaker():
    text = "I\tWerkt u samen?\n\nR\tJa, met scholen.\nEn het OCMW."
    assert speakers(text) == [("I", True, "Werkt u samen?", None),
                              ("R", False, "Ja, met scholen.\nEn het OCMW.", None)]


def test_ordinary_words_with_a_colon_are_no_speakers():
    text = ("Datum: 3 mei 2018\n\nI: Een voorbeeld?\nR: Ja.\nBijvoorbeeld: het taalcafé.\n"
            "Bijvoorbeeld: de stuurgroep.\nMarc: eenmalig genoemd.\n")
    split = parse_turns(text, "t.txt")
    assert [t.speaker for t in split.turns] == ["I", "R"]
    assert "Bijvoorbeeld: de stuurgroep.\nMarc: eenmalig genoemd." in split.turns[1].text
    assert split.notes and "before the first speaker label" in split.notes[0]


def test_interviewer_labels_are_configurable():
    text = "SPEAKER_00: Wat is uw rol?\nSPEAKER_01: Ik coördineer.\n"
    assert [i for _, i, *_ in speakers(text)] == [False, False]
    assert [i for _, i, *_ in speakers(text, interviewer_labels=("SPEAKER_00",))] == [True, False]
    assert is_interviewer_label("Vraag 3") and is_interviewer_label("interviewer 2")
    assert not is_interviewer_label("Respondent 4")


def test_no_label_is_one_respondent_turn_with_a_warning():
    text = "\n  Ik werk al lang bij de stad.\nHet gaat goed.\n\n"
    split = parse_turns(text, "t.txt")
    assert [(t.speaker, t.is_interviewer, t.text) for t in split.turns] == [
        ("", False, "Ik werk al lang bij de stad.\nHet gaat goed.")]
    assert split.turns[0].start_char == 3
    assert "no speaker labels found" in split.warnings[0] and "t.txt" in split.warnings[0]


def test_only_interviewer_labels_takes_the_rest_as_the_answer():
    text = "I: Wat doet u?\n\nIk werk bij de stad.\n\nI: En verder?\nNiets.\n"
    split = parse_turns(text, "t.txt")
    assert [(t.speaker, t.is_interviewer, t.text) for t in split.turns] == [
        ("I", True, "Wat doet u?"), ("", False, "Ik werk bij de stad."),
        ("I", True, "En verder?"), ("", False, "Niets.")]
    assert "only interviewer labels" in split.warnings[0]


def test_turn_numbers_count_from_one():
    split = parse_turns("I: a\nR: b\nI: c\n", "t.txt")
    assert [t.index for t in split.turns] == [1, 2, 3]


@pytest.mark.parametrize("name", ["readers_utf8.txt", "readers_crlf.txt", "readers_interview.docx",
                                  "readers_interview.odt", "readers_voices.vtt", "readers_speakers.srt"])
def test_every_format_gives_exact_turn_spans(data_dir, name):
    document = read_document(data_dir / name)
    split = parse_turns(document.text, name, speakers=document.speakers)
    assert len(split.turns) >= 3
    assert any(t.is_interviewer for t in split.turns) or name.endswith(".srt")
    for turn in split.turns:
        assert document.text[turn.start_char:turn.end_char] == turn.text


def test_vtt_voice_names_are_speakers(data_dir):
    document = read_document(data_dir / "readers_voices.vtt")
    split = parse_turns(document.text, "v.vtt", speakers=document.speakers)
    assert [(t.speaker, t.is_interviewer, t.timestamp) for t in split.turns] == [
        ("Interviewer", True, "00:00:01"), ("Jan Peeters", False, "00:00:04"),
        ("Interviewer", True, "00:01:02"), ("Jan Peeters", False, "00:01:05")]


from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import DEFAULT_INTERVIEWERS

LINES = st.sampled_from(["I: Wat doet u?", "R: Ik werk hier.", "Respondent 3:", "[00:01:02] Jan Peeters: Ja.",
                         "Jan Peeters: Nee.", "", "  ", "Bijvoorbeeld: iets.", "**Interviewer:** Goed?",
                         "Speaker 1  0:03", "gewone tekst zonder label", "R\tin een tabel", "00:12:34"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(LINES, st.text(max_size=30)), max_size=25))
def test_turn_spans_are_exact_for_any_text(lines):
    text = "\n".join(lines)
    split = parse_turns(text, "t.txt")
    previous_end = 0
    for turn in split.turns:
        assert text[turn.start_char:turn.end_char] == turn.text
        assert turn.text == turn.text.strip() and turn.text
        assert turn.start_char >= previous_end
        previous_end = turn.end_char


def test_label_lines_are_those_the_label_pattern_finds_anywhere():
    """`_label_matches` looks only after newlines, past lines that cannot start a label: it finds
    exactly the matches of the label pattern searched at every character."""
    from pathlib import Path

    from pipeline.config import DEFAULT_INTERVIEWERS
    from pipeline.turns import RESPONDENT_WORDS, _after_newline, _label_matches, _label_pattern

    texts = [read_document(path).text for folder in ("data/sample/transcripts", "tests/data/segment_study")
             for path in sorted(Path(__file__).resolve().parent.parent.joinpath(folder).rglob("*"))
             if path.suffix in (".txt", ".docx", ".vtt", ".odt", ".srt")]
    texts += ["I: a\n\n  **R:** b\n[00:01:02]\nSofie Claes: c\n\tÉlodie: d\n00:03 - i: e\n(00:04) 3: f\n_x_: g\n",
              "R: a\nR", "\n\nI: eerste na witregels", "iNTERVIEWER: x\n  \n\t\nRESP 2 (schepen): y"]
    for known in (DEFAULT_INTERVIEWERS + RESPONDENT_WORDS, ("(I)", "-x", "ß", "3"), ()):
        for text in texts:
            first, rest = _label_matches(text, _label_pattern(known), _after_newline(known))
            found = [(m.start() + 1, m.end(), m.groupdict()) for m in rest]  # from the newline before the line
            if first is not None:
                found.insert(0, (first.start(), first.end(), first.groupdict()))
            assert found == [(m.start(), m.end(), m.groupdict()) for m in _label_pattern(known).finditer(text)]
    assert len(texts) > 30


def test_new_turn_is_the_turn_the_dataclass_makes():
    from pipeline.records import Turn, new_turn

    made = new_turn("a.txt", 3, "R", False, 10, 20, "Ja, zeker.", "00:01:02")
    assert made == Turn("a.txt", 3, "R", False, 10, 20, "Ja, zeker.", "00:01:02")
    assert hash(made) == hash(Turn("a.txt", 3, "R", False, 10, 20, "Ja, zeker.", "00:01:02"))
    with pytest.raises(AttributeError):
        made.text = "changed"  # frozen, as Turn(...)


def _sample_texts():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    return [read_document(path).text for folder in ("data/sample/transcripts", "tests/data/segment_study")
            for path in sorted(root.joinpath(folder).rglob("*")) if path.suffix in (".txt", ".docx", ".vtt", ".odt", ".srt")]


TRICKY_LINES = st.sampled_from(["I: Wat doet u?", "R: Ik werk hier.", "Respondent 3:", "[00:01:02] R: Ja.",
                                "Interviewer 2 [00:01:02]: En?", "R: [0:03] Goed.", "(12:34) - I: Hoe?",
                                "**I:** Vraag?", "__R__: antwoord", "", "  ", "\t", "Vraag 3:", "Q\tin een tabel",
                                "Jan Peeters: Nee.", "Bijvoorbeeld: iets.", "00:12:34", "gewone tekst",
                                "Resp 2 (schepen): ja", "ı: dotless", "İ: dotted", "Sofie Claes:"])
_SAMPLE = _sample_texts()


@settings(max_examples=300, deadline=None)
@given(st.lists(TRICKY_LINES, max_size=20), st.sampled_from([(), ("Sofie Claes",), ("Jan Peeters", "R")]),
       st.sampled_from([DEFAULT_INTERVIEWERS, ("SPEAKER_00", "I"), ()]), st.sampled_from(["\n", "\n\n"]))
def test_turns_made_as_labels_are_found_are_those_made_after_weighing_them(lines, speakers, interviewers, join):
    """_known_speakers_turns, where it applies (every label of a known kind), makes the turns
    _weighed_turns makes; parse_turns gives the weighed turns everywhere else."""
    from pipeline.turns import _known_speakers_turns, _labels, _weighed_turns

    labels = _labels(tuple(interviewers), speakers)
    for text in [join.join(lines)] + (_SAMPLE if not lines else []):
        fast = _known_speakers_turns(text, "t.txt", labels)
        weighed = _weighed_turns(text, "t.txt", labels)
        if fast is not None:
            assert fast == weighed
        assert parse_turns(text, "t.txt", interviewers, speakers) == weighed


def test_the_sample_takes_the_turns_made_as_labels_are_found():
    from pipeline.turns import _known_speakers_turns, _labels

    labels = _labels(DEFAULT_INTERVIEWERS, ())
    assert sum(_known_speakers_turns(text, "t.txt", labels) is not None for text in _SAMPLE) >= 30


@settings(max_examples=300, deadline=None)
@given(st.lists(TRICKY_LINES, max_size=12), st.sampled_from(["\n", "\n\n"]))
def test_optional_parts_as_empty_alternatives_match_as_optional_groups(lines, join):
    """The label pattern's `(?:x|)` (_optional) finds what `(?:x)?` finds."""
    import re

    from pipeline.turns import RESPONDENT_WORDS, _label_pattern

    pattern = _label_pattern(DEFAULT_INTERVIEWERS + RESPONDENT_WORDS)
    plain = re.compile(pattern.pattern.replace("|)", ")?"), pattern.flags)
    assert plain.pattern != pattern.pattern and "|)" not in plain.pattern
    for text in [join.join(lines)] + (_SAMPLE if not lines else []):
        assert ([(m.span(), m.groups()) for m in pattern.finditer(text)]
                == [(m.span(), m.groups()) for m in plain.finditer(text)])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["", "[", "("]), st.integers(0, 99), st.integers(0, 59), st.one_of(st.none(), st.integers(0, 59)),
       st.sampled_from(["", ".5", ",25", ".123"]), st.sampled_from(["", "]", ")"]), st.booleans())
def test_a_label_time_stamp_reads_as_its_digits(open_, hours, minutes, seconds, fraction, close, short_hours):
    import re

    from pipeline.turns import _TS, _clock, _clock_from_digits

    hour_text = str(hours) if short_hours else f"{hours:02d}"
    stamp = f"{open_}{hour_text}:{minutes:02d}" + (f":{seconds:02d}" if seconds is not None else "") + fraction + close
    assert re.fullmatch(_TS, stamp)
    assert _clock(stamp) == _clock_from_digits(stamp)
