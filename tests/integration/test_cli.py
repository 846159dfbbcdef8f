"""The `mltrain` command-line contract that scripts and tests rely on, run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import assert_no_process_left, wait_for

MLTRAIN = [sys.executable, "-m", "jupyter_mltrain.cli"]


def mltrain(*args: str, cwd: Path, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would."""
    out = subprocess.run([*MLTRAIN, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture
def script(project: Path) -> Path:
    path = project / "train.py"
    path.write_text(
        textwrap.dedent("""
        import sys
        from jupyter_mltrain import log, outputs_dir, rank
        print("args", sys.argv[1:])
        for step in range(3):
            log("loss", 1.0 / (step + 1), step=step)
        if rank() == 0:
            (outputs_dir() / "result.txt").write_text("42")
        if "--fail" in sys.argv:
            sys.exit(5)
    """)
    )
    return path


RECORD_KEYS = {"id", "name", "experiment", "status", "mode", "ranks", "exit_codes", "root_cause"}


@pytest.mark.timeout(120)
def test_submit_wait_json_prints_the_final_record_and_passes_args_through(home, project, script) -> None:
    out = mltrain(
        "submit",
        "--np",
        "2",
        "--name",
        "first",
        "--experiment",
        "exp1",
        "--wait",
        "--json",
        "train.py",
        "--lr",
        "0.1",
        "--np",
        "7",
        cwd=project,
    )
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert RECORD_KEYS <= set(record)
    assert (record["status"], record["name"], record["experiment"], record["ranks"]) == (
        "Completed",
        "first",
        "exp1",
        2,
    )
    assert record["exit_codes"] == [0, 0] and record["root_cause"] is None
    logs = mltrain("logs", record["id"], "--rank", "1", cwd=project, check=True).stdout
    assert "args ['--lr', '0.1', '--np', '7']" in logs

    metrics = json.loads(mltrain("metrics", record["id"], "--json", cwd=project, check=True).stdout)
    metrics = [m for m in metrics if not m["name"].startswith("system/")]  # the rank agents' telemetry
    assert len(metrics) == 6
    assert set(metrics[0]) == {"rank", "name", "value", "step", "time", "attempt"} and metrics[0]["attempt"] == 1
    assert {(m["rank"], m["step"]) for m in metrics} == {(r, s) for r in (0, 1) for s in range(3)}

    runs = json.loads(mltrain("runs", "--experiment", "exp1", "--json", cwd=project, check=True).stdout)
    assert [r["id"] for r in runs] == [record["id"]]
    assert json.loads(mltrain("show", record["id"], "--json", cwd=project, check=True).stdout)["id"] == record["id"]

    dest = project.parent / "fetched"
    mltrain("outputs", record["id"], "--to", str(dest), cwd=project, check=True)
    assert (dest / "result.txt").read_text() == "42"


@pytest.mark.timeout(120)
def test_submit_without_wait_prints_only_the_id(home, project, script) -> None:
    out = mltrain("submit", "train.py", cwd=project, check=True)
    run_id = out.stdout.strip()
    assert len(run_id.splitlines()) == 1 and run_id.count("-") == 2
    wait_for(
        lambda: json.loads(mltrain("show", run_id, "--json", cwd=project).stdout)["status"] == "Completed",
        60,
        what="run to complete",
    )


@pytest.mark.timeout(120)
def test_wait_exits_nonzero_when_the_run_fails(home, project, script) -> None:
    out = mltrain("submit", "--wait", "--json", "train.py", "--fail", cwd=project)
    assert out.returncode == 1
    record = json.loads(out.stdout)
    assert record["status"] == "Failed" and record["root_cause"]["exit_code"] == 5


@pytest.mark.timeout(120)
def test_cancel_from_the_cli(home, project) -> None:
    (project / "sleep.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(300)\n")
    run_id = mltrain("submit", "--np", "2", "sleep.py", cwd=project, check=True).stdout.strip()
    wait_for(lambda: "up" in mltrain("logs", run_id, cwd=project).stdout, 60, what="run up")
    assert "canceling" in mltrain("cancel", run_id, cwd=project, check=True).stdout
    wait_for(
        lambda: json.loads(mltrain("show", run_id, "--json", cwd=project).stdout)["status"] == "Canceled",
        30,
        what="Canceled",
    )
    assert_no_process_left(run_id)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "nowhere", "train.py"], "unknown target 'nowhere'; configured targets: local"),
        (["--mode", "ray", "train.py"], "unknown mode 'ray'"),
        (["--np", "0", "train.py"], "error: --np: must be an integer >= 1, got 0"),
        (["--nodes", "-1", "train.py"], "error: --nodes: must be an integer >= 1, got -1"),
        (["missing.py"], "entry script 'missing.py' not found"),
        (["--mode", "tf-ps", "train.py"], "needs workers and parameter_servers"),
        (["--env", "NOEQUALS", "train.py"], "expected NAME=VALUE"),
        (["--input", "data=/does/not/exist", "train.py"], "does not exist"),
        (["--snapshot-limit", "0.001", "train.py"], "over the 0.001 MB limit"),
        (["--np", "two", "train.py"], "invalid int value"),
        (["--gpus", "0", "train.py"], "not found on this machine"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line_and_launches_nothing(home, project, script, args, message) -> None:
    (project / "blob.bin").write_bytes(os.urandom(4096))
    out = mltrain("submit", *args, cwd=project)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert json.loads(mltrain("runs", "--json", cwd=project, check=True).stdout) == []
    runs_dir = home / "runs"
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []


def test_unreadable_source_folder_is_bad_input(home, tmp_path) -> None:
    if os.geteuid() == 0:
        # root reads anything; a missing folder is the unreadable case we can make here
        out = mltrain("submit", "--source", str(tmp_path / "gone"), "train.py", cwd=tmp_path)
    else:
        src = tmp_path / "locked"
        src.mkdir()
        (src / "train.py").write_text("")
        src.chmod(0)
        out = mltrain("submit", "--source", str(src), "train.py", cwd=tmp_path)
    assert out.returncode == 2 and "source folder" in out.stderr


def test_unknown_run_is_bad_input(home, tmp_path) -> None:
    out = mltrain("show", "20990101-000000-abcdef", cwd=tmp_path)
    assert out.returncode == 2 and "no run '20990101-000000-abcdef'" in out.stderr


def test_help_everywhere(tmp_path) -> None:
    for sub in ([], ["submit"], ["runs"], ["show"], ["logs"], ["metrics"], ["cancel"], ["outputs"], ["targets"]):
        out = mltrain(*sub, "--help", cwd=tmp_path)
        assert out.returncode == 0 and "usage: mltrain" in out.stdout


@pytest.mark.timeout(120)
def test_params_reach_a_script_as_arguments_and_through_params(home, project) -> None:
    (project / "tune.py").write_text(
        textwrap.dedent("""
        import argparse
        from jupyter_mltrain import params
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float)
        parser.add_argument("--layers", type=int)
        parser.add_argument("--act")
        args = parser.parse_args()
        print("argparse", args.lr, args.layers, args.act)
        print("params", sorted(params().items()))
    """)
    )
    out = mltrain(
        "submit",
        "--wait",
        "--json",
        "--param",
        "lr=0.5",
        "--param",
        "layers=3",
        "--param",
        "act=relu",
        "tune.py",
        cwd=project,
        check=True,
    )
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert record["status"] == "Completed" and record["params"] == {"lr": 0.5, "layers": 3, "act": "relu"}
    log = (Path(record["run_dir"]) / "logs" / "rank-0.log").read_text()
    assert "argparse 0.5 3 relu" in log
    assert "params [('act', 'relu'), ('layers', 3), ('lr', 0.5)]" in log
    help_text = mltrain("submit", "--help", cwd=project).stdout
    assert "--K V" in help_text and "jupyter_mltrain.params()" in help_text


@pytest.mark.timeout(120)
def test_a_rank_that_does_not_exist_is_named_and_a_silent_rank_has_an_empty_log(home, project) -> None:
    (project / "quiet.py").write_text(
        "from jupyter_mltrain import rank\nif rank() == 0:\n    print('only rank 0 speaks')\n"
    )
    record = json.loads(mltrain("submit", "--np", "2", "--wait", "--json", "quiet.py", cwd=project, check=True).stdout)
    silent = mltrain("logs", record["id"], "--rank", "1", cwd=project)
    assert silent.returncode == 0 and silent.stdout == ""
    assert (Path(record["run_dir"]) / "logs" / "rank-1.log").read_bytes() == b""
    missing = mltrain("logs", record["id"], "--rank", "7", cwd=project)
    assert missing.returncode == 2 and "has 2 rank(s), 0 to 1; there is no rank 7" in missing.stderr


def test_bare_submit_asks_for_the_script_and_every_help_says_what_it_takes(tmp_path) -> None:
    out = mltrain("submit", cwd=tmp_path)
    assert out.returncode == 2 and "which script?" in out.stderr and "args" not in out.stderr
    for sub in ("logs", "show"):
        text = mltrain(sub, "--help", cwd=tmp_path).stdout
        assert "the run id" in text, text
    assert "which rank's log" in mltrain("logs", "--help", cwd=tmp_path).stdout
    submit_help = mltrain("submit", "--help", cwd=tmp_path).stdout
    assert "example:" in submit_help and "$MLTRAIN_HOME" in submit_help
    for mode in ("none", "torch", "mpi", "horovod", "tf", "tf-ps"):
        assert f"\n  {mode} " in submit_help, mode


@pytest.mark.timeout(120)
def test_ctrl_c_on_submit_wait_says_it_cancels_and_printed_the_run_id_first(home, project) -> None:
    (project / "slow.py").write_text("import time\nprint('working', flush=True)\ntime.sleep(120)\n")
    proc = subprocess.Popen(
        [*MLTRAIN, "submit", "--wait", "--json", "slow.py"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = proc.stderr.readline().strip()
    assert run_id.count("-") == 2, run_id
    wait_for(
        lambda: (
            "working" in (home / "runs" / run_id / "logs" / "rank-0.log").read_text(errors="replace")
            if (home / "runs" / run_id / "logs" / "rank-0.log").exists()
            else False
        ),
        timeout=60,
    )
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"Ctrl-C: canceling run {run_id}" in stderr and f"run {run_id} Canceled" in stderr
    assert json.loads(stdout)["status"] == "Canceled"
    assert_no_process_left(run_id)


@pytest.mark.timeout(120)
def test_mltrain_toml_where_the_cli_runs_counts_for_a_script_elsewhere(home, tmp_path) -> None:
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    (here / "mltrain.toml").write_text('[targets.mine]\nkind = "local"\nenv = { FROM_TOML = "here" }\n')
    (elsewhere / "train.py").write_text("import os\nprint('toml', os.environ.get('FROM_TOML'))\n")
    out = mltrain("submit", "--target", "mine", "--wait", "--json", str(elsewhere / "train.py"), cwd=here)
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert record["status"] == "Completed" and record["target"] == "mine", out.stderr
    assert "toml here" in (Path(record["run_dir"]) / "logs" / "rank-0.log").read_text()


@pytest.mark.timeout(120)
def test_a_private_key_beside_the_script_is_not_packaged_and_the_user_is_told(home, project, script) -> None:
    (project / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    dry = mltrain("submit", "--dry-run", "train.py", cwd=project, check=True).stdout
    assert "look like secrets: id_ed25519" in dry and "  id_ed25519\n" not in dry
    out = mltrain("submit", "--wait", "--json", "train.py", cwd=project, check=True)
    assert "look like secrets: id_ed25519" in out.stderr
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert not (Path(record["run_dir"]) / "snapshot" / "id_ed25519").exists()
