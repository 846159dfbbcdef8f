"""The dynamic batcher and the protocol codecs, with a real numpy model function (no server)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from jupyter_mltrain.models.serving import protocols
from jupyter_mltrain.models.serving.batcher import Batcher
from jupyter_mltrain.models.serving.signature import RequestError, Signature, TensorSpec


def run_async(coro):
    """Run ``coro`` on a loop of its own, leaving the thread's current loop as it was (asyncio.run unsets it,
    and later tests in this process, IPython's among them, need one)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


WEIGHTS = np.arange(12, dtype="float32").reshape(4, 3)
SIGNATURE = Signature((TensorSpec("x", (-1, 4), "float32"),), (TensorSpec("y", (-1, 3), "float32"),))


def test_concurrent_callers_share_model_calls_of_at_most_max_batch_rows_and_get_their_own_rows() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def model(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        gate.wait(5)  # the first call holds the model busy so that the others queue
        calls.append(len(inputs["x"]))
        return {"y": inputs["x"] @ WEIGHTS}

    async def main() -> list[tuple[np.ndarray, np.ndarray]]:
        batcher = Batcher(model, ThreadPoolExecutor(1), max_batch=8)
        rng = np.random.default_rng(0)
        requests = [rng.standard_normal((n, 4)).astype("float32") for n in (1, 3, 2, 2, 1, 3, 1)]
        tasks = [asyncio.ensure_future(batcher.predict({"x": requests[0]}))]
        await asyncio.sleep(0.05)  # the lone first request runs at once, and holds the model
        tasks += [asyncio.ensure_future(batcher.predict({"x": x})) for x in requests[1:]]
        await asyncio.sleep(0.05)
        gate.set()
        answers = await asyncio.gather(*tasks)
        batcher.close()
        return [(x, a["y"]) for x, a in zip(requests, answers, strict=True)]

    for x, y in run_async(main()):
        assert np.allclose(y, x @ WEIGHTS)
    assert calls == [1, 8, 4], "the queued 12 rows run as 3+2+2+1 (8, the most) then 3+1"


def test_a_failing_model_call_fails_every_caller_of_that_batch_and_the_next_batch_runs() -> None:
    failures = iter([True, False])

    def model(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if next(failures, False):
            raise RuntimeError("out of memory")
        return {"y": inputs["x"] @ WEIGHTS}

    async def main() -> None:
        batcher = Batcher(model, ThreadPoolExecutor(1))
        with pytest.raises(RuntimeError, match="out of memory"):
            await batcher.predict({"x": np.ones((1, 4), "float32")})
        answer = await batcher.predict({"x": np.ones((2, 4), "float32")})
        assert answer["y"].shape == (2, 3)
        batcher.close()

    run_async(main())


def test_the_codecs_read_rows_columns_and_typed_tensors_and_name_the_signature_on_errors() -> None:
    rows, fmt = protocols.tf_decode(SIGNATURE, {"instances": [[1, 2, 3, 4], [5, 6, 7, 8]]})
    assert fmt == "row" and rows["x"].dtype == np.float32 and rows["x"].shape == (2, 4)
    named, _ = protocols.tf_decode(SIGNATURE, {"instances": [{"x": [1, 2, 3, 4]}]})
    assert named["x"].shape == (1, 4)
    columns, fmt = protocols.tf_decode(SIGNATURE, {"inputs": {"x": [[1, 2, 3, 4]]}})
    assert fmt == "columnar" and columns["x"].shape == (1, 4)
    out = {"y": np.zeros((2, 3), "float32")}
    assert protocols.tf_encode(SIGNATURE, out, "row") == {"predictions": [[0.0] * 3] * 2}
    assert protocols.tf_encode(SIGNATURE, out, "columnar") == {"outputs": [[0.0] * 3] * 2}
    body = {"id": "7", "inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": list(range(8))}]}
    arrays, asked, request_id = protocols.kserve_decode(SIGNATURE, body)
    assert arrays["x"].tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]] and asked == ["y"] and request_id == "7"
    answer = protocols.kserve_encode("m", 2, out, asked, request_id)
    assert answer["outputs"] == [{"name": "y", "datatype": "FP32", "shape": [2, 3], "data": [0.0] * 6}]
    for bad, words in [
        ({"instances": [[1.5, 2, 3, 4]], "inputs": []}, "not both"),
        ({"instances": []}, "non-empty list"),
        ({"instances": [[True, False, True, False]]}, None),
        ({"inputs": {"x": [[1, 2, 3, 4]], "z": [1]}}, "no input 'z'"),
    ]:
        if words is None:
            assert protocols.tf_decode(SIGNATURE, bad)[0]["x"].dtype == np.float32  # booleans are numbers to a float
            continue
        with pytest.raises(RequestError, match=words):
            protocols.tf_decode(SIGNATURE, bad)
    ints = Signature((TensorSpec("ids", (-1, 2), "int64"),), SIGNATURE.outputs)
    with pytest.raises(RequestError, match="must be int64, got number values; the model takes ids: int64"):
        protocols.tf_decode(ints, {"instances": [[1.5, 2.0]]})
    with pytest.raises(RequestError, match="the model has no output 'z'"):
        protocols.kserve_decode(SIGNATURE, {**body, "outputs": [{"name": "z"}]})


def test_padded_batches_call_the_model_with_bucket_sizes_only_and_answer_the_real_rows() -> None:
    from jupyter_mltrain.models.serving.batcher import bucket, buckets

    assert buckets(32) == [1, 2, 4, 8, 16, 32] and buckets(10) == [1, 2, 4, 8, 10]
    assert [bucket(r, 32) for r in (1, 3, 5, 17, 32, 40)] == [1, 4, 8, 32, 32, 40]
    sizes: list[int] = []

    def model(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        sizes.append(len(inputs["x"]))
        return {"y": inputs["x"] @ WEIGHTS}

    async def main() -> None:
        batcher = Batcher(model, ThreadPoolExecutor(1), max_batch=32, pad=True)
        rng = np.random.default_rng(1)
        for rows in (3, 5, 1, 17):
            x = rng.standard_normal((rows, 4)).astype("float32")
            answer = await batcher.predict({"x": x})
            assert answer["y"].shape == (rows, 3) and np.allclose(answer["y"], x @ WEIGHTS)
        batcher.close()

    run_async(main())
    assert sizes == [4, 8, 1, 32]
