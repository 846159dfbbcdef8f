"""Every route and websocket of the extension: 403 without a token, XSRF on state changes, no cross-origin sockets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from serverutil import wait_final
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

RUN = "20990101-000000-abcdef"
ROUTES = [
    ("GET", "runs"),
    ("POST", "runs"),
    ("POST", "runs/preview"),
    ("GET", f"runs/{RUN}"),
    ("DELETE", f"runs/{RUN}"),
    ("PATCH", f"runs/{RUN}"),
    ("POST", f"runs/{RUN}/rerun"),
    ("GET", f"runs/{RUN}/logs"),
    ("GET", f"runs/{RUN}/metrics"),
    ("GET", f"runs/{RUN}/files"),
    ("GET", f"runs/{RUN}/files/outputs/x"),
    ("GET", "targets"),
    ("POST", f"runs/{RUN}/register"),
    ("GET", "models"),
    ("GET", "models/m/1"),
    ("DELETE", "models/m/1"),
    ("PUT", "models/m/1/alias"),
    ("GET", "models/m/1/download"),
    ("GET", "services"),
    ("POST", "services"),
    ("DELETE", "services/svc"),
    ("GET", "sweeps"),
    ("GET", "sweeps/sweep-x"),
    ("DELETE", "sweeps/sweep-x"),
]
SOCKETS = ["runs/stream", f"runs/{RUN}/stream"]


def url(port: int, base: str, path: str) -> str:
    return f"http://localhost:{port}{base}mltrain/api/{path}"


def route(base: str, path: str) -> str:
    return f"{base}mltrain/api/{path}"


async def test_every_route_refuses_requests_without_credentials(
    jp_serverapp, http_server_client, jp_http_port, jp_base_url
) -> None:
    for method, path in ROUTES:
        body = b"{}" if method in ("POST", "PUT") else None
        response = await http_server_client.fetch(
            route(jp_base_url, path), method=method, body=body, raise_error=False, allow_nonstandard_methods=True
        )
        assert response.code == 403, (method, path, response.code)
    for path in SOCKETS:
        ws_url = url(jp_http_port, jp_base_url, path).replace("http", "ws", 1)
        with pytest.raises(HTTPClientError) as info:
            await websocket_connect(HTTPRequest(ws_url))
        assert info.value.code == 403, path


async def test_state_changes_with_a_login_cookie_need_the_xsrf_token(
    api, jp_serverapp, http_server_client, jp_http_port, jp_base_url, jp_root_dir: Path
) -> None:
    token = jp_serverapp.identity_provider.token
    first = await http_server_client.fetch(route(jp_base_url, "runs") + f"?token={token}")
    cookies = "; ".join(c.split(";", 1)[0] for c in first.headers.get_list("Set-Cookie"))
    assert "username-" in cookies, "token login must set the login cookie"
    (jp_root_dir / "ok.py").write_text("print('ok')\n")
    body = json.dumps({"kind": "script", "path": "ok.py"})
    refused = await http_server_client.fetch(
        route(jp_base_url, "runs"), method="POST", body=body, headers={"Cookie": cookies}, raise_error=False
    )
    assert refused.code == 403 and b"_xsrf" in refused.body
    xsrf = "deadbeefdeadbeef"
    accepted = await http_server_client.fetch(
        route(jp_base_url, "runs"),
        method="POST",
        body=body,
        raise_error=False,
        headers={"Cookie": f"{cookies}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
    )
    assert accepted.code == 201, accepted.body
    assert (await wait_final(api, json.loads(accepted.body)["run"]["id"]))["status"] == "Completed"
    code, body = await api("GET", "runs")
    assert body["total"] == 1  # only the accepted request launched a run


async def test_cross_origin_websockets_with_the_login_cookie_are_refused(
    jp_serverapp, http_server_client, jp_http_port, jp_base_url
) -> None:
    # As in jupyter_server, a token proves the caller is not a foreign page, so only cookie logins are origin-checked.
    token = jp_serverapp.identity_provider.token
    first = await http_server_client.fetch(route(jp_base_url, "runs") + f"?token={token}")
    cookies = "; ".join(c.split(";", 1)[0] for c in first.headers.get_list("Set-Cookie"))
    host = first.effective_url.split("/")[2]  # the login cookie is named after the host the browser used

    def ws(path: str) -> str:
        return f"ws://{host}{route(jp_base_url, path)}"

    for path in SOCKETS:
        ws_url = ws(path)
        with pytest.raises(HTTPClientError) as info:
            await websocket_connect(
                HTTPRequest(ws_url, headers={"Cookie": cookies, "Origin": "http://evil.example.com"})
            )
        assert info.value.code == 403, path
    ok = await websocket_connect(HTTPRequest(ws(SOCKETS[0]), headers={"Cookie": cookies, "Origin": f"http://{host}"}))
    assert json.loads(await ok.read_message())["type"] == "runs"
    ok.close()


def registered_routes() -> tuple[set[tuple[str, str]], set[str]]:
    """Every (verb, path) and websocket the extension registers, read from ``MLTrainApp.initialize_handlers``,
    with the path's parameters filled in as ``ROUTES`` writes them."""
    import re

    from tornado.web import RequestHandler
    from tornado.websocket import WebSocketHandler

    from jupyter_mltrain.server.app import MLTrainApp

    app = MLTrainApp()
    app.initialize_handlers()
    fill = {"run_id": RUN, "path": "outputs/x", "name": "m", "version": "1", "service_id": "svc", "sweep_id": "sweep-x"}
    verbs, sockets = set(), set()
    for pattern, handler, *_ in app.handlers:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: fill[m.group(1)], pattern)
        assert path.startswith("/mltrain/api/") and "(" not in path, pattern
        path = path[len("/mltrain/api/") :]
        if issubclass(handler, WebSocketHandler):
            sockets.add(path)
            continue
        ours = [k for k in handler.__mro__ if k.__module__.startswith("jupyter_mltrain")]
        for verb in RequestHandler.SUPPORTED_METHODS:
            if any(verb.lower() in vars(k) for k in ours):
                verbs.add((verb, path))
    return verbs, sockets


def test_the_route_lists_above_cover_every_route_the_extension_registers() -> None:
    """A new route or verb without its 403/authorizer tests fails here: add it to ROUTES or SOCKETS."""
    verbs, sockets = registered_routes()
    assert verbs == set(ROUTES), (
        f"untested: {sorted(verbs - set(ROUTES))}; listed but gone: {sorted(set(ROUTES) - verbs)}"
    )
    assert sockets == set(SOCKETS), (
        f"untested: {sorted(sockets - set(SOCKETS))}; gone: {sorted(set(SOCKETS) - sockets)}"
    )


async def test_every_state_changing_route_with_a_login_cookie_needs_the_xsrf_token(
    jp_serverapp, http_server_client, jp_base_url
) -> None:
    token = jp_serverapp.identity_provider.token
    first = await http_server_client.fetch(route(jp_base_url, "runs") + f"?token={token}")
    cookies = "; ".join(c.split(";", 1)[0] for c in first.headers.get_list("Set-Cookie"))
    changing = [(m, p) for m, p in ROUTES if m not in ("GET", "HEAD", "OPTIONS")]
    assert len(changing) >= 4
    for method, path in changing:
        response = await http_server_client.fetch(
            route(jp_base_url, path),
            method=method,
            headers={"Cookie": cookies},
            body=b"{}" if method != "DELETE" else None,
            raise_error=False,
            allow_nonstandard_methods=True,
        )
        assert response.code == 403 and b"_xsrf" in response.body, (method, path, response.code, response.body)


async def test_secret_values_never_leave_through_the_api(api, jp_ws_fetch, jp_root_dir: Path) -> None:
    import asyncio
    import hashlib
    import secrets

    secret = f"s3cr3t-{secrets.token_hex(12)}"
    hidden = f"flagged-{secrets.token_hex(12)}"
    (jp_root_dir / "t.py").write_text(
        "import hashlib, os\nprint(hashlib.sha256(os.environ['API_TOKEN'].encode())"
        ".hexdigest(), os.environ['PLAIN'], flush=True)\n"
    )
    body = {"kind": "script", "path": "t.py", "env": {"API_TOKEN": secret, "db_password": hidden, "PLAIN": "shown"}}
    replies = []
    code, preview = await api("POST", "runs/preview", body=body)
    assert code == 200, preview
    assert preview["plan"]["env"]["API_TOKEN"] == "<secret>" and preview["plan"]["env"]["PLAIN"] == "shown"
    code, created = await api("POST", "runs", body=body)
    assert code == 201, created
    run_id = created["run"]["id"]
    assert (await wait_final(api, run_id))["status"] == "Completed"
    replies += [preview, created]
    for parts in (
        ("runs",),
        ("runs", run_id),
        ("runs", run_id, "logs"),
        ("runs", run_id, "metrics"),
        ("runs", run_id, "files"),
        ("runs", run_id, "files", "logs", "rank-0.log"),
    ):
        code, reply = await api("GET", *parts)
        assert code == 200, (parts, reply)
        replies.append(reply)
    ws = await jp_ws_fetch("mltrain", "api", "runs", run_id, "stream")
    while True:
        message = await asyncio.wait_for(ws.read_message(), timeout=60)
        assert message is not None
        replies.append(message)
        if json.loads(message)["type"] == "end":
            break
    ws.close()
    text = json.dumps(replies, default=lambda b: b.decode(errors="replace"))
    assert secret not in text and hidden not in text, "a secret value left through the API"
    spec_env = replies[3]["spec"]["environment"]["variables"]
    assert spec_env == {"API_TOKEN": "<secret>", "db_password": "<secret>", "PLAIN": "shown"}
    assert f"{hashlib.sha256(secret.encode()).hexdigest()} shown" in replies[4]["data"], "the rank got the real value"
