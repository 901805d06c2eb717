"""The Dutch abbreviations the sentence rules (sentences.py) know, and their spellings.

A full stop after a NON_FINAL abbreviation (`bv.`, `dhr.`, `art.`) never ends a sentence; after
a FINAL one (`enz.`, `etc.`) it does when a capital follows. Each is accepted in lower case,
Capitalised and UPPER case, except the few that are names or words when capitalised (`Jan.`).
A study adds its own through the `capcode_sentences` factory's config.
"""

# Abbreviations after which a capitalised word does NOT start a new sentence: titles,
# words that introduce an example, a name or a number, months, references. Lower case;
# the capitalised and upper-case spellings are accepted too (see _spellings).
NON_FINAL_ABBREVIATIONS = frozenset("""
    a.d.h.v. a.g.v. a.h.v. a.h.w. a.k.a. a.d. aanv. afb. afd. afk. afl. alg. alin. ann. arr. art.
    b.v. b.w. b.v.b. bijv. bijl. bijz. bv. bvb. blz. betr.
    c.q. ca. cap. cf. cfr. chr. coll.
    d.d. d.i. d.m.v. d.w.z. dhr. dhrn. dir. drs. dr. ds. dwz.
    e.g. ev. evt. excl. ed. eig.
    fam. fig. fr.
    gebr. gem. gen. geb. gesch.
    hfdst. hfst. hr.
    i.c. i.e. i.h.b. i.o.m. i.o.v. i.p.v. i.s.m. i.t.t. i.v.m. i.z. ibid. id. incl. ing. ir.
    jhr. jkvr. juf.
    kard.
    lic. lid.
    m.a.w. m.b.t. m.b.v. m.i. m.i.v. m.n. m.u.v. mej. mevr. mgr. mr. mw. mvr.
    n.a.v. n.a.w. nl. nr. nrs.
    o.a. o.b.v. o.g.v. o.i. o.i.v. o.l.v. o.m. o.m.v. ong. op.cit.
    p. p.a. p.c. pag. par. plm. pp. prof. prov.
    r.k. red. ref. resp.
    s.l. st. stv.
    t.a.v. t.b.v. t.g.v. t.h.v. t.o.v. t.w. t.z.t. tav. tgv. tov.
    v.d. vb. vert. vgl. vlg. vlgg. vnl. vs. vz.
    w.o.
    z.g. zg. zgn. zie.
    jan. feb. febr. mrt. apr. jun. jul. aug. sep. sept. okt. nov. dec.
""".split())

# Abbreviations that often end a sentence: a capitalised word after them starts a new one.
FINAL_ABBREVIATIONS = frozenset("""
    a.s. a.u.b. c.s. e.a. e.d. e.e.a. e.o. e.v. e.v.a. enz. etc. jl. jr. sr.
    m.m. n.chr. n.v.t. o.i.d. s.v.p. v.chr. z.o.z. mln. mrd. min. max. sec.
""".split())

# Spellings that are names or plain words when capitalised (Jan, Mei): only lower case counts.
_LOWER_CASE_ONLY = frozenset({"jan.", "zie.", "lid.", "gen.", "p."})


def spellings(forms, lower_only=_LOWER_CASE_ONLY) -> frozenset:
    """Each abbreviation in lower case, Capitalised (sentence start) and UPPER case."""
    out = set()
    for form in forms:
        out.add(form)
        if form not in lower_only:
            out.add(form[:1].upper() + form[1:])
            out.add(form.upper())
    return frozenset(out)


def tokenizer_abbreviations() -> frozenset:
    """The abbreviations spaCy's Dutch tokenizer keeps whole (from pragmatic_segmenter)."""
    try:
        from spacy.lang.nl.tokenizer_exceptions import abbrevs
    except ImportError:  # pragma: no cover - older or newer spaCy layouts
        return frozenset()
    return frozenset(a.lower() for a in abbrevs if a.endswith("."))


def with_dot(forms) -> set:
    forms = (f.strip() for f in forms)
    return {f.lower() if f.endswith(".") else f.lower() + "." for f in forms if f}
