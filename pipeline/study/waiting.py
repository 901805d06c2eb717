"""`capcode if-coded`: stages that need codes wait for them, writing placeholders and saying so."""

import json
import logging
import shutil
import subprocess
from pathlib import Path

from ..codebook.read import load_codebook
from ..codebook.records import Codebook
from ..errors import NOTICE, ConfigError
from ..files import read_table
from .layout import NOT_CODES, SHEET, WAITING_NOTE

log = logging.getLogger("capcode")


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
