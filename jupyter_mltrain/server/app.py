"""The jupyter_server extension: REST and websockets under ``/mltrain/api/`` for the side panel.

Every handler reads through the engine's readers (``Store``, ``RunFolder``) and submits
through ``submit()``: there is no second code path. Settings are traitlets, e.g. in
``jupyter_server_config.py``: ``c.MLTrainApp.stream_interval = 0.25``.
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int, Unicode

from jupyter_mltrain.engine.store import Store


class MLTrainApp(ExtensionApp):
    """Serves the run store to the JupyterLab panel."""

    name = "jupyter_mltrain"
    load_other_extensions = True

    home = Unicode(
        "", config=True, help="MLTRAIN_HOME to serve (default: $MLTRAIN_HOME, else Jupyter's data dir + /mltrain)"
    )
    stream_interval = Float(0.25, config=True, help="seconds between websocket pushes (coalescing)")
    list_limit = Int(500, config=True, help="the most runs one GET runs page may return")
    log_chunk_bytes = Int(256 * 1024, config=True, help="the most log bytes one message or GET logs returns")

    def initialize_settings(self) -> None:
        """Open the store once; handlers share it (it is thread-safe)."""
        self.store = Store(self.home or None)
        self.settings.update({"mltrain_app": self})

    def initialize_handlers(self) -> None:
        """Route /mltrain/api/…"""
        from jupyter_mltrain.server import handlers, models, streams, sweeps

        run = r"(?P<run_id>[0-9A-Za-z_.-]+)"
        base = "/mltrain/api"
        version = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)/(?P<version>[0-9]+)"
        self.handlers.extend(
            [
                (rf"{base}/runs", handlers.RunsHandler),
                (rf"{base}/runs/preview", handlers.PreviewHandler),
                (rf"{base}/runs/stream", streams.RunListStream),
                (rf"{base}/runs/{run}", handlers.RunHandler),
                (rf"{base}/runs/{run}/rerun", handlers.RerunHandler),
                (rf"{base}/runs/{run}/logs", handlers.LogsHandler),
                (rf"{base}/runs/{run}/metrics", handlers.MetricsHandler),
                (rf"{base}/runs/{run}/files", handlers.FileListHandler),
                (rf"{base}/runs/{run}/files/(?P<path>.+)", handlers.FileHandler),
                (rf"{base}/runs/{run}/stream", streams.RunStream),
                (rf"{base}/targets", handlers.TargetsHandler),
                (rf"{base}/runs/{run}/register", models.RegisterHandler),
                (rf"{base}/models", models.ModelsHandler),
                (rf"{base}/models/{version}", models.ModelHandler),
                (rf"{base}/models/{version}/alias", models.ModelAliasHandler),
                (rf"{base}/models/{version}/download", models.ModelDownloadHandler),
                (rf"{base}/services", models.ServicesHandler),
                (rf"{base}/services/(?P<service_id>[0-9A-Za-z_.-]+)", models.ServiceHandler),
                (rf"{base}/sweeps", sweeps.SweepsHandler),
                (rf"{base}/sweeps/(?P<sweep_id>sweep-[0-9A-Za-z_-]+)", sweeps.SweepHandler),
            ]
        )

    async def stop_extension(self) -> None:
        """Close the store's index connection."""
        self.store.close()
