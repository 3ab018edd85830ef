"""Both transports offer the same surface: every public LocalBackend method is on the
Backend protocol and on HttpBackend, with the same parameters."""

from __future__ import annotations

import inspect

from conveyor.backend import Backend, HttpBackend, LocalBackend
from conveyor.client import Client, Op

#: Embedded-only: constructors and the per-request identity switch the server uses;
#: the table's own plumbing and old spellings.
LOCAL_ONLY = {"from_settings", "as_actor", "close", "set_alias", "delete_alias"}


def _public(cls: type) -> dict[str, inspect.Signature]:
    out = {}
    for name in dir(cls):
        member = inspect.getattr_static(cls, name)
        if name.startswith("_") or name in LOCAL_ONLY:
            continue
        if isinstance(member, Op):
            out[name] = member.signature
        elif callable(member) and (cls is Backend or name not in vars(Client)):
            out[name] = inspect.signature(member)
    return out


def test_every_local_method_is_on_the_protocol_and_over_http() -> None:
    local, protocol, http = _public(LocalBackend), _public(Backend), _public(HttpBackend)
    assert set(local) == set(protocol)
    assert set(local) <= set(http)
    for name, signature in local.items():
        params = [p for p in signature.parameters if p != "self"]
        assert params == [p for p in http[name].parameters if p != "self"], name
        for param, spec in signature.parameters.items():
            if param == "self":
                continue
            other = http[name].parameters[param]
            assert (spec.kind, spec.default) == (other.kind, other.default), (name, param)
