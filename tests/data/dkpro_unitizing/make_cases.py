"""Random unitizing studies and DKPro Statistics' alpha-U for each, for tests/test_spans.py.

Writes cases.json: each case is a study (raters, continuum begin and length, units as
[offset, length, rater, category]) with DKPro's output (overall alpha-U; per category D_o, D_e,
alpha). Run (see README.md for building DKPro's classes):

    python tests/data/dkpro_unitizing/make_cases.py /path/to/dkpro-classes
"""

import json
import random
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def random_study(rng: random.Random) -> dict:
    raters = rng.randint(2, 4)
    length = rng.randint(20, 400)
    begin = rng.choice([0, 0, rng.randint(1, 500)])
    categories = "abc"[:rng.randint(1, 3)]
    units = []
    for rater in range(raters):
        for category in categories:
            position = begin
            while True:
                position += rng.choice([0, 0, rng.randint(1, 40)])   # touching units now and then
                size = rng.randint(1, 60)
                if position + size > begin + length or rng.random() < 0.15:
                    break
                units.append([position, size, rater, category])
                position += size
    if not units:
        units.append([begin, 1, 0, "a"])
    return {"raters": raters, "begin": begin, "length": length, "units": units}


def krippendorff_1995(stretch: int) -> dict:
    """The four two-coder examples of Krippendorff (1995, p. 57) as categories A-D of one study,
    stretched to a long continuum (as DKPro's Krippendorff1995Test does)."""
    d = {"A": [[(2, 8), (14, 6)], [(4, 4), (15, 2)]],
         "B": [[(0, 18)], [(0, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 3), (9, 1)]],
         "C": [[(2, 6), (10, 2), (14, 4), (20, 2)], [(0, 2), (4, 4), (10, 4), (16, 2), (20, 2)]],
         "D": [[(0, 2), (2, 8), (10, 4), (14, 6), (20, 4)], [(0, 4), (4, 4), (8, 7), (15, 2), (17, 7)]]}
    units = [[o * stretch, n * stretch, rater, category]
             for category, raters in d.items() for rater, spans in enumerate(raters) for o, n in spans]
    return {"raters": 2, "begin": 0, "length": 24 * stretch, "units": units, "name": f"krippendorff1995_x{stretch}"}


def main(classes: str) -> None:
    rng = random.Random(13)
    studies = [krippendorff_1995(1), krippendorff_1995(50000)] + [random_study(rng) for _ in range(60)]
    lines = []
    for study in studies:
        lines.append(f"study {study['raters']} {study['begin']} {study['length']}")
        lines += [f"unit {o} {n} {r} {c}" for o, n, r, c in study["units"]]
        lines.append("end")
    run = subprocess.run(["java", "-cp", f"{classes}:{HERE}", "Drive"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True)
    for study, line in zip(studies, run.stdout.splitlines()):
        parts = [p.split() for p in line.split(" | ")]
        study["dkpro"] = {"alpha_u": float(parts[0][1]),
                          "by_category": {p[0]: [float(x) for x in p[1:]] for p in parts[1:]}}
    (HERE / "cases.json").write_text(json.dumps(studies, indent=None) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
