"""Framework helpers for training code: a Keras callback (``integrations.keras``) and a PyTorch helper (``integrations.torch``).

Each module imports its framework itself, so ``import jupyter_mltrain`` stays standard-library only.
"""
