"""What a served model takes and returns (names, shapes, types), and the check of a request's tensors against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_mltrain.hostside.errors import MLTrainError
from jupyter_mltrain.models.serving.dtypes import normalise


class RequestError(MLTrainError):
    """A request the model cannot take; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor: its shape (``-1`` where any size goes, the batch first) and numpy type name."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    def describe(self) -> str:
        """``input: float32[-1, 4]``."""
        return f"{self.name}: {self.dtype}[{', '.join(str(d) for d in self.shape)}]"

    def to_dict(self) -> dict[str, Any]:
        """The form ``signature.json`` uses."""
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class Signature:
    """A model's inputs and outputs, in order."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        """From ``signature.json``'s content (as ``jupyter_mltrain.export`` writes it)."""

        def specs(entries: list[dict[str, Any]]) -> tuple[TensorSpec, ...]:
            return tuple(
                TensorSpec(str(e["name"]), tuple(int(d) for d in e["shape"]), normalise(str(e["dtype"])))
                for e in entries
            )

        return cls(specs(data.get("inputs") or []), specs(data.get("outputs") or []))

    @classmethod
    def read(cls, path: Path) -> Signature | None:
        """The signature in ``path`` (a ``signature.json``), or None when there is none."""
        if not path.is_file():
            return None
        return cls.from_dict(json.loads(path.read_text()))

    def describe(self) -> str:
        """One line: what the model takes."""
        return "the model takes " + "; ".join(s.describe() for s in self.inputs)

    def input(self, name: str | None) -> TensorSpec:
        """The input called ``name`` (None: the only input)."""
        if name is None:
            if len(self.inputs) != 1:
                raise RequestError(f"the model has {len(self.inputs)} inputs: name each one; {self.describe()}")
            return self.inputs[0]
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise RequestError(f"the model has no input {name!r}; {self.describe()}")

    def to_dict(self) -> dict[str, Any]:
        """The form ``signature.json`` uses."""
        return {"inputs": [s.to_dict() for s in self.inputs], "outputs": [s.to_dict() for s in self.outputs]}


_KINDS = {"f": "number", "i": "integer", "u": "integer", "b": "boolean"}
_ACCEPTS = {"f": "fiub", "i": "iu", "u": "iu", "b": "b"}  # numpy kinds a request may send for each kind


def check_tensor(signature: Signature, spec: TensorSpec, value: Any, *, batched: bool = True) -> np.ndarray:
    """``value`` (nested lists or an array) as an array of ``spec``'s type; RequestError naming the signature."""
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError):
        array = None
    if array is None or array.dtype.kind not in "fiub":
        what = "ragged or non-numeric values" if array is None or array.dtype.kind == "O" else "non-numeric values"
        raise RequestError(f"input {spec.name!r} holds {what}; {signature.describe()}")
    expected = np.dtype(spec.dtype)
    if array.dtype.kind not in _ACCEPTS[expected.kind]:
        raise RequestError(
            f"input {spec.name!r} must be {spec.dtype}, got {_KINDS.get(array.dtype.kind, array.dtype.name)} "
            f"values; {signature.describe()}"
        )
    shape = spec.shape if batched else spec.shape[1:]
    if array.ndim != len(shape) or any(want not in (-1, got) for want, got in zip(shape, array.shape, strict=True)):
        raise RequestError(
            f"input {spec.name!r} must have shape [{', '.join(str(d) for d in shape)}] (-1: any size), "
            f"got {list(array.shape)}; {signature.describe()}"
        )
    return array.astype(expected, copy=False)
