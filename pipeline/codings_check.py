"""`capcode codings check`: counts and problems of a set of codings, against fragments and codebook.

Errors make the check fail: codes on fragments not in the fragments file, values not in the
codebook, a coder giving one fragment different values on one dimension, values where the
dimension's condition is contradicted. Warnings do not: exact duplicate codes, conditions that
cannot be checked, dimensions left empty where they apply.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Optional

from .codebook.read import load_codebook
from .codebook.records import Codebook
from .codings import as_fragments, codings_by_fragment, read_codings
from .files import read_fragments


@dataclass(frozen=True)
class Duplicate:
    """One coder gave a fragment more than one code on a dimension."""

    fragment_id: str
    coder: str
    dimension: str
    values: tuple


@dataclass(frozen=True)
class Violation:
    """A value on a dimension whose condition does not hold for that coder's codes of the fragment."""

    fragment_id: str
    coder: str
    dimension: str
    value: str
    condition: str   # e.g. "relevant = ja"
    found: str       # the value the condition's dimension has, or "" when it is not coded


@dataclass(frozen=True)
class CodingReport:
    """What `capcode codings check` reports; `errors` make it fail, `warnings` do not."""

    n_codings: int
    n_fragments: Optional[int]
    n_coded_fragments: int
    coders: dict            # coder -> number of fragments coded
    counts: dict            # dimension -> {value: number of codings}, in codebook order
    unknown_fragments: tuple
    duplicates: tuple
    violations: tuple
    incomplete: dict        # coder -> {dimension: fragments lacking a value where the dimension applies}
    errors: tuple
    warnings: tuple

    @property
    def ok(self) -> bool:
        return not self.errors


def check_codings(codings, fragments, codebook) -> CodingReport:
    """Counts and problems of a set of codings against the fragments and the codebook.

    Counts are per dimension and value, one per fragment and coder (a repeated code counts once,
    with its first value, as in `codings_by_fragment`).

    Errors: codes on fragments not in the fragments file, values not in the codebook, a coder
    giving one fragment different values on one dimension, values where the dimension's condition
    is contradicted (beleid_beheer coded while relevant = nee). Warnings: exact duplicate codes,
    conditions that cannot be checked because the condition's dimension is not coded, and
    dimensions left empty where they apply. Without a codebook (`codebook=None`, as `capcode
    agreement` may run) only what needs none is checked: unknown fragments and conflicting codes.
    """
    codebook = load_codebook(codebook) if codebook is not None else None
    codings = list(codings)
    fragment_ids = None if fragments is None else [f.id for f in as_fragments(fragments)]
    errors, warnings = [], []

    if codebook is not None:
        counts = {d.id: {v: 0 for v in d.value_ids} for d in codebook.dimensions}
    else:  # no codebook: the dimensions and values as coded
        counts = {}
        for coding in codings:
            counts.setdefault(coding.dimension, {}).setdefault(coding.value, 0)
    counted = set()
    for coding in codings:
        if codebook is not None and not codebook.has_dimension(coding.dimension):
            errors.append(f"{coding.fragment_id} ({coding.coder}): '{coding.dimension}' is not a dimension "
                          f"of codebook '{codebook.name}'.")
            continue
        if coding.value not in counts[coding.dimension]:
            errors.append(f"{coding.fragment_id} ({coding.coder}): '{coding.value}' is not a value of "
                          f"'{coding.dimension}'.")
            continue
        key = (coding.fragment_id, coding.coder, coding.dimension)
        if key not in counted:  # a repeated code counts once, with its first value
            counted.add(key)
            counts[coding.dimension][coding.value] += 1

    unknown = ()
    if fragment_ids is not None:
        known = set(fragment_ids)
        coded = {c.fragment_id for c in codings}
        unknown = tuple(sorted(coded - known))
        if unknown:
            listed = ", ".join(f"'{u}'" for u in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            errors.append(f"{len(unknown)} of {len(coded)} coded fragments are not in the fragments file ({listed}); "
                          "were the fragments segmented with other settings? Use the fragments the codes were "
                          "made on, or code in span form (source, start_char, end_char).")

    duplicates = _duplicates(codings)
    for duplicate in duplicates:
        message = (f"{duplicate.fragment_id}: coder '{duplicate.coder}' coded '{duplicate.dimension}' "
                   f"{len(duplicate.values)} times ({', '.join(duplicate.values)})")
        if len(set(duplicate.values)) > 1:
            errors.append(message + "; keep one value.")
        else:
            warnings.append(message + "; the same value, counted once.")

    by_fragment = codings_by_fragment(codings)
    violations, unchecked, incomplete = _conditions(by_fragment, codebook) if codebook is not None else ([], {}, {})
    for violation in violations:
        errors.append(f"{violation.fragment_id}: coder '{violation.coder}' gave {violation.dimension} = "
                      f"{violation.value}, but it is coded only when {violation.condition} "
                      f"(found {violation.found}); empty the cell or correct the condition.")
    for (coder, dimension, condition), number in sorted(unchecked.items()):
        warnings.append(f"coder '{coder}': {number} fragment(s) with a value on {dimension} but no value on "
                        f"{condition.dimension}, so 'only when {condition}' cannot be checked.")
    for coder, dims in sorted(incomplete.items()):
        for dimension, number in dims.items():
            warnings.append(f"coder '{coder}': {number} coded fragment(s) have no value on {dimension} "
                            "where it applies.")

    coders = Counter()
    for coders_of_fragment in by_fragment.values():
        for coder in coders_of_fragment:
            coders[coder] += 1
    if not codings:
        warnings.append("no codings at all.")
    return CodingReport(
        n_codings=len(codings),
        n_fragments=None if fragment_ids is None else len(fragment_ids),
        n_coded_fragments=len(by_fragment) if fragment_ids is None else len(set(by_fragment) & set(fragment_ids)),
        coders=dict(sorted(coders.items())),
        counts=counts,
        unknown_fragments=unknown,
        duplicates=tuple(duplicates),
        violations=tuple(violations),
        incomplete={c: dict(d) for c, d in incomplete.items()},
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def _duplicates(codings) -> list:
    values = defaultdict(list)
    for coding in codings:
        values[(coding.fragment_id, coding.coder, coding.dimension)].append(coding.value)
    return [Duplicate(f, c, d, tuple(v)) for (f, c, d), v in values.items() if len(v) > 1]


def _conditions(by_fragment, codebook) -> tuple:
    """Violations, uncheckable conditions {(coder, dim, condition): n} and incomplete codings."""
    violations = []
    unchecked = Counter()
    incomplete = defaultdict(Counter)
    for fragment_id, coders in by_fragment.items():
        for coder, codes in coders.items():
            for dimension in codebook.dimensions:
                value = codes.get(dimension.id)
                applies = codebook.applies(dimension.id, codes)
                if value is None:
                    if applies and _condition_known(codebook, dimension.id, codes):
                        incomplete[coder][dimension.id] += 1
                    continue
                if applies:
                    continue
                failing = _failing_condition(codebook, dimension.id, codes)
                found = codes.get(failing.dimension)
                if found is None:
                    unchecked[(coder, dimension.id, failing)] += 1
                else:
                    violations.append(Violation(fragment_id, coder, dimension.id, value, str(failing), found))
    return violations, unchecked, incomplete


def _failing_condition(codebook, dimension_id, codes):
    """The first condition in the chain of `dimension_id` that the codes do not satisfy."""
    condition = codebook.dimension(dimension_id).condition
    while condition is not None and codes.get(condition.dimension) == condition.value:
        condition = codebook.dimension(condition.dimension).condition
    return condition


def _condition_known(codebook, dimension_id, codes) -> bool:
    """True when every condition in the chain of `dimension_id` has a coded value."""
    condition = codebook.dimension(dimension_id).condition
    while condition is not None:
        if condition.dimension not in codes:
            return False
        condition = codebook.dimension(condition.dimension).condition
    return True


def format_report(report: CodingReport, codebook: Codebook, limit: int = 20) -> str:
    """The report as text for a researcher: overview, counts per dimension and value, problems."""
    lines = [f"codebook: {codebook.name} {codebook.version}"]
    coverage = ""
    if report.n_fragments is not None:
        share = report.n_coded_fragments / report.n_fragments if report.n_fragments else 0.0
        coverage = f" of {report.n_fragments} fragments ({share:.0%})"
    lines.append(f"codings: {report.n_codings} on {report.n_coded_fragments}{coverage}")
    lines.append(f"coders: {len(report.coders)}")
    for coder, number in report.coders.items():
        lines.append(f"  {coder}: {number} fragments")
    lines.append("")
    lines.append("values per dimension:")
    for dimension in codebook.dimensions:
        values = report.counts.get(dimension.id, {})
        total = sum(values.values())
        condition = f"  (only when {dimension.condition})" if dimension.condition else ""
        lines.append(f"  {dimension.id}: {total}{condition}")
        for value, number in values.items():
            share = number / total if total else 0.0
            lines.append(f"    {value:<20} {number:>6}  {share:6.1%}")
    for title, items in (("errors", report.errors), ("warnings", report.warnings)):
        if items:
            lines.append("")
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  {item}" for item in items[:limit]]
            if len(items) > limit:
                lines.append(f"  ... and {len(items) - limit} more.")
    lines.append("")
    lines.append("OK" if report.ok and not report.warnings else
                 ("OK with warnings" if report.ok else f"FAILED: {len(report.errors)} error(s)"))
    return "\n".join(lines) + "\n"


def run_codings_check(coding_paths, fragments_path, codebook="default", merge_coders=False) -> tuple:
    """Read and check coding files; return (report text, ok) for `capcode codings check`."""
    codebook = load_codebook(codebook)
    fragments = list(read_fragments(fragments_path)) if fragments_path else None
    codings = read_codings(coding_paths, codebook, fragments, merge_coders=merge_coders)
    report = check_codings(codings, fragments, codebook)
    return format_report(report, codebook), report.ok
