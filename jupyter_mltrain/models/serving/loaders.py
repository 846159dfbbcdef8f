"""A registered model's files as a predictor: arrays in, arrays out, through the framework that saved it.

TorchScript runs on torch, ONNX on onnxruntime, ``.keras`` files on Keras and SavedModels on TensorFlow. Each
framework is imported only when a model of its kind is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_mltrain.models.detect import detect_file
from jupyter_mltrain.models.registry import ModelError
from jupyter_mltrain.models.serving.dtypes import normalise
from jupyter_mltrain.models.serving.signature import Signature, TensorSpec

SIGNATURE_FILE = "signature.json"
# what KServe's model metadata calls each runtime
PLATFORMS = {
    "torchscript": "pytorch_torchscript",
    "onnx": "onnxruntime_onnx",
    "keras": "tensorflow_keras",
    "tensorflow": "tensorflow_savedmodel",
}


SUFFIXES = {"torchscript": (".pt", ".pth", ".bin"), "onnx": (".onnx",), "keras": (".keras",)}


@dataclass
class Predictor:
    """A loaded model: its signature and the function from input arrays to output arrays (batch first)."""

    framework: str
    signature: Signature
    run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    pad: bool = False  # the runtime prepares itself per input shape: call it with a few batch sizes only

    def warm(self, sizes: list[int]) -> None:
        """Call the model (twice) with each batch size in ``sizes``, when the signature fixes the other dims."""
        if any(d < 0 for spec in self.signature.inputs for d in spec.shape[1:]):
            return
        for size in sizes:
            inputs = {s.name: np.zeros((size, *s.shape[1:]), dtype=s.dtype) for s in self.signature.inputs}
            self.run(inputs)
            self.run(inputs)

    @property
    def platform(self) -> str:
        """The runtime's name as KServe's model metadata gives it."""
        return PLATFORMS[self.framework]


def _dims(shape: Any) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) and d >= 0 else -1 for d in shape)


def model_file(root: Path, signature: Signature | None, framework: str, suffixes: tuple[str, ...] = ()) -> Path:
    """The model file of ``framework`` at ``root``: ``root`` itself, the file signature.json names, or the first."""
    suffixes = suffixes or SUFFIXES[framework]
    if root.is_file():
        return root
    signature_path = root / SIGNATURE_FILE
    if signature is not None and signature_path.is_file():
        import json

        named = str(json.loads(signature_path.read_text()).get("file") or "")
        if named and (root / named).is_file():
            return root / named
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and detect_file(p) == framework)
    if not found:
        raise ModelError(f"no {framework} model file ({', '.join(suffixes)}) in {str(root)!r}")
    return found[0]


def _torchscript(root: Path, signature: Signature | None, threads: int) -> Predictor:
    import torch

    torch.set_num_threads(threads)
    if signature is None:
        raise ModelError(
            "a TorchScript model needs signature.json beside it to be served (its input names, shapes and types): "
            "export it with jupyter_mltrain.export.torchscript(model, example)"
        )
    module = torch.jit.load(str(model_file(root, signature, "torchscript")), "cpu").eval()
    names = [s.name for s in signature.inputs]
    out_names = [s.name for s in signature.outputs]

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with torch.inference_mode(), torch.jit.optimized_execution(False):  # type: ignore[attr-defined]
            result = module(*(torch.from_numpy(inputs[n]) for n in names))
        outputs = result if isinstance(result, (tuple, list)) else (result,)
        return {n: t.numpy() for n, t in zip(out_names, outputs, strict=True)}

    return Predictor("torchscript", signature, run, pad=True)


def _onnx(root: Path, signature: Signature | None, threads: int) -> Predictor:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(
        str(model_file(root, signature, "onnx")), options, providers=["CPUExecutionProvider"]
    )
    if signature is None:
        signature = Signature(
            tuple(TensorSpec(i.name, _dims(i.shape), normalise(i.type)) for i in session.get_inputs()),
            tuple(TensorSpec(o.name, _dims(o.shape), normalise(o.type)) for o in session.get_outputs()),
        )
    out_names = [s.name for s in signature.outputs]

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(out_names, session.run(out_names, inputs), strict=True))

    return Predictor("onnx", signature, run)


def _keras(root: Path, signature: Signature | None, threads: int) -> Predictor:
    import keras

    model = keras.models.load_model(str(model_file(root, signature, "keras")))
    if signature is None:
        many = len(model.outputs) > 1
        signature = Signature(
            tuple(TensorSpec(t.name, _dims(t.shape), normalise(str(t.dtype))) for t in model.inputs),
            tuple(
                TensorSpec(f"output_{i}" if many else "output", _dims(t.shape), normalise(str(t.dtype)))
                for i, t in enumerate(model.outputs)
            ),
        )
    names = [s.name for s in signature.inputs]
    out_names = [s.name for s in signature.outputs]

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        args = [inputs[n] for n in names]
        result = model(args[0] if len(args) == 1 else args, training=False)
        outputs = result if isinstance(result, (tuple, list)) else [result]
        return {n: np.asarray(t) for n, t in zip(out_names, outputs, strict=True)}

    return Predictor("keras", signature, run)


def _saved_model(root: Path, signature: Signature | None, threads: int) -> Predictor:
    import tensorflow as tf

    folder = root if (root / "saved_model.pb").exists() else next(p.parent for p in root.rglob("saved_model.pb"))
    function = tf.saved_model.load(str(folder)).signatures["serving_default"]
    if signature is None:
        _, kwargs = function.structured_input_signature
        signature = Signature(
            tuple(TensorSpec(n, _dims(s.shape.as_list()), normalise(s.dtype.name)) for n, s in sorted(kwargs.items())),
            tuple(
                TensorSpec(n, _dims(s.shape.as_list()), normalise(s.dtype.name))
                for n, s in sorted(function.structured_outputs.items())
            ),
        )

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = function(**{n: tf.constant(a) for n, a in inputs.items()})
        return {n: t.numpy() for n, t in result.items()}

    return Predictor("tensorflow", signature, run)


LOADERS: dict[str, Callable[[Path, Signature | None, int], Predictor]] = {
    "torchscript": _torchscript,
    "onnx": _onnx,
    "keras": _keras,
    "tensorflow": _saved_model,
}


def load(root: Path, framework: str | None, threads: int = 1) -> Predictor:
    """Load the model at ``root`` (a file, or a folder with ``signature.json`` beside the model file).

    ``threads``: the threads one call of a torch or ONNX model may use. One is fastest for small models on a
    shared CPU (a batch of requests is still one call); give big models more.
    """
    if framework == "torch":
        raise ModelError(
            "this version is a torch state_dict, which holds weights but not the model's code, so it cannot be "
            "served: export the model with jupyter_mltrain.export.torchscript(model, example) or .onnx(...) "
            "in the training code and register that"
        )
    if framework not in LOADERS:
        raise ModelError(f"cannot serve a model of framework {framework!r}; served: {', '.join(LOADERS)}")
    folder = root if root.is_dir() else root.parent
    return LOADERS[framework](root, Signature.read(folder / SIGNATURE_FILE), max(1, threads))
