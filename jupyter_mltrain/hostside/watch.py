"""Runs a rank's script under watch: for runs with a hang timeout, and for every MPI rank.

Usage (by the launch plan, not by people)::

    python -m jupyter_mltrain.hostside.watch SCRIPT [ARGS...]

Before running ``SCRIPT`` as ``__main__`` (as ``python SCRIPT ARGS`` would), it

- starts a daemon thread that writes one byte a second to ``MLTRAIN_HEARTBEAT_FD``, the rank
  agent's heartbeat pipe: the beats stop when the interpreter is stopped, frozen or
  deadlocked while holding the GIL, but go on while the main thread waits in a collective;
- registers ``faulthandler`` on ``SIGQUIT`` (as the JVM prints its threads on ``kill -3``):
  every thread's Python stack goes to stderr, and so into the rank's log, and the program
  goes on;
- with ``MLTRAIN_EXIT_ON_ERROR=1`` (modes mpi and horovod), ends the process at once after an
  uncaught exception, its traceback printed and the runtime's metrics flushed, without running
  ``MPI_Finalize`` (which waits for peers that may wait for this rank forever), as
  ``python -m mpi4py`` does with ``MPI_Abort``: the job then fails in seconds, naming this rank.

Standard library only: this module travels to remote hosts with the rank side.
"""

from __future__ import annotations

import faulthandler
import os
import runpy
import signal
import sys
import threading
import time
import traceback

HEARTBEAT_INTERVAL_S = 1.0
DUMP_SIGNAL = signal.SIGQUIT


def _beat(fd: int) -> None:
    while True:
        try:
            os.write(fd, b".")
        except BlockingIOError:
            pass  # the agent is behind: it knows we are alive
        except OSError:
            return
        time.sleep(HEARTBEAT_INTERVAL_S)


def start_heartbeat() -> None:
    """Start the heartbeat thread when the agent gave us a pipe."""
    raw = os.environ.pop("MLTRAIN_HEARTBEAT_FD", "")
    if not raw.isdigit():
        return
    fd = int(raw)
    try:
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)
    except OSError:
        return
    threading.Thread(target=_beat, args=(fd,), name="mltrain-heartbeat", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python -m jupyter_mltrain.hostside.watch SCRIPT [ARGS...]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m jupyter_mltrain.hostside.watch SCRIPT [ARGS...]", file=sys.stderr)
        sys.exit(2)
    faulthandler.register(DUMP_SIGNAL, file=sys.stderr, all_threads=True, chain=False)
    start_heartbeat()
    script = args[0]
    sys.argv = args
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    if os.environ.pop("MLTRAIN_EXIT_ON_ERROR", "") != "1":
        runpy.run_path(script, run_name="__main__")
        return
    try:
        runpy.run_path(script, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next  # the traceback starts at the user's script, as under `python SCRIPT`
        traceback.print_exception(type(exc), exc, tb or exc.__traceback__)
        _exit_now(1)


def _exit_now(code: int) -> None:
    """End the process without interpreter shutdown (no atexit, so no ``MPI_Finalize``), losing no output."""
    runtime = sys.modules.get("jupyter_mltrain.hostside.runtime")
    if runtime is not None:
        runtime.flush()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
