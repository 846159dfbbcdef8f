"""TensorFlow runs end to end: real TF, real rank processes, MLTrainCallback metrics (modes tf and tf-ps)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from conftest import assert_no_process_left

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.engine.spec import Distribution, Environment, RunSpec
from jupyter_mltrain.engine.store import Store

# TF prints a lot of C++ logging on stderr; keep the logs readable and the test output short.
QUIET = "import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"

MWMS_SCRIPT = QUIET + textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf
    from jupyter_mltrain.integrations.keras import MLTrainCallback, keras_module

    keras = keras_module()
    config = json.loads(os.environ["TF_CONFIG"])
    print("TF_CONFIG " + json.dumps(config, sort_keys=True), flush=True)
    print("KERAS " + keras.__name__, flush=True)

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    print("REPLICAS", strategy.num_replicas_in_sync, flush=True)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    w = rng.normal(size=(8, 1)).astype("float32")
    y = (x @ w > 0).astype("float32")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = tf.data.Dataset.from_tensor_slices((x[:448], y[:448])).batch(32).with_options(options)
    val = tf.data.Dataset.from_tensor_slices((x[448:], y[448:])).batch(32).with_options(options)

    tf.keras.utils.set_random_seed(0)
    with strategy.scope():
        model = keras.Sequential([
            keras.layers.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(train, validation_data=val, epochs=3, verbose=2, callbacks=[MLTrainCallback(batch_every=4)])
    """
)

PS_SCRIPT = QUIET + textwrap.dedent(
    """
    import json
    import sys
    import numpy as np
    import tensorflow as tf
    from jupyter_mltrain.integrations.keras import MLTrainCallback, keras_module

    keras = keras_module()
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    print("TASK", resolver.task_type, resolver.task_id, flush=True)
    if resolver.task_type in ("worker", "ps"):
        server = tf.distribute.Server(resolver.cluster_spec(), job_name=resolver.task_type,
                                      task_index=resolver.task_id, protocol="grpc", start=True)
        server.join()  # forever: mltrain stops the servers when the chief is done
        sys.exit(0)

    strategy = tf.distribute.experimental.ParameterServerStrategy(resolver)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32") + 0.1

    def dataset_fn(input_context):
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=0).repeat().batch(32)
        return ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id).prefetch(2)

    with strategy.scope():
        model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(keras.utils.experimental.DatasetCreator(dataset_fn), epochs=3, steps_per_epoch=10,
                        verbose=2, callbacks=[MLTrainCallback()])
    print("HISTORY " + json.dumps({k: [float(v) for v in vs] for k, vs in history.history.items()}), flush=True)
    """
)

KERAS3_SCRIPT = QUIET + textwrap.dedent(
    """
    import numpy as np
    from jupyter_mltrain.integrations.keras import MLTrainCallback, keras_module

    keras = keras_module()
    print("KERAS " + keras.__name__, flush=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(x, y, batch_size=32, epochs=2, validation_split=0.25, verbose=2,
              callbacks=[MLTrainCallback(batch_every=3)])
    """
)


def write_script(folder: Path, text: str) -> None:
    (folder / "train.py").write_text(text)


def metric_values(run: Run, name: str, rank: int) -> dict[int, float]:
    """``{step: value}`` of metric ``name`` logged by ``rank``."""
    return {m["step"]: m["value"] for m in run.metrics() if m["name"] == name and m["rank"] == rank}


def progress_events(run: Run, rank: int) -> list[dict]:
    """The progress events rank ``rank`` reported."""
    records, _ = run.folder.read_metrics(rank)
    return [r for r in records if r.get("event") == "progress"]


@pytest.mark.timeout(300)
def test_multi_worker_mirrored_fit_logs_every_epoch_from_both_workers(store: Store, project: Path) -> None:
    write_script(project, MWMS_SCRIPT)
    dist = Distribution(mode="tf", processes_per_node=2)
    run = submit(RunSpec(entry="train.py", source=str(project), distribution=dist), store)
    record = run.wait(timeout=240)
    assert record.status == "Completed"
    assert record.exit_codes == [0, 0]

    configs = []
    for rank in range(2):
        log = run.logs(rank)
        assert "KERAS tf_keras" in log, log[-3000:]  # TF_USE_LEGACY_KERAS=1 from the plan: the callback is tf-keras's
        assert "REPLICAS 2" in log, log[-3000:]
        match = re.search(r"^TF_CONFIG (.*)$", log, re.MULTILINE)
        assert match, log[-3000:]
        configs.append(json.loads(match.group(1)))
    for rank, config in enumerate(configs):
        assert config["task"] == {"type": "worker", "index": rank}
        assert list(config["cluster"]) == ["worker"]
        assert len(config["cluster"]["worker"]) == 2
    assert configs[0]["cluster"] == configs[1]["cluster"]
    assert len(set(configs[0]["cluster"]["worker"])) == 2

    for rank in range(2):
        loss = metric_values(run, "loss", rank)
        assert sorted(loss) == [0, 1, 2], run.metrics()
        assert loss[2] < loss[0]
        for name in ("accuracy", "val_loss", "val_accuracy"):
            assert sorted(metric_values(run, name, rank)) == [0, 1, 2], name
        # 448 samples / 32 = 14 global batches per epoch, so batch metrics at batches 4, 8, ... 40.
        assert sorted(metric_values(run, "batch/loss", rank)) == list(range(4, 43, 4))
        events = progress_events(run, rank)
        assert events and events[-1]["step"] == events[-1]["total"] == 3 * 14
    # MultiWorkerMirroredStrategy reduces the loss across workers: both ranks see the same numbers.
    assert metric_values(run, "loss", 0) == pytest.approx(metric_values(run, "loss", 1))
    assert record.metrics["loss"]["count"] >= 3
    assert_no_process_left(run.id)


@pytest.mark.timeout(300)
def test_parameter_server_fit_completes_when_the_chief_exits(store: Store, project: Path) -> None:
    write_script(project, PS_SCRIPT)
    dist = Distribution(mode="tf-ps", workers=2, parameter_servers=1)
    run = submit(RunSpec(entry="train.py", source=str(project), distribution=dist), store)
    record = run.wait(timeout=240)
    assert record.status == "Completed", record.root_cause
    assert record.exit_codes[0] == 0
    assert record.root_cause is None

    tasks = [re.search(r"^TASK (\w+) (\d+)$", run.logs(rank), re.MULTILINE) for rank in range(4)]
    assert [m.groups() if m else None for m in tasks] == [("chief", "0"), ("worker", "0"), ("worker", "1"), ("ps", "0")]

    loss = metric_values(run, "loss", 0)
    assert sorted(loss) == [0, 1, 2], run.metrics()
    assert loss[2] < loss[0]
    assert progress_events(run, 0)[-1] == {**progress_events(run, 0)[-1], "step": 3, "total": 3}
    assert "loss" in record.metrics
    assert_no_process_left(run.id)


@pytest.mark.timeout(180)
def test_callback_works_with_keras_3_when_legacy_keras_is_turned_off(store: Store, project: Path) -> None:
    write_script(project, KERAS3_SCRIPT)
    no_legacy = Environment(variables={"TF_USE_LEGACY_KERAS": "0"})
    spec = RunSpec(entry="train.py", source=str(project), environment=no_legacy)
    run = submit(spec, store)
    record = run.wait(timeout=150)
    assert record.status == "Completed"
    assert re.search(r"^KERAS keras\.", run.logs(0), re.MULTILINE), run.logs(0)[-3000:]  # Keras 3, not tf_keras
    assert sorted(metric_values(run, "loss", 0)) == [0, 1]
    assert sorted(metric_values(run, "val_loss", 0)) == [0, 1]
    # 192 training samples / 32 = 6 batches per epoch: batch metrics every 3 batches.
    assert sorted(metric_values(run, "batch/loss", 0)) == [3, 6, 9, 12]
    assert progress_events(run, 0)[-1]["step"] == progress_events(run, 0)[-1]["total"] == 12


RESUMING_FIT = QUIET + textwrap.dedent(
    """
    import sys
    import numpy as np
    import jupyter_mltrain as mt
    from jupyter_mltrain.integrations.keras import MLTrainCallback, backup_and_restore, keras_module

    keras = keras_module()

    class FailOnce(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            print("attempt", mt.attempt(), "epoch", epoch, flush=True)
            if mt.attempt() == 1 and epoch == 3:
                sys.exit(5)  # a node lost mid-fit, after epochs 0-2 were backed up

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=5, batch_size=64, verbose=0,
              callbacks=[backup_and_restore(), FailOnce(), MLTrainCallback()])
    """
)


@pytest.mark.timeout(240)
def test_a_restarted_keras_fit_resumes_from_its_backup(store: Store, project: Path) -> None:
    write_script(project, RESUMING_FIT)
    run = submit(RunSpec(entry="train.py", source=str(project), max_restarts=1, grace_period_s=2.0), store)
    record = run.wait(timeout=200, raise_on_error=False)
    assert record.status == "Completed", (record.root_cause, run.logs(0)[-3000:])
    assert record.attempt == 2 and record.attempts[0]["root_cause"]["exit_code"] == 5
    log = run.logs(0)
    assert "attempt 2 epoch 3" in log and "attempt 2 epoch 0" not in log, log[-2000:]  # resumed, not redone
    assert sorted(metric_values(run, "loss", 0)) == [0, 1, 2, 3, 4]
