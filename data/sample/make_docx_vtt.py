"""Write the sample transcripts in data/sample/transcripts/ from worksheet/interviews.csv.

Why a script: the sample must contain the formats capcode reads (mostly .txt, one
.docx, one .vtt) and a few transcript conventions (plain `I:` / `Respondent 4:`
labels, timestamps before the label, `I:` / `R:`, a speaker line followed by its
text). Writing them all from one worksheet keeps the texts identical across
formats, so the team's codings (keyed by answer text) map onto every file.
Run from the repository root (needs python-docx):

    .venv/bin/python data/sample/make_docx_vtt.py

Every turn is one paragraph; turns are separated by a blank line (.txt), by
paragraphs (.docx) or by cues (.vtt).
"""

import csv
from collections import OrderedDict
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKSHEET = HERE / "worksheet" / "interviews.csv"
OUT = HERE / "transcripts"

# Transcript conventions other than the default `I:` / `Respondent N:`.
STYLES = {
    "case1_respondent3.txt": "timestamped",
    "case7_respondent1.txt": "short",
    "case5_respondent1.txt": "speaker_line",
}
WORDS_PER_SECOND = 2.5


def read_turns(path: Path) -> "OrderedDict[str, list]":
    """Turns per source, in order: (speaker, text)."""
    turns = OrderedDict()
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            turns.setdefault(row["source"], []).append((row["speaker"], row["text"]))
    return turns


def label(speaker: str, style: str) -> str:
    """The speaker label as a transcriber would write it."""
    if speaker == "I":
        return "Interviewer" if style == "timestamped" else "I"
    if style == "short":
        return "R"
    return "Respondent " + speaker.removeprefix("respondent")


def clock(seconds: float, millis: bool = False) -> str:
    """hh:mm:ss (or hh:mm:ss.mmm for WebVTT)."""
    whole = int(seconds)
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return text + f".{int(round((seconds - whole) * 1000)):03d}" if millis else text


def timed(turns: list):
    """(start, end, speaker, text) with a plausible speaking time per turn."""
    now = 3.0
    for speaker, text in turns:
        length = 1.0 + len(text.split()) / WORDS_PER_SECOND
        yield now, now + length, speaker, text
        now += length + 1.5


def write_txt(path: Path, turns: list, style: str) -> None:
    blocks = []
    for start, _end, speaker, text in timed(turns):
        if style == "timestamped":
            blocks.append(f"[{clock(start)}] {label(speaker, style)}: {text}")
        elif style == "speaker_line":
            blocks.append(f"{label(speaker, style)}\n{text}")
        else:
            blocks.append(f"{label(speaker, style)}: {text}")
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def write_docx(path: Path, turns: list) -> None:
    from docx import Document

    document = Document()
    document.sections[0].header.paragraphs[0].text = "Interviewtranscript - vertrouwelijk"
    for speaker, text in turns:
        document.add_paragraph(f"{label(speaker, 'plain')}: {text}")
    document.save(path)


def write_vtt(path: Path, turns: list) -> None:
    cues = ["WEBVTT", ""]
    for number, (start, end, speaker, text) in enumerate(timed(turns), start=1):
        voice = "Interviewer" if speaker == "I" else label(speaker, "plain")
        cues += [str(number), f"{clock(start, True)} --> {clock(end, True)}", f"<v {voice}>{text}", ""]
    path.write_text("\n".join(cues), encoding="utf-8")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for source, turns in read_turns(WORKSHEET).items():
        path = OUT / source
        if path.suffix == ".docx":
            write_docx(path, turns)
        elif path.suffix == ".vtt":
            write_vtt(path, turns)
        else:
            write_txt(path, turns, STYLES.get(source, "plain"))
    print(f"wrote {len(read_turns(WORKSHEET))} transcripts to {OUT}")


if __name__ == "__main__":
    main()
