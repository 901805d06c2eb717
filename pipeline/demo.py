"""`make demo`: run the whole pipeline on the sample study and print the per-case overview.

The pipeline is defined once, in dvc.yaml. Where DVC is installed the demo runs
`dvc repro` (so a second run does nothing); without DVC it runs the very same
`capcode` commands of dvc.yaml in stage order. Either way the outputs land where
dvc.yaml puts them (out/), and the overview that `capcode aggregate` wrote (the
aggregate stage's output folder) is printed once.

The stages' own output (tables, DVC's notes) goes to out/demo.log; the terminal
gets one line per stage that runs, every warning or error line, and the overview.

    python -m pipeline.demo            # from the repository root
    python -m pipeline.demo --no-dvc   # run the dvc.yaml commands directly
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DVC_FILE = "dvc.yaml"


def interpolate(value, context: dict):
    """Replace DVC's ${a.b} references in a string (or the strings of a list) from `context`."""
    if isinstance(value, list):
        return [interpolate(v, context) for v in value]
    if isinstance(value, dict):
        return {interpolate(k, context): interpolate(v, context) for k, v in value.items()}
    if not isinstance(value, str):
        return value

    def lookup(match):
        node = context
        for part in match.group(1).split("."):
            if not isinstance(node, dict) or part not in node:
                raise SystemExit(f"demo: dvc.yaml refers to ${{{match.group(1)}}}, which is not defined.")
            node = node[part]
        return str(node)

    return re.sub(r"\$\{\s*([\w.]+)\s*\}", lookup, value)


def load_stages(dvc_file: Path) -> dict:
    """The stages of dvc.yaml with `vars` (and params.yaml, as DVC does) filled in."""
    data = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))
    context = {}
    params_file = dvc_file.parent / "params.yaml"
    if params_file.exists():
        context.update(yaml.safe_load(params_file.read_text(encoding="utf-8")) or {})
    for entry in data.get("vars", []):
        if isinstance(entry, dict):
            context.update(entry)
    return {name: interpolate(spec, context) for name, spec in data["stages"].items()}


def _paths(entries) -> list:
    return [next(iter(e)) if isinstance(e, dict) else str(e) for e in entries or []]


def stage_commands(dvc_file: Path) -> list:
    """(stage name, command) pairs of dvc.yaml, in the order the stages depend on each other."""
    stages = load_stages(dvc_file)
    outputs = {name: _paths(spec.get("outs")) + _paths(spec.get("metrics")) + _paths(spec.get("plots"))
               for name, spec in stages.items()}
    ordered, done = [], set()

    def visit(name, trail=()):
        if name in done:
            return
        if name in trail:
            raise SystemExit(f"demo: {dvc_file}: stages depend on each other in a circle ({name}).")
        for dep in stages[name].get("deps", []):
            for other, outs in outputs.items():
                if other != name and any(str(dep) == o or str(dep).startswith(o.rstrip("/") + "/") for o in outs):
                    visit(other, trail + (name,))
        done.add(name)
        commands = stages[name]["cmd"]
        for command in commands if isinstance(commands, list) else [commands]:
            ordered.append((name, command))

    for name in stages:
        visit(name)
    return ordered


def use_dvc(root: Path) -> bool:
    """DVC is used when it is installed and the folder is a DVC project (.dvc/; git is not needed)."""
    return (root / ".dvc").is_dir() and shutil.which("dvc") is not None


LOG_FILE = Path("out") / "demo.log"
_STAGE_STARTS = re.compile(r"^Running stage '([^']+)':")
# lines of the stages' output that the researcher must see, not only the log
_SHOWN = re.compile(r"^(capcode: (warning|error): |Error: |ERROR: |WARNING: )")


def run(command: list, root: Path, log) -> list:
    """Run one command in `root`, its output into `log`; return the DVC stages it ran.

    A stage starting, and every warning or error line, is also shown on stderr;
    on failure the end of the log is shown and the demo stops with the exit code.
    """
    print("$ " + " ".join(shlex.quote(c) for c in command), file=log, flush=True)
    ran, tail = [], []
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, encoding="utf-8", errors="replace")
    for line in process.stdout:
        log.write(line)
        tail = (tail + [line])[-40:]
        started = _STAGE_STARTS.match(line)
        if started:
            ran.append(started.group(1))
            print(f"demo: running stage {started.group(1)}", file=sys.stderr, flush=True)
        elif _SHOWN.match(line):
            sys.stderr.write(line)
    code = process.wait()
    log.flush()
    if code:
        sys.stderr.write("".join(line for line in tail if not _SHOWN.match(line)))
        print(f"demo: '{' '.join(command)}' failed (exit code {code}); the whole output is in {LOG_FILE}.",
              file=sys.stderr)
        raise SystemExit(code)
    return ran


def run_pipeline(root: Path, with_dvc: bool) -> list:
    """Run the pipeline; return the names of the stages that ran."""
    (root / LOG_FILE).parent.mkdir(parents=True, exist_ok=True)
    with open(root / LOG_FILE, "w", encoding="utf-8") as log:
        if with_dvc:
            return run(["dvc", "repro"], root, log)
        ran = []
        for name, command in stage_commands(root / DVC_FILE):
            print(f"demo: running stage {name}", file=sys.stderr, flush=True)
            run(shlex.split(command), root, log)
            ran.append(name)
        return ran


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = ROOT
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    with_dvc = "--no-dvc" not in argv and use_dvc(root)
    started = time.monotonic()
    ran = run_pipeline(root, with_dvc)
    seconds = time.monotonic() - started
    aggregate_dir = Path(_paths(load_stages(root / DVC_FILE)["aggregate"]["outs"])[0])
    overview = root / aggregate_dir / "overview.txt"
    print()
    print("Per-case overview of the sample study (team codings where they exist, the model elsewhere)")
    print()
    print(overview.read_text(encoding="utf-8"))
    print(f"Reports: {aggregate_dir}/report.html (open in a browser), {aggregate_dir}/summary.md, "
          f"{aggregate_dir}/aggregates.xlsx, {aggregate_dir}/aggregates.csv")
    if ran:
        print(f"Pipeline ran {'with dvc repro' if with_dvc else 'without DVC'} in {seconds:.0f} s "
              f"(stages {', '.join(ran)}; their output is in {LOG_FILE}).")
    else:
        print("Pipeline: nothing changed since the last run, so dvc repro reran no stage.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
