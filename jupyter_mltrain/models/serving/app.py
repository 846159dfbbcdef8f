"""The HTTP face of a model server: TF Serving REST and KServe v2 routes, bearer-token auth, body limits, metrics."""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import tornado.web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from jupyter_mltrain.models.serving import protocols
from jupyter_mltrain.models.serving.batcher import Batcher
from jupyter_mltrain.models.serving.loaders import Predictor
from jupyter_mltrain.models.serving.signature import RequestError

HARD_BODY_LIMIT = 2 << 30  # bodies over the limit are read and dropped up to this size, so the client gets its 413
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass
class Served:
    """One loaded model version and the batcher in front of it."""

    name: str
    version: int
    predictor: Predictor
    batcher: Batcher


class Metrics:
    """The server's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mltrain_serve_requests", "Requests answered", ["model", "protocol", "code"], registry=self.registry
        )
        self.latency = Histogram(
            "mltrain_serve_request_seconds",
            "Time from a request's arrival to its answer",
            ["model", "protocol"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "mltrain_serve_batch_rows", "Rows per model call", ["model"], buckets=_BATCH_BUCKETS, registry=self.registry
        )
        self.inference = Histogram(
            "mltrain_serve_inference_seconds",
            "Time of one model call",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )


@dataclass
class ServerState:
    """What every handler reads: the served models, the token, the body limit and the metrics."""

    models: dict[str, dict[int, Served]]
    token: str | None = None
    max_body: int = 64 << 20
    metrics: Metrics = field(default_factory=Metrics)

    def find(self, name: str, version: str | None) -> Served:
        """The served version (``None``: the newest served) of ``name``; a 404 naming what is served."""
        served = [f"{n}:{v}" for n, versions in self.models.items() for v in versions]
        versions = self.models.get(name)
        if not versions:
            raise RequestError(f"model {name!r} is not served here; served: {', '.join(served)}", 404)
        if version is None:
            return versions[max(versions)]
        if int(version) not in versions:
            raise RequestError(f"model {name!r} version {version} is not served here; served: {', '.join(served)}", 404)
        return versions[int(version)]


class BaseHandler(tornado.web.RequestHandler):
    """JSON errors, the bearer token, and the request's metrics."""

    protocol = "-"

    def initialize(self, state: ServerState) -> None:
        """Take the server's state (tornado passes it from the route)."""
        self.state = state
        self.model_label = "-"
        self.started = time.perf_counter()

    def prepare(self) -> None:
        """Refuse a request without the server's token (when it has one)."""
        if self.state.token is not None:
            sent = self.request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {self.state.token}".encode()):
                self.set_header("WWW-Authenticate", 'Bearer realm="mltrain serve"')
                raise RequestError("this server needs the header 'Authorization: Bearer <token>'", 401)

    def send_json(self, data: Any, status: int = 200) -> None:
        """Answer ``data`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as ``{"error": message}``."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RequestError):
            message = str(exc)
        elif isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message or self._reason
        elif exc is not None:
            message = f"the model failed: {type(exc).__name__}: {exc}"
        else:
            message = self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Use a RequestError's own status."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RequestError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """A bad request is the client's error, not a server traceback."""
        if not isinstance(value, RequestError):
            super().log_exception(typ, value, tb)

    def on_finish(self) -> None:
        """Count the request and its latency."""
        if self.model_label != "-":
            metrics = self.state.metrics
            metrics.requests.labels(self.model_label, self.protocol, str(self.get_status())).inc()
            metrics.latency.labels(self.model_label, self.protocol).observe(time.perf_counter() - self.started)


@tornado.web.stream_request_body
class PredictHandler(BaseHandler):
    """A handler whose JSON body is read in chunks and refused with 413 past the limit."""

    def prepare(self) -> None:
        """Check the token and the declared size before the body arrives."""
        super().prepare()
        self.chunks: list[bytes] = []
        self.size = 0
        declared = int(self.request.headers.get("Content-Length", "0") or 0)
        if declared > HARD_BODY_LIMIT:
            raise RequestError(self._too_big(declared), 413)
        if self.request.connection is not None:
            self.request.connection.set_max_body_size(max(declared, self.state.max_body) + 1)  # type: ignore[attr-defined]

    def _too_big(self, size: int) -> str:
        return f"the request body ({size >> 20} MB) is over this server's limit of {self.state.max_body >> 20} MB"

    def data_received(self, chunk: bytes) -> None:
        """Keep the body while it is under the limit; past it, read on and drop it."""
        self.size += len(chunk)
        if self.size <= self.state.max_body:
            self.chunks.append(chunk)
        else:
            self.chunks = []

    def body(self) -> Any:
        """The request's JSON."""
        if self.size > self.state.max_body:
            raise RequestError(self._too_big(self.size), 413)
        try:
            return json.loads(b"".join(self.chunks))
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestError(f"the body is not valid JSON: {exc}") from None


class TFPredict(PredictHandler):
    """``POST /v1/models/NAME[/versions/V]:predict``."""

    protocol = "tfserving"

    async def post(self, name: str, version: str | None) -> None:
        """Predict with TF Serving's request and answer format."""
        served = self.state.find(name, version)
        self.model_label = f"{served.name}:{served.version}"
        inputs, fmt = protocols.tf_decode(served.predictor.signature, self.body())
        outputs = await served.batcher.predict(inputs)
        self.send_json(protocols.tf_encode(served.predictor.signature, outputs, fmt))


class TFModel(BaseHandler):
    """``GET /v1/models/NAME[/versions/V][/metadata]``."""

    def get(self, name: str, version: str | None, metadata: str | None) -> None:
        """The version's status, or its signature."""
        served = self.state.find(name, version)
        if metadata:
            self.send_json(protocols.tf_metadata(served.name, served.version, served.predictor.signature))
        else:
            self.send_json(protocols.tf_status(served.version))


class KServeInfer(PredictHandler):
    """``POST /v2/models/NAME[/versions/V]/infer``."""

    protocol = "kserve"

    async def post(self, name: str, version: str | None) -> None:
        """Predict with the Open Inference Protocol."""
        served = self.state.find(name, version)
        self.model_label = f"{served.name}:{served.version}"
        inputs, asked, request_id = protocols.kserve_decode(served.predictor.signature, self.body())
        outputs = await served.batcher.predict(inputs)
        self.send_json(protocols.kserve_encode(served.name, served.version, outputs, asked, request_id))


class KServeModel(BaseHandler):
    """``GET /v2/models/NAME[/versions/V][/ready]``."""

    def get(self, name: str, version: str | None, ready: str | None) -> None:
        """The version's metadata, or whether it is ready."""
        served = self.state.find(name, version)
        if ready:
            self.send_json({"name": served.name, "ready": True})
        else:
            p = served.predictor
            self.send_json(protocols.kserve_metadata(served.name, served.version, p.platform, p.signature))


class KServeHealth(BaseHandler):
    """``GET /v2/health/live`` and ``/v2/health/ready``."""

    def get(self, which: str) -> None:
        """Live once it answers; ready once every model is loaded, which is before it listens."""
        self.send_json({which: True})


class KServeServer(BaseHandler):
    """``GET /v2``: the server's metadata."""

    def get(self) -> None:
        """Name, version and extensions."""
        from jupyter_mltrain import __version__

        self.send_json({"name": "mltrain-serve", "version": __version__, "extensions": []})


class MetricsHandler(BaseHandler):
    """``GET /metrics``: Prometheus text format."""

    def get(self) -> None:
        """Requests, latencies, batch sizes and model-call times."""
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(generate_latest(self.state.metrics.registry))


class NotFound(BaseHandler):
    """Any other path: 404 naming the routes."""

    def prepare(self) -> None:
        """Answer 404 whatever the verb."""
        super().prepare()
        raise RequestError(
            f"no route {self.request.path!r}: the routes are /v1/models/NAME[:predict|/metadata], "
            "/v2/models/NAME[/infer|/ready], /v2/health/live|ready and /metrics",
            404,
        )


def make_app(state: ServerState) -> tornado.web.Application:
    """The tornado application serving ``state``'s models."""
    name, version = r"([A-Za-z0-9][A-Za-z0-9._-]*)", r"(?:/versions/(\d+))?"
    args = {"state": state}
    return tornado.web.Application(
        [
            (rf"/v1/models/{name}{version}:predict", TFPredict, args),
            (rf"/v1/models/{name}{version}(/metadata)?", TFModel, args),
            (rf"/v2/models/{name}{version}/infer", KServeInfer, args),
            (rf"/v2/models/{name}{version}(/ready)?", KServeModel, args),
            (r"/v2/health/(live|ready)", KServeHealth, args),
            (r"/v2/?", KServeServer, args),
            (r"/metrics", MetricsHandler, args),
        ],
        default_handler_class=NotFound,
        default_handler_args=args,
        compress_response=False,
    )
