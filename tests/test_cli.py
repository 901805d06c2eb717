"""The command line: help for every command, version, one-line errors."""

import click
from click.testing import CliRunner

from pipeline import __version__
from pipeline.cli import cli


def _all_commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_root_help_lists_the_stages():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for stage in ("segment", "train", "predict", "evaluate", "agreement", "aggregate"):
        assert stage in result.output


def test_every_command_has_help_text():
    commands = list(_all_commands(cli))
    assert commands, "no commands registered"
    for path, command in commands:
        assert command.help and command.help.strip(), f"'capcode {' '.join(path)}' has no help text"
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path


def test_help_examples_are_not_rewrapped():
    """An example command in --help stays on its own line(s), so it can be copied and run as shown."""
    runner = CliRunner()
    for path, command in _all_commands(cli):
        examples = [line.strip() for line in (command.help or "").split("Example:")[-1].splitlines()
                    if line.strip().startswith("capcode ")]
        shown = [line.strip() for line in runner.invoke(cli, [*path, "--help"], terminal_width=80).output.splitlines()]
        for example in examples:
            assert example in shown, (path, example)


def test_bad_params_file_is_a_one_line_error(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("segmnt: {}\n", encoding="utf-8")
    source = tmp_path / "a.txt"
    source.write_text("I: Hallo?\nR: Dag.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--params", str(params), "segment", str(source), "--out", str(tmp_path / "f.jsonl")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"Error: {params}, setting 'segmnt': unknown setting; known settings are codebook, jobs, segment, train, predict, evaluate, aggregate, agreement, report, limits, review."]


def test_output_where_nothing_can_be_written_is_a_one_line_error(tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("I: Hallo?\nR: Dag.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["segment", str(source), "--out", str(source / "f.jsonl")])  # a file as folder
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {source}") and ".tmp" not in lines[0]
