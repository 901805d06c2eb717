"""A study of the researcher's own: `capcode init` makes the folder, `dvc repro` runs it.

    mystudy/
      README.md            the next commands, in Dutch
      manifest.csv         source, case, respondent, role, interviewer: one row per transcript
      transcripts/         the interviews (copied; the originals stay where they were)
      codebook.yaml        a copy of the codebook: the study owns it and may change it
      codings/team.xlsx    the team's codes; at first an empty template with the codebook's columns
      params.yaml          every setting, commented
      dvc.yaml             the pipeline; every path points into the folder, none into capcode
      .dvc/, .dvcignore    DVC without git (`dvc init --no-scm`): nothing can be pushed anywhere

`dvc repro` segments the transcripts and writes a coding sheet (out/coding-sheet.xlsx: every
fragment, its question, a pick list per dimension). The stages that need codes (train,
predict, evaluate, aggregate) run through `capcode if-coded`: until the codings file holds a
code they write placeholders and say so, so `dvc repro` succeeds and reruns them as soon as
codes are added.
"""

import dataclasses
import datetime
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

from . import __version__
from .codebook import Codebook, codebook_path, load_codebook
from .config import AggregateParams, Params, SegmentParams
from .errors import NOTICE, ConfigError, InputError
from .files import build_workbook, read_fragments, read_table, save_workbook, write_table
from .metadata import info_from_name
from .readers import EmptyTranscript

log = logging.getLogger("capcode")

TRANSCRIPTS = "transcripts"
MANIFEST = "manifest.csv"
CODEBOOK = "codebook.yaml"
CODINGS = "codings/team.xlsx"
MODEL = "model"
OUT = "out"
SHEET = f"{OUT}/coding-sheet.xlsx"

# Columns of the coding sheet and the codings template, before one column per dimension.
# The codings reader takes fragment_id and the dimension columns; it ignores the others.
SHEET_COLUMNS = ("fragment_id", "case", "respondent", "context", "text")
# Columns of a codings file that never hold a code (coders' names, ids, text to read).
NOT_CODES = frozenset({"", "row", "fragment_id", "source", "start_char", "end_char", "coder", "dimension",
                       "case", "respondent", "role", "speaker", "turn", "context", "text", "n_words"})
WAITING_NOTE = "WAITING-FOR-CODES.txt"


# ---- params.yaml ------------------------------------------------------------------------

# One note per setting (dotted key); tests check that every setting of config.Params has one.
PARAM_NOTES = {
    "codebook": "this study's codebook (a copy; edit it), or a shipped one: default, propper",
    "segment.max_words": "a fragment is whole sentences of one turn, at most this many words",
    "segment.spacy_model": "'blank' (spacy.blank(\"nl\") + capcode's rules) or an installed nl_core_news_sm/md/lg",
    "segment.interviewer_labels": "labels that always mark the interviewer; in other transcripts capcode "
                                  "decides from the turns (manifest column 'interviewer' overrides both)",
    "segment.include_interviewer": "also make fragments of the interviewer's turns",
    "train.seed": "random seed: the same codes and settings give the same model",
    "train.disagreements": "several coders: 'majority' (ties dropped) or 'agreed' (only unanimous fragments)",
    "train.features": "'+'-joined parts: lemma (word 1-2-grams), char (character 2-5-grams), "
                      "context (the interviewer's question)",
    "train.classifier": "'lr' (logistic regression) or 'svm' (linear SVM, sigmoid-calibrated)",
    "train.c": "inverse regularisation strength of the classifier (higher: follows the codes more closely)",
    "train.cv_folds": "grouped cross-validation folds for the scores in the model's manifest (0: skip)",
    "predict.default_threshold": "below this probability the model abstains (counted 'te beoordelen')",
    "predict.thresholds": "per dimension, e.g. {impact: 0.6}; `capcode evaluate --thresholds-out` proposes them",
    "evaluate.group_by": "cross-validation keeps these together: case, respondent or fragment",
    "evaluate.target_precision": "the proposed thresholds aim at this precision",
    "evaluate.designs": "feature/classifier designs that evaluate compares ([] skips the comparison: faster)",
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
    "agreement.bootstrap": "bootstrap samples for the confidence intervals of `capcode agreement`",
    "agreement.seed": "random seed of the bootstrap",
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
      --outs ${{study.out}}/evaluate/details.json --outs ${{study.out}}/evaluate/thresholds.yaml
      --outs ${{study.out}}/evaluate/plots --
      capcode evaluate --fragments ${{study.out}}/fragments.jsonl --codings ${{study.codings}}
      --out ${{study.out}}/evaluate/metrics.json --details ${{study.out}}/evaluate/details.json
      --thresholds-out ${{study.out}}/evaluate/thresholds.yaml --plots ${{study.out}}/evaluate/plots
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
      - ${{study.out}}/evaluate/thresholds.yaml
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


# ---- the coding sheet and the codings template ---------------------------------------------


def sheet_header(codebook: Codebook) -> list:
    return list(SHEET_COLUMNS) + list(codebook.dimension_ids)


def existing_codes(path, codebook: Codebook) -> dict:
    """{fragment id: {dimension: value as written}} from a codings file, for the forms with a fragment id.

    Wide (fragment_id + a column per dimension), long (fragment_id, dimension, value) and span
    form (source, start_char, end_char: the fragment with exactly that span) are read; the
    codes are not checked here (`capcode codings check` does that).
    """
    path = Path(path)
    if not path.exists():
        return {}
    header, rows = read_table(path)
    columns = {h.strip().casefold(): h for h in header}
    dims = {d.casefold(): d for d in codebook.dimension_ids}
    codes = {}
    for row in rows:
        if "fragment_id" in columns:
            key = str(row.get(columns["fragment_id"], "")).strip()
        elif all(c in columns for c in ("source", "start_char", "end_char")):
            key = (f"{str(row.get(columns['source'], '')).strip()}#{str(row.get(columns['start_char'], '')).strip()}"
                   f"-{str(row.get(columns['end_char'], '')).strip()}")
        else:
            return {}
        if not key:
            continue
        found = codes.setdefault(key, {})
        if "dimension" in columns and "value" in columns:
            dimension = dims.get(str(row.get(columns["dimension"], "")).strip().casefold())
            value = str(row.get(columns["value"], "")).strip()
            if dimension and value:
                found.setdefault(dimension, value)
            continue
        for folded, dimension in dims.items():
            value = str(row.get(columns[folded], "")).strip() if folded in columns else ""
            if value:
                found.setdefault(dimension, value)
    return {key: found for key, found in codes.items() if found}


def write_coding_sheet(fragments, codebook: Codebook, out, codes=None) -> dict:
    """A sheet to code: one row per fragment (id, case, respondent, question, text, a cell per dimension).

    `codes` ({fragment id: {dimension: value}}) fills in what is coded already. In .xlsx every
    dimension cell has a pick list of the codebook's values, and a second sheet lists them
    with their descriptions. Returns counts: fragments, coded (fragments with a code) and
    dropped (coded fragment ids that are no longer among the fragments).
    """
    codes = codes or {}
    header = sheet_header(codebook)
    rows, coded, ids = [], 0, set()
    for fragment in fragments:
        ids.add(fragment.id)
        given = codes.get(fragment.id, {})
        coded += bool(given)
        rows.append([fragment.id, fragment.case, fragment.respondent, fragment.context, fragment.text]
                    + [given.get(d, "") for d in codebook.dimension_ids])
    counts = {"fragments": len(rows), "coded": coded, "dropped": len(set(codes) - ids)}
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        write_table(out, header, rows)
        return counts
    book = build_workbook({"fragmenten": (header, rows), "codeboek": codebook_rows(codebook)})
    _format_sheet(book["fragmenten"], codebook, len(rows))
    save_workbook(book, out)
    return counts


def codebook_rows(codebook: Codebook) -> tuple:
    """(header, rows) of the codebook sheet: every value of every dimension with its description."""
    header = ["dimensie", "waarde", "label", "omschrijving", "alleen als"]
    rows = [[d.id, v.id, v.label, v.description or d.description, str(d.condition or "")]
            for d in codebook.dimensions for v in d.values]
    return header, rows


def _format_sheet(sheet, codebook: Codebook, n_rows: int) -> None:
    """Column widths, wrapped text, and a pick list of values in every dimension column."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    widths = {"fragment_id": 28, "case": 10, "respondent": 13, "context": 45, "text": 80}
    for index, name in enumerate(sheet_header(codebook), start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = widths.get(name, max(14, len(name) + 2))
        if name in ("context", "text"):
            for cell in sheet[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = max(n_rows + 1, 2)
    for index, dimension in enumerate(codebook.dimensions, start=len(SHEET_COLUMNS) + 1):
        choices = ",".join(dimension.value_ids)
        if len(choices) > 250:  # Excel's limit for a list written in the rule itself
            continue
        rule = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True,
                              error=f"{dimension.id}: kies een van {choices}", errorTitle="Waarde niet in het codeboek",
                              showErrorMessage=True)
        letter = get_column_letter(index)
        rule.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(rule)
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions


def run_coding_sheet(fragments_path, codebook, out, codings_path=None) -> dict:
    """Write the coding sheet for a fragments file, with the codes of `codings_path` filled in."""
    codebook = load_codebook(codebook)
    codes = existing_codes(codings_path, codebook) if codings_path else {}
    counts = write_coding_sheet(read_fragments(fragments_path), codebook, out, codes)
    if counts["dropped"]:
        log.warning(f"{codings_path}: {counts['dropped']} coded fragment(s) are no longer among the fragments of "
                    f"{fragments_path} (were the transcripts or segment settings changed?); they are not in {out}, "
                    "so keep the codings file rather than saving the sheet over it, or code those fragments again.")
    return counts


# ---- waiting for codes ------------------------------------------------------------------------


def has_codes(path, codebook: Codebook) -> bool:
    """Whether a codings file holds at least one code (a filled cell in a dimension or value column)."""
    path = Path(path)
    if not path.exists():
        return False
    header, rows = read_table(path)
    dims = {d.casefold() for d in codebook.dimension_ids} | {"value"}
    code_columns = [h for h in header if h.strip().casefold() in dims or h.strip().casefold() not in NOT_CODES]
    return any(str(row.get(h, "")).strip() for row in rows for h in code_columns)


def write_placeholder(path, codings) -> None:
    """An output a waiting stage leaves: an empty file of its kind, or a folder with a note."""
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in (".json", ".yaml", ".yml"):
        path.write_text("{}\n", encoding="utf-8")
    elif suffix == ".jsonl":  # one record that no reader takes for data (an empty file would pass as 'nothing')
        path.write_text(json.dumps({"placeholder": f"waiting for codes in {codings}"}) + "\n", encoding="utf-8")
    elif suffix:
        path.write_text("", encoding="utf-8")
    else:
        path.mkdir()
        (path / WAITING_NOTE).write_text(
            f"Nog leeg: {codings} bevat nog geen codes.\nCodeer de fragmenten in {SHEET}, bewaar het bestand als "
            f"{codings} en voer opnieuw `dvc repro` uit.\n", encoding="utf-8")


def run_if_coded(codings, outs, command, codebook) -> int:
    """Run `command` when `codings` holds codes; else write placeholders for `outs`; return the exit code."""
    codebook = load_codebook(codebook)
    if not command:
        raise ConfigError("no command after '--'; e.g. capcode if-coded codings/team.xlsx --outs model -- "
                          "capcode train ...")
    if has_codes(codings, codebook):
        executable = shutil.which(command[0]) or command[0]
        return subprocess.run([executable, *command[1:]]).returncode
    for out in outs:
        write_placeholder(out, codings)
    log.log(NOTICE, f"'{' '.join(command[:2])}' waits for codes: {codings} holds none yet (placeholders written; "
                    f"code {SHEET}, save it as {codings}, then dvc repro).")
    return 0


# ---- capcode init -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudySummary:
    """What `capcode init` made."""

    folder: Path
    transcripts: int
    unknown: tuple           # sources whose case or respondent is 'onbekend'
    unsure: tuple            # sources whose interviewer is left for the researcher to fill in
    codebook: str


def init_study(folder, transcripts=(), codebook="default") -> StudySummary:
    """Make a study folder (see the module docstring); nothing is written when anything is wrong.

    The folder is built beside its destination and renamed into place at the end, so a
    problem with a transcript or the codebook leaves no half-made study behind.
    """
    from .segment import find_transcripts, read_turns

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder}: already exists and is not an empty folder; give a new folder name "
                         "(capcode init never writes into an existing study).")
    book = load_codebook(codebook)
    book_text = codebook_path(codebook).read_text(encoding="utf-8-sig")
    found = find_transcripts(list(transcripts)) if transcripts else []

    rows, unknown, unsure = [], [], []
    for source, path in found:
        info = info_from_name(source)
        interviewer = ""
        try:
            _, _, decision = read_turns(source, path, SegmentParams())
            if decision.sure and decision.interviewers:
                interviewer = "; ".join(decision.interviewers)
            elif decision.interviewers:
                unsure.append(source)
        except EmptyTranscript as exc:
            log.warning(f"{exc} Copied all the same.")
        if "onbekend" in (info.case, info.respondent):
            unknown.append(source)
        rows.append([source, info.case, info.respondent, "onbekend", interviewer])

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        (work / TRANSCRIPTS).mkdir()
        for source, path in found:
            target = work / TRANSCRIPTS / source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        write_table(work / MANIFEST, ["source", "case", "respondent", "role", "interviewer"], rows)
        (work / CODEBOOK).write_text(book_text, encoding="utf-8")
        (work / "params.yaml").write_text(params_yaml(study_params(book)), encoding="utf-8")
        (work / "dvc.yaml").write_text(dvc_yaml(), encoding="utf-8")
        (work / CODINGS).parent.mkdir(parents=True)
        write_coding_sheet([], book, work / CODINGS)
        summary = StudySummary(folder, len(found), tuple(unknown), tuple(unsure), f"{book.name} {book.version}")
        (work / "README.md").write_text(readme_nl(summary), encoding="utf-8")
        init_dvc(work)
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp makes it owner-only; a study folder is an ordinary folder
        if folder.exists():
            folder.rmdir()
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return summary


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def next_steps(summary: StudySummary) -> str:
    """What to do after `capcode init`, for the terminal."""
    lines = [f"Made the study folder {summary.folder}/: {summary.transcripts} transcript(s) in {TRANSCRIPTS}/, "
             f"{MANIFEST}, {CODEBOOK} ({summary.codebook}), {CODINGS} (an empty template), params.yaml, dvc.yaml."]
    if not summary.transcripts:
        lines.append(f"First put the transcripts in {summary.folder}/{TRANSCRIPTS}/ and a row per transcript in "
                     f"{MANIFEST}.")
    if summary.unknown:
        lines.append(f"Fill in case and respondent in {MANIFEST} for {len(summary.unknown)} transcript(s) "
                     "(not in their file names), and every role.")
    elif summary.transcripts:
        lines.append(f"Check {MANIFEST}: case and respondent come from the file names; fill in each role.")
    if summary.unsure:
        lines.append(f"Name the interviewer in {MANIFEST} (column interviewer) for: {', '.join(summary.unsure)}.")
    lines += ["Next:",
              f"  cd {summary.folder}",
              f"  dvc repro     # fragments ({OUT}/fragments.jsonl) and a coding sheet ({SHEET})",
              f"  # code the sheet, save it as {CODINGS}, then:",
              f"  dvc repro     # model, suggestions for every fragment, evaluation, per-case report "
              f"({OUT}/aggregate/report.html)",
              "README.md in the folder says more (in Dutch)."]
    if not (shutil.which("capcode") and shutil.which("dvc")):
        lines.append(f"capcode and dvc must be on the PATH for dvc repro: source {Path(sys.executable).parent}/activate")
    return "\n".join(lines)


def readme_nl(summary: StudySummary) -> str:
    """The study folder's README: what is where and the next commands, in Dutch."""
    today = datetime.date.today().isoformat()
    activate = Path(sys.executable).parent / "activate"
    return f"""# Studie {summary.folder.name}

Deze map is een capcode-studie: de transcripten, het codeboek, de codes van het team en alles wat
capcode ervan maakt. Gemaakt op {today} met `capcode init` (capcode {__version__}):
{summary.transcripts} transcript(en), codeboek {summary.codebook}.

Je werkt hier met `dvc repro` (laat opnieuw lopen wat veranderd is) en een spreadsheet.
`capcode` en `dvc` moeten gevonden worden; zo nodig eerst: `source {activate}`.

## Volgende stappen

1. **Kijk `manifest.csv` na.** Eén rij per transcript: `case` (de gemeente), `respondent`, `role`
   (`ambtelijk`, `politiek`, `extern` of `onbekend`) en `interviewer`: het sprekerlabel van de
   interviewer zoals in het transcript (`Sofie Claes`, `SPEAKER_00`; `geen` als er geen is). Case
   en respondent komen uit de bestandsnamen, de interviewer uit de beurten zelf (wie de vragen
   stelt); vul aan waar `onbekend` of niets staat.
2. **Fragmenten maken:** `dvc repro`. capcode knipt de transcripten in fragmenten
   (`out/fragments.jsonl`) en maakt het codeerblad `out/coding-sheet.xlsx`. Per transcript meldt
   het wie de interviewer is; bij een waarschuwing vul je de kolom `interviewer` in en draai je
   `dvc repro` opnieuw. Zolang er geen codes zijn, meldt `dvc repro` dat de volgende stappen
   wachten: dat is geen fout.
3. **Coderen:** open `out/coding-sheet.xlsx`. Per fragment staan de vraag (`context`) en de tekst;
   kies in de kolommen van het codeboek een waarde uit de lijst (het blad `codeboek` legt de
   waarden uit). Bewaar het als `codings/team.xlsx` (dat vervangt het lege sjabloon). Een eerste
   reeks volstaat: capcode doet voorstellen voor de rest.
4. **Model, voorstellen, rapport:** `dvc repro`. capcode leert van jullie codes (`model/`), doet een
   voorstel voor elk fragment (`out/predictions.jsonl`), meet hoe goed die voorstellen zijn
   (`out/evaluate/metrics.json`, `dvc metrics show`) en maakt de tabellen per case:
   `out/aggregate/report.html` (open in een browser), `out/aggregate/aggregates.xlsx`.
5. **Verder werken:** meer codes, nieuwe transcripten (in `transcripts/`, met een rij in
   `manifest.csv`) of andere instellingen (`params.yaml`): telkens `dvc repro`; alleen wat
   verandert, wordt opnieuw berekend. Het codeerblad neemt de codes van `codings/team.xlsx` over,
   zodat je er verder in kunt coderen.

## Wat staat waar

| bestand | inhoud |
|---|---|
| `transcripts/` | de interviews (kopieën; .txt, .docx, .odt, .vtt, .srt) |
| `manifest.csv` | case, respondent, rol en interviewer per transcript |
| `codebook.yaml` | het codeboek van deze studie (`capcode codebook show codebook.yaml`) |
| `codings/team.xlsx` | de codes van het team: `fragment_id` en een kolom per dimensie |
| `params.yaml` | alle instellingen, met uitleg |
| `dvc.yaml` | de stappen; paden staan onder `study` |
| `out/`, `model/` | wat capcode maakt (niet zelf bewerken: `dvc repro` schrijft het opnieuw) |

## Goed om te weten

- Alles blijft op deze computer: capcode en DVC gebruiken geen netwerk. De map is geen
  git-repository (DVC werkt hier zonder git), zodat er niets per ongeluk online komt.
- Codes nakijken: `capcode codings check codings/team.xlsx --fragments out/fragments.jsonl`.
- Coderen in NVivo, ATLAS.ti, MAXQDA of QualCoder: exporteer het project als .qdpx,
  `capcode import-qdpx project.qdpx --out imported`, en zet onder `study` in `dvc.yaml`
  `codings: imported/codings.csv`.
- Na een update van capcode rekent `dvc repro --force` alles opnieuw uit met de nieuwe versie.
"""
