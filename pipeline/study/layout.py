"""Where things live in a study folder, and what never holds a code."""

import logging



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
