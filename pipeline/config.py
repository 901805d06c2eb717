"""Configuration: params.yaml read in one place, validated, passed down as dataclasses.

Unknown keys are refused with a message naming the key, so a typo never
silently falls back to a default.
"""

from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import ClassVar, Optional

import yaml

from .errors import ConfigError

DEFAULT_INTERVIEWERS = ("I", "Interviewer", "Int", "Onderzoeker", "Vraag", "Q")


@dataclass(frozen=True)
class SegmentParams:
    max_words: int = 80
    spacy_model: str = "blank"
    interviewer_labels: tuple = DEFAULT_INTERVIEWERS
    include_interviewer: bool = False


@dataclass(frozen=True)
class TrainParams:
    seed: int = 0
    disagreements: str = "majority"
    features: str = "tfidf+use+use_context+lemma+char+context"
    classifier: str = "lr"
    c: str = "auto"
    cv_folds: int = 5
    cache: bool = True
    out_of_core_above: int = 20000


@dataclass(frozen=True)
class PredictParams:
    default_threshold: float = 0.5
    thresholds: dict = field(default_factory=dict)

    def threshold(self, dimension: str) -> float:
        return float(self.thresholds.get(dimension, self.default_threshold))


@dataclass(frozen=True)
class EvaluateParams:
    group_by: str = "case"
    target_precision: float = 0.8
    designs: tuple = ("lemma+char+context/lr/1", "tfidf+lemma+char+context/lr", "use+use_context/lr",
                       "tfidf+use+use_context+lemma+char+context+codebook/lr")
    simulate_batch: int = 10
    simulate_repeats: int = 5


@dataclass(frozen=True)
class AggregateParams:
    niveau: str = "strategisch_operationeel"
    locus: str = "intern_extern"
    domein: str = "beleid_beheer"
    impact: str = "impact"
    negative_value: str = "negatief"
    relevance: str = "relevant"
    relevant_value: str = "ja"
    strategic_value: str = "strategisch"
    director_terms: tuple = ("regie", "regisseur", "transversa", "horizonta")
    type_min_strategic: float = 0.2
    type_min_director: float = 0.3
    type_min_shortfall: float = 0.5
    quotes: int = 3
    quote_words: int = 30


@dataclass(frozen=True)
class AgreementParams:
    bootstrap: int = 1000
    seed: int = 20191


@dataclass(frozen=True)
class ReportParams:
    language: str = "nl"  # report.html, summary.md, the overview and the xlsx sheet names: 'nl' or 'en'

    CHOICES: ClassVar[dict] = {"language": ("nl", "en")}


@dataclass(frozen=True)
class LimitParams:
    """Caps for reading zip files (.docx, .odt, .xlsx, .qdpx, model files): see pipeline/archives.py."""

    member_mb: int = 100          # one member unpacked (a text source, a document part, an image)
    archive_mb: int = 1000        # all members of one file unpacked, together
    xml_elements: int = 1_000_000  # elements in one XML member (parsed into memory whole)


@dataclass(frozen=True)
class ReviewParams:
    retrain_every: int = 20          # decisions between background retrainings (0: never retrain)
    context_fragments: int = 2       # fragments of the same transcript shown before and after a card


@dataclass(frozen=True)
class Params:
    codebook: str = "default"
    jobs: int = 0  # processes for the stages that spread their work (0: all cores; 1: in this process)
    segment: SegmentParams = field(default_factory=SegmentParams)
    train: TrainParams = field(default_factory=TrainParams)
    predict: PredictParams = field(default_factory=PredictParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    aggregate: AggregateParams = field(default_factory=AggregateParams)
    agreement: AgreementParams = field(default_factory=AgreementParams)
    report: ReportParams = field(default_factory=ReportParams)
    limits: LimitParams = field(default_factory=LimitParams)
    review: ReviewParams = field(default_factory=ReviewParams)


def _build(cls, data, path: str, prefix: str = ""):
    """Build dataclass `cls` from a mapping, refusing unknown keys and wrong types.

    Messages name the file and the setting apart: "params.yaml, setting 'segment.max_words': ...".
    """
    if data is None:
        return cls()
    if not isinstance(data, dict):
        place = f"{path}, setting '{prefix.rstrip('.')}'" if prefix else str(path)
        raise ConfigError(f"{place}: expected a mapping of settings, got {type(data).__name__}.")
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{path}, setting '{prefix}{key}': unknown setting; "
                              f"known settings{' in ' + prefix.rstrip('.') if prefix else ''} are {', '.join(known)}.")
        sub = getattr(cls, "__annotations__", {}).get(key)
        if isinstance(sub, type) and hasattr(sub, "__dataclass_fields__"):
            values[key] = _build(sub, value, path, f"{prefix}{key}.")
            continue
        values[key] = _coerce(value, known[key], f"{path}, setting '{prefix}{key}'")
        choices = getattr(cls, "CHOICES", {}).get(key)
        if choices and values[key] not in choices:
            raise ConfigError(f"{path}, setting '{prefix}{key}': {value!r} is not one of {', '.join(choices)}.")
    return cls(**values)


def _coerce(value, spec, origin):
    default = spec.default_factory() if spec.default_factory is not MISSING else spec.default
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{origin}: expected true or false, got {value!r}.")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{origin}: expected a whole number, got {value!r}.")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{origin}: expected a number, got {value!r}.")
        return float(value)
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{origin}: expected a list, got {value!r}.")
        return tuple(str(v) for v in value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{origin}: expected a mapping, got {value!r}.")
        return dict(value)
    if isinstance(default, str):
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{origin}: expected text, got {value!r}.")
        return str(value)
    return value


def load_params(path: Optional[str] = None) -> Params:
    """Read params.yaml (or `path`); a missing default file gives the built-in defaults."""
    if path is None:
        candidate = Path("params.yaml")
        if not candidate.exists():
            return Params()
        path = candidate
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: parameters file not found.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the parameters file as UTF-8.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)}).") from None
    params = _build(Params, data, str(path))
    if params.jobs < 0:
        raise ConfigError(f"{path}, setting 'jobs': must be 0 (all cores) or more, got {params.jobs}.")
    for name, value in vars(params.limits).items():
        if value < 1:
            raise ConfigError(f"{path}, setting 'limits.{name}': must be at least 1, got {value}.")
    return params
