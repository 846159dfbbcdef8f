"""Frame sources: the channels rank agents talk on, read without blocking.

- ``StreamSource``: one pipe (or ssh stdout) carrying whole frames.
- ``Collector``: a listening socket; each rank agent under mpirun or srun connects, proves
  the run's token in a ``HELLO`` frame, then sends its frames. Each connection is one rank's
  own channel, so lines of different ranks can never interleave.

``python -m jupyter_mltrain.hostside.collector TOKEN [HOST]`` runs a collector on a remote head node (``-`` as the
token: read it from the first line of stdin); it
prints its port on the first line, then writes every frame it receives to stdout (whole
frames only) until its stdin closes, which is how it learns its controller is done or gone; it
then relays what its open connections still hold (at most ``DRAIN_S``) and ends.
Standard library only: this module travels to remote hosts with the rank side.
"""

from __future__ import annotations

import hmac
import json
import os
import selectors
import socket
import sys
import time
from typing import Protocol

from jupyter_mltrain.hostside.protocol import Decoder, Frame, Kind

READ_SIZE = 1024 * 1024
DRAIN_S = 5.0  # how long a relay whose input ended still relays what its open connections hold


class Source(Protocol):
    """Something the supervisor's loop can wait on and read frames from."""

    label: str

    def fileno(self) -> int:
        """The descriptor to wait on for this source's next frames."""
        ...

    def on_readable(self) -> tuple[list[Frame], list[Source], bool]:
        """Return (frames, new sources, closed)."""
        ...


class StreamSource:
    """Frames from a file descriptor (a pipe)."""

    def __init__(self, fd: int, label: str) -> None:
        self.fd = fd
        self.label = label
        self.decoder = Decoder()
        os.set_blocking(fd, False)

    def fileno(self) -> int:
        """The descriptor to wait on."""
        return self.fd

    def on_readable(self) -> tuple[list[Frame], list[Source], bool]:
        """Read what is there."""
        frames: list[Frame] = []
        while True:
            try:
                data = os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                return frames, [], False
            except OSError:
                data = b""
            if not data:
                return frames, [], True
            frames += self.decoder.feed(data)
            if len(data) < READ_SIZE:
                return frames, [], False


class ConnectionSource:
    """One rank agent's socket; frames are accepted only after a HELLO with the token."""

    def __init__(self, sock: socket.socket, token: str, peer: str) -> None:
        self.sock = sock
        self.sock.setblocking(False)
        self.token = token
        self.label = f"connection from {peer}"
        self.decoder = Decoder()
        self.rank: int | None = None

    def fileno(self) -> int:
        """The socket's descriptor."""
        return self.sock.fileno()

    def on_readable(self) -> tuple[list[Frame], list[Source], bool]:
        """Read what is there; close on a bad or missing token."""
        frames: list[Frame] = []
        closed = False
        while True:
            try:
                data = self.sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                closed = True
                break
            frames += self.decoder.feed(data)
            if len(data) < READ_SIZE:
                break
        if self.rank is None and frames:
            if not self._accept_hello(frames[0]):
                closed = True
                frames = []
            else:
                frames = frames[1:]
        if closed:
            self.sock.close()
        if self.rank is None:
            return [], [], closed
        return [f for f in frames if f[1] == self.rank], [], closed

    def _accept_hello(self, frame: Frame) -> bool:
        kind, rank, payload = frame
        try:
            hello = json.loads(payload) if kind == Kind.HELLO else {}
        except ValueError:
            return False
        if not isinstance(hello, dict) or not hmac.compare_digest(str(hello.get("token", "")), self.token):
            return False
        self.rank = rank
        self.label = f"rank {rank} on {hello.get('host', '?')}"
        return True


class Collector:
    """A listening socket that turns each accepted connection into a ConnectionSource."""

    def __init__(self, token: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = token
        self.sock = socket.create_server((host, port), backlog=1024)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.label = f"collector on {host}:{self.port}"

    def fileno(self) -> int:
        """The listening socket's descriptor."""
        return self.sock.fileno()

    def on_readable(self) -> tuple[list[Frame], list[Source], bool]:
        """Accept every waiting connection."""
        new: list[Source] = []
        while True:
            try:
                conn, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            new.append(ConnectionSource(conn, self.token, f"{addr[0]}:{addr[1]}"))
        return [], new, False

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()


def main(argv: list[str] | None = None) -> int:
    """Run a collector that relays every rank's frames to stdout (used on remote head nodes)."""
    from jupyter_mltrain.hostside.protocol import encode

    args = sys.argv[1:] if argv is None else argv
    token = args[0] if args else os.environ.get("MLTRAIN_TOKEN", "")
    if token == "-":  # the first line of stdin: kept off the command line, where `ps` would show it
        line = b""
        while not line.endswith(b"\n"):
            byte = os.read(0, 1)
            if not byte:
                return 0
            line += byte
        token = line.decode().strip()
    host = args[1] if len(args) > 1 else "0.0.0.0"
    collector = Collector(token, host=host)
    out = sys.stdout.buffer
    out.write(f"{collector.port}\n".encode())
    out.flush()
    sel = selectors.DefaultSelector()
    sel.register(collector, selectors.EVENT_READ)
    sel.register(0, selectors.EVENT_READ)
    ending = False
    drain_until: float | None = None
    while True:
        if drain_until is not None and (not sel.get_map() or time.monotonic() > drain_until):
            return 0
        for key, _ in sel.select(timeout=None if drain_until is None else 0.2):
            if key.fileobj == 0:
                ending = ending or not os.read(0, 4096)
                continue
            src = key.fileobj
            frames, new, closed = src.on_readable()  # type: ignore[union-attr]
            try:
                for f in frames:
                    out.write(encode(*f))
                if frames:
                    out.flush()
            except BrokenPipeError:  # the controller is gone: nobody to relay to
                return 0
            for n in new:
                sel.register(n, selectors.EVENT_READ)
            if closed:
                sel.unregister(src)
        if ending and drain_until is None:
            # The controller is done (or gone): accept nobody new, relay what open connections still hold.
            sel.unregister(0)
            sel.unregister(collector)
            collector.close()
            drain_until = time.monotonic() + DRAIN_S


if __name__ == "__main__":
    sys.exit(main())
