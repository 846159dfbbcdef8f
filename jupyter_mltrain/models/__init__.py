"""Models: a registry of versioned models made by runs with their serving (``models.serving``)."""

from jupyter_mltrain.models.registry import Model, ModelError, Registry

__all__ = ["Model", "ModelError", "Registry"]
