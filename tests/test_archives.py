"""Zip files read with bounded memory: caps whatever the header says, no DOCTYPE, no bzip2.

Small limits keep these inputs tiny; tests/test_hostile_inputs.py runs the same attacks at the
default limits in a real `capcode` process and measures its memory.
"""

import re
import struct
import zipfile

import pytest
from click.testing import CliRunner

from pipeline.archives import MB, XmlScan, ZipLimits, check_zip
from pipeline.cli import cli
from pipeline.errors import InputError
from pipeline.files import read_table
from pipeline.qdpx.read import read_project
from pipeline.readers import read_document

SMALL = ZipLimits(member_bytes=1 * MB, archive_bytes=3 * MB, xml_elements=50_000)


def rebuild(source, target, replace=None, add=None, method=zipfile.ZIP_DEFLATED):
    """A copy of zip `source` with some members replaced ({name: bytes or a generator of bytes}) or added."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", method) as new:
        for info in old.infolist():
            data = replace.get(info.filename, old.read(info.filename))
            _write(new, info.filename, data)
        for name, data in add.items():
            _write(new, name, data)
    return target


def _write(archive, name, data):
    if isinstance(data, bytes):
        archive.writestr(name, data)
        return
    with archive.open(name, "w", force_zip64=True) as handle:  # streamed: the test itself stays small
        for chunk in data:
            handle.write(chunk)


def zeros(megabytes):
    for _ in range(megabytes):
        yield b"\0" * MB


def lie_about_size(path, name, claimed):
    """Rewrite the unpacked size of member `name` in both zip headers (CRC and data stay)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, claimed)
    at = data.index(b"PK\x01\x02")
    while at >= 0:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_length].decode() == name:
            struct.pack_into("<I", data, at + 24, claimed)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


def test_a_zip_bomb_member_is_refused_at_the_member_cap(tmp_path, data_dir):
    path = rebuild(data_dir / "readers_interview.docx", tmp_path / "bomb.docx",
                   add={"word/media/image1.png": zeros(5)})
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"bomb.docx: 'word/media/image1.png' unpacks to more than 1 MB "
                                         r"\(limits.member_mb in params.yaml\); refused as a possible zip bomb"):
        read_document(path, SMALL)


def test_many_members_together_are_refused_at_the_archive_cap(tmp_path, data_dir):
    add = {f"word/media/image{n}.png": b"\0" * (MB - 1) for n in range(4)}
    path = rebuild(data_dir / "readers_interview.docx", tmp_path / "many.docx", add=add)
    with pytest.raises(InputError, match=r"many.docx: its members unpack to more than 3 MB \(limits.archive_mb in "
                                         r"params.yaml\) together; refused as a possible zip bomb"):
        read_document(path, SMALL)


def test_a_bomb_in_a_member_the_word_reader_reads_is_refused_whatever_its_header_says(tmp_path, data_dir):
    """The .docx reader unpacks only the members it reads; a bomb there is refused, its header
    true (by the directory) or understating (the member is unpacked no further than it says)."""
    with zipfile.ZipFile(data_dir / "readers_interview.docx") as archive:
        body = archive.read("word/document.xml")
    bomb = (piece for part in ([body[:-len(b"</w:document>")] + b"<!-- "], zeros(5)) for piece in part)
    path = rebuild(data_dir / "readers_interview.docx", tmp_path / "bomb.docx", replace={"word/document.xml": bomb})
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"bomb.docx: 'word/document.xml' unpacks to more than 1 MB"):
        read_document(path, SMALL)
    lie_about_size(path, "word/document.xml", 1000)
    with pytest.raises(InputError, match=r"bomb.docx: cannot read 'word/document.xml' from the zip \(Bad CRC-32"):
        read_document(path, SMALL)


def test_an_unread_member_that_says_it_is_a_bomb_is_refused_unread(tmp_path, data_dir):
    path = rebuild(data_dir / "readers_interview.docx", tmp_path / "big.docx", add={"word/media/image1.png": b"x"})
    lie_about_size(path, "word/media/image1.png", 0xFFFFFFF0)
    with pytest.raises(InputError, match=r"big.docx: 'word/media/image1.png' unpacks to more than 1 MB"):
        read_document(path, SMALL)


def test_a_word_file_with_absurdly_many_members_is_refused(tmp_path, data_dir):
    from pipeline.archives import MAX_MEMBERS

    add = {f"word/media/x{n}": b"" for n in range(MAX_MEMBERS)}
    path = rebuild(data_dir / "readers_interview.docx", tmp_path / "crowded.docx", add=add)
    with pytest.raises(InputError, match=rf"crowded.docx: holds [0-9,]+ files inside; with more than "
                                         rf"{MAX_MEMBERS:,} it is not a Word .docx"):
        read_document(path)


def test_a_header_that_understates_the_size_does_not_let_the_member_through(tmp_path, data_dir):
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "liar.odt", add={"Pictures/a.png": zeros(4)})
    lie_about_size(path, "Pictures/a.png", 1000)
    with pytest.raises(InputError, match=r"liar.odt: cannot read 'Pictures/a.png' from the zip \(Bad CRC-32"):
        read_document(path, SMALL)


def test_a_header_that_overstates_the_size_changes_nothing(tmp_path, data_dir):
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "big.odt", add={"Pictures/a.png": zeros(4)})
    lie_about_size(path, "Pictures/a.png", 0xFFFFFFF0)
    with pytest.raises(InputError, match=r"'Pictures/a.png' unpacks to more than 1 MB"):
        read_document(path, SMALL)


@pytest.mark.parametrize("name", ["readers_interview.docx", "readers_interview.odt"])
def test_a_genuine_document_reads_the_same_within_small_limits(data_dir, name):
    assert read_document(data_dir / name, SMALL).text == read_document(data_dir / name).text


DOCTYPE = (b'<?xml version="1.0"?>\n<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n')


@pytest.mark.parametrize("name,member", [("readers_interview.docx", "word/document.xml"),
                                         ("readers_interview.odt", "content.xml")])
def test_a_doctype_in_a_word_document_is_refused(tmp_path, data_dir, name, member):
    with zipfile.ZipFile(data_dir / name) as archive:
        body = archive.read(member)
    body = DOCTYPE + body[body.index(b"?>") + 2:]
    path = rebuild(data_dir / name, tmp_path / name, replace={member: body})
    with pytest.raises(InputError, match=rf"{name}: '{member}' declares a DOCTYPE; files exported by Word"):
        read_document(path)


def test_a_doctype_in_utf16_or_split_over_two_pieces_is_found():
    for encoded in (DOCTYPE.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"').decode().encode("utf-16"),
                    b"\n" * (256 * 1024 - 4) + DOCTYPE[22:]):
        scan = XmlScan("x.odt", "content.xml", ZipLimits())
        with pytest.raises(InputError, match="declares a DOCTYPE"):
            for start in range(0, len(encoded), 256 * 1024):
                scan.feed(encoded[start:start + 256 * 1024])
            scan.close()


def test_an_xml_encoding_that_hides_ascii_is_refused():
    scan = XmlScan("x.odt", "content.xml", ZipLimits())
    with pytest.raises(InputError, match="'content.xml' is XML in the text encoding utf-7, which capcode does not read"):
        scan.feed(b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE')


def test_too_many_xml_elements_are_refused_before_parsing(tmp_path, data_dir):
    with zipfile.ZipFile(data_dir / "readers_interview.odt") as archive:
        body = archive.read("content.xml")
    body = body.replace(b"</office:text>", b"<text:p>" + b"<text:s/>" * 60_000 + b"</text:p></office:text>")
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "deep.odt", replace={"content.xml": body})
    with pytest.raises(InputError, match=r"deep.odt: 'content.xml' holds more than 50,000 XML elements "
                                         r"\(limits.xml_elements in params.yaml\)"):
        read_document(path, SMALL)
    assert read_document(path).text  # within the default limits it is an ordinary document


def test_element_count_never_undercounts_across_pieces():
    scan = XmlScan("x", "a.xml", ZipLimits(xml_elements=10 ** 9))
    text = b"<a>" + b"<b x='1'/><c></c><!-- c --><?pi?>" * 1000 + b"</a>"
    for start in range(0, len(text), 7):  # tags split at every place
        scan.feed(text[start:start + 7])
    scan.close()
    assert scan.elements == 2 * 1000 + 1  # comments, processing instructions and closing tags do not count


def test_small_and_large_pieces_are_counted_alike():
    from pipeline.archives import _VECTORISED_FROM, _vectorised_counts

    text = b"<a>" + b"<b x='1'/><c></c><!-- c --><?pi?><!x>" * 2000 + b"</a><"
    assert _vectorised_counts(text) == (text.count(b"<"), text.count(b"</") + text.count(b"<?") + text.count(b"<!"))
    counts = set()
    for size in (5, 100, _VECTORISED_FROM - 1, _VECTORISED_FROM, 3 * _VECTORISED_FROM + 7, len(text)):
        scan = XmlScan("x", "a.xml", ZipLimits(xml_elements=10 ** 9))
        for start in range(0, len(text), size):  # small pieces counted one way, large ones the other
            scan.feed(text[start:start + size])
        scan.close()
        counts.add(scan.elements)
    assert counts == {2 * 2000 + 2}


def test_bzip2_members_are_refused(tmp_path, data_dir):
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "bz.odt", method=zipfile.ZIP_BZIP2)
    with pytest.raises(InputError, match=r"bz.odt: 'mimetype' is packed with bzip2, which capcode does not unpack"):
        read_document(path)


def test_an_odt_spreadsheet_is_named(tmp_path, data_dir):
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "sheet.odt",
                   replace={"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})
    with pytest.raises(InputError, match=r"sheet.odt: an OpenDocument spreadsheet \(.ods\), not a text document"):
        read_document(path)


def test_an_odt_without_a_text_body_is_named(tmp_path, data_dir):
    with zipfile.ZipFile(data_dir / "readers_interview.odt") as archive:
        body = archive.read("content.xml")
    start, end = body.index(b"<office:body"), body.index(b"</office:body>") + len(b"</office:body>")
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "nobody.odt",
                   replace={"content.xml": body[:start] + body[end:]})
    result = CliRunner().invoke(cli, ["text", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: {path}: ") and len(result.stderr.strip().splitlines()) == 1


def test_a_huge_space_count_in_an_odt_is_refused(tmp_path, data_dir):
    with zipfile.ZipFile(data_dir / "readers_interview.odt") as archive:
        body = archive.read("content.xml")
    body = body.replace(b"</office:text>", b'<text:p>a<text:s text:c="999999999999"/>b</text:p></office:text>')
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "spaces.odt", replace={"content.xml": body})
    with pytest.raises(InputError, match=r"spaces.odt: damaged OpenDocument text \(ValueError\)"):
        read_document(path)


def test_a_text_file_above_the_member_cap_is_refused(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"R: ja.\n" * 200_000)
    with pytest.raises(InputError, match=r"huge.txt: 1 MB is more than the limit of 1 MB \(limits.member_mb in "
                                         r"params.yaml\) for one transcript"):
        read_document(path, SMALL)


def test_a_workbook_bomb_is_refused_before_openpyxl_reads_it(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["fragment_id", "coder", "dimension", "value"])
    book.save(tmp_path / "c.xlsx")
    with zipfile.ZipFile(tmp_path / "c.xlsx") as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    sheet = sheet.replace(b"</sheetData>", b"<row r='2'>" + b"<c t='inlineStr'><is><t>x</t></is></c>" * 400_000
                          + b"</row></sheetData>")
    path = rebuild(tmp_path / "c.xlsx", tmp_path / "bomb.xlsx", replace={"xl/worksheets/sheet1.xml": sheet})
    with pytest.raises(InputError, match=r"bomb.xlsx: 'xl/worksheets/sheet1.xml' holds more than 1,000,000 XML elements"):
        read_table(path)


def test_a_project_with_an_internal_entity_is_refused(tmp_path):
    from tests.test_qdpx import SRC, TEXT, make_qde, make_qdpx

    qde = make_qde([(SRC, "interview", f"internal://{SRC}.txt", [])])
    qde = qde.replace('<?xml version="1.0" encoding="utf-8"?>\n',
                      '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE Project [<!ENTITY x "boom">]>\n')
    qde = qde.replace('name="test"', 'name="&x;"')
    path = make_qdpx(tmp_path / "entity.qdpx", qde, {f"sources/{SRC}.txt": TEXT})
    with pytest.raises(InputError, match=r"entity.qdpx: 'project.qde' declares a DOCTYPE"):
        read_project(path)


def test_a_project_source_above_the_member_cap_is_refused(tmp_path):
    from tests.test_qdpx import SRC, make_qde, make_qdpx

    qde = make_qde([(SRC, "interview", f"internal://{SRC}.txt", [])])
    path = make_qdpx(tmp_path / "big.qdpx", qde, {f"sources/{SRC}.txt": "R: ja.\n" * 200_000})
    with pytest.raises(InputError, match=rf"big.qdpx: 'sources/{SRC}.txt' unpacks to more than 1 MB"):
        read_project(path, SMALL)


def test_check_zip_accepts_every_shipped_zip_fixture(data_dir):
    for name in ("readers_interview.docx", "readers_interview.odt"):
        check_zip((data_dir / name).read_bytes(), name)


def test_limits_come_from_params_and_must_be_positive(tmp_path):
    from pipeline.config import load_params
    from pipeline.errors import ConfigError

    params = tmp_path / "params.yaml"
    params.write_text("limits:\n  member_mb: 5\n  xml_elements: 100\n", encoding="utf-8")
    limits = ZipLimits.from_params(load_params(params).limits)
    assert limits == ZipLimits(member_bytes=5 * MB, archive_bytes=1000 * MB, xml_elements=100)
    params.write_text("limits:\n  archive_mb: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"setting 'limits.archive_mb': must be at least 1, got 0"):
        load_params(params)


def test_the_text_command_uses_the_limits_of_params_yaml(tmp_path, data_dir):
    params = tmp_path / "params.yaml"
    params.write_text("limits:\n  xml_elements: 10\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--params", str(params), "text", str(data_dir / "readers_interview.odt")])
    assert result.exit_code == 1
    assert "holds more than 10 XML elements (limits.xml_elements in params.yaml)" in result.stderr


def test_an_svg_picture_may_name_its_dtd_but_still_counts(tmp_path, data_dir):
    svg = (b'<?xml version="1.0" encoding="iso-8859-2"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
           b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg xmlns="http://www.w3.org/2000/svg"/>')
    path = rebuild(data_dir / "readers_interview.docx", tmp_path / "picture.docx", add={"word/media/image2.svg": svg})
    assert read_document(path).text == read_document(data_dir / "readers_interview.docx").text
    many = svg.replace(b"/>", b">" + b"<g/>" * 60_000 + b"</svg>")
    path = rebuild(data_dir / "readers_interview.docx", tmp_path / "many.docx", add={"word/media/image2.svg": many})
    with pytest.raises(InputError, match="'word/media/image2.svg' holds more than 50,000 XML elements"):
        check_zip(path.read_bytes(), path, SMALL)  # as the readers that unpack every member check it
    # the .docx reader never unpacks a picture: it is checked by the zip's directory alone
    assert read_document(path, SMALL).text == read_document(data_dir / "readers_interview.docx").text


def test_a_member_without_a_name_is_an_input_error(data_dir):
    """Found by benchmarks/fuzz.py: zipfile's is_dir() fails on a member named ''."""
    with zipfile.ZipFile(data_dir / "archives_unnamed_member.odt") as archive:
        assert "" in archive.namelist()
    with pytest.raises(InputError, match=r"archives_unnamed_member.odt: cannot read '' from the zip"):
        read_document(data_dir / "archives_unnamed_member.odt")


@pytest.mark.parametrize("body,encoding", [
    (b" " * 300_000 + b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", None),            # white space first
    ('<?xml version="1.0" encoding="UTF-32LE"?><!DOCTYPE a><a/>'.encode("utf-32-le"), "UTF-32"),  # no BOM
    ('<?xml version="1.0" encoding="cp500"?><!DOCTYPE a><a/>'.encode("cp500"), "EBCDIC"),
])
def test_xml_that_hides_its_start_is_still_checked(tmp_path, data_dir, body, encoding):
    path = rebuild(data_dir / "readers_interview.docx", tmp_path / "hidden.docx", replace={"word/document.xml": body})
    message = f"'word/document.xml' is XML in the text encoding {encoding}" if encoding else \
        "'word/document.xml' declares a DOCTYPE"
    with pytest.raises(InputError, match=re.escape(message)):
        read_document(path)
