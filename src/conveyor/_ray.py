"""Connecting to Ray (the ``conveyor-mlops[ray]`` extra), shared by the pipeline executor
and batch scoring. Ray is imported here, on first use, never at ``import conveyor``.

``connect(address)``: an already initialised Ray is reused; ``address=None`` starts a local
instance (what ``ray.init()`` does); any other address (``host:port`` of a head node, ``auto``
or ``ray://host:10001``) must answer — a cluster that cannot be reached is
:class:`RayUnavailable` naming the address, never a silent fallback to local execution.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Any

from conveyor.errors import StoreUnavailable, ValidationFailed

__all__ = ["RayUnavailable", "connect", "ship_project_code", "unwrap"]

_lock = threading.Lock()


class RayUnavailable(StoreUnavailable):
    """The Ray cluster named by ``--address`` cannot be reached (or Ray is not installed)."""

    code = "ray_unavailable"
    headline = "Ray unavailable"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            "the ray executor needs Ray: pip install 'conveyor-mlops[ray]'"
        ) from None
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``host:port`` or ``ray://host:port`` address (None: ``auto``)."""
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep:
        return None
    if not port.isdigit():
        raise ValidationFailed(f"Ray address {address!r}: use host:port, ray://host:port or auto")
    return host.strip("[]") or "127.0.0.1", int(port)


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as exc:
        raise RayUnavailable(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; start one with "
            "`ray start --head` and pass the address it prints (--address host:6379), or omit "
            "--address to start Ray on this machine",
            details={"address": address},
        ) from None


def connect(address: str | None = None, **init_options: Any) -> Any:
    """The ``ray`` module, connected: reuses an initialised Ray, else ``ray.init``."""
    ray = _ray()
    if address is not None and address not in ("", "local"):
        _check_reachable(address)  # even when Ray is initialised: never fall back silently
    with _lock:
        if ray.is_initialized():
            return ray
        try:
            ray.init(
                address=address or None,
                include_dashboard=False,
                log_to_driver=False,
                ignore_reinit_error=True,
                **init_options,
            )
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            where = address or "a new local instance"
            raise RayUnavailable(
                f"cannot connect to the Ray cluster at {where}: {exc}",
                details={"address": address},
            ) from exc
    return ray


def ship_project_code() -> None:
    """Send the user's own modules to Ray workers by value (cloudpickle), so steps and
    models defined in a project folder run on workers that do not have it on their path.
    Installed packages are still imported by reference on the workers."""
    from ray import cloudpickle

    from conveyor.pipelines.fingerprint import is_project_module

    for name, module in list(sys.modules.items()):
        if module is not None and name != "__main__" and is_project_module(name):
            cloudpickle.register_pickle_by_value(module)


def unwrap(exc: BaseException) -> BaseException:
    """The exception a Ray task raised, out of Ray's ``RayTaskError`` wrapper."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
