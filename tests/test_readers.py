"""Readers: every format becomes the plain text capcode works on; bad files give clear errors."""

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import InputError
from pipeline.readers import EmptyTranscript, read_document, read_plain_text

PLAIN = (
    "Interview case 2\n\n"
    "I: Hoe is de dienst georganiseerd?\n"
    "R: We hebben twee voltijdse medewerkers. Het budget is beperkt, bv. voor de taalcafés.\n\n"
    "Tweede alinea met “aanhalingstekens” en één café… Dat is zo.\n\n"
    "[00:12:34] I: Werkt u samen met verenigingen?\n"
    "R: Ja, met de zelforganisaties.\n"
)

WORD_PLAIN = (
    "Interview case 2\n\n"
    "I: Hoe is de dienst georganiseerd?\n\n"
    "R: We hebben twee voltijdse medewerkers. Het budget is beperkt, bv. voor de taalcafés.\n\n"
    "Tweede alinea met “aanhalingstekens” en één café… Dat is zo.\n\n"
    "I\tWerkt u samen met verenigingen?\n\n"
    "R\tJa, met de zelforganisaties.\nEn met het OCMW.\n\n"
    "I: Dank u."
)


@pytest.mark.parametrize("name", ["readers_utf8.txt", "readers_bom.md", "readers_crlf.txt", "readers_cr.txt",
                                  "readers_utf16.txt"])
def test_text_files_become_the_same_plain_text(data_dir, name):
    document = read_document(data_dir / name)
    assert document.text == PLAIN
    assert document.warnings == ()


def test_windows_1252_is_read_with_a_warning_naming_the_file(data_dir):
    document = read_document(data_dir / "readers_cp1252.txt")
    assert document.text == PLAIN  # é, ë, “”, … survive
    assert len(document.warnings) == 1
    assert "readers_cp1252.txt" in document.warnings[0] and "Windows-1252" in document.warnings[0]


@pytest.mark.parametrize("name", ["readers_interview.docx", "readers_interview.odt"])
def test_word_documents_give_paragraphs_and_tables_without_headers_or_footers(data_dir, name):
    text = read_plain_text(data_dir / name)
    assert text == WORD_PLAIN
    assert "KOPTEKST" not in text and "VOETTEKST" not in text and "VOETNOOT" not in text


def test_vtt_voice_tags_give_speakers_and_cues_keep_their_time(data_dir):
    document = read_document(data_dir / "readers_voices.vtt")
    assert document.text == (
        "[00:00:01] Interviewer: Hoe verloopt de samenwerking?\n"
        "[00:00:04] Jan Peeters: Goed, we overleggen maandelijks. Maar het budget is beperkt.\n"
        "[00:01:02] Interviewer: En de stad & het OCMW?\n"
        "[00:01:05] Jan Peeters: Die werken goed samen."
    )
    assert document.speakers == ("Interviewer", "Jan Peeters")


def test_srt_speaker_prefixes_and_unnamed_cues_continue_the_speaker(data_dir):
    document = read_document(data_dir / "readers_speakers.srt")
    assert document.text == (
        "[00:00:01] SPEAKER_00: Wat is uw rol?\n"
        "[00:00:03] SPEAKER_01: Ik coördineer het integratiebeleid. Dat doe ik sinds 2016.\n"
        "[01:02:03] SPEAKER_00: Dank u."
    )
    assert document.speakers == ("SPEAKER_00", "SPEAKER_01")
    assert read_plain_text(data_dir / "readers_nospeakers.srt") == \
        "[00:00:01] We werken samen met de scholen. Dat loopt goed."


def test_a_sentence_with_a_colon_in_a_cue_is_no_speaker(tmp_path):
    path = tmp_path / "x.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHet probleem is dit: geen geld.\n", encoding="utf-8")
    assert read_plain_text(path) == "[00:00:01] Het probleem is dit: geen geld."


def test_text_command_prints_the_plain_text_exactly(data_dir):
    result = CliRunner().invoke(cli, ["text", str(data_dir / "readers_crlf.txt")])
    assert result.exit_code == 0
    assert result.stdout == PLAIN


def test_text_command_warns_on_stderr_for_windows_1252(data_dir):
    result = CliRunner().invoke(cli, ["text", str(data_dir / "readers_cp1252.txt")])
    assert result.exit_code == 0
    assert result.stdout == PLAIN
    assert "warning:" in result.stderr and "readers_cp1252.txt" in result.stderr


BAD = [
    ("readers_empty.txt", "readers_empty.txt: the file is empty (0 bytes)"),
    ("readers_blank.txt", "readers_blank.txt: the transcript is empty (no text found)"),
    ("readers_binary.txt", "readers_binary.txt: looks like a binary file"),
    ("readers_undecodable.txt", "readers_undecodable.txt, line 2: undecodable bytes (byte 22): neither UTF-8 nor"),
    ("readers_mixed.txt", "readers_mixed.txt, line 10: undecodable bytes"),
    ("readers_notzip.docx", "readers_notzip.docx: not a Word .docx file (it is not a zip archive)"),
    ("readers_notzip.odt", "readers_notzip.odt: not an OpenDocument .odt file (it is not a zip archive)"),
    ("readers_old.doc", "readers_old.doc: unsupported file type '.doc'; open it in Word and save it as .docx."),
]


@pytest.mark.parametrize("name,message", BAD)
def test_bad_files_are_one_line_errors(data_dir, name, message):
    with pytest.raises(InputError) as caught:
        read_document(data_dir / name)
    assert message in str(caught.value)
    result = CliRunner().invoke(cli, ["text", str(data_dir / name)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_empty_files_raise_the_empty_transcript_error(data_dir):
    with pytest.raises(EmptyTranscript):
        read_document(data_dir / "readers_empty.txt")


def test_a_zip_that_is_no_word_file_is_an_error(tmp_path):
    import zipfile

    path = tmp_path / "fake.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not word")
    with pytest.raises(InputError, match=r"fake.docx: cannot open as a Word .docx file"):
        read_document(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_document(tmp_path / "nothing.txt")
    with pytest.raises(InputError, match="is a folder"):
        read_document(tmp_path)


def test_a_one_megabyte_line_is_read_with_a_warning(tmp_path):
    path = tmp_path / "long.txt"
    line = "woord " * 180_000
    path.write_text("R: " + line + "\n", encoding="utf-8")
    document = read_document(path)
    assert document.text.startswith("R: woord")
    assert len(document.warnings) == 1
    assert "long.txt, line 1: a line of 1,080,00" in document.warnings[0]


def test_decomposed_accents_are_normalised(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_text("R: cafe\u0301\n", encoding="utf-8")
    assert read_plain_text(path) == "R: café\n"


def test_subtitle_files_without_cue_timings_are_errors_naming_the_line(tmp_path):
    no_header = tmp_path / "a.vtt"
    no_header.write_text("00:00:01.000 --> 00:00:02.000\nHallo\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a.vtt, line 1: not a WebVTT file"):
        read_document(no_header)
    stray = tmp_path / "b.vtt"
    stray.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHallo\n\n\nzomaar tekst\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_document(stray)
    assert "b.vtt, line 7: cue without a timing line" in str(caught.value)
    assert "zomaar" not in str(caught.value)  # no transcript text in messages


@pytest.mark.parametrize("name", ["readers_interview.docx", "readers_interview.odt", "readers_voices.vtt",
                                  "readers_cr.txt"])
def test_text_command_output_is_the_plain_text_of_every_format(data_dir, name):
    result = CliRunner().invoke(cli, ["text", str(data_dir / name)])
    assert result.exit_code == 0
    assert result.stdout == read_plain_text(data_dir / name)


@pytest.mark.parametrize("data,line", [
    (b"I: Hallo.\r\n\r\nR: Goed\x07 zo.\r\n", 3),             # UTF-8, Windows newlines
    ("I: Caf\u00e9.\nR: Ja\x1b.\n".encode("cp1252"), 2),       # Windows-1252 (read with a warning)
    ("I: Hallo.\nR: Ja\x0b.\n".encode("utf-16"), 2),           # UTF-16 with BOM
])
def test_a_control_character_is_an_error_naming_its_line(tmp_path, data, line):
    path = tmp_path / "case1_respondent1.txt"
    path.write_bytes(data)
    with pytest.raises(InputError, match=rf"case1_respondent1.txt, line {line}: control character"):
        read_document(path)


def test_text_without_control_characters_keeps_tabs_form_feeds_and_newlines(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xef\xbb\xbfI:\tHallo.\r\n\x0cR: Ja.\rEn nee.\n")
    assert read_plain_text(path) == "I:\tHallo.\n\x0cR: Ja.\nEn nee.\n"


def test_a_file_read_whole_whatever_its_size(tmp_path):
    path = tmp_path / "long.txt"
    text = "R: " + "woord " * 50_000 + "\n"
    path.write_text(text, encoding="utf-8")
    assert read_plain_text(path) == text


def test_text_bytes_are_read_whole_when_the_size_given_is_stale(tmp_path):
    from pipeline.readers import read_text_bytes

    path = tmp_path / "t.txt"
    path.write_bytes(b"R: " + b"x" * 100_000)
    for stale in (0, 10, 99_999, 100_003, 200_000):  # the file grew or shrank since its size was taken
        assert read_text_bytes(path, size=stale) == path.read_bytes()


def _outcome(path, limits):
    """What read_document makes of a file: its text, speakers and warnings, or its error."""
    from pipeline.readers import read_document

    try:
        document = read_document(path, limits)
        return document.path, document.text, document.speakers, document.warnings
    except Exception as exc:
        return type(exc).__name__, str(exc)


def test_reading_through_the_descriptor_gives_what_reading_by_name_gives(tmp_path, data_dir, monkeypatch):
    """read_regular_file reads an ordinary file through one descriptor; anything it leaves is read
    by name, each check in its order: both ways must give the same text, warnings and errors."""
    import os
    import shutil

    from pipeline import readers
    from pipeline.archives import ZipLimits

    files = {"empty.txt": b"", "blank.txt": b" \n\n", "bom.txt": b"\xef\xbb\xbfR: ja\r\n",
             "bom_bad.txt": b"\xef\xbb\xbfR: \x81\x8d\n", "mixed.txt": "R: café\n".encode() + "é".encode("cp1252"),
             "cp1252.txt": "R: café\n".encode("cp1252"), "control.txt": b"R: a\x01b\n", "nul.txt": b"R: a\x00",
             "utf16.txt": "R: ja".encode("utf-16"), "notzip.docx": b"not a zip", "notzip.odt": b"PK",
             "cues.vtt": b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Ann>ja\n", "x.pdf": b"%PDF"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    for name in ("readers_interview.docx", "readers_interview.odt"):
        shutil.copy(data_dir / name, tmp_path / name)
    (tmp_path / "folder.txt").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.txt")  # opened without waiting, then read by name: 0 bytes, as before
    paths = sorted(tmp_path.iterdir()) + [tmp_path / "missing.txt", tmp_path / "empty.txt" / "x.txt"]
    assert readers.read_regular_file(tmp_path / "bom.txt", 100) == files["bom.txt"]
    for path, cap in ((tmp_path / "bom.txt", 5), (tmp_path / "empty.txt", 100), (tmp_path / "folder.txt", 100),
                      (tmp_path / "pipe.txt", 100), (tmp_path / "missing.txt", 100)):  # (no pipe: missing)
        assert readers.read_regular_file(path, cap) is None  # left to be read by name
    tiny = ZipLimits(member_bytes=12, archive_bytes=2000, xml_elements=100)
    by_descriptor = [_outcome(path, limits) for path in paths for limits in (ZipLimits(), tiny)]
    monkeypatch.setattr(readers, "read_regular_file", lambda path, cap: None)
    by_name = [_outcome(path, limits) for path in paths for limits in (ZipLimits(), tiny)]
    assert by_descriptor == by_name
    assert not hasattr(os, "mkfifo") or ("EmptyTranscript", f"{tmp_path / 'pipe.txt'}: the file is empty (0 bytes); "
                                         "export the transcript again or remove the file.") in by_name


def test_a_byte_order_mark_does_not_count_in_the_byte_named_by_an_encoding_error(tmp_path):
    path = tmp_path / "bom_bad.txt"
    path.write_bytes(b"\xef\xbb\xbfR: \x81\x8d\n")
    with pytest.raises(InputError, match=r"bom_bad.txt, line 1: undecodable bytes \(byte 3\): the file mixes"):
        read_document(path)
    path.write_bytes(b"R: \x81\x8d\n")
    with pytest.raises(InputError, match=r"line 1: undecodable bytes \(byte 3\): neither UTF-8 nor Windows-1252"):
        read_document(path)
