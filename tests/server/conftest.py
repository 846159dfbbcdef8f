"""A real jupyter_server with the extension enabled (pytest-jupyter), on the test's own MLTRAIN_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# pytest-jupyter's plugin is loaded for this folder only, by its own pytest run (see the Makefile):
# its autouse fixtures (event loop, ServerApp cleanup) must not touch the other tests.


@pytest.fixture
def jp_server_config(home: Path) -> dict:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mltrain": True}}}


@pytest.fixture
def api(jp_fetch):
    """``await api("GET", "runs", ...)`` → (status, JSON body); errors are returned, not raised."""
    from tornado.httpclient import HTTPClientError

    async def call(method: str, *parts: str, body=None, params=None, headers=None):
        kwargs = {"method": method, "params": params or {}, "headers": headers or {}}
        if body is not None:
            kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b"{}"
        if method == "DELETE":
            kwargs["allow_nonstandard_methods"] = True
        try:
            response = await jp_fetch("mltrain", "api", *parts, **kwargs)
        except HTTPClientError as exc:
            response = exc.response
            if response is None:
                raise
        raw = response.body or b""
        try:
            return response.code, json.loads(raw)
        except ValueError:
            return response.code, raw

    return call
