"""The jupyter_server extension serving runs to the JupyterLab side panel (``/mltrain/api/``)."""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from jupyter_mltrain.server.app import MLTrainApp

    return [{"module": "jupyter_mltrain.server.app", "app": MLTrainApp}]
