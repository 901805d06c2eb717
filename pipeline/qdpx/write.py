"""`capcode export-qdpx` and `export-qdc`: fragments, suggestions and codings as a REFI-QDA project.

Every suggestion is a coding by a user named `capcode-model-<name>`, so it is never mistaken for
a person's code; REFI-QDA has no description on a Coding, so the probabilities go in the
description of the coded selection. Abstentions are coded under `te beoordelen`. Each case
becomes a REFI Case holding its sources, and every source carries the variables case,
respondent and rol (tools such as QualCoder ignore a Case's SourceRef, so the case is kept
there too). Every document is validated against the standard's schema before it is written.

What QDA tools take from the order and the attributes: `<Users>` lists the human coders first
(QualCoder makes the first user the one who codes next), then `capcode` (the user that made
the project and its sources), then the model users. Project, sources, selections and codings
carry `creationDateTime`: a fixed time (`EXPORT_TIME`, the time of capcode's zip entries), or
`--created`, or the `SOURCE_DATE_EPOCH` of reproducible builds, never the clock, and GUIDs are
uuid5 of the content, so the same export repeats byte for byte.
"""

import logging
import os
from datetime import datetime, timezone
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from lxml import etree

from ..errors import CodebookError, ConfigError, InputError
from ..archives import write_fixed_zip
from ..files import atomic_open, atomic_path
from .codes import REVIEW_CODE, code_guid, code_tree, review_guid
from .schema import (CODEBOOK_NS, CODEBOOK_XSD, MODEL_USER_PREFIX, ORIGIN, PROJECT_NS, PROJECT_XSD, schema_problems,
                     stable_guid, tag, xml_parser)

log = logging.getLogger("capcode")


EXPORT_USER = ORIGIN                  # the user that made the project and its sources
EXPORT_TIME = "1980-01-01T00:00:00Z"  # as the zip entries: the earliest time a zip file can hold


def export_time(created: Optional[str] = None) -> str:
    """The creationDateTime of an export: `created` (ISO 8601), else SOURCE_DATE_EPOCH, else EXPORT_TIME.

    Never the clock, so that exporting the same data twice gives the same file.
    """
    if created:
        try:
            moment = datetime.fromisoformat(created.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--created {created}: not a date and time; write it as 2024-05-31T14:00:00Z "
                              "(or 2024-05-31).") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (ValueError, OverflowError, OSError):
            raise ConfigError(f"SOURCE_DATE_EPOCH={epoch}: not a number of seconds since 1970; "
                              "unset it or give a whole number.") from None
    return EXPORT_TIME


def ordered_users(users) -> list:
    """People first (alphabetically), then capcode's own user, then the models' users."""
    people = sorted((u for u in users if not u.startswith(MODEL_USER_PREFIX.rstrip("-")) and u != EXPORT_USER),
                    key=lambda u: (u.casefold(), u))
    models = sorted(u for u in users if u.startswith(MODEL_USER_PREFIX.rstrip("-")))
    return people + [EXPORT_USER] + models


def model_user_name(model: str) -> str:
    """The REFI user that owns a model's suggestions: never a person's name."""
    model = (model or "").strip()
    return model if model.startswith(MODEL_USER_PREFIX) else (f"{MODEL_USER_PREFIX}{model}" if model else "capcode-model")


def build_codebook_xml(codebook) -> bytes:
    """A .qdc document: the codebook alone, in the REFI-QDA codebook namespace."""
    root = etree.Element(tag("CodeBook", CODEBOOK_NS), nsmap={None: CODEBOOK_NS},
                         origin=f"{ORIGIN} (codebook {codebook.name} {codebook.version})")
    root.append(code_tree(codebook, CODEBOOK_NS, review=False))
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    _assert_valid(data, CODEBOOK_XSD, "codebook")
    return data


def _assert_valid(data: bytes, schema_path, what: str) -> None:
    problems = schema_problems(etree.fromstring(data, xml_parser()).getroottree(), schema_path)
    if problems:  # a bug in capcode, not the user's input
        raise RuntimeError(f"capcode built an invalid REFI-QDA {what}: line {problems[0][0]}: {problems[0][1]}")


@dataclass(frozen=True)
class ExportSelection:
    """One span of one source coded by one user, with its codes and a note."""

    source: str
    start: int
    end: int
    user: str
    name: str
    codes: tuple          # code guids
    description: str = ""


def _p(value) -> str:
    return f"{float(value):.2f}"


def suggestion_selections(fragments: dict, predictions, codebook) -> list:
    """One selection per fragment and model: a coding per suggested value, `te beoordelen` when abstained."""
    grouped = defaultdict(list)
    for prediction in predictions:
        if prediction.fragment_id not in fragments:
            raise InputError(f"prediction for fragment '{prediction.fragment_id}', which is not in the fragments "
                             "file; use the fragments the predictions were made from.")
        grouped[(prediction.fragment_id, model_user_name(prediction.model))].append(prediction)
    order = {d.id: i for i, d in enumerate(codebook.dimensions)}
    out = []
    for (fragment_id, user), items in grouped.items():
        fragment = fragments[fragment_id]
        codes, notes = [], []
        for p in sorted(items, key=lambda x: (order.get(x.dimension, len(order)), x.dimension)):
            if not codebook.has_dimension(p.dimension):
                raise CodebookError(f"prediction for '{fragment_id}' is on dimension '{p.dimension}', which codebook "
                                    f"'{codebook.name}' does not have; give the codebook the model was trained with.")
            if p.abstained:
                codes.append(review_guid(codebook, p.dimension))
                runner = f"; daarna {p.runner_up} p={_p(p.runner_up_probability)}" if p.runner_up and \
                    p.runner_up_probability is not None else ""
                notes.append(f"{p.dimension}: {REVIEW_CODE} (beste gok {p.value} p={_p(p.probability)}{runner})")
            elif p.value:
                codebook.dimension(p.dimension).value(p.value)
                codes.append(code_guid(codebook, p.dimension, p.value))
                notes.append(f"{p.dimension} = {p.value} (p={_p(p.probability)})")
        if codes:
            out.append(ExportSelection(fragment.source, fragment.start_char, fragment.end_char, user, fragment_id,
                                       tuple(codes), f"Suggestie van {user}: " + "; ".join(notes)))
    return out


def human_selections(fragments: dict, codings, codebook) -> list:
    """One selection per fragment and coder, with a coding per dimension value."""
    grouped = defaultdict(list)
    for coding in codings:
        if coding.fragment_id not in fragments:
            raise InputError(f"coding of fragment '{coding.fragment_id}' by '{coding.coder}', which is not in the "
                             "fragments file; give the fragments the codings were made on.")
        grouped[(coding.fragment_id, coding.coder or "onbekend")].append(coding)
    out = []
    for (fragment_id, coder), items in grouped.items():
        fragment = fragments[fragment_id]
        codes = []
        for coding in items:
            codebook.dimension(coding.dimension).value(coding.value)
            guid = code_guid(codebook, coding.dimension, coding.value)
            if guid not in codes:
                codes.append(guid)
        out.append(ExportSelection(fragment.source, fragment.start_char, fragment.end_char, coder, fragment_id,
                                   tuple(codes)))
    return out


def build_project_xml(codebook, texts: dict, selections, name: str, metadata: Optional[dict] = None,
                      created: str = EXPORT_TIME) -> tuple:
    """The project.qde document and {zip member: text} for the sources; validated against the XSD.

    `metadata` maps a source to its SourceInfo-like (case, respondent, role): cases become
    REFI Cases holding their sources, and case, respondent and role variables of each source.
    `created` is the creationDateTime of everything capcode makes (see `export_time`).
    """
    metadata = metadata or {}
    users = ordered_users({s.user for s in selections})
    user_guids = {user: stable_guid("user", user) for user in users}
    user_guids[EXPORT_USER] = stable_guid("export-user", EXPORT_USER)  # apart from a coder who is called so
    root = etree.Element(tag("Project"), nsmap={None: PROJECT_NS}, name=name, origin=ORIGIN,
                         creatingUserGUID=user_guids[EXPORT_USER], creationDateTime=created)
    users_element = etree.SubElement(root, tag("Users"))
    for user in users:
        etree.SubElement(users_element, tag("User"), guid=user_guids[user], name=user)
    etree.SubElement(root, tag("CodeBook")).append(code_tree(codebook))
    source_guids = {source: stable_guid("source", source, text) for source, text in texts.items()}
    variable_guids = _add_cases(root, metadata, source_guids)
    by_source = defaultdict(list)
    for selection in selections:
        by_source[selection.source].append(selection)
    members = {}
    if texts:
        sources_element = etree.SubElement(root, tag("Sources"))
        for source in sorted(texts):
            text, guid = texts[source], source_guids[source]
            members[f"sources/{guid}.txt"] = text
            element = etree.SubElement(sources_element, tag("TextSource"), guid=guid, name=source,
                                       plainTextPath=f"internal://{guid}.txt", creatingUser=user_guids[EXPORT_USER],
                                       creationDateTime=created)
            for selection in sorted(by_source.get(source, ()), key=lambda s: (s.start, s.end, s.user)):
                _add_selection(element, selection, user_guids[selection.user], text, created)
            _add_variable_values(element, metadata.get(source), variable_guids)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    _assert_valid(data, PROJECT_XSD, "project")
    return data, members


EXPORT_VARIABLES = ("case", "respondent", "rol")


def _known(value) -> bool:
    return bool(value) and value != "onbekend"


def _add_cases(root, metadata: dict, source_guids: dict) -> dict:
    """Variables case/respondent/rol and one Case per case (municipality) holding its sources; returns variable GUIDs."""
    if not any(_known(v) for info in metadata.values() for v in info):
        return {}
    variable_guids = {name: stable_guid("variable", name) for name in EXPORT_VARIABLES}
    variables = etree.SubElement(root, tag("Variables"))
    for name in EXPORT_VARIABLES:
        etree.SubElement(variables, tag("Variable"), guid=variable_guids[name], name=name, typeOfVariable="Text")
    by_case = defaultdict(list)
    for source, (case, _, _) in metadata.items():
        if _known(case) and source in source_guids:
            by_case[case].append(source)
    if by_case:
        cases = etree.SubElement(root, tag("Cases"))
        for case in sorted(by_case):
            element = etree.SubElement(cases, tag("Case"), guid=stable_guid("case", case), name=case)
            for source in sorted(by_case[case]):
                etree.SubElement(element, tag("SourceRef"), targetGUID=source_guids[source])
    return variable_guids


def _add_variable_values(element, info, variable_guids: dict) -> None:
    if not info or not variable_guids:
        return
    for name, value in zip(EXPORT_VARIABLES, info):
        if _known(value):
            item = etree.SubElement(element, tag("VariableValue"))
            etree.SubElement(item, tag("VariableRef"), targetGUID=variable_guids[name])
            etree.SubElement(item, tag("TextValue")).text = value


def _add_selection(parent, selection: ExportSelection, user_guid: str, text: str, created: str = EXPORT_TIME) -> None:
    if not 0 <= selection.start <= selection.end <= len(text):
        raise InputError(f"fragment '{selection.name}' ({selection.start}-{selection.end}) lies outside the text of "
                         f"'{selection.source}' ({len(text)} characters); segment the transcripts again.")
    element = etree.SubElement(parent, tag("PlainTextSelection"),
                               guid=stable_guid("selection", selection.user, selection.name),
                               name=selection.name, startPosition=str(selection.start),
                               endPosition=str(selection.end), creatingUser=user_guid, creationDateTime=created)
    if selection.description:
        etree.SubElement(element, tag("Description")).text = selection.description
    for code in selection.codes:
        coding = etree.SubElement(element, tag("Coding"), guid=stable_guid("coding", selection.user, selection.name,
                                                                             code),
                                  creatingUser=user_guid, creationDateTime=created)
        etree.SubElement(coding, tag("CodeRef"), targetGUID=code)


def write_zip(path, members: dict) -> None:
    """Write a zip atomically with fixed timestamps and order, so equal content gives equal bytes."""
    with atomic_path(path) as tmp:
        write_fixed_zip(tmp, members)


def rebuild_text(fragments) -> str:
    """A source's text from its fragments alone: each at its offsets, the gaps blank (ending in a line break)."""
    length = max(f.end_char for f in fragments)
    chars = [" "] * length
    covered = [False] * length
    for fragment in sorted(fragments, key=lambda f: f.start_char):
        if len(fragment.text) != fragment.end_char - fragment.start_char:
            raise InputError(f"fragment '{fragment.id}': its text has {len(fragment.text)} characters but its span "
                             f"{fragment.start_char}-{fragment.end_char} has {fragment.end_char - fragment.start_char}.")
        for offset, char in enumerate(fragment.text, start=fragment.start_char):
            if covered[offset] and chars[offset] != char:
                raise InputError(f"fragments overlapping '{fragment.id}' disagree about the text; give --transcripts.")
            chars[offset], covered[offset] = char, True
    for index in range(length):
        if not covered[index] and (index + 1 == length or covered[index + 1]):
            chars[index] = "\n"
    return "".join(chars)


def source_texts(fragments, transcripts=None) -> dict:
    """The plain text of every source the fragments come from, checked against the fragments.

    From the transcripts (read as `capcode segment` read them) when given; otherwise
    rebuilt from the fragments, with blanks where no fragment is (interviewer turns).
    """
    by_source = defaultdict(list)
    for fragment in fragments:
        by_source[fragment.source].append(fragment)
    texts = {}
    if transcripts is None:
        log.warning("no --transcripts: the texts are rebuilt from the fragments; what lies between fragments "
                    "(e.g. interviewer turns) is left blank.")
        return {source: rebuild_text(items) for source, items in by_source.items()}
    from ..readers import read_plain_text

    transcripts = Path(transcripts)
    for source, items in sorted(by_source.items()):
        path = transcripts if transcripts.is_file() else transcripts / source
        if transcripts.is_file() and transcripts.name != source:
            raise InputError(f"{transcripts}: fragments come from '{source}'; give the folder that was segmented.")
        if not path.is_file():
            raise InputError(f"{path}: transcript not found; give as --transcripts the folder given to "
                             "'capcode segment'.")
        text = read_plain_text(path)
        for fragment in items:
            if text[fragment.start_char:fragment.end_char] != fragment.text:
                raise InputError(f"{path}: the text at {fragment.start_char}-{fragment.end_char} differs from fragment "
                                 f"'{fragment.id}'; the transcript changed after segmenting: segment it again.")
        texts[source] = text
    return texts


def run_export_qdpx(fragments_path, predictions_path, out, codebook, codings_paths=(), transcripts=None,
                    name: Optional[str] = None, created: Optional[str] = None) -> dict:
    """Write a .qdpx with the transcripts, the codebook, the model's suggestions and any human codings.

    `created`: the creationDateTime to record (ISO 8601); see `export_time`.
    """
    created = export_time(created)
    from ..codebook.read import load_codebook
    from ..files import read_fragments
    from ..validation import read_checked_codings, read_checked_predictions

    codebook = load_codebook(codebook)
    fragment_list = list(read_fragments(fragments_path))
    fragments = {f.id: f for f in fragment_list}
    predictions = read_checked_predictions(predictions_path, codebook, fragment_list) if predictions_path else []
    codings = read_checked_codings(list(codings_paths), codebook, fragment_list) if codings_paths else []
    selections = suggestion_selections(fragments, predictions, codebook) + \
        human_selections(fragments, codings, codebook)
    texts = source_texts(fragment_list, transcripts)
    name = name or f"capcode {codebook.name}"
    metadata = {}
    for fragment in fragment_list:
        metadata.setdefault(fragment.source, (fragment.case, fragment.respondent, fragment.role))
    data, members = build_project_xml(codebook, texts, selections, name, metadata, created)
    write_zip(out, {"project.qde": data, **dict(sorted(members.items()))})
    users = Counter(s.user for s in selections)
    return {"sources": len(texts), "selections": len(selections), "users": dict(sorted(users.items())),
            "abstained": sum(1 for p in predictions if p.abstained)}


def run_export_qdc(codebook, out) -> None:
    """Write the codebook alone as a REFI-QDA .qdc file."""
    from ..codebook.read import load_codebook

    data = build_codebook_xml(load_codebook(codebook))
    with atomic_open(out, "wb") as handle:
        handle.write(data)
