"""Make the reader/segment test fixtures in tests/data (run once; the files are committed).

Binary fixtures (.docx, .odt, legacy encodings, CRLF/CR newlines) are made here
so that their exact bytes are known and reproducible:

    .venv/bin/python tests/data/make_fixtures.py
"""

from pathlib import Path

HERE = Path(__file__).parent

# The same small interview in every format; the tests check turns and offsets on each.
QUESTION_1 = "Hoe is de dienst georganiseerd?"
ANSWER_1 = "We hebben twee voltijdse medewerkers. Het budget is beperkt, bv. voor de taalcafés."
ANSWER_1B = "Tweede alinea met “aanhalingstekens” en één café… Dat is zo."
QUESTION_2 = "Werkt u samen met verenigingen?"
ANSWER_2 = "Ja, met de zelforganisaties."


def write_text_files():
    lines = ["Interview case 2", "", f"I: {QUESTION_1}", f"R: {ANSWER_1}", "", ANSWER_1B, "",
             f"[00:12:34] I: {QUESTION_2}", f"R: {ANSWER_2}", ""]
    text = "\n".join(lines)
    (HERE / "readers_utf8.txt").write_bytes(text.encode("utf-8"))
    (HERE / "readers_bom.md").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (HERE / "readers_crlf.txt").write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    (HERE / "readers_cr.txt").write_bytes(text.replace("\n", "\r").encode("utf-8"))
    (HERE / "readers_utf16.txt").write_bytes(text.encode("utf-16"))
    (HERE / "readers_cp1252.txt").write_bytes(text.encode("cp1252"))
    # UTF-8 text with one stray Windows-1252 byte: must not be read as Windows-1252.
    (HERE / "readers_mixed.txt").write_bytes(text.encode("utf-8") + "R: café".encode("cp1252") + b"\n")
    # Byte 0x81 is undefined in Windows-1252 and invalid in UTF-8.
    (HERE / "readers_undecodable.txt").write_bytes(b"I: Vraag?\nR: Antwoord \x81\x8d.\n")
    (HERE / "readers_binary.txt").write_bytes(b"%PDF-1.4\n\x00\x01\x02\x03binary\x00\n")
    (HERE / "readers_empty.txt").write_bytes(b"")
    (HERE / "readers_blank.txt").write_bytes(b"  \n\n \n")
    (HERE / "readers_notzip.docx").write_bytes(b"This is plain text saved with a .docx name.\n")
    (HERE / "readers_notzip.odt").write_bytes(b"This is plain text saved with an .odt name.\n")
    (HERE / "readers_old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old word")


def write_docx():
    import docx

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "KOPTEKST vertrouwelijk"
    section.footer.paragraphs[0].text = "VOETTEKST pagina 1"
    document.add_paragraph("Interview case 2")
    document.add_paragraph(f"I: {QUESTION_1}")
    paragraph = document.add_paragraph("R: ")
    paragraph.add_run(ANSWER_1).bold = True
    document.add_paragraph("")
    document.add_paragraph(ANSWER_1B)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "I"
    table.cell(0, 1).text = QUESTION_2
    table.cell(1, 0).text = "R"
    table.cell(1, 1).text = ANSWER_2
    table.cell(1, 1).add_paragraph("En met het OCMW.")
    document.add_paragraph("I: Dank u.")
    document.core_properties.author = "capcode tests"
    document.save(HERE / "readers_interview.docx")


def write_odt():
    from odf.opendocument import OpenDocumentText
    from odf.style import Footer, Header, MasterPage, PageLayout
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import LineBreak, Note, NoteBody, NoteCitation, P, S, Span

    document = OpenDocumentText()
    layout = PageLayout(name="pm1")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="Standard", pagelayoutname=layout)
    header, footer = Header(), Footer()
    header.addElement(P(text="KOPTEKST vertrouwelijk"))
    footer.addElement(P(text="VOETTEKST pagina 1"))
    master.addElement(header)
    master.addElement(footer)
    document.masterstyles.addElement(master)

    body = document.text
    body.addElement(P(text="Interview case 2"))
    body.addElement(P(text=f"I: {QUESTION_1}"))
    answer = P(text="R: ")
    answer.addElement(Span(text=ANSWER_1))
    note = Note(noteclass="footnote")
    note.addElement(NoteCitation(text="1"))
    note_body = NoteBody()
    note_body.addElement(P(text="VOETNOOT niet meenemen"))
    note.addElement(note_body)
    answer.addElement(note)
    body.addElement(answer)
    body.addElement(P(text=""))
    second = P(text="Tweede alinea met “aanhalingstekens” en")
    second.addElement(S(c=1))
    second.addElement(Span(text="één café… Dat is zo."))
    body.addElement(second)
    table = Table(name="Gesprek")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for speaker, text in (("I", QUESTION_2), ("R", ANSWER_2)):
        row = TableRow()
        left, right = TableCell(), TableCell()
        left.addElement(P(text=speaker))
        cell_text = P(text=text)
        if speaker == "R":
            cell_text.addElement(LineBreak())
            cell_text.addText("En met het OCMW.")
        right.addElement(cell_text)
        row.addElement(left)
        row.addElement(right)
        table.addElement(row)
    body.addElement(table)
    body.addElement(P(text="I: Dank u."))
    document.save(str(HERE / "readers_interview.odt"))


VTT = """WEBVTT

NOTE made by an automatic transcription tool

1
00:00:01.000 --> 00:00:04.000
<v Interviewer>Hoe verloopt de samenwerking?</v>

2
00:00:04.500 --> 00:00:08.000 align:start
<v Jan Peeters>Goed, we overleggen maandelijks.

3
00:00:08.000 --> 00:00:11.000
<v Jan Peeters>Maar het <i>budget</i> is
beperkt.

00:01:02.000 --> 00:01:04.000
<v.loud Interviewer>En de stad &amp; het OCMW?

00:01:05.000 --> 00:01:09.000
<v Jan Peeters>Die werken goed samen.
"""

SRT = """1
00:00:01,000 --> 00:00:03,000
[SPEAKER_00]: Wat is uw rol?

2
00:00:03,500 --> 00:00:07,000
[SPEAKER_01]: Ik coördineer het integratiebeleid.

3
00:00:07,000 --> 00:00:09,000
Dat doe ik sinds 2016.

4
01:02:03,000 --> 01:02:05,000
SPEAKER_00: Dank u.
"""


def write_subtitles():
    (HERE / "readers_voices.vtt").write_bytes(VTT.encode("utf-8"))
    (HERE / "readers_speakers.srt").write_bytes(SRT.replace("\n", "\r\n").encode("utf-8"))
    (HERE / "readers_nospeakers.srt").write_bytes(
        b"1\n00:00:01,000 --> 00:00:03,000\nWe werken samen met de scholen.\n\n"
        b"2\n00:00:03,000 --> 00:00:05,000\nDat loopt goed.\n")


def main():
    write_text_files()
    write_docx()
    write_odt()
    write_subtitles()


if __name__ == "__main__":
    main()
