"""`capcode init`: make a study folder the researcher owns."""

import datetime
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..codebook.read import codebook_path, load_codebook
from ..config import SegmentParams
from ..errors import InputError
from ..files import write_table
from ..metadata import info_from_name
from ..readers import EmptyTranscript
from .coding_sheet import write_coding_sheet
from .dvc_file import dvc_yaml, init_dvc
from .layout import CODEBOOK, CODINGS, MANIFEST, OUT, SHEET, TRANSCRIPTS
from .params_file import params_yaml, study_params

log = logging.getLogger("capcode")


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
    from ..segment import find_transcripts, read_turns

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
