"""With an authorizer that denies the ``mltrain`` resource, every route and websocket answers 403, even with a token."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer
from test_security import ROUTES, SOCKETS
from tornado.httpclient import HTTPClientError


class DenyMLTrain(Authorizer):
    """Allows everything but jupyter_mltrain's resource."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return resource != "mltrain"


@pytest.fixture
def jp_server_config(home) -> dict:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mltrain": True}, "authorizer_class": DenyMLTrain}}


async def test_a_denying_authorizer_closes_every_route(api, jp_ws_fetch) -> None:
    for method, path in ROUTES:
        code, body = await api(method, *path.split("/"))
        assert code == 403, (method, path, code, body)
    for path in SOCKETS:
        with pytest.raises(HTTPClientError) as info:
            await jp_ws_fetch("mltrain", "api", *path.split("/"))
        assert info.value.code == 403, path
