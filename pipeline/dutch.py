"""The Dutch spaCy pipeline: tokenizer, rule-based sentence segmenter, lookup lemmatizer.

`build_nlp()` gives `spacy.blank("nl")` plus capcode's own sentence segmenter (the
`capcode_sentences` factory, `pipeline/sentences.py`) and spaCy's lookup lemmatizer with the
Dutch tables of `spacy-lookups-data` (the `capcode_lemmatizer` factory, `pipeline/lemmas.py`).
Nothing is downloaded: the tables come from the installed package, and a user's
`nl_core_news_sm/md/lg` is used only when it is installed and chosen in params.yaml
(`segment.spacy_model`). Accuracy and speed: `python benchmarks/segmentation.py` (figures in
docs/reading-and-segmentation.md).
"""

from functools import lru_cache

import spacy
from spacy.language import Language

from .errors import CapcodeError, ConfigError
from .lemmas import LEMMATIZER_FACTORY
from .sentences import SENTENCES_FACTORY

CORE_MODELS = ("nl_core_news_sm", "nl_core_news_md", "nl_core_news_lg")


def build_nlp(spacy_model: str = "blank", lemmas: bool = True) -> Language:
    """The Dutch pipeline capcode uses, built once per model name in a process.

    "blank": spacy.blank("nl") + capcode_sentences + the lookup lemmatizer (pipe
    names "capcode_sentences", "lemmatizer"); with `lemmas=False` without the
    lemmatizer, whose tables take a second to load and which segmenting does not
    need (a pipeline of its own, cached apart). "nl_core_news_sm/md/lg": the user's
    installed spaCy model, as it is (its parser sets the sentences). The object is
    shared by every caller: use it, do not add or remove pipes; to skip a component
    use `nlp.pipe(texts, disable=[...])` or `with nlp.select_pipes(...)`. A component
    someone disabled for good is enabled again here, so segmentation keeps working.
    """
    nlp, enabled = _cached_nlp(spacy_model or "blank", lemmas or spacy_model not in ("blank", "", None))
    for name in enabled:
        if name in nlp.disabled:
            nlp.enable_pipe(name)
    return nlp


def new_nlp(spacy_model: str = "blank", lemmas: bool = True) -> Language:
    """A pipeline of its own (not shared), as build_nlp makes it: for a thread that runs spaCy
    while others do (a Dask worker's threads); spaCy's objects are not made for concurrent use."""
    return _cached_nlp.__wrapped__(spacy_model or "blank", lemmas or spacy_model not in ("blank", "", None))[0]


def forget_pipelines() -> None:
    """Drop the pipelines built so far (the lemma tables take about 160 MB); the next
    `build_nlp` builds one again. For a long run that no longer needs spaCy."""
    from .wordcounts import forget_chunks

    _cached_nlp.cache_clear()
    forget_chunks()


@lru_cache(maxsize=None)
def _cached_nlp(spacy_model: str, lemmas: bool = True) -> tuple:
    """(pipeline, names of its enabled components when built)."""
    if spacy_model == "blank":
        nlp = _build_blank(lemmas)
        return nlp, tuple(nlp.pipe_names)
    if spacy_model in CORE_MODELS:
        nlp = _load_core_model(spacy_model)
        return nlp, tuple(nlp.pipe_names)
    raise ConfigError(
        f"params.yaml, segment.spacy_model: unknown value '{spacy_model}'; "
        f"use 'blank' or one of {', '.join(CORE_MODELS)}."
    )


def _build_blank(lemmas: bool = True) -> Language:
    nlp = spacy.blank("nl")
    nlp.add_pipe(SENTENCES_FACTORY)
    if not lemmas:
        return nlp
    # overwrite: nothing before it sets lemmas, so it need not look for existing ones
    nlp.add_pipe(LEMMATIZER_FACTORY, name="lemmatizer", config={"mode": "lookup", "overwrite": True})
    try:
        nlp.initialize()
    except (ValueError, ImportError, OSError) as exc:
        raise CapcodeError(
            "The Dutch lemma tables of spacy-lookups-data are missing "
            f"({type(exc).__name__}); install them with: pip install 'spacy-lookups-data>=1.0.5'."
        ) from None
    return nlp


def _load_core_model(name: str) -> Language:
    if not spacy.util.is_package(name):
        raise ConfigError(
            f"params.yaml, segment.spacy_model: the spaCy model '{name}' is not installed; "
            f"install it with: python -m spacy download {name} (capcode never downloads it), "
            "or set segment.spacy_model: blank."
        )
    try:
        return spacy.load(name)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"params.yaml, segment.spacy_model: the spaCy model '{name}' cannot be loaded "
            f"({exc.__class__.__name__}); reinstall it for spaCy {spacy.__version__}."
        ) from None
