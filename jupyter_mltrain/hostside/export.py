"""Export a trained torch model for serving, from training code: ``jupyter_mltrain.export.torchscript(model, x)``.

Each helper writes the model into ``outputs_dir()/model/`` (what ``run.register_model`` takes by default) with
``signature.json`` beside it: the input and output names, shapes (``-1`` for the batch dimension) and dtypes,
which serving checks requests against. Standard library at import; torch (and onnx) are imported when called.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_mltrain.hostside import runtime

SIGNATURE = "signature.json"


def _folder(folder: str | Path | None) -> Path:
    path = Path(folder) if folder is not None else runtime.outputs_dir() / "model"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tensors(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _spec(names: list[str], tensors: list[Any]) -> list[dict[str, Any]]:
    return [
        {"name": name, "shape": [-1, *(int(d) for d in t.shape[1:])], "dtype": str(t.dtype).removeprefix("torch.")}
        for name, t in zip(names, tensors, strict=True)
    ]


def _write_signature(
    folder: Path,
    fmt: str,
    file: str,
    inputs: list[Any],
    outputs: list[Any],
    input_names: list[str],
    output_names: list[str],
) -> None:
    signature = {
        "format": fmt,
        "file": file,
        "inputs": _spec(input_names, inputs),
        "outputs": _spec(output_names, outputs),
    }
    (folder / SIGNATURE).write_text(json.dumps(signature, indent=1) + "\n")


def torchscript(model: Any, example: Any, folder: str | Path | None = None, name: str = "model.pt") -> Path:
    """Trace ``model`` on ``example`` (a tensor or a tuple of them) and save it as TorchScript; return the file."""
    import torch

    inputs = _tensors(example)
    module = getattr(model, "module", model).eval()
    with torch.no_grad():
        traced = torch.jit.trace(module, tuple(inputs))
        outputs = _tensors(traced(*inputs))
    path = _folder(folder) / name
    torch.jit.save(traced, str(path))
    _write_signature(
        path.parent,
        "torchscript",
        name,
        inputs,
        outputs,
        [f"input_{i}" if len(inputs) > 1 else "input" for i in range(len(inputs))],
        [f"output_{i}" if len(outputs) > 1 else "output" for i in range(len(outputs))],
    )
    return path


def onnx(model: Any, example: Any, folder: str | Path | None = None, name: str = "model.onnx") -> Path:
    """Export ``model`` to ONNX (batch dimension dynamic) from ``example``; return the file (needs ``onnx``)."""
    import torch

    inputs = _tensors(example)
    module = getattr(model, "module", model).eval()
    with torch.no_grad():
        outputs = _tensors(module(*inputs))
    input_names = [f"input_{i}" if len(inputs) > 1 else "input" for i in range(len(inputs))]
    output_names = [f"output_{i}" if len(outputs) > 1 else "output" for i in range(len(outputs))]
    path = _folder(folder) / name
    torch.onnx.export(
        module,
        tuple(inputs),
        str(path),
        input_names=input_names,
        output_names=output_names,
        dynamic_axes={n: {0: "batch"} for n in input_names + output_names},
        dynamo=False,
    )
    _write_signature(path.parent, "onnx", name, inputs, outputs, input_names, output_names)
    return path
