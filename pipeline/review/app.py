"""The review page's web app (Starlette): the page, its script and style, and a small JSON API.

Routes (every one, the static files included, needs the session's token):

    GET  /                 the page (Jinja2 template; with ?token=... it sets the cookie and
                           redirects to /, so the token leaves the address bar)
    GET  /api/state        the card to code (?fragment=ID: that one, if still to code), progress, model
    GET  /api/status       progress and model only (the page polls it to notice a retrained model)
    POST /api/decide       {fragment_id, values: {dimension: value}, note}: save, then the next card
    POST /api/skip         {fragment_id}: send the card to the back of the queue
    POST /api/undo         take back the last decision; its card comes back with its codes
    GET  /static/...       review.js and review.css, shipped in the package

The token comes as `?token=` (the address capcode prints), as the cookie set from it, or as
the `X-Capcode-Token` header. Requests that change something need the header (the page's
script sends it): a page on another site can make a browser send a cookie, never the header.
Without a valid token every route answers 403. Responses forbid caching, framing, referrers
and any script or style not served by the app itself.
"""

import hmac
import json
from pathlib import Path
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .session import ReviewError

HERE = Path(__file__).resolve().parent
TOKEN_HEADER = "x-capcode-token"
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
FORBIDDEN = ("capcode review: this address needs its token. Open the address that 'capcode review' printed "
             "(http://127.0.0.1:PORT/?token=...).\n")


def cookie_name(port) -> str:
    """One cookie per port: browsers share cookies between ports of the same host."""
    return f"capcode-review-{port or 0}"


class TokenGate:
    """ASGI middleware: 403 for any request without the token; security headers on every response."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token

    def _valid(self, candidate) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate).encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        port = (scope.get("server") or (None, None))[1]
        cookies = Request(scope).cookies
        from_header = self._valid(headers.get(TOKEN_HEADER))
        from_query = self._valid((query.get("token") or [""])[0])
        from_cookie = self._valid(cookies.get(cookie_name(port)))
        changes = scope["method"] not in ("GET", "HEAD")
        allowed = from_header if changes else (from_header or from_query or from_cookie)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        if not allowed:
            response = PlainTextResponse(FORBIDDEN, status_code=403)
            return await response(scope, receive, send_with_headers)
        if from_query and scope["path"] == "/" and not changes:
            # the token moves into a cookie and out of the address bar (and the browser's history)
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(cookie_name(port), self.token, httponly=True, samesite="strict", path="/")
            return await response(scope, receive, send_with_headers)
        return await self.app(scope, receive, send_with_headers)


def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def build_app(session, token: str) -> Starlette:
    """The review app for one session, guarded by `token`."""
    environment = _templates()
    codebook = session.codebook

    def page(request: Request) -> Response:
        dimensions = [{"id": d.id, "label": d.label, "description": d.description,
                       "condition": {"dimension": d.condition.dimension, "value": d.condition.value}
                       if d.condition else None,
                       "values": [{"id": v.id, "label": v.label, "description": v.description,
                                   "key": session.keys.get((d.id, v.id), "")} for v in d.values]}
                      for d in codebook.dimensions]
        config = {"coder": session.coder, "blind": session.blind, "dimensions": dimensions, "token": token}
        html = environment.get_template("review.html").render(
            coder=session.coder, blind=session.blind, codebook=codebook, dimensions=dimensions,
            config_json=json.dumps(config, ensure_ascii=False))  # an attribute, escaped by the template
        return Response(html, media_type="text/html; charset=utf-8")

    def answer(call):
        try:
            return JSONResponse(call())
        except ReviewError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except OSError as exc:  # the codings file cannot be written (disk full, removed folder, ...)
            return JSONResponse({"error": f"{session.store.path}: {exc.strerror or exc}; this decision is NOT "
                                          "saved. Fix the problem, then save again."}, status_code=500)

    def state(request: Request) -> Response:
        return answer(lambda: session.state(request.query_params.get("fragment") or None))

    def status(request: Request) -> Response:
        return answer(session.status)

    async def body(request: Request) -> dict:
        try:
            data = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ReviewError("the request is not JSON.") from None
        if not isinstance(data, dict):
            raise ReviewError("the request is not a JSON object.")
        return data

    async def decide(request: Request) -> Response:
        try:
            data = await body(request)
        except ReviewError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return await _in_thread(answer, lambda: session.decide(str(data.get("fragment_id", "")), data.get("values"),
                                                               str(data.get("note") or "")))

    async def skip(request: Request) -> Response:
        try:
            data = await body(request)
        except ReviewError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return await _in_thread(answer, lambda: session.skip(str(data.get("fragment_id", ""))))

    async def undo(request: Request) -> Response:
        return await _in_thread(answer, session.undo)

    routes = [
        Route("/", page),
        Route("/api/state", state),
        Route("/api/status", status),
        Route("/api/decide", decide, methods=["POST"]),
        Route("/api/skip", skip, methods=["POST"]),
        Route("/api/undo", undo, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes)
    return TokenGate(app, token)


async def _in_thread(function, *args):
    """Run blocking work (writing and syncing the codings file) off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)
