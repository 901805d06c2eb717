"""The study's params.yaml: every setting with its value and a one-line note."""

import dataclasses
import logging
from dataclasses import fields
from typing import Optional

from ..codebook.records import Codebook
from ..config import AggregateParams, Params
from .layout import CODEBOOK

log = logging.getLogger("capcode")


# ---- params.yaml ------------------------------------------------------------------------

# One note per setting (dotted key); tests check that every setting of config.Params has one.
PARAM_NOTES = {
    "codebook": "this study's codebook (a copy; edit it), or a shipped one: default, propper",
    "jobs": "processes segmenting works in: 0 = all cores, 1 = one (the output is the same either way)",
    "segment.max_words": "a fragment is whole sentences of one turn, at most this many words",
    "segment.spacy_model": "'blank' (spacy.blank(\"nl\") + capcode's rules) or an installed nl_core_news_sm/md/lg",
    "segment.interviewer_labels": "labels that always mark the interviewer; in other transcripts capcode "
                                  "decides from the turns (manifest column 'interviewer' overrides both)",
    "segment.include_interviewer": "also make fragments of the interviewer's turns",
    "train.seed": "random seed: the same codes and settings give the same model",
    "train.disagreements": "several coders: 'majority' (ties dropped) or 'agreed' (only unanimous fragments)",
    "train.features": "'+'-joined parts: lemma, char, context (the question), use/use_context (sentence "
                      "encoder), codebook, tfidf (TF-IDF weights); see docs/classifier.md",
    "train.classifier": "'lr' (logistic regression) or 'svm' (linear SVM, sigmoid-calibrated)",
    "train.c": "inverse regularisation strength; 'auto': chosen per dimension by grouped cross-validation",
    "train.cv_folds": "grouped CV folds for C, calibration and abstention thresholds (0: none stored)",
    "train.cache": "keep computed features in .capcode-cache/ beside the fragments (faster reruns)",
    "train.out_of_core_above": "above this many coded fragments, train learns from feature chunks on disk "
                               "(memory bounded; 0: never)",
    "predict.default_threshold": "abstain below this probability, only for models trained without CV",
    "predict.thresholds": "per dimension, e.g. {impact: 0.6}; overrides the thresholds train stored",
    "evaluate.group_by": "cross-validation keeps these together: case, respondent or fragment",
    "evaluate.target_precision": "train's abstention thresholds aim at this precision on held-out cases",
    "evaluate.designs": "feature/classifier designs that evaluate compares ([] skips the comparison: faster)",
    "evaluate.simulate_batch": "evaluate --simulate: fragments coded per step",
    "evaluate.simulate_repeats": "evaluate --simulate: random orders replayed per fold",
    "aggregate.niveau": "first dimension of the per-case cells (rows)",
    "aggregate.locus": "second dimension of the cells (columns); '' for none",
    "aggregate.domein": "third dimension of the cells (tables); '' for none",
    "aggregate.impact": "the impact dimension (share negative per cell); '' for none",
    "aggregate.negative_value": "the value of the impact dimension that counts as negative",
    "aggregate.relevance": "the dimension saying whether a fragment counts; '' when every fragment counts",
    "aggregate.relevant_value": "the value of that dimension for fragments that count",
    "aggregate.strategic_value": "the value of the niveau dimension that counts as strategic",
    "aggregate.director_terms": "word starts that name the director role (regierol)",
    "aggregate.type_min_strategic": "ch. 6 types: S (share strategic) below this -> type 1",
    "aggregate.type_min_director": "R (share naming the director role) at least this -> type 3",
    "aggregate.type_min_shortfall": "N (share negative among strategic) above this -> type 2, else type 1",
    "aggregate.quotes": "typical quotes per cell, each from another respondent",
    "aggregate.quote_words": "at most this many words per quote",
    "report.language": "language of report.html, summary.md and the sheets of aggregates.xlsx: nl or en",
    "limits.member_mb": "reading zip files (.docx, .odt, .xlsx, .qdpx, models): MB one file inside may unpack to",
    "limits.archive_mb": "MB all files inside one zip file may unpack to, together",
    "limits.xml_elements": "XML elements one document part may hold (it is read into memory whole)",
    "agreement.bootstrap": "bootstrap samples for the confidence intervals of `capcode agreement`",
    "agreement.seed": "random seed of the bootstrap",
    "review.retrain_every": "capcode review: retrain in the background after this many decisions (0: never)",
    "review.context_fragments": "capcode review: fragments of the same transcript shown before and after a card",
}


def study_params(codebook: Codebook, codebook_file: str = CODEBOOK) -> Params:
    """capcode's default settings for a study with this codebook (its dimensions named under aggregate)."""
    return dataclasses.replace(Params(), codebook=codebook_file, aggregate=aggregate_for(codebook))


def aggregate_for(codebook: Codebook) -> AggregateParams:
    """Aggregate settings that name only dimensions this codebook has (the defaults where it has them)."""
    defaults = AggregateParams()
    dims = codebook.dimension_ids
    relevance = defaults.relevance if defaults.relevance in dims else ""
    impact = defaults.impact if defaults.impact in dims else ""
    cells = [d for d in (defaults.niveau, defaults.locus, defaults.domein) if d in dims]
    cells += [d for d in dims if d not in cells and d not in (relevance, impact)][: 3 - len(cells)]
    cells += [""] * (3 - len(cells))
    return dataclasses.replace(defaults, relevance=relevance, impact=impact,
                               niveau=cells[0], locus=cells[1], domein=cells[2])


def params_yaml(params: Params) -> str:
    """params.yaml text: every setting with its value and a note, section by section."""
    lines = ["# Settings of this study, read by every capcode command run in this folder.",
             "# `dvc repro` reruns only the stages whose settings changed. Unknown keys are refused.", ""]
    width = 42
    for spec in fields(Params):
        value = getattr(params, spec.name)
        if dataclasses.is_dataclass(value):
            lines.append(f"{spec.name}:")
            for sub in fields(value):
                entry = f"  {sub.name}: {_yaml_value(getattr(value, sub.name))}"
                lines.append(_with_note(entry, PARAM_NOTES.get(f"{spec.name}.{sub.name}"), width))
            lines.append("")
        else:
            lines.append(_with_note(f"{spec.name}: {_yaml_value(value)}", PARAM_NOTES.get(spec.name), width))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _with_note(entry: str, note: Optional[str], width: int) -> str:
    return f"{entry.ljust(width)} # {note}" if note else entry


def _yaml_value(value) -> str:
    """A value as one line of YAML (flow style; text quoted only where YAML needs it)."""
    import yaml

    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    return text[:-4].strip() if text.endswith("\n...") else text
