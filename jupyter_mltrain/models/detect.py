"""Which framework saved a model file or folder, told from its contents (no framework imported)."""

from __future__ import annotations

import zipfile
from pathlib import Path

FRAMEWORKS = ("torchscript", "torch", "keras", "tensorflow", "onnx")
# which package's version is the framework version, per framework
PACKAGES = {"torchscript": "torch", "torch": "torch", "keras": "keras", "tensorflow": "tensorflow", "onnx": "onnx"}


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def detect_file(path: Path) -> str | None:
    """The framework of one model file, or None."""
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix == ".keras":
        return "keras"
    if suffix in (".pt", ".pth", ".bin"):
        names = _zip_names(path)
        if any(n.split("/", 1)[-1].startswith("code/") for n in names) or any(
            n.endswith("/constants.pkl") for n in names
        ):
            return "torchscript"  # torch.jit.save: the model's code travels with its weights
        return "torch"  # torch.save of a state_dict (or a pickled module)
    return None


def detect(path: Path) -> str | None:
    """The framework of a model file or folder (a SavedModel, or a folder holding one model file), or None."""
    if path.is_file():
        return detect_file(path)
    if (path / "saved_model.pb").exists():
        return "tensorflow"
    found = {f for f in (detect_file(p) for p in sorted(path.rglob("*")) if p.is_file()) if f}
    for framework in FRAMEWORKS:  # the most specific first: TorchScript over a plain state_dict
        if framework in found:
            return framework
    return None
