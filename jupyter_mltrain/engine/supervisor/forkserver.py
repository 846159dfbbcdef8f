"""The warm server that forks supervisors (its client, ``ForkServer``, is in ``engine.starting``).

    python -m jupyter_mltrain.engine.supervisor.forkserver

It imports the supervisor and the launchers once, then reads requests on stdin, one JSON object a line,
``{"run_dir": ..., "env": {...}}``, and forks: the child becomes a session leader in the run's folder with the
request's environment, stdout and stderr on ``supervisor.log``, and runs ``Supervisor(run_dir).run()``, exactly
what ``python -m jupyter_mltrain.engine.supervisor RUN_DIR`` runs. Replies on stdout, a line each:
``{"pid": N}`` (or ``{"error": ...}``) for a request, and ``{"exited": N, "code": C}`` when a supervisor it
forked ends (SIGCHLD wakes it), so its client learns of a run's end at once. The server stays single-threaded
(forking is safe) and ends when its stdin closes; supervisors still running carry on, adopted by init.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from jupyter_mltrain.engine.starting import Lines


def _child(run_dir: str, env: Mapping[str, str], started: int) -> None:
    """In the forked child: become the run's supervisor (saying so on ``started`` once it is in the run's
    folder, where it is known by); never returns."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        random.seed()  # not the server's sequence, shared by every child
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(Path(run_dir) / "supervisor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        os.chdir(run_dir)
        os.write(started, b"1")
        os.close(started)
        os.environ.clear()
        os.environ.update(env)
        from jupyter_mltrain.engine.supervisor.lifecycle import Supervisor  # the server imported it already

        code = Supervisor(Path(run_dir)).run()
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(requests: int, replies: IO[str]) -> int:
    """The server's loop: fork a supervisor per request line, report each one's exit; until ``requests`` closes."""
    children: set[int] = set()

    def say(message: Mapping[str, Any]) -> None:
        try:
            replies.write(json.dumps(dict(message)) + "\n")
            replies.flush()
        except (BrokenPipeError, ValueError):
            pass  # the client is gone; the supervisors are not ours to stop

    def reap() -> None:
        for pid in list(children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                children.discard(pid)
                say({"exited": pid, "code": os.waitstatus_to_exitcode(status)})

    lines = Lines(requests)
    wake_r, wake_w = os.pipe()  # SIGCHLD writes here: a supervisor's end is told at once
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        if b"\n" not in lines.buffer:
            ready = select.select([requests, wake_r], [], [], 1.0)[0]
            if wake_r in ready:
                os.read(wake_r, 4096)
            reap()
            if requests not in ready:
                continue
        line = lines.next(0)
        if line is None:
            if lines.closed:
                return 0
            continue
        try:
            request = json.loads(line)
            run_dir, env = str(request["run_dir"]), {str(k): str(v) for k, v in request["env"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            say({"error": f"bad request: {exc!r}"})
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        started_r, started_w = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(started_r)
            os.close(started_w)
            say({"error": f"fork failed: {exc}"})
            continue
        if pid == 0:
            signal.set_wakeup_fd(-1)
            for fd in (wake_r, wake_w, started_r):
                os.close(fd)
            _child(run_dir, env, started_w)
        os.close(started_w)
        ok = os.read(started_r, 1)  # as Popen returns after exec: the pid is the run's when told
        os.close(started_r)
        children.add(pid)
        say({"pid": pid} if ok else {"error": f"the supervisor for {run_dir} failed to start"})


def main() -> int:
    """Entry point of the server process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the client's terminal is the client's
    # imported once here, so that no forked supervisor pays for it
    import jupyter_core.paths  # noqa: F401  (targets.config_paths imports it on first use: 25 ms)

    from jupyter_mltrain.engine import envinfo, gpus  # noqa: F401
    from jupyter_mltrain.engine.launch import local, mpi, slurm, ssh  # noqa: F401
    from jupyter_mltrain.engine.supervisor import lifecycle  # noqa: F401

    return serve(sys.stdin.fileno(), sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
