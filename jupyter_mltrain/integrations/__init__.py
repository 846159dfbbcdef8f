"""Framework helpers for training code: a Keras callback (``keras``) and a PyTorch helper (``torch``).

Each module imports its framework itself, so ``import jupyter_mltrain`` stays standard-library only.
"""
