"""The live run widget shown by ``%%train``, ``%train_attach`` and ``display(run)``."""

from jupyter_mltrain.widget.model import RunWidget

__all__ = ["RunWidget"]
