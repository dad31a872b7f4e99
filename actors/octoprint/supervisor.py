"""ConnectionSupervisor: one ConnectionActor per connected printer, alive only while this node leads.

Started and stopped by the node's leader notifications; while leading, it looks at the applied farm state
every second and starts an actor for each printer with a connection, stops the actors of printers whose
connection was removed (or the printer deleted), and restarts one whose URL or key changed. A connection
that crashes (a bug) is logged and started again at the next look: a printer's trouble never stops the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from actors.base import Actor
from actors.octoprint.client import node_limiter
from actors.octoprint.connection import ConnectionActor, ConnectionStats, FarmPort

log = logging.getLogger(__name__)

LOOK_INTERVAL = 1.0
Settings = tuple[str, str]  # (url, api key)


class LeaderPort(FarmPort, Protocol):
    async def caught_up(self) -> bool:
        """True once this leader has applied everything committed before its term."""

    async def connections(self) -> dict[str, Settings]:
        """{printer id: (url, api key)} for every connected printer."""


class ConnectionSupervisor:
    def __init__(
        self,
        node_id: str,
        port: LeaderPort,
        *,
        poll_interval: float = 1.0,
        look_interval: float = LOOK_INTERVAL,
    ) -> None:
        self.node_id = node_id
        self._port = port
        self._poll_interval = poll_interval
        self._look_interval = look_interval
        self._limiter = node_limiter()
        self._actors: dict[str, tuple[Settings, ConnectionActor]] = {}
        self._task: asyncio.Task[Any] | None = None
        self._stopping: set[asyncio.Task[Any]] = set()

    # --- leadership ------------------------------------------------------------------------------------

    def leader_changed(self, leader: str | None) -> None:
        """The RaftActor's notification (in the loop): lead -> start connections; anything else -> stop."""
        if leader == self.node_id:
            if self._task is None or self._task.done():
                log.info("%s: leading: starting printer connections", self.node_id)
                self._task = asyncio.get_running_loop().create_task(self._manage(), name="octoprint.manage")
        elif self._task is not None:
            log.info("%s: no longer leading (leader %s): stopping printer connections", self.node_id, leader)
            task, self._task = self._task, None
            task.cancel()
            stopping = asyncio.get_running_loop().create_task(self._stop_all())
            self._stopping.add(stopping)
            stopping.add_done_callback(self._stopping.discard)

    async def stop(self) -> None:
        """The node is shutting down."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._stop_all()
        for task in list(self._stopping):
            with contextlib.suppress(Exception):
                await task

    def stats(self) -> dict[str, ConnectionStats]:
        return {printer_id: actor.stats for printer_id, (_, actor) in self._actors.items()}

    # --- the look every second --------------------------------------------------------------------------

    async def _manage(self) -> None:
        # A new leader may not have applied its predecessor's last decisions yet (a dispatch among them):
        # deciding from that state could print a file twice. A linearizable read waits for them.
        while not await self._port.caught_up():
            await asyncio.sleep(self._look_interval / 4)
        while True:
            try:
                wanted = await self._port.connections()
            except Exception as exc:  # no leader right now, node stopping...: look again later
                log.debug("%s: cannot list printer connections: %r", self.node_id, exc)
            else:
                await self._align(wanted)
            await asyncio.sleep(self._look_interval)

    async def _align(self, wanted: dict[str, Settings]) -> None:
        for printer_id, (settings, actor) in list(self._actors.items()):
            if wanted.get(printer_id) != settings or not actor.running:
                del self._actors[printer_id]
                reason = "removed" if printer_id not in wanted else "changed or stopped"
                log.info("%s: connection of %s %s", self.node_id, printer_id, reason)
                await actor.stop()
        for printer_id, settings in wanted.items():
            if printer_id not in self._actors:
                url, api_key = settings
                actor = ConnectionActor(
                    printer_id,
                    url,
                    api_key,
                    self._port,
                    self._limiter,
                    interval=self._poll_interval,
                    supervisor=self._crashed,
                )
                self._actors[printer_id] = (settings, actor)
                actor.start()

    def _crashed(self, actor: Actor, exc: BaseException) -> None:
        log.error("%s: %s crashed (%r); it starts again at the next look", self.node_id, actor.name, exc,
                  exc_info=exc)

    async def _stop_all(self) -> None:
        actors, self._actors = self._actors, {}
        for _, actor in actors.values():
            try:
                await actor.stop()
            except Exception:
                log.exception("%s: stopping %s failed", self.node_id, actor.name)
