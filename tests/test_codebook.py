"""Codebook files: loading, validation with line numbers, helpers, and the CLI."""

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.codebook import (Codebook, Condition, Dimension, Value, codebook_path, load_codebook,
                               parse_codebook, shipped_codebooks)
from pipeline.errors import CodebookError

DEFAULT_DIMENSIONS = ("relevant", "strategisch_operationeel", "intern_extern", "beleid_beheer", "impact")


def test_default_codebook_encodes_the_shared_scheme():
    codebook = load_codebook()
    assert isinstance(codebook, Codebook)
    assert codebook.dimension_ids == DEFAULT_DIMENSIONS
    assert codebook.value_ids("relevant") == ("ja", "nee")
    assert codebook.value_ids("strategisch_operationeel") == ("strategisch", "operationeel")
    assert codebook.value_ids("intern_extern") == ("intern", "extern")
    assert codebook.value_ids("beleid_beheer") == ("beleid", "beheer")
    assert codebook.value_ids("impact") == ("positief", "negatief", "neutraal")
    assert codebook.dimension("relevant").condition is None
    for dim in DEFAULT_DIMENSIONS[1:]:
        assert codebook.dimension(dim).condition == Condition("relevant", "ja")
        assert codebook.dimension(dim).level == "nominal"


def test_default_codebook_carries_decision_rules_and_report_examples_in_dutch():
    codebook = load_codebook("default")
    assert "ad hoc" in codebook.dimension("strategisch_operationeel").description.lower()
    strategisch = codebook.dimension("strategisch_operationeel").value("strategisch")
    assert "ambitienota" in strategisch.description
    assert "MAT" in strategisch.description
    beheer = codebook.dimension("beleid_beheer").value("beheer")
    assert "PIOFAH" in beheer.description
    assert any("organogram" in e for e in beheer.examples)
    negatief = codebook.dimension("impact").value("negatief")
    assert "Moeizaam contact met doelgroep" in negatief.examples
    extern = codebook.dimension("intern_extern").value("extern")
    assert any("netwerkbrunch" in e for e in extern.examples)
    # Dutch first, English kept beside it
    assert dict(strategisch.descriptions)["en"].startswith("Vision")
    assert "Strategische capaciteit" in strategisch.text()


def test_hash_is_stable_and_follows_content(tmp_path):
    first, second = load_codebook(), load_codebook("default")
    assert first.hash == second.hash and len(first.hash) == 64
    text = codebook_path("default").read_text(encoding="utf-8")
    copy = tmp_path / "copy.yaml"
    copy.write_text("# a comment changes nothing\n" + text, encoding="utf-8")
    assert load_codebook(copy).hash == first.hash
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace('version: "1.0"', 'version: "1.1"'), encoding="utf-8")
    assert load_codebook(changed).hash != first.hash


def test_applies_follows_conditions_and_chains():
    codebook = load_codebook()
    assert codebook.applies("relevant", {})
    assert codebook.applies("impact", {"relevant": "ja"})
    assert not codebook.applies("impact", {"relevant": "nee"})
    assert not codebook.applies("impact", {})  # unknown relevance licenses nothing
    chained = parse_codebook("""
name: keten
version: "1"
dimensions:
  - {id: a, values: [ja, nee]}
  - {id: b, values: [x, y], only_when: {a: ja}}
  - {id: c, values: [p, q], only_when: {b: x}}
""")
    assert chained.applies("c", {"a": "ja", "b": "x"})
    assert not chained.applies("c", {"a": "nee", "b": "x"})


def test_two_dimension_codebook_with_languages_shorthand_and_order(data_dir):
    codebook = load_codebook(data_dir / "codebook_two.yaml")
    assert (codebook.name, codebook.version) == ("toon-en-thema", "0.2")
    assert codebook.dimension_ids == ("thema", "toon")
    thema = codebook.dimension("thema")
    assert thema.label == "Thema"  # Dutch preferred
    assert thema.description == "Waarover gaat het fragment?"
    assert thema.values[0] == Value("werk", "Werk", "Tewerkstelling, job, sollicitatie.",
                                    ("Hij zoekt een job bij de VDAB.",), (("", "Tewerkstelling, job, sollicitatie."),))
    toon = codebook.dimension("toon")
    assert isinstance(toon, Dimension)
    assert toon.level == "ordinal" and toon.value_ids == ("laag", "midden", "hoog")
    assert toon.condition == Condition("thema", "werk")


def test_scalars_stay_text():
    codebook = parse_codebook("""
name: tekst
version: 1.0
dimensions:
  - id: antwoord
    values: [yes, no, "on"]
  - id: score
    level: interval
    values: [1, 2, 3]
""")
    assert codebook.version == "1.0"
    assert codebook.value_ids("antwoord") == ("yes", "no", "on")
    assert codebook.value_ids("score") == ("1", "2", "3")


def test_normalize_accepts_case_labels_and_spreadsheet_numbers():
    codebook = load_codebook()
    impact = codebook.dimension("impact")
    assert impact.normalize("Negatief") == "negatief"
    assert impact.normalize(" positief ") == "positief"
    assert impact.normalize("Neutraal (beschrijvend)") == "neutraal"
    assert impact.normalize("slecht") is None
    score = parse_codebook("name: s\nversion: '1'\ndimensions:\n  - {id: s, level: interval, values: [1, 2]}\n")
    assert score.dimension("s").normalize("2.0") == "2"


def test_all_problems_reported_at_once_with_lines(data_dir):
    with pytest.raises(CodebookError) as caught:
        load_codebook(data_dir / "codebook_bad.yaml")
    message = str(caught.value)
    assert message.startswith(f"{data_dir / 'codebook_bad.yaml'}: the codebook has 9 problems:")
    expected = [
        "line 3: the codebook has unknown key 'colour'",
        "line 7: dimension id 'relevant' is used twice (first on line 5)",
        "line 10: dimension 'toon': unknown level 'ratio'",
        "line 13: dimension 'thema' only_when names unknown dimension 'onbekend'",
        "line 14: dimension 'thema' has no values",
        "line 16: dimension 'impact' only_when: 'misschien' is not a value of 'relevant'",
        "line 19: a value of dimension 'impact' has unknown key 'labl'",
        "line 20: dimension 'impact': value id 'positief' is used twice (first on line 18)",
    ]
    for fragment in expected:
        assert fragment in message
    lines = message.splitlines()[1:]
    numbers = [int(line.split(", line ")[1].split(":")[0]) for line in lines]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("text, expected", [
    ("name: x\nversion: '1'\ndimensions:\n  - {id: a, values: [p, q], only_when: {a: p}}\n",
     "line 4: dimension 'a' only_when names the dimension itself"),
    ("name: x\nversion: '1'\ndimensions:\n  - {id: a, values: [p, q], only_when: {b: p}}\n"
     "  - {id: b, values: [p, q], only_when: {a: p}}\n", "conditions form a loop: a -> b -> a"),
    ("name: x\nversion: '1'\ndimensions:\n  - {id: a, level: interval, values: [laag, 2]}\n",
     "line 4: dimension 'a' is interval, so its value ids must be numbers; 'laag' is not"),
    ("name: x\nversion: '1'\ndimensions:\n  - id: mijn dim\n    values: [p, q]\n",
     "line 4: dimension id 'mijn dim' contains spaces; use e.g. 'mijn_dim'"),
    ("name: x\nversion: '1'\nname: y\ndimensions:\n  - {id: a, values: [p, q]}\n",
     "line 3: the codebook has 'name' twice"),
    ("name: x\ndimensions: []\n", "the codebook lacks 'version'"),
    ("name: x\nversion: '1'\ndimensions:\n  - {id: a, values: [p, q]\n", "not valid YAML"),
    ("", "the file is empty"),
])
def test_specific_problems(text, expected):
    with pytest.raises(CodebookError) as caught:
        parse_codebook(text, origin="cb.yaml")
    assert expected in str(caught.value)


def test_unknown_name_lists_shipped_codebooks(tmp_path):
    assert "default" in shipped_codebooks()
    with pytest.raises(CodebookError, match="not a shipped codebook"):
        load_codebook("nietbestaand")
    with pytest.raises(CodebookError, match="codebook file not found"):
        load_codebook(tmp_path / "missing.yaml")
    with pytest.raises(CodebookError, match="has no dimension 'thema'"):
        load_codebook().dimension("thema")


def test_every_shipped_codebook_is_valid():
    for name in shipped_codebooks():
        codebook = load_codebook(name)
        assert codebook.dimensions and codebook.hash


def test_cli_show_default_readably():
    result = CliRunner().invoke(cli, ["codebook", "show", "default"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("capaciteit-regierol 1.0  (5 dimensions")
    assert "beleid_beheer: Beleid of beheer  [nominal]  only when relevant = ja" in result.output
    assert "  - negatief (Negatief (verzwakt))" in result.output
    english = CliRunner().invoke(cli, ["codebook", "show", "default", "--lang", "en"])
    assert "Vision and choices" in english.output
    french = CliRunner().invoke(cli, ["codebook", "show", "default", "--lang", "fr"])
    assert french.exit_code == 2 and "'fr' is not one of 'nl', 'en'" in french.output  # not Dutch without a word


def test_cli_show_json_round_trips_the_content(data_dir):
    result = CliRunner().invoke(cli, ["codebook", "show", str(data_dir / "codebook_two.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["hash"] == load_codebook(data_dir / "codebook_two.yaml").hash
    assert [d["id"] for d in data["dimensions"]] == ["thema", "toon"]
    assert data["dimensions"][1]["only_when"] == {"thema": "werk"}


def test_cli_check(data_dir):
    good = CliRunner().invoke(cli, ["codebook", "check", str(data_dir / "codebook_two.yaml")])
    assert good.exit_code == 0
    assert good.output == "OK: toon-en-thema 0.2, 2 dimensions\n"
    bad = CliRunner().invoke(cli, ["codebook", "check", str(data_dir / "codebook_bad.yaml")])
    assert bad.exit_code == 1
    assert "Error: " in bad.output and "line 10: dimension 'toon': unknown level 'ratio'" in bad.output
    assert "Traceback" not in bad.output


def test_cli_help_for_every_command():
    for args in (["codebook"], ["codebook", "show"], ["codebook", "check"], ["codings"], ["codings", "check"]):
        result = CliRunner().invoke(cli, args + ["--help"])
        assert result.exit_code == 0 and "Example:" in result.output


def test_dimension_cannot_take_a_coding_column_name():
    with pytest.raises(CodebookError, match="line 4: dimension id 'coder' is a column name of coding files"):
        parse_codebook("name: x\nversion: '1'\ndimensions:\n  - {id: coder, values: [a, b]}\n", origin="cb.yaml")
