"""What the review tests share: a small model trained once per test session, and the review's fragments.

The fragments are the classifier fixtures (tests/data/classifier_fragments.jsonl) plus one
fragment whose text holds HTML and a script, to check the page shows it as text.
"""

import json
from pathlib import Path

from pipeline.config import Params, ReviewParams, TrainParams

DATA = Path(__file__).parent / "data"
CODINGS = DATA / "classifier_codings.csv"
SCRIPT_ID = "caseC/r9.txt#0-120"
SCRIPT_TEXT = ('Dit is <script>window.__injected = 1; alert("x")</script> en <b>vet</b> '
               '<img src="x" onerror="window.__injected = 2"> tekst.')

# a design without the sentence encoder and no cross-validation: a model in about a second
PARAMS = Params(train=TrainParams(features="lemma+char+context", cv_folds=0, c="1"),
                review=ReviewParams(retrain_every=0))
PARAMS_YAML = """\
train:
  features: lemma+char+context
  cv_folds: 0
  c: "1"
review:
  retrain_every: {retrain_every}
"""

_cache = {}


def review_fragments(folder: Path) -> Path:
    """The classifier fixture fragments plus the one with a script in it."""
    path = folder / "fragments.jsonl"
    if not path.exists():
        lines = (DATA / "classifier_fragments.jsonl").read_text(encoding="utf-8").splitlines()
        extra = {"id": SCRIPT_ID, "source": "caseC/r9.txt", "case": "Case C", "respondent": "9", "role": "extern",
                 "speaker": "R9", "turn": 0, "start_char": 0, "end_char": 120, "text": SCRIPT_TEXT,
                 "context": "Wat <i>zegt</i> u?", "n_words": 12}
        path.write_text("\n".join(lines + [json.dumps(extra, ensure_ascii=False)]) + "\n", encoding="utf-8")
    return path


def fixture_model(tmp_path_factory) -> tuple:
    """(fragments file, model folder): trained once per test session on the classifier fixtures."""
    if "model" not in _cache:
        from pipeline.train import run_train

        folder = tmp_path_factory.mktemp("review-model")
        fragments = review_fragments(folder)
        model = folder / "team"
        run_train(fragments, [CODINGS], model, PARAMS)
        _cache["model"] = (fragments, model)
    return _cache["model"]


def params_file(folder: Path, retrain_every: int = 0) -> Path:
    path = folder / "params.yaml"
    path.write_text(PARAMS_YAML.format(retrain_every=retrain_every), encoding="utf-8")
    return path
