"""Serving registered models over HTTP: TensorFlow Serving's REST API and KServe's v2 protocol on one port.

``mltrain serve NAME[:VERSION|@ALIAS] ...`` runs :mod:`.server` in the foreground; ``Model.serve()`` and
:func:`.services.start` run it in the background and hand back a :class:`.services.Service`.
"""
