"""The node's ZAP handler (ZeroMQ RFC 27): decides, for each CURVE handshake on the ROUTER, whether the
client may talk to us. It admits exactly the clients presenting the cluster's public key, which only a
holder of the cluster's secret key can do (CurveZMQ's INITIATE proves it).

libzmq asks over inproc://zeromq.zap.01 in the same context as the ROUTER and holds the handshake until we
answer, so the socket is bound before the ROUTER is, and each request is answered in the loop turn that
saw it. A reader callback on the socket's file descriptor serves requests (no task switch per handshake).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable

import zmq
from zmq.utils import z85

log = logging.getLogger(__name__)

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = b"printfarm"
DENIAL_LOG_INTERVAL = 10.0  # seconds between two log lines about refused handshakes


class ZapHandler:
    def __init__(self, context: zmq.Context, public_key_z85: bytes, on_denied: Callable[[], None]) -> None:
        self._client_key = z85.decode(public_key_z85)
        self._on_denied = on_denied
        self._socket = zmq.Socket(context, zmq.REP)  # a plain socket: served from a reader callback
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.bind(ZAP_ENDPOINT)
        self._denied_since_log = 0
        self._last_log = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self._socket.getsockopt(zmq.FD), self._serve)
        self._serve()  # requests that came before the reader was registered

    def close(self) -> None:
        if self._socket.closed:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._socket.getsockopt(zmq.FD))
        self._socket.close(linger=0)

    def _serve(self) -> None:
        while not self._socket.closed:  # read until EAGAIN: ZeroMQ's FD is edge-triggered
            try:
                request = self._socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._socket.send_multipart(self.answer(request))

    def answer(self, request: list[bytes]) -> list[bytes]:
        """[version, request_id, domain, address, identity, mechanism, credentials...] -> the reply."""
        if len(request) < 6 or request[0] != b"1.0":
            request_id = request[1] if len(request) > 1 else b""
            return [b"1.0", request_id, b"500", b"malformed ZAP request", b"", b""]
        _version, request_id, domain, address, _identity, mechanism, *credentials = request
        admitted = (
            domain == ZAP_DOMAIN
            and mechanism == b"CURVE"
            and len(credentials) == 1
            and hmac.compare_digest(credentials[0], self._client_key)
        )
        if admitted:
            return [b"1.0", request_id, b"200", b"OK", b"peer", b""]
        self._denied(address.decode(errors="replace"))
        return [b"1.0", request_id, b"400", b"not a holder of the cluster key", b"", b""]

    def _denied(self, address: str) -> None:
        self._on_denied()
        self._denied_since_log += 1
        now = time.monotonic()
        if now - self._last_log >= DENIAL_LOG_INTERVAL:
            log.warning(
                "refused %d peer handshake(s) without the cluster key (latest from %s)",
                self._denied_since_log,
                address,
            )
            self._denied_since_log, self._last_log = 0, now
