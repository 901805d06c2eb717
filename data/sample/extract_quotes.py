"""Extract every attributed respondent quote of the report's ch. 5 into quotes.csv.

Why: the sample transcripts are built from the report's verbatim quotes; this
script shows exactly how they were taken from the plain-text report, so anyone
with ../shared/seed/ can check them. Run from the repository root:

    .venv/bin/python data/sample/extract_quotes.py ../shared/seed/000_22f3c00e6f4aa475.txt data/sample/quotes.csv

Rules: a quote is the text between an opening quotation mark and the closing
one right before "(Respondent N)" (nested quotes are balanced); line breaks of
the PDF text become one space (a line ending in "-" is joined without a space);
runs of spaces become one space. The case is the section 5.N it stands in.
"""

import csv
import re
import sys

CASE_HEADING = re.compile(r"^\s*5\.(\d) CASESTUDY \d", re.M)
ATTRIBUTION = re.compile(r"\(Respondent\s+(\d+)\)")
OPEN, CLOSE = "“", "”"


def join_lines(text: str) -> str:
    """Undo the PDF line breaks and collapse runs of whitespace."""
    lines = [line.strip() for line in text.splitlines()]
    out = ""
    for line in lines:
        if not line:
            continue
        if out and not out.endswith("-"):
            out += " "
        out += line
    return re.sub(r"\s+", " ", out).strip()


def quote_start(text: str, close_at: int) -> int:
    """Index of the opening mark that balances the closing mark at close_at."""
    if text[close_at] == '"':
        return text.rindex('"', 0, close_at)
    depth = 0
    for index in range(close_at, -1, -1):
        if text[index] == CLOSE:
            depth += 1
        elif text[index] == OPEN:
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"no opening quote before offset {close_at}")


def section_of(text: str, offset: int) -> str:
    """The nearest numbered heading (e.g. '5.1.2') before offset."""
    headings = [m for m in re.finditer(r"^\s*(5\.\d\.\d)\s", text[:offset], re.M)]
    return headings[-1].group(1) if headings else ""


def extract(text: str) -> list:
    """All (case, respondent, section, quote) in report order."""
    cases = [(m.start(), f"case{m.group(1)}") for m in CASE_HEADING.finditer(text)]
    rows = []
    for match in ATTRIBUTION.finditer(text):
        close_at = match.start() - 1
        while text[close_at].isspace():
            close_at -= 1
        start = quote_start(text, close_at)
        case = [name for offset, name in cases if offset < match.start()][-1]
        rows.append((case, f"respondent{match.group(1)}", section_of(text, start), join_lines(text[start + 1:close_at])))
    return rows


def main(report_path: str, out_path: str) -> None:
    with open(report_path, encoding="utf-8") as handle:
        text = handle.read()
    rows = extract(text)
    with open(out_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["quote_id", "case", "respondent", "report_section", "text"])
        for number, (case, respondent, section, quote) in enumerate(rows, start=1):
            writer.writerow([f"q{number:03d}", case, respondent, section, quote])
    print(f"{len(rows)} quotes written to {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:3])
