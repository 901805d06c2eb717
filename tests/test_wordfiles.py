"""Word files read once, only the main part parsed: the text python-docx gives, or python-docx itself."""

import io
import zipfile

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.archives import DEFAULT_LIMITS, XmlScan, ZipLimits
from pipeline.errors import InputError
from pipeline.wordfiles import _with_python_docx, read_docx

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def document_bytes(body_xml: str) -> bytes:
    """A .docx made by python-docx whose body is `body_xml` (WordprocessingML inside <w:body>)."""
    made = io.BytesIO()
    docx.Document().save(made)
    with zipfile.ZipFile(made) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members["word/document.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                    f'<w:document {W}><w:body>{body_xml}<w:sectPr/></w:body></w:document>').encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
    return out.getvalue()


def run(text):
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def cell(*paragraphs, props=""):
    return f"<w:tc>{props}" + "".join(f"<w:p>{p}</w:p>" for p in paragraphs) + "</w:tc>"


BODIES = {
    "runs, tabs and breaks": "<w:p>" + run("I: Hoe ") + "<w:r><w:tab/><w:t>gaat</w:t><w:br/><w:t>het</w:t>"
                             '<w:br w:type="page"/><w:cr/><w:noBreakHyphen/><w:ptab/></w:r>' + run(" goed? ") + "</w:p>",
    "hyperlink, insertion, smart tag": "<w:p>" + run("R: Zie ") + '<w:hyperlink r:id="x" xmlns:r="http://schemas.'
                                       'openxmlformats.org/officeDocument/2006/relationships">' + run("de site")
                                       + "</w:hyperlink><w:ins>" + run(" ingevoegd") + "</w:ins><w:smartTag>"
                                       + run(" slim") + "</w:smartTag>" + run(".") + "</w:p>",
    "empty and blank paragraphs": "<w:p/>" + "<w:p>" + run("   ") + "</w:p><w:p>" + run("R: Ja.") + "</w:p>",
    "a table with a spanning cell": "<w:tbl><w:tr>" + cell(run("I"), props="<w:tcPr><w:gridSpan w:val=\"2\"/></w:tcPr>")
                                    + cell(run("Hoe\tzo?"), run("Tweede")) + cell() + "</w:tr><w:tr>" + cell(run("R"))
                                    + cell(run("Goed.")) + "</w:tr></w:tbl>",
    "a nested table and a content control": "<w:sdt><w:sdtContent><w:p>" + run("I: In een controle?")
                                           + "</w:p></w:sdtContent></w:sdt><w:tbl><w:tr>" + cell(run("R"))
                                           + "<w:tc><w:tbl><w:tr>" + cell(run("binnen")) + "</w:tr></w:tbl></w:tc>"
                                           + "</w:tr></w:tbl>",
    "a vertically merged cell (python-docx decides)": "<w:tbl><w:tr>" + cell(run("I"), props="<w:tcPr><w:vMerge "
                                                      'w:val="restart"/></w:tcPr>') + cell(run("Vraag?"))
                                                      + "</w:tr><w:tr>" + cell(props="<w:tcPr><w:vMerge/></w:tcPr>")
                                                      + cell(run("Nog een vraag?")) + "</w:tr></w:tbl>",
}


@pytest.mark.parametrize("name", list(BODIES))
def test_the_text_is_python_docx_text(name):
    data = document_bytes(BODIES[name])
    assert read_docx("t.docx", DEFAULT_LIMITS, data) == _with_python_docx("t.docx", data)


def test_the_vertically_merged_cell_repeats_its_label_as_python_docx_does():
    data = document_bytes(BODIES["a vertically merged cell (python-docx decides)"])
    assert read_docx("t.docx", DEFAULT_LIMITS, data) == "I\tVraag?\n\nI\tNog een vraag?"


def test_a_spreadsheet_renamed_docx_is_refused_by_python_docx(tmp_path):
    from openpyxl import Workbook

    Workbook().save(tmp_path / "sheet.xlsx")
    data = (tmp_path / "sheet.xlsx").read_bytes()
    with pytest.raises(Exception, match="cannot open as a Word .docx file"):
        read_docx("sheet.docx", DEFAULT_LIMITS, data)


_XML_PIECES = st.sampled_from([b"<", b"</", b"<?", b"<!", b"/", b"?", b"!", b">", b"a", b"\xc3\xa9", b"\xe2\x80",
                               b"\xff", b"<!DOCTYPE", b"DOCTYPE", b" ", b"\n", b"<a/>"])


def _scan(body: bytes, cuts: list, raw: bool) -> tuple:
    """(elements counted, DOCTYPE found) of a member fed in pieces, as bytes or as decoded text."""
    import codecs

    scanner = XmlScan("x.docx", "part.xml", ZipLimits(xml_elements=10**9))
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    scanner.decoder, scanner.raw, scanner.tail = True, raw, (b"" if raw else "")
    position, pieces = 0, []
    for cut in cuts * 10:
        pieces.append(body[position:position + cut])
        position += cut
    pieces.append(body[position:])
    try:
        for piece in pieces:
            if piece:
                scanner._check(piece if raw else decoder.decode(piece))
        if not raw:
            scanner._check(decoder.decode(b"", final=True))
    except InputError:
        return scanner.elements, True
    return scanner.elements, False


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_XML_PIECES, max_size=60).map(b"".join), st.lists(st.integers(1, 12), min_size=1, max_size=8))
def test_scanning_bytes_finds_what_scanning_decoded_text_finds(body, cuts):
    """UTF-8 members are scanned as bytes; element counts and DOCTYPEs equal those of the decoded text."""
    assert _scan(body, cuts, raw=True) == _scan(body, cuts, raw=False)


def test_the_main_part_is_found_alike_whether_remembered_or_not(data_dir):
    from pipeline.wordfiles import _named_main_part

    with zipfile.ZipFile(data_dir / "readers_interview.docx") as archive:
        relationships, content_types = archive.read("_rels/.rels"), archive.read("[Content_Types].xml")
    _named_main_part.cache_clear()
    assert _named_main_part(relationships, content_types) == "word/document.xml"
    assert _named_main_part(relationships, content_types) == _named_main_part.__wrapped__(relationships, content_types)
    assert _named_main_part.cache_info().hits == 1
    assert _named_main_part(relationships, content_types.replace(b"document.main+xml", b"template.main+xml")) is None
    assert _named_main_part(b"<not xml", content_types) is None


def test_threads_read_word_files_alike(data_dir):
    """Each thread parses with a parser of its own (a Dask worker may run several threads)."""
    from concurrent.futures import ThreadPoolExecutor

    data = (data_dir / "readers_interview.docx").read_bytes()
    alone = read_docx("t.docx", DEFAULT_LIMITS, data)
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda _: read_docx("t.docx", DEFAULT_LIMITS, data), range(40)))
    assert texts == [alone] * 40
