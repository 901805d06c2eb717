"""`capcode import-qdpx`: a REFI-QDA project as files capcode reads.

`import_project` computes everything first (ImportResult): each text source as a `.txt` file
under `sources/` (named after the source, never outside the folder), the hand codings in the
long span form (one coder per REFI user), the code tree, the codes that map to nothing, and a
manifest (cases, respondents, roles); `write_import` then writes it all atomically.
`run_import_qdpx` is the edge the command calls.
"""

import json
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

from ..archives import DEFAULT_LIMITS, ZipLimits
from ..errors import InputError
from ..files import atomic_open, write_table
from .codes import map_codes, read_mapping
from .offsets import as_capcode_sees_it, detect_offsets, report_offsets, selection_positions, span_codings
from .read import read_project
from .records import QdaProject
from .schema import MODEL_USER_PREFIX

log = logging.getLogger("capcode")


# Extensions dropped from a source name before '.txt' is added (what capcode reads, and common others).
TEXT_EXTENSIONS = (".txt", ".md", ".docx", ".doc", ".odt", ".rtf", ".pdf", ".vtt", ".srt")
_UNSAFE = re.compile(r'[\x00-\x1f<>:"|?*\\]')


def safe_relative_path(name: str, fallback: str) -> PurePosixPath:
    """A harmless relative .txt path from a source name: no '..', no absolute path, no odd characters."""
    parts = []
    for part in re.split(r"[/\\]+", unicodedata.normalize("NFC", name)):
        part = _UNSAFE.sub("_", part).strip().strip(".")
        if part and part not in (".", ".."):
            parts.append(part[:120])
    if not parts:
        parts = [fallback]
    stem = parts[-1]
    for extension in TEXT_EXTENSIONS:
        if stem.lower().endswith(extension) and len(stem) > len(extension):
            stem = stem[: -len(extension)]
            break
    parts[-1] = stem + ".txt"
    return PurePosixPath(*parts)


def assign_files(sources) -> dict:
    """Source guid -> unique relative file path under sources/ (deterministic; clashes get -2, -3)."""
    files, used = {}, set()
    for source in sources:
        path = safe_relative_path(source.name, source.guid)
        candidate, number = path, 2
        while str(candidate).casefold() in used:
            candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
            number += 1
        used.add(str(candidate).casefold())
        files[source.guid] = str(candidate)
    return files


def _inside(base: Path, relative: str) -> Path:
    target = (base / relative).resolve()
    if not target.is_relative_to(base.resolve()):
        raise InputError(f"source name '{relative}' would be written outside {base}; refused.")
    return target


CODINGS_COLUMNS = ("source", "start_char", "end_char", "coder", "dimension", "value", "code")


@dataclass(frozen=True)
class ImportResult:
    """Everything an import writes, computed before anything is written."""

    texts: dict            # relative file under sources/ -> text as capcode reads it
    sources: list          # rows of sources.csv
    codings: list          # rows of codings.csv
    codes: list            # rows of codes.csv
    unmapped: list         # rows of unmapped_codes.csv
    manifest: list         # rows of manifest.csv (source, case, respondent, role)
    summary: dict


SOURCES_COLUMNS = ("guid", "name", "file", "characters", "selections")
CODES_COLUMNS = ("guid", "path", "name", "parent", "codable", "color", "dimension", "value", "status", "codings")
UNMAPPED_COLUMNS = ("guid", "path", "codings", "reason")
MANIFEST_COLUMNS = ("source", "case", "respondent", "role")


def manifest_rows(sources, files) -> list:
    """source,case,respondent,role for `capcode segment --manifest`; an unknown role is left empty."""
    from ..records import ROLES

    rows = []
    for source in sources:
        role = source.role.strip().casefold()
        if role and role not in ROLES:
            log.warning("source '%s': role '%s' is not one of %s; left empty in manifest.csv.",
                        source.name, source.role, ", ".join(ROLES))
            role = ""
        rows.append((files[source.guid], source.case, source.respondent, role))
    return rows


def import_project(project: QdaProject, codebook, mapping: Optional[dict] = None, offsets: str = "auto") -> ImportResult:
    """Turn a read project into capcode's files: texts, span codings, code tree, unmapped codes."""
    check = detect_offsets(project.sources, offsets, project.origin_file)
    report_offsets(check, project)
    meaning = map_codes(project.codes, codebook, mapping)
    skipped = dict(project.skipped)
    written = {}
    for source in project.sources:
        if source.text and not source.text.isspace():
            written[source.guid] = as_capcode_sees_it(source.text, selection_positions(source, check.convention))
        else:
            key = "text sources with an empty plain text"
            skipped[key] = skipped.get(key, 0) + 1
    kept = [s for s in project.sources if s.guid in written]
    files = assign_files(kept)
    spans = span_codings(project, check, files, {g: m for g, (_, m) in written.items() if m is not None})
    if any(move is not None for _, move in written.values()):
        log.info("some sources were written with \\n line ends in Unicode NFC (as capcode reads text); "
                 "their selection offsets were moved with them.")

    used = Counter(span.code for span in spans)
    by_guid = {code.guid: code for code in project.codes}
    codings = _dedupe(sorted(
        (span.source, span.start_char, span.end_char, span.coder, meaning[span.code].dimension,
         meaning[span.code].value, by_guid[span.code].path)
        for span in spans if meaning[span.code].status == "mapped"))
    unmapped = [c for c in project.codes if meaning[c.guid].status == "unmapped" and (used[c.guid] or c.codable)]
    summary = {
        "project": project.name, "origin": project.origin, "sources": len(kept),
        "selections": check.total, "codings": len(spans), "mapped_codings": len(codings),
        "unmapped_codings": sum(used[c.guid] for c in unmapped),
        "unmapped_codes_used": sum(1 for c in unmapped if used[c.guid]),
        "review_codings": sum(used[g] for g, m in meaning.items() if m.status == "review"),
        "coders": dict(sorted(Counter(row[3] for row in codings).items())),
        "offsets": check.convention.name, "offsets_explanation": check.convention.explanation,
        "skipped": skipped, "codebook": codebook.name, "codebook_hash": codebook.hash,
    }
    model_users = [coder for coder in summary["coders"] if coder.startswith(MODEL_USER_PREFIX)]
    if model_users:  # train and aggregate leave these out (codings.human_codings); agreement keeps them
        log.warning("codings.csv holds the suggestions of %s (a capcode export): they are a model's, not a coder's; "
                    "train and aggregate leave them out.", ", ".join(model_users))
    return ImportResult(
        texts={files[s.guid]: written[s.guid][0] for s in kept},
        sources=[(s.guid, s.name, files[s.guid], len(written[s.guid][0]), len(s.selections)) for s in kept],
        codings=codings,
        codes=[(c.guid, c.path, c.name, c.parent, c.codable, c.color, meaning[c.guid].dimension,
                meaning[c.guid].value, meaning[c.guid].status, used[c.guid]) for c in project.codes],
        unmapped=[(c.guid, c.path, used[c.guid], meaning[c.guid].reason) for c in unmapped],
        manifest=manifest_rows(kept, files),
        summary=summary)


def check_output_folder(out_dir: Path, files) -> None:
    """Refuse to mix an import with other texts in OUT/sources: `capcode segment` would read them all.

    Hidden files (such as the temporary file a killed run left) and Word lock files do not
    count: segment never reads them.
    """
    sources_dir = out_dir / "sources"
    if not sources_dir.is_dir():
        return
    expected = {str(PurePosixPath(f)) for f in files}
    others = sorted(p.relative_to(sources_dir).as_posix() for p in sources_dir.rglob("*")
                    if p.is_file() and p.relative_to(sources_dir).as_posix() not in expected
                    and not any(part.startswith((".", "~$")) for part in p.relative_to(sources_dir).parts))
    if others:
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        raise InputError(f"{sources_dir}: holds files that are not in this project ({shown}); "
                         "give a new or empty --out folder (or remove them).")


def write_import(result: ImportResult, out_dir) -> None:
    """Write an ImportResult into `out_dir`, every file atomically, never outside `out_dir`."""
    out_dir = Path(out_dir)
    sources_dir = out_dir / "sources"
    check_output_folder(out_dir, result.texts)
    for relative, text in result.texts.items():
        with atomic_open(_inside(sources_dir, relative), newline="") as handle:
            handle.write(text)
    write_table(out_dir / "sources.csv", SOURCES_COLUMNS, result.sources)
    write_table(out_dir / "codings.csv", CODINGS_COLUMNS, result.codings)
    write_table(out_dir / "codes.csv", CODES_COLUMNS, result.codes)
    write_table(out_dir / "unmapped_codes.csv", UNMAPPED_COLUMNS, result.unmapped)
    write_table(out_dir / "manifest.csv", MANIFEST_COLUMNS, result.manifest)
    with atomic_open(out_dir / "qdpx_import.json") as handle:
        handle.write(json.dumps(result.summary, ensure_ascii=False, indent=2) + "\n")


def run_import_qdpx(project_path, out_dir, codebook, mapping_path=None, offsets: str = "auto",
                    limits: ZipLimits = DEFAULT_LIMITS) -> dict:
    """Import a .qdpx into `out_dir`: sources/, sources.csv, codings.csv, codes.csv, unmapped_codes.csv.

    Returns the summary (also written as qdpx_import.json). `limits` bounds what the
    project's zip may unpack to (pipeline/archives.py).
    """
    from ..codebook.read import load_codebook

    codebook = load_codebook(codebook)
    project = read_project(project_path, limits)
    mapping = read_mapping(mapping_path, codebook) if mapping_path else {}
    result = import_project(project, codebook, mapping, offsets)
    result.summary["segment_command"] = (f"capcode segment {Path(out_dir) / 'sources'} "
                                         f"--manifest {Path(out_dir) / 'manifest.csv'} --out fragments.jsonl")
    write_import(result, out_dir)
    summary = result.summary
    if summary["unmapped_codings"]:
        log.warning("%d codings use %d codes that match no dimension/value of codebook '%s'; they are listed in "
                    "%s and left out of codings.csv (name the codes 'dimension: value', put them under a "
                    "dimension code, or give --mapping).", summary["unmapped_codings"],
                    summary["unmapped_codes_used"], codebook.name, Path(out_dir) / "unmapped_codes.csv")
    for what, count in summary["skipped"].items():
        log.warning("left out %d %s.", count, what)
    return summary


def _dedupe(rows):
    """One row per coder, span and dimension; a tool may store the same coding twice."""
    seen, out = set(), []
    for row in rows:
        if row[:6] not in seen:
            seen.add(row[:6])
            out.append(row)
    return out
