"""The words of the reports in Dutch (`nl`, the study's language and the default) and English (`en`).

`report.language` in params.yaml chooses one for report.html, summary.md, the overview that
`capcode aggregate` prints, the PNGs and the sheet names and headings of aggregates.xlsx.
aggregates.csv keeps its column names in every language (programs read it). What the data
say (case names, codebook labels and values such as `negatief`) is shown as written.
"""

from dataclasses import dataclass

from ..records import ALL_CASES, PENDING

LANGUAGES = ("nl", "en")

TYPE_LABELS = {
    "nl": {
        1: "geen expliciete strategische keuze voor integratiebeleid",
        2: "strategische keuze, zwaartepunt op operationeel niveau",
        3: "strategische visie op de regierol zelf",
    },
    "en": {
        1: "no explicit strategic choice for integration policy",
        2: "strategic choice, emphasis on the operational level",
        3: "strategic vision on the director role itself",
    },
}

VERDICTS = {  # how a computed cell compares with the report's table (aggregate/compare.py)
    "nl": {"beide": "beide", "beide leeg": "beide leeg", "alleen rapport": "alleen rapport",
           "alleen data": "alleen data"},
    "en": {"beide": "both", "beide leeg": "both empty", "alleen rapport": "report only", "alleen data": "data only"},
}

WORDS = {
    "nl": {
        "title": "capcode: capaciteit per case",
        "sources": "Bronnen", "codings": "coderingen", "predictions": "voorspellingen", "none": "geen",
        "codebook": "codeboek", "cells": "Cellen",
        "totals": "{n} fragmenten: {relevant} relevant en in een cel geplaatst ({origin}), {not_relevant} niet "
                  "relevant, {pending} {pending_word} ({pending_origin}), {uncoded} niet gecodeerd en niet voorspeld.",
        "rules_of_counting": "Een code van een codeur gaat voor op een voorspelling voor hetzelfde fragment; aandelen "
                             "zijn aandelen van de relevante fragmenten die in een cel geplaatst zijn; fragmenten "
                             "'{pending_word}' worden apart geteld, nooit als label.",
        "origin": "{human} handmatig / {model} model",
        "human": "handmatig", "model": "model",
        "overview": "Overzicht", "legend": "Legenda",
        "case": "case", "n_relevant": "n relevant", "human_model": "handmatig/model", "type": "type",
        "report": "rapport", "role": "rol", "cell": "cel", "why": "waarom",
        "pending": PENDING, "all_cases": ALL_CASES,
        "types_heading": "Cases en de types van hoofdstuk 6 van het rapport",
        "rule": "Regel", "rule_label": "Regel voor de types van hfst. 6",
        "types_agree": "De regel geeft voor {hits} van de {n} cases het type dat het rapport zelf geeft.",
        "case_totals": "{relevant} relevante fragmenten geplaatst ({origin}); {not_relevant} niet relevant; "
                       "{pending} {pending_word} ({pending_origin}); {uncoded} niet gecodeerd.",
        "roles_heading": "Per rol van de respondent",
        "roles_note": "Aantal relevante fragmenten per cel, naar de rol van de respondent.",
        "comparison_heading": "Berekende tabellen naast de tabellen van het rapport",
        "comparison_note": "{agree} van de {n} cellen van cases komen overeen: het rapport noemt items waar de data "
                           "fragmenten hebben ('{both}') of geen van beide heeft iets ('{both_empty}'). "
                           "'{report_only}': het rapport noemt items maar er werd geen fragment geplaatst; "
                           "'{data_only}': er zijn fragmenten, maar het rapport noemt niets.",
        "report_items": "items in het rapport", "computed": "berekend: n (aandeel), {negative}",
        "agree": "eens?",
        "s_column": "S (strategisch)", "r_column": "R (regierol)", "n_column": "N (strategisch {negative})",
        "report_type": "rapport (hfst. 6)",
        "shares_per_case": "Aandelen van de relevante fragmenten die in een cel geplaatst zijn, per case:",
        "pending_note": "'{pending_word}': relevante (of onzekere) fragmenten waarop het model zich onthield of "
                        "de codeurs gelijk stonden; nooit als label geteld.",
        "report_type_note": "rapport: het type dat het rapport zelf aan de case geeft (--cases).",
        "heatmap_alt": "heatmap van de aandelen per case en cel", "profiles_alt": "de cases geplaatst door de regel",
        "heatmap_bar": "aandeel van de relevante fragmenten",
        "profiles_x": "N: aandeel {negative} onder de strategische fragmenten",
        "profiles_y": "R: aandeel dat de regierol noemt",
        "profiles_title": "cases volgens de regel van hfst. 6 (kruisje: S < {min_s}, type 1)",
        "overview_sheet": "overzicht", "roles_sheet": "rollen",
        "share": "aandeel", "share_negative": "aandeel {negative}", "n_human": "n handmatig", "n_model": "n model",
        "quote": "citaat {i}",
        "legend_items": [
            "`{code}`: een cel, in de kolommen van het overzicht ({codes}).",
            "n (x%): het aantal relevante fragmenten in de cel en hun aandeel in de case.",
            "x% {negative}: het aandeel {negative} onder de fragmenten van de cel met een bekende impact.",
            "–: geen aandeel, want er is niets om het op te delen (geen fragmenten).",
            "{human_model}: hoeveel fragmenten door codeurs en hoeveel door het model geplaatst zijn.",
            "'{pending_word}': relevante fragmenten waarop het model zich onthield of de codeurs gelijk "
            "stonden; apart geteld, nooit als label.",
            "*cursief* (citaten en items van het rapport): het fragment of item verzwakt de capaciteit "
            "({negative}), zoals in het rapport.",
            "(R1, ambtelijk; model 0.83): de respondent en zijn rol; wie codeerde (handmatig, of het model "
            "met zijn zekerheid).",
            "S, R, N: zie de regel voor de types van hoofdstuk 6.",
        ],
        "legend_html_items": [
            "De kleur van een cel: hoe donkerder, hoe groter het aandeel van de cel in de case.",
        ],
    },
    "en": {
        "title": "capcode: capacity per case",
        "sources": "Sources", "codings": "codings", "predictions": "predictions", "none": "none",
        "codebook": "codebook", "cells": "Cells",
        "totals": "{n} fragments: {relevant} relevant and placed in a cell ({origin}), {not_relevant} not relevant, "
                  "{pending} {pending_word} ({pending_origin}), {uncoded} neither coded nor predicted.",
        "rules_of_counting": "A human code wins over a prediction for the same fragment; shares are of the relevant "
                             "fragments placed in a cell; '{pending_word}' fragments are counted apart, never as a "
                             "label.",
        "origin": "{human} human / {model} model",
        "human": "human", "model": "model",
        "overview": "Overview", "legend": "Legend",
        "case": "case", "n_relevant": "n relevant", "human_model": "human/model", "type": "type",
        "report": "report", "role": "role", "cell": "cell", "why": "why",
        "pending": "to review", "all_cases": "All cases",
        "types_heading": "Cases against the types of the report's ch. 6",
        "rule": "Rule", "rule_label": "Ch. 6 type rule",
        "types_agree": "The rule gives the report's own type for {hits} of {n} cases.",
        "case_totals": "{relevant} relevant fragments placed ({origin}); {not_relevant} not relevant; "
                       "{pending} {pending_word} ({pending_origin}); {uncoded} uncoded.",
        "roles_heading": "By respondent role",
        "roles_note": "Number of relevant fragments per cell, by the respondent's role.",
        "comparison_heading": "Computed tables beside the report's tables",
        "comparison_note": "{agree} of {n} case cells agree: the report lists items where the data have fragments "
                           "('{both}') or neither has anything ('{both_empty}'). '{report_only}': the report lists "
                           "items but no fragment was placed there; '{data_only}': fragments, but the report lists "
                           "nothing.",
        "report_items": "report items", "computed": "computed n (share), {negative}", "agree": "agree?",
        "s_column": "S (strategic)", "r_column": "R (director role)", "n_column": "N (strategic {negative})",
        "report_type": "report (ch. 6)",
        "shares_per_case": "Shares of the relevant fragments placed in a cell, per case:",
        "pending_note": "'{pending_word}': relevant (or unsure) fragments the model abstained on or coders tied on; "
                        "never counted as a label.",
        "report_type_note": "report: the type the report itself gives the case (--cases).",
        "heatmap_alt": "heatmap of shares per case and cell", "profiles_alt": "cases placed by the rule",
        "heatmap_bar": "share of relevant fragments",
        "profiles_x": "N: share {negative} among strategic fragments",
        "profiles_y": "R: share naming the director role",
        "profiles_title": "cases by the ch. 6 rule (a cross: S < {min_s}, type 1)",
        "overview_sheet": "overview", "roles_sheet": "roles",
        "share": "share", "share_negative": "share {negative}", "n_human": "n human", "n_model": "n model",
        "quote": "quote {i}",
        "legend_items": [
            "`{code}`: a cell, in the columns of the overview ({codes}).",
            "n (x%): the number of relevant fragments in the cell and their share of the case.",
            "x% {negative}: the share {negative} among the cell's fragments with a known impact.",
            "–: no share, as there is nothing to divide by (no fragments).",
            "{human_model}: how many fragments coders placed and how many the model placed.",
            "'{pending_word}': relevant fragments the model abstained on or coders tied on; counted apart, "
            "never as a label.",
            "*italics* (quotes and report items): the fragment or item weakens the capacity ({negative}), "
            "as in the report.",
            "(R1, ambtelijk; model 0.83): the respondent and their role; who coded it (human, or the model "
            "with its confidence).",
            "S, R, N: see the rule for the types of ch. 6.",
        ],
        "legend_html_items": [
            "The colour of a cell: the darker, the larger the cell's share of the case.",
        ],
    },
}


@dataclass(frozen=True)
class Words:
    """The words of one report language; `w["key"]` or `w.say("key", **values)`."""

    language: str = "nl"

    def __post_init__(self):
        if self.language not in LANGUAGES:
            raise ValueError(f"report language must be one of {', '.join(LANGUAGES)}, not {self.language!r}")

    def __getitem__(self, key: str):
        return WORDS[self.language][key]

    def say(self, key: str, **values) -> str:
        return WORDS[self.language][key].format(**values)

    def case(self, name: str) -> str:
        """A case name as shown: the total row in this language, other cases as written."""
        return self["all_cases"] if name == ALL_CASES else name

    def type_label(self, type_id: int) -> str:
        return TYPE_LABELS[self.language][type_id]

    def verdict(self, verdict: str) -> str:
        return VERDICTS[self.language].get(verdict, verdict)

    def rule(self, params) -> str:
        """The ch. 6 placing rule in words (see aggregate/typology.py for its grounds)."""
        terms = ", ".join(f"{t}…" for t in params.director_terms)
        s, r, n = (f"{params.type_min_strategic:.2f}", f"{params.type_min_director:.2f}",
                   f"{params.type_min_shortfall:.2f}")
        t = self.type_label
        if self.language == "nl":
            return (f"R = aandeel van de relevante fragmenten dat de regierol zelf noemt ({terms}); "
                    f"S = aandeel '{params.strategic_value}'; N = aandeel '{params.negative_value}' onder de "
                    f"strategische fragmenten. Type 3 ({t(3)}) als S ≥ {s} en R ≥ {r}; anders type 2 ({t(2)}) "
                    f"als S ≥ {s} en N > {n}; anders type 1 ({t(1)}).")
        return (f"R = share of relevant fragments that name the director role itself ({terms}); "
                f"S = share '{params.strategic_value}'; N = share '{params.negative_value}' among the strategic "
                f"fragments. Type 3 ({t(3)}) when S ≥ {s} and R ≥ {r}; else type 2 ({t(2)}) when S ≥ {s} "
                f"and N > {n}; otherwise type 1 ({t(1)}).")

    def reason(self, profile, params) -> str:
        """Why the rule gave a case its type, from the shares and the thresholds."""
        if not profile.n_relevant:
            return ("geen relevante fragmenten in een cel: S, R en N onbekend; type 1 alleen bij gebrek aan beter"
                    if self.language == "nl" else
                    "no relevant fragments in a cell: S, R and N unknown; type 1 only by default")
        s, r, n = (profile.share_strategic or 0.0, profile.share_director or 0.0, profile.share_shortfall or 0.0)
        min_s, min_r, min_n = params.type_min_strategic, params.type_min_director, params.type_min_shortfall
        if s < min_s:
            return f"S = {s:.2f} < {min_s:.2f}"
        if r >= min_r:
            return f"R = {r:.2f} ≥ {min_r:.2f}"
        if n > min_n:
            return f"R = {r:.2f} < {min_r:.2f}, N = {n:.2f} > {min_n:.2f}"
        return f"R = {r:.2f} < {min_r:.2f}, N = {n:.2f} ≤ {min_n:.2f}"
