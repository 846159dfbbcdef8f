"""One table of tensor types and their names in each vocabulary: numpy, KServe v2 and TensorFlow Serving."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorType:
    """A tensor element type as numpy, KServe v2 and TensorFlow name it."""

    numpy: str  # numpy's name, which is also torch's and ONNX's lower-case name
    kserve: str
    tf: str


TYPES = (
    TensorType("float32", "FP32", "DT_FLOAT"),
    TensorType("float64", "FP64", "DT_DOUBLE"),
    TensorType("float16", "FP16", "DT_HALF"),
    TensorType("int64", "INT64", "DT_INT64"),
    TensorType("int32", "INT32", "DT_INT32"),
    TensorType("int16", "INT16", "DT_INT16"),
    TensorType("int8", "INT8", "DT_INT8"),
    TensorType("uint8", "UINT8", "DT_UINT8"),
    TensorType("bool", "BOOL", "DT_BOOL"),
)
BY_NUMPY = {t.numpy: t for t in TYPES}
BY_KSERVE = {t.kserve: t for t in TYPES}
# what other libraries call these types: torch ("float", "long"), ONNX ("tensor(float)"), TensorFlow ("float")
ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "boolean": "bool",
}


def normalise(name: str) -> str:
    """The numpy name of a type named by numpy, torch, ONNX (``tensor(float)``) or TensorFlow; ValueError if none."""
    text = name.strip().lower().removeprefix("torch.").removeprefix("tf.")
    if text.startswith("tensor(") and text.endswith(")"):
        text = text[7:-1]
    text = ALIASES.get(text, text)
    if text not in BY_NUMPY:
        raise ValueError(f"unsupported tensor type {name!r}; supported: {', '.join(BY_NUMPY)}")
    return text
