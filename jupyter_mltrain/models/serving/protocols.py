"""The two wire protocols' bodies, as pure functions: TensorFlow Serving's REST API and KServe's v2 protocol.

TensorFlow Serving (https://www.tensorflow.org/tfx/serving/api_rest): ``{"instances": [...]}`` (rows) answers
``{"predictions": [...]}``; ``{"inputs": ...}`` (columns) answers ``{"outputs": ...}``, as TF Serving does.
KServe v2 (the Open Inference Protocol of KServe, Triton and MLServer): typed tensors with flat or nested
``data``, answered in the same form.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jupyter_mltrain.models.serving.dtypes import BY_KSERVE, BY_NUMPY
from jupyter_mltrain.models.serving.signature import RequestError, Signature, TensorSpec, check_tensor

Arrays = dict[str, np.ndarray]


def _rows(signature: Signature, instances: Any) -> Arrays:
    if not isinstance(instances, list) or not instances:
        raise RequestError(f'"instances" must be a non-empty list of rows; {signature.describe()}')
    if isinstance(instances[0], dict):
        if not all(isinstance(row, dict) for row in instances):
            raise RequestError('"instances" mixes named ({"input": ...}) and plain rows')
        arrays = {}
        for spec in signature.inputs:
            if not all(spec.name in row for row in instances):
                raise RequestError(f"a row lacks input {spec.name!r}; {signature.describe()}")
            arrays[spec.name] = check_tensor(signature, spec, [row[spec.name] for row in instances])
        return arrays
    spec = signature.input(None)
    return {spec.name: check_tensor(signature, spec, instances)}


def _columns(signature: Signature, inputs: Any) -> Arrays:
    if isinstance(inputs, dict):
        unknown = set(inputs) - {s.name for s in signature.inputs}
        if unknown:
            raise RequestError(f"the model has no input {sorted(unknown)[0]!r}; {signature.describe()}")
        missing = [s.name for s in signature.inputs if s.name not in inputs]
        if missing:
            raise RequestError(f"input {missing[0]!r} is missing; {signature.describe()}")
        return {s.name: check_tensor(signature, s, inputs[s.name]) for s in signature.inputs}
    spec = signature.input(None)
    return {spec.name: check_tensor(signature, spec, inputs)}


def tf_decode(signature: Signature, body: Any) -> tuple[Arrays, str]:
    """A ``:predict`` body as input arrays, and its format: ``"row"`` (instances) or ``"columnar"`` (inputs)."""
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        raise RequestError(
            'a :predict body is a JSON object with "instances" (a list of rows) or "inputs" (columns), '
            f"not both; {signature.describe()}"
        )
    if "instances" in body:
        return _rows(signature, body["instances"]), "row"
    return _columns(signature, body["inputs"]), "columnar"


def tf_encode(signature: Signature, outputs: Arrays, fmt: str) -> dict[str, Any]:
    """The ``:predict`` answer for ``outputs``."""
    names = [s.name for s in signature.outputs]
    if fmt == "columnar":
        return {"outputs": outputs[names[0]].tolist() if len(names) == 1 else {n: outputs[n].tolist() for n in names}}
    if len(names) == 1:
        return {"predictions": outputs[names[0]].tolist()}
    lists = {n: outputs[n].tolist() for n in names}
    return {"predictions": [{n: lists[n][i] for n in names} for i in range(len(lists[names[0]]))]}


def _tf_shape(shape: tuple[int, ...]) -> dict[str, Any]:
    return {"dim": [{"size": str(d), "name": ""} for d in shape], "unknown_rank": False}


def tf_status(version: int) -> dict[str, Any]:
    """``GET /v1/models/NAME``: the loaded version's state."""
    return {
        "model_version_status": [
            {"version": str(version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }


def tf_metadata(name: str, version: int, signature: Signature) -> dict[str, Any]:
    """``GET /v1/models/NAME/metadata``: the ``serving_default`` signature in TF Serving's form."""

    def tensors(specs: Any) -> dict[str, Any]:
        return {
            s.name: {"dtype": BY_NUMPY[s.dtype].tf, "tensor_shape": _tf_shape(s.shape), "name": s.name} for s in specs
        }

    signature_def = {
        "inputs": tensors(signature.inputs),
        "outputs": tensors(signature.outputs),
        "method_name": "tensorflow/serving/predict",
    }
    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": {"signature_def": {"serving_default": signature_def}}},
    }


def kserve_decode(signature: Signature, body: Any) -> tuple[Arrays, list[str], str | None]:
    """A v2 ``infer`` body as input arrays, the output names asked for, and the request id."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise RequestError(f'an infer body is a JSON object with a non-empty "inputs" list; {signature.describe()}')
    arrays: Arrays = {}
    for tensor in body["inputs"]:
        if not isinstance(tensor, dict) or not {"name", "shape", "datatype", "data"} <= tensor.keys():
            raise RequestError('each of "inputs" needs "name", "shape", "datatype" and "data"')
        spec = signature.input(str(tensor["name"]))
        datatype = str(tensor["datatype"])
        if datatype not in BY_KSERVE:
            raise RequestError(f"unknown datatype {datatype!r}; known: {', '.join(BY_KSERVE)}")
        if BY_KSERVE[datatype].numpy != spec.dtype:
            raise RequestError(
                f"input {spec.name!r} is {datatype} but the model takes {BY_NUMPY[spec.dtype].kserve}; "
                f"{signature.describe()}"
            )
        shape = tensor["shape"]
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise RequestError(f"input {spec.name!r}: shape must be a list of sizes, got {shape!r}")
        try:
            data = np.asarray(tensor["data"])
        except (ValueError, TypeError):
            raise RequestError(f"input {spec.name!r}: data is ragged or not numbers") from None
        flat = check_tensor(signature, TensorSpec(spec.name, (-1,), spec.dtype), data.ravel())
        if flat.size != int(np.prod(shape)):
            raise RequestError(f"input {spec.name!r}: {flat.size} values do not fill shape {shape}")
        arrays[spec.name] = check_tensor(signature, spec, flat.reshape(shape))
    missing = [s.name for s in signature.inputs if s.name not in arrays]
    if missing:
        raise RequestError(f"input {missing[0]!r} is missing; {signature.describe()}")
    known = [s.name for s in signature.outputs]
    asked = [str(o.get("name")) for o in body.get("outputs") or [] if isinstance(o, dict)]
    for name in asked:
        if name not in known:
            raise RequestError(f"the model has no output {name!r}; its outputs: {', '.join(known)}")
    request_id = body.get("id")
    return arrays, asked or known, None if request_id is None else str(request_id)


def kserve_encode(name: str, version: int, outputs: Arrays, asked: list[str], request_id: str | None) -> dict[str, Any]:
    """A v2 ``infer`` answer."""
    answer: dict[str, Any] = {
        "model_name": name,
        "model_version": str(version),
        "outputs": [
            {
                "name": n,
                "datatype": BY_NUMPY[outputs[n].dtype.name].kserve,
                "shape": list(outputs[n].shape),
                "data": outputs[n].ravel().tolist(),
            }
            for n in asked
        ],
    }
    if request_id is not None:
        answer["id"] = request_id
    return answer


def kserve_metadata(name: str, version: int, platform: str, signature: Signature) -> dict[str, Any]:
    """``GET /v2/models/NAME``: versions, platform and tensors."""

    def tensors(specs: Any) -> list[dict[str, Any]]:
        return [{"name": s.name, "datatype": BY_NUMPY[s.dtype].kserve, "shape": list(s.shape)} for s in specs]

    return {
        "name": name,
        "versions": [str(version)],
        "platform": platform,
        "inputs": tensors(signature.inputs),
        "outputs": tensors(signature.outputs),
    }
