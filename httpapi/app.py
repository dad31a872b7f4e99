"""create_app(bridge): the Falcon ASGI front end of one node. Every route of API.md is registered here."""

from __future__ import annotations

import falcon.asgi

from httpapi import errors
from httpapi.bridge import Bridge
from httpapi.cluster import (
    JoinResource,
    MemberResource,
    RaftStateResource,
    RaftStatusResource,
    TransferLeadershipResource,
)
from httpapi.events import EventsResource
from httpapi.filaments import FilamentResource, FilamentsResource
from httpapi.jobs import JobResource, JobsResource, JobStatusResource
from httpapi.ops import HealthResource, MetricsResource, OpenApiResource, ReadyResource
from httpapi.printers import PrinterResource, PrintersResource
from httpapi.timing import TimingMiddleware
from httpapi.workflow import (
    ClearBedResource,
    FilamentLedgerResource,
    JobProgressResource,
    JobRetryResource,
    PrinterQueueResource,
    StatsResource,
)


def create_app(bridge: Bridge, *, sse_heartbeat_seconds: float = 15.0) -> falcon.asgi.App:
    app = falcon.asgi.App(middleware=[TimingMiddleware(bridge)], cors_enable=False)
    errors.install(app)

    app.add_route("/api/v1/printers", PrintersResource(bridge))
    app.add_route("/api/v1/printers/{printer_id}", PrinterResource(bridge))
    app.add_route("/api/v1/filaments", FilamentsResource(bridge))
    app.add_route("/api/v1/filaments/{filament_id}", FilamentResource(bridge))
    app.add_route("/api/v1/print_jobs", JobsResource(bridge))
    app.add_route("/api/v1/print_jobs/{job_id}", JobResource(bridge))
    app.add_route("/api/v1/print_jobs/{job_id}/status", JobStatusResource(bridge))
    app.add_route("/api/v1/events", EventsResource(bridge, sse_heartbeat_seconds))
    app.add_route("/api/v1/printers/{printer_id}/queue", PrinterQueueResource(bridge))
    app.add_route("/api/v1/printers/{printer_id}/clear-bed", ClearBedResource(bridge))
    app.add_route("/api/v1/print_jobs/{job_id}/progress", JobProgressResource(bridge))
    app.add_route("/api/v1/print_jobs/{job_id}/retry", JobRetryResource(bridge))
    app.add_route("/api/v1/filaments/{filament_id}/ledger", FilamentLedgerResource(bridge))
    app.add_route("/api/v1/stats", StatsResource(bridge))

    app.add_route("/join", JoinResource(bridge))
    app.add_route("/raft/state", RaftStateResource(bridge))
    app.add_route("/raft/status", RaftStatusResource(bridge))
    app.add_route("/raft/members/{node_id}", MemberResource(bridge))
    app.add_route("/raft/transfer-leadership", TransferLeadershipResource(bridge))

    app.add_route("/healthz", HealthResource())
    app.add_route("/readyz", ReadyResource(bridge))
    app.add_route("/metrics", MetricsResource(bridge))
    app.add_route("/openapi.json", OpenApiResource())
    return app
