"""The study's dvc.yaml (every path inside the folder, none into capcode) and DVC without git."""

import logging
from pathlib import Path

from .layout import CODEBOOK, CODINGS, MANIFEST, MODEL, OUT, TRANSCRIPTS

log = logging.getLogger("capcode")


# ---- dvc.yaml -----------------------------------------------------------------------------

DVC_YAML = """\
# The pipeline of this study. `dvc repro` runs every stage whose inputs or settings changed:
#
#   segment       transcripts + manifest              -> out/fragments.jsonl
#   coding-sheet  fragments + codebook (+ codes)      -> out/coding-sheet.xlsx: code it, save it as the codings file
#   train         fragments + codes                   -> model/
#   predict       model + fragments                   -> out/predictions.jsonl (a suggestion per fragment)
#   evaluate      fragments + codes                   -> out/evaluate/ (how good the suggestions are)
#   aggregate     fragments + codes + suggestions     -> out/aggregate/ (per-case tables; report.html)
#
# train, predict, evaluate and aggregate wait for codes: `capcode if-coded` writes placeholders
# until the codings file holds at least one code, and runs the stage from then on.
# Paths are set once, under `study` (e.g. codings imported from a QDA tool: imported/codings.csv);
# settings are in params.yaml. The stages do not depend on capcode's own code: after updating
# capcode, `dvc repro --force` computes everything again with the new version.
vars:
  - study:
      transcripts: {transcripts}
      manifest: {manifest}
      codebook: {codebook}
      codings: {codings}
      model: {model}
      out: {out}

stages:
  segment:
    cmd: capcode segment ${{study.transcripts}} --manifest ${{study.manifest}} --out ${{study.out}}/fragments.jsonl
    deps:
      - ${{study.transcripts}}
      - ${{study.manifest}}
    params:
      - segment
    outs:
      - ${{study.out}}/fragments.jsonl

  coding-sheet:
    cmd: >-
      capcode coding-sheet --fragments ${{study.out}}/fragments.jsonl --codings ${{study.codings}}
      --out ${{study.out}}/coding-sheet.xlsx
    deps:
      - ${{study.out}}/fragments.jsonl
      - ${{study.codings}}
      - ${{study.codebook}}
    params:
      - codebook
    outs:
      - ${{study.out}}/coding-sheet.xlsx

  train:
    cmd: >-
      capcode if-coded ${{study.codings}} --outs ${{study.model}} --
      capcode train --fragments ${{study.out}}/fragments.jsonl --codings ${{study.codings}} --out ${{study.model}}
    deps:
      - ${{study.out}}/fragments.jsonl
      - ${{study.codings}}
      - ${{study.codebook}}
    params:
      - codebook
      - segment.spacy_model
      - train
      - evaluate.group_by
    outs:
      - ${{study.model}}

  predict:
    cmd: >-
      capcode if-coded ${{study.codings}} --outs ${{study.out}}/predictions.jsonl --
      capcode predict --model ${{study.model}} ${{study.out}}/fragments.jsonl --out ${{study.out}}/predictions.jsonl
    deps:
      - ${{study.model}}
      - ${{study.out}}/fragments.jsonl
      - ${{study.codings}}
      - ${{study.codebook}}
    params:
      - codebook
      - predict
    outs:
      - ${{study.out}}/predictions.jsonl

  evaluate:
    cmd: >-
      capcode if-coded ${{study.codings}} --outs ${{study.out}}/evaluate/metrics.json
      --outs ${{study.out}}/evaluate/details.json --outs ${{study.out}}/evaluate/out_of_fold.jsonl
      --outs ${{study.out}}/evaluate/plots --
      capcode evaluate --fragments ${{study.out}}/fragments.jsonl --codings ${{study.codings}}
      --out ${{study.out}}/evaluate/metrics.json --details ${{study.out}}/evaluate/details.json
      --predictions-out ${{study.out}}/evaluate/out_of_fold.jsonl --plots ${{study.out}}/evaluate/plots
    deps:
      - ${{study.out}}/fragments.jsonl
      - ${{study.codings}}
      - ${{study.codebook}}
    params:
      - codebook
      - segment.spacy_model
      - train
      - evaluate
    metrics:
      - ${{study.out}}/evaluate/metrics.json:
          cache: false
    outs:
      - ${{study.out}}/evaluate/details.json
      - ${{study.out}}/evaluate/out_of_fold.jsonl
      - ${{study.out}}/evaluate/plots

  aggregate:
    cmd: >-
      capcode if-coded ${{study.codings}} --outs ${{study.out}}/aggregate --
      capcode aggregate --fragments ${{study.out}}/fragments.jsonl --codings ${{study.codings}}
      --predictions ${{study.out}}/predictions.jsonl --out ${{study.out}}/aggregate
    deps:
      - ${{study.out}}/fragments.jsonl
      - ${{study.codings}}
      - ${{study.out}}/predictions.jsonl
      - ${{study.codebook}}
    params:
      - codebook
      - aggregate
      - report
    outs:
      - ${{study.out}}/aggregate

metrics:
  - {out}/evaluate/metrics.json

plots:
  - {out}/evaluate/plots
"""


def dvc_yaml() -> str:
    """dvc.yaml text of a study folder; every path is relative to the folder."""
    return DVC_YAML.format(transcripts=TRANSCRIPTS, manifest=MANIFEST, codebook=CODEBOOK, codings=CODINGS,
                           model=MODEL, out=OUT)


DVC_CONFIG = """\
[core]
    no_scm = true
    analytics = false
    check_update = false
[plots]
    out_dir = out/dvc_plots
"""


def init_dvc(folder: Path) -> None:
    """Make `folder` a DVC project without git; DVC sends nothing anywhere (no analytics, no update check)."""
    from dvc.repo import Repo

    dvc_log = logging.getLogger("dvc")
    level = dvc_log.level
    dvc_log.setLevel(logging.WARNING)  # no "Initialized DVC repository." among capcode's lines
    try:
        Repo.init(str(folder), no_scm=True).close()
    finally:
        dvc_log.setLevel(level)
    (folder / ".dvc" / "config").write_text(DVC_CONFIG, encoding="utf-8")
