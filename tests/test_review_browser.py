"""capcode review in a real browser: Debian's Chromium, headless, driven by Playwright.

Each server is a real `capcode review` process (so it can be killed with SIGKILL); the
browser is the system's /usr/bin/chromium (Playwright's own browser builds are never
downloaded: `playwright install` is not needed and not run). Without Chromium these tests
fail and say how to install it; they never skip.
"""

import csv
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from review_support import CODINGS, SCRIPT_ID, SCRIPT_TEXT, fixture_model, params_file

CHROMIUM = os.environ.get("CAPCODE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)")
TIMEOUT_MS = 30_000
FIRST_CODES = {"relevant": "ja", "strategisch_operationeel": "strategisch", "intern_extern": "intern",
               "beleid_beheer": "beleid", "impact": "positief"}  # the keys j s i b p


# ---- the server and the browser -------------------------------------------------------------------


class Server:
    """A `capcode review` process and the address it printed."""

    def __init__(self, folder: Path, fragments: Path, model: Path, out: Path, *extra: str):
        params = params_file(folder)
        command = [sys.executable, "-m", "pipeline.cli", "--params", str(params), "review", "--fragments",
                   str(fragments), "--model", str(model), "--codings", str(out), "--coder", "carla", "--no-browser",
                   *extra]
        self.out = out
        self.log = open(folder / "server.log", "w", encoding="utf-8")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                        cwd=folder, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        found = {}

        def read():
            for line in self.process.stdout:
                match = URL.search(line)
                if match:
                    found["url"] = match.group(0)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=120)
        if "url" not in found:
            self.stop()
            raise AssertionError("capcode review printed no address:\n" + (folder / "server.log").read_text())
        self.url = found["url"]
        self.base = self.url.split("/?")[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed ({CHROMIUM} is missing), so the browser tests cannot run. Install "
                    "it with 'apt-get update && apt-get install -y chromium' (.ci/run does this), or point "
                    "CAPCODE_CHROMIUM at a Chromium binary.", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return fixture_model(tmp_path_factory)


@pytest.fixture(scope="module")
def server(tmp_path_factory, model):
    folder = tmp_path_factory.mktemp("review-server")
    running = Server(folder, model[0], model[1], folder / "review.csv", "--train-codings", str(CODINGS))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def blind_server(tmp_path_factory, model):
    folder = tmp_path_factory.mktemp("review-blind")
    running = Server(folder, model[0], model[1], folder / "blind.csv", "--train-codings", str(CODINGS), "--blind")
    yield running
    running.stop()


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector("#text[data-fragment-id]")
    return page


def card_id(page) -> str:
    return page.get_attribute("#text", "data-fragment-id")


def press(page, *keys) -> None:
    for key in keys:
        page.keyboard.press(key)


def save_and_wait(page, key="Enter") -> str:
    """Press `key` (Enter: save) and wait for the next card; return its id."""
    before = card_id(page)
    page.keyboard.press(key)
    page.wait_for_function("old => document.getElementById('text').dataset.fragmentId !== old", arg=before)
    return card_id(page)


def rows_of(path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def codes_in(path) -> dict:
    out = {}
    for row in rows_of(path):
        out.setdefault(row["fragment_id"], {})[row["dimension"]] = row["value"]
    return out


def pressed(page) -> dict:
    """{dimension: value} of the value buttons shown as chosen."""
    return {b.get_attribute("data-dimension"): b.get_attribute("data-value")
            for b in page.query_selector_all("button.value[aria-pressed=true]")}


# ---- the scenarios -----------------------------------------------------------------------------


def test_code_three_with_the_keyboard_undo_one_reload_resume_and_kill_the_server(browser, tmp_path, model):
    out = tmp_path / "review.csv"
    running = Server(tmp_path, model[0], model[1], out)
    try:
        page = open_page(browser, running.url)
        first = card_id(page)
        press(page, "j", "s", "i", "b", "p")
        assert pressed(page) == FIRST_CODES
        second = save_and_wait(page)
        assert codes_in(out)[first] == FIRST_CODES  # on disk as soon as the next card shows

        press(page, "n")  # not relevant: the conditional dimensions disappear
        assert not page.is_visible("fieldset[data-dimension=impact]")
        third = save_and_wait(page)
        assert codes_in(out)[second] == {"relevant": "nee"}

        press(page, "j", "o", "e", "h", "u", "/")
        page.keyboard.type("twijfel, bespreken")
        press(page, "Escape")
        fourth = save_and_wait(page)
        assert codes_in(out)[third]["intern_extern"] == "extern"
        assert {r["note"] for r in rows_of(out) if r["fragment_id"] == third} == {"twijfel, bespreken"}
        assert len({first, second, third, fourth}) == 4

        # undo: the third card comes back with its codes and note, and its rows leave the file
        assert save_and_wait(page, "Backspace") == third
        assert pressed(page)["intern_extern"] == "extern" and page.input_value("#note") == "twijfel, bespreken"
        assert third not in codes_in(out)
        press(page, "i")  # change one code and save again
        assert save_and_wait(page) == fourth
        assert codes_in(out)[third]["intern_extern"] == "intern"

        # reload: the same card, the same progress
        page.reload()
        page.wait_for_selector("#text[data-fragment-id]")
        assert card_id(page) == fourth
        assert page.text_content("#counts").startswith("3 coded")
        assert page.problems == []

        # kill -9: every decision is already in the file, and the file is a valid codings file
        running.process.send_signal(signal.SIGKILL)
        running.process.wait(timeout=20)
        codes = codes_in(out)
        assert set(codes) == {first, second, third}
        assert codes[first]["impact"] == "positief" and codes[second] == {"relevant": "nee"}
        assert codes[third] == {"relevant": "ja", "strategisch_operationeel": "operationeel", "intern_extern": "intern",
                                "beleid_beheer": "beheer", "impact": "neutraal"}
        check = CliRunner().invoke(cli, ["codings", "check", str(out), "--fragments", str(model[0])])
        assert check.exit_code == 0, check.output

        # and a new server resumes after them
        again = Server(tmp_path, model[0], model[1], out)
        try:
            page = open_page(browser, again.url)
            assert card_id(page) not in {first, second, third}
            assert page.text_content("#counts").startswith("3 coded")
        finally:
            again.stop()
    finally:
        running.stop()


def test_suggestions_and_other_coders_show_on_the_card(browser, server):
    page = open_page(browser, server.url)
    for _ in range(50):  # skip to a fragment the team coded
        if card_id(page) != SCRIPT_ID:
            break
        save_and_wait(page, " ")
    assert page.locator("button.value.suggested, button.value.unsure").count() >= 1
    assert re.search(r"\d+%", page.text_content("fieldset[data-dimension=relevant] .hint"))
    assert "anna" in page.text_content("#others")
    page.context.close()


def test_a_fragment_with_a_script_in_it_shows_as_text(browser, server):
    page = open_page(browser, server.url)
    for _ in range(50):
        if card_id(page) == SCRIPT_ID:
            break
        save_and_wait(page, " ")  # skip
    assert card_id(page) == SCRIPT_ID
    assert page.text_content("#text") == SCRIPT_TEXT
    assert page.text_content("#question") == "Wat <i>zegt</i> u?"
    assert page.locator("#card script, #card img, #card b, #card i").count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.__injected === undefined")
    assert page.problems == []  # no alert, no script error
    page.context.close()


def test_a_request_without_the_token_gets_403(browser, server):
    context = browser.new_context()
    page = context.new_page()
    for path in ("/", "/api/state", "/static/review.js", "/static/review.css"):
        response = page.goto(server.base + path)
        assert response.status == 403, path
    assert "needs its token" in page.text_content("body")
    assert context.request.post(server.base + "/api/undo").status == 403
    assert page.goto(server.base + "/?token=not-the-token").status == 403

    response = page.goto(server.url)  # the printed address: in, and the token moves into a cookie
    assert response.status == 200 and page.url == server.base + "/"
    assert context.request.get(server.base + "/api/state").status == 200
    assert context.request.post(server.base + "/api/undo").status == 403  # changes need the page's header
    context.close()


def test_blind_shows_no_suggestion_and_no_other_coder(browser, blind_server):
    page = open_page(browser, blind_server.url)
    assert page.locator("button.value.suggested, button.value.unsure").count() == 0
    assert all(not (hint.text_content() or "").strip() for hint in page.query_selector_all(".hint"))
    assert all(not (p.text_content() or "").strip() for p in page.query_selector_all(".probability"))
    assert (page.text_content("#others") or "").strip() == ""
    assert "κ" not in page.text_content("body") and "kept" not in page.text_content("#progress")
    assert page.text_content(".badge.blind") == "blind"
    state = page.evaluate("fetch('/api/state').then(r => r.json())")
    assert "suggestions" not in state["card"] and "others" not in state["card"]
    # Enter saves only what the coder chose: with nothing chosen, it asks
    page.keyboard.press("Enter")
    assert "Choose a value for Relevant" in page.text_content("#message")
    first = card_id(page)
    press(page, "n")
    save_and_wait(page)
    assert codes_in(blind_server.out)[first] == {"relevant": "nee"}
    page.context.close()
