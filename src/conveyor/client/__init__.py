"""The typed client: the operation table (``Client``) over one of two transports.

::

    client = Client(LocalTransport(meta, artifacts))        # embedded stores
    client = Client(HttpTransport("http://127.0.0.1:5050"))  # a Conveyor server
    client.set_model_alias("churn", "champion", 3)           # same call, either way

``conveyor.connect()`` builds the right one from ``CONVEYOR_URI``.
"""

from conveyor.client._client import Client
from conveyor.client.http import HttpTransport
from conveyor.client.local import LocalTransport, add_commit_listener, remove_commit_listener
from conveyor.client.op import Op
from conveyor.client.transport import Transport

__all__ = [
    "Client",
    "HttpTransport",
    "LocalTransport",
    "Op",
    "Transport",
    "add_commit_listener",
    "remove_commit_listener",
]
