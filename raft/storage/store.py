"""Storage: a node's durable hard state, log and snapshots, with group commit off the event loop.

Layout of a data dir:
  identity                      node id and cluster id (a checksummed record, replaced atomically)
  lock                          flock'ed while a Storage has the dir open
  wal/<first round>.wal         segments of checksummed rounds (see rounds.py); the newest is appended to
  snap/<index>-<term>.snap      snapshots, written atomically; the newest valid one wins

Hard state lives in the WAL as an item of the round it was saved with, so a change of term, vote or commit
costs no fsync of its own; every new segment starts by repeating the newest one, so dropping old segments
never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from raft.codec import decode_hard_state
from raft.storage import identity, recovery, snapshots
from raft.storage.errors import DiskFailure, StorageError, WrongNode
from raft.storage.files import remove_temp_files, sync_dir
from raft.storage.rounds import entry_item, hard_state_item, reset_item
from raft.storage.wal import Wal
from raft.types import Entry, HardState, RecoveredState, Snapshot

log = logging.getLogger(__name__)


class _Round:
    """Saves waiting for the next group commit: written together, one fsync."""

    __slots__ = ("hard_state_item", "items", "max_index", "waiters")

    def __init__(self) -> None:
        self.items: list[bytes] = []
        self.max_index = 0
        self.hard_state_item: bytes | None = None
        self.waiters: list[asyncio.Future[None]] = []


class _SnapshotWrite:
    __slots__ = ("reset", "snapshot", "waiters")

    def __init__(self, snapshot: Snapshot, reset: bool) -> None:
        self.snapshot = snapshot
        self.reset = reset  # the log did not hold the snapshot's last entry: it restarts after the snapshot
        self.waiters: list[asyncio.Future[None]] = []


class Storage:
    on_fsync: Callable[[float], None] | None

    def __init__(
        self, data_dir: Path, owner: identity.Identity, recovered: RecoveredState, wal: Wal, lock_fd: int
    ):
        self.node_id = owner.node_id
        self.cluster_id = owner.cluster_id
        self.incarnation = owner.incarnation  # this data dir's random id ("" if older than incarnations)
        self.recovered = recovered
        self.on_fsync = None
        self._dir = data_dir
        self._wal = wal
        self._lock_fd = lock_fd
        snapshot = recovered.snapshot
        # invariant: the log holds indexes base+1 .. base+len(terms); base is the newest snapshot's index
        self._base = snapshot.index if snapshot else 0
        self._base_term = snapshot.term if snapshot else 0
        self._terms = [entry.term for entry in recovered.entries]
        self._has_snapshot = snapshot is not None
        self._hard_state = recovered.hard_state  # the newest one handed to save(), durable or on its way
        # Jobs not yet taken by the writer thread, oldest first. The loop adds to the newest round while the
        # thread may take the oldest: both under _lock. A job taken is sealed: nothing joins it any more.
        self._queue: deque[_Round | _SnapshotWrite] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._go: queue.SimpleQueue[_Round | _SnapshotWrite | None] = queue.SimpleQueue()  # None: exit
        self._writing = False  # the thread is running jobs (set by the loop, cleared by the thread's report)
        self._start_scheduled = False
        self._idle: asyncio.Future[None] | None = None  # close() waits on it for the queue to drain
        self._failure: StorageError | None = None
        self._closing = False
        self._closed = False

    # --- start-up ------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, data_dir: str | os.PathLike[str], node_id: str, *, segment_bytes: int = 64 << 20
    ) -> Storage:
        path = Path(data_dir)
        try:
            path.mkdir(parents=True, exist_ok=True)
            lock_fd = identity.lock(path)
        except OSError as exc:
            raise DiskFailure(f"cannot open the data dir {path}: {exc}") from exc
        try:
            return cls._recover(path, node_id, segment_bytes, lock_fd)
        except OSError as exc:
            identity.unlock(lock_fd)
            raise DiskFailure(f"cannot read or repair the data dir {path}: {exc}") from exc
        except BaseException:
            identity.unlock(lock_fd)
            raise

    @classmethod
    def _recover(cls, path: Path, node_id: str, segment_bytes: int, lock_fd: int) -> Storage:
        durations: list[float] = []
        wal_dir, snap_dir = path / "wal", path / "snap"
        owner = identity.load(path)
        if owner is None:
            if any(p.exists() and any(p.iterdir()) for p in (wal_dir, snap_dir)):
                raise StorageError(
                    f"the data dir {path} holds WAL or snapshot files but no identity file; "
                    "refusing to guess which node it belongs to"
                )
            wal_dir.mkdir(exist_ok=True)
            snap_dir.mkdir(exist_ok=True)
            owner = identity.Identity(node_id)
            identity.store(path, owner, durations)  # also syncs the dir, making wal/ and snap/ durable
            sync_dir(path.parent, durations)
        elif owner.node_id != node_id:
            raise WrongNode(
                f"the data dir {path} belongs to node {owner.node_id!r}, not {node_id!r}; "
                "give each node its own data dir"
            )
        remove_temp_files(path)
        remove_temp_files(snap_dir)
        loaded, skipped = snapshots.newest_valid(snap_dir)
        snapshot = loaded.snapshot if loaded is not None else None
        replayed = recovery.replay(wal_dir)
        recovery.check_floor(replayed, loaded, wal_dir)
        if loaded is None and not replayed.segments and owner.cluster_id is not None:
            # No log and no snapshot, though the dir joined a cluster: whatever it held (if anything) is
            # gone, so it must not answer as the data dir it was. A new incarnation makes the cluster
            # treat it as wiped (it waits to be removed and joined again) instead of letting it vote
            # with its term and vote forgotten.
            owner = identity.Identity(node_id, owner.cluster_id)
            identity.store(path, owner, durations)
            log.warning(
                "the data dir %s holds no log and no snapshot: it starts as a new incarnation %s",
                path,
                owner.incarnation,
            )
        entries, reset = recovery.join(
            replayed.log, snapshot, skipped + snapshots.set_aside_earlier(snap_dir)
        )
        if replayed.torn is not None:
            recovery.cut_torn_tail(replayed.torn, durations)
        wal = Wal(
            wal_dir, replayed.segments, replayed.next_seq, segment_bytes, recovery.hard_state_record(replayed)
        )
        if reset and snapshot is not None:
            try:
                wal.append([reset_item(snapshot.index, snapshot.term)], snapshot.index, None, durations)
            except BaseException:
                wal.close()
                raise
        recovered = RecoveredState(replayed.hard_state or HardState(), snapshot, entries)
        return cls(path, owner, recovered, wal, lock_fd)

    def is_empty(self) -> bool:
        return self._hard_state == HardState() and not self._has_snapshot and not self._terms

    def set_cluster_id(self, cluster_id: str) -> None:
        self._check_usable()
        if cluster_id == self.cluster_id:
            return
        if self.cluster_id is not None:
            raise WrongNode(
                f"the data dir {self._dir} belongs to cluster {self.cluster_id!r}, "
                f"not {cluster_id!r}; give each cluster's nodes their own data dirs"
            )
        durations: list[float] = []
        try:
            owner = identity.Identity(self.node_id, cluster_id, self.incarnation)
            identity.store(self._dir, owner, durations)
        except OSError as exc:
            self._failure = DiskFailure(self._failure_message(exc))
            raise DiskFailure(str(self._failure)) from exc
        finally:
            self._report(durations)
        self.cluster_id = cluster_id

    # --- writes ----------------------------------------------------------------------------------------

    async def save(self, hard_state: HardState | None, entries: Sequence[Entry]) -> None:
        """Durable on return. Cancelling the caller does not withdraw the write: it is already ordered."""
        await self.save_nowait(hard_state, entries)

    def save_nowait(self, hard_state: HardState | None, entries: Sequence[Entry]) -> asyncio.Future[None]:
        """save() in two halves, for a caller that keeps several writes in flight: the write is ordered now
        (writes reach the disk in the order of these calls, grouped into rounds as save's are), and the
        returned future resolves once it is durable (or fails with DiskFailure). Needs a running loop."""
        self._check_usable()
        items = self._stage_entries(entries) if entries else []
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            job = self._open_round()
            if hard_state is not None and hard_state != self._hard_state:
                self._hard_state = hard_state
                job.hard_state_item = hard_state_item(hard_state)
                items.append(job.hard_state_item)
            job.items += items
            if entries:
                job.max_index = max(job.max_index, entries[-1].index)
            job.waiters.append(waiter)
        return waiter

    def _stage_entries(self, entries: Sequence[Entry]) -> list[bytes]:
        """Checks `entries` against the log, records their terms, and encodes them as WAL items."""
        first = entries[0].index
        last = self._base + len(self._terms)
        if not self._base < first <= last + 1:
            raise ValueError(
                f"entries starting at index {first} leave a gap or reach into the snapshot: "
                f"the log holds {self._base + 1}..{last}"
            )
        for offset, entry in enumerate(entries):
            if entry.index != first + offset:
                raise ValueError(f"entries are not contiguous: index {entry.index} at position {offset}")
        del self._terms[first - self._base - 1 :]  # a new leader's entries replace our suffix (§5.3)
        self._terms.extend(entry.term for entry in entries)
        return [entry_item(entry) for entry in entries]

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Durable on return; then segments wholly at or below the snapshot and old snapshot files go.
        A snapshot older than the log's current start is ignored (a newer one is already durable)."""
        self._check_usable()
        if snapshot.index < self._base:
            return
        last = self._base + len(self._terms)
        if snapshot.index == self._base:
            agrees = snapshot.term == self._base_term
        else:
            agrees = snapshot.index <= last and self._terms[snapshot.index - self._base - 1] == snapshot.term
        if agrees:
            del self._terms[: snapshot.index - self._base]
        else:
            self._terms.clear()
        self._base, self._base_term, self._has_snapshot = snapshot.index, snapshot.term, True
        job = _SnapshotWrite(snapshot, reset=not agrees)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        job.waiters.append(waiter)
        with self._lock:
            self._queue.append(job)
            self._kick()
        await waiter

    async def close(self) -> None:
        """Waits for queued writes, then releases the files and the data dir lock."""
        if self._closed:
            return
        self._closing = True
        while self._writing or self._start_scheduled or (self._queue and self._failure is None):
            if self._idle is None or self._idle.done():
                self._idle = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._idle)
        if not self._closed:
            self._closed = True
            if self._thread is not None:
                self._go.put(None)
            self._wal.close()
            identity.unlock(self._lock_fd)

    # --- the group commit ---------------------------------------------------------------------------

    # One writer thread per storage runs the jobs in order and reports each one back to the loop. While
    # it writes and syncs a round, the next one gathers; once done it takes that one at once, without a
    # trip through the event loop, so a busy loop delays acknowledgements but never the disk. An idle
    # thread is handed its first job at the loop's next turn, so the saves of one turn share a round.

    def _open_round(self) -> _Round:
        """The round a save joins: the newest queued one if the thread has not taken it (caller holds
        the lock)."""
        if self._queue and type(self._queue[-1]) is _Round:
            return self._queue[-1]  # type: ignore[return-value]
        job = _Round()
        self._queue.append(job)
        self._kick()
        return job

    def _kick(self) -> None:
        if self._writing or self._start_scheduled:
            return  # a busy thread takes the new job when it is done with its own
        self._start_scheduled = True
        self._loop = asyncio.get_running_loop()
        self._loop.call_soon(self._start)

    def _start(self) -> None:
        self._start_scheduled = False
        if self._writing or not self._queue or self._failure is not None:
            self._maybe_idle()
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._thread_main, name=f"storage-{self.node_id}", daemon=True
            )
            self._thread.start()
        self._writing = True
        with self._lock:
            self._go.put(self._queue.popleft())  # sealed: later saves start the next round

    def _thread_main(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed under us: the process is going down
            self._run_jobs()

    def _run_jobs(self) -> None:
        loop = self._loop
        assert loop is not None
        job = self._go.get()
        while job is not None:
            while job is not None:
                durations: list[float] = []
                try:
                    if type(job) is _Round:
                        self._write_round(job, durations)
                    else:
                        self._write_snapshot(job, durations)  # type: ignore[arg-type]
                except Exception as exc:
                    loop.call_soon_threadsafe(self._done, job, durations, exc)
                    break  # a failed disk takes no more jobs; _done poisons the storage
                with self._lock:
                    following = self._queue.popleft() if self._queue else None
                    # One report per job (a wake-up of the loop each), which also says whether the thread
                    # goes idle. Told under the lock: a job queued from now on finds the thread idle.
                    loop.call_soon_threadsafe(self._done, job, durations, None, following is None)
                job = following
            job = self._go.get()

    def _done(
        self,
        job: _Round | _SnapshotWrite,
        durations: list[float],
        exc: Exception | None,
        idle: bool = True,
    ) -> None:
        """On the loop: the thread finished `job` (or failed it: exc), and went idle if `idle`."""
        if idle or exc is not None:
            self._writing = False
        self._report(durations)
        if exc is not None:
            self._fail(exc, job)
        else:
            for waiter in job.waiters:
                if not waiter.done():
                    waiter.set_result(None)
        if not self._writing and self._queue and self._failure is None:
            self._kick()  # queued after the thread looked, before it reported idle
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        idle = self._idle
        if not self._writing and not self._start_scheduled and idle is not None and not idle.done():
            idle.set_result(None)

    def _write_round(self, job: _Round, durations: list[float]) -> None:
        if job.items:  # a round of barriers alone (saves with nothing new) only waits for the ones before
            self._wal.append(job.items, job.max_index, job.hard_state_item, durations)

    def _write_snapshot(self, job: _SnapshotWrite, durations: list[float]) -> None:
        snapshot = job.snapshot
        wal = self._wal
        held = wal.hard_state_item
        floor = snapshots.WalFloor(wal.next_seq, decode_hard_state(held[1:]) if held is not None else None)
        snapshots.write(self._dir / "snap", snapshot, durations, floor)
        if job.reset:
            wal.append([reset_item(snapshot.index, snapshot.term)], snapshot.index, None, durations)
        wal.roll()
        # The WAL reaches back to the oldest snapshot kept, so that one can stand in for a newer one that
        # turns out corrupt; a corrupt snapshot is set aside, never counted as kept.
        oldest_kept = snapshots.prune(self._dir / "snap", durations)
        wal.compact(snapshot.index if oldest_kept is None else min(oldest_kept, snapshot.index), durations)

    def _fail(self, exc: Exception, job: _Round | _SnapshotWrite) -> None:
        """Poisons the storage: after a failed write or fsync nothing more may be acknowledged."""
        if isinstance(exc, OSError):
            self._failure = DiskFailure(self._failure_message(exc))
        else:
            log.exception("storage writer failed", exc_info=exc)
            self._failure = StorageError(f"the storage writer failed unexpectedly ({exc!r}) and has stopped")
        with self._lock:
            failed = [job, *self._queue]
            self._queue.clear()
        for each in failed:
            for waiter in each.waiters:
                if not waiter.done():
                    waiter.set_exception(type(self._failure)(str(self._failure)))

    def _failure_message(self, exc: OSError) -> str:
        return (
            f"disk failure in {self._dir}: {exc}. The storage has stopped and acknowledges nothing more; "
            "fix the disk and restart the node (recovery keeps everything that was acknowledged)."
        )

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise type(self._failure)(str(self._failure))
        if self._closing:
            raise StorageError(f"the storage of {self._dir} is closed")

    def _report(self, durations: list[float]) -> None:
        if self.on_fsync is None:
            return
        for duration in durations:
            try:
                self.on_fsync(duration)
            except Exception:
                log.exception("on_fsync callback failed")
