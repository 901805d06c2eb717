"""Errors a researcher can act on.

Every message names the file (and line, row or field where known) and says
what to do. The CLI prints it as one line, without a traceback.
"""

import logging

# Log level of one-line reports a researcher should always see, also in scripts and DVC runs
# (such as who the interviewer of each transcript is); the CLI shows it without a prefix.
NOTICE = logging.INFO + 5
logging.addLevelName(NOTICE, "NOTICE")


class CapcodeError(Exception):
    """Base class: a problem with the user's input or setup, not a bug."""


class InputError(CapcodeError):
    """A transcript, fragments, codings or predictions file cannot be used."""


class ConfigError(CapcodeError):
    """params.yaml or a command-line option is wrong."""


class CodebookError(CapcodeError):
    """A codebook file is malformed, or a value is not in the codebook."""


class OutputError(CapcodeError):
    """An output cannot be written (a full disk, a size limit); nothing was written."""


class ModelError(CapcodeError):
    """A model directory is missing, damaged or made for something else."""


def where(path, line=None, column=None) -> str:
    """Format a location as 'file, line N, column C' for error messages."""
    text = str(path)
    if line is not None:
        text += f", line {line}"
    if column is not None:
        text += f", column '{column}'"
    return text
