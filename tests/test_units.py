"""Sentence spans from one tokenizer call for many paragraphs equal those of one Doc per paragraph."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import SegmentParams
from pipeline.dutch import build_nlp
from pipeline.readers import read_plain_text
from pipeline.segment import find_transcripts, line_maker, transcripts_records
from pipeline.turns import parse_turns
from pipeline.units import (_batches, _pipeline_sentences, cache_friendly_order, group_sentences, grouping_programme,
                            joinable, paragraphs, rule_segmenter, sentence_spans, special_spellings)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lean():
    return build_nlp(lemmas=False)


def every_paragraph(folder) -> list:
    """The trimmed paragraphs of every turn of every transcript in a folder."""
    texts = []
    for source, path in find_transcripts([folder]):
        text = read_plain_text(path)
        for turn in parse_turns(text, source).turns:
            texts.extend(text[a:b] for a, b, _ in paragraphs(text, turn.start_char, turn.end_char))
    return texts


def both_ways(texts, nlp, max_words):
    joined = list(sentence_spans(texts, nlp, max_words))
    alone = list(_pipeline_sentences(texts, nlp, max_words, [0] * len(texts)))
    return joined, alone


def test_capcode_pipeline_takes_the_joined_path_and_others_do_not(lean, nlp):
    assert rule_segmenter(lean) is lean.get_pipe("capcode_sentences")
    assert rule_segmenter(nlp) is not None  # the lemmatizer is skipped for sentences
    import spacy

    assert rule_segmenter(spacy.blank("nl")) is None  # no capcode rules: nlp.pipe decides
    assert joinable(lean.tokenizer)


@pytest.mark.parametrize("folder", ["data/sample/transcripts", "tests/data/segment_study", "tests/data/own_study",
                                    "tests/data/qdpx_transcripts"])
@pytest.mark.parametrize("max_words", [None, 80, 7])
def test_joined_paragraphs_give_the_sentences_of_one_doc_each(lean, folder, max_words):
    texts = every_paragraph(ROOT / folder)
    assert len(texts) > 5
    joined, alone = both_ways(texts, lean, max_words)
    assert joined == alone


_PIECES = st.sampled_from(["Ja.", "Nee!", "bv.", "Dhr.", "J.", "Peeters", "(lacht)", "Maar", "goed", "...", "…",
                           "\"", "''", "”", "1.", "a)", "[00:12:34]", "00:12:34", "enz.", "Dat", "is", "zo", "?",
                           "Wat", "denkt", "u", "3.500", ",", ";", ":", "–", "'s", "Het", "OCMW", "\n", "\t", "  ",
                           "(…)", "[...]", "(…).", "(", ")", "[", "]", "(...)"])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.lists(_PIECES, min_size=1, max_size=40).map(" ".join), min_size=1, max_size=12),
       st.sampled_from([None, 3, 80]))
def test_joined_and_alone_agree_on_tricky_text(texts, max_words):
    nlp = build_nlp(lemmas=False)
    texts = [t.strip() for t in texts if t.strip()]
    if texts:
        joined, alone = both_ways(texts, nlp, max_words)
        assert joined == alone


@pytest.mark.parametrize("text", [
    "Het is te gefragmenteerd (…) We moeten met grotere blokken werken.",
    "Er is te weinig [...] doorstroming. (…) Maar goed (lacht) Dat was het.",
    "(…) Ja. Nee (…). En (...) toen [..] Niet. Senaat (74 leden) Kamer (150 leden)",
    "Eerst … dan (… ) en ( …) Zo.",
    "Dat moeten we zetten. (lacht) Ja? 'Zo' zei hij! \"Nee\" – Goed. «Oké» zo. '' Toch. [00:12:34] Ja. 's Avonds.",
    "Enz. (ja) en zo. - Nee. „Dat” is het. ‘Goed’. ¿Qué? • Punt. * Ster.",
])
def test_elisions_are_decided_for_the_batch_as_for_each_text(lean, text):
    joined, alone = both_ways([text, "Ja (…) Nee.", text + " (…)"], lean, None)
    assert joined == alone
    assert joined[1] == [(0, 11, 2)]  # an elision ends no sentence: 'Ja (…) Nee.' is one


def test_texts_with_a_special_case_are_tokenized_last(lean):
    specials = special_spellings(lean.tokenizer)
    assert {"bv.", "(bv.", "bv.,", "'s"} <= specials and "Ja." not in specials
    batch = ["Dat is bv. zo.", "Ja.", "Hij zei:\nnee.", "Het geld (bv., de subsidie).", "Goed zo.", "'s Avonds."]
    assert cache_friendly_order(batch, specials) == [1, 4, 0, 2, 3, 5]


def test_reordered_batches_keep_each_texts_sentences_and_offsets(lean):
    # special cases first in every batch: each batch is joined in another order than given
    texts = ["Dat is bv. zo. En nu.", "Ja. Nee! Misschien?", "Mevr. Peeters zei het. Dhr. niet."] * 400
    starts = [17 * number for number in range(len(texts))]
    assert any(cache_friendly_order(batch, special_spellings(lean.tokenizer)) != list(range(len(batch)))
               for batch in _batches(texts))
    for max_words in (None, 2):
        joined = list(sentence_spans(texts, lean, max_words, starts))
        assert joined == list(_pipeline_sentences(texts, lean, max_words, starts))
        assert joined[0] != joined[1]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 60), max_size=12), st.integers(1, 90))
def test_the_one_group_shortcut_groups_as_the_dynamic_programme(sizes, max_words):
    sentences = [(i, i + 1, size) for i, size in enumerate(sizes)]
    assert group_sentences(sentences, max_words) == grouping_programme(sentences, max_words)


@pytest.mark.parametrize("unit", ["fragment", "sentence", "turn"])
def test_fragment_lines_are_the_json_of_the_records(lean, unit):
    from pipeline.records import SourceInfo, Transcript

    transcripts = []
    for source, path in find_transcripts([ROOT / "data/sample/transcripts", ROOT / "tests/data/own_study"]):
        text = read_plain_text(path)
        turns = parse_turns(text, source).turns
        transcripts.append(Transcript(SourceInfo(source, 'case"1', "r\\1", "politiek"), text, turns))
        odd = f'sub/"é\\{source}\u2028\t'  # a source name the id must escape
        transcripts.append(Transcript(SourceInfo(odd, "case1", "r1", "politiek"), text, turns))
    params = SegmentParams(include_interviewer=True)
    records = [r for rs in transcripts_records(transcripts, lean, params, unit) for r in rs]
    lines = [r for rs in transcripts_records(transcripts, lean, params, unit, line_maker) for r in rs]
    assert records and len(lines) == len(records)
    assert lines == [json.dumps(record, ensure_ascii=False) + "\n" for record in records]


@pytest.mark.parametrize("texts", [["", "Ja. Nee."], ["Ja. Nee.", "", "bv. Dat."], [""], ["", ""],
                                   ["Dat is bv. zo", "", ""]])
def test_empty_texts_in_a_batch_have_no_sentences_and_shift_nothing(lean, texts):
    starts = [5] * len(texts)
    joined = list(sentence_spans(texts, lean, 3, starts))
    assert joined == list(_pipeline_sentences(texts, lean, 3, starts))
    assert [spans for text, spans in zip(texts, joined) if not text] == [[] for text in texts if not text]


# ---- paragraphs short enough to be one fragment ------------------------------------------------

def fragments_of(spans_per_text, max_words) -> list:
    """(start, end, words) of the fragments group_sentences makes of each text's spans."""
    return [[(group[0][0], group[-1][1], sum(s[2] for s in group)) for group in group_sentences(spans, max_words)
             if sum(s[2] for s in group)] for spans in spans_per_text]


@pytest.mark.parametrize("folder", ["data/sample/transcripts", "tests/data/segment_study", "tests/data/own_study"])
@pytest.mark.parametrize("max_words", [80, 12])
def test_short_paragraphs_given_whole_make_the_fragments_of_their_sentences(lean, folder, max_words):
    texts = every_paragraph(ROOT / folder)
    starts = [3 * number for number in range(len(texts))]
    sentences = list(sentence_spans(texts, lean, max_words, starts))
    whole = list(sentence_spans(texts, lean, max_words, starts, [True] * len(texts)))
    assert fragments_of(whole, max_words) == fragments_of(sentences, max_words)
    given_whole = [spans for spans, exact in zip(whole, sentences) if spans != exact]
    assert given_whole and all(len(spans) == 1 for spans in given_whole)  # the shortcut was taken
    assert list(sentence_spans(texts, lean, max_words, starts, [False] * len(texts))) == sentences


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.lists(_PIECES, min_size=1, max_size=40).map(" ".join), min_size=1, max_size=12),
       st.sampled_from([1, 3, 80]), st.randoms(use_true_random=False))
def test_whole_or_in_sentences_the_fragments_agree_on_tricky_text(texts, max_words, random):
    nlp = build_nlp(lemmas=False)
    texts = [t.strip() for t in texts if t.strip()] + [""]
    whole = [random.random() < 0.8 for _ in texts]
    sentences = list(sentence_spans(texts, nlp, max_words))
    given = list(sentence_spans(texts, nlp, max_words, None, whole))
    assert fragments_of(given, max_words) == fragments_of(sentences, max_words)
    assert [spans for spans, alone in zip(given, whole) if not alone] == \
        [spans for spans, alone in zip(sentences, whole) if not alone]


def test_a_paragraph_in_pieces_is_grouped_from_its_sentences(lean, monkeypatch):
    """A paragraph too long for one spaCy call comes in pieces; a first piece of few (long) words
    must still give its sentences: the grouping may put a fragment's end inside it."""
    from pipeline import units
    from pipeline.records import SourceInfo, Transcript

    def sentence(words, length):
        return "W" + "o" * (length - 1) + " " + ("w" + "o" * (length - 1) + " ") * (words - 2) + "einde."

    text = "I: Vraag?\nR: " + " ".join([sentence(70, 700), sentence(5, 600), sentence(60, 850)])
    transcript = Transcript(SourceInfo("case1_respondent1.txt", "case1", "respondent1", "politiek"), text,
                            parse_turns(text, "case1_respondent1.txt").turns)
    first, second = paragraphs(text, 13, len(text))
    assert not first[2] and second[2]  # two pieces, the first of 75 words: short enough to be whole
    found = [(r["start_char"], r["end_char"], r["n_words"]) for r in next(transcripts_records([transcript], lean,
                                                                                             SegmentParams()))]
    exact = units.sentence_spans
    monkeypatch.setattr(units, "sentence_spans", lambda texts, nlp, max_words, starts, whole=None:
                        exact(texts, nlp, max_words, starts))
    assert found == [(r["start_char"], r["end_char"], r["n_words"])
                     for r in next(transcripts_records([transcript], lean, SegmentParams()))]
    assert found[0][1] < first[1] and found[0][2] == 70  # a fragment ends inside the first piece
