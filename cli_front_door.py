"""The `node` flags of the front door (README "Security"): --open, HTTPS and the HTTP limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def front_door_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the flags; each arrives as a keyword named like its NodeOptions field."""
    options = [
        click.option(
            "--open", "serve_open", is_flag=True,
            help="Serve an open cluster (no access control yet) to non-loopback clients too "
            "(otherwise: 403 protected_mode until bootstrapped).",
        ),
        click.option("--tls-cert", "tls_cert", metavar="FILE", help="PEM certificate: serve HTTPS."),
        click.option("--tls-key", "tls_key", metavar="FILE", help="PEM private key of --tls-cert."),
        click.option(
            "--max-header-bytes", "max_header_bytes", type=click.IntRange(1024, 1 << 24), default=16 * 1024,
            show_default=True, help="Largest request line + headers; larger ones are answered 431.",
        ),
        click.option(
            "--head-timeout", "head_timeout", type=click.FloatRange(0.1, 3600), default=10.0,
            show_default=True,
            help="Seconds a connection has to send a request's line and headers (then 408 and closed).",
        ),
        click.option(
            "--max-connections", "max_connections", type=click.IntRange(1, 1 << 20), default=1024,
            show_default=True,
            help="Open HTTP connections at most (also kept 256 below the open-file limit); more are refused.",
        ),
        click.option(
            "--max-state-bytes", "max_state_bytes", type=click.IntRange(1 << 20, None), default=1 << 30,
            show_default=True,
            help="State quota: past it, writes that grow the state answer 507 quota_exceeded.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command
