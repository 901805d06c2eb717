"""pathnames.py gives what pathlib gives, on odd names too."""

import random
from pathlib import Path

import pytest

from pipeline.metadata import info_from_name
from pipeline.pathnames import path_stem, path_suffix, path_text

ODD = ["case1_respondent4.docx", "a/b/c.txt", "/abs/x.vtt", "x", ".", "..", "./a.txt", "a/./b.txt", "a/.",
       "a/", "a//b.txt", "//a.txt", "///a.txt", "a/..", "../a.txt", "a/../b.TXT", ".hidden", ".hidden.txt",
       "a.", "a..", "a..txt", "...txt", "..a.txt", "a.b.c", "a/b.c/d", "a.b/c", "na me.srt", "a\\b.txt",
       "c:\\x.txt", "~/a.md", "a b/ c .txt", "é/ü.docx", "x/.txt", "x/..txt", "x/a.", "/", "//", "", "a/b.c/"]


def _generated(count: int) -> list:
    """Random paths over the characters that matter to pathlib."""
    rng = random.Random(17)
    return ["".join(rng.choice("/./a.b\\ ~x") for _ in range(rng.randint(1, 10))) for _ in range(count)]


def _assert_as_pathlib(path):
    expected = Path(path)
    assert (path_text(path), path_suffix(path), path_stem(path)) == (str(expected), expected.suffix, expected.stem)
    assert (path_text(expected), path_suffix(expected), path_stem(expected)) == (str(expected), expected.suffix,
                                                                                 expected.stem)


@pytest.mark.parametrize("path", ODD)
def test_the_same_as_pathlib_on_odd_names(path):
    _assert_as_pathlib(path)


def test_the_same_as_pathlib_on_generated_names():
    for path in _generated(5000):
        _assert_as_pathlib(path)


def test_case_and_respondent_from_the_stem_only():
    assert info_from_name("c2/case1_respondent4.docx").case == "case1"  # not from the folder
    assert (info_from_name("r4.c12.txt").case, info_from_name("r4.c12.txt").respondent) == ("case12", "respondent4")
