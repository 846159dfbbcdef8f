"""A registered version as an MLflow model directory, so ``mlflow models serve -m DIR`` (and everything else
that takes MLflow models) serves it. Written by MLflow's own flavors (``mlflow.pytorch`` for TorchScript,
``mlflow.onnx``, ``mlflow.tensorflow`` for Keras), with the version's signature as an MLflow tensor signature
and where it came from in the model's metadata. Needs the ``mlflow`` package.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from jupyter_mltrain.models.registry import Model, ModelError, Registry
from jupyter_mltrain.models.serving import loaders
from jupyter_mltrain.models.serving.signature import Signature


def _mlflow_signature(signature: Signature, named: bool = True) -> Any:
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    def schema(specs: Any) -> Any:
        return Schema([TensorSpec(np.dtype(s.dtype), tuple(s.shape), s.name if named else None) for s in specs])

    return ModelSignature(inputs=schema(signature.inputs), outputs=schema(signature.outputs))


def export_mlflow(registry: Registry, model: Model, dest: Path) -> Path:
    """Write ``model`` as an MLflow model directory at ``dest`` (which must not exist yet); return it."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ModelError("exporting to MLflow needs the mlflow package: pip install mlflow") from None
    if dest.exists():
        raise ModelError(f"{str(dest)!r} exists: MLflow writes a new directory; choose another or remove it")
    metadata = {"mltrain_model": model.name, "mltrain_version": model.version, "mltrain_run": model.run_id or ""}
    try:
        _write(registry, model, dest, metadata)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # never leave half a model directory behind
        raise
    return dest


def _write(registry: Registry, model: Model, dest: Path, metadata: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="mltrain-export-") as tmp:
        root = registry.download(model, Path(tmp))
        predictor = loaders.load(root, model.framework)  # checks the files load, and gives the signature
        if model.framework == "torchscript" and len(predictor.signature.inputs) != 1:
            raise ModelError("MLflow's PyTorch flavor takes models of one input tensor; export to ONNX instead")
        # MLflow hands a named tensor to a model as a dict, which its PyTorch flavor refuses: one unnamed tensor
        signature = _mlflow_signature(predictor.signature, named=model.framework != "torchscript")
        requirements = [f"{pkg}=={ver}" for pkg, ver in _requirements(model.framework).items()]
        options = {"signature": signature, "metadata": metadata, "pip_requirements": requirements}
        if model.framework == "torchscript":
            import mlflow.pytorch
            import torch

            script = torch.jit.load(str(loaders.model_file(root, predictor.signature, "torchscript")), "cpu")
            mlflow.pytorch.save_model(script, str(dest), serialization_format="pickle", **options)
        elif model.framework == "onnx":
            import mlflow.onnx
            import onnx

            mlflow.onnx.save_model(
                onnx.load(str(loaders.model_file(root, predictor.signature, "onnx"))), str(dest), **options
            )
        elif model.framework == "keras":
            import keras
            import mlflow.tensorflow

            keras_model = keras.models.load_model(str(loaders.model_file(root, predictor.signature, "keras")))
            mlflow.tensorflow.save_model(keras_model, str(dest), **options)
        else:
            raise ModelError(
                f"{model.name}:{model.version} is {model.framework}: MLflow export takes TorchScript, ONNX and Keras"
            )


def _requirements(framework: str | None) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    packages = {"torchscript": ["torch"], "onnx": ["onnx", "onnxruntime"], "keras": ["keras", "tensorflow"]}
    found = {}
    for package in [*packages.get(framework or "", []), "numpy"]:
        try:
            found[package] = version(package).split("+")[0]
        except PackageNotFoundError:
            pass
    return found
