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

Modules: `layout.py` (paths and names), `params_file.py`, `dvc_file.py`, `coding_sheet.py`,
`waiting.py` (`capcode if-coded`) and `init.py` (`capcode init`).
"""

from .coding_sheet import existing_codes, run_coding_sheet, write_coding_sheet
from .dvc_file import dvc_yaml, init_dvc
from .init import StudySummary, init_study, next_steps, readme_nl
from .layout import CODEBOOK, CODINGS, MANIFEST, MODEL, OUT, SHEET, TRANSCRIPTS
from .params_file import PARAM_NOTES, aggregate_for, params_yaml, study_params
from .waiting import has_codes, run_if_coded, write_placeholder

__all__ = ["CODEBOOK", "CODINGS", "MANIFEST", "MODEL", "OUT", "PARAM_NOTES", "SHEET", "TRANSCRIPTS",
           "StudySummary", "aggregate_for", "dvc_yaml", "existing_codes", "has_codes", "init_dvc",
           "init_study", "next_steps", "params_yaml", "readme_nl", "run_coding_sheet", "run_if_coded",
           "study_params", "write_coding_sheet", "write_placeholder"]
