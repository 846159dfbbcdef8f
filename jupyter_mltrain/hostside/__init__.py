"""The host side: what runs on every compute host, standard library only.

This folder travels with each run to hosts that do not have jupyter_mltrain installed (they
need Python, MPI and the user's ML libraries), and training code imports it in milliseconds.
Nothing here imports anything but the standard library and ``jupyter_mltrain.hostside``;
import-linter checks it (``make lint``).
"""
