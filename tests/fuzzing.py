"""Mutated inputs for every reader: seeds, mutations and the outcome of reading one file.

Shared by the fuzz test (tests/test_fuzz.py, driven by hypothesis) and the longer run
(benchmarks/fuzz.py, driven by a seeded random generator). A clean outcome is a result or
a CapcodeError (the one-line `Error:` of the command line); anything else is a bug.

Seeds are tiny real files of every kind capcode reads: transcripts (.txt, .md, .docx,
.odt, .vtt, .srt), REFI-QDA projects (.qdpx: one as capcode exports it, one as another tool
might, with CR LF line ends, emoji and decomposed accents), coding files in every form
(wide, long, span) as .csv, .xlsx and .jsonl, fragments, predictions and a model file.
A zip seed is mutated either as raw bytes or inside one member, then packed again, so
that the XML and text readers behind the zip are reached too.
"""

import io
import json
import random
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

TRANSCRIPTS = {"txt": "readers_utf8.txt", "md": "readers_bom.md", "docx": "readers_interview.docx",
               "odt": "readers_interview.odt", "vtt": "readers_voices.vtt", "srt": "readers_speakers.srt",
               "crlf.txt": "readers_crlf.txt", "cp1252.txt": "readers_cp1252.txt", "utf16.txt": "readers_utf16.txt"}
CODINGS = {"wide": "codings_wide.csv", "long": "codings_long.csv", "span": "codings_span.csv"}
ZIP_KINDS = ("docx", "odt", "qdpx", "xlsx", "skops")
INTERESTING = [b"\x00", b"\xff", b"\r", b"\n", b"\r\n", b"<", b">", b"&", b"&amp;", b"<!DOCTYPE x>", b"]]>",
               b'"', b",", b";", b"\t", b"-1", b"99999999999999999999", b"NaN", b"\xc3", b"\xef\xbb\xbf",
               b"\xf0\x9f\x99\x82", b"e\xcc\x81", b"{", b"}", b"[", b"null", b"true", b"=1+1", b"</", b"/>"]


def build_seeds(folder) -> list:
    """[(kind, file name, bytes)] of every seed; `folder` receives the ones made on the fly."""
    folder = Path(folder)
    seeds = []
    for suffix, name in TRANSCRIPTS.items():
        seeds.append(("transcript", f"case1_respondent1.{suffix.split('.')[-1]}", (DATA / name).read_bytes()))
    for form, name in CODINGS.items():
        header, rows = _csv_rows(DATA / name)
        seeds.append((f"codings-{form}", f"{form}.csv", (DATA / name).read_bytes()))
        seeds.append((f"codings-{form}", f"{form}.jsonl", _jsonl(header, rows)))
        seeds.append((f"codings-{form}", f"{form}.xlsx", _xlsx(header, rows)))
    seeds.append(("codings-wide", "single.jsonl", (DATA / "codings_single.jsonl").read_bytes()))
    seeds.append(("fragments", "fragments.jsonl", (DATA / "codings_fragments.jsonl").read_bytes()))
    seeds.append(("predictions", "predictions.jsonl", (DATA / "qdpx_predictions.jsonl").read_bytes()))
    seeds.append(("qdpx", "export.qdpx", _exported_project(folder)))
    seeds.append(("qdpx", "tool.qdpx", _tool_project()))
    seeds.append(("model", "model.skops", _model()))
    return seeds


def _csv_rows(path) -> tuple:
    import csv

    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _jsonl(header, rows) -> bytes:
    return "".join(json.dumps(dict(zip(header, row)), ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def _xlsx(header, rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _exported_project(folder: Path) -> bytes:
    from pipeline.qdpx.write import run_export_qdpx

    out = folder / "export.qdpx"
    run_export_qdpx(DATA / "qdpx_fragments.jsonl", DATA / "qdpx_predictions.jsonl", out, "default",
                    [DATA / "qdpx_codings.csv"], DATA / "qdpx_transcripts", None)
    return out.read_bytes()


def _tool_project() -> bytes:
    """A project as another tool writes it: CR LF, an emoji, a decomposed accent, a code tree, two users."""
    text = "I: Hoe verloopt het overleg?\r\nR1: Het overleg met cafe\u0301 De Zon verloopt stroef \U0001F642.\r\n" \
           "R1: We hebben geen budget.\r\n"
    ns = "urn:QDA-XML:project:1.0"
    guid = "00000000-0000-0000-0000-{:012d}".format
    selections = [(30, 78, "Het overleg met café De Zon", 2), (82, 107, "We hebben geen budget.", 3)]
    body = "".join(
        f'<PlainTextSelection guid="{guid(100 + n)}" name="{name}" startPosition="{start}" endPosition="{end}" '
        f'creatingUser="{guid(90)}"><Coding guid="{guid(200 + n)}" creatingUser="{guid(91)}">'
        f'<CodeRef targetGUID="{guid(code)}"/></Coding></PlainTextSelection>'
        for n, (start, end, name, code) in enumerate(selections))
    qde = (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{ns}" name="t" origin="Other QDA 2.1">'
           f'<Users><User guid="{guid(90)}" name="anna"/><User guid="{guid(91)}" name="bert"/></Users>'
           f'<CodeBook><Codes><Code guid="{guid(1)}" name="impact" isCodable="false">'
           f'<Code guid="{guid(2)}" name="negatief" isCodable="true"/></Code>'
           f'<Code guid="{guid(3)}" name="relevant: ja" isCodable="true"/></Codes></CodeBook>'
           f'<Sources><TextSource guid="{guid(50)}" name="interview.docx" plainTextPath="internal://{guid(50)}.txt">'
           f'{body}</TextSource></Sources></Project>\n')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", qde)
        archive.writestr(f"sources/{guid(50)}.txt", text.encode("utf-8"))
    return buffer.getvalue()


def _model() -> bytes:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    texts = ["het overleg verloopt stroef", "we hebben geen budget", "de burgemeester beslist", "de dienst voert uit"]
    model = Pipeline([("hash", HashingVectorizer(n_features=2 ** 8)),
                      ("clf", CalibratedClassifierCV(LogisticRegression(), cv=2))]).fit(texts * 2, ["a", "b"] * 4)
    import skops.io

    buffer = io.BytesIO()
    skops.io.dump({"format": "fuzz", "estimators": {"relevant": model}}, buffer, compression=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# ---- mutations ---------------------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: flip, insert, delete, duplicate, truncate or splice in a tricky value."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        where = rng.randint(0, len(data))
        action = rng.randrange(8)
        if action == 0 and data:
            data[min(where, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            data[where:where] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif action == 2:
            del data[where:where + rng.randint(1, 64)]
        elif action == 3:
            data[where:where] = data[where:where + rng.randint(1, 256)] * rng.randint(1, 4)
        elif action == 4:
            del data[where:]
        elif action == 5:  # a long run: a cell beyond the csv field limit, a line of 140,000 characters
            data[where:where] = rng.choice([b"x", b"\xc3\xa9", b" ", b"<a>"]) * rng.choice([1000, 140_000])
        else:
            data[where:where + rng.randint(0, 4)] = rng.choice(INTERESTING)
    return bytes(data)


def mutate(kind: str, name: str, data: bytes, rng: random.Random) -> bytes:
    """A mutated copy of a seed; zip seeds are mutated inside a member half of the time."""
    if name.rsplit(".", 1)[-1] in ZIP_KINDS and rng.random() < 0.5:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [(info.filename, archive.read(info)) for info in archive.infolist()]
        at = rng.randrange(len(members))
        members[at] = (members[at][0], mutate_bytes(members[at][1], rng))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, content in members:
                archive.writestr(member, content)
        return buffer.getvalue()
    return mutate_bytes(data, rng)


# ---- reading ----------------------------------------------------------------------------------


def read(kind: str, path: Path, fragments_path: Path):
    """Read `path` the way capcode reads a file of this kind; return what it gives."""
    if kind == "transcript":
        from pipeline.readers import read_document

        return read_document(path)
    if kind.startswith("codings-"):
        from pipeline.codings import read_codings
        from pipeline.files import read_fragments

        return read_codings([path], codebook="default", fragments=list(read_fragments(fragments_path)))
    if kind == "fragments":
        from pipeline.files import read_fragments

        return list(read_fragments(path))
    if kind == "predictions":
        from pipeline.prediction_tables import read_predictions

        return read_predictions(path)
    if kind == "qdpx":
        from pipeline.codebook.read import load_codebook
        from pipeline.qdpx.importing import import_project
        from pipeline.qdpx.read import read_project

        return import_project(read_project(path), load_codebook("default"))
    if kind == "model":
        from pipeline.modelfile import check_estimators, load_model

        return check_estimators(load_model(path), path)
    raise ValueError(kind)


def outcome(kind: str, path: Path, fragments_path: Path) -> tuple:
    """('ok', None), ('error', message) for a CapcodeError, or ('bug', traceback text)."""
    import traceback

    from pipeline.errors import CapcodeError

    try:
        read(kind, path, fragments_path)
    except CapcodeError as exc:
        return "error", str(exc)
    except Exception:
        return "bug", traceback.format_exc()
    return "ok", None
