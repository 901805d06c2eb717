"""Tests for pipeline.aggregate: merging codes and predictions, per-case tables, ch. 6 types."""

from dataclasses import replace

import pytest

from pipeline.aggregate import (ALL_CASES, HUMAN, MODEL, DimensionSpec, ReportItem, aggregate, build_layout,
                                compare_with_report, consensus, match_value, merge_sources, place_case,
                                read_report_tables, shorten)
from pipeline.config import AggregateParams
from pipeline.errors import CodebookError, ConfigError
from pipeline.records import Coding, Fragment, Prediction

PARAMS = AggregateParams()
SPECS = {
    "relevant": DimensionSpec("relevant", "relevant", ("ja", "nee")),
    "strategisch_operationeel": DimensionSpec("strategisch_operationeel", "niveau", ("strategisch", "operationeel")),
    "intern_extern": DimensionSpec("intern_extern", "locus", ("intern", "extern")),
    "beleid_beheer": DimensionSpec("beleid_beheer", "domein", ("beleid", "beheer")),
    "impact": DimensionSpec("impact", "impact", ("positief", "negatief", "neutraal")),
}
DIMS = ("relevant", "strategisch_operationeel", "intern_extern", "beleid_beheer", "impact")


def frag(n, case="Case 1", respondent="R1", role="ambtelijk", text=None):
    text = text or f"Fragment {n} over de werking van de dienst."
    return Fragment(id=f"{case}/{respondent}.txt#{n * 100}-{n * 100 + len(text)}", source=f"{case}/{respondent}.txt",
                    case=case, respondent=respondent, role=role, speaker=respondent, turn=n,
                    start_char=n * 100, end_char=n * 100 + len(text), text=text, n_words=len(text.split()))


def code(fragment, values, coder="A"):
    return [Coding(fragment.id, coder, dim, value) for dim, value in zip(DIMS, values) if value]


def predict(fragment, values, probability=0.9, abstain=()):
    return [Prediction(fragment.id, dim, value, probability, abstained=dim in abstain)
            for dim, value in zip(DIMS, values) if value]


def test_human_code_wins_over_prediction_for_the_same_fragment():
    f = frag(1)
    codings = code(f, ("ja", "strategisch", "intern", "beleid", "positief"))
    predictions = predict(f, ("ja", "operationeel", "extern", "beheer", "negatief"))
    result = aggregate([f], codings, predictions, PARAMS, SPECS)
    case = result.cases[0]
    assert case.cell(("strategisch", "intern", "beleid")).n == 1
    assert case.cell(("strategisch", "intern", "beleid")).n_human == 1
    assert case.cell(("operationeel", "extern", "beheer")).n == 0
    assert case.n_model == 0


def test_abstained_prediction_is_te_beoordelen_never_a_label():
    a, b = frag(1), frag(2)
    predictions = (predict(a, ("ja", "strategisch", "intern", "beleid", "neutraal"))
                   + predict(b, ("ja", "strategisch", "intern", "beleid", "neutraal"), abstain=("intern_extern",)))
    result = aggregate([a, b], (), predictions, PARAMS, SPECS)
    case = result.cases[0]
    assert case.cell(("strategisch", "intern", "beleid")).n == 1
    assert case.n_relevant == 1
    assert case.n_pending_model == 1 and case.n_pending_human == 0
    assert sum(s.n for s in case.cells) == 1


def test_abstained_relevance_is_te_beoordelen_and_nee_is_not_relevant():
    a, b = frag(1), frag(2)
    predictions = (predict(a, ("ja",), abstain=("relevant",)) + predict(b, ("nee",)))
    case = aggregate([a, b], (), predictions, PARAMS, SPECS).cases[0]
    assert (case.n_pending, case.n_not_relevant, case.n_relevant) == (1, 1, 0)


def test_impact_abstained_still_places_the_fragment_without_negatief():
    f = frag(1)
    predictions = predict(f, ("ja", "operationeel", "extern", "beheer", "negatief"), abstain=("impact",))
    stats = aggregate([f], (), predictions, PARAMS, SPECS).cases[0].cell(("operationeel", "extern", "beheer"))
    assert stats.n == 1 and stats.n_impact == 0 and stats.share_negatief is None


def test_coders_majority_counts_and_a_tie_is_te_beoordelen():
    a, b = frag(1), frag(2)
    codings = (code(a, ("ja", "strategisch", "intern", "beleid", "negatief"), "A")
               + code(a, ("ja", "strategisch", "intern", "beleid", "positief"), "B")
               + code(a, ("ja", "strategisch", "intern", "beleid", "negatief"), "C")
               + code(b, ("ja", "strategisch", "intern", "beleid"), "A")
               + code(b, ("ja", "operationeel", "intern", "beleid"), "B"))
    case = aggregate([a, b], codings, (), PARAMS, SPECS).cases[0]
    stats = case.cell(("strategisch", "intern", "beleid"))
    assert stats.n == 1 and stats.n_negatief == 1
    assert case.n_pending_human == 1


def test_consensus_tie_gives_none():
    assert consensus(["a", "b"]) is None
    assert consensus(["a", "b", "a"]) == "a"
    assert consensus([]) is None


def test_shares_negatief_and_origin_counts_per_cell():
    fragments = [frag(i, respondent=f"R{i}") for i in range(1, 5)]
    codings = (code(fragments[0], ("ja", "strategisch", "intern", "beheer", "negatief"))
               + code(fragments[1], ("ja", "strategisch", "intern", "beheer", "positief"))
               + code(fragments[2], ("nee",)))
    predictions = predict(fragments[3], ("ja", "operationeel", "extern", "beleid", "negatief"), 0.7)
    case = aggregate(fragments, codings, predictions, PARAMS, SPECS).cases[0]
    sib = case.cell(("strategisch", "intern", "beheer"))
    assert (sib.n, sib.share, sib.share_negatief, sib.n_human, sib.n_model) == (2, 2 / 3, 0.5, 2, 0)
    oeb = case.cell(("operationeel", "extern", "beleid"))
    assert (oeb.n, oeb.n_human, oeb.n_model, oeb.share_negatief) == (1, 0, 1, 1.0)
    assert len(case.cells) == 8
    assert sum(s.share for s in case.cells) == pytest.approx(1.0)


def test_quotes_highest_confidence_first_and_from_different_respondents():
    fragments = [frag(1, respondent="R1", text="Eerste van respondent een."),
                 frag(2, respondent="R1", text="Tweede van respondent een."),
                 frag(3, respondent="R2", text="Van respondent twee."),
                 frag(4, respondent="R3", text="Van respondent drie."),
                 frag(5, respondent="R4", text="Van respondent vier.")]
    values = ("ja", "operationeel", "extern", "beheer", "neutraal")
    codings = code(fragments[0], values)
    predictions = (predict(fragments[1], values, 0.99) + predict(fragments[2], values, 0.6)
                   + predict(fragments[3], values, 0.95) + predict(fragments[4], values, 0.8))
    stats = aggregate(fragments, codings, predictions, PARAMS, SPECS).cases[0].cell(("operationeel", "extern", "beheer"))
    assert [q.respondent for q in stats.quotes] == ["R1", "R3", "R4"]
    assert stats.quotes[0].origin == HUMAN and stats.quotes[0].confidence == 1.0
    assert stats.quotes[1].origin == MODEL and stats.quotes[1].confidence == 0.95
    assert stats.quotes[0].text == "Eerste van respondent een."


def test_model_confidence_is_the_lowest_probability_on_the_dimensions_used():
    f = frag(1)
    predictions = [Prediction(f.id, "relevant", "ja", 0.9), Prediction(f.id, "strategisch_operationeel", "strategisch", 0.7),
                   Prediction(f.id, "intern_extern", "intern", 0.8), Prediction(f.id, "beleid_beheer", "beleid", 0.95),
                   Prediction(f.id, "impact", "neutraal", 0.4)]
    stats = aggregate([f], (), predictions, PARAMS, SPECS).cases[0].cell(("strategisch", "intern", "beleid"))
    assert stats.quotes[0].confidence == 0.7


def test_shorten_keeps_short_text_and_cuts_long_text_with_ellipsis():
    assert shorten("Kort  en\nbondig.", 30) == "Kort en bondig."
    long = "Dit is de eerste zin met nogal wat woorden erin. " + " ".join(["woord"] * 40)
    assert shorten(long, 20) == "Dit is de eerste zin met nogal wat woorden erin. (…)"
    assert shorten(" ".join(["woord"] * 40), 5) == "woord woord woord woord woord (…)"


def test_by_role_counts_per_cell():
    fragments = [frag(1, respondent="R1", role="ambtelijk"), frag(2, respondent="R2", role="politiek"),
                 frag(3, respondent="R3", role="politiek")]
    codings = []
    for f in fragments:
        codings += code(f, ("ja", "strategisch", "extern", "beleid", "neutraal"))
    case = aggregate(fragments, codings, (), PARAMS, SPECS).cases[0]
    roles = {role: (counts, h, m) for role, counts, h, m in case.by_role}
    cell_index = list(case.cells).index(case.cell(("strategisch", "extern", "beleid")))
    assert roles["politiek"][0][cell_index] == 2 and roles["ambtelijk"][0][cell_index] == 1
    assert roles["politiek"][1:] == (2, 0)


def test_cases_in_natural_order_with_a_total_and_uncoded_counted():
    fragments = [frag(1, case="Case 10"), frag(2, case="Case 2"), frag(3, case="Case 2")]
    codings = code(fragments[0], ("ja", "strategisch", "intern", "beleid")) + code(fragments[1], ("nee",))
    result = aggregate(fragments, codings, (), PARAMS, SPECS)
    assert [c.case for c in result.cases] == ["Case 2", "Case 10"]
    assert result.cases[0].n_uncoded == 1 and result.cases[0].n_fragments == 2
    assert result.total.case == ALL_CASES and result.total.n_relevant == 1 and result.total.n_uncoded == 1


def test_merge_sources_reports_uncoded_fragments():
    a, b = frag(1), frag(2)
    merged, uncoded = merge_sources([a, b], code(a, ("nee",)), ())
    assert [item.fragment.id for item, _ in merged] == [a.id] and uncoded == [b]


def test_place_case_rule_gives_the_three_types():
    # (relevant, strategic, strategic negatief, naming the director role)
    assert place_case(10, 1, 1, 5, PARAMS).type_id == 1      # S = 0.1: hardly any strategic talk
    assert "no relevant fragments" in place_case(0, 0, 0, 0, PARAMS).reason  # not shown as a measured S = 0.00
    assert place_case(10, 5, 0, 3, PARAMS).type_id == 3      # R = 0.3
    assert place_case(10, 5, 3, 2, PARAMS).type_id == 2      # N = 0.6 > 0.5
    assert place_case(10, 6, 3, 2, PARAMS).type_id == 1      # N = 0.5, not more than half
    assert place_case(0, 0, 0, 0, PARAMS).type_id == 1
    profile = place_case(10, 5, 3, 2, PARAMS)
    assert (profile.share_strategic, profile.share_director, profile.share_shortfall) == (0.5, 0.2, 0.6)
    assert profile.reason == "R = 0.20 < 0.30, N = 0.60 > 0.50"


def test_profile_counts_fragments_naming_the_director_role_and_strategic_shortfall():
    texts = ["We willen de regierol echt opnemen.", "Het beleid is transversaal opgevat.",
             "De werking loopt goed.", "De taalcafés draaien elke week."]
    fragments = [frag(i + 1, respondent=f"R{i}", text=t) for i, t in enumerate(texts)]
    codings = (code(fragments[0], ("ja", "strategisch", "intern", "beleid", "positief"))
               + code(fragments[1], ("ja", "strategisch", "intern", "beheer", "negatief"))
               + code(fragments[2], ("ja", "strategisch", "extern", "beleid", "negatief"))
               + code(fragments[3], ("ja", "operationeel", "extern", "beheer", "negatief")))
    result = aggregate(fragments, codings, (), PARAMS, SPECS)
    profile = result.cases[0].profile
    assert (profile.n_relevant, profile.n_strategic, profile.n_strategic_negatief, profile.n_director) == (4, 3, 2, 2)
    assert profile.type_id == 3
    assert result.rule.startswith("R = share of relevant fragments that name the director role itself (regie…")


def test_typology_needs_an_impact_dimension():
    f = frag(1)
    result = aggregate([f], code(f, ("ja", "strategisch", "intern", "beleid")), (), replace(PARAMS, impact=""), SPECS)
    assert result.rule is None and result.cases[0].profile is None


def test_other_codebook_cross_tabulates_the_dimensions_params_names():
    specs = {"thema": DimensionSpec("thema", "thema", ("wonen", "werk", "taal")),
             "toon": DimensionSpec("toon", "toon", ("kritisch", "positief"))}
    params = replace(PARAMS, niveau="thema", locus="toon", domein="", impact="", relevance="")
    fragments = [frag(1), frag(2, case="Case 2")]
    codings = [Coding(fragments[0].id, "A", "thema", "taal"), Coding(fragments[0].id, "A", "toon", "kritisch"),
               Coding(fragments[1].id, "A", "thema", "wonen"), Coding(fragments[1].id, "A", "toon", "positief")]
    result = aggregate(fragments, codings, (), params, specs)
    assert result.rule is None and result.cases[0].profile is None
    assert len(result.cases[0].cells) == 6
    assert result.cases[0].cell(("taal", "kritisch")).n == 1
    assert result.cases[1].cell(("wonen", "positief")).share == 1.0
    assert result.layout.tables is None and result.layout.columns.id == "thema"


def test_without_codebook_values_come_from_the_data():
    f = frag(1)
    result = aggregate([f], code(f, ("ja", "operationeel", "extern", "beheer", "neutraal")), (), PARAMS)
    assert result.layout.tables.values == ("operationeel",)
    assert result.cases[0].cell(("operationeel", "extern", "beheer")).n == 1


def test_a_dimension_the_codebook_lacks_is_a_clear_error():
    specs = {"thema": DimensionSpec("thema", "thema", ("a", "b"))}
    with pytest.raises(CodebookError, match=r"aggregate.niveau names dimension 'strategisch_operationeel'.*it has: thema"):
        build_layout(specs, PARAMS)
    with pytest.raises(ConfigError, match="all empty"):
        build_layout(specs, replace(PARAMS, niveau="", locus="", domein=""))


def test_match_value_reads_report_headings():
    spec = SPECS["beleid_beheer"]
    assert match_value("Beheerscapaciteit", spec) == "beheer"
    assert match_value("beleid", spec) == "beleid"
    assert match_value("Strategische capaciteit", SPECS["strategisch_operationeel"]) == "strategisch"
    assert match_value("iets anders", spec) is None


def test_compare_with_report_marks_agreement(tmp_path):
    f = frag(1)
    result = aggregate([f], code(f, ("ja", "strategisch", "intern", "beleid")), (), PARAMS, SPECS)
    path = tmp_path / "aggregate_report_tables.csv"
    path.write_text("case,table,column,row,item\n"
                    "Case 1,Strategische capaciteit,Intern,Beleidscapaciteit,Ambitienota bestuur\n"
                    "Case 1,Operationele capaciteit,Extern,Beheerscapaciteit,Vrijwilligers\n", encoding="utf-8")
    items = read_report_tables(path, result.layout)
    assert items[0] == ReportItem("Case 1", ("strategisch", "intern", "beleid"), "Ambitienota bestuur")
    verdicts = {cell: verdict for _, cell, _, _, verdict in compare_with_report(result, items)}
    assert verdicts[("strategisch", "intern", "beleid")] == "beide"
    assert verdicts[("operationeel", "extern", "beheer")] == "alleen rapport"
    assert verdicts[("strategisch", "extern", "beleid")] == "beide leeg"


def test_report_tables_with_an_unknown_heading_names_the_row(tmp_path):
    f = frag(1)
    result = aggregate([f], code(f, ("ja", "strategisch", "intern", "beleid")), (), PARAMS, SPECS)
    path = tmp_path / "aggregate_bad_tables.csv"
    path.write_text("case,table,column,row,item\nCase 1,Strategisch,Midden,Beleid,x\n", encoding="utf-8")
    from pipeline.errors import InputError

    with pytest.raises(InputError, match=r"line 2, column 'column'.*'Midden'"):
        read_report_tables(path, result.layout)


def test_a_predicted_value_outside_the_codebook_is_a_clear_error():
    f = frag(1)
    predictions = predict(f, ("ja", "strategisch", "midden", "beleid", "neutraal"))
    with pytest.raises(CodebookError, match=r"'midden' is not a value of 'intern_extern' \(intern, extern\); "
                                             r"were the predictions made with another codebook"):
        aggregate([f], (), predictions, PARAMS, SPECS)
