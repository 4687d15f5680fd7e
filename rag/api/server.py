"""Running the app under uvicorn, with a deadline on request headers that uvicorn lacks: it closes idle keep-alive
connections but waits forever for a request whose headers arrive half-sent and stall (slowloris)."""

from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from rag.settings import get_settings


class HeaderDeadlineProtocol(H11Protocol):
    """h11, closing a connection whose next request's headers have not all arrived `header_timeout` seconds (by
    default RAG_REQUEST_READ_TIMEOUT_S) after the connection opened or the previous response ended. A class
    attribute, not a closure, so that uvicorn can hand the class to worker processes."""

    header_timeout: float | None = None
    _deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        timeout = self.header_timeout or get_settings().request_read_timeout_s
        self._deadline = self.loop.call_later(timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # a request's headers are in: the body has its own deadline (LimitsMiddleware)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def run(app, host: str, port: int, workers: int = 1) -> None:
    """Serve `app` (an app, or with several workers the import string of an app factory)."""
    options = {"factory": True, "workers": workers} if workers > 1 else {}
    # access_log off: the app writes its own JSON line per request (rag.api.middleware)
    uvicorn.run(app, host=host, port=port, http=HeaderDeadlineProtocol, access_log=False, **options)
