"""The storage layer's one error family: each message is a sentence an operator can act on."""

from __future__ import annotations

import os


class StorageError(Exception):
    """Base class: the data dir cannot be used as asked."""


class CorruptLog(StorageError):
    """Damage that is not a torn tail: acknowledged data may be lost, so the node must not start."""

    def __init__(self, path: str | os.PathLike[str], offset: int, reason: str) -> None:
        self.path = os.fspath(path)
        self.offset = offset
        self.reason = reason
        super().__init__(
            f"{self.path} is corrupt at byte offset {offset}: {reason}. This is not a torn write from a "
            "crash, so the node refuses to start rather than silently drop acknowledged data; restore "
            "the data dir from a backup or wipe it and let the node rejoin the cluster."
        )


class WrongNode(StorageError):
    """The data dir was initialised by another node (or for another cluster)."""


class DiskFailure(StorageError):
    """EIO/ENOSPC on write or fsync: the storage refuses every further call, since durability is unknown."""


class MissingWal(StorageError):
    """The WAL is gone or ends before what the newest snapshot says it held: the node's term and vote (and
    maybe acknowledged entries) would be forgotten, so it must not start (it could vote twice in a term)."""
