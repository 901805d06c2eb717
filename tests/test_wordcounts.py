"""A text's words as the sum of its chunks' words equal the tokenizer's count, or are not given."""

import random
from pathlib import Path

import pytest
import spacy
from spacy.attrs import IS_PUNCT, IS_SPACE, ORTH
from spacy.tokenizer import Tokenizer

from pipeline import wordcounts
from pipeline.dutch import build_nlp
from pipeline.readers import read_plain_text
from pipeline.segment import find_transcripts
from pipeline.units import _pipeline_sentences, sentence_spans, word_counts
from pipeline.wordcounts import _count_changing_cases, chunk_words, word_flag

ROOT = Path(__file__).resolve().parent.parent

# texts where a special case's tokens stand in two chunks: the tokenizer's special-case matcher
# then leaves out a case inside a chunk, and its count differs from the sum of its chunks'
FOUND_BY_SEARCH = ["<3333>.< < space>.<", "</3>.> .>.>", ">( =D..jaED(S).", "D ( =|_<"]


@pytest.fixture(scope="module")
def lean():
    return build_nlp(lemmas=False)


def tokenizer_words(tokenizer, text) -> int:
    return sum(1 for token in tokenizer(text) if not (token.is_punct or token.is_space))


def every_paragraph(folder) -> list:
    return [paragraph.strip() for _, path in find_transcripts([folder])
            for paragraph in read_plain_text(path).split("\n\n") if paragraph.strip()]


def pieces_of_special_cases(tokenizer) -> list:
    """Every special case and the tokens the tokenizer cuts it into without special cases."""
    bare = Tokenizer(tokenizer.vocab, rules={}, prefix_search=tokenizer.prefix_search,
                     suffix_search=tokenizer.suffix_search, infix_finditer=tokenizer.infix_finditer)
    pieces = set()
    for case in tokenizer.rules:
        if case.strip():
            pieces.add(case)
            pieces.update(token.text for token in bare(case))
    return sorted(pieces | {"ja", "x", "(", ")", ".", ",", "3", "v", "Chr"})


def test_the_word_flag_is_neither_punctuation_nor_white_space(lean):
    doc = lean.tokenizer("Ja, dat is (bv.) 3.500 euro...\n\n  Nee! 's Avonds – “goed” :-) [00:12:34] \t OCMW's")
    flag = word_flag(lean.vocab)
    assert flag == word_flag(lean.vocab)  # added once
    rows = doc.to_array([flag, IS_PUNCT, IS_SPACE]).tolist()
    assert [word for word, _, _ in rows] == [int(not (punct or space)) for _, punct, space in rows]
    assert 0 < sum(word for word, _, _ in rows) < len(rows)


@pytest.mark.parametrize("folder", ["data/sample/transcripts", "tests/data/segment_study", "tests/data/own_study"])
def test_every_paragraph_of_the_fixtures_counts_as_the_tokenizer_counts_it(lean, folder):
    texts = every_paragraph(ROOT / folder)
    counts = chunk_words(lean.tokenizer).counts(texts)
    assert counts == [tokenizer_words(lean.tokenizer, text) for text in texts]
    assert chunk_words(lean.tokenizer).counts(texts) == counts  # now from the chunks met before


def test_the_dutch_tokenizers_count_changing_cases_are_few_and_odd(lean):
    changing = _count_changing_cases(lean.tokenizer, lean.tokenizer.rules)
    assert {"<3", "v.Chr.", "=D"} <= set(changing) and len(changing) < 100
    assert not {"bv.", "'s", "enz.", ":-)", "m.a.w."} & set(changing)


def test_texts_made_of_special_cases_count_as_the_tokenizer_counts_them_or_not_at_all(lean):
    tokenizer, counter = lean.tokenizer, chunk_words(lean.tokenizer)
    pieces, chance = pieces_of_special_cases(tokenizer), random.Random(7)
    texts = FOUND_BY_SEARCH + ["".join(chance.choice(pieces) + chance.choice(["", "", " "]) for _ in range(
        chance.randint(2, 7))).strip() for _ in range(4000)]
    counts = counter.counts(texts)
    expected = [tokenizer_words(tokenizer, text) for text in texts]
    assert all(count is None or count == words for count, words in zip(counts, expected))
    assert all(count is not None for text, count in zip(texts, counts) if counter.unsure.search(text) is None)
    assert 0.9 * len(texts) < sum(count is not None for count in counts) < len(texts)
    for text in FOUND_BY_SEARCH:  # what the guard is for: their chunks' sum is not their count
        assert sum(tokenizer_words(tokenizer, chunk) for chunk in text.split()) != tokenizer_words(tokenizer, text)
    assert counts[:len(FOUND_BY_SEARCH)] == [None] * len(FOUND_BY_SEARCH)


def test_a_count_changing_case_of_ones_own_is_found_and_left_to_the_tokenizer():
    nlp = spacy.blank("nl")
    nlp.tokenizer.add_special_case("abc.", [{ORTH: "ab"}, {ORTH: "c."}])  # two words; 'abc' + '.' is one
    counter = chunk_words(nlp.tokenizer)
    assert "abc." in _count_changing_cases(nlp.tokenizer, nlp.tokenizer.rules)
    texts = ["Dat is abc. zo.", "(abc.) ja", "Dat is bv. zo."]
    assert counter.counts(texts) == [None, None, 4]
    assert list(word_counts(texts, nlp)) == [tokenizer_words(nlp.tokenizer, text) for text in texts] == [5, 3, 4]
    nlp.tokenizer.add_special_case("xyz", [{ORTH: "x"}, {ORTH: "yz"}])  # a new case: counted afresh
    assert chunk_words(nlp.tokenizer) is not counter
    assert list(word_counts(["xyz ja"], nlp)) == [3]


def test_a_special_case_with_white_space_turns_chunk_counting_off():
    nlp = spacy.blank("nl")
    nlp.add_pipe("capcode_sentences")
    nlp.tokenizer.add_special_case("a.b c", [{ORTH: "a.b c"}])
    assert chunk_words(nlp.tokenizer) is None
    texts = ["Zie a.b c hier. En nu.", "Ja. Nee."]
    assert list(word_counts(texts, nlp)) == [tokenizer_words(nlp.tokenizer, text) for text in texts]
    assert list(sentence_spans(texts, nlp, 3, None, [True, True])) == \
        list(_pipeline_sentences(texts, nlp, 3, [0, 0])) != [[(0, len(texts[0]), 5)], [(0, 8, 2)]]


def test_chunks_are_forgotten_beyond_the_limit_and_counts_stay_right(lean, monkeypatch):
    monkeypatch.setattr(wordcounts, "CHUNKS_MAX", 40)
    counter = wordcounts.ChunkWords(lean.tokenizer, [])
    texts = [" ".join(f"woord{number}x{k}." for k in range(8)) for number in range(30)]
    for at in range(0, len(texts), 3):
        assert counter.counts(texts[at:at + 3]) == [8, 8, 8][:len(texts[at:at + 3])]
        assert len(counter.words) <= 40
    assert counter.counts(texts[-3:] + ["", "   "]) == [8, 8, 8, 0, 0]


def test_the_pipelines_forgotten_forget_their_chunks(lean, monkeypatch):
    from pipeline import dutch

    cleared = []
    monkeypatch.setattr(dutch._cached_nlp, "cache_clear", lambda: cleared.append(True))  # the session's pipelines stay
    assert chunk_words(lean.tokenizer) is not None and wordcounts._KNOWN
    dutch.forget_pipelines()
    assert cleared and not wordcounts._KNOWN


def test_a_tokenizer_without_special_cases_counts_chunks_and_another_kind_is_not_counted():
    nlp = spacy.blank("nl")
    plain = Tokenizer(nlp.vocab, rules={}, prefix_search=nlp.tokenizer.prefix_search,
                      suffix_search=nlp.tokenizer.suffix_search, infix_finditer=nlp.tokenizer.infix_finditer)
    counter = chunk_words(plain)
    assert counter is not None and counter.unsure is None
    texts = ["Dat is bv. zo.", "(Ja), nee!  3.500 euro"]
    assert counter.counts(texts) == [tokenizer_words(plain, text) for text in texts] == [4, 4]
    assert chunk_words(lambda text: nlp.make_doc(text)) is None
