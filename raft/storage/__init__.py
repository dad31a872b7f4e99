"""A node's durable state: the write-ahead log, hard state and snapshots (see store.py for the layout)."""

from raft.storage.errors import CorruptLog, DiskFailure, MissingWal, StorageError, WrongNode
from raft.storage.store import Storage

__all__ = ["CorruptLog", "DiskFailure", "MissingWal", "Storage", "StorageError", "WrongNode"]
