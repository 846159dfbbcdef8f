"""Why mpirun could not start a job, read from what it printed: the host and the reason, in a sentence.

OpenMPI's own account of a failed launch is a long generic banner ("ORTE was unable to reliably start
one or more daemons…"); the line that says what happened (ssh's error, a shell's "command not found")
comes before it. mpirun then exits with 255, the code ssh uses for a cut connection, so an ssh launcher
would misreport it as a lost head host without this.
"""

from __future__ import annotations

import re

_DAEMONS = re.compile(r"ORTE was unable to reliably start one or more daemons|ORTE daemon has unexpectedly failed")
# (pattern, sentence): the pattern's "host" group names the host, when the line says it.
_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"ssh: connect to host (?P<host>\S+) port (?P<port>\d+): (?P<why>[^\r\n]+)"),
        "could not reach {host} by ssh (port {port}: {why})",
    ),
    (
        re.compile(r"ssh: Could not resolve hostname (?P<host>[^:\s]+): (?P<why>[^\r\n]+)"),
        "could not resolve host {host} ({why})",
    ),
    (
        re.compile(r"(?P<who>\S+@)?(?P<host>[^\s:]+): Permission denied \((?P<why>[^)]*)\)"),
        "was refused by {host} over ssh (Permission denied ({why})): the head host needs a key that "
        "{host} accepts without a password",
    ),
    (
        re.compile(r"Host key verification failed"),
        "could not verify a host's ssh key (Host key verification failed): add every host to the head "
        "host's known_hosts",
    ),
    (
        re.compile(r"(?:bash|sh|zsh)(?:: line \d+)?: (?P<cmd>\S*orted): (?:command )?not found"),
        "found no OpenMPI daemon ({cmd}: command not found) on a host: install the same OpenMPI there, "
        "on the PATH of non-interactive ssh sessions, or pass --prefix in the target's mpirun_args",
    ),
    (
        re.compile(r"version mismatch|Data unpack would read past end of buffer|ORTE_ERROR_LOG: Data unpack"),
        "found different OpenMPI versions on the hosts: install the same version everywhere",
    ),
)


def mpirun_failure(output: str, head: str = "") -> str | None:
    """The reason mpirun failed to launch, naming the host, or None if ``output`` shows no launch failure."""
    where = f"mpirun on {head}" if head else "mpirun"
    for pattern, sentence in _CAUSES:
        found = pattern.search(output)
        if found:
            return f"{where} {sentence.format(**found.groupdict())}"
    if _DAEMONS.search(output):
        return f"{where} could not start its daemons on every host (see the launcher log)"
    return None
