"""A data dir belongs to one node of one cluster, and to one open storage at a time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from raft.storage import Storage, StorageError, WrongNode
from raft.types import HardState
from tests.storage.helpers import entries, save_all


def test_another_node_is_refused(tmp_path: Path) -> None:
    save_all(tmp_path, [(HardState(1, "n1", 0), entries(1, 2))])
    with pytest.raises(WrongNode, match="belongs to node 'n1', not 'n2'"):
        Storage.open(tmp_path, "n2")


def test_cluster_id_is_durable_and_another_cluster_is_refused(tmp_path: Path) -> None:
    storage = Storage.open(tmp_path, "n1")
    assert storage.cluster_id is None
    storage.set_cluster_id("c-1")
    storage.set_cluster_id("c-1")  # idempotent at every start
    with pytest.raises(WrongNode, match="cluster 'c-1'"):
        storage.set_cluster_id("c-2")
    asyncio.run(storage.close())
    reopened = Storage.open(tmp_path, "n1")
    assert (reopened.node_id, reopened.cluster_id) == ("n1", "c-1")
    asyncio.run(reopened.close())


def test_a_second_open_of_the_same_dir_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = Storage.open(tmp_path, "n1")
    with pytest.raises(StorageError, match="in use"):
        Storage.open(tmp_path, "n1")
    asyncio.run(first.close())
    asyncio.run(Storage.open(tmp_path, "n1").close())


def test_wal_files_without_an_identity_are_refused(tmp_path: Path) -> None:
    save_all(tmp_path, [(HardState(1, "n1", 0), entries(1, 2))])
    (tmp_path / "identity").unlink()
    with pytest.raises(StorageError, match="no identity file"):
        Storage.open(tmp_path, "n1")


def test_a_fresh_dir_is_empty_and_creates_its_layout(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "node"
    storage = Storage.open(data_dir, "n1")
    assert storage.is_empty() and storage.recovered.entries == () and storage.recovered.snapshot is None
    asyncio.run(storage.close())
    assert {p.name for p in data_dir.iterdir()} >= {"identity", "wal", "snap"}
