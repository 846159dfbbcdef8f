"""The rank agent: what every launcher starts on every rank.

Usage (by launchers, not by people)::

    python -m jupyter_mltrain.hostside.rank -- PROGRAM [ARGS...]

The agent

- normalises the rank environment (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
  ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``, ``TF_CONFIG``) from what the launcher
  provides (our own variables, ``OMPI_COMM_WORLD_*``, ``PMI_*``, ``SLURM_*``);
- runs the user's program as its child, in its own process group, and frames each line of
  its stdout/stderr and each metric batch (see ``protocol``) onto its channel;
- forwards SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 to the program's process group;
- with ``MLTRAIN_HEARTBEAT=1`` (a run with a hang timeout, its program under
  ``jupyter_mltrain.hostside.watch``): gives the program a heartbeat pipe, relays its beats as
  ``HEARTBEAT`` frames (at most one a second), and forwards SIGQUIT (a stack dump) to it;
- samples the program's process tree (and its host and GPUs) every ``MLTRAIN_TELEMETRY_S`` seconds
  (default 1, 0 = off) and sends ``system/*`` metric frames (see ``telemetry``);
- reports the program's exit code or signal in an ``EXIT`` frame and exits the same way;
- kills the program and exits when its channel is lost (the supervisor died).

Channel, from ``MLTRAIN_CHANNEL``: ``fd`` (frames on stdout, stdin is the lifeline: EOF means
the supervisor is gone) or ``tcp:HOST:PORT`` with ``MLTRAIN_TOKEN`` (a connection to the
run's collector; its EOF is the lifeline). Standard library only.
"""

from __future__ import annotations

import ctypes
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from jupyter_mltrain.hostside.protocol import Kind, encode, encode_json
from jupyter_mltrain.hostside.telemetry import Sampler, interval_from_env

READ_SIZE = 256 * 1024
HEARTBEAT_FRAME_S = 1.0
MAX_LINE = 1024 * 1024
KILL_GRACE_S = 3.0

# What a plain `python script.py` does not have: hidden from a one-process run of mode none.
PLAIN_HIDDEN = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")

_RANK_SOURCES = (
    ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"),
    ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"),
    ("LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"),
    ("LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"),
)


def normalize_env(env: dict[str, str]) -> dict[str, str]:
    """Fill the torch-style rank variables from whichever launcher started us."""
    out = dict(env)
    for target, *sources in _RANK_SOURCES:
        if out.get(target):
            continue
        for src in sources:
            value = out.get(src, "")
            if value:
                out[target] = value.split("(")[0]
                break
    out.setdefault("RANK", "0")
    out.setdefault("WORLD_SIZE", "1")
    out.setdefault("LOCAL_RANK", "0")
    out.setdefault("LOCAL_WORLD_SIZE", out["WORLD_SIZE"])
    rank = int(out["RANK"])
    # Per-rank TF_CONFIG prepared by the launcher: MLTRAIN_TF_CONFIG_<rank>.
    tf_config = out.pop(f"MLTRAIN_TF_CONFIG_{rank}", None)
    if tf_config and not out.get("TF_CONFIG"):
        out["TF_CONFIG"] = tf_config
    for key in [k for k in out if k.startswith("MLTRAIN_TF_CONFIG_")]:
        del out[key]
    outputs = out.get("MLTRAIN_OUTPUTS_DIR")
    if outputs and rank != 0:
        # rank0: only rank 0's outputs_dir() is the run's outputs/; the others write beside it.
        if out.get("MLTRAIN_GATHER", "rank0") == "all":
            out["MLTRAIN_OUTPUTS_DIR"] = os.path.join(outputs, f"rank-{rank}")
        else:
            out["MLTRAIN_OUTPUTS_DIR"] = os.path.join(os.path.dirname(outputs), "rank-outputs", f"rank-{rank}")
    gpus = out.get("MLTRAIN_GPUS")
    if gpus and out.get("MLTRAIN_GPU_POLICY", "per-rank") == "per-rank":
        ids = gpus.split(",")
        out["CUDA_VISIBLE_DEVICES"] = ids[int(out["LOCAL_RANK"]) % len(ids)]
    elif gpus:
        out["CUDA_VISIBLE_DEVICES"] = gpus
    return out


def _set_parent_death_signal(sig: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Channel:
    """Where frames go: our stdout (a pipe to the supervisor) or a socket to a collector."""

    def __init__(self, spec: str, rank: int, token: str) -> None:
        self.sock: socket.socket | None = None
        if spec.startswith("tcp:"):
            host, _, port = spec[4:].rpartition(":")
            self.sock = _connect(host, int(port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.sendall(
                encode_json(
                    Kind.HELLO,
                    rank,
                    {"token": token, "rank": rank, "host": socket.gethostname(), "pid": os.getpid()},
                )
            )
            self.lifeline: int = self.sock.fileno()
            self._write: Callable[[bytes], None] = self.sock.sendall
        else:
            self.lifeline = 0
            out = sys.stdout.buffer.raw if hasattr(sys.stdout.buffer, "raw") else sys.stdout.buffer
            fd = out.fileno()

            def write(data: bytes) -> None:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]

            self._write = write
        self.lost = False
        self._lock = threading.Lock()  # the telemetry thread sends too: whole frames, never interleaved

    def send(self, data: bytes) -> None:
        """Write frames; a broken channel marks it lost instead of raising."""
        if self.lost:
            return
        with self._lock:
            try:
                self._write(data)
            except OSError:
                self.lost = True


def _connect(host: str, port: int, timeout: float = 30.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class LineFramer:
    """Buffers one output stream and frames whole lines."""

    def __init__(self, kind: Kind, rank: int) -> None:
        self.kind = kind
        self.rank = rank
        self.partial = b""

    def feed(self, data: bytes) -> bytes:
        """Return the frames for every complete line seen so far.

        A carriage return ends a piece too, so progress bars (tqdm, Keras) that redraw one
        line with ``\\r`` reach the log while they run, not only at their final newline.
        """
        buf = self.partial + data if self.partial else data
        cut = max(buf.rfind(b"\n"), buf.rfind(b"\r")) + 1
        if cut == 0:
            if len(buf) < MAX_LINE:
                self.partial = buf
                return b""
            cut = len(buf)
        self.partial = buf[cut:]
        return encode(self.kind, self.rank, buf[:cut])

    def close(self) -> bytes:
        """Frame whatever is left (a last line without newline)."""
        data, self.partial = self.partial, b""
        return encode(self.kind, self.rank, data + b"\n") if data else b""


class Agent:
    """Runs one rank's program and relays everything it says."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.env = normalize_env(env)
        self.rank = int(self.env["RANK"])
        self.argv = argv
        self.channel = Channel(env.get("MLTRAIN_CHANNEL", "fd"), self.rank, env.get("MLTRAIN_TOKEN", ""))
        self.proc: subprocess.Popen[bytes] | None = None
        self.forwarded: list[int] = []
        self.watched = self.env.get("MLTRAIN_HEARTBEAT") == "1"
        self.last_beat_sent = 0.0

    def _forward(self, signum: int, _frame: object) -> None:
        self.forwarded.append(signum)
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signum)
            except ProcessLookupError:
                pass

    def _dump_stacks(self, _signum: int, _frame: object) -> None:
        if self.watched and self.proc is not None and self.proc.returncode is None:
            try:
                os.kill(self.proc.pid, signal.SIGQUIT)
            except ProcessLookupError:
                pass

    def _relay_heartbeat(self, fd: int, sel: selectors.BaseSelector) -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            sel.unregister(fd)
            return
        now = time.monotonic()
        if now - self.last_beat_sent >= HEARTBEAT_FRAME_S:
            self.last_beat_sent = now
            self.channel.send(encode(Kind.HEARTBEAT, self.rank, b""))

    def _kill_group(self, sig: int) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def run(self) -> int:
        """Start the program, relay until it ends, and return the exit status to use."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
            signal.signal(sig, self._forward)
        signal.signal(signal.SIGQUIT, self._dump_stacks)
        os.umask(0o077)  # what the run writes is private, on hosts where mpirun's ssh session set 022 too
        metrics_r, metrics_w = os.pipe()
        env = dict(self.env)
        env["MLTRAIN_METRICS_FD"] = str(metrics_w)
        child_fds = [metrics_w]
        heartbeat_r = -1
        if self.watched:
            heartbeat_r, heartbeat_w = os.pipe()
            env["MLTRAIN_HEARTBEAT_FD"] = str(heartbeat_w)
            child_fds.append(heartbeat_w)
        env.pop("MLTRAIN_CHANNEL", None)
        env.pop("MLTRAIN_TOKEN", None)
        if env.pop("MLTRAIN_PLAIN", None) == "1":
            # One process, mode none: the program must see what `python script.py` sees, or frameworks that
            # start their own processes (Lightning, accelerate) believe a launcher started them and wait for peers.
            for name in PLAIN_HIDDEN:
                env.pop(name, None)
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                pass_fds=tuple(child_fds),
                start_new_session=True,
                preexec_fn=lambda: _set_parent_death_signal(signal.SIGKILL),
            )
        except OSError as exc:
            message = f"mltrain rank agent: cannot start {self.argv[0]!r}: {exc}\n"
            self.channel.send(encode(Kind.STDERR, self.rank, message.encode()))
            self.channel.send(encode_json(Kind.EXIT, self.rank, {"code": 127, "signal": None}))
            return 127
        finally:
            for fd in child_fds:
                os.close(fd)
        self.channel.send(
            encode_json(
                Kind.START,
                self.rank,
                {
                    "pid": self.proc.pid,
                    "host": socket.gethostname(),
                    "local_rank": int(self.env["LOCAL_RANK"]),
                    "time": time.time(),
                },
            )
        )
        sampler = self._start_telemetry(self.proc.pid)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        streams = {
            self.proc.stdout.fileno(): LineFramer(Kind.STDOUT, self.rank),
            self.proc.stderr.fileno(): LineFramer(Kind.STDERR, self.rank),
            metrics_r: LineFramer(Kind.METRICS, self.rank),
        }
        for fd in streams:
            os.set_blocking(fd, False)
        sel = selectors.DefaultSelector()
        for fd in streams:
            sel.register(fd, selectors.EVENT_READ)
        sel.register(self.channel.lifeline, selectors.EVENT_READ)
        if heartbeat_r >= 0:
            os.set_blocking(heartbeat_r, False)
            sel.register(heartbeat_r, selectors.EVENT_READ)
        open_fds = set(streams)
        lifeline_lost = False
        exited_at: float | None = None
        while open_fds:
            for key, _ in sel.select(timeout=0.2):
                fd = key.fd
                if fd == self.channel.lifeline:
                    if not _lifeline_alive(fd, self.channel.sock):
                        lifeline_lost = True
                        sel.unregister(fd)
                    continue
                if fd == heartbeat_r:
                    self._relay_heartbeat(fd, sel)
                    continue
                self._pump(fd, streams[fd], open_fds, sel)
            if lifeline_lost or self.channel.lost:
                break
            if exited_at is None and self.proc.poll() is not None:
                exited_at = time.monotonic()
            if exited_at is not None and time.monotonic() - exited_at > 0.5:
                # The program ended but a leftover child holds its pipes: drain what is there.
                for fd in list(open_fds):
                    self._pump(fd, streams[fd], open_fds, sel)
                break
        ended = time.time()  # the program's output ended: it exited (the supervisor orders failures by this)
        if sampler is not None:
            sampler.stop()
            sampler.join(timeout=2.0)  # a sample under way goes out before the EXIT frame
        if lifeline_lost or self.channel.lost:
            self._kill_group(signal.SIGTERM)
            try:
                self.proc.wait(KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
            self._kill_group(signal.SIGKILL)
            self.proc.wait()
            return 1
        code = self.proc.wait()
        # Stray children of the program die with it, as under torchrun.
        self._kill_group(signal.SIGKILL)
        tail = b"".join(framer.close() for framer in streams.values())
        if tail:
            self.channel.send(tail)
        status = {"code": code if code >= 0 else None, "signal": -code if code < 0 else None, "ended": ended}
        self.channel.send(encode_json(Kind.EXIT, self.rank, status))
        if self.channel.sock is not None:
            try:
                self.channel.sock.shutdown(socket.SHUT_WR)
                self.channel.sock.settimeout(5)
                while self.channel.sock.recv(4096):
                    pass
            except OSError:
                pass
        return code if code >= 0 else 128 - code

    def _start_telemetry(self, pid: int) -> Sampler | None:
        interval = interval_from_env(self.env)
        if not interval:
            return None
        rank = self.rank
        sampler = Sampler(pid, interval, self.env, lambda lines: self.channel.send(encode(Kind.METRICS, rank, lines)))
        sampler.start()
        return sampler

    def _pump(self, fd: int, framer: LineFramer, open_fds: set[int], sel: selectors.BaseSelector) -> None:
        while True:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                open_fds.discard(fd)
                sel.unregister(fd)
                tail = framer.close()
                if tail:
                    self.channel.send(tail)
                return
            frames = framer.feed(data)
            if frames:
                self.channel.send(frames)
            if len(data) < READ_SIZE:
                return


def _lifeline_alive(fd: int, sock: socket.socket | None) -> bool:
    try:
        data = sock.recv(4096) if sock is not None else os.read(fd, 4096)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return bool(data)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m jupyter_mltrain.hostside.rank -- PROGRAM [ARGS...]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        print("usage: python -m jupyter_mltrain.hostside.rank -- PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    agent = Agent(args, dict(os.environ))
    return agent.run()


if __name__ == "__main__":
    sys.exit(main())
