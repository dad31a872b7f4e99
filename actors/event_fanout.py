"""EventFanout: applied changes to every event stream of a node, each event encoded once for all of them.

The backlog is one list of encoded SSE frames; a stream is only a cursor into it, so a stream costs no memory
of its own and publishing costs the same whatever the number of streams (the old per-stream queues encoded and
copied every event once per stream). Encoding is lazy: `publish` keeps the event itself (a start-up replaying
a long log, or a node nobody follows, never pays for JSON) and the first stream to read a frame encodes it, in
place, for all of them. Bounds:
- the backlog keeps at most `backlog_events` frames and `backlog_bytes` bytes (whole log indexes are evicted,
  oldest first, and an evicted frame is released at once); `floor` is the highest index whose events are gone.
  An event not yet encoded counts for an estimate of its frame's size (see `estimate_frame_size`), replaced by
  the real size once encoded;
- a stream may lag `stream_lag` frames behind the newest (plus what it was owed when it subscribed): past that
  or once its next frame is evicted, it is dropped and ends with an explicit `event: dropped` frame;
- at most `max_streams` streams at once; one more is refused (TooManyStreams: 503 with Retry-After).
A resume point below `floor` is answered with an explicit `event: reset` naming the oldest index still kept,
and so is every open stream when a snapshot replaces the entries: never a silent gap.
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass

from farm.results import Event
from httpapi.bridge import TooManyStreams
from httpapi.sse import dropped_frame, encode_event, reset_frame

MAX_STREAMS = 256
BACKLOG_EVENTS = 10_000
BACKLOG_BYTES = 8 * 1024 * 1024  # the frames held, whatever their count
STREAM_LAG = 4096  # frames a stream may fall behind (about 4 s at 1,000 writes/s) before it is dropped
READ_BATCH = 512  # frames handed to a stream in one write at most
# Streams are woken at most this often: at 1,000 writes/s each stream then writes ~10 events per send instead
# of one or two, which is most of its cost (a loop turn, a falcon send, a socket write); events wait <= 10 ms.
WAKE_INTERVAL = 0.01
RETRY_AFTER_SECONDS = 5


class PendingFrame:
    """An event kept un-encoded until a stream reads it; `len()` is the estimate the byte budget counts."""

    __slots__ = ("event", "size")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.size = estimate_frame_size(event)

    def __len__(self) -> int:
        return self.size


def estimate_frame_size(event: Event) -> int:
    """About the SSE frame's length, without encoding: the fixed parts, then each field of the event's data.

    Cheap on purpose (the point is not to encode): strings count their length (non-ASCII ones are longer once
    escaped), other scalars a flat 8, and containers are walked, so a big value still counts for its size.
    """
    size = 64 + 2 * len(event.type)  # "event: ", the envelope's keys, index, "id: ", newlines
    for key, value in event.data.items():
        size += len(key) + 4 + (len(value) if type(value) is str else _value_size(value))
    return size


def _value_size(value: object) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        return 2 + sum(len(key) + 4 + _value_size(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return 2 + sum(1 + _value_size(item) for item in value)
    return 8


@dataclass
class FanoutStats:
    opened: int = 0
    refused: int = 0
    dropped: int = 0
    resets: int = 0


class EventStream:
    """One subscriber: a cursor into the fan-out's backlog; `read` hands out whole frames as bytes."""

    __slots__ = ("_fanout", "_waiter", "after", "allowance", "cursor", "dropped", "ended", "reset_to")

    def __init__(self, fanout: EventFanout, cursor: int, after: int, allowance: int) -> None:
        self._fanout = fanout
        self.cursor = cursor  # sequence number of the next frame to hand out
        self.after = after  # frames of indexes <= after are skipped (a resume point ahead of this node)
        self.allowance = allowance
        self.reset_to: int | None = None
        self.dropped = False
        self.ended = False
        self._waiter: asyncio.Future[None] | None = None

    async def read(self, timeout: float) -> bytes | None:
        """The next frames (one or more, whole); None after `timeout` s with nothing new; b"" at the end."""
        waited = False
        while True:
            if self.ended:
                return b""
            if self.dropped:
                self.ended = True
                return dropped_frame(self._fanout.last_complete_index(self.cursor))
            parts: list[bytes] = []
            if self.reset_to is not None:
                parts.append(reset_frame(self.reset_to))
                self.reset_to = None
            self.cursor = self._fanout.take(self.cursor, self.after, parts)
            if parts:
                return b"".join(parts)
            if waited:
                return None
            await self._wait(timeout)
            waited = True

    async def _wait(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def wake(self) -> None:
        if self._waiter is not None:
            _wake(self._waiter)

    def close(self) -> None:
        """The consumer is gone: forget the stream (it held no frames of its own)."""
        self.ended = True
        self._fanout.forget(self)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class EventFanout:
    def __init__(
        self,
        *,
        max_streams: int = MAX_STREAMS,
        backlog_events: int = BACKLOG_EVENTS,
        backlog_bytes: int = BACKLOG_BYTES,
        stream_lag: int = STREAM_LAG,
    ) -> None:
        self.max_streams = max_streams
        self.backlog_events = backlog_events
        self.backlog_bytes = backlog_bytes
        self.stream_lag = stream_lag
        self.stats = FanoutStats()
        self.floor = 0  # invariant: every event of an index > floor that this node applied is in the backlog
        self.backlog_size = 0  # bytes of the frames kept
        self._frames: list[bytes | PendingFrame] = []
        self._indexes: list[int] = []  # the log index of each frame, non-decreasing
        self._start = 0  # list position of the oldest kept frame (the lists are trimmed in bulk)
        self._encoded = 0  # list position below which every frame is encoded (bytes)
        self._base = 0  # sequence number of list position 0
        self._streams: set[EventStream] = set()
        self._wake_pending = False

    # --- the state machine's side -------------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        frame = PendingFrame(event)  # encoded on first read, once for every stream
        self._frames.append(frame)
        self._indexes.append(event.index)
        self.backlog_size += frame.size

    def flush(self) -> None:
        """After applying a batch: trim the backlog, drop streams that fell behind, wake the rest."""
        self._trim()
        head = self.head
        oldest = self._base + self._start
        for stream in list(self._streams):
            if stream.cursor < oldest or head - stream.cursor > stream.allowance:
                stream.dropped = True
                self.stats.dropped += 1
                self._streams.discard(stream)
                stream.wake()  # to send its final frame
        if self._wake_pending or not self._streams:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): wake now
            self._wake_all()
            return
        self._wake_pending = True
        loop.call_later(WAKE_INTERVAL, self._wake_all)

    def _wake_all(self) -> None:
        self._wake_pending = False
        for stream in self._streams:
            stream.wake()

    def restored(self, snapshot_index: int) -> None:
        """A snapshot replaced the entries up to `snapshot_index`: their events never reach this node."""
        if snapshot_index <= self.floor:
            return
        self._base = self.head
        self._frames, self._indexes, self._start, self.backlog_size = [], [], 0, 0
        self._encoded = 0
        self.floor = max(self.floor, snapshot_index)
        for stream in self._streams:
            stream.cursor = self._base
            stream.reset_to = self.floor + 1
            self.stats.resets += 1
            stream.wake()

    def close_all(self) -> None:
        for stream in self._streams:
            stream.ended = True
            stream.wake()
        self._streams.clear()

    # --- the streams' side --------------------------------------------------------------------------------

    @property
    def head(self) -> int:
        return self._base + len(self._frames)

    @property
    def streams(self) -> int:
        return len(self._streams)

    def subscribe(self, after_index: int) -> EventStream:
        if len(self._streams) >= self.max_streams:
            self.stats.refused += 1
            raise TooManyStreams(self.max_streams, RETRY_AFTER_SECONDS)
        position = bisect.bisect_right(self._indexes, after_index, self._start)
        cursor = self._base + position
        stream = EventStream(self, cursor, after_index, self.stream_lag + (self.head - cursor))
        if after_index < self.floor:
            stream.reset_to = self.floor + 1
            self.stats.resets += 1
        self._streams.add(stream)
        self.stats.opened += 1
        return stream

    def forget(self, stream: EventStream) -> None:
        self._streams.discard(stream)

    def take(self, cursor: int, after: int, into: list[bytes]) -> int:
        """Append the frames from `cursor` (skipping indexes <= after) to `into`; the new cursor."""
        position = cursor - self._base
        end = min(len(self._frames), position + READ_BATCH)
        if position < end and self._indexes[position] <= after:
            position = bisect.bisect_right(self._indexes, after, position, end)
        if end > self._encoded:
            self._encode(position, end)
        into.extend(self._frames[position:end])  # type: ignore[arg-type]  # all bytes now
        return self._base + max(position, end)

    def _encode(self, position: int, end: int) -> None:
        """Encode the pending frames in [position, end) in place: every later reader gets these bytes."""
        frames = self._frames
        grown = 0
        for at in range(max(position, self._encoded), end):
            frame = frames[at]
            if type(frame) is PendingFrame:
                data = encode_event(frame.event)
                grown += len(data) - frame.size
                frames[at] = data
        self.backlog_size += grown  # the real sizes replace the estimates (the next flush trims to budget)
        if position <= self._encoded:
            self._encoded = end

    def last_complete_index(self, cursor: int) -> int:
        """The index a client that read everything before `cursor` resumes from."""
        position = cursor - self._base
        if position <= self._start or position > len(self._indexes):
            return self.floor
        last = self._indexes[position - 1]
        if position < len(self._indexes) and self._indexes[position] == last:
            return last - 1  # cut inside an index: its later events were not handed out
        return last

    def _trim(self) -> None:
        indexes = self._indexes
        while self._start < len(indexes) and (
            len(indexes) - self._start > self.backlog_events or self.backlog_size > self.backlog_bytes
        ):
            index = indexes[self._start]
            while self._start < len(indexes) and indexes[self._start] == index:  # whole indexes only
                self.backlog_size -= len(self._frames[self._start])
                # Release the frame now: the lists are only cut in bulk below, and until then the evicted
                # frames stayed referenced (4,096 x 64 KiB events held far more than the byte budget).
                self._frames[self._start] = b""
                self._start += 1
            self.floor = max(self.floor, index)
        if self._start > 4096 and self._start * 2 > len(indexes):
            del self._frames[: self._start], self._indexes[: self._start]
            self._base += self._start
            self._encoded = max(0, self._encoded - self._start)
            self._start = 0
