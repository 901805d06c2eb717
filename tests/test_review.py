"""capcode review without a browser: the queue, the codings file, undo, resume, blind, the token,
and retraining in the background, through Starlette's TestClient (the browser tests drive the page)."""

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from pipeline.cli import cli
from pipeline.codebook import load_codebook
from pipeline.codings import read_codings
from pipeline.config import Params, ReviewParams, TrainParams
from pipeline.files import read_fragments
from pipeline.predict import model_thresholds, open_model, suggest
from pipeline.review.app import build_app, cookie_name
from pipeline.review.queue import ReviewQueue, rank_fragments
from pipeline.review.run import open_session
from pipeline.review.session import ReviewError, value_keys
from pipeline.review.store import COLUMNS, Decision, DecisionStore
from review_support import CODINGS, PARAMS, SCRIPT_ID, fixture_model

TOKEN = "test-token-123"


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return fixture_model(tmp_path_factory)


def session_for(fixture, out, coder="carla", blind=False, train_codings=(), params=PARAMS, retrain=False):
    fragments, model = fixture
    return open_session(fragments, model, out, coder, params, train_codings, blind, retrain=retrain)


def client_for(session):
    client = TestClient(build_app(session, TOKEN), base_url="http://127.0.0.1:8765")
    client.headers["X-Capcode-Token"] = TOKEN
    return client


def rows_of(path):
    import csv

    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def choose(state, relevant="ja"):
    """Values for the card in `state`: relevant as given, the other dimensions their first value."""
    if relevant == "nee":
        return {"relevant": "nee"}
    return {"relevant": "ja", "strategisch_operationeel": "strategisch", "intern_extern": "intern",
            "beleid_beheer": "beleid", "impact": "positief"}


# ---- the queue --------------------------------------------------------------------------------


def test_cards_come_in_the_order_of_capcode_suggest(fixture):
    fragments_path, model_dir = fixture
    model, codebook, _ = open_model(model_dir, "default")
    fragments = list(read_fragments(fragments_path))
    ranking = rank_fragments(model, codebook, fragments, model_thresholds(model, PARAMS.predict))
    expected = [s.fragment_id for s in suggest(model, codebook, fragments, n=len(fragments))]
    assert ranking.order[:len(expected)] == expected
    assert sorted(ranking.order) == sorted(f.id for f in fragments)  # every fragment once
    first = ranking.for_fragment(ranking.order[0])
    assert "relevant" in first and 0.0 <= first["relevant"].probability <= 1.0


def test_the_queue_skips_to_the_back_puts_undone_first_and_keeps_the_card_on_screen_when_reordered():
    queue = ReviewQueue(["a", "b", "c", "d", "e"], done={"b"})
    assert queue.ids() == ["a", "c", "d", "e"]
    assert queue.head() == "a"
    queue.skip("a")
    assert queue.ids() == ["c", "d", "e", "a"]
    assert queue.head() == "c"
    queue.reorder(["e", "d", "c", "a", "b"])  # a retrained model's order: 'c' is on screen, 'a' was skipped
    assert queue.ids() == ["c", "e", "d", "a"]
    queue.remove("c")
    queue.put_first("b")  # an undone decision
    assert queue.head() == "b" and queue.ids() == ["b", "e", "d", "a"]


def test_every_value_gets_its_own_key():
    keys = value_keys(load_codebook("default"))
    assert keys[("relevant", "ja")] == "j" and keys[("relevant", "nee")] == "n"
    assert keys[("strategisch_operationeel", "strategisch")] == "s"
    assert keys[("intern_extern", "extern")] == "e"
    assert len(set(keys.values())) == len(keys) == 11


# ---- the codings file -------------------------------------------------------------------------


def test_decisions_are_appended_and_undo_rewrites_a_valid_file(tmp_path):
    out = tmp_path / "review.csv"
    store = DecisionStore(out)
    assert not out.exists()  # made with the first decision
    store.append(Decision("f1", "anna", (("relevant", "ja"), ("impact", "positief")), "een, twee", "2024-01-01T10:00:00+01:00"))
    store.append(Decision("f2", "bert", (("relevant", "nee"),), "", "2024-01-01T10:00:05+01:00"))
    store.append(Decision("f3", "anna", (("relevant", "nee"),), "", "2024-01-01T10:00:09+01:00"))
    assert out.read_text(encoding="utf-8").startswith(",".join(COLUMNS) + "\nf1,anna,relevant,ja,")
    assert [r["fragment_id"] for r in rows_of(out)] == ["f1", "f1", "f2", "f3"]
    assert rows_of(out)[0]["note"] == "een, twee"

    undone = store.undo_last("anna")
    assert undone.fragment_id == "f3"
    assert [(r["fragment_id"], r["coder"]) for r in rows_of(out)] == [("f1", "anna"), ("f1", "anna"), ("f2", "bert")]
    again = DecisionStore(out)  # read back: the same decisions, grouped
    assert [(d.fragment_id, d.coder, d.values, d.note) for d in again.decisions] == [
        ("f1", "anna", (("relevant", "ja"), ("impact", "positief")), "een, twee"),
        ("f2", "bert", (("relevant", "nee"),), "")]
    codings = read_codings([out])
    assert {(c.fragment_id, c.coder, c.dimension, c.value) for c in codings} == {
        ("f1", "anna", "relevant", "ja"), ("f1", "anna", "impact", "positief"), ("f2", "bert", "relevant", "nee")}


def test_an_incomplete_last_line_is_dropped_and_a_foreign_file_is_refused(tmp_path, caplog):
    out = tmp_path / "review.csv"
    out.write_text(",".join(COLUMNS) + "\nf1,anna,relevant,ja,,2024-01-01T10:00:00+01:00\nf2,anna,rel", encoding="utf-8")
    store = DecisionStore(out)
    assert [d.fragment_id for d in store.decisions] == ["f1"]
    assert out.read_text(encoding="utf-8").endswith("+01:00\n")
    assert "incomplete" in caplog.text

    other = tmp_path / "team.csv"
    other.write_text("fragment_id,coder,relevant\nf1,anna,ja\n", encoding="utf-8")
    with pytest.raises(Exception, match="not those of a review file"):
        DecisionStore(other)
    with pytest.raises(Exception, match="ending in .csv"):
        DecisionStore(tmp_path / "review.xlsx")
    with pytest.raises(Exception, match="does not exist"):
        DecisionStore(tmp_path / "nowhere" / "review.csv")


def test_a_decision_that_cannot_be_written_says_it_is_not_saved(fixture, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    session = session_for(fixture, folder / "review.csv")
    client = client_for(session)
    state = client.get("/api/state").json()
    folder.rmdir()  # the folder disappears (a USB stick pulled out)
    answer = client.post("/api/decide", json={"fragment_id": state["card"]["fragment"]["id"],
                                              "values": {"relevant": "nee"}})
    assert answer.status_code == 500 and "NOT saved" in answer.json()["error"]
    assert client.get("/api/state").json()["progress"]["coded"] == 0  # and nothing counts it as saved


# ---- the app ----------------------------------------------------------------------------------


def test_every_route_needs_the_token(fixture, tmp_path):
    session = session_for(fixture, tmp_path / "out.csv")
    bare = TestClient(build_app(session, TOKEN), base_url="http://127.0.0.1:8765", follow_redirects=False)
    for path in ("/", "/api/state", "/api/status", "/static/review.js", "/static/review.css", "/nothing"):
        response = bare.get(path)
        assert response.status_code == 403, path
        assert "token" in response.text
    assert bare.get("/api/state?token=wrong").status_code == 403
    assert bare.post("/api/undo").status_code == 403

    first = bare.get(f"/?token={TOKEN}")
    assert first.status_code == 303 and first.headers["location"] == "/"
    assert bare.cookies.get(cookie_name(8765)) == TOKEN  # the token moved into the cookie
    page = bare.get("/")
    assert page.status_code == 200 and "capcode review" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert bare.get("/static/review.js").status_code == 200
    assert bare.get("/api/state").status_code == 200
    # changes need the header: a page elsewhere can make the browser send the cookie, not the header
    assert bare.post("/api/undo").status_code == 403
    assert bare.post("/api/undo", headers={"X-Capcode-Token": TOKEN}).status_code == 409  # nothing to undo yet


def test_decide_writes_at_once_skips_undoes_and_refuses_incomplete_codes(fixture, tmp_path):
    out = tmp_path / "out.csv"
    client = client_for(session_for(fixture, out))
    state = client.get("/api/state").json()
    first = state["card"]["fragment"]["id"]
    assert state["progress"]["queued"] == state["progress"]["total"] == 43
    assert set(state["card"]["suggestions"]) >= {"relevant"}

    refused = client.post("/api/decide", json={"fragment_id": first, "values": {"relevant": "ja"}})
    assert refused.status_code == 400 and "Strategisch of operationeel" in refused.json()["error"]
    refused = client.post("/api/decide", json={"fragment_id": first, "values": {"relevant": "misschien"}})
    assert refused.status_code == 400 and "not a value" in refused.json()["error"]
    assert not out.exists()  # nothing saved, nothing made

    # a full decision: written before the answer comes back
    state = client.post("/api/decide", json={"fragment_id": first, "values": choose(state), "note": "goed\nvoorbeeld"}).json()
    rows = rows_of(out)
    assert [(r["fragment_id"], r["dimension"], r["value"]) for r in rows] == [
        (first, "relevant", "ja"), (first, "strategisch_operationeel", "strategisch"), (first, "intern_extern", "intern"),
        (first, "beleid_beheer", "beleid"), (first, "impact", "positief")]
    assert {r["coder"] for r in rows} == {"carla"} and rows[0]["note"] == "goed voorbeeld" and rows[0]["time"]
    assert client.post("/api/decide", json={"fragment_id": first, "values": choose(state)}).status_code == 409

    # not relevant: the conditional dimensions are left out, even when sent
    second = state["card"]["fragment"]["id"]
    assert second != first
    state = client.post("/api/decide", json={"fragment_id": second,
                                             "values": {"relevant": "nee", "impact": "negatief"}}).json()
    assert [(r["dimension"], r["value"]) for r in rows_of(out) if r["fragment_id"] == second] == [("relevant", "nee")]

    third = state["card"]["fragment"]["id"]
    state = client.post("/api/skip", json={"fragment_id": third}).json()
    assert state["card"]["fragment"]["id"] != third
    assert client.get("/api/state").json()["card"]["fragment"]["id"] == state["card"]["fragment"]["id"]  # a reload

    state = client.post("/api/undo").json()
    assert state["card"]["fragment"]["id"] == second
    assert state["card"]["previous"]["values"] == {"relevant": "nee"}
    assert second not in {r["fragment_id"] for r in rows_of(out)}
    assert state["progress"]["coded"] == 1 and state["progress"]["queued"] == 42


def test_the_codings_file_is_valid_for_the_other_commands_and_a_restart_resumes(fixture, tmp_path):
    fragments_path, _ = fixture
    out = tmp_path / "review.csv"
    client = client_for(session_for(fixture, out))
    coded = []
    for relevant in ("ja", "nee", "ja", "ja"):
        state = client.get("/api/state").json()
        coded.append(state["card"]["fragment"]["id"])
        client.post("/api/decide", json={"fragment_id": coded[-1], "values": choose(state, relevant),
                                         "note": "twijfel; bespreken, met bert"})

    runner = CliRunner()
    check = runner.invoke(cli, ["codings", "check", str(out), "--fragments", str(fragments_path)])
    assert check.exit_code == 0, check.output
    agreement = runner.invoke(cli, ["agreement", str(out), str(CODINGS), "--codebook", "default",
                                    "--fragments", str(fragments_path), "--format", "json"])
    assert agreement.exit_code == 0, agreement.output
    assert '"carla"' in agreement.output

    # a restart: the four coded fragments get no card again, progress counts them, undo still works
    again = client_for(session_for(fixture, out))
    state = again.get("/api/state").json()
    assert state["progress"]["coded"] == 4 and state["progress"]["queued"] == 39
    assert state["card"]["fragment"]["id"] not in coded
    counts = {d["id"]: {c["value"]: c["n"] for c in d["counts"]} for d in state["progress"]["dimensions"]}
    assert counts["relevant"] == {"ja": 3, "nee": 1}
    assert again.post("/api/undo").json()["card"]["fragment"]["id"] == coded[-1]


def test_agreement_with_the_model_counts_kept_suggestions(fixture, tmp_path):
    client = client_for(session_for(fixture, tmp_path / "out.csv"))
    for _ in range(4):
        state = client.get("/api/state").json()
        card = state["card"]
        values = {d: s["value"] for d, s in card["suggestions"].items()}  # keep every suggestion
        client.post("/api/decide", json={"fragment_id": card["fragment"]["id"], "values": values})
    progress = client.get("/api/status").json()["progress"]
    assert progress["model"]["kept"] == 1.0 and progress["model"]["compared"] >= 4
    relevant = next(d for d in progress["dimensions"] if d["id"] == "relevant")
    assert relevant["compared"] == 4 and relevant["kept"] == 1.0


def test_cards_show_other_coders_unless_blind(fixture, tmp_path):
    session = session_for(fixture, tmp_path / "a.csv", train_codings=[CODINGS])
    assert session.queue.ids()[0] == SCRIPT_ID  # what nobody coded comes first; the team's fragments after it
    seen = client_for(session).get("/api/state", params={"fragment": "caseA/r1.txt#0-208"}).json()
    assert seen["card"]["fragment"]["id"] == "caseA/r1.txt#0-208"
    others = {o["coder"]: o["codes"] for o in seen["card"]["others"]}
    assert others["anna"]["impact"] == "neutraal" and others["bert"]["impact"] == "positief"

    blind_session = session_for(fixture, tmp_path / "b.csv", blind=True, train_codings=[CODINGS])
    assert blind_session.queue.ids()[-1] == SCRIPT_ID
    blind = client_for(blind_session)
    state = blind.get("/api/state").json()
    assert "suggestions" not in state["card"] and "others" not in state["card"]
    assert "model" not in state["progress"]
    assert all("kappa" not in d for d in state["progress"]["dimensions"])
    # fragments other coders coded come first, so the blind coding overlaps theirs for agreement
    assert state["card"]["fragment"]["id"] != SCRIPT_ID and blind.get("/api/state").json()["progress"]["queued"] == 43
    state = blind.post("/api/decide", json={"fragment_id": state["card"]["fragment"]["id"],
                                            "values": {"relevant": "nee"}}).json()
    assert "suggestions" not in state["card"]


def test_a_coder_is_not_shown_what_they_coded_in_the_given_codings(fixture, tmp_path):
    client = client_for(session_for(fixture, tmp_path / "a.csv", coder="anna", train_codings=[CODINGS]))
    state = client.get("/api/state").json()
    assert state["card"]["fragment"]["id"] == SCRIPT_ID  # anna coded every fixture fragment but this one
    assert state["progress"]["coded"] == 42 and state["progress"]["queued"] == 1
    state = client.post("/api/decide", json={"fragment_id": SCRIPT_ID, "values": {"relevant": "nee"}}).json()
    assert state["card"] is None and state["progress"]["queued"] == 0  # the page says everything is coded


def test_bad_input_is_one_clear_line(fixture, tmp_path):
    fragments, model = fixture
    runner = CliRunner()
    base = ["review", "--fragments", str(fragments), "--model", str(model), "--no-browser"]
    cases = [
        (["--codings", str(tmp_path / "o.xlsx"), "--coder", "carla"], "ending in .csv"),
        (["--codings", str(tmp_path / "o.csv"), "--coder", "capcode-model-x"], "person's name"),
        (["--codings", str(CODINGS), "--coder", "carla"], "not those of a review file"),
        (["--codings", str(tmp_path / "o.csv"), "--coder", "carla", "--train-codings", str(tmp_path / "o.csv")],
         "the file this review writes"),
    ]
    (tmp_path / "o.csv").write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
    for extra, message in cases:
        result = runner.invoke(cli, base + extra)
        assert result.exit_code == 1, result.output
        assert message in result.output and "Traceback" not in result.output
    result = runner.invoke(cli, ["review", "--fragments", str(fragments), "--model", str(tmp_path / "none"),
                                 "--codings", str(tmp_path / "p.csv"), "--coder", "carla", "--no-browser"])
    assert result.exit_code == 1 and "no such model folder" in result.output


# ---- retraining in the background ----------------------------------------------------------------


def wait_for(condition, seconds=180.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_retraining_refreshes_suggestions_and_order_without_blocking_requests(fixture, tmp_path):
    params = Params(train=PARAMS.train, review=ReviewParams(retrain_every=3))
    out = tmp_path / "out.csv"
    session = session_for(fixture, out, train_codings=[CODINGS], params=params, retrain=True)
    try:
        client = client_for(session)
        before = client.get("/api/state").json()
        assert {k: before["model"]["retrain"][k] for k in ("enabled", "every", "since", "running", "version")} == \
            {"enabled": True, "every": 3, "since": 0, "running": False, "version": 0}
        for index in range(3):
            state = client.get("/api/state").json()
            client.post("/api/decide", json={"fragment_id": state["card"]["fragment"]["id"],
                                             "values": choose(state, "nee" if index % 2 else "ja")})
        during = client.get("/api/status").json()["model"]["retrain"]
        assert during["running"] or during["version"] == 1  # started at the third decision
        # the page is served while the worker trains: a card and a decision go through meanwhile
        state = client.get("/api/state").json()
        if client.get("/api/status").json()["model"]["retrain"]["running"]:
            answered = client.post("/api/decide", json={"fragment_id": state["card"]["fragment"]["id"],
                                                        "values": {"relevant": "nee"}})
            assert answered.status_code == 200
        status = wait_for(lambda: (lambda s: s if s["model"]["version"] >= 1 else None)(client.get("/api/status").json()))
        assert status["model"]["name"].endswith("+review1")
        assert status["model"]["retrain"]["last"]["ok"] and status["model"]["retrain"]["last"]["fragments"] >= 40
        card = client.get("/api/state").json()["card"]
        assert card["model_version"] >= 1
        assert session.ranking.model.endswith("+review1") and card["suggestions"]
        assert set(session.queue.ids()) == set(session.ranking.order) - session.store.coded_by("carla")
    finally:
        session.retrainer.close()


def test_retraining_waits_rather_than_replace_a_model_by_one_that_learned_from_less(fixture, tmp_path):
    params = Params(train=PARAMS.train, review=ReviewParams(retrain_every=1))
    session = session_for(fixture, tmp_path / "out.csv", params=params, retrain=True)
    try:
        client = client_for(session)
        state = client.get("/api/state").json()
        client.post("/api/decide", json={"fragment_id": state["card"]["fragment"]["id"], "values": {"relevant": "nee"}})
        retrain = client.get("/api/status").json()["model"]["retrain"]
        assert not retrain["running"] and retrain["version"] == 0
        assert "retraining waits" in retrain["message"] and "--train-codings" in retrain["message"]
    finally:
        session.retrainer.close()


def test_session_errors_name_the_problem(fixture, tmp_path):
    session = session_for(fixture, tmp_path / "out.csv")
    with pytest.raises(ReviewError, match="no fragment"):
        session.decide("nope", {"relevant": "ja"})
    with pytest.raises(ReviewError, match="not a dimension"):
        session.decide(session.queue.head(), {"kleur": "rood"})
    with pytest.raises(ReviewError, match="nothing to undo"):
        session.undo()


def test_review_settings_are_read_with_the_others_and_typos_are_refused(tmp_path):
    from pipeline.config import load_params
    from pipeline.errors import ConfigError

    path = tmp_path / "params.yaml"
    path.write_text("review:\n  retrain_every: 5\n  context_fragments: 1\n", encoding="utf-8")
    assert load_params(path).review == ReviewParams(retrain_every=5, context_fragments=1)
    path.write_text("review:\n  retrain_evry: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="review.retrain_evry"):
        load_params(path)
    path.write_text("review:\n  retrain_every: often\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="whole number"):
        load_params(path)
    shipped = load_params(Path(__file__).parent.parent / "params.yaml").review
    assert shipped == ReviewParams() and shipped.retrain_every == 20
