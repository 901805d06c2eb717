"""Fuzzing every reader: mutated bytes of every format end in a result or one CapcodeError.

Seeds and mutations are in tests/fuzzing.py (shared with the longer run, benchmarks/fuzz.py).
Hypothesis draws the mutations; `derandomize` makes every CI run try the same inputs, and
the example counts keep the whole file to well under a minute.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzzing


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seeds")
    fragments = folder / "fragments.jsonl"
    fragments.write_bytes((fuzzing.DATA / "codings_fragments.jsonl").read_bytes())
    by_kind = {}
    for kind, name, data in fuzzing.build_seeds(folder):
        by_kind.setdefault(kind.split("-")[0], []).append((kind, name, data))
    return by_kind, fragments, tmp_path_factory.mktemp("inputs")


# examples per kind of reader: the slow readers (zips) get fewer, the whole file stays under a minute
EXAMPLES = {"transcript": 300, "codings": 240, "fragments": 80, "predictions": 80, "qdpx": 120, "model": 80}


def _fuzz(seeds, kind, rng, number):
    by_kind, fragments, folder = seeds
    seed_kind, name, data = rng.choice(by_kind[kind])
    case = folder / f"{kind}-{number}"
    case.mkdir()
    path = case / name
    path.write_bytes(fuzzing.mutate(seed_kind, name, data, rng))
    status, detail = fuzzing.outcome(seed_kind, path, fragments)
    assert status != "bug", f"{name} (mutated, kept at {path}):\n{detail}"


def _test_for(kind):
    counter = iter(range(10 ** 9))

    @settings(max_examples=EXAMPLES[kind], deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.integers(0, 2 ** 32))
    def test(seeds, number):
        _fuzz(seeds, kind, random.Random(number), next(counter))

    test.__name__ = f"test_mutated_{kind}_files_read_cleanly"
    test.__doc__ = f"Mutated {kind} files give a result or a CapcodeError, never another exception."
    return test


test_mutated_transcript_files_read_cleanly = _test_for("transcript")
test_mutated_codings_files_read_cleanly = _test_for("codings")
test_mutated_fragments_files_read_cleanly = _test_for("fragments")
test_mutated_predictions_files_read_cleanly = _test_for("predictions")
test_mutated_qdpx_files_read_cleanly = _test_for("qdpx")
test_mutated_model_files_read_cleanly = _test_for("model")


def test_every_supported_format_and_codings_form_has_a_seed(seeds):
    by_kind, _, _ = seeds
    names = {name for items in by_kind.values() for _, name, _ in items}
    for suffix in ("txt", "md", "docx", "odt", "vtt", "srt"):
        assert f"case1_respondent1.{suffix}" in names
    for form in ("wide", "long", "span"):
        assert {f"{form}.csv", f"{form}.xlsx", f"{form}.jsonl"} <= names
    assert {"export.qdpx", "tool.qdpx", "model.skops"} <= names
