"""Secret variables reach the ranks and nothing else: no file we write, no index, no command line, no face.

A secret is a variable passed with ``--secret-env``, or one whose name matches ``*TOKEN*``, ``*KEY*``,
``*PASSWORD*`` or ``*SECRET*`` (the default patterns), from ``--env`` or from a target's ``env``. Each
test runs for real on one target and checks every byte under ``MLTRAIN_HOME`` (and the remote work
folder), the run's record, spec, plan, the widget's state, the dry-run report, and every process's
``/proc/PID/cmdline`` polled while the run goes on; the ranks prove they got the real values by
printing their SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
from pathlib import Path

import pytest
from helpers import assert_no_process_left
from secutil import CmdlineWatch, encodings, files_containing, mpirun_over_sshd

from jupyter_mltrain.api import Run, preflight, submit
from jupyter_mltrain.engine.spec import SECRET_PLACEHOLDER
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.options import add_run_options, spec_from_options

# Prints the SHA-256 of each named variable (never the value), then stays up a while for the /proc poll.
HASH_SCRIPT = r"""
import hashlib, json, os, time
names = json.loads(os.environ["HASH_NAMES"])
print("HASHES " + json.dumps({n: hashlib.sha256(os.environ[n].encode()).hexdigest() if n in os.environ else None
                              for n in names}), flush=True)
time.sleep(float(os.environ.get("STAY_S", "1.5")))
"""


class Secrets:
    """The variables of one test run: secret ones under every rule, and a plain one."""

    def __init__(self) -> None:
        tag = secrets.token_hex(6)
        self.by_pattern = {
            "API_TOKEN": f"tok-{tag}-{secrets.token_hex(8)}",
            "db_password": f"pw;$(id) 'q' ü-{secrets.token_hex(8)}",
            "AWS_SECRET_ACCESS_KEY": f"key-{secrets.token_hex(12)}",
        }
        self.by_flag = {"HIDDEN": f"flagged-{secrets.token_hex(8)}"}  # --secret-env: any name
        self.by_target = {"HF_TOKEN": f"target-{secrets.token_hex(8)}"}  # the target's TOML env
        self.plain = {"PLAIN": "visible-value"}

    @property
    def values(self) -> dict[str, str]:
        """Every secret variable with its value."""
        return {**self.by_pattern, **self.by_flag, **self.by_target}

    def needles(self) -> list[bytes]:
        """Every way a secret value could be written."""
        return [b for v in self.values.values() for b in encodings(v)]

    def target_env(self) -> str:
        """The TOML ``env`` line of the target."""
        return "env = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in self.by_target.items()) + " }\n"

    def spec(self, project: Path, target: str, *extra: str):
        """The RunSpec as ``%%train``/``mltrain submit`` build it from their flags."""
        parser = argparse.ArgumentParser()
        add_run_options(parser)
        argv = ["--target", target, *extra]
        for key, value in {**self.by_pattern, **self.plain}.items():
            argv += ["--env", f"{key}={value}"]
        for key, value in self.by_flag.items():
            argv += ["--secret-env", f"{key}={value}"]
        names = [*self.values, *self.plain]
        argv += ["--env", f"HASH_NAMES={json.dumps(names)}"]
        (project / "main.py").write_text(HASH_SCRIPT)
        return spec_from_options(parser.parse_args(argv), entry="main.py", source=str(project))

    def assert_ranks_got_them(self, run: Run, ranks: int) -> None:
        """Each rank printed the SHA-256 of the real values."""
        expected = {k: hashlib.sha256(v.encode()).hexdigest() for k, v in {**self.values, **self.plain}.items()}
        for rank in range(ranks):
            line = next((x for x in run.logs(rank).splitlines() if x.startswith("HASHES ")), None)
            assert line is not None, run.logs(rank)
            assert json.loads(line[len("HASHES ") :]) == expected, f"rank {rank} did not get the real values"

    def assert_nowhere(self, *roots: Path) -> None:
        """No file under ``roots`` holds a secret value (in any encoding)."""
        for root in roots:
            assert files_containing(root, self.needles()) == [], f"a secret value was written under {root}"

    def assert_not_in(self, text: str, what: str) -> None:
        """``text`` holds no secret value."""
        leaked = [k for k, v in self.values.items() if any(n.decode() in text for n in encodings(v))]
        assert not leaked, f"{what} shows the value of {leaked}"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The targets' TOML, as ``$MLTRAIN_CONFIG`` outside the project: a ./mltrain.toml would be packaged
    with the code like any file of the folder, and what it holds is the user's to place."""
    path = tmp_path / "config" / "mltrain.toml"
    path.parent.mkdir()
    monkeypatch.setenv("MLTRAIN_CONFIG", str(path))
    return path


def _run_watched(spec, store: Store, sec: Secrets, timeout: float) -> tuple[Run, CmdlineWatch]:
    with CmdlineWatch(sec.values.values()) as watch:
        run = submit(spec, store)
        record = run.wait(raise_on_error=False, timeout=timeout)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    assert watch.scans > 20, "the /proc poll must have run all along the run"
    assert watch.hits == {}, f"secret values on command lines: {watch.hits}"
    return run, watch


def _faces(run: Run, sec: Secrets) -> None:
    """The record, the spec, the plan, the widget and the summaries hold placeholders, never values."""
    from jupyter_mltrain.widget import RunWidget
    from jupyter_mltrain.widget.summary import (
        runs_table_html,
        runs_table_text,
        summary_html,
        summary_text,
    )

    record = run.record
    sec.assert_not_in(json.dumps(record.to_dict()), "the run's record")
    spec_vars = run.spec().environment.variables
    assert {k: spec_vars[k] for k in (*sec.by_pattern, *sec.by_flag)} == dict.fromkeys(
        (*sec.by_pattern, *sec.by_flag), SECRET_PLACEHOLDER
    )
    assert spec_vars["PLAIN"] == "visible-value"
    plan = json.loads((run.folder.path / "plan.json").read_text())
    assert {k: plan["env"][k] for k in sec.values} == dict.fromkeys(sec.values, SECRET_PLACEHOLDER)
    widget = RunWidget(run)
    while widget.refresh():
        pass
    sec.assert_not_in(json.dumps(widget.get_state(), default=str), "the widget's state")
    sec.assert_not_in(json.dumps(widget.feed.history(widget.seq), default=str), "the widget's history")
    for face in (summary_text(record), summary_html(record), runs_table_text([record]), runs_table_html([record])):
        sec.assert_not_in(face, "a summary")


@pytest.mark.timeout(120)
def test_secrets_reach_local_ranks_and_nothing_else(config: Path, store: Store, project: Path) -> None:
    sec = Secrets()
    config.write_text('[targets.here]\nkind = "local"\n' + sec.target_env())
    spec = sec.spec(project, "here", "--np", "2")
    report = preflight(spec, store)
    sec.assert_not_in(report.report(), "the dry-run report")
    sec.assert_not_in(json.dumps(report.to_dict()), "the pre-flight record")
    assert "API_TOKEN=<secret>" in report.report() and "HF_TOKEN=<secret>" in report.report()
    run, watch = _run_watched(spec, store, sec, timeout=90)
    assert "python3" in " ".join(watch.seen) or "python" in " ".join(watch.seen)
    sec.assert_ranks_got_them(run, 2)
    sec.assert_nowhere(store.home)
    _faces(run, sec)
    assert_no_process_left(run.id)


@pytest.mark.timeout(180)
def test_secrets_reach_ssh_ranks_on_two_hosts_and_no_command_line_or_remote_file(
    config: Path, sshd, store: Store, project: Path, tmp_path: Path
) -> None:
    sec = Secrets()
    work = tmp_path / "remote-work"
    config.write_text(
        sshd.target_toml(
            extra=(
                f'python = "{sys.executable}"\nworkdir = "{work}"\ncleanup = "never"\n'
                + mpirun_over_sshd(sshd)
                + sec.target_env()
            )
        )
    )
    spec = sec.spec(project, "cluster", "--np", "1", "--nodes", "2", "--mode", "mpi", "--env", "STAY_S=3")
    run, watch = _run_watched(spec, store, sec, timeout=150)
    assert {"ssh", "mpirun", "orted"} <= watch.seen, f"the poll saw the run's processes: {sorted(watch.seen)}"
    sec.assert_ranks_got_them(run, 2)
    sec.assert_nowhere(store.home, work)
    _faces(run, sec)
    assert_no_process_left(run.id)


@pytest.mark.timeout(180)
def test_secrets_reach_slurm_tasks_and_no_command_line_or_file(
    config: Path, slurm, store: Store, project: Path
) -> None:
    sec = Secrets()
    config.write_text('[targets.hpc]\nkind = "slurm"\npartition = "debug"\n' + sec.target_env())
    spec = sec.spec(project, "hpc", "--np", "2")
    run, watch = _run_watched(spec, store, sec, timeout=150)
    assert "sbatch" in watch.seen or "srun" in watch.seen, sorted(watch.seen)
    sec.assert_ranks_got_them(run, 2)
    sec.assert_nowhere(store.home)
    _faces(run, sec)
    assert_no_process_left(run.id)


@pytest.mark.timeout(180)
def test_secrets_reach_slurm_tasks_through_a_login_node_and_no_command_line_or_file(
    config: Path, slurm, sshd, store: Store, project: Path, tmp_path: Path
) -> None:
    sec = Secrets()
    work = tmp_path / "cluster-home"
    config.write_text(
        f'[targets.remote-hpc]\nkind = "slurm"\nlogin_host = "127.0.0.2"\nport = {sshd.port}\n'
        f'identity = "{sshd.client_key}"\nknown_hosts = "{sshd.known_hosts}"\npython = "{sys.executable}"\n'
        f'workdir = "{work}"\ncollector_host = "127.0.0.2"\n'
        f'env = {{ SLURM_CONF = "{slurm.conf}", ' + sec.target_env()[len("env = { ") :]
    )
    spec = sec.spec(project, "remote-hpc", "--np", "2")
    run, watch = _run_watched(spec, store, sec, timeout=150)
    assert {"ssh", "sbatch"} <= watch.seen, f"the poll saw sbatch run over ssh: {sorted(watch.seen)}"
    sec.assert_ranks_got_them(run, 2)
    sec.assert_nowhere(store.home, work)
    _faces(run, sec)
    assert_no_process_left(run.id)
