"""Behaviour of the Dutch pipeline: sentence rules, lemmas, pipeline building and its errors."""

import pytest
import spacy
from thinc.api import ConfigValidationError

from pipeline import dutch
from pipeline import lemmas as capcode_lemmas
from pipeline.dutch import build_nlp
from pipeline.errors import CapcodeError, ConfigError


def sentences(nlp, text):
    return [sent.text.strip() for sent in nlp(text).sents]


# --- real boundaries ----------------------------------------------------------------------------


def test_full_stop_question_and_exclamation_end_sentences(nlp):
    assert sentences(nlp, "Dat is zo. Wat denk jij? Geen idee! Goed.") == [
        "Dat is zo.", "Wat denk jij?", "Geen idee!", "Goed."]


def test_lower_case_after_stop_continues_the_sentence(nlp):
    assert sentences(nlp, "Ik dacht... maar nee. Echt? ja hoor.") == ["Ik dacht... maar nee.", "Echt? ja hoor."]


def test_ellipsis_before_capital_ends_a_sentence(nlp):
    assert sentences(nlp, "Ik weet het niet… Maar we zien wel.") == ["Ik weet het niet…", "Maar we zien wel."]


def test_number_at_end_of_sentence_and_digit_start(nlp):
    assert sentences(nlp, "Het plan dateert van 2019. 12 mensen werken eraan.") == [
        "Het plan dateert van 2019.", "12 mensen werken eraan."]


def test_sentence_starting_with_clitic(nlp):
    assert sentences(nlp, "Dat was overdag. 's Avonds is het rustig.") == [
        "Dat was overdag.", "'s Avonds is het rustig."]


# --- abbreviations, initials, numbers -----------------------------------------------------------


@pytest.mark.parametrize("abbreviation", [
    "bv.", "bijv.", "o.m.", "m.n.", "i.e.", "o.a.", "d.w.z.", "dhr.", "mevr.", "nr.", "art.",
    "blz.", "vgl.", "t.o.v.", "i.v.m.", "prof.", "dr.", "ca."])
def test_abbreviation_before_a_capital_does_not_split(nlp, abbreviation):
    text = f"We spraken met {abbreviation} Peeters van de dienst. Daarna niet meer."
    assert sentences(nlp, text) == [f"We spraken met {abbreviation} Peeters van de dienst.", "Daarna niet meer."]


def test_abbreviations_the_tokenizer_splits_are_recognised(nlp):
    assert sentences(nlp, "Het gebeurde op 1 jan. 2019 in Gent. Dat weet ik nog.") == [
        "Het gebeurde op 1 jan. 2019 in Gent.", "Dat weet ik nog."]


def test_sentence_final_abbreviation_before_a_capital_splits(nlp):
    assert sentences(nlp, "We hebben scholen, verenigingen enz. De gemeente coördineert.") == [
        "We hebben scholen, verenigingen enz.", "De gemeente coördineert."]


def test_word_that_the_tokenizer_treats_as_abbreviation_still_ends_a_sentence(nlp):
    assert sentences(nlp, "Ik wil dat. Het is al. Ok.") == ["Ik wil dat.", "Het is al.", "Ok."]


def test_initials_do_not_split(nlp):
    assert sentences(nlp, "Het rapport van J. Peeters en A.B. Janssens is klaar. Lees het.") == [
        "Het rapport van J. Peeters en A.B. Janssens is klaar.", "Lees het."]


def test_numbers_with_dots_do_not_split(nlp):
    assert sentences(nlp, "Er kwam 3.500 euro bij op 12.03.2019 en 3,5 procent. Goed.") == [
        "Er kwam 3.500 euro bij op 12.03.2019 en 3,5 procent.", "Goed."]


def test_unit_letter_is_not_an_initial(nlp):
    assert sentences(nlp, "Het was 6 °C. In de zomer meer.") == ["Het was 6 °C.", "In de zomer meer."]


# --- enumerations -------------------------------------------------------------------------------


def test_enumeration_markers_stay_with_their_item(nlp):
    text = "Er zijn drie punten. 1. De visie. 2. De middelen. a) Het geld en b) de mensen."
    assert sentences(nlp, text) == [
        "Er zijn drie punten.", "1. De visie.", "2. De middelen.", "a) Het geld en b) de mensen."]


def test_enumeration_after_colon(nlp):
    assert sentences(nlp, "Twee doelen: 1. Integratie bevorderen.") == ["Twee doelen: 1. Integratie bevorderen."]


# --- quotes, brackets and elisions --------------------------------------------------------------


def test_elision_in_a_quote_does_not_split(nlp):
    for elision in ("(…)", "(...)", "[…]", "[...]"):
        text = f'Ze zei: "Dat is moeilijk {elision} En toch doen we het." Daarna zweeg ze.'
        assert sentences(nlp, text) == [
            f'Ze zei: "Dat is moeilijk {elision} En toch doen we het."', "Daarna zweeg ze."], elision


def test_closing_quotes_attach_to_their_sentence(nlp):
    assert sentences(nlp, "Hij zei: „Nee!” En toen ging hij weg.") == ["Hij zei: „Nee!”", "En toen ging hij weg."]
    assert sentences(nlp, ",,Dat moet beter. '' Er zijn teams gevormd.") == [
        ",,Dat moet beter. ''", "Er zijn teams gevormd."]


def test_straight_quotes_open_or_close_by_count(nlp):
    text = 'Het was "een goede zaak." Dan nog dit. " Wie zegt dat?" vroeg ze.'
    assert sentences(nlp, text) == ['Het was "een goede zaak."', "Dan nog dit.", '" Wie zegt dat?" vroeg ze.']


def test_opening_quote_and_bracket_start_the_next_sentence(nlp):
    assert sentences(nlp, 'Dat is zo. "Nee," zei ze. (Zie hoofdstuk 3.) Verder.') == [
        "Dat is zo.", '"Nee," zei ze.', "(Zie hoofdstuk 3.)", "Verder."]


def test_quoted_question_followed_by_comma_continues(nlp):
    assert sentences(nlp, '"Wat nu?", vroeg de schepen.') == ['"Wat nu?", vroeg de schepen.']


def test_capital_after_closing_bracket_starts_a_sentence(nlp):
    assert sentences(nlp, "Dat was het (lacht) Maar goed, verder.") == ["Dat was het (lacht)", "Maar goed, verder."]
    assert sentences(nlp, "Senaat (74 leden) Kamer (150 leden)") == ["Senaat (74 leden)", "Kamer (150 leden)"]


def test_bracket_inside_a_sentence_does_not_split(nlp):
    assert sentences(nlp, "Hij stond tussen Harry en (de verdachte) Zwarts in.") == [
        "Hij stond tussen Harry en (de verdachte) Zwarts in."]
    assert sentences(nlp, "Fractieleider A. (Alexander) Pechtold sprak.") == [
        "Fractieleider A. (Alexander) Pechtold sprak."]


# --- transcripts: blank lines, newlines and timestamps ------------------------------------------


def test_blank_line_starts_a_sentence(nlp):
    assert sentences(nlp, "Eerste deel zonder punt\n\nTweede deel") == ["Eerste deel zonder punt", "Tweede deel"]


def test_single_newline_does_not_split_by_default(nlp):
    assert sentences(nlp, "een zin die\nverder loopt.") == ["een zin die\nverder loopt."]


def test_timestamps_start_a_sentence_and_do_not_split_themselves(nlp):
    assert sentences(nlp, "ja dat klopt [00:12:34] En dan nog iets.") == ["ja dat klopt", "[00:12:34] En dan nog iets."]
    assert sentences(nlp, "ja 00:12:34.5 goed zo.") == ["ja", "00:12:34.5 goed zo."]


def test_time_of_day_is_not_a_timestamp(nlp):
    assert sentences(nlp, "We beginnen om 10:30 uur.") == ["We beginnen om 10:30 uur."]


# --- every token gets a decision ----------------------------------------------------------------


def test_all_tokens_have_a_sentence_start_value(nlp):
    doc = nlp("Een. Twee drie. Vier")
    assert doc.has_annotation("SENT_START", require_complete=True)
    assert [t.is_sent_start for t in doc] == [True, False, True, False, False, True]


def test_empty_and_one_token_texts(nlp):
    assert list(nlp("").sents) == []
    assert [s.text for s in nlp("Ja").sents] == ["Ja"]


# --- factory configuration ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def blank():
    return spacy.blank("nl")


@pytest.fixture
def blank_with(blank):
    """A capcode_sentences component with the given config, as a function text -> Doc."""
    def make(config):
        component = blank.add_pipe("capcode_sentences", name=f"s{len(blank.pipe_names)}", config=config)
        return lambda text: component(blank.make_doc(text))
    return make


def test_factory_extra_abbreviations(blank_with):
    text = "Zie afdeling Xyz. Peeters voor meer. Dan nog."
    assert len(list(blank_with({})(text).sents)) == 3
    assert [s.text for s in blank_with({"extra_abbreviations": ["xyz"]})(text).sents] == [
        "Zie afdeling Xyz. Peeters voor meer.", "Dan nog."]


def test_factory_extra_final_abbreviations(blank_with):
    text = "We zagen ministers e.d. Daarna de burgemeester en mevr. Daarna niets."
    default = [s.text for s in blank_with({})(text).sents]
    assert default == ["We zagen ministers e.d.", "Daarna de burgemeester en mevr. Daarna niets."]
    custom = [s.text for s in blank_with({"extra_final_abbreviations": ["mevr."]})(text).sents]
    assert custom == ["We zagen ministers e.d.", "Daarna de burgemeester en mevr.", "Daarna niets."]


def test_factory_split_at_newline(blank_with):
    text = "een regel zonder punt\nnog een regel"
    assert len(list(blank_with({})(text).sents)) == 1
    assert [s.text.strip() for s in blank_with({"split_at_newline": True})(text).sents] == [
        "een regel zonder punt", "nog een regel"]


def test_factory_switches_for_timestamps_and_brackets(blank_with):
    assert len(list(blank_with({"split_at_timestamp": False})("ja [00:12:34] En dan.").sents)) == 1
    assert len(list(blank_with({"split_after_bracket": False})("Dat (lacht) Maar goed.").sents)) == 1


def test_factory_config_is_validated(blank_with):
    with pytest.raises(ConfigValidationError):
        blank_with({"split_at_newline": "misschien"})
    with pytest.raises(ConfigValidationError):
        blank_with({"no_such_option": 1})


def test_candidate_flag_is_registered_once_per_vocabulary(blank):
    nlp = blank
    first = nlp.add_pipe("capcode_sentences", name="one")
    second = nlp.add_pipe("capcode_sentences", name="two")
    assert first.flag == second.flag
    assert nlp("woord")[0].is_alpha  # spaCy's own flags are untouched


# --- lemmas and the pipeline --------------------------------------------------------------------


def test_pipeline_names_and_lookup_lemmas(nlp):
    assert nlp.pipe_names == ["capcode_sentences", "lemmatizer"]
    assert nlp.get_pipe("lemmatizer").mode == "lookup"
    doc = nlp("De beleidsplannen liepen vast en de gemeente heeft diensten geholpen.")
    lemmas = {t.text: t.lemma_ for t in doc}
    assert lemmas["beleidsplannen"] == "beleidsplan"
    assert lemmas["liepen"] == "lopen"
    assert lemmas["geholpen"] == "helpen"
    assert lemmas["diensten"] == "dienst"  # from lemma_exc, merged because unambiguous
    assert lemmas["heeft"] == "hebben"  # an irregular verb form let through on purpose
    assert lemmas["en"] == "en" and lemmas["De"] == "de"  # function words are not rewritten


@pytest.fixture(scope="module")
def plain_lemmatizer():
    nlp = spacy.blank("nl")
    nlp.add_pipe("capcode_lemmatizer", name="lemmatizer", config={"use_exceptions": False})
    nlp.initialize()
    return nlp


def test_lemmatizer_keeps_lemmas_set_earlier_unless_overwrite(plain_lemmatizer, nlp):
    doc = plain_lemmatizer.make_doc("liepen naar huis")
    doc[0].lemma_ = "LOPEN"
    assert [t.lemma_ for t in plain_lemmatizer.get_pipe("lemmatizer")(doc)] == ["LOPEN", "naar", "huis"]
    assert nlp.get_pipe("lemmatizer").overwrite  # build_nlp's: the first to set lemmas
    doc = nlp.make_doc("liepen")
    doc[0].lemma_ = "LOPEN"
    assert nlp.get_pipe("lemmatizer")(doc)[0].lemma_ == "lopen"


def test_lemmatizer_without_exceptions_is_plain_lookup(plain_lemmatizer):
    assert [t.lemma_ for t in plain_lemmatizer("heeft liepen")] == ["heeft", "lopen"]


def test_build_nlp_is_cached_per_model_name(nlp):
    assert build_nlp() is nlp
    assert build_nlp("blank") is nlp


def test_components_disabled_by_a_caller_come_back(nlp):
    nlp.select_pipes(disable=["capcode_sentences"])  # what a careless caller might do
    assert build_nlp() is nlp
    assert nlp.pipe_names == ["capcode_sentences", "lemmatizer"]
    assert len(list(nlp("Een. Twee.").sents)) == 2


def test_unknown_model_name_is_a_config_error():
    with pytest.raises(ConfigError, match="segment.spacy_model.*'blank'"):
        build_nlp("en_core_web_sm")


def test_missing_core_model_gives_install_instructions(monkeypatch):
    monkeypatch.setattr(spacy.util, "is_package", lambda name: False)
    with pytest.raises(ConfigError, match=r"nl_core_news_sm' is not installed.*spacy download nl_core_news_sm"):
        build_nlp("nl_core_news_sm")  # errors are not cached


def test_missing_lookup_tables_is_a_clear_error(monkeypatch):
    def no_tables(*args, **kwargs):
        raise ValueError("[E955] Can't find table(s) lemma_lookup for language 'nl'")

    monkeypatch.setattr("spacy.lookups.load_lookups", no_tables)
    monkeypatch.setattr(capcode_lemmas, "merged_lookup_table", lambda: no_tables())
    with pytest.raises(CapcodeError, match="spacy-lookups-data"):
        dutch._build_blank()


def test_pipe_in_batches_gives_the_same_as_one_by_one(nlp):
    texts = ["Een. Twee.", "Dhr. Peeters liep. Ja!", "", "(lacht) Maar goed. Nee", "Dat is al. Ok."]
    one_by_one = [[(s.text, [t.lemma_ for t in s]) for s in nlp(t).sents] for t in texts]
    batched = [[(s.text, [t.lemma_ for t in s]) for s in doc.sents] for doc in nlp.pipe(texts, batch_size=2)]
    assert batched == one_by_one
