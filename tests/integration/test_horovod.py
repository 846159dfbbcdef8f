"""Horovod runs end to end: mpirun, real torch ranks, DistributedOptimizer; and the error without Horovod."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import assert_no_process_left

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, Environment, RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.hostside.errors import LaunchError

HOROVOD_SCRIPT = textwrap.dedent(
    """
    import hashlib
    import torch
    import torch.distributed as dist
    import horovod.torch as hvd
    from jupyter_mltrain import log, outputs_dir
    from jupyter_mltrain.integrations.torch import cleanup, setup_distributed

    torch.set_num_threads(1)
    hvd.init()
    print(f"HVD rank={hvd.rank()} size={hvd.size()}", flush=True)

    # The torch helper joins a gloo group from the same run environment (MASTER_ADDR/PORT, RANK).
    rank, world, device = setup_distributed()
    ones = torch.ones(1)
    dist.all_reduce(ones)
    print(f"DIST rank={rank} world={world} device={device} sum={int(ones.item())}", flush=True)

    torch.manual_seed(100 + hvd.rank())  # different initial weights on each rank: broadcast must align them
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02 * hvd.size())
    optimizer = hvd.DistributedOptimizer(optimizer, named_parameters=model.named_parameters())
    hvd.broadcast_parameters(model.state_dict(), root_rank=0)
    hvd.broadcast_optimizer_state(optimizer, root_rank=0)

    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g)
    xs, ys = x[hvd.rank()::hvd.size()], y[hvd.rank()::hvd.size()]  # each rank its own shard
    for epoch in range(3):
        total = 0.0
        for i in range(0, len(xs), 32):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xs[i:i + 32]), ys[i:i + 32])
            loss.backward()
            optimizer.step()
            total += loss.item()
        mean = hvd.allreduce(torch.tensor(total / (len(xs) // 32)), name="epoch_loss").item()
        log("loss", mean, step=epoch)
    state = model.state_dict()
    digest = hashlib.sha256(b"".join(state[k].numpy().tobytes() for k in sorted(state))).hexdigest()
    print(f"PARAMS rank={hvd.rank()} sha256={digest}", flush=True)
    torch.save(state, outputs_dir() / f"params-rank{hvd.rank()}.pt")
    cleanup()
    """
)


@pytest.mark.timeout(240)
def test_horovod_ranks_end_with_identical_parameters(store: Store, project: Path) -> None:
    assert importlib.util.find_spec("horovod") is not None, "Horovod is not installed: run `make horovod`"
    import torch

    (project / "train.py").write_text(HOROVOD_SCRIPT)
    dist = Distribution(mode="horovod", processes_per_node=2)
    spec = RunSpec(entry="train.py", source=str(project), distribution=dist, gather_outputs="all")
    run = submit(spec, store)
    record = run.wait(timeout=180)
    assert record.status == "Completed"
    assert record.exit_codes == [0, 0]

    digests = []
    for rank in range(2):
        log = run.logs(rank)
        assert f"HVD rank={rank} size=2" in log, log[-3000:]
        assert re.search(rf"^DIST rank={rank} world=2 device=cpu sum=2$", log, re.MULTILINE), log[-3000:]
        match = re.search(rf"^PARAMS rank={rank} sha256=([0-9a-f]{{64}})$", log, re.MULTILINE)
        assert match, log[-3000:]
        digests.append(match.group(1))
    assert digests[0] == digests[1]

    # gather_outputs="all": every rank's files are kept under outputs/ (wherever the layout puts them).
    saved = {int(p.stem.split("rank")[1]): p for p in (run.folder.path / "outputs").rglob("params-rank*.pt")}
    assert sorted(saved) == [0, 1], sorted((run.folder.path / "outputs").rglob("*"))
    params = [torch.load(saved[r]) for r in range(2)]
    assert params[0].keys() == params[1].keys()
    for name in params[0]:
        assert torch.equal(params[0][name], params[1][name]), name
    state = params[0]
    assert hashlib.sha256(b"".join(state[k].numpy().tobytes() for k in sorted(state))).hexdigest() == digests[0]

    loss = {m["step"]: m["value"] for m in run.metrics() if m["name"] == "loss" and m["rank"] == 0}
    assert sorted(loss) == [0, 1, 2]
    assert loss[2] < loss[0]
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "venv_flag",
    ["--copies", "--symlinks"],
)
def test_horovod_without_horovod_installed_fails_at_submit_with_install_hint(
    store: Store, tmp_path: Path, venv_flag: str
) -> None:
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", venv_flag, "--without-pip", str(bare)], check=True, timeout=60)
    python = bare / "bin" / "python"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("import horovod.torch\n")
    spec = RunSpec(
        entry="train.py",
        source=str(tmp_path / "src"),
        distribution=Distribution(mode="horovod", processes_per_node=2),
        environment=Environment(python=str(python)),
    )
    with pytest.raises(LaunchError) as info:
        submit(spec, store)
    message = str(info.value)
    assert str(python) in message
    assert "pip install" in message and "horovod" in message
    assert store.list() == []  # nothing was created
