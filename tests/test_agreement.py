"""Agreement statistics against independent implementations and published examples; the CLI."""

import csv
import json
import math
import warnings

import krippendorff
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from pipeline import agreement as ag
from pipeline.agreement import bootstrap
from pipeline.cli import cli
from pipeline.codebook import parse_codebook
from pipeline.errors import CodebookError, InputError
from pipeline.records import Coding

TOL = 1e-9
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers,
# 12 units, values 1-5, with missing values (None).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def example_codes():
    return np.array([[-1 if v is None else v - 1 for v in row] for row in KRIPPENDORFF_2011])


def as_nan(codes):
    return np.where(codes >= 0, codes, np.nan).astype(float)


@st.composite
def reliability(draw, missing=True, max_coders=6, max_units=25):
    n_values = draw(st.integers(2, 5))
    n_coders = draw(st.integers(2, max_coders))
    n_units = draw(st.integers(1, max_units))
    low = -1 if missing else 0
    codes = draw(arrays(np.int64, (n_coders, n_units), elements=st.integers(low, n_values - 1)))
    return codes, n_values


def quiet(function, *args, **kwargs):
    """Call a reference implementation, silencing its 0/0 warnings; NaN or ValueError -> None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = function(*args, **kwargs)
        except (ValueError, ZeroDivisionError):
            return None
    value = float(value)
    return None if math.isnan(value) else value


def same(ours, theirs):
    if theirs is None:
        return ours is None
    return ours is not None and abs(ours - theirs) <= TOL


# ---- published examples ----------------------------------------------------------------------------


@pytest.mark.parametrize("level,expected", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_published_example(level, expected):
    counts = ag.unit_value_counts(example_codes(), 5)
    assert round(ag.krippendorff_alpha(counts, level, numeric=[1, 2, 3, 4, 5]), 3) == expected


def test_gwet_handbook_example_same_data():
    # Gwet (2014), Handbook of Inter-Rater Reliability, 4th ed., ch. 2 (the irrCAC package's
    # raw_4raters example, which is Krippendorff's data): p_a 0.81818, Fleiss 0.76117,
    # AC1 0.77544, Brennan-Prediger 0.77273 (q = 5).
    counts = ag.unit_value_counts(example_codes(), 5)
    assert round(ag.observed_agreement(counts), 5) == 0.81818
    assert round(ag.fleiss_kappa(counts), 5) == 0.76117
    assert round(ag.gwet_ac1(counts), 5) == 0.77544
    assert round(ag.brennan_prediger(counts), 5) == 0.77273


def test_coincidence_matrix_of_published_example():
    # Krippendorff (2011), section C: n_c = 9, 13, 10, 5, 3 pairable values; n = 40.
    o = ag.coincidence_matrix(ag.unit_value_counts(example_codes(), 5))
    assert np.allclose(o.sum(axis=1), [9, 13, 10, 5, 3])
    assert np.allclose(o, o.T)
    assert o[0, 0] == pytest.approx(7.0) and o[0, 1] == pytest.approx(4 / 3)


def test_specific_agreement_two_coders_is_2a_over_2a_b_c():
    a = np.array([0, 0, 0, 1, 1, 0, -1])
    b = np.array([0, 0, 1, 1, 0, -1, 1])
    counts = ag.unit_value_counts(np.vstack([a, b]), 2)
    # value 0: a = 2 units both 0, b + c = 2 units one 0 -> 4 / 6
    assert ag.specific_agreement(counts) == [pytest.approx(4 / 6), pytest.approx(2 / 4)]


# ---- property-based: independent implementations -------------------------------------------------


@FAST
@given(reliability(), st.sampled_from(ag.LEVELS))
def test_alpha_matches_krippendorff_package(data, level):
    codes, n_values = data
    counts = ag.unit_value_counts(codes, n_values)
    ours = ag.krippendorff_alpha(counts, level, numeric=list(range(n_values)))
    theirs = quiet(krippendorff.alpha, as_nan(codes), level_of_measurement=level, value_domain=list(range(n_values)))
    assert same(ours, theirs)


@FAST
@given(reliability(missing=False))
def test_fleiss_and_brennan_prediger_match_statsmodels(data):
    codes, n_values = data
    counts = ag.unit_value_counts(codes, n_values)
    assert same(ag.fleiss_kappa(counts), quiet(sm_fleiss_kappa, counts, method="fleiss"))
    assert same(ag.brennan_prediger(counts), quiet(sm_fleiss_kappa, counts, method="randolph"))


@FAST
@given(reliability(), st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_kappa_matches_sklearn_on_shared_units(data, weights):
    codes, n_values = data
    a, b = codes[0], codes[1]
    both = (a >= 0) & (b >= 0)
    ours = ag.cohen_kappa(a, b, n_values, weights)
    if not both.any():
        assert ours is None
        return
    theirs = quiet(cohen_kappa_score, a[both], b[both], labels=list(range(n_values)), weights=weights)
    assert same(ours, theirs)


@FAST
@given(reliability())
def test_pair_confusions_match_one_pair_at_a_time(data):
    codes, n_values = data
    pairs, tables = ag.pair_confusions(codes, n_values)
    for (a, b), table in zip(pairs, tables):
        assert (table == ag.confusion_matrix(codes[a], codes[b], n_values)).all()


@FAST
@given(reliability(missing=False))
def test_missing_units_generalisation_reduces_to_complete_case(data):
    # A unit coded by one coder only changes no agreement term of alpha (missing data).
    codes, n_values = data
    counts = ag.unit_value_counts(codes, n_values)
    extra = np.full((codes.shape[0], 1), -1)
    extra[0, 0] = 0
    padded = ag.unit_value_counts(np.hstack([codes, extra]), n_values)
    assert same(ag.krippendorff_alpha(padded), ag.krippendorff_alpha(counts))
    assert same(ag.observed_agreement(padded), ag.observed_agreement(counts))


@FAST
@given(reliability(max_units=12), st.data(), st.sampled_from(ag.LEVELS))
def test_bootstrap_weights_equal_alpha_of_replicated_units(data, draw, level):
    # The vectorised bootstrap computes alpha from how often each unit is drawn; that must be
    # alpha of the data with those units repeated, computed by the krippendorff package.
    codes, n_values = data
    counts = ag.unit_value_counts(codes, n_values)
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0:
        return
    repeats = np.array(draw.draw(st.lists(st.integers(0, 3), min_size=len(pairable), max_size=len(pairable))))
    ours = ag.alphas_from_pattern_weights(pairable, repeats[None, :].astype(float), level, list(range(n_values)))[0]
    replicated = np.repeat(pairable, repeats, axis=0)
    theirs = None if len(replicated) == 0 else quiet(krippendorff.alpha, value_counts=replicated,
                                                     value_domain=list(range(n_values)), level_of_measurement=level)
    assert same(None if not np.isfinite(ours) else float(ours), theirs)


# ---- bootstrap --------------------------------------------------------------------------------------


def noisy_codes(seed=3, n_coders=4, n_units=300, n_values=3):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_values, n_units)
    codes = np.where(rng.random((n_coders, n_units)) < 0.75, truth, rng.integers(0, n_values, (n_coders, n_units)))
    codes[rng.random(codes.shape) < 0.15] = -1
    return codes


def test_bootstrap_is_seeded_and_brackets_alpha():
    counts = ag.unit_value_counts(noisy_codes(), 3)
    alpha = ag.krippendorff_alpha(counts)
    first = ag.bootstrap_alpha(counts, n_resamples=400, seed=7)
    assert first == ag.bootstrap_alpha(counts, n_resamples=400, seed=7)
    assert first != ag.bootstrap_alpha(counts, n_resamples=400, seed=8)
    assert first.low < alpha < first.high
    assert first.high - first.low < 0.25 and first.defined == 400


def test_resampling_draws_as_many_units_in_both_strategies():
    rng = np.random.default_rng(0)
    few = np.array([40, 30, 30])                 # few patterns: multinomial per pattern
    many = np.ones(50, dtype=np.int64)           # every unit its own pattern: draw units
    for frequency in (few, many):
        blocks = list(bootstrap._resample_frequencies(frequency, 25, rng))
        drawn = np.vstack(blocks)
        assert drawn.shape == (25, len(frequency))
        assert (drawn.sum(axis=1) == frequency.sum()).all()


def test_many_values_use_sparse_coincidences_and_still_match():
    # 40 ordinal values, 3 coders, 3,000 units: rows rarely repeat (no pattern compression) and
    # the per-unit coincidences are kept sparse; alpha must not change.
    codes = noisy_codes(seed=11, n_coders=3, n_units=3000, n_values=40)
    counts = ag.unit_value_counts(codes, 40)
    patterns, frequency = ag.unit_patterns(counts)
    assert (frequency == 1).all() and len(patterns) == (counts.sum(axis=1) >= 2).sum()
    assert not isinstance(bootstrap._pattern_coincidences(patterns), np.ndarray)  # sparse
    theirs = krippendorff.alpha(as_nan(codes), level_of_measurement="ordinal", value_domain=list(range(40)))
    ours = ag.alphas_from_pattern_weights(patterns, frequency[None, :], "ordinal")[0]
    assert abs(ours - theirs) <= TOL and abs(ag.krippendorff_alpha(counts, "ordinal") - theirs) <= TOL
    interval = ag.bootstrap_alpha(counts, "ordinal", n_resamples=50, seed=1)
    assert interval.low < theirs < interval.high


def test_dimension_seed_depends_on_seed_and_name_only():
    assert ag.dimension_seed(1, "impact") == ag.dimension_seed(1, "impact")
    assert ag.dimension_seed(1, "impact") != ag.dimension_seed(1, "relevant")
    assert ag.dimension_seed(1, "impact") != ag.dimension_seed(2, "impact")


# ---- from codings: degenerate data, conditions, predictions --------------------------------------


def codings_from(table):
    """[(fragment, coder, dimension, value)] -> Coding records."""
    return [Coding(*row) for row in table]


def only(results, dimension="d"):
    return next(r for r in results.dimensions if r.dimension == dimension)


def analyse(rows, codebook=None, level=None, resamples=50):
    data = ag.reliability_data(codings_from(rows), codebook, level)
    return ag.agreement_report(data, resamples, seed=1)


def test_one_value_only_gives_defined_answers_and_says_why():
    rows = [(f"u{i}", c, "d", "ja") for i in range(4) for c in ("a", "b")]
    r = only(analyse(rows))
    assert r.percent_agreement == 100.0
    assert r.krippendorff_alpha is None and r.fleiss_kappa is None and r.gwet_ac1 is None
    assert r.alpha_ci95 == (None, None)
    assert any("no variation" in n and "'ja'" in n for n in r.notes)
    assert any("only one value" in n for n in r.notes)
    assert r.pairs[0].kappa is None and any("both gave only 'ja'" in n for n in r.notes)


def test_one_value_only_with_codebook_keeps_ac1_and_brennan_prediger():
    book = parse_codebook("name: t\nversion: '1'\ndimensions:\n  - id: d\n    values: [ja, nee]\n")
    r = only(analyse([(f"u{i}", c, "d", "ja") for i in range(4) for c in ("a", "b")], book))
    assert r.krippendorff_alpha is None
    assert r.gwet_ac1 == 1.0 and r.brennan_prediger == 1.0


def test_single_coder_and_no_overlap():
    single = only(analyse([("u1", "a", "d", "x"), ("u2", "a", "d", "y")]))
    assert single.n_coders == 1 and single.krippendorff_alpha is None and single.percent_agreement is None
    assert any("only one coder (a)" in n for n in single.notes)
    apart = only(analyse([("u1", "a", "d", "x"), ("u2", "b", "d", "y")]))
    assert apart.n_units == 0 and apart.fleiss_kappa is None
    assert any("do not overlap" in n for n in apart.notes)
    assert any("coded no unit in common" in n for n in apart.notes)


def test_unit_coded_by_one_coder_is_missing_not_disagreement():
    rows = [("u1", "a", "d", "x"), ("u1", "b", "d", "x"), ("u2", "a", "d", "y"), ("u2", "b", "d", "y"),
            ("u3", "a", "d", "x")]
    r = only(analyse(rows))
    assert r.n_units == 2 and r.n_units_single == 1
    assert r.krippendorff_alpha == 1.0 and r.percent_agreement == 100.0
    assert any("1 unit(s) coded by one coder only" in n for n in r.notes)


def test_unknown_value_with_codebook_is_refused():
    book = parse_codebook("name: t\nversion: '1'\ndimensions:\n  - id: d\n    values: [ja, nee]\n")
    with pytest.raises(CodebookError, match="misschien"):
        ag.reliability_data(codings_from([("u1", "a", "d", "misschien")]), book)


def test_two_values_from_one_coder_are_refused():
    with pytest.raises(InputError, match="both 'x' and 'y'"):
        ag.reliability_data(codings_from([("u1", "a", "d", "x"), ("u1", "a", "d", "y")]))


def test_interval_without_numbers_needs_a_codebook():
    with pytest.raises(InputError, match="needs numbers"):
        ag.reliability_data(codings_from([("u1", "a", "d", "laag")]), level="interval")
    data = ag.reliability_data(codings_from([("u1", "a", "d", "1"), ("u1", "b", "d", "10")]), level="interval")
    assert data[0].values == ("1", "10") and data[0].numeric == (1.0, 10.0)


def test_conditional_dimension_uses_units_coders_agree_on():
    book = parse_codebook(
        "name: t\nversion: '1'\ndimensions:\n  - id: relevant\n    values: [ja, nee]\n"
        "  - id: toon\n    level: ordinal\n    only_when: {relevant: ja}\n    values: [laag, midden, hoog]\n")
    rows = []
    for unit, (ra, rb, ta, tb) in {"u1": ("ja", "ja", "laag", "laag"), "u2": ("ja", "ja", "hoog", "midden"),
                                   "u3": ("ja", "nee", "hoog", None), "u4": ("nee", "nee", None, None),
                                   "u5": ("ja", "ja", "midden", "midden")}.items():
        rows += [(unit, "a", "relevant", ra), (unit, "b", "relevant", rb)]
        rows += [(unit, c, "toon", t) for c, t in (("a", ta), ("b", tb)) if t]
    r = only(analyse(rows, book), "toon")
    assert r.level == "ordinal" and r.condition == "relevant = ja"
    assert r.condition_units == 3 and r.condition_left_out == 1 and r.n_units == 3
    assert "computed over the 3 units" in r.notes[0]
    expected = krippendorff.alpha([[0, 2, 1], [0, 1, 1]], level_of_measurement="ordinal", value_domain=[0, 1, 2])
    assert r.krippendorff_alpha == pytest.approx(expected, abs=TOL)


def test_predictions_take_part_as_a_coder_without_abstentions(data_dir):
    codings, _, notes = ag.load_codings([data_dir / "agreement_team.csv"], None, None,
                                        data_dir / "agreement_predictions.jsonl", "model")
    model = [c for c in codings if c.coder == "model"]
    assert len(model) == 7 and "abstention" in notes[0]
    with pytest.raises(InputError, match="already"):
        ag.load_codings([data_dir / "agreement_team.csv"], None, None, data_dir / "agreement_predictions.jsonl", "anna")


def test_interpretation_bands_follow_shown_value():
    assert ag.krippendorff_band(0.66666).startswith("tentative")
    assert ag.krippendorff_band(0.8).startswith("reliable")
    assert ag.krippendorff_band(0.5).startswith("unreliable")
    assert ag.landis_koch(-0.1).startswith("poor") and ag.landis_koch(0.0).startswith("slight")
    assert ag.landis_koch(0.65).startswith("substantial") and ag.landis_koch(0.9).startswith("almost")


# ---- CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("agreement:\n  bootstrap: 200\n  seed: 5\n", encoding="utf-8")

    def invoke(*args):
        return CliRunner().invoke(cli, ["--params", str(params), *map(str, args)])
    return invoke


def test_cli_json_shape(run, data_dir, tmp_path):
    out = tmp_path / "a.json"
    result = run("agreement", data_dir / "agreement_team.csv", "--codebook", "default", "--format", "json",
                 "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert list(report["dimensions"]) == ["relevant", "strategisch_operationeel", "intern_extern",
                                          "beleid_beheer", "impact"]
    relevant = report["dimensions"]["relevant"]
    for key in ("n_units", "n_coders", "percent_agreement", "krippendorff_alpha", "alpha_ci95", "fleiss_kappa",
                "gwet_ac1", "brennan_prediger", "cohen_kappa"):
        assert key in relevant
    assert relevant["n_coders"] == 3 and relevant["n_units"] == 6 and len(relevant["alpha_ci95"]) == 2
    assert {p["coder_a"] + p["coder_b"] for p in relevant["cohen_kappa"]} == {"annabert", "annacarla", "bertcarla"}
    assert report["bootstrap"]["resamples"] == 200 and report["bootstrap"]["seed"] == 5
    assert report["dimensions"]["impact"]["condition"]["only_when"] == "relevant = ja"
    again = run("agreement", data_dir / "agreement_team.csv", "--codebook", "default", "--format", "json")
    assert json.loads(again.stdout) == report  # seeded: the same figures on every run


def test_cli_table_names_bands_and_condition(run, data_dir):
    result = run("agreement", data_dir / "agreement_team.csv", "--codebook", "default",
                 "--predictions", data_dir / "agreement_predictions.jsonl", "--as", "model")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "coders (4): anna, bert, carla, model" in text
    assert "Landis & Koch" in text and "Krippendorff (2004)" in text
    assert "agree satisfy relevant = ja" in text
    assert "anna (rows) x bert (columns)" in text  # 3 coders on intern_extern: matrices shown


def test_cli_csv_to_stdout_and_file(run, data_dir, tmp_path):
    result = run("agreement", data_dir / "agreement_team.csv", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert tuple(rows[0]) == ag.CSV_HEADER
    alpha = [r for r in rows if r["dimension"] == "relevant" and r["statistic"] == "krippendorff_alpha"]
    assert len(alpha) == 1 and -1 <= float(alpha[0]["estimate"]) <= 1
    assert any(r["statistic"] == "confusion" and r["coder_a"] == "anna" for r in rows)
    out = tmp_path / "figures.csv"
    assert run("agreement", data_dir / "agreement_team.csv", "--out", out).exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(ag.CSV_HEADER)


def test_cli_xlsx_has_figures_and_disagreements(run, data_dir, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "agreement.xlsx"
    result = run("agreement", data_dir / "agreement_team.csv", "--codebook", "default", "--fragments",
                 data_dir / "agreement_fragments.jsonl", "--format", "xlsx", "--out", out)
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames[:2] == ["figures", "disagreements"]
    figures = list(book["figures"].values)
    assert figures[0][0] == "dimension" and [r[0] for r in figures[1:]][0] == "relevant"
    disagreements = list(book["disagreements"].values)
    assert disagreements[0][:5] == ("dimension", "fragment_id", "case", "respondent", "text")
    assert ("relevant", "c1/r1.txt#90-140", "1", "R1", "Ik werk hier sinds 2010.") in [r[:5] for r in disagreements]


def test_cli_table_with_one_coder_says_undefined_once(run, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("fragment_id,coder,relevant\nu1,a,ja\nu2,a,nee\n", encoding="utf-8")
    result = run("agreement", path)
    assert result.exit_code == 0, result.output
    assert "percent agreement (pairwise)   undefined" in result.output and "agree on undefined" not in result.output


def test_cli_as_without_predictions_is_refused(run, data_dir):
    for command in ("agreement", "disagreements"):
        result = run(command, data_dir / "agreement_team.csv", "--as", "model", "--out", "x.xlsx")
        assert result.exit_code == 2 and "give --predictions FILE too" in result.output, command


def test_cli_xlsx_needs_out_and_bad_input_is_one_line(run, data_dir, tmp_path):
    result = run("agreement", data_dir / "agreement_team.csv", "--format", "xlsx")
    assert result.exit_code == 1 and "Error: --format xlsx writes a workbook" in result.output
    result = run("agreement", data_dir / "agreement_team.csv", "--format", "json", "--out", tmp_path / "a.xlsx")
    assert result.exit_code == 1 and "--format json writes text, not a workbook" in result.output
    assert not (tmp_path / "a.xlsx").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("fragment_id,coder,relevant\nu1,a,misschien\n", encoding="utf-8")
    result = run("agreement", bad, "--codebook", "default")
    assert result.exit_code == 1 and "misschien" in result.output and "Traceback" not in result.output


def test_cli_disagreements_then_merge(run, data_dir, tmp_path):
    from openpyxl import load_workbook

    sheet = tmp_path / "meeting.xlsx"
    result = run("disagreements", data_dir / "agreement_team.csv", "--fragments",
                 data_dir / "agreement_fragments.jsonl", "--codebook", "default", "--out", sheet)
    assert result.exit_code == 0, result.output
    book = load_workbook(sheet)
    rows = list(book["disagreements"].values)
    header = rows[0]
    assert header[-1] == "consensus" and {"anna", "bert", "carla"} <= set(header)
    dimensions = [r[0] for r in rows[1:]]
    order = ["relevant", "strategisch_operationeel", "intern_extern", "beleid_beheer", "impact"]
    assert dimensions == sorted(dimensions, key=order.index)  # sorted by dimension
    assert ("relevant", "c1/r1.txt#90-140") in [r[:2] for r in rows[1:]]
    # the team settles: relevant = nee for the disputed unit; impact of the second fragment negatief
    sheet_rows = book["disagreements"]
    column = header.index("consensus") + 1
    for index, row in enumerate(rows[1:], start=2):
        if row[:2] == ("relevant", "c1/r1.txt#90-140"):
            sheet_rows.cell(row=index, column=column, value="Nee")
        if row[:2] == ("impact", "c1/r1.txt#50-90"):
            sheet_rows.cell(row=index, column=column, value="negatief")
    book.save(sheet)
    consensus = tmp_path / "consensus.csv"
    result = run("disagreements", data_dir / "agreement_team.csv", "--codebook", "default", "--merge", sheet,
                 "--out", consensus)
    assert result.exit_code == 0, result.output
    merged = list(csv.DictReader(consensus.open(encoding="utf-8")))
    codes = {(r["fragment_id"], r["dimension"]): r["value"] for r in merged}
    assert {r["coder"] for r in merged} == {"consensus"}
    assert codes[("c1/r1.txt#90-140", "relevant")] == "nee"
    assert ("c1/r1.txt#90-140", "strategisch_operationeel") not in codes  # ruled out by relevant = nee
    assert codes[("c1/r1.txt#50-90", "impact")] == "negatief"
    assert codes[("c1/r1.txt#0-50", "strategisch_operationeel")] == "strategisch"   # all agreed
    assert codes[("c2/r1.txt#70-99", "impact")] == "negatief"                      # one coder
    assert ("c1/r1.txt#0-50", "intern_extern") not in codes                        # unresolved
    assert "unresolved" in result.output
    from pipeline.codings import read_codings

    assert len(read_codings([consensus], "default")) == len(merged)  # readable as a coding file


def test_cli_disagreements_csv_and_bad_sheet(run, data_dir, tmp_path):
    out = tmp_path / "meeting.csv"
    result = run("disagreements", data_dir / "agreement_team.csv", "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and all(r["consensus"] == "" for r in rows)
    assert {r["dimension"] for r in rows} >= {"relevant", "impact"}
    bad = tmp_path / "bad.csv"
    bad.write_text("fragment_id,value\nu1,ja\n", encoding="utf-8")
    result = run("disagreements", data_dir / "agreement_team.csv", "--merge", bad, "--out", tmp_path / "c.csv")
    assert result.exit_code == 1 and "consensus" in result.output
    assert not (tmp_path / "c.csv").exists()


def test_every_command_has_help_with_example():
    for command in ("agreement", "disagreements"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output


def test_bootstrap_switched_off_is_said():
    rows = [(f"u{i}", c, "d", v) for i, pair in enumerate([("x", "x"), ("x", "y"), ("y", "y")])
            for c, v in zip("ab", pair)]
    r = only(analyse(rows, resamples=0))
    assert r.alpha_ci95 == (None, None) and r.krippendorff_alpha is not None
    assert any("switched off" in n for n in r.notes)


def test_cli_level_option_and_files_kept_apart(run, tmp_path):
    first, second = tmp_path / "round1.csv", tmp_path / "round2.csv"
    first.write_text("fragment_id,coder,score\nu1,anna,1\nu2,anna,2\nu3,anna,3\n", encoding="utf-8")
    second.write_text("fragment_id,coder,score\nu1,anna,1\nu2,anna,3\nu3,anna,3\n", encoding="utf-8")
    result = run("agreement", first, second, "--level", "interval", "--format", "json")
    assert result.exit_code == 0, result.output
    score = json.loads(result.stdout)["dimensions"]["score"]
    assert score["level"] == "interval" and score["coders"] == ["round1:anna", "round2:anna"]
    expected = krippendorff.alpha([[1, 2, 3], [1, 3, 3]], level_of_measurement="interval")
    assert score["krippendorff_alpha"] == pytest.approx(expected, abs=TOL)
    merged = run("agreement", first, second, "--merge-coders", "--format", "json")
    assert merged.exit_code == 1 and "u2: coder 'anna' coded 'score' 2 times (2, 3); keep one value" in merged.output


def test_merge_reads_the_disagreements_sheet_of_the_agreement_workbook(run, data_dir, tmp_path):
    from openpyxl import load_workbook

    workbook = tmp_path / "agreement.xlsx"
    assert run("agreement", data_dir / "agreement_team.csv", "--out", workbook).exit_code == 0
    book = load_workbook(workbook)
    sheet = book["disagreements"]
    header = [c.value for c in sheet[1]]
    for index, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        if row[:2] == ("relevant", "c1/r1.txt#90-140"):
            sheet.cell(row=index, column=header.index("consensus") + 1, value="ja")
    book.save(workbook)
    out = tmp_path / "consensus.jsonl"
    result = run("disagreements", data_dir / "agreement_team.csv", "--merge", workbook, "--out", out)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {"fragment_id": "c1/r1.txt#90-140", "coder": "consensus", "dimension": "relevant", "value": "ja"} in records
