"""Many submits at once, from two real kernels: distinct ids and ports, and every run completes."""

from __future__ import annotations

import json
import os
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import assert_no_process_left
from helpers import execute
from jupyter_client.manager import start_new_kernel

from jupyter_mltrain.engine.store import Store

RANK = """
    import os, socket, time
    port = int(os.environ["MASTER_PORT"])
    if os.environ["RANK"] == "0":
        server = socket.socket()
        server.bind(("127.0.0.1", port))  # what torch's TCPStore does: a shared port would fail here
        server.listen()
    print("port", port, flush=True)
    time.sleep(3)
"""

SUBMIT_AT_ONCE = """
    import json, threading, time
    from jupyter_mltrain.api import submit
    from jupyter_mltrain.engine.spec import Distribution, RunSpec
    start_at, count, source = {start_at!r}, {count!r}, {source!r}
    ids, errors = [], []
    def one():
        try:
            run = submit(RunSpec(entry="rank.py", source=source,
                                 distribution=Distribution(mode="torch", processes_per_node=2)))
            ids.append(run.id)
        except Exception as exc:
            errors.append(repr(exc))
    threads = [threading.Thread(target=one) for _ in range(count)]
    time.sleep(max(0.0, start_at - time.time()))
    began = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({{"ids": ids, "errors": errors, "began": began, "ended": time.time()}}))
"""


@pytest.mark.timeout(300)
def test_twenty_runs_submitted_at_once_from_two_kernels_all_complete_on_distinct_ports(
    home: Path, project: Path, tmp_path: Path
) -> None:
    (project / "rank.py").write_text(textwrap.dedent(RANK))
    kernels = []
    try:
        for n in range(2):  # os.environ holds the test's MLTRAIN_HOME (the home fixture)
            env = dict(os.environ, JPY_SESSION_NAME=str(tmp_path / f"kernel-{n}.ipynb"))
            kernels.append(start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env))
        for _, kc in kernels:
            execute(kc, "%load_ext jupyter_mltrain")
        assert {execute(kc, "import os; print(os.environ['MLTRAIN_HOME'])").strip() for _, kc in kernels} == {str(home)}
        code = textwrap.dedent(SUBMIT_AT_ONCE).format(start_at=time.time() + 3, count=10, source=str(project))
        with ThreadPoolExecutor(2) as pool:  # both kernels run the cell at once, and wait for the same moment
            outputs = list(pool.map(lambda kernel: execute(kernel[1], code, timeout=200), kernels))
    finally:
        for km, kc in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    results = [json.loads(output) for output in outputs]
    assert [r["errors"] for r in results] == [[], []]
    assert max(r["began"] for r in results) < min(r["ended"] for r in results), results  # the kernels overlapped
    ids = [i for r in results for i in r["ids"]]
    assert len(ids) == 20 and len(set(ids)) == 20
    store = Store(home)
    deadline = time.monotonic() + 240
    while not all(store.get(i).final for i in ids):
        assert time.monotonic() < deadline, [store.get(i).status for i in ids]
        time.sleep(0.5)
    records = [store.get(i) for i in ids]
    assert [r.status for r in records] == ["Completed"] * 20, [(r.status, r.root_cause) for r in records]
    ports = set()
    for record in records:
        lines = {(Path(record.run_dir) / "logs" / f"rank-{rank}.log").read_text().strip() for rank in (0, 1)}
        assert len(lines) == 1, lines  # both ranks of a run got the same MASTER_PORT
        ports.add(lines.pop())
    assert len(ports) == 20
    for run_id in ids:
        assert_no_process_left(run_id)


FORKED_LOGGERS = """
    import os
    from jupyter_mltrain import log
    from jupyter_mltrain.hostside.runtime import flush
    log("parent", -1)  # the runtime is set up before the fork, as in a DataLoader
    children = []
    for worker in range(3):
        pid = os.fork()
        if pid == 0:
            for i in range(60_000):
                log(f"worker-{worker}-with-a-longer-name", i, step=i)
            flush()  # os._exit skips atexit, where the runtime flushes
            os._exit(0)
        children.append(pid)
    for i in range(60_000):
        log("parent", i, step=i)
    for pid in children:
        os.waitpid(pid, 0)
"""


@pytest.mark.timeout(120)
def test_forked_workers_logging_at_once_keep_every_value_whole(store, project) -> None:
    from jupyter_mltrain.api import submit
    from jupyter_mltrain.engine.spec import RunSpec

    (project / "train.py").write_text(textwrap.dedent(FORKED_LOGGERS))
    run = submit(RunSpec(entry="train.py", source=str(project)), store)
    assert run.wait(timeout=100).status == "Completed"
    raw = (Path(run.record.run_dir) / "metrics" / "rank-0.jsonl").read_bytes()
    records = [json.loads(line) for line in raw.splitlines()]  # a torn line would not parse
    records = [r for r in records if not r["name"].startswith("system/")]  # the rank agent's telemetry
    by_name: dict[str, list[int]] = {}
    for rec in records:
        by_name.setdefault(rec["name"], []).append(rec["value"])
    assert sorted(by_name) == ["parent"] + [f"worker-{w}-with-a-longer-name" for w in range(3)]
    assert by_name["parent"] == [-1, *range(60_000)]
    for w in range(3):
        assert by_name[f"worker-{w}-with-a-longer-name"] == list(range(60_000))


FORK_DURING_A_FLUSH = """
    import os, sys, time
    from jupyter_mltrain import log
    from jupyter_mltrain.hostside import runtime
    log("parent", 1)
    runtime.flush()
    with runtime._lock:  # the writer thread holds this while it writes: a fork can come then
        pid = os.fork()
        if pid == 0:
            log("child", 2)
            runtime.flush()
            os._exit(0)
    deadline = time.monotonic() + 15
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            sys.exit("the forked child hung on the runtime's lock")
        time.sleep(0.05)
    log("parent", 3)
"""


@pytest.mark.timeout(60)
def test_a_child_forked_while_the_writer_holds_its_lock_still_logs(store, project) -> None:
    from jupyter_mltrain.api import submit
    from jupyter_mltrain.engine.spec import RunSpec

    (project / "train.py").write_text(textwrap.dedent(FORK_DURING_A_FLUSH))
    run = submit(RunSpec(entry="train.py", source=str(project)), store)
    record = run.wait(timeout=50)
    assert record.status == "Completed", (record.root_cause, run.logs(0))
    values = sorted((m["name"], m["value"]) for m in run.metrics() if not m["name"].startswith("system/"))
    assert values == [("child", 2), ("parent", 1), ("parent", 3)]
