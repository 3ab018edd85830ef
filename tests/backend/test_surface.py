"""Both transports offer the same surface: every public LocalBackend method is on the
Backend protocol and on HttpBackend, with the same parameters."""

from __future__ import annotations

import inspect

from conveyor.backend import Backend, HttpBackend, LocalBackend

#: Embedded-only: constructors and the per-request identity switch the server uses.
LOCAL_ONLY = {"from_settings", "as_actor"}


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if not name.startswith("_") and callable(member) and name not in LOCAL_ONLY
    }


def test_every_local_method_is_on_the_protocol_and_over_http() -> None:
    local, protocol, http = _public(LocalBackend), _public(Backend), _public(HttpBackend)
    assert set(local) == set(protocol)
    assert set(local) <= set(http)
    for name, signature in local.items():
        assert list(signature.parameters) == list(http[name].parameters), name
        for param, spec in signature.parameters.items():
            other = http[name].parameters[param]
            assert (spec.kind, spec.default) == (other.kind, other.default), (name, param)
