"""Roles of API tokens (shared/API.md, "Access control") and what each command needs.

viewer < operator < admin: each role may do what the ones before it may. The HTTP layer decides per route;
the leader decides again per command (a follower forwards the caller's role with the request), both here.
Above every role is NODE, the node's own actors: what a printer connection reports only they may propose.
"""

from __future__ import annotations

from typing import Literal

from farm.codec import encoded_type
from farm.commands import (
    BootstrapAcl,
    CreateToken,
    DispatchJob,
    EndJobFromPrinter,
    ReportPrinterState,
    RevokeToken,
)

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
# NODE is the node itself (its own actors, with no HTTP caller): trusted like its peers.
NODE: Literal["node"] = "node"
# What a command or route may need: a token's role, or the node itself.
Needed = Literal["viewer", "operator", "admin", "node"]
RANK: dict[str | None, int] = {None: 0, "viewer": 1, "operator": 2, "admin": 3, NODE: 4}

# Commands that need more than an operator; BootstrapAcl needs no role: it is only possible while the
# cluster is open, and the state machine refuses it afterwards (already_bootstrapped).
_ADMIN_COMMANDS: frozenset[type] = frozenset({CreateToken, RevokeToken})
_OPEN_COMMANDS: frozenset[type] = frozenset({BootstrapAcl})
# What only a node's own printer connections report (actors/octoprint/farm_port.py proposes them as NODE):
# the state OctoPrint shows, a dispatch with OctoPrint's print counts, a job's end seen on OctoPrint. No
# token may send them: an operator has PUT .../status and .../progress for what a person may say.
_NODE_COMMANDS: frozenset[type] = frozenset({ReportPrinterState, DispatchJob, EndJobFromPrinter})


def allows(role: str | None, needed: Needed | None) -> bool:
    """May a caller with `role` (None: no token) do what needs `needed` (None: anyone)?"""
    return needed is None or RANK.get(role, 0) >= RANK[needed]


def command_role(command_type: type) -> Needed | None:
    if command_type in _OPEN_COMMANDS:
        return None
    if command_type in _NODE_COMMANDS:
        return NODE
    return "admin" if command_type in _ADMIN_COMMANDS else "operator"


def encoded_command_role(command: bytes) -> Needed | None:
    """command_role() of an encoded command, from its tag alone (for a leader that holds only a forwarded
    command's bytes). Anything that is not a known command needs an admin: the farm refuses it anyway."""
    command_type = encoded_type(command)
    return "admin" if command_type is None else command_role(command_type)
