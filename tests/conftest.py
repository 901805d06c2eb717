"""Shared fixtures: tiny files in tests/data and one Dutch pipeline for the session."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def nlp():
    from pipeline.dutch import build_nlp

    return build_nlp()
