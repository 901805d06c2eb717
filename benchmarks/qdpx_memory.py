"""Peak memory of `capcode import-qdpx` against the size of the project's source text.

Builds .qdpx projects with one text source of each size (Dutch interview text from the sample
study, repeated; Windows line ends, some decomposed accents and emoji, so every offset
conversion runs; one coded selection per ~2,000 characters), imports each with
`capcode import-qdpx` in a fresh process and reports that process's peak resident memory
(`os.wait4`), the same for a tiny project as the baseline, and the extra memory per MB of
source. Linear memory shows as a flat MB-per-MB column.

With `--code REV`, the same runs use the code of git revision REV (e.g. the one before the
linear offset conversion) for comparison; keep the sizes small then.

Usage: python benchmarks/qdpx_memory.py [--sizes 5 10 20 40] [--code REV]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NS = "urn:QDA-XML:project:1.0"
USER = "11111111-1111-1111-1111-111111111111"
SOURCE = "33333333-3333-3333-3333-333333333333"


def interview_text(megabytes: float) -> str:
    """About `megabytes` MB (UTF-8) of interview text with CR LF line ends, accents made of two code points and emoji."""
    parts = []
    for path in sorted((ROOT / "data" / "sample" / "transcripts").glob("*.txt")):
        parts.append(path.read_text(encoding="utf-8"))
    base = "\n\n".join(parts).replace("é", "e\u0301") + "\nR1: Dat klopt 🙂 zeker.\n"
    base = base.replace("\n", "\r\n")
    size = len(base.encode("utf-8"))
    return base * max(1, round(megabytes * 1024 * 1024 / size))


def project(path: Path, text: str, every: int = 2000) -> int:
    """Write a .qdpx with `text` as its one source; return the number of selections."""
    selections = []
    for number, start in enumerate(range(0, len(text) - 200, every)):
        end = start + 150
        name = " ".join(text[start:end].split())[:40].replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        selections.append(
            f'<PlainTextSelection guid="00000000-0000-0000-0001-{number:012d}" name="{name}" '
            f'startPosition="{start}" endPosition="{end}" creatingUser="{USER}">'
            f'<Coding guid="00000000-0000-0000-0002-{number:012d}" creatingUser="{USER}">'
            f'<CodeRef targetGUID="00000000-0000-0000-0000-000000000002"/></Coding></PlainTextSelection>')
    qde = (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="bench" origin="Bench QDA 1.0">'
           f'<Users><User guid="{USER}" name="anna"/></Users><CodeBook><Codes>'
           f'<Code guid="00000000-0000-0000-0000-000000000001" name="impact" isCodable="false">'
           f'<Code guid="00000000-0000-0000-0000-000000000002" name="negatief" isCodable="true"/></Code>'
           f'</Codes></CodeBook><Sources><TextSource guid="{SOURCE}" name="interview" '
           f'plainTextPath="internal://{SOURCE}.txt">{"".join(selections)}</TextSource></Sources></Project>\n')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", qde)
        archive.writestr(f"sources/{SOURCE}.txt", text.encode("utf-8"))
    return len(selections)


def peak_of_import(qdpx: Path, out: Path, code: Path) -> tuple:
    """(peak RSS in MB, seconds, exit code) of one `capcode import-qdpx` process."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "import-qdpx", str(qdpx), "--out", str(out)],
                               cwd=out.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    error = process.stderr.read().decode("utf-8", "replace").strip()
    process.stderr.close()
    code_ = os.waitstatus_to_exitcode(status)
    if code_ != 0:
        print(f"  exit {code_}: {error.splitlines()[-1] if error else ''}")
    return usage.ru_maxrss / 1024, seconds, code_


def checkout(revision: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", revision, "pipeline"], cwd=ROOT, check=True, capture_output=True).stdout
    (folder / "code.tar").write_bytes(archive)
    subprocess.run(["tar", "-xf", "code.tar"], cwd=folder, check=True)
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[5, 10, 20, 40], help="source sizes in MB")
    parser.add_argument("--code", default=None, help="git revision whose pipeline/ to measure instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        code = checkout(args.code, tmp / "code") if args.code else ROOT
        if args.code:
            print(f"code of revision {args.code}")
        tiny = tmp / "tiny.qdpx"
        project(tiny, interview_text(0.001))
        base, _, _ = peak_of_import(tiny, tmp / "out-tiny", code)
        print(f"baseline (a project of a few KB): peak {base:.0f} MB")
        print(f"{'source MB':>9} {'selections':>10} {'peak MB':>8} {'extra MB per source MB':>23} {'seconds':>8}")
        for megabytes in args.sizes:
            text = interview_text(megabytes)
            path = tmp / f"p{megabytes:g}.qdpx"
            selections = project(path, text)
            real = len(text.encode("utf-8")) / 1024 / 1024
            del text
            peak, seconds, status = peak_of_import(path, tmp / f"out-{megabytes:g}", code)
            print(f"{real:9.1f} {selections:10d} {peak:8.0f} {(peak - base) / real:23.1f} {seconds:8.1f}"
                  + ("" if status == 0 else "  (failed)"))
            path.unlink()


if __name__ == "__main__":
    main()
