"""mpirun's launch failures, read from what OpenMPI 4.1 printed (captured here), name the host and the reason."""

from __future__ import annotations

from jupyter_mltrain.engine.mpirun_failures import mpirun_failure

BANNER = """--------------------------------------------------------------------------
ORTE was unable to reliably start one or more daemons.
This usually is caused by:

* not finding the required libraries and/or binaries on
  one or more nodes. Please check your PATH and LD_LIBRARY_PATH
--------------------------------------------------------------------------
"""


def test_a_host_the_head_cannot_reach_is_named_with_sshs_reason() -> None:
    output = "mltrain remote: [...]\nssh: connect to host 127.0.0.3 port 22: Connection refused\n" + BANNER
    assert mpirun_failure(output, "127.0.0.2") == (
        "mpirun on 127.0.0.2 could not reach 127.0.0.3 by ssh (port 22: Connection refused)"
    )


def test_unknown_hosts_refused_keys_missing_orted_and_version_mismatch() -> None:
    cases = {
        "ssh: Could not resolve hostname gpu9: Name or service not known": "could not resolve host gpu9",
        "alice@gpu2: Permission denied (publickey,password).": "was refused by gpu2 over ssh",
        "Host key verification failed.": "Host key verification failed",
        "bash: line 1: orted: command not found": "orted: command not found",
        "bash: /opt/ompi/bin/orted: No such file or directory": None,
        "[gpu2:01234] [[1,0],1] ORTE_ERROR_LOG: Data unpack would read past end of buffer": "different OpenMPI",
    }
    for line, expected in cases.items():
        found = mpirun_failure(line + "\n" + BANNER)
        if expected is None:
            assert found == "mpirun could not start its daemons on every host (see the launcher log)"
        else:
            assert found is not None and expected in found, (line, found)


def test_output_without_a_launch_failure_is_not_classified() -> None:
    assert mpirun_failure("rank 0 ready\nTraceback (most recent call last):\nValueError: x\n") is None
