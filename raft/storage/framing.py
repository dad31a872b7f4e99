"""Checksummed records `[length u32][crc32 u32][payload]`, shared by WAL segments and small metadata files."""

from __future__ import annotations

import struct
import zlib

HEADER = struct.Struct("<II")  # payload length, crc32 of the payload (both little-endian)
MAX_PAYLOAD = (1 << 32) - 1


def frame(payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"a record payload of {len(payload)} bytes exceeds the 4 GiB record limit")
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_frame(data: bytes | memoryview, offset: int) -> tuple[bytes, int] | str:
    """The payload at `offset` and the offset after it, or a sentence saying why no valid record is there."""
    end = len(data)
    if end - offset < HEADER.size:
        return f"only {end - offset} bytes left, too few for a record header"
    length, crc = HEADER.unpack_from(data, offset)
    start = offset + HEADER.size
    if length == 0:
        return "record length is zero"
    if length > end - start:
        return f"record length {length} runs past the end of the file ({end - start} bytes left)"
    payload = bytes(data[start : start + length])
    if zlib.crc32(payload) != crc:
        return "checksum mismatch"
    return payload, start + length
