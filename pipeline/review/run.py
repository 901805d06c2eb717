"""`capcode review`: read the inputs, prepare the session, serve the page on 127.0.0.1 until Ctrl-C."""

import logging
import secrets
import socket
import sys
from pathlib import Path

from ..errors import ConfigError, InputError, NOTICE

log = logging.getLogger("capcode")

HOST = "127.0.0.1"
FIRST_PORT = 8765  # without --port: the first free port from here on
PORTS_TRIED = 100


def check_coder(coder: str) -> str:
    from ..codings import MODEL_CODER_PREFIX

    name = (coder or "").strip()
    if not name or name != coder:
        raise ConfigError(f"--coder: {coder!r}; give your name or initials without spaces around it.")
    if name.startswith(MODEL_CODER_PREFIX):
        raise ConfigError(f"--coder: names starting with '{MODEL_CODER_PREFIX}' are kept for a model's "
                          "suggestions; give a person's name.")
    return name


def _others(codings) -> dict:
    out = {}
    for coding in codings:
        out.setdefault(coding.fragment_id, {}).setdefault(coding.coder, {}).setdefault(coding.dimension, coding.value)
    return out


def open_session(fragments_path, model_dir, out_path, coder, params, train_codings=(), blind=False,
                 codebook_name=None, retrain=True, trust_model=False):
    """Everything the page needs, read and checked: a ReviewSession (with its retraining worker if `retrain`)."""
    from ..archives import ZipLimits
    from ..codings import human_codings, read_codings
    from ..files import read_fragments
    from ..learn.cache import using_cache
    from ..predict import model_thresholds, open_model
    from ..train import cache_for
    from ..validation import read_checked_codings
    from .queue import rank_fragments
    from .retrain import RetrainRequest, Retrainer
    from .session import ReviewSession
    from .store import DecisionStore

    coder = check_coder(coder)
    fragments_path, out_path = Path(fragments_path).resolve(), Path(out_path)
    train_codings = [Path(p) for p in train_codings]
    for path in train_codings:
        if out_path.exists() and path.exists() and path.resolve() == out_path.resolve():
            raise ConfigError(f"--train-codings {path} is the file this review writes (--codings); leave it out: "
                              "the decisions in it are always learned from.")
    codebook_source = codebook_name or params.codebook
    model, codebook, manifest = open_model(model_dir, codebook_source, trust_model, ZipLimits.from_params(params.limits))
    fragments = list(read_fragments(fragments_path))
    if not fragments:
        raise InputError(f"{fragments_path}: no fragments; make them with 'capcode segment'.")
    given = human_codings(read_checked_codings([str(p) for p in train_codings], codebook, fragments)) \
        if train_codings else []
    store = DecisionStore(out_path)
    if store.decisions:  # a review file from before: checked like any codings file
        read_codings([str(out_path)], codebook=codebook, fragments=fragments)
        known = {f.id for f in fragments}
        strangers = {d.fragment_id for d in store.decisions} - known
        if strangers:
            log.warning("%s: %d coded fragment(s) are not in %s; they stay in the file but get no card.",
                        out_path, len(strangers), fragments_path)
    log.log(NOTICE, "preparing suggestions for %d fragments with model %s ...", len(fragments), model.name)
    with using_cache(cache_for(fragments_path, params)):
        ranking = rank_fragments(model, codebook, fragments, model_thresholds(model, params.predict))
    session = ReviewSession(fragments, codebook, coder, store, ranking, blind=blind, others=_others(given),
                            context_fragments=params.review.context_fragments,
                            trained_on=int(manifest.get("training_data", {}).get("fragments", 0)),
                            given_coded=frozenset(c.fragment_id for c in given))
    if retrain and params.review.retrain_every > 0:
        def request(version):
            return RetrainRequest(str(fragments_path), tuple(str(p) for p in train_codings) + (str(out_path),),
                                  params, codebook_source, f"{model.name}+review{version}", version)

        session.retrainer = Retrainer(params.review.retrain_every, request, session.install,
                                      session.enough_to_retrain, warm_up=True)
    return session


def bind(port=None) -> socket.socket:
    """A listening socket on 127.0.0.1: `port`, or the first free one from 8765 on."""
    candidates = [port] if port is not None else range(FIRST_PORT, FIRST_PORT + PORTS_TRIED)
    for candidate in candidates:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, candidate))
        except OSError:
            sock.close()
            continue
        sock.listen(64)
        sock.set_inheritable(True)
        return sock
    if port is not None:
        raise ConfigError(f"--port {port}: in use on {HOST} (another review?); give another port or leave "
                          "--port out to take a free one.")
    raise ConfigError(f"no free port between {FIRST_PORT} and {FIRST_PORT + PORTS_TRIED - 1} on {HOST}; "
                      "give one with --port.")


def serve(session, port=None, open_browser=True, echo=print) -> None:
    """Serve the page until Ctrl-C; print its address with the token first."""
    import uvicorn

    from .app import build_app

    token = secrets.token_urlsafe(24)
    sock = bind(port)
    actual = sock.getsockname()[1]
    url = f"http://{HOST}:{actual}/?token={token}"
    app = build_app(session, token)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, lifespan="off")
    server = uvicorn.Server(config)
    remaining = len(session.queue)
    log.log(NOTICE, "reviewing as %s: %d of %d fragments to code; every decision is saved at once to %s. "
            "Stop with Ctrl-C.", session.coder, remaining, len(session.fragments), session.store.path)
    echo(url)
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stops cleanly on Ctrl-C, then passes the signal on
        pass
    finally:
        if session.retrainer is not None:
            session.retrainer.close()
        sock.close()
    log.log(NOTICE, "%d decisions by %s in %s.", len(session.store.by(session.coder)), session.coder,
            session.store.path)


def run_review(fragments_path, model_dir, out_path, coder, params, train_codings=(), port=None,
               open_browser=True, blind=False, codebook_name=None, echo=print, trust_model=False) -> None:
    """`capcode review`: prepare the session and serve it (blocks until the server stops)."""
    session = open_session(fragments_path, model_dir, out_path, coder, params, train_codings, blind, codebook_name,
                           trust_model=trust_model)
    try:
        serve(session, port, open_browser, echo)
    finally:
        if session.retrainer is not None:
            session.retrainer.close()
