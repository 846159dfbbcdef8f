"""The project's errors: each message names the thing that is wrong and how to fix it."""

from __future__ import annotations


class MLTrainError(Exception):
    """Base of every error jupyter_mltrain raises on purpose."""


class SpecError(MLTrainError, ValueError):
    """A run specification field has a bad value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class TargetError(MLTrainError):
    """A compute target is unknown, misconfigured or unreachable."""


class SnapshotError(MLTrainError):
    """The source folder cannot be packaged."""


class LaunchError(MLTrainError):
    """A run could not be started."""


class RunNotFound(MLTrainError, KeyError):
    """No run has the given id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "run not found"


class RunFailed(MLTrainError):
    """A run ended Failed, Canceled or Lost while someone waited for it."""

    def __init__(self, message: str, record: object = None) -> None:
        super().__init__(message)
        self.record = record


class LaunchWarning(UserWarning):
    """Something about a run that will launch but may not behave as expected."""
