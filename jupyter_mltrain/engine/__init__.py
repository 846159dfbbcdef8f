"""The engine: specs, snapshots, the run store, targets, plans, the supervisor and launchers.

Every face (magic, widget, server, CLI, API) builds a ``RunSpec`` and reaches the engine
through ``jupyter_mltrain.api``; the engine imports no face.
"""
