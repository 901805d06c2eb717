"""`make demo`'s runner: stage output goes to the log, the terminal gets stage names and warnings only."""

import sys

import pytest

from pipeline.demo import run

SCRIPT = """
import sys
print("Running stage 'segment':")
print("case1   23   17%   35%")
print("capcode: warning: x.txt: not sure who the interviewer is", file=sys.stderr)
print("Stage 'train' didn't change, skipping")
sys.exit(int(sys.argv[1]))
"""


def test_stage_output_goes_to_the_log_and_warnings_to_the_terminal(tmp_path, capsys):
    with open(tmp_path / "demo.log", "w", encoding="utf-8") as log:
        ran = run([sys.executable, "-c", SCRIPT, "0"], tmp_path, log)
    assert ran == ["segment"]
    shown = capsys.readouterr()
    assert shown.out == ""
    assert shown.err.splitlines() == ["demo: running stage segment",
                                      "capcode: warning: x.txt: not sure who the interviewer is"]
    logged = (tmp_path / "demo.log").read_text(encoding="utf-8")
    assert "case1   23   17%   35%" in logged and "didn't change" in logged


def test_a_failing_stage_stops_the_demo_with_its_exit_code_and_shows_the_end_of_the_log(tmp_path, capsys):
    with open(tmp_path / "demo.log", "w", encoding="utf-8") as log:
        with pytest.raises(SystemExit) as stopped:
            run([sys.executable, "-c", SCRIPT, "3"], tmp_path, log)
    assert stopped.value.code == 3
    err = capsys.readouterr().err
    assert "case1   23   17%   35%" in err and "failed (exit code 3)" in err and "demo.log" in err
