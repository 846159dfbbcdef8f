"""Hostile strings in every field a user or a config file sets reach the processes as data, never as shell.

Each test puts ``;``, ``$(touch CANARY)``, backticks, both quotes, newlines and unicode into run names,
params, arguments, environment values, target fields and paths (source folder, entry script, input,
``MLTRAIN_HOME``, remote workdir, interpreter, ssh key files), runs for real, compares what the script
saw with what was sent, and checks that no canary file exists. Settings that cannot be data (an option
where ssh reads options, a variable name with a newline) are refused before anything is created.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers import assert_no_process_left
from secutil import (
    REPORT_SCRIPT,
    canaries,
    hostile,
    hostile_name,
    mpirun_over_sshd,
    report_of,
)

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, Environment, RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.hostside.errors import SpecError, TargetError

CANARY = "pwned-canary"


def toml_str(value: str) -> str:
    """``value`` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value)


@pytest.fixture
def odd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Hostile values, folders with hostile names (home, source) and the places to search for canaries."""

    class Odd:
        canary = tmp_path / CANARY
        value = hostile(tmp_path / CANARY)
        name = f"{hostile_name(CANARY)}\nline 2;touch {CANARY}"  # a run name holds at most 256 characters
        component = hostile_name(CANARY)
        home = tmp_path / f"home {hostile_name(CANARY)}"
        source = tmp_path / f"src {hostile_name(CANARY)}"
        entry = f"main {hostile_name(CANARY)}.py"

        def python(self) -> str:
            """This venv's interpreter, reached through a folder with a hostile name (a venv of links)."""
            folder = tmp_path / f"py {hostile_name(CANARY)}"
            if not folder.exists():
                (folder / "bin").mkdir(parents=True)
                (folder / "bin" / "python3").symlink_to(os.path.realpath(sys.executable))
                (folder / "lib").symlink_to(Path(sys.prefix) / "lib")
                shutil.copy(Path(sys.prefix) / "pyvenv.cfg", folder / "pyvenv.cfg")
            return str(folder / "bin" / "python3")

        def assert_no_canary(self) -> None:
            found = canaries(CANARY, [tmp_path])
            found += [
                folder / CANARY for folder in {Path.cwd(), Path.home(), Path("/tmp")} if (folder / CANARY).exists()
            ]
            assert not found, f"a shell ran an injected command: {found}"

    odd_ = Odd()
    odd_.source.mkdir()
    monkeypatch.setenv("MLTRAIN_HOME", str(odd_.home))
    (odd_.source / odd_.entry).write_text(REPORT_SCRIPT)
    return odd_


def _report_env(names: list[str], files: list[str] = ()) -> dict[str, str]:
    return {"REPORT_NAMES": json.dumps(names), "REPORT_FILES": json.dumps(list(files))}


@pytest.mark.timeout(120)
def test_hostile_values_reach_a_local_run_as_data(odd) -> None:
    data = odd.source.parent / f"data {odd.component}.txt"
    data.write_text(odd.value, encoding="utf-8")
    (odd.source / "mltrain.toml").write_text(
        f'[targets.odd]\nkind = "local"\nenv = {{ T_ODD = {toml_str(odd.value)} }}\n'
    )
    args = (odd.value, f"--flag={odd.value}", "-c", "")
    params = {"p": odd.value, "nested": [odd.value, {"k": odd.value}], "n": 1}
    spec = RunSpec(
        entry=odd.entry,
        source=str(odd.source),
        args=args,
        target="odd",
        name=odd.name,
        params=params,
        inputs={"data": str(data)},
        environment=Environment(
            python=odd.python(),
            variables={"ODD": odd.value, "EMPTY": "", **_report_env(["ODD", "EMPTY", "T_ODD"], ["MLTRAIN_INPUT_DATA"])},
        ),
        distribution=Distribution(processes_per_node=2),
    )
    store = Store(odd.home)
    run = submit(spec, store)
    record = run.wait(timeout=90, raise_on_error=False)
    assert record.status == "Completed", (record.root_cause, run.logs(0))
    for rank in (0, 1):
        report = report_of(run.logs(rank))
        # params reach a script as `--K V` after its own arguments, as data too
        param_args = ["--p", odd.value, "--nested", json.dumps(params["nested"]), "--n", "1"]
        assert report["argv"] == [odd.entry, *args, *param_args]
        assert report["env"] == {"ODD": odd.value, "EMPTY": "", "T_ODD": odd.value}
        assert report["files"] == {"MLTRAIN_INPUT_DATA": odd.value}
    assert record.name == odd.name and store.list()[0].name == odd.name
    assert record.params == params and run.spec().params == params and run.spec().args == args
    odd.assert_no_canary()
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_hostile_values_on_the_magic_line_reach_the_cell_as_data(odd, monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_mltrain.api import Run

    source = odd.source.parent / odd.source.name.replace("\n", " ")  # a magic's line holds no newline
    source.mkdir(exist_ok=True)
    monkeypatch.chdir(source)
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jupyter_mltrain")
    one_line = odd.value.replace("\n", " ")  # a magic's line holds no newline
    literal = [one_line, {"k": 1}]
    line = " ".join(
        [
            "--wait",
            "--name",
            shlex.quote(odd.name.replace("\n", " ")),
            "--param",
            shlex.quote(f"p_text={one_line}"),
            "--param",
            shlex.quote(f"p_literal={literal!r}"),
            "--param",
            "p_number=0.5",
            "--env",
            shlex.quote(f"ODD={one_line}"),
            "--secret-env",
            shlex.quote(f"HIDDEN={one_line}"),
            "--env",
            shlex.quote(f"REPORT_NAMES={json.dumps(['ODD', 'HIDDEN'])}"),
            "--source",
            shlex.quote(str(source)),
        ]
    )
    result = shell.run_cell(f"%%train {line}\n{REPORT_SCRIPT}")
    assert result.error_before_exec is None and result.error_in_exec is None, result.error_in_exec
    run = Run(shell.magics_manager.registry["TrainMagics"].last_run_id, Store(odd.home))
    report = report_of(run.logs(0))
    assert report["globals"] == {"p_text": one_line, "p_literal": literal, "p_number": 0.5}
    assert report["env"] == {"ODD": one_line, "HIDDEN": one_line}
    assert run.record.name == odd.name.replace("\n", " ")
    odd.assert_no_canary()


def test_settings_that_cannot_be_data_are_refused_before_anything_is_created(odd) -> None:
    store = Store(odd.home)
    base = {"entry": odd.entry, "source": str(odd.source)}
    refused = [
        (
            lambda: RunSpec(**base, environment=Environment(variables={"BAD\nNAME": "x"})),
            "environment.variables",
            "BAD\\nNAME",
        ),
        (lambda: RunSpec(**base, environment=Environment(variables={"A=B": "x"})), "environment.variables", "A=B"),
        (
            lambda: RunSpec(**base, environment=Environment(variables={"$(touch x)": "x"})),
            "environment.variables",
            "$(touch x)",
        ),
        (
            lambda: RunSpec(**base, environment=Environment(variables={"NUL": "a\0b"})),
            "environment.variables.NUL",
            "NUL byte",
        ),
        (lambda: RunSpec(**base, inputs={"da;ta": "/tmp"}), "inputs", "da;ta"),
        (lambda: RunSpec(**base, name="a\0b"), "name", "bad run name"),
        (lambda: RunSpec(**base, experiment="x;$(touch y)"), "experiment", "bad experiment name"),
        (lambda: RunSpec(entry="../outside.py", source=str(odd.source)), "entry", "inside the source folder"),
    ]
    for make, field, words in refused:
        with pytest.raises(SpecError) as info:
            submit(make(), store)
        assert info.value.field == field and words in str(info.value), (field, str(info.value))
    assert store.list() == [] and not any((odd.home / "runs").iterdir())
    odd.assert_no_canary()


def _ssh_keys(sshd, odd) -> tuple[Path, Path]:
    """The test sshd's client key and known_hosts, copied to paths ssh's own option parser could mangle."""
    keys = odd.source.parent / f"keys {odd.component}"
    keys.mkdir(exist_ok=True)
    identity, known = keys / 'id 50% "k" #1', keys / "known hosts #1 %h"
    shutil.copy(sshd.client_key, identity)
    os.chmod(identity, 0o600)
    shutil.copy(sshd.known_hosts, known)
    return identity, known


def _ssh_target(sshd, name: str, odd, work: Path, extra: str = "") -> str:
    """An ssh target on the test sshd whose key files, workdir and interpreter sit in hostile folders."""
    identity, known = _ssh_keys(sshd, odd)
    return (
        f'[targets.{name}]\nkind = "ssh"\nhosts = ["127.0.0.2:2", "127.0.0.3:2"]\nport = {sshd.port}\n'
        f"identity = {toml_str(str(identity))}\nknown_hosts = {toml_str(str(known))}\n"
        f"python = {toml_str(odd.python())}\nworkdir = {toml_str(str(work))}\n"
        + mpirun_over_sshd(sshd)
        + f"env = {{ T_ODD = {toml_str(odd.value)} }}\n{extra}"
    )


@pytest.mark.timeout(180)
def test_hostile_values_reach_an_ssh_run_on_two_hosts_as_data(sshd, odd) -> None:
    work = odd.source.parent / f"remote work {odd.component}"
    (odd.source / "mltrain.toml").write_text(_ssh_target(sshd, "cluster", odd, work))
    args = (odd.value, f"--flag={odd.value}")
    spec = RunSpec(
        entry=odd.entry,
        source=str(odd.source),
        args=args,
        target="cluster",
        name=odd.name,
        params={"p": odd.value},
        environment=Environment(variables={"ODD": odd.value, **_report_env(["ODD", "T_ODD"])}),
        distribution=Distribution(mode="mpi", processes_per_node=1, nodes=2),
    )
    run = submit(spec, Store(odd.home))
    record = run.wait(timeout=150, raise_on_error=False)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    for rank in (0, 1):
        report = report_of(run.logs(rank))
        assert report["argv"] == [odd.entry, *args, "--p", odd.value], rank  # a param reaches a script as `--p V`
        assert report["env"] == {"ODD": odd.value, "T_ODD": odd.value}, rank
    assert record.name == odd.name and record.params == {"p": odd.value}
    assert not (work / run.id).exists(), "the run's folder under the hostile workdir was found and removed"
    odd.assert_no_canary()
    assert_no_process_left(run.id)


def test_ssh_settings_that_ssh_would_read_as_options_are_refused(sshd, odd) -> None:
    """A user or host starting with '-' would be an ssh option (``-oProxyCommand=…`` runs a command)."""
    store = Store(odd.home)
    command = f"-oProxyCommand=touch {odd.canary}"
    for name, extra in (("by-user", f"user = {toml_str(command)}\n"), ("by-host", "")):
        toml = sshd.target_toml(name=name, extra=extra)
        if name == "by-host":
            toml = toml.replace('hosts = ["127.0.0.2:2", "127.0.0.3:2"]', f"hosts = [{toml_str(command)}]")
        (odd.source / "mltrain.toml").write_text(toml)
        with pytest.raises(TargetError, match=r"bad (user|host)") as info:
            submit(RunSpec(entry=odd.entry, source=str(odd.source), target=name), store)
        assert "touch" in str(info.value)
    for user in ("a b", "x\ny", ""):
        (odd.source / "mltrain.toml").write_text(sshd.target_toml(name="spaced", extra=f"user = {toml_str(user)}\n"))
        with pytest.raises(TargetError, match="bad user"):
            submit(RunSpec(entry=odd.entry, source=str(odd.source), target="spaced"), store)
    assert store.list() == []
    odd.assert_no_canary()


@pytest.mark.timeout(240)
def test_hostile_values_reach_a_slurm_job_as_data(slurm, odd) -> None:
    (odd.source / "mltrain.toml").write_text(
        f'[targets.hpc]\nkind = "slurm"\npartition = "debug"\nsbatch_options = [{toml_str("--comment=" + odd.value)}]\n'
        f"env = {{ T_ODD = {toml_str(odd.value)} }}\n"
        f'[targets.bad-partition]\nkind = "slurm"\npartition = {toml_str("debug" + chr(10) + "touch " + str(odd.canary))}\n'
    )
    args = (odd.value, f"--flag={odd.value}")
    spec = RunSpec(
        entry=odd.entry,
        source=str(odd.source),
        args=args,
        target="hpc",
        name=odd.name,
        environment=Environment(python=odd.python(), variables={"ODD": odd.value, **_report_env(["ODD", "T_ODD"])}),
        distribution=Distribution(processes_per_node=2),
    )
    store = Store(odd.home)
    run = submit(spec, store)
    record = run.wait(timeout=180, raise_on_error=False)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    for rank in (0, 1):
        report = report_of(run.logs(rank))
        assert report["argv"] == [odd.entry, *args], rank
        assert report["env"] == {"ODD": odd.value, "T_ODD": odd.value}, rank
    # a newline in a setting is a bad partition for sbatch, never a line of the job script
    bad = submit(spec.with_changes(target="bad-partition"), store)
    record = bad.wait(timeout=60, raise_on_error=False)
    assert record.status == "Failed" and "sbatch refused the job" in record.root_cause.message
    odd.assert_no_canary()
    assert_no_process_left(run.id)


@pytest.mark.timeout(240)
def test_hostile_values_reach_a_slurm_job_through_a_login_node_as_data(slurm, sshd, odd) -> None:
    work = odd.source.parent / f"cluster home {odd.component}"
    identity, known = _ssh_keys(sshd, odd)
    (odd.source / "mltrain.toml").write_text(
        f'[targets.remote-hpc]\nkind = "slurm"\nlogin_host = "127.0.0.2"\nport = {sshd.port}\n'
        f"identity = {toml_str(str(identity))}\nknown_hosts = {toml_str(str(known))}\npython = {toml_str(odd.python())}\n"
        f'workdir = {toml_str(str(work))}\ncollector_host = "127.0.0.2"\npartition = "debug"\n'
        f"sbatch_options = [{toml_str('--comment=' + odd.value)}]\n"
        f'env = {{ SLURM_CONF = "{slurm.conf}", T_ODD = {toml_str(odd.value)} }}\n'
    )
    args = (odd.value, f"--flag={odd.value}")
    spec = RunSpec(
        entry=odd.entry,
        source=str(odd.source),
        args=args,
        target="remote-hpc",
        name=odd.name,
        environment=Environment(variables={"ODD": odd.value, **_report_env(["ODD", "T_ODD"])}),
        distribution=Distribution(processes_per_node=2),
    )
    run = submit(spec, Store(odd.home))
    record = run.wait(timeout=200, raise_on_error=False)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    for rank in (0, 1):
        report = report_of(run.logs(rank))
        assert report["argv"] == [odd.entry, *args], rank
        assert report["env"] == {"ODD": odd.value, "T_ODD": odd.value}, rank
    assert (work / run.id / odd.entry).is_file(), "staged under the hostile workdir, name intact"
    odd.assert_no_canary()
    assert_no_process_left(run.id)
