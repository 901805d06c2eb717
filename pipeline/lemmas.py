"""capcode's Dutch lemmatizer, the spaCy component `capcode_lemmatizer` (added as "lemmatizer").

spaCy's Dutch lookup lemmatizer with the tables of spacy-lookups-data, completed with the
unambiguous irregular forms of its exception tables (see merged_lookup_table) and applied to a
whole Doc at once (see DutchLookupLemmatizer). Nothing is downloaded: the tables come from the
installed package.
"""

import numpy
from spacy.attrs import LEMMA, LOWER
from spacy.errors import Errors
from spacy.lang.nl.lemmatizer import DutchLemmatizer
from spacy.language import Language

from .sentences import apply_in_batches

LEMMATIZER_FACTORY = "capcode_lemmatizer"

OPEN_CLASSES = ("noun", "verb", "adj")  # lemma_exc tables whose entries are safe without POS
# Function words are never taken from lemma_exc ('en' -> 'emmen', 'in' -> 'innen'), except
# these frequent irregular verb forms.
IRREGULAR_VERB_FORMS = frozenset("""
    ben bent is was waren geweest heb hebt heeft had hadden word wordt werd werden
    kan kunt kon konden moet moest moesten wil wilt wilde wilden zal zult zou zouden
    mag mocht mochten ga gaat ging gingen kom komt kwam kwamen doe doet deed deden
    sta staat stond stonden zie ziet zag zagen
""".split())


def merged_lookup_table():
    """spacy-lookups-data's Dutch `lemma_lookup` table, completed with the unambiguous
    irregular forms of its `lemma_exc` tables (diensten -> dienst, heeft -> hebben).

    The lookup table lacks many frequent irregular forms that the POS-based rule
    lemmatizer takes from `lemma_exc`; a blank pipeline has no POS tags, so a form
    is added only when the noun, verb and adjective tables agree on one lemma.
    """
    from spacy.lang.nl.stop_words import STOP_WORDS
    from spacy.lookups import Lookups, load_lookups

    lookups = load_lookups(lang="nl", tables=["lemma_lookup"])
    table = lookups.get_table("lemma_lookup")
    extra = load_lookups(lang="nl", tables=["lemma_exc"], strict=False)
    if "lemma_exc" in extra:
        exceptions = extra.get_table("lemma_exc")
        candidates = {}
        for pos in OPEN_CLASSES:
            for form, lemmas in (exceptions.get(pos) or {}).items():
                candidates.setdefault(form, set()).update(lemmas)
        skip = (set(table.values()) | STOP_WORDS) - IRREGULAR_VERB_FORMS
        for form, lemmas in candidates.items():
            if len(lemmas) == 1 and form not in table and form not in skip:
                table[form] = next(iter(lemmas))
    merged = Lookups()
    merged.set_table("lemma_lookup", table)
    return merged


class DutchLookupLemmatizer(DutchLemmatizer):
    """spaCy's Dutch lookup lemmatizer (lower-cased form -> lemma, the form itself when it is
    not in the table), applied to a whole Doc at once: a map over its LOWER hashes instead
    of a Python loop creating Token objects."""

    def __init__(self, vocab, model, name: str = "lemmatizer", *, mode: str = "lookup",
                 overwrite: bool = False, use_exceptions: bool = True):
        super().__init__(vocab, model, name, mode=mode, overwrite=overwrite)
        self.use_exceptions = use_exceptions
        self._seen, self._cached_table = {}, None

    def initialize(self, get_examples=None, *, nlp=None, lookups=None):
        if lookups is None and self.mode == "lookup" and self.use_exceptions:
            lookups = merged_lookup_table()
        super().initialize(get_examples, nlp=nlp, lookups=lookups)

    def pipe(self, stream, *, batch_size: int = 128):
        """Lemmatize a stream of Docs, a batch at a time (see apply_in_batches)."""
        return apply_in_batches(self, stream, batch_size, self.get_error_handler())

    def _lemma_hashes(self, lowers, strings):
        """Lemma hashes for a list of lower-case form hashes. The forms seen so far live in a
        dict no larger than the vocabulary (fast, and mostly in the CPU cache, unlike the
        whole table); a new form is looked up once in the table (itself when not there)."""
        table = self.lookups.get_table("lemma_lookup", {})
        if table is not self._cached_table:
            self._seen, self._cached_table = {}, table
        seen = self._seen
        lemmas = list(map(seen.get, lowers))
        if None in lemmas:
            for index, lower in enumerate(lowers):
                if lemmas[index] is None:
                    lemma = table.get(lower)
                    lemmas[index] = seen[lower] = lower if lemma is None else strings.add(lemma)
        return lemmas

    def __call__(self, doc):
        if self.mode != "lookup":
            return super().__call__(doc)
        if not self._validated:
            self._validate_tables(Errors.E1004)
        lowers = doc.to_array(LOWER).tolist()
        lemmas = numpy.array(self._lemma_hashes(lowers, doc.vocab.strings), dtype="uint64")
        if not self.overwrite and doc.has_annotation("LEMMA"):
            present = doc.to_array(LEMMA)
            lemmas = numpy.where(present != 0, present, lemmas)
        doc.from_array([LEMMA], lemmas)
        return doc


@Language.factory(
    LEMMATIZER_FACTORY,
    assigns=["token.lemma"],
    default_config={"mode": "lookup", "overwrite": False, "use_exceptions": True},
)
def make_capcode_lemmatizer(nlp: Language, name: str, mode: str, overwrite: bool, use_exceptions: bool):
    """spaCy's Dutch lookup lemmatizer with tables from spacy-lookups-data (see DutchLookupLemmatizer)."""
    return DutchLookupLemmatizer(nlp.vocab, None, name, mode=mode, overwrite=overwrite,
                                 use_exceptions=use_exceptions)
