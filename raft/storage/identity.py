"""Who owns a data dir: the node id and cluster id file, and the lock that keeps a second process out.

The file also holds the data dir's incarnation: a random id drawn when the data dir is created, which the
node reports with its votes and acks. A node restarted on a wiped data dir under the same id reports a new
one, and the cluster then never counts it as the member it replaced (raft/incarnation.py)."""

from __future__ import annotations

import fcntl
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from raft.codec import CodecError, packb, unpackb
from raft.storage.errors import StorageError
from raft.storage.files import atomic_write
from raft.storage.framing import frame, read_frame

FILE = "identity"
LOCK = "lock"
FORMAT = 1


def new_incarnation() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class Identity:
    node_id: str
    cluster_id: str | None = None
    incarnation: str = field(default_factory=new_incarnation)


def load(data_dir: Path) -> Identity | None:
    path = data_dir / FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    framed = read_frame(data, 0)
    problem = framed if isinstance(framed, str) else None
    if not isinstance(framed, str):
        try:
            obj = unpackb(framed[0])
        except CodecError as exc:
            obj, problem = None, str(exc)
        if isinstance(obj, dict) and obj.get("format") == FORMAT and isinstance(obj.get("node_id"), str):
            cluster_id = obj.get("cluster_id")
            incarnation = obj.get("incarnation", "")  # "": written before incarnations existed
            if (cluster_id is None or isinstance(cluster_id, str)) and isinstance(incarnation, str):
                return Identity(obj["node_id"], cluster_id, incarnation)
        problem = problem or "unexpected contents"
    raise StorageError(
        f"the identity file {path} is unreadable ({problem}); refusing to guess whose data this is"
    )


def store(data_dir: Path, identity: Identity, durations: list[float]) -> None:
    payload = packb(
        {
            "format": FORMAT,
            "node_id": identity.node_id,
            "cluster_id": identity.cluster_id,
            "incarnation": identity.incarnation,
        }
    )
    atomic_write(data_dir / FILE, [frame(payload)], durations)


def lock(data_dir: Path) -> int:
    """An exclusive advisory lock held for the storage's lifetime; the kernel drops it if the process dies."""
    fd = os.open(data_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StorageError(
            f"the data dir {data_dir} is in use by another storage (process or instance)"
        ) from None
    return fd


def unlock(fd: int) -> None:
    os.close(fd)
