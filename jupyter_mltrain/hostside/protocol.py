"""The framed stream every rank speaks: one format over a pipe, a socket, a file or ssh.

A frame is a 12-byte header followed by its payload::

    offset  size  field
    0       2     magic, b"\\x1bM"
    2       1     kind (see ``Kind``)
    3       1     version (1)
    4       4     rank, unsigned big-endian
    8       4     payload length in bytes, unsigned big-endian

Payloads by kind:

- ``HELLO``: JSON ``{"token", "rank", "host", "pid"}``; the first frame on a socket channel.
- ``STDOUT`` / ``STDERR``: one or more whole lines of the rank's output, bytes as written.
- ``METRICS``: JSON lines, each ``{"name", "value", "step", "time"}``, or an event line
  ``{"event": "progress", ...}``.
- ``START``: JSON ``{"pid", "host", "local_rank", ...}`` when the user program started.
- ``EXIT``: JSON ``{"code": int | null, "signal": int | null}`` when it ended.
- ``HEARTBEAT``: empty; the program's interpreter is alive (sent at most once a second, only
  when the run has a hang timeout and the program runs under ``jupyter_mltrain.hostside.watch``).

The decoder is incremental (any split of the byte stream decodes the same) and
resynchronises on the next magic after garbage, counting the bytes it skipped.
Standard library only: this module travels to remote hosts with the rank side.
"""

from __future__ import annotations

import enum
import json
import struct
from typing import Any

MAGIC = b"\x1bM"
VERSION = 1
HEADER = struct.Struct("!2sBBII")
HEADER_SIZE = HEADER.size
MAX_PAYLOAD = 64 * 1024 * 1024


class Kind(enum.IntEnum):
    """What a frame carries."""

    HELLO = 0
    STDOUT = 1
    STDERR = 2
    METRICS = 3
    START = 4
    EXIT = 5
    HEARTBEAT = 6


Frame = tuple[Kind, int, bytes]


def encode(kind: Kind, rank: int, payload: bytes) -> bytes:
    """Return one frame as bytes."""
    return HEADER.pack(MAGIC, int(kind), VERSION, rank, len(payload)) + payload


def encode_json(kind: Kind, rank: int, obj: Any) -> bytes:
    """Return one frame whose payload is ``obj`` as JSON."""
    return encode(kind, rank, json.dumps(obj, separators=(",", ":")).encode())


_KINDS = {int(k) for k in Kind}


class Decoder:
    """Turns a byte stream, fed in arbitrary pieces, back into frames."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped_bytes = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every frame now complete, in order."""
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        pos = 0
        n = len(buf)
        while n - pos >= HEADER_SIZE:
            magic, kind, version, rank, length = HEADER.unpack_from(buf, pos)
            if magic != MAGIC or kind not in _KINDS or version != VERSION or length > MAX_PAYLOAD:
                nxt = buf.find(MAGIC, pos + 1)
                if nxt < 0:
                    # Keep a trailing byte that may start the next magic.
                    keep = n - 1 if buf[-1:] == MAGIC[:1] else n
                    self.skipped_bytes += keep - pos
                    pos = keep
                    break
                self.skipped_bytes += nxt - pos
                pos = nxt
                continue
            end = pos + HEADER_SIZE + length
            if end > n:
                break
            frames.append((Kind(kind), rank, bytes(buf[pos + HEADER_SIZE : end])))
            pos = end
        if pos:
            del buf[:pos]
        return frames

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)
