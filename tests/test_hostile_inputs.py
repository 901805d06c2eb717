"""The reproductions of issue 14, run as real `capcode` processes at the default limits.

Each input is small on disk but shaped like the attack (a zip bomb, a header that lies,
a source too large, an entity, a spreadsheet posing as a text); each run must end in one
`Error:` line naming the file, exit code 1, a peak memory (resident set of the process,
from os.wait4) below 1 GB, and no output at all.
"""

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.test_archives import lie_about_size, rebuild

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
GB = 1024 * MB


def run_capcode(args, cwd: Path, preexec_fn=None):
    """(exit code, stdout, stderr, peak resident memory in bytes) of one capcode process."""
    out, err = cwd / ".stdout", cwd / ".stderr"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *map(str, args)], cwd=cwd,
                                   stdout=stdout, stderr=stderr, preexec_fn=preexec_fn,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, status, usage = os.wait4(process.pid, 0)
    texts = out.read_text(encoding="utf-8", errors="replace"), err.read_text(encoding="utf-8", errors="replace")
    out.unlink()
    err.unlink()
    return os.waitstatus_to_exitcode(status), texts[0], texts[1], usage.ru_maxrss * 1024


def assert_refused(result, message: str):
    code, stdout, stderr, peak = result
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("capcode: warning")]
    assert code == 1, stderr
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], stderr
    assert "Traceback" not in stderr and stdout == ""
    assert peak < 1 * GB, f"peak memory {peak / MB:.0f} MB"
    print(f"peak {peak / MB:.0f} MB: {lines[0][:100]}")  # shown with pytest -s (docs/benchmarks.md)


def repeated(piece: bytes, megabytes: int):
    block = piece * (MB // len(piece))
    for _ in range(megabytes):
        yield block


def zip_with(path: Path, members: dict) -> Path:
    """A zip whose members are bytes or generators of bytes (written streamed, deflated)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            if isinstance(data, (bytes, str)):
                archive.writestr(name, data)
                continue
            with archive.open(name, "w", force_zip64=True) as handle:
                for chunk in data:
                    handle.write(chunk)
    return path


def qde(source_member: str) -> str:
    from tests.test_qdpx import SRC, make_qde

    return make_qde([(SRC, "interview", f"internal://{source_member}", [])])


def nothing_written(folder: Path, *outputs) -> None:
    for output in outputs:
        assert not (folder / output).exists(), output
    assert not [p.name for p in folder.rglob("*") if p.name.endswith((".tmp", ".lock"))]


# ---- import-qdpx ----------------------------------------------------------------------------


def test_a_project_with_a_source_beyond_the_limit(tmp_path):
    """Issue: a 677 KB project with a 190 MB source was killed at 23 GB."""
    from tests.test_qdpx import SRC

    project = zip_with(tmp_path / "big.qdpx", {"project.qde": qde(f"{SRC}.txt"),
                                              f"sources/{SRC}.txt": repeated(b"R1: Het overleg verloopt stroef.\n", 190)})
    assert project.stat().st_size < 2 * MB
    result = run_capcode(["import-qdpx", project, "--out", "imported"], tmp_path)
    assert_refused(result, f"big.qdpx: 'sources/{SRC}.txt' unpacks to more than 100 MB (limits.member_mb in params.yaml)")
    nothing_written(tmp_path, "imported")


def test_a_project_whose_zip_header_understates_a_member(tmp_path):
    """Issue: a .qdpx whose zip header lies about the size cost 2.1 GB before it was refused."""
    from tests.test_qdpx import SRC

    project = zip_with(tmp_path / "liar.qdpx", {"project.qde": qde(f"{SRC}.txt"),
                                               f"sources/{SRC}.txt": repeated(b"R1: ja.\n", 300)})
    lie_about_size(project, f"sources/{SRC}.txt", 1000)
    result = run_capcode(["import-qdpx", project, "--out", "imported"], tmp_path)
    assert_refused(result, f"liar.qdpx: cannot read 'sources/{SRC}.txt' from the zip (Bad CRC-32")
    nothing_written(tmp_path, "imported")


def test_a_project_whose_zip_header_overstates_a_member(tmp_path):
    from tests.test_qdpx import SRC

    project = zip_with(tmp_path / "bomb.qdpx", {"project.qde": qde(f"{SRC}.txt"),
                                               f"sources/{SRC}.txt": repeated(b"\0", 300)})
    lie_about_size(project, f"sources/{SRC}.txt", 50)  # claims to be tiny: then claims 4 GB
    lie_about_size(project, f"sources/{SRC}.txt", 0xFFFFFFF0)
    result = run_capcode(["import-qdpx", project, "--out", "imported"], tmp_path)
    assert_refused(result, f"bomb.qdpx: 'sources/{SRC}.txt' unpacks to more than 100 MB")
    nothing_written(tmp_path, "imported")


def test_a_project_with_an_internal_entity(tmp_path):
    """Issue: an internal entity in project.qde ended in lxml's XMLSchemaValidateError."""
    from tests.test_qdpx import SRC, TEXT

    text = qde(f"{SRC}.txt").replace(
        '<?xml version="1.0" encoding="utf-8"?>\n',
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE Project [<!ENTITY a "aaaaaaaaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n').replace('name="test"', 'name="&c;"')
    project = zip_with(tmp_path / "entity.qdpx", {"project.qde": text, f"sources/{SRC}.txt": TEXT})
    result = run_capcode(["import-qdpx", project, "--out", "imported"], tmp_path)
    assert_refused(result, "entity.qdpx: 'project.qde' declares a DOCTYPE")
    nothing_written(tmp_path, "imported")


# ---- transcripts ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def word_bomb(tmp_path_factory, data_dir):
    """Issue: a 9.4 MB .docx reached 21.6 GB. Millions of tiny paragraphs, a few hundred KB packed."""
    folder = tmp_path_factory.mktemp("bomb")
    with zipfile.ZipFile(data_dir / "readers_interview.docx") as archive:
        body = archive.read("word/document.xml")
    start = body.index(b"<w:body>") + len(b"<w:body>")
    paragraphs = repeated(b"<w:p><w:r><w:t>ja</w:t></w:r></w:p>", 150)
    document = iter([body[:start], *paragraphs, body[start:]])
    return rebuild(data_dir / "readers_interview.docx", folder / "case1_respondent1.docx",
                   replace={"word/document.xml": document})


def test_a_word_document_bomb(tmp_path, word_bomb):
    assert word_bomb.stat().st_size < 2 * MB
    result = run_capcode(["segment", word_bomb.parent, "--out", "fragments.jsonl"], tmp_path)
    assert_refused(result, "case1_respondent1.docx: 'word/document.xml' holds more than 1,000,000 XML elements")
    nothing_written(tmp_path, "fragments.jsonl")
    assert_refused(run_capcode(["text", word_bomb], tmp_path), "'word/document.xml' holds more than 1,000,000")


def test_a_word_document_with_a_bomb_for_a_picture(tmp_path, data_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    rebuild(data_dir / "readers_interview.docx", folder / "case1_respondent1.docx",
            add={"word/media/image1.png": repeated(b"\0", 300)})
    assert (folder / "case1_respondent1.docx").stat().st_size < 1 * MB
    result = run_capcode(["text", folder / "case1_respondent1.docx"], tmp_path)
    assert_refused(result, "case1_respondent1.docx: 'word/media/image1.png' unpacks to more than 100 MB")


def test_an_opendocument_bomb(tmp_path, data_dir):
    with zipfile.ZipFile(data_dir / "readers_interview.odt") as archive:
        body = archive.read("content.xml")
    end = body.index(b"</office:text>")
    content = iter([body[:end], b"<text:p>", *repeated(b"<text:s/>", 40), b"</text:p>", body[end:]])
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "bomb.odt", replace={"content.xml": content})
    result = run_capcode(["text", path], tmp_path)
    assert_refused(result, "bomb.odt: 'content.xml' holds more than 1,000,000 XML elements")


@pytest.mark.parametrize("mimetype,body,message", [
    (b"application/vnd.oasis.opendocument.spreadsheet", True, "an OpenDocument spreadsheet (.ods), not a text document"),
    (b"application/vnd.oasis.opendocument.text", False, "an OpenDocument file without a text body"),
])
def test_an_opendocument_that_is_no_text(tmp_path, data_dir, mimetype, body, message):
    """Issue: an .odt that is a spreadsheet or has no text body ended in a traceback (31 of 1,756 inputs)."""
    with zipfile.ZipFile(data_dir / "readers_interview.odt") as archive:
        content = archive.read("content.xml")
    if not body:
        content = content[:content.index(b"<office:body")] + content[content.index(b"</office:body>") + 14:]
    path = rebuild(data_dir / "readers_interview.odt", tmp_path / "x.odt",
                   replace={"mimetype": mimetype, "content.xml": content})
    result = run_capcode(["segment", path, "--out", "fragments.jsonl"], tmp_path)
    assert_refused(result, f"x.odt: {message}")
    nothing_written(tmp_path, "fragments.jsonl")


# ---- a full disk ------------------------------------------------------------------------------


def _file_limit(size):
    def apply():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


def test_predict_on_a_full_disk_names_the_output(tmp_path, data_dir):
    """Issue: a full disk during segment/predict gave an OSError without a file name, re-raised as a traceback."""
    from click.testing import CliRunner

    from pipeline.cli import cli

    params = tmp_path / "params.yaml"
    params.write_text("train:\n  cv_folds: 0\n", encoding="utf-8")
    trained = CliRunner().invoke(cli, ["--params", str(params), "train", "--fragments",
                                       str(data_dir / "classifier_fragments.jsonl"), "--codings",
                                       str(data_dir / "classifier_codings.csv"), "--out", str(tmp_path / "model")])
    assert trained.exit_code == 0, trained.output
    (tmp_path / "predictions.jsonl").write_text("the earlier predictions\n", encoding="utf-8")
    result = run_capcode(["--params", params, "predict", "--model", "model", data_dir / "classifier_fragments.jsonl",
                          "--out", "predictions.jsonl"], tmp_path, preexec_fn=_file_limit(4096))
    assert_refused(result, "predictions.jsonl: cannot be written, the file would be larger than this system allows")
    assert (tmp_path / "predictions.jsonl").read_text(encoding="utf-8") == "the earlier predictions\n"
    nothing_written(tmp_path)
