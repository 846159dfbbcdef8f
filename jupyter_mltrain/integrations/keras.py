"""A Keras callback that sends a run's metrics and progress to mltrain.

    from jupyter_mltrain.integrations.keras import MLTrainCallback
    model.fit(x, y, epochs=5, validation_split=0.1, callbacks=[MLTrainCallback(batch_every=50)])

Every epoch's logs (``loss``, ``accuracy``, ``val_*``…) are logged with ``step=epoch`` (Keras's
0-based epoch index). With ``batch_every=N`` the batch logs are logged too, every N batches, as
``batch/<name>`` with ``step`` = the number of batches trained so far. Keras accepts no
batch-level callback under ``ParameterServerStrategy``: leave ``batch_every`` unset there.
Progress is reported in epochs, or in batches when ``batch_every`` is set.

The callback subclasses the Keras that ``tf.keras`` means in this process: tf-keras (Keras 2)
when ``TF_USE_LEGACY_KERAS=1`` (mltrain sets it under modes ``tf`` and ``tf-ps`` when
tf-keras is installed) or when ``tf.keras`` already is tf-keras, else Keras 3. Importing this
module imports TensorFlow; only training code should import it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any, cast

from jupyter_mltrain.hostside import runtime


def _legacy_requested() -> bool:
    # The values TensorFlow itself accepts, so tf.keras and this module agree.
    return os.environ.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True")


def keras_module() -> ModuleType:
    """The Keras that ``tf.keras`` means in this process (tf-keras or Keras 3)."""
    if _legacy_requested():
        import tf_keras

        return cast(ModuleType, tf_keras)
    import tensorflow as tf

    # Under Keras 3, tf.keras is a lazy module named keras._tf_keras...; under tf-keras, tf_keras....
    if getattr(tf.keras, "__name__", "").startswith("tf_keras"):
        import tf_keras

        return cast(ModuleType, tf_keras)
    return cast(ModuleType, tf.keras)


_keras = keras_module()


def _loggable(logs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The scalar entries of a Keras logs dict (tensors and numpy values included)."""
    out: dict[str, Any] = {}
    for name, value in (logs or {}).items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            # Not a scalar (or a RemoteValue under ParameterServerStrategy): leave it out.
            continue
    return out


class MLTrainCallback(_keras.callbacks.Callback):  # type: ignore[misc, name-defined]
    """Logs each epoch's metrics (and optionally batch metrics) and the training progress to mltrain."""

    def __init__(self, batch_every: int | None = None, progress: bool = True, prefix: str = "") -> None:
        """``batch_every``: also log batch metrics every N batches; ``prefix``: put before every metric name."""
        super().__init__()
        if batch_every is not None and (not isinstance(batch_every, int) or batch_every < 1):
            raise ValueError(f"batch_every must be an integer >= 1 or None, got {batch_every!r}")
        self.batch_every = batch_every
        self.report_progress = progress
        self.prefix = prefix
        self.global_batch = 0
        self._epoch = 0

    def _implements_train_batch_hooks(self) -> bool:
        # tf-keras skips batch hooks that are not needed, and refuses any under ParameterServerStrategy.
        return self.batch_every is not None

    def _params(self) -> tuple[int | None, int | None]:
        params = getattr(self, "params", None) or {}
        epochs = params.get("epochs")
        steps = params.get("steps")
        return (int(epochs) if epochs else None), (int(steps) if steps else None)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        """Reset the batch counter and report zero progress."""
        self.global_batch = 0
        if self.report_progress:
            epochs, steps = self._params()
            total = epochs * steps if (self.batch_every and epochs and steps) else epochs
            runtime.progress(0, total)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Remember the epoch (for batch progress)."""
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Every ``batch_every`` batches, log the batch metrics and the progress in batches."""
        self.global_batch += 1
        if not self.batch_every or self.global_batch % self.batch_every:
            return
        values = _loggable(logs)
        values.pop("batch", None)
        values.pop("size", None)
        if values:
            runtime.log_many({f"{self.prefix}batch/{k}": v for k, v in values.items()}, step=self.global_batch)
        if self.report_progress:
            epochs, steps = self._params()
            if epochs and steps:
                runtime.progress(self._epoch * steps + batch + 1, epochs * steps)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Log every metric of the epoch at ``step=epoch`` and the progress in epochs."""
        values = _loggable(logs)
        if values:
            runtime.log_many({self.prefix + k: v for k, v in values.items()}, step=epoch)
        if self.report_progress:
            epochs, steps = self._params()
            if self.batch_every and epochs and steps:
                runtime.progress((epoch + 1) * steps, epochs * steps)
            else:
                runtime.progress(epoch + 1, epochs)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        """Hand everything logged to the rank agent now."""
        runtime.flush()


def backup_and_restore(**kwargs: Any) -> Any:
    """Keras's ``BackupAndRestore`` callback backed by ``checkpoint_dir()``: a restarted run resumes its ``fit``."""
    return keras_module().callbacks.BackupAndRestore(backup_dir=str(runtime.checkpoint_dir() / "keras"), **kwargs)
