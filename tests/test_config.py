"""params.yaml is read in one place, validated, and unknown keys are refused."""

import pytest

from pipeline.config import Params, load_params
from pipeline.errors import ConfigError

from conftest import ROOT


def test_repository_params_file_loads_with_documented_defaults():
    params = load_params(ROOT / "params.yaml")
    assert params.segment.max_words == 80
    assert "Interviewer" in params.segment.interviewer_labels
    assert params.codebook == "default"


def test_missing_default_file_gives_built_in_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_params() == Params()


def test_unknown_key_is_refused_with_its_dotted_name(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("segment:\n  max_word: 60\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"params\.yaml, setting 'segment\.max_word': unknown setting; known settings in segment are max_words"):
        load_params(path)


def test_params_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes("segment:\n  interviewer_labels: [Onderzoekér]\n".encode("cp1252"))
    with pytest.raises(ConfigError, match="params.yaml: not UTF-8 text"):
        load_params(path)


def test_wrong_type_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("segment:\n  max_words: many\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a whole number"):
        load_params(path)


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("segment:\n  max_words: [80\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line"):
        load_params(path)


def test_per_dimension_threshold_falls_back_to_default(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("predict:\n  default_threshold: 0.4\n  thresholds: {impact: 0.7}\n", encoding="utf-8")
    params = load_params(path)
    assert params.predict.threshold("impact") == 0.7
    assert params.predict.threshold("relevant") == 0.4


def test_report_language_is_nl_unless_en_is_chosen(tmp_path):
    from pipeline.config import load_params

    path = tmp_path / "params.yaml"
    path.write_text("report:\n  language: en\n", encoding="utf-8")
    assert load_params(path).report.language == "en"
    path.write_text("aggregate:\n  quotes: 2\n", encoding="utf-8")
    assert load_params(path).report.language == "nl"
    path.write_text("report:\n  language: fr\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"params\.yaml, setting 'report\.language': 'fr' is not one of nl, en"):
        load_params(path)


def test_jobs_is_a_whole_number_of_processes(tmp_path):
    from pipeline.config import load_params
    from pipeline.errors import ConfigError

    params = tmp_path / "params.yaml"
    params.write_text("jobs: 2\n", encoding="utf-8")
    assert load_params(params).jobs == 2
    params.write_text("jobs: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"setting 'jobs': must be 0 \(all cores\) or more, got -1"):
        load_params(params)
    params.write_text("jobs: many\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"setting 'jobs': expected a whole number"):
        load_params(params)
