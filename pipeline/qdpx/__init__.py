"""Exchange with QDA software (NVivo, ATLAS.ti, MAXQDA, QualCoder) through REFI-QDA.

A REFI-QDA project is a `.qdpx` zip holding `project.qde` (XML in the namespace
`urn:QDA-XML:project:1.0`) and the sources under `sources/`; a codebook alone is a
`.qdc` file (`urn:QDA-XML:codebook:1.0`).

Import (`capcode import-qdpx`) turns a project into files capcode reads: the text
sources as `.txt` files, the hand codings in the long span form (one coder per REFI
user), the code tree, a manifest (cases, respondents, roles) and a list of the codes
it could not map to the codebook.
Export (`capcode export-qdpx`) turns fragments, predictions and (optionally) human
codings into a project a researcher opens in their own tool: every suggestion is a
coding by a user named `capcode-model-<name>`, so it is never mistaken for a
person's code. REFI-QDA has no description on a Coding, so the probabilities go in
the description of the coded selection. All GUIDs are uuid5 of the content, so an
export repeats byte for byte.

Selection offsets: REFI-QDA counts Unicode code points from 0, end exclusive.
Some tools count UTF-16 code units (an emoji then counts twice) or count a
Windows line end differently; import detects this, says so and converts.

The package, from the bottom up (each module imports only those above it in this list):

- `schema.py`     namespaces, the standard's XSD files, safe XML parsing, content-derived GUIDs
- `records.py`    what capcode takes from a project: QdaProject, QdaSource, QdaSelection, QdaCode
- `read.py`       a .qdpx file -> QdaProject, validated (`read_project`)
- `offsets.py`    how the tool counted selection positions; moving them into capcode's text
- `codes.py`      a project's codes -> dimension values (`map_codes`); the codebook -> a code tree
- `importing.py`  `capcode import-qdpx`: a read project -> capcode's files (`run_import_qdpx`)
- `write.py`      `capcode export-qdpx` and `export-qdc` (`run_export_qdpx`, `run_export_qdc`)

The names below are re-exported for callers of the package; code inside capcode imports them
from the module that owns them.
"""

from .codes import REVIEW_CODE, CodeMapping, code_tree, map_codes, read_mapping
from .importing import ImportResult, import_project, run_import_qdpx, write_import
from .offsets import CONVENTION_NAMES, CONVENTIONS, OffsetCheck, OffsetConvention, as_capcode_sees_it, detect_offsets
from .read import read_project
from .records import QdaCode, QdaCoding, QdaProject, QdaSelection, QdaSource, SpanCoding
from .schema import CODEBOOK_NS, CODEBOOK_XSD, MODEL_USER_PREFIX, PROJECT_NS, PROJECT_XSD, stable_guid
from .write import build_codebook_xml, build_project_xml, run_export_qdc, run_export_qdpx

__all__ = [
    "CODEBOOK_NS", "CODEBOOK_XSD", "CONVENTIONS", "CONVENTION_NAMES", "MODEL_USER_PREFIX", "PROJECT_NS",
    "PROJECT_XSD", "REVIEW_CODE", "CodeMapping", "ImportResult", "OffsetCheck", "OffsetConvention", "QdaCode",
    "QdaCoding", "QdaProject", "QdaSelection", "QdaSource", "SpanCoding", "as_capcode_sees_it",
    "build_codebook_xml", "build_project_xml", "code_tree", "detect_offsets", "import_project", "map_codes",
    "read_mapping", "read_project", "run_export_qdc", "run_export_qdpx", "run_import_qdpx", "stable_guid",
    "write_import",
]
