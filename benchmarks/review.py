"""Learning while coding in `capcode review`, measured on the sample study: how long from the
decision that triggers retraining to refreshed suggestions, and whether the page stays responsive
meanwhile.

Set-up: the sample study is segmented; a model is trained (params.yaml as shipped: the default
design, C by grouped CV, calibration, thresholds) on the team's codes of every case except two;
`capcode review` runs as a real server process (`review.retrain_every` 20, `--train-codings` the
codes the model learned from) and a scripted coder decides card after card with the team's codes,
over HTTP as the page does. For each retraining round:

  - refresh: seconds from sending the 20th decision to /api/status reporting the new model
    (what the page polls every 2 s; the page then fetches the card's new suggestions);
  - the worker's own training-and-ranking time;
  - responsiveness: latency of card fetches (GET /api/state, the request behind every card) while
    the worker trains, next to the same request with the server idle (median and 95th percentile,
    and their ratio), and of decisions (POST /api/decide) made during the retraining.

`--screenshot PATH` then saves the page as Chromium shows it (docs/review.png in the README).

Usage: python benchmarks/review.py [--rounds 2] [--screenshot docs/review.png]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "data" / "sample"
HELD_OUT = 2  # cases whose codes the first model never sees


def prepare(work: Path):
    """Fragments of the sample, the team's codes per fragment, a model trained without two cases."""
    from pipeline.codebook import load_codebook
    from pipeline.codings import read_codings
    from pipeline.config import load_params
    from pipeline.files import read_fragments, write_table
    from pipeline.segment import run_segment
    from pipeline.train import run_train

    params = load_params(ROOT / "params.yaml")
    fragments_path = work / "fragments.jsonl"
    run_segment(SAMPLE / "transcripts", fragments_path, params.segment, manifest=SAMPLE / "manifest.csv")
    fragments = list(read_fragments(fragments_path))
    codebook = load_codebook(params.codebook)
    codings = read_codings([str(SAMPLE / "codings" / "team.csv")], codebook=codebook, fragments=fragments)
    cases = sorted({f.case for f in fragments})
    held_out = set(cases[-HELD_OUT:])
    case_of = {f.id: f.case for f in fragments}
    given = [c for c in codings if case_of.get(c.fragment_id) not in held_out]
    train_codings = work / "given.csv"
    write_table(train_codings, ("fragment_id", "coder", "dimension", "value"),
                ([c.fragment_id, c.coder, c.dimension, c.value] for c in given))
    started = time.perf_counter()
    run_train(fragments_path, [train_codings], work / "sample", params)
    print(f"model: trained on the team's codes of {len(cases) - HELD_OUT} of {len(cases)} cases "
          f"in {time.perf_counter() - started:.1f} s (held out: {', '.join(sorted(held_out))})")
    truth = {}
    for c in codings:
        truth.setdefault(c.fragment_id, {})[c.dimension] = c.value
    return fragments_path, train_codings, work / "sample", truth, len(fragments)


class Client:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST" if body is not None else "GET",
                                         headers={"X-Capcode-Token": self.token, "Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        return payload, (time.perf_counter() - started) * 1000.0


def start_server(work: Path, fragments, train_codings, model):
    command = [sys.executable, "-m", "pipeline.cli", "--params", str(ROOT / "params.yaml"), "review",
               "--fragments", str(fragments), "--model", str(model), "--codings", str(work / "review.csv"),
               "--coder", "bench", "--train-codings", str(train_codings), "--no-browser"]
    log = open(work / "server.log", "w", encoding="utf-8")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=work)
    started = time.perf_counter()
    for line in process.stdout:
        match = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        if match:
            print(f"server: address printed after {time.perf_counter() - started:.1f} s")
            return process, Client(match.group(1), match.group(2))
    raise SystemExit("capcode review printed no address; see " + str(work / "server.log"))


def summary(values) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"median {statistics.median(values):6.1f} ms, p95 {p95:6.1f} ms, max {values[-1]:6.1f} ms (n {len(values)})"


def decide_next(client, truth):
    state, _ = client.call("/api/state")
    card = state["card"]
    fragment = card["fragment"]["id"]
    values = dict(truth.get(fragment) or {"relevant": "nee"})
    _, ms = client.call("/api/decide", {"fragment_id": fragment, "values": values})
    return ms


def run_round(client, truth, every: int, number: int) -> dict:
    idle = [client.call("/api/state")[1] for _ in range(40)]
    version = client.call("/api/status")[0]["model"]["version"]
    for count in range(1, 3 * every):
        sent = time.perf_counter()
        decide_next(client, truth)
        retrain = client.call("/api/status")[0]["model"]
        if retrain["retrain"]["running"] or retrain["version"] > version:
            break  # this decision made retraining due
    else:
        raise SystemExit(f"no retraining after {3 * every} decisions")
    busy, during_decisions, refreshed = [], [], None
    while refreshed is None:
        status, _ = client.call("/api/status")
        if status["model"]["version"] > version:
            refreshed = time.perf_counter() - sent
            break
        busy.append(client.call("/api/state")[1])
        if len(during_decisions) < 3 and status["model"]["retrain"].get("running"):
            during_decisions.append(decide_next(client, truth))
        time.sleep(0.1)
        if time.perf_counter() - sent > 1800:
            raise SystemExit("no refreshed model after 30 minutes")
    status, _ = client.call("/api/status")
    last = status["model"]["retrain"]["last"]
    card, _ = client.call("/api/state")
    assert card["card"]["model_version"] == status["model"]["version"]
    ratio = statistics.median(busy) / statistics.median(idle) if busy else float("nan")
    print(f"round {number}: refreshed suggestions {refreshed:5.1f} s after decision {count} of the round "
          f"(worker: {last['seconds']:.1f} s training and ranking, {last['fragments']} fragments learned from)")
    print(f"  card fetch, server idle:       {summary(idle)}")
    if busy:
        print(f"  card fetch, while retraining:  {summary(busy)}  -> median x{ratio:.2f} of idle")
    if during_decisions:
        print(f"  decisions while retraining:    {summary(during_decisions)}")
    return {"refresh": refreshed, "worker": last["seconds"], "ratio": ratio}


def screenshot(client, path: Path) -> None:
    """The page with a card that shows the parts: a relevant fragment on which the model abstains somewhere,
    one value chosen by its key (the model's unsure suggestion) and a note."""
    from playwright.sync_api import sync_playwright

    for _ in range(400):  # skip (through the API) to such a card
        card = client.call("/api/state")[0]["card"]
        suggested = card["suggestions"]
        if suggested.get("relevant", {}).get("value") == "ja" and \
                1 <= sum(s["abstained"] for s in suggested.values()) < len(suggested) - 1:
            break
        client.call("/api/skip", {"fragment_id": card["fragment"]["id"]})
    url = f"{client.base}/?token={client.token}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CAPCODE_CHROMIUM", "/usr/bin/chromium"),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
        page.goto(url)
        page.wait_for_selector("#text[data-fragment-id]")
        unsure = page.query_selector("button.value.unsure kbd")
        if unsure is not None:
            page.keyboard.press(unsure.text_content())
        page.keyboard.press("/")
        page.keyboard.type("Gaat dit over de dienst zelf of over het beleid? Bespreken met het team.")
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
        page.screenshot(path=str(path), full_page=True)
        browser.close()
    from PIL import Image  # comes with matplotlib: 128 colours look the same and take a third of the bytes

    image = Image.open(path).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"screenshot: {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="retraining rounds to measure")
    parser.add_argument("--screenshot", type=Path, default=None, help="save the page as PNG here afterwards")
    args = parser.parse_args()
    from pipeline.config import load_params

    every = load_params(ROOT / "params.yaml").review.retrain_every
    with tempfile.TemporaryDirectory(prefix="capcode-review-bench-") as folder:
        work = Path(folder)
        fragments, train_codings, model, truth, n = prepare(work)
        process, client = start_server(work, fragments, train_codings, model)
        try:
            started = time.perf_counter()
            while not client.call("/api/status")[0]["model"]["retrain"]["ready"]:
                time.sleep(0.2)
            print(f"worker: ready to retrain {time.perf_counter() - started:.1f} s after the address (it loads "
                  "capcode and the sentence encoder while the coder reads the first card)")
            print(f"review: {n} fragments, review.retrain_every {every}, {os.cpu_count()} cores")
            results = [run_round(client, truth, every, number) for number in range(1, args.rounds + 1)]
            if args.screenshot:
                screenshot(client, args.screenshot)
        finally:
            process.terminate()
            process.wait(timeout=30)
    refresh = [r["refresh"] for r in results]
    print(f"summary: suggestions refreshed {min(refresh):.1f}-{max(refresh):.1f} s after the decision that made "
          f"retraining due; card fetch "
          f"while retraining at x{min(r['ratio'] for r in results):.2f}-x{max(r['ratio'] for r in results):.2f} "
          "of idle (median)")


if __name__ == "__main__":
    main()
