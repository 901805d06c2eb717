"""The sample study in data/sample/ stays usable: it segments cleanly and every fragment is coded.

The sample is the project's end-to-end example (README "sample study", `make demo`, DVC
pipeline) and the classifier's training data, so these tests guard its consistency:
transcripts, manifest, the report's quotes, the team's codings and the report tables.
"""

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.codebook import load_codebook
from pipeline.codings import read_codings
from pipeline.readers import read_plain_text
from pipeline.records import ROLES, Fragment

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
TRANSCRIPTS = SAMPLE / "transcripts"
DIMENSIONS = ("relevant", "strategisch_operationeel", "intern_extern", "beleid_beheer", "impact")


def read_csv(path: Path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def fragments_path(tmp_path_factory) -> Path:
    """The sample segmented once through the CLI, exactly as the README tells a researcher."""
    out = tmp_path_factory.mktemp("sample") / "fragments.jsonl"
    result = CliRunner().invoke(cli, ["segment", str(TRANSCRIPTS), "--manifest", str(SAMPLE / "manifest.csv"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def fragments(fragments_path) -> list:
    with open(fragments_path, encoding="utf-8") as handle:
        return [Fragment.from_dict(json.loads(line)) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def manifest() -> list:
    return read_csv(SAMPLE / "manifest.csv")


def test_manifest_lists_every_transcript_once_with_a_known_role(manifest):
    files = sorted(p.name for p in TRANSCRIPTS.iterdir() if p.is_file())
    assert sorted(row["source"] for row in manifest) == files
    assert {row["role"] for row in manifest} <= set(ROLES)
    assert {Path(f).suffix for f in files} >= {".txt", ".docx", ".vtt"}


def test_every_transcript_and_respondent_yields_respondent_fragments(fragments, manifest):
    by_source = defaultdict(list)
    for fragment in fragments:
        by_source[fragment.source].append(fragment)
    for row in manifest:
        found = by_source[row["source"]]
        assert found, f"{row['source']} yields no fragment"
        assert {(f.case, f.respondent, f.role) for f in found} == {(row["case"], row["respondent"], row["role"])}
        assert all(f.speaker.lower() not in ("i", "interviewer") for f in found)


def test_fragment_offsets_point_into_the_plain_text(fragments):
    texts = {}
    for fragment in fragments:
        if fragment.source not in texts:
            texts[fragment.source] = read_plain_text(TRANSCRIPTS / fragment.source)
        assert texts[fragment.source][fragment.start_char:fragment.end_char] == fragment.text
        assert fragment.id == f"{fragment.source}#{fragment.start_char}-{fragment.end_char}"
        assert fragment.context, f"{fragment.id} has no interviewer question as context"


def test_every_quote_of_the_report_is_in_its_respondents_transcript(fragments, manifest):
    source_of = {(row["case"], row["respondent"]): row["source"] for row in manifest}
    joined = defaultdict(str)
    for fragment in fragments:
        joined[fragment.source] += " " + fragment.text
    quotes = read_csv(SAMPLE / "quotes.csv")
    assert len(quotes) == 111
    for quote in quotes:
        text = " ".join(quote["text"].split())
        assert text in " ".join(joined[source_of[quote["case"], quote["respondent"]]].split()), quote["quote_id"]


def test_every_fragment_is_coded_by_the_team_and_quotes_are_relevant(fragments):
    codebook = load_codebook("default")
    codings = read_codings([SAMPLE / "codings" / "team.csv"], codebook=codebook, fragments=fragments)
    codes = defaultdict(dict)
    for coding in codings:
        assert coding.coder == "team"
        codes[coding.fragment_id][coding.dimension] = coding.value
    assert set(codes) == {f.id for f in fragments}
    origin = {f"{r['source']}#{r['start_char']}-{r['end_char']}": r["origin"]
              for r in read_csv(SAMPLE / "fragment_units.csv")}
    assert set(origin) == {f.id for f in fragments}
    for fragment_id, coded in codes.items():
        if origin[fragment_id] == "report":
            assert coded["relevant"] == "ja" and set(coded) == set(DIMENSIONS), fragment_id
        else:
            assert coded == {"relevant": "nee"}, fragment_id


def test_team_codings_use_every_value_of_every_dimension():
    rows = read_csv(SAMPLE / "codings" / "team.csv")
    codebook = load_codebook("default")
    for dimension in codebook.dimensions:
        used = {row[dimension.id] for row in rows} - {""}
        assert used == {value.id for value in dimension.values}, dimension.id


def test_codings_check_runs_clean_on_team_and_second_coder(fragments_path, fragments):
    result = CliRunner().invoke(cli, ["codings", "check", str(SAMPLE / "codings" / "team.csv"),
                                      str(SAMPLE / "codings" / "coder2.csv"), "--fragments", str(fragments_path)])
    assert result.exit_code == 0, result.output
    assert "coders: 2" in result.output
    assert f"{len(fragments)} of {len(fragments)} fragments" in result.output


def test_cases_and_report_tables_match_the_report_layout(manifest):
    cases = read_csv(SAMPLE / "cases.csv")
    assert [c["case"] for c in cases] == [f"case{n}" for n in range(1, 8)]
    assert {c["type"] for c in cases} == {"1", "2", "3"}
    assert {row["case"] for row in manifest} == {c["case"] for c in cases}
    tables = read_csv(SAMPLE / "report_tables.csv")
    assert {r["table"] for r in tables} == {"strategisch", "operationeel"}
    assert {r["column"] for r in tables} == {"intern", "extern"}
    assert {r["row"] for r in tables} == {"beleid", "beheer"}
    assert {r["weakening"] for r in tables} == {"true", "false"}
    assert {r["case"] for r in tables} == {c["case"] for c in cases}
    assert ("case1", "operationeel", "extern", "beleid", "Moeizaam contact met doelgroep", "true") in {
        (r["case"], r["table"], r["column"], r["row"], r["item"], r["weakening"]) for r in tables}
