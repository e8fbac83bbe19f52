"""The admin port of every process: /healthz, /readyz and /metrics (CONTRACT.md §9).

It runs on the process's own event loop beside the work it reports on, and leaves the process's
signals alone: the service or the gateway decides when it stops. Every few seconds it also
evaluates readiness (the `ready` gauge) and takes the samples that are measured by asking
(consumer lag, dead letters, outbox backlog).
"""

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared import metrics
from shared.errors import PROBLEM_JSON, FieldError, problem
from shared.logging import get_logger

log = get_logger(__name__)

# What keeps the process from being ready: one entry per dependency missing, and why.
Readiness = Callable[[], Awaitable[list[FieldError]]]
Sample = Callable[[], Awaitable[None]]


def readiness_response(missing: Sequence[FieldError]) -> Response:
    """200 when nothing is missing, else 503 problem+json naming what is."""
    if not missing:
        return JSONResponse({"status": "ready"})
    detail = "not ready: " + ", ".join(entry.field for entry in missing)
    return JSONResponse(problem(503, detail, missing), status_code=503, media_type=PROBLEM_JSON)


def admin_app(readiness: Readiness) -> Starlette:
    """The admin endpoints over a process's readiness check and the metrics registry."""

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        return readiness_response(await readiness())

    async def metrics_text(request: Request) -> Response:
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_text, methods=["GET"]),
        ]
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: SIGTERM belongs to the process, not to its admin port."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int, *, shared: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        # The gateway's workers each serve the one admin port; the kernel spreads connections.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class AdminServer:
    """Serves a process's admin endpoints and keeps its sampled metrics current."""

    def __init__(
        self, service: str, readiness: Readiness, *, sample: Sample | None = None, interval: float = 5.0
    ) -> None:
        self.service = service
        self.readiness = readiness
        self.sample = sample
        self.interval = interval
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, host: str, port: int, *, shared_port: bool = False) -> None:
        """Listen on host:port (port 0: any free one, see `url`) and start sampling."""
        sock = _listen(host, port, shared=shared_port)
        bound_host, bound_port = sock.getsockname()[:2]
        self.url = f"http://{f'[{bound_host}]' if ':' in bound_host else bound_host}:{bound_port}"
        config = uvicorn.Config(
            admin_app(self.readiness),
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        self._server = _QuietServer(config)
        self._tasks = [
            asyncio.create_task(self._server.serve(sockets=[sock])),
            asyncio.create_task(self._sample_forever()),
        ]
        log.info("admin_listening", url=self.url)

    async def stop(self) -> None:
        """Stop serving and sampling."""
        if self._server is None:
            return
        self._server.should_exit = True
        serving, sampling = self._tasks
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
        await asyncio.wait_for(serving, 5)

    async def _sample_forever(self) -> None:
        failing = False
        while True:
            try:
                metrics.readiness(self.service, not await self.readiness())
                if self.sample is not None:
                    await self.sample()
            except Exception as exc:
                # Once per outage: readiness already says which dependency is away.
                if not failing:
                    log.warning("metrics_sample_failed", error=repr(exc))
                failing = True
            else:
                failing = False
            await asyncio.sleep(self.interval)
