"""End to end: the whole chain on the sample study, and the aggregate with another codebook.

Also checks that dvc.yaml and `pipeline.demo` agree with the commands that exist.
"""

import csv
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.demo import stage_commands

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data" / "sample"

THEMA_CODEBOOK = """\
name: thema-toon
version: "0.1"
dimensions:
  - id: thema
    values: [wonen, werk, taal]
  - id: toon
    values: [kritisch, waarderend]
"""


def invoke(args, cwd=None):
    result = CliRunner().invoke(cli, [str(a) for a in args], obj={})
    assert result.exit_code == 0, f"capcode {' '.join(map(str, args))} failed:\n{result.output}"
    return result


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """segment -> train -> predict -> evaluate -> aggregate on the sample study, as dvc.yaml runs it."""
    work = tmp_path_factory.mktemp("sample")
    params = work / "params.yaml"
    # the repository's settings, but no cross-validation inside train (evaluate does it) to keep the test fast
    settings = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    settings["train"]["cv_folds"] = 0
    # a stricter threshold than the default, so the model abstains on some fragments
    settings["predict"]["default_threshold"] = 0.7
    params.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    codings = SAMPLE / "codings" / "team.csv"
    p = ["--params", params]
    outputs = {}
    outputs["segment"] = invoke(p + ["segment", SAMPLE / "transcripts", "--manifest", SAMPLE / "manifest.csv",
                                     "--out", work / "fragments.jsonl"])
    outputs["train"] = invoke(p + ["train", "--fragments", work / "fragments.jsonl", "--codings", codings,
                                   "--out", work / "model"])
    outputs["predict"] = invoke(p + ["predict", "--model", work / "model", work / "fragments.jsonl",
                                     "--out", work / "predictions.jsonl"])
    outputs["evaluate"] = invoke(p + ["evaluate", "--fragments", work / "fragments.jsonl", "--codings", codings,
                                      "--out", work / "metrics.json", "--no-designs", "--no-learning-curve"])
    outputs["aggregate"] = invoke(p + ["aggregate", "--fragments", work / "fragments.jsonl", "--codings", codings,
                                       "--predictions", work / "predictions.jsonl",
                                       "--report-tables", SAMPLE / "report_tables.csv",
                                       "--cases", SAMPLE / "cases.csv", "--out", work / "aggregate"])
    outputs["model only"] = invoke(p + ["aggregate", "--fragments", work / "fragments.jsonl",
                                        "--predictions", work / "predictions.jsonl", "--out", work / "model_only"])
    return work, outputs


def test_sample_study_end_to_end(sample_run):
    work, outputs = sample_run
    fragments = [json.loads(line) for line in (work / "fragments.jsonl").read_text(encoding="utf-8").splitlines()]
    cases = {row["case"] for row in read_csv(SAMPLE / "cases.csv")}
    assert len(fragments) > 100 and {f["case"] for f in fragments} == cases
    assert (work / "model" / "manifest.json").exists()
    predictions = (work / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len({json.loads(line)["fragment_id"] for line in predictions}) == len(fragments)
    metrics = json.loads((work / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["relevant"]["macro_f1"] > metrics["relevant"]["majority_macro_f1"]

    rows = read_csv(work / "aggregate" / "aggregates.csv")
    assert len(rows) == len(cases) * 8 and {r["case"] for r in rows} == cases
    # every fragment is team-coded, so the humans win everywhere and the model adds nothing
    assert sum(int(r["n_model"]) for r in rows) == 0
    team = {}
    for row in read_csv(SAMPLE / "codings" / "team.csv"):
        team[(row["source"], row["start_char"])] = row["relevant"]
    assert sum(int(r["n"]) for r in rows) == sum(1 for v in team.values() if v == "ja")
    for case in cases:
        shares = [float(r["share"]) for r in rows if r["case"] == case]
        assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    summary = (work / "aggregate" / "summary.md").read_text(encoding="utf-8")
    assert "## Berekende tabellen naast de tabellen van het rapport" in summary  # report.language: nl
    assert re.search(r"De regel geeft voor \d van de 7 cases het type dat het rapport zelf geeft", summary)
    assert "| case1 | Strategisch / Intern / Beheerscapaciteit | Integratiedienst;" in summary
    page = (work / "aggregate" / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "Beperkte aandacht voor in het MAT" in page
    assert outputs["aggregate"].stdout.splitlines()[0].startswith("case")


def test_sample_model_only_counts_the_model_and_its_abstentions_apart(sample_run):
    work, outputs = sample_run
    rows = read_csv(work / "model_only" / "aggregates.csv")
    assert sum(int(r["n_human"]) for r in rows) == 0 and sum(int(r["n_model"]) for r in rows) > 0
    header = outputs["model only"].stdout.splitlines()[0].split()
    total = next(line for line in outputs["model only"].stdout.splitlines() if line.startswith("Alle cases"))
    pending = int(total.split()[2 + 8 + 1])  # 'Alle cases', n relevant, eight cells, te beoordelen
    assert "beoordelen" in header
    abstained = sum(1 for line in (work / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
                    if json.loads(line)["abstained"])
    assert abstained > 0 and pending > 0


def test_two_dimension_codebook_aggregates(tmp_path, data_dir):
    """Another study: dimensions thema x toon, named in its own params file."""
    book = tmp_path / "thema.yaml"
    book.write_text(THEMA_CODEBOOK, encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text(f"codebook: {book}\naggregate:\n  niveau: thema\n  locus: toon\n  domein: ''\n"
                      "  impact: ''\n  relevance: ''\n", encoding="utf-8")
    fragments = [json.loads(line) for line in (data_dir / "aggregate_fragments.jsonl").read_text(encoding="utf-8").splitlines()]
    codings = tmp_path / "thema_codings.csv"
    values = [("taal", "kritisch"), ("werk", "waarderend"), ("taal", "waarderend"), ("wonen", "kritisch")]
    with open(codings, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["fragment_id", "coder", "thema", "toon"])
        for fragment, (thema, toon) in zip(fragments[::3], values):
            writer.writerow([fragment["id"], "els", thema, toon])
    out = tmp_path / "agg"
    result = invoke(["--params", params, "aggregate", "--fragments", data_dir / "aggregate_fragments.jsonl",
                     "--codings", codings, "--out", out])
    assert "wo.k" in result.stdout.splitlines()[0] and "ta.w" in result.stdout.splitlines()[0]
    rows = read_csv(out / "aggregates.csv")
    assert len(rows) == 2 * 6  # two cases x (3 thema x 2 toon)
    taal = {(r["case"], r["niveau"], r["locus"]): r for r in rows}
    assert taal[("Case 1", "taal", "kritisch")]["n"] == "1"
    assert taal[("Case 1", "taal", "kritisch")]["share"] == "0.5"
    assert taal[("Case 2", "wonen", "kritisch")]["n"] == "1"
    assert all(r["domein"] == "" for r in rows)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "Cellen: thema x toon" in summary and "hoofdstuk 6" not in summary and "hfst. 6" not in summary
    assert not (out / "profiles.png").exists()


def test_dvc_yaml_stages_run_in_order_and_use_existing_commands():
    """What `make demo` runs without DVC: the dvc.yaml commands, vars filled in, in dependency order."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    order = [name for name, _ in stage_commands(ROOT / "dvc.yaml")]
    assert order == ["segment", "train", "predict", "evaluate", "aggregate"]
    commands = set(cli.commands)
    for name, command in stage_commands(ROOT / "dvc.yaml"):
        words = command.split()
        assert words[0] == "capcode" and words[1] in commands, command
        assert "${" not in command, command
        spec = stages["stages"][name]
        assert any(str(d).startswith("pipeline/") for d in spec["deps"]), f"{name}: code is not a dependency"
    segment = dict(stage_commands(ROOT / "dvc.yaml"))["segment"]
    assert "data/sample/transcripts --manifest data/sample/manifest.csv --out out/fragments.jsonl" in segment
    known = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for name, spec in stages["stages"].items():
        for key in spec.get("params", []):
            node = known
            for part in key.split("."):
                assert part in node, f"{name}: params key {key} is not in params.yaml"
                node = node[part]
