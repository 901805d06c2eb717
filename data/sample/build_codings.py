"""Turn the team's per-answer codes into span-form codings of the sample fragments.

Why: the team coded every respondent answer of the sample (worksheet/team_by_unit.csv,
one row per answer: a quote of the report or a constructed answer). capcode codes
fragments, and a long answer may become several fragments. This script finds,
for every fragment that `capcode segment` writes, the answer it comes from (the
answer of the same transcript whose text contains the fragment's text) and gives
the fragment that answer's codes. The output is in span form
(`source,start_char,end_char`), so the codings still attach when the sample is
segmented again with other settings. Run from the repository root:

    capcode segment data/sample/transcripts --manifest data/sample/manifest.csv --out /tmp/sample_fragments.jsonl
    .venv/bin/python data/sample/build_codings.py /tmp/sample_fragments.jsonl

Writes codings/team.csv (every respondent fragment), codings/coder2.csv (the
fragments of the answers in worksheet/coder2_by_unit.csv) and fragment_units.csv
(which answer, and so which quote of the report, each fragment comes from, and
whether it is verbatim from the report or constructed). Stops with a message if
a fragment matches no answer or an answer yields no fragment.
"""

import csv
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIMENSIONS = ("relevant", "strategisch_operationeel", "intern_extern", "beleid_beheer", "impact")


def squash(text: str) -> str:
    """Text with all runs of whitespace as one space, for matching across formats."""
    return re.sub(r"\s+", " ", text).strip()


def read_csv(path: Path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def answers_by_source(interviews: list) -> dict:
    """{source: [(unit, origin, squashed text)]} for respondent answers."""
    answers = {}
    for row in interviews:
        if row["speaker"] != "I":
            answers.setdefault(row["source"], []).append((row["unit"], row["origin"], squash(row["text"])))
    return answers


def unit_of(fragment: dict, answers: dict) -> tuple:
    """(unit, origin) of the answer that contains this fragment's text."""
    text = squash(fragment["text"])
    matches = [(unit, origin) for unit, origin, answer in answers.get(fragment["source"], []) if text in answer]
    if len(matches) != 1:
        raise SystemExit(f"{fragment['id']}: matches {len(matches)} answers of the worksheet; expected exactly one.")
    return matches[0]


def span_rows(fragments: list, units: dict, codes: dict, coder: str) -> list:
    """One span-form coding row per fragment whose answer has codes."""
    rows = []
    for fragment in fragments:
        unit = units[fragment["id"]]
        if unit in codes:
            rows.append([fragment["source"], fragment["start_char"], fragment["end_char"], coder]
                        + [codes[unit][d] for d in DIMENSIONS])
    return rows


def write(path: Path, header: list, rows: list) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(fragments_path: str) -> None:
    with open(fragments_path, encoding="utf-8") as handle:
        fragments = [json.loads(line) for line in handle if line.strip()]
    interviews = read_csv(HERE / "worksheet" / "interviews.csv")
    answers = answers_by_source(interviews)
    units, origins = {}, {}
    for fragment in fragments:
        units[fragment["id"]], origins[fragment["id"]] = unit_of(fragment, answers)
    missing = {u for source in answers.values() for u, _, _ in source} - set(units.values())
    if missing:
        raise SystemExit(f"answers without a fragment: {', '.join(sorted(missing))}")
    team = {row["unit"]: row for row in read_csv(HERE / "worksheet" / "team_by_unit.csv")}
    coder2 = {row["unit"]: row for row in read_csv(HERE / "worksheet" / "coder2_by_unit.csv")}
    header = ["source", "start_char", "end_char", "coder", *DIMENSIONS]
    team_rows = span_rows(fragments, units, team, "team")
    coder2_rows = span_rows(fragments, units, coder2, "coder2")
    write(HERE / "codings" / "team.csv", header, team_rows)
    write(HERE / "codings" / "coder2.csv", header, coder2_rows)
    write(HERE / "fragment_units.csv", ["source", "start_char", "end_char", "unit", "origin"],
          [[f["source"], f["start_char"], f["end_char"], units[f["id"]], origins[f["id"]]] for f in fragments])
    print(f"{len(fragments)} fragments: team.csv {len(team_rows)} rows, coder2.csv {len(coder2_rows)} rows",
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
