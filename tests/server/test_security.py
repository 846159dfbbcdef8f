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
    ("GET", "runs"), ("POST", "runs"), ("POST", "runs/preview"), ("GET", f"runs/{RUN}"), ("DELETE", f"runs/{RUN}"),
    ("POST", f"runs/{RUN}/rerun"), ("GET", f"runs/{RUN}/logs"), ("GET", f"runs/{RUN}/metrics"),
    ("GET", f"runs/{RUN}/files"), ("GET", f"runs/{RUN}/files/outputs/x"), ("GET", "targets"),
]
SOCKETS = ["runs/stream", f"runs/{RUN}/stream"]


def url(port: int, base: str, path: str) -> str:
    return f"http://localhost:{port}{base}mltrain/api/{path}"


def route(base: str, path: str) -> str:
    return f"{base}mltrain/api/{path}"


async def test_every_route_refuses_requests_without_credentials(jp_serverapp, http_server_client, jp_http_port, jp_base_url) -> None:
    for method, path in ROUTES:
        body = b"{}" if method == "POST" else None
        response = await http_server_client.fetch(route(jp_base_url, path), method=method, body=body,
                                                  raise_error=False, allow_nonstandard_methods=True)
        assert response.code == 403, (method, path, response.code)
    for path in SOCKETS:
        ws_url = url(jp_http_port, jp_base_url, path).replace("http", "ws", 1)
        with pytest.raises(HTTPClientError) as info:
            await websocket_connect(HTTPRequest(ws_url))
        assert info.value.code == 403, path


async def test_state_changes_with_a_login_cookie_need_the_xsrf_token(api, jp_serverapp, http_server_client, jp_http_port,
                                                                     jp_base_url, jp_root_dir: Path) -> None:
    token = jp_serverapp.identity_provider.token
    first = await http_server_client.fetch(route(jp_base_url, "runs") + f"?token={token}")
    cookies = "; ".join(c.split(";", 1)[0] for c in first.headers.get_list("Set-Cookie"))
    assert "username-" in cookies, "token login must set the login cookie"
    (jp_root_dir / "ok.py").write_text("print('ok')\n")
    body = json.dumps({"kind": "script", "path": "ok.py"})
    refused = await http_server_client.fetch(route(jp_base_url, "runs"), method="POST", body=body,
                                             headers={"Cookie": cookies}, raise_error=False)
    assert refused.code == 403 and b"_xsrf" in refused.body
    xsrf = "deadbeefdeadbeef"
    accepted = await http_server_client.fetch(
        route(jp_base_url, "runs"), method="POST", body=body, raise_error=False,
        headers={"Cookie": f"{cookies}; _xsrf={xsrf}", "X-XSRFToken": xsrf})
    assert accepted.code == 201, accepted.body
    assert (await wait_final(api, json.loads(accepted.body)["run"]["id"]))["status"] == "Completed"
    code, body = await api("GET", "runs")
    assert body["total"] == 1  # only the accepted request launched a run


async def test_cross_origin_websockets_with_the_login_cookie_are_refused(jp_serverapp, http_server_client, jp_http_port,
                                                                        jp_base_url) -> None:
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
            await websocket_connect(HTTPRequest(ws_url, headers={"Cookie": cookies, "Origin": "http://evil.example.com"}))
        assert info.value.code == 403, path
    ok = await websocket_connect(HTTPRequest(ws(SOCKETS[0]), headers={"Cookie": cookies, "Origin": f"http://{host}"}))
    assert json.loads(await ok.read_message())["type"] == "runs"
    ok.close()
