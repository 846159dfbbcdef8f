"""Models: a registry of versioned models made by runs (serving and export come next, in this package)."""

from jupyter_mltrain.models.registry import Model, ModelError, Registry

__all__ = ["Model", "ModelError", "Registry"]
