"""How large a legitimate peer frame can be, derived from the limits that shape the largest ones.

The largest frames a node ever sends are an AppendEntries batch (raft.config: at most max_append_entries
entries and max_append_bytes of entry data, or one entry alone if it is larger) and an InstallSnapshot chunk
(snapshot_chunk_bytes). A forwarded write carries one command, which becomes one entry. Anything larger is
not ours: ZeroMQ disconnects the sender (ZMQ_MAXMSGSIZE) before we read a byte of it, and the transport
checks the length again before decoding.

msgpack's unpacker limits bound what a frame within that size may ask for: without them, one megabyte of
empty arrays decodes into a million Python lists.
"""

from __future__ import annotations

from raft.config import RaftConfig

MAX_ENTRY_BYTES = 1 << 20  # one proposal's data at most; the bridge refuses a larger one before proposing it
ENTRY_OVERHEAD = 32  # msgpack around one entry's data: [term, index, kind, bin header] is at most 25 bytes
FRAME_OVERHEAD = 16 * 1024  # frame header, ids, addresses and the other fields of the message
MAX_ARRAY_LEN = 4096  # entries in a batch (1024 by default), members, fields: all far below
MAX_MAP_LEN = 1024  # only forwarded outcomes carry maps: a farm object's fields


def max_frame_bytes(config: RaftConfig | None = None) -> int:
    """The largest frame a node with this Raft configuration sends (the defaults' when None)."""
    config = config or RaftConfig(node_id="limits")
    batch_data = max(config.max_append_bytes, MAX_ENTRY_BYTES)
    batch = batch_data + config.max_append_entries * ENTRY_OVERHEAD
    return max(batch, config.snapshot_chunk_bytes, MAX_ENTRY_BYTES) + FRAME_OVERHEAD


MAX_FRAME_BYTES = max_frame_bytes()  # about 1.05 MiB with the defaults


def unpack_limits(max_bytes: int = MAX_FRAME_BYTES) -> dict[str, int]:
    """msgpack.unpackb's limits for bytes from a peer."""
    return {
        "max_str_len": max_bytes,
        "max_bin_len": max_bytes,
        "max_array_len": MAX_ARRAY_LEN,
        "max_map_len": MAX_MAP_LEN,
        "max_ext_len": 0,  # we never send extension types
    }


PEER_UNPACK_LIMITS = unpack_limits()
