"""Turns a notebook cell into a standalone entry script (``main.py``).

A ``%%train`` cell usually uses names defined in earlier cells. ``capture_cell`` finds
the cell's free names and, for each one bound in the kernel, writes what recreates it:

- a module becomes its import statement (with its alias);
- a function or class defined in the notebook becomes its source, together with the
  notebook names that source uses (recursively, dependencies first);
- a function or class from an importable module becomes ``from module import name``;
- a small plain value (numbers, strings, lists/dicts of them, small numpy arrays) is
  written into the script, or beside it when large;
- anything else (an open file, a big tensor, a live model) is refused with an error
  naming the variable.

Ranks are new processes: nothing of the kernel's state travels but what is written here.
"""

from jupyter_mltrain.engine.capture.captured import Captured, CaptureError, CellScript
from jupyter_mltrain.engine.capture.names import free_names
from jupyter_mltrain.engine.capture.notebook import notebook_script, train_line
from jupyter_mltrain.engine.capture.objects import running_cell_count
from jupyter_mltrain.engine.capture.script import capture_cell, check_cell_syntax

__all__ = [
    "CaptureError",
    "Captured",
    "CellScript",
    "capture_cell",
    "check_cell_syntax",
    "free_names",
    "notebook_script",
    "running_cell_count",
    "train_line",
]
