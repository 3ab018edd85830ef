"""The ``conveyor`` command line: one module per area, assembled in ``main.py``.

Commands are thin: they call the backend returned by ``conveyor.connect()`` (the embedded
store, or a server when ``CONVEYOR_URI`` is set) and render its records as rich tables or,
with ``--json``, as JSON on stdout.
"""
